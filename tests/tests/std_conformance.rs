//! The conformance suite's blocking variant, for `ws-std`: the same cases as `tests/conformance.rs` (but
//! cancel safety, which has no blocking meaning) and the coalescing checks of `tests/coalescing.rs`, written
//! with threads. The raw peer is the same hand-written one (its async functions driven with
//! `smol::block_on` over a blocking socket). Every test runs under [`watchdog`]; raw sockets have read
//! timeouts, so a hang fails.

use std::future::Future;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::io::AllowStdIo;
use ws_std::{
    Accept, ClientBuilder, CloseCode, Config, DataKind, Error, Message, Request, Response,
    SendOptions, State, Timeouts,
};
use ws_tests::raw::{self, BINARY, CLOSE, PING, PONG, TEXT};
use ws_tests::tap::StdTap;
use ws_tests::{Certs, STEP, WHOLE_TEST, big_config, watchdog};

const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// Runs a raw-peer future to completion on this thread.
fn b<F: Future>(f: F) -> F::Output {
    smol::block_on(f)
}

/// A blocking socket as a futures-io stream for the raw peer.
fn rawio(tcp: &TcpStream) -> AllowStdIo<&TcpStream> {
    tcp.set_read_timeout(Some(STEP)).unwrap();
    AllowStdIo::new(tcp)
}

/// Accepts one connection on a thread and runs `f` on it.
fn serve_one<T: Send + 'static>(
    f: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_nodelay(true).unwrap();
        f(tcp)
    });
    (addr, handle)
}

fn join<T>(handle: JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

fn accept_all(tcp: TcpStream, config: Config) -> ws_std::WebSocket<TcpStream> {
    ws_std::accept_with(tcp, config, |_| Ok(Accept::new())).expect("server handshake")
}

fn close_of<S: ws_std::DeadlineStream>(ws: &ws_std::WebSocket<S>) -> Option<(u16, String)> {
    ws.close_frame()
        .map(|f| (f.code.0, f.reason.as_str().to_string()))
}

/// An echo server for one connection; yields the client's close frame.
fn echo_server(config: Config) -> (SocketAddr, JoinHandle<Option<(u16, String)>>) {
    serve_one(move |tcp| {
        let mut ws = accept_all(tcp, config);
        while let Some(Ok(m)) = ws.recv() {
            ws.send(m).unwrap();
        }
        close_of(&ws)
    })
}

fn connect(addr: SocketAddr, path: &str) -> ws_std::WebSocket<ws_std::MaybeTlsStream> {
    ws_std::connect(&format!("ws://{addr}{path}")).unwrap().0
}

fn close_promptly<S: ws_std::DeadlineStream>(
    ws: &mut ws_std::WebSocket<S>,
    code: CloseCode,
    reason: &str,
) {
    let start = Instant::now();
    ws.close(code, reason).expect("close");
    let took = start.elapsed();
    assert!(
        took < CLOSE_BOUND,
        "[std] the close handshake took {took:?}"
    );
    assert_eq!(ws.state(), State::Closed);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn keepalive(interval_ms: u64, pong_ms: u64) -> Timeouts {
    Timeouts::default()
        .keepalive_interval(Some(Duration::from_millis(interval_ms)))
        .pong(Some(Duration::from_millis(pong_ms)))
}

macro_rules! bounded_tests {
    ($($(#[$meta:meta])* fn $name:ident() $body:block)*) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                watchdog(WHOLE_TEST, || $body);
            }
        )*
    };
}

bounded_tests! {
    /// The server picks one of the offered subprotocols; both sides report it.
    fn handshake_subprotocol_chosen() {
        let (addr, server) = serve_one(|tcp| {
            let mut ws = ws_std::accept_with(tcp, Config::default(), |req| {
                assert_eq!(req.subprotocols, ["superchat", "chat"]);
                Ok(Accept::new().subprotocol("chat"))
            })
            .unwrap();
            assert_eq!(ws.subprotocol(), Some("chat"));
            let m = ws.recv().unwrap().unwrap();
            ws.send(m).unwrap();
            assert!(ws.recv().is_none());
        });
        let builder = ClientBuilder::new(&format!("ws://{addr}/"))
            .unwrap()
            .subprotocol("superchat")
            .subprotocol("chat");
        let (mut ws, opened) = ws_std::connect_with(&builder).unwrap();
        assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
        assert_eq!(ws.subprotocol(), Some("chat"));
        ws.send("hi").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("hi"));
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        join(server);
    }

    /// An offer the server does not pick, then no offer: no subprotocol on either side.
    fn handshake_no_subprotocol() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut offers = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().unwrap();
                let mut seen = Vec::new();
                let mut ws = ws_std::accept_with(tcp, Config::default(), |req| {
                    seen = req.subprotocols.clone();
                    Ok(Accept::new())
                })
                .unwrap();
                assert_eq!(ws.subprotocol(), None);
                assert!(ws.recv().is_none());
                offers.push(seen);
            }
            offers
        });
        let builder = ClientBuilder::new(&format!("ws://{addr}/"))
            .unwrap()
            .subprotocol("v1.example");
        let (mut ws, opened) = ws_std::connect_with(&builder).unwrap();
        assert_eq!((opened.subprotocol, ws.subprotocol()), (None, None));
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        let mut ws = connect(addr, "/");
        assert_eq!(ws.subprotocol(), None);
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        assert_eq!(join(server), vec![vec!["v1.example".to_string()], vec![]]);
    }

    /// 403 with a body and a header from the callback: `Error::Rejected` on both sides.
    fn handshake_rejected_403() {
        let (addr, server) = serve_one(|tcp| {
            ws_std::accept_with(tcp, Config::default(), |_| {
                Err(Response::new(403, "no entry without a token").header("X-Why", "token"))
            })
            .err()
        });
        match ws_std::connect(&format!("ws://{addr}/private")) {
            Err(Error::Rejected(r)) => {
                assert_eq!(r.status, 403);
                assert_eq!(&r.body[..], b"no entry without a token");
                assert_eq!(r.headers.get_str("x-why"), Some("token"));
            }
            Err(e) => panic!("expected Rejected, got {e:?}"),
            Ok(_) => panic!("expected Rejected, got an open connection"),
        }
        let server_err = join(server);
        assert_eq!(server_err.and_then(|e| e.rejected_status()), Some(403));
    }

    /// Origin, custom headers, path and query reach the callback; its headers reach the client.
    fn handshake_origin_and_headers() {
        let seen: Arc<Mutex<Option<Request>>> = Arc::default();
        let seen2 = seen.clone();
        let (addr, server) = serve_one(move |tcp| {
            let mut ws = ws_std::accept_with(tcp, Config::default(), |req| {
                let ok = req.origin() == Some("https://app.example");
                *seen2.lock().unwrap() = Some(req);
                if ok {
                    Ok(Accept::new().header("X-Server", "ws-tests"))
                } else {
                    Err(Response::new(403, "bad origin"))
                }
            })
            .unwrap();
            assert!(ws.recv().is_none());
        });
        let builder = ClientBuilder::new(&format!("ws://{addr}/room/7?user=ann"))
            .unwrap()
            .origin("https://app.example")
            .header("X-Token", "s3cret")
            .header("Cookie", "session=abc");
        let (mut ws, opened) = ws_std::connect_with(&builder).unwrap();
        assert_eq!(opened.headers.get_str("x-server"), Some("ws-tests"));
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        join(server);
        let req = seen.lock().unwrap().take().unwrap();
        assert_eq!(req.origin(), Some("https://app.example"));
        assert_eq!(req.headers.get_str("x-token"), Some("s3cret"));
        assert_eq!(req.headers.get_str("cookie"), Some("session=abc"));
        assert_eq!((req.path(), req.query()), ("/room/7", Some("user=ann")));
        assert_eq!(req.host(), Some(addr.to_string().as_str()));
    }

    /// Text fragments cut inside 2-, 3- and 4-byte characters; the server answers one byte per fragment;
    /// local misuse is refused without harming the connection.
    fn fragmentation() {
        let (addr, server) = serve_one(|tcp| {
            let mut ws = accept_all(tcp, Config::default());
            while let Some(Ok(m)) = ws.recv() {
                match m {
                    Message::Text(text) => {
                        let bytes = text.as_bytes();
                        for (i, b) in bytes.iter().enumerate() {
                            ws.send_fragment(DataKind::Text, &[*b], i + 1 == bytes.len())
                                .unwrap();
                        }
                    }
                    m => ws.send(m).unwrap(),
                }
            }
            close_of(&ws)
        });
        let mut ws = connect(addr, "/frag");
        let text = "héllo wörld € 𝄞 end";
        let bytes = text.as_bytes();
        let cuts = [
            0,
            text.find('é').unwrap() + 1,
            text.find('€').unwrap() + 2,
            text.find('𝄞').unwrap() + 1,
            bytes.len(),
        ];
        for i in 0..4 {
            ws.send_fragment(DataKind::Text, &bytes[cuts[i]..cuts[i + 1]], i == 3)
                .unwrap();
        }
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from(text));
        ws.send_fragment(DataKind::Binary, &[1, 2, 3], false).unwrap();
        ws.send_fragment(DataKind::Binary, &[], false).unwrap();
        ws.send_fragment(DataKind::Binary, &[4, 5], true).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from(vec![1u8, 2, 3, 4, 5]));
        assert!(matches!(
            ws.send_fragment(DataKind::Text, &[0xFF], true),
            Err(Error::Send(ws_core::SendError::InvalidUtf8))
        ));
        ws.send_fragment(DataKind::Text, b"ok ", false).unwrap();
        assert!(matches!(
            ws.send_fragment(DataKind::Binary, &[0], true),
            Err(Error::Send(ws_core::SendError::FragmentInProgress))
        ));
        ws.send_fragment(DataKind::Text, b"then", true).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("ok then"));
        close_promptly(&mut ws, CloseCode::NORMAL, "frag done");
        assert_eq!(join(server), Some((1000, "frag done".to_string())));
    }

    /// 4 MiB binary noise and 1 MiB mixed-width text echo intact (permessage-deflate on both sides).
    fn large_messages() {
        let (addr, server) = echo_server(big_config());
        let builder = ClientBuilder::new(&format!("ws://{addr}/big"))
            .unwrap()
            .config(big_config());
        let (mut ws, _) = ws_std::connect_with(&builder).unwrap();
        let binary = ws_tests::noise(4 << 20, 1);
        let text = ws_tests::varied_text(1 << 20, 2);
        ws.send(binary.clone()).unwrap();
        assert!(ws.recv().unwrap().unwrap() == Message::from(binary), "4 MiB binary corrupted");
        ws.send(text.clone()).unwrap();
        assert!(ws.recv().unwrap().unwrap().as_text() == Some(text.as_str()), "1 MiB text corrupted");
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        assert_eq!(join(server), Some((1000, String::new())));
    }

    /// A raw client's ping is answered with the same payload; the server closes TCP first, at once.
    fn server_auto_pong() {
        let (addr, server) = echo_server(Config::default());
        let tcp = TcpStream::connect(addr).unwrap();
        let mut io = rawio(&tcp);
        b(raw::client_handshake(&mut io, "/", "")).unwrap();
        (&tcp).write_all(&raw::client_frame(true, PING, b"are you there?")).unwrap();
        let pong = b(raw::read_frame(&mut io)).unwrap();
        assert_eq!((pong.opcode, pong.masked, &pong.payload[..]), (PONG, false, &b"are you there?"[..]));
        (&tcp).write_all(&raw::client_frame(true, TEXT, b"still here")).unwrap();
        let echo = b(raw::read_frame(&mut io)).unwrap();
        assert_eq!((echo.opcode, &echo.payload[..]), (TEXT, &b"still here"[..]));
        let mut close = 4444u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"raw bye");
        (&tcp).write_all(&raw::client_frame(true, CLOSE, &close)).unwrap();
        assert_eq!(b(raw::read_frame(&mut io)).unwrap().close_code(), Some(4444));
        let start = Instant::now();
        b(raw::drain_to_eof(&mut io));
        assert!(start.elapsed() < CLOSE_BOUND, "the server closed TCP after {:?}", start.elapsed());
        drop(tcp);
        assert_eq!(join(server), Some((4444, "raw bye".to_string())));
    }

    /// Our client's ping is answered (seen on its wire), and its keepalive (every 100 ms) is answered while
    /// it waits 1 s in `recv` for the server's next message.
    fn client_ping_answered() {
        let (addr, server) = serve_one(|tcp| {
            let mut ws = accept_all(tcp, Config::default());
            std::thread::sleep(Duration::from_secs(1));
            // The auto-pongs are sent by `recv`, which the echo loop below is in most of the time; the first
            // second the server is busy, so its replies wait in the socket and go out when it reads.
            ws.send("tick").unwrap();
            while let Some(Ok(m)) = ws.recv() {
                ws.send(m).unwrap();
            }
        });
        let (tap, stats) = StdTap::new(TcpStream::connect(addr).unwrap());
        let builder = ClientBuilder::new(&format!("ws://{addr}/"))
            .unwrap()
            .timeouts(keepalive(100, 2000));
        let (mut ws, _) = ws_std::client_handshake(tap, &builder).unwrap();
        ws.ping(b"ping-payload-42").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("tick"));
        assert_eq!(ws.state(), State::Open);
        ws.send("after pings").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("after pings"));
        let mut pong = vec![0x8A, 15];
        pong.extend_from_slice(b"ping-payload-42");
        let recorded = stats.recorded();
        assert!(contains(&recorded, &pong), "the pong for the explicit ping was not received");
        let keepalive_pongs = recorded.windows(2).filter(|w| w == &[0x8A, 4]).count();
        assert!(keepalive_pongs >= 3, "expected >= 3 keepalive pongs, saw {keepalive_pongs}");
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        join(server);
    }

    /// The client closes with a code and reason; the server sees both; sending after close is refused.
    fn close_from_client() {
        let (addr, server) = serve_one(|tcp| {
            let mut ws = accept_all(tcp, Config::default());
            assert_eq!(ws.recv().unwrap().unwrap(), Message::from("last words"));
            assert!(ws.recv().is_none());
            assert_eq!(ws.state(), State::Closed);
            assert!(ws.recv().is_none());
            close_of(&ws)
        });
        let mut ws = connect(addr, "/");
        ws.send("last words").unwrap();
        close_promptly(&mut ws, CloseCode(4001), "client bye");
        assert_eq!(close_of(&ws).map(|c| c.0), Some(4001));
        assert!(ws.recv().is_none());
        assert!(matches!(ws.send("too late"), Err(Error::Send(ws_core::SendError::Closed))));
        assert_eq!(join(server), Some((4001, "client bye".to_string())));
    }

    /// The server closes with a code and reason; the client's `recv` ends promptly with both visible.
    fn close_from_server() {
        let (addr, server) = serve_one(|tcp| {
            let mut ws = accept_all(tcp, Config::default());
            ws.send("before close").unwrap();
            close_promptly(&mut ws, CloseCode(4002), "server bye");
            close_of(&ws)
        });
        let mut ws = connect(addr, "/");
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("before close"));
        let start = Instant::now();
        assert!(ws.recv().is_none());
        assert!(start.elapsed() < CLOSE_BOUND);
        assert_eq!(close_of(&ws), Some((4002, "server bye".to_string())));
        assert_eq!(join(server).map(|c| c.0), Some(4002));
    }

    /// A 300 ms handshake timeout against a silent client and one that sends half a request.
    fn handshake_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config::default().timeouts(Timeouts::default().handshake(Some(Duration::from_millis(300))));
        let server = std::thread::spawn(move || {
            let mut took = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().unwrap();
                let start = Instant::now();
                match ws_std::accept_with(tcp, config.clone(), |_| Ok(Accept::new())) {
                    Err(Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Handshake))) => {}
                    Err(e) => panic!("expected a handshake timeout, got {e:?}"),
                    Ok(_) => panic!("expected a handshake timeout, got an open connection"),
                }
                took.push(start.elapsed());
            }
            took
        });
        let mut eofs = Vec::new();
        for first in [&b""[..], b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"] {
            let tcp = TcpStream::connect(addr).unwrap();
            let start = Instant::now();
            (&tcp).write_all(first).unwrap();
            b(raw::drain_to_eof(&mut rawio(&tcp)));
            eofs.push(start.elapsed());
        }
        for d in join(server).iter().chain(&eofs) {
            assert!(
                *d >= Duration::from_millis(250) && *d < Duration::from_secs(3),
                "handshake timeout of 300 ms took {d:?}"
            );
        }
    }

    /// `accept_tls` against a client that never sends a ClientHello fails within the handshake timeout.
    fn tls_handshake_timeout() {
        let certs = Certs::localhost();
        let tls = certs.server_config();
        let config = Config::default().timeouts(Timeouts::default().handshake(Some(Duration::from_millis(300))));
        let (addr, server) = serve_one(move |tcp| {
            let start = Instant::now();
            let err = ws_std::accept_tls(tcp, tls, config, |_| Ok(Accept::new())).err();
            (err, start.elapsed())
        });
        let _silent = TcpStream::connect(addr).unwrap();
        let (err, took) = join(server);
        assert!(
            matches!(
                err,
                Some(Error::ConnectTimeout | Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Handshake)))
            ),
            "expected a handshake timeout, got {err:?}"
        );
        assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(3), "took {took:?}");
    }

    /// Our client pings every 100 ms; the raw server never answers: `Timeout(Pong)` and a 1011 close.
    fn keepalive_timeout_client() {
        let (addr, server) = serve_one(|tcp| {
            let mut io = rawio(&tcp);
            b(raw::server_handshake(&mut io)).unwrap();
            let mut pings = 0;
            loop {
                let f = b(raw::read_frame(&mut io)).expect("a close frame before EOF");
                assert!(f.masked);
                match f.opcode {
                    PING => pings += 1,
                    CLOSE => {
                        b(raw::drain_to_eof(&mut io));
                        return (pings, f.close_code());
                    }
                    op => panic!("unexpected opcode {op}"),
                }
            }
        });
        let builder = ClientBuilder::new(&format!("ws://{addr}/"))
            .unwrap()
            .timeouts(keepalive(100, 200));
        let (mut ws, _) = ws_std::connect_with(&builder).unwrap();
        let start = Instant::now();
        match ws.recv() {
            Some(Err(Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Pong)))) => {}
            other => panic!("expected a pong timeout, got {other:?}"),
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(3), "took {took:?}");
        assert!(ws.recv().is_none());
        let (pings, code) = join(server);
        assert!(pings >= 1);
        assert_eq!(code, Some(1011));
    }

    /// The same with our server against a raw client that never answers.
    fn keepalive_timeout_server() {
        let config = Config::default().timeouts(keepalive(100, 200));
        let (addr, server) = serve_one(move |tcp| {
            let mut ws = accept_all(tcp, config);
            let start = Instant::now();
            let result = ws.recv();
            (result.map(|r| r.err()), start.elapsed())
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let mut io = rawio(&tcp);
        b(raw::client_handshake(&mut io, "/", "")).unwrap();
        let mut pings = 0;
        let code = loop {
            let f = b(raw::read_frame(&mut io)).unwrap();
            assert!(!f.masked);
            match f.opcode {
                PING => pings += 1,
                CLOSE => break f.close_code(),
                op => panic!("unexpected opcode {op}"),
            }
        };
        b(raw::drain_to_eof(&mut io));
        drop(tcp);
        assert!(pings >= 1);
        assert_eq!(code, Some(1011));
        let (err, took) = join(server);
        assert!(
            matches!(err, Some(Some(Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Pong))))),
            "expected a pong timeout, got {err:?}"
        );
        assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(3), "took {took:?}");
    }

    /// Both sides split; reader and writer on their own threads; 5,000 messages each way in order.
    fn split_concurrent() {
        const N: usize = 5_000;
        fn run<S: ws_std::SplitStream + Send + 'static>(
            ws: ws_std::WebSocket<S>,
            mine: &'static str,
            theirs: &'static str,
        ) -> ws_std::WebSocket<S> {
            let (mut reader, mut writer) = ws.split().unwrap();
            let r = std::thread::spawn(move || {
                for i in 0..N {
                    let m = reader.recv().expect("ended early").expect("recv failed");
                    assert_eq!(m.as_text(), Some(format!("{theirs} {i}").as_str()), "out of order");
                }
                reader
            });
            let w = std::thread::spawn(move || {
                for i in 0..N {
                    writer.send(format!("{mine} {i}")).unwrap();
                }
                writer
            });
            let (reader, writer) = (join(r), join(w));
            reader.reunite(writer).expect("same connection")
        }
        let (addr, server) = serve_one(|tcp| {
            let mut ws = run(accept_all(tcp, Config::default()), "s2c", "c2s");
            assert!(ws.recv().is_none());
            close_of(&ws)
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let builder = ClientBuilder::new(&format!("ws://{addr}/split")).unwrap();
        let (ws, _) = ws_std::client_handshake(tcp, &builder).unwrap();
        let mut ws = run(ws, "c2s", "s2c");
        close_promptly(&mut ws, CloseCode(4000), "split done");
        assert_eq!(join(server), Some((4000, "split done".to_string())));
    }

    /// Split, then the writer closes: the reader on another thread sees a clean end.
    fn split_writer_closes() {
        let (addr, server) = echo_server(Config::default());
        let tcp = TcpStream::connect(addr).unwrap();
        let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
        let (ws, _) = ws_std::client_handshake(tcp, &builder).unwrap();
        let (mut reader, mut writer) = ws.split().unwrap();
        let r = std::thread::spawn(move || {
            let first = reader.recv().unwrap().unwrap();
            let end = reader.recv();
            (first, end.is_none(), reader.close_frame().map(|f| f.code.0))
        });
        writer.send("one").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        writer.close(CloseCode(4003), "writer closes").unwrap();
        let (first, ended, code) = join(r);
        assert_eq!(first, Message::from("one"));
        assert!(ended);
        assert_eq!(code, Some(4003));
        assert_eq!(join(server), Some((4003, "writer closes".to_string())));
    }

    /// permessage-deflate is negotiated (both sides report it); 1 MiB compressible messages round-trip and
    /// cross the wire at under a tenth of their size; `compress: false` crosses at full size.
    fn permessage_deflate() {
        let (addr, server) = serve_one(|tcp| {
            let mut ws = accept_all(tcp, big_config());
            let ext = ws.extensions().map(str::to_string);
            while let Some(Ok(m)) = ws.recv() {
                ws.send(m).unwrap();
            }
            ext
        });
        let (tap, stats) = StdTap::new(TcpStream::connect(addr).unwrap());
        let builder = ClientBuilder::new(&format!("ws://{addr}/deflate"))
            .unwrap()
            .config(big_config());
        let (mut ws, opened) = ws_std::client_handshake(tap, &builder).unwrap();
        let ext = ws.extensions().expect("an extension was negotiated").to_string();
        assert!(ext.starts_with("permessage-deflate"), "{ext}");
        assert_eq!(opened.extensions.as_deref(), Some(ext.as_str()));
        let text = ws_tests::compressible_text(1 << 20);
        let (w0, r0) = (stats.bytes_written(), stats.bytes_read());
        ws.send(text.clone()).unwrap();
        assert!(ws.recv().unwrap().unwrap().as_text() == Some(text.as_str()));
        let (sent, received) = (stats.bytes_written() - w0, stats.bytes_read() - r0);
        eprintln!("[std] deflate: {} bytes sent as {sent}, echoed as {received}", text.len());
        assert!(sent < text.len() / 10 && received < text.len() / 10);
        let w1 = stats.bytes_written();
        ws.send_with(Message::from(text.clone()), SendOptions::default().compress(false)).unwrap();
        assert!(ws.recv().unwrap().unwrap().as_text() == Some(text.as_str()));
        assert!(stats.bytes_written() - w1 > text.len());
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        let server_ext = join(server).expect("the server negotiated an extension");
        assert_eq!(server_ext, ext);
    }

    /// `wss://` with a certificate made at test time; a client trusting only the default roots fails.
    fn tls_wss() {
        let certs = Certs::localhost();
        let tls = certs.server_config();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = ws_std::accept_tls(tcp, tls.clone(), big_config(), |req| {
                assert_eq!(req.path(), "/secure");
                Ok(Accept::new())
            })
            .expect("TLS accept");
            while let Some(Ok(m)) = ws.recv() {
                ws.send(m).unwrap();
            }
            let close = close_of(&ws);
            let (tcp, _) = listener.accept().unwrap();
            let untrusted = ws_std::accept_tls(tcp, tls, Config::default(), |_| Ok(Accept::new()));
            (close, untrusted.err())
        });
        let url = format!("wss://localhost:{port}/secure");
        let builder = ClientBuilder::new(&url)
            .unwrap()
            .tls_config(certs.client_config())
            .config(big_config());
        let (mut ws, _) = ws_std::connect_with(&builder).expect("wss connect");
        assert!(matches!(ws.get_ref(), ws_std::MaybeTlsStream::Tls(_)));
        ws.send("over tls").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("over tls"));
        let blob = ws_tests::noise(1 << 20, 6);
        ws.send(blob.clone()).unwrap();
        assert!(ws.recv().unwrap().unwrap() == Message::from(blob));
        close_promptly(&mut ws, CloseCode(4010), "tls bye");
        match ws_std::connect(&url) {
            Err(Error::Tls(_)) => {}
            Err(e) => panic!("expected a TLS error, got {e:?}"),
            Ok(_) => panic!("a self-signed certificate was trusted by the default roots"),
        }
        let (close, server_err) = join(server);
        assert_eq!(close, Some((4010, "tls bye".to_string())));
        assert!(matches!(server_err, Some(Error::Tls(_) | Error::Io(_))), "{server_err:?}");
    }

    /// N = 1,000 small messages in one burst at a blocking echo loop: far fewer than N writes.
    fn echo_burst_coalesces() {
        const N: usize = 1_000;
        let (stats_tx, stats_rx) = mpsc::channel();
        let (addr, server) = serve_one(move |tcp| {
            let (tap, stats) = StdTap::new(tcp);
            stats_tx.send(stats).unwrap();
            let mut ws = ws_std::accept_with(tap, ws_testkit::echo_config(), |_| Ok(Accept::new())).unwrap();
            // `feed` queues each reply; `recv` writes the batch before it blocks for more input.
            while let Some(Ok(m)) = ws.recv() {
                if ws.feed(m).is_err() {
                    break;
                }
            }
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let mut io = rawio(&tcp);
        b(raw::client_handshake(&mut io, "/", "")).unwrap();
        let stats = stats_rx.recv_timeout(STEP).unwrap();
        let (writes0, reads0) = (stats.writes(), stats.reads());
        let burst: Vec<u8> = (0..N as u32)
            .flat_map(|i| raw::client_frame(true, BINARY, &i.to_be_bytes()))
            .collect();
        (&tcp).write_all(&burst).unwrap();
        for i in 0..N as u32 {
            let f = b(raw::read_frame(&mut io)).unwrap();
            assert_eq!((f.opcode, &f.payload[..]), (BINARY, &i.to_be_bytes()[..]));
        }
        let (writes, reads) = (stats.writes() - writes0, stats.reads() - reads0);
        eprintln!("[std] echo burst: {N} messages ({} bytes) in {reads} reads, echoed in {writes} writes", burst.len());
        assert!(writes < N / 10, "{writes} writes for {N} echoes: replies are not coalesced");
        drop(tcp);
        join(server);
    }

    /// `feed` x N then `flush`: a few writes (on the connection and on a split writer).
    fn feed_then_flush() {
        const N: usize = 1_000;
        let (addr, server) = echo_server(ws_testkit::echo_config());
        let (tap, stats) = StdTap::new(TcpStream::connect(addr).unwrap());
        let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
        let (mut ws, _) = ws_std::client_handshake(tap, &builder).unwrap();
        let w0 = stats.writes();
        for i in 0..N {
            ws.feed(format!("fed {i}")).unwrap();
        }
        assert_eq!(stats.writes(), w0, "feed wrote before flush");
        ws.flush().unwrap();
        let writes = stats.writes() - w0;
        for i in 0..N {
            assert_eq!(ws.recv().unwrap().unwrap().as_text(), Some(format!("fed {i}").as_str()));
        }
        eprintln!("[std] feed x {N} + flush: {writes} writes");
        assert!((1..=3).contains(&writes), "{writes} writes for {N} fed messages");
        close_promptly(&mut ws, CloseCode::NORMAL, "");
        join(server);
    }

    /// One `send` on an idle connection reaches the peer within 1 s with no further call on the sender.
    fn idle_send_is_prompt() {
        let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
        let (addr, peer) = serve_one(move |tcp| {
            let mut io = rawio(&tcp);
            b(raw::server_handshake(&mut io)).unwrap();
            let f = b(raw::read_frame(&mut io)).unwrap();
            let arrived = Instant::now();
            assert_eq!((f.opcode, &f.payload[..]), (TEXT, &b"alone"[..]));
            arrived - sent_rx.recv_timeout(STEP).unwrap()
        });
        let mut ws = connect(addr, "/");
        let start = Instant::now();
        ws.send("alone").unwrap();
        sent_tx.send(start).unwrap();
        let took = join(peer);
        eprintln!("[std] idle send reached the peer after {took:?}");
        assert!(took < Duration::from_secs(1));
        drop(ws);
    }
}
