//! The conformance suite: every case is written once, generic over the runtime seam [`Rt`], and `suite!`
//! instantiates all of them for tokio, smol and async-std (`tokio::handshake_subprotocol_chosen`,
//! `smol::...`, `async_std::...`), and for ws-hyper (`hyper::...`: hyper does the HTTP/1.1 handshakes). Everything runs over loopback TCP; every await is bounded by
//! [`ws_tests::STEP`] (the `t!` macro) and every test by [`ws_tests::WHOLE_TEST`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::AsyncWriteExt;
use ws_async::{
    Accept, ClientBuilder, CloseCode, Config, DataKind, Error, Message, Request, Response,
    SendOptions, State, Timeouts,
};
use ws_core::{SendError, Timeout};
use ws_tests::raw::{self, BINARY, CLOSE, CONT, PING, PONG, TEXT};
use ws_tests::tap::Tap;
use ws_tests::{Certs, Rt, Task, Ws, big_config, plain_config, t, timeout};

// ----------------------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------------------

fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Accepts one TCP connection and upgrades it, accepting any request.
async fn accept_one<R: Rt>(listener: &R::Listener, config: Config) -> Ws<R> {
    let tcp = t!(R::accept_tcp(listener)).expect("accept TCP");
    t!(R::accept_with(tcp, config, |_| async { Ok(Accept::new()) })).expect("server handshake")
}

/// An echo server for one connection (the testkit's echo loop). The task ends when the connection does and
/// yields the client's close frame as the server saw it.
async fn echo_server<R: Rt>(config: Config) -> (SocketAddr, Task<Option<(u16, String)>>) {
    let (listener, addr) = R::listen().await;
    let task = R::spawn(async move {
        let mut ws = accept_one::<R>(&listener, config).await;
        while let Some(Ok(message)) = t!(ws.recv()) {
            t!(ws.send(message)).expect("echo send");
        }
        ws.close_frame()
            .map(|f| (f.code.0, f.reason.as_str().to_string()))
    });
    (addr, task)
}

async fn connect<R: Rt>(addr: SocketAddr, path: &str) -> Ws<R> {
    let builder = ClientBuilder::new(&ws_url(addr, path)).unwrap();
    t!(R::connect_with(&builder)).expect("connect").0
}

async fn recv_ok<R: Rt>(
    ws: &mut ws_async::WebSocket<
        impl futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
        R::Timer,
    >,
) -> Message {
    t!(ws.recv())
        .expect("connection ended early")
        .expect("recv failed")
}

fn close_of<T, Ti>(ws: &ws_async::WebSocket<T, Ti>) -> Option<(u16, String)>
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    Ti: ws_async::Timer,
{
    ws.close_frame()
        .map(|f| (f.code.0, f.reason.as_str().to_string()))
}

/// How long a close handshake over loopback may take.
const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// Runs the close handshake and checks it completes promptly (well before the 10 s close timeout: both
/// sides must see the other's close frame and the server's TCP close).
async fn close_promptly<R: Rt>(
    ws: &mut ws_async::WebSocket<
        impl futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
        R::Timer,
    >,
    code: CloseCode,
    reason: &str,
) {
    let start = Instant::now();
    t!(ws.close(code, reason)).expect("close");
    let took = start.elapsed();
    assert!(
        took < CLOSE_BOUND,
        "[{}] the close handshake took {took:?}",
        R::NAME
    );
    assert_eq!(ws.state(), State::Closed);
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ----------------------------------------------------------------------------------------------------
// Handshake
// ----------------------------------------------------------------------------------------------------

/// The server picks one of the client's offered subprotocols; both sides report it.
async fn handshake_subprotocol_chosen<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let mut ws = t!(R::accept_with(
            tcp,
            Config::default(),
            |req: Request| async move {
                assert_eq!(req.subprotocols, ["superchat", "chat"]);
                assert!(req.offers_subprotocol("chat"));
                Ok(Accept::new().subprotocol("chat"))
            }
        ))
        .unwrap();
        assert_eq!(ws.subprotocol(), Some("chat"));
        let m = t!(ws.recv()).unwrap().unwrap();
        t!(ws.send(m)).unwrap();
        assert_eq!(t!(ws.recv()).map(|r| r.is_ok()), None);
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/"))
        .unwrap()
        .subprotocol("superchat")
        .subprotocol("chat");
    let (mut ws, opened) = t!(R::connect_with(&builder)).unwrap();
    assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
    assert_eq!(ws.subprotocol(), Some("chat"));
    assert_eq!(ws.state(), State::Open);
    t!(ws.send("hi")).unwrap();
    assert_eq!(recv_ok::<R>(&mut ws).await, Message::from("hi"));
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;
    t!(server);
}

/// The client offers a subprotocol the server does not pick, then offers none: neither side reports one.
async fn handshake_no_subprotocol<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let mut offers = Vec::new();
        for _ in 0..2 {
            let tcp = t!(R::accept_tcp(&listener)).unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let seen2 = seen.clone();
            let mut ws = t!(R::accept_with(
                tcp,
                Config::default(),
                |req: Request| async move {
                    *seen2.lock().unwrap() = req.subprotocols.clone();
                    Ok(Accept::new())
                }
            ))
            .unwrap();
            assert_eq!(ws.subprotocol(), None);
            assert!(t!(ws.recv()).is_none(), "client closes");
            offers.push(seen.lock().unwrap().clone());
        }
        offers
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/"))
        .unwrap()
        .subprotocol("v1.example");
    let (mut ws, opened) = t!(R::connect_with(&builder)).unwrap();
    assert_eq!(opened.subprotocol, None);
    assert_eq!(ws.subprotocol(), None);
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;

    let (mut ws, opened) = t!(R::connect_with(
        &ClientBuilder::new(&ws_url(addr, "/")).unwrap()
    ))
    .unwrap();
    assert_eq!(opened.subprotocol, None);
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;

    let offers = t!(server);
    assert_eq!(offers, vec![vec!["v1.example".to_string()], vec![]]);
}

/// The server's callback rejects with 403 and a body: the client sees `Error::Rejected` with both, and the
/// server's accept reports the rejection too.
async fn handshake_rejected_403<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let result = t!(R::accept_with(tcp, Config::default(), |_| async {
            Err(Response::new(403, "no entry without a token").header("X-Why", "token"))
        }));
        match result {
            Err(Error::Rejected(r)) => assert_eq!(r.status, 403),
            Err(e) => panic!("server: expected Rejected, got {e:?}"),
            Ok(_) => panic!("server: expected Rejected, got an open connection"),
        }
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/private")).unwrap();
    match t!(R::connect_with(&builder)) {
        Err(e @ Error::Rejected(_)) => {
            assert_eq!(e.rejected_status(), Some(403));
            let Error::Rejected(r) = e else {
                unreachable!()
            };
            assert_eq!(r.status, 403);
            assert_eq!(&r.body[..], b"no entry without a token");
            assert_eq!(r.headers.get_str("x-why"), Some("token"));
        }
        Err(e) => panic!("client: expected Rejected, got {e:?}"),
        Ok(_) => panic!("client: expected Rejected, got an open connection"),
    }
    t!(server);
}

/// Origin, custom headers, path and query reach the server's callback before the 101; headers the callback
/// adds reach the client.
async fn handshake_origin_and_headers<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let seen: Arc<Mutex<Option<Request>>> = Arc::default();
        let seen2 = seen.clone();
        let mut ws = t!(R::accept_with(tcp, Config::default(), |req| async move {
            let ok = req.origin() == Some("https://app.example");
            *seen2.lock().unwrap() = Some(req);
            if ok {
                Ok(Accept::new().header("X-Server", "ws-tests"))
            } else {
                Err(Response::new(403, "bad origin"))
            }
        }))
        .unwrap();
        assert!(t!(ws.recv()).is_none());
        seen.lock().unwrap().take().expect("callback ran")
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/room/7?user=ann"))
        .unwrap()
        .origin("https://app.example")
        .header("X-Token", "s3cret")
        .header("Cookie", "session=abc");
    let (mut ws, opened) = t!(R::connect_with(&builder)).unwrap();
    assert_eq!(opened.headers.get_str("x-server"), Some("ws-tests"));
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;

    let req = t!(server);
    assert_eq!(req.origin(), Some("https://app.example"));
    assert_eq!(req.headers.get_str("x-token"), Some("s3cret"));
    assert_eq!(req.headers.get_str("cookie"), Some("session=abc"));
    assert_eq!(req.path(), "/room/7");
    assert_eq!(req.query(), Some("user=ann"));
    assert_eq!(req.host(), Some(addr.to_string().as_str()));
}

// ----------------------------------------------------------------------------------------------------
// Messages
// ----------------------------------------------------------------------------------------------------

/// Text sent fragment by fragment with cuts inside 2-, 3- and 4-byte characters arrives as one message; the
/// server answers with the same text one byte per fragment; binary fragments too; a fragment that makes the
/// text invalid is refused locally without harming the connection.
async fn fragmentation<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let mut ws = accept_one::<R>(&listener, Config::default()).await;
        // Echo text one byte per fragment, binary whole.
        while let Some(Ok(m)) = t!(ws.recv()) {
            match m {
                Message::Text(text) => {
                    let bytes = text.as_bytes();
                    for (i, b) in bytes.iter().enumerate() {
                        t!(ws.send_fragment(DataKind::Text, &[*b], i + 1 == bytes.len())).unwrap();
                    }
                }
                m => t!(ws.send(m)).unwrap(),
            }
        }
        close_of(&ws)
    });
    let mut ws = connect::<R>(addr, "/frag").await;
    let text = "héllo wörld € 𝄞 end";
    let bytes = text.as_bytes();
    let e = text.find('é').unwrap() + 1; // inside é (2 bytes)
    let euro = text.find('€').unwrap() + 2; // inside € (3 bytes)
    let clef = text.find('𝄞').unwrap() + 1; // inside 𝄞 (4 bytes)
    for (i, piece) in [
        &bytes[..e],
        &bytes[e..euro],
        &bytes[euro..clef],
        &bytes[clef..],
    ]
    .into_iter()
    .enumerate()
    {
        t!(ws.send_fragment(DataKind::Text, piece, i == 3)).unwrap();
    }
    assert_eq!(recv_ok::<R>(&mut ws).await, Message::from(text));

    // Binary in three fragments, one of them empty.
    t!(ws.send_fragment(DataKind::Binary, &[1, 2, 3], false)).unwrap();
    t!(ws.send_fragment(DataKind::Binary, &[], false)).unwrap();
    t!(ws.send_fragment(DataKind::Binary, &[4, 5], true)).unwrap();
    assert_eq!(
        recv_ok::<R>(&mut ws).await,
        Message::from(vec![1u8, 2, 3, 4, 5])
    );

    // Local misuse is refused and sends nothing: invalid UTF-8, a kind switch mid-message.
    assert!(matches!(
        t!(ws.send_fragment(DataKind::Text, &[0xFF], true)),
        Err(Error::Send(SendError::InvalidUtf8))
    ));
    t!(ws.send_fragment(DataKind::Text, "ok ".as_bytes(), false)).unwrap();
    assert!(matches!(
        t!(ws.send_fragment(DataKind::Binary, &[0], true)),
        Err(Error::Send(SendError::FragmentInProgress))
    ));
    t!(ws.send_fragment(DataKind::Text, "then".as_bytes(), true)).unwrap();
    assert_eq!(recv_ok::<R>(&mut ws).await, Message::from("ok then"));

    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "frag done").await;
    assert_eq!(t!(server), Some((1000, "frag done".to_string())));
}

/// 4 MiB of binary noise and 1 MiB of mixed-width text echo intact (permessage-deflate on both sides).
async fn large_messages<R: Rt>() {
    let (addr, server) = echo_server::<R>(big_config()).await;
    let builder = ClientBuilder::new(&ws_url(addr, "/big"))
        .unwrap()
        .config(big_config());
    let (mut ws, _) = t!(R::connect_with(&builder)).unwrap();
    let binary = ws_tests::noise(4 << 20, 1);
    let text = ws_tests::varied_text(1 << 20, 2);
    t!(ws.send(binary.clone())).unwrap();
    t!(ws.send(text.clone())).unwrap();
    let Message::Binary(got) = recv_ok::<R>(&mut ws).await else {
        panic!("expected binary")
    };
    assert_eq!(got.len(), binary.len());
    assert!(got[..] == binary[..], "4 MiB binary corrupted");
    let Message::Text(got) = recv_ok::<R>(&mut ws).await else {
        panic!("expected text")
    };
    assert!(got.as_str() == text, "1 MiB text corrupted");
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;
    assert_eq!(t!(server), Some((1000, String::new())));
}

// ----------------------------------------------------------------------------------------------------
// Ping / pong
// ----------------------------------------------------------------------------------------------------

/// Our server answers a raw client's ping with a pong carrying the same payload (unmasked), while its
/// application only runs the echo loop.
async fn server_auto_pong<R: Rt>() {
    let (addr, server) = echo_server::<R>(Config::default()).await;
    let mut tcp = t!(R::connect_tcp(addr)).map(R::into_tcp).unwrap();
    t!(raw::client_handshake(&mut tcp, "/", "")).unwrap();
    t!(tcp.write_all(&raw::client_frame(true, PING, b"are you there?"))).unwrap();
    let pong = t!(raw::read_frame(&mut tcp)).unwrap();
    assert_eq!(
        (pong.opcode, pong.masked, &pong.payload[..]),
        (PONG, false, &b"are you there?"[..])
    );
    t!(tcp.write_all(&raw::client_frame(true, TEXT, b"still here"))).unwrap();
    let echo = t!(raw::read_frame(&mut tcp)).unwrap();
    assert_eq!((echo.opcode, &echo.payload[..]), (TEXT, &b"still here"[..]));
    let mut close = 4444u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"raw bye");
    t!(tcp.write_all(&raw::client_frame(true, CLOSE, &close))).unwrap();
    let echo = t!(raw::read_frame(&mut tcp)).unwrap();
    assert_eq!(echo.close_code(), Some(4444));
    // The server closes TCP first (RFC 6455 section 7.1.1), at once, then the client does.
    let start = Instant::now();
    t!(raw::drain_to_eof(&mut tcp));
    let took = start.elapsed();
    assert!(took < CLOSE_BOUND, "the server closed TCP after {took:?}");
    drop(tcp);
    assert_eq!(t!(server), Some((4444, "raw bye".to_string())));
}

/// Our client's `ping` is answered by our server: the pong (same payload) is seen on the client's wire, and
/// a client with a short keepalive (ping every 100 ms, pong due within 2 s) stays up for 1 s with its pings
/// answered.
async fn client_ping_answered<R: Rt>() {
    let (addr, server) = echo_server::<R>(Config::default()).await;
    let tcp = t!(R::connect_tcp(addr)).map(R::into_tcp).unwrap();
    let (tap, stats) = Tap::new(tcp);
    let timeouts = Timeouts::default()
        .keepalive_interval(Some(Duration::from_millis(100)))
        .pong(Some(Duration::from_secs(2)));
    let builder = ClientBuilder::new(&ws_url(addr, "/"))
        .unwrap()
        .timeouts(timeouts);
    let (mut ws, _) = t!(ws_async::client_handshake(tap, &builder, R::timer())).unwrap();
    t!(ws.ping(b"ping-payload-42")).unwrap();
    // Drive the connection for 1 s: no message is expected, and no keepalive failure may happen.
    assert!(
        timeout::<R, _>(Duration::from_secs(1), ws.recv())
            .await
            .is_none(),
        "nothing but pongs should arrive, and the keepalive must not fail"
    );
    assert_eq!(ws.state(), State::Open);
    let mut pong = vec![0x8A, 15];
    pong.extend_from_slice(b"ping-payload-42");
    assert!(
        contains(&stats.recorded(), &pong),
        "the pong for the explicit ping was not received"
    );
    // Keepalive pings carry a 4-byte counter: at least a few were answered.
    let keepalive_pongs = stats
        .recorded()
        .windows(2)
        .filter(|w| w == &[0x8A, 4])
        .count();
    assert!(
        keepalive_pongs >= 3,
        "expected >= 3 keepalive pongs in 1 s, saw {keepalive_pongs}"
    );
    t!(ws.send("after pings")).unwrap();
    assert_eq!(recv_ok::<R>(&mut ws).await, Message::from("after pings"));
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;
    t!(server);
}

// ----------------------------------------------------------------------------------------------------
// Close
// ----------------------------------------------------------------------------------------------------

/// The client closes with a code and reason: the server's `recv` ends and its `close_frame` shows both; the
/// client sees the server's echo.
async fn close_from_client<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let mut ws = accept_one::<R>(&listener, Config::default()).await;
        assert_eq!(recv_ok::<R>(&mut ws).await, Message::from("last words"));
        assert!(t!(ws.recv()).is_none(), "clean close ends recv with None");
        assert_eq!(ws.state(), State::Closed);
        assert!(t!(ws.recv()).is_none(), "recv stays None");
        close_of(&ws)
    });
    let mut ws = connect::<R>(addr, "/").await;
    t!(ws.send("last words")).unwrap();
    close_promptly::<R>(&mut ws, CloseCode(4001), "client bye").await;
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(
        close_of(&ws).map(|c| c.0),
        Some(4001),
        "server echoes the code"
    );
    assert!(t!(ws.recv()).is_none());
    assert!(matches!(
        t!(ws.send("too late")),
        Err(Error::Send(SendError::Closed))
    ));
    assert_eq!(t!(server), Some((4001, "client bye".to_string())));
}

/// The server closes with a code and reason: the client's `recv` ends with `None` and its `close_frame`
/// shows both.
async fn close_from_server<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let mut ws = accept_one::<R>(&listener, Config::default()).await;
        t!(ws.send("before close")).unwrap();
        close_promptly::<R>(&mut ws, CloseCode(4002), "server bye").await;
        assert_eq!(ws.state(), State::Closed);
        close_of(&ws)
    });
    let mut ws = connect::<R>(addr, "/").await;
    assert_eq!(recv_ok::<R>(&mut ws).await, Message::from("before close"));
    let start = Instant::now();
    assert!(t!(ws.recv()).is_none());
    let took = start.elapsed();
    assert!(took < CLOSE_BOUND, "the client saw the end after {took:?}");
    assert_eq!(close_of(&ws), Some((4002, "server bye".to_string())));
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(
        t!(server).map(|c| c.0),
        Some(4002),
        "client echoes the code"
    );
}

// ----------------------------------------------------------------------------------------------------
// Timeouts
// ----------------------------------------------------------------------------------------------------

/// A server with a 300 ms handshake timeout against raw clients that send nothing, or only half a request:
/// the accept fails with the handshake timeout, in bounds, and the server closes the TCP connection.
async fn handshake_timeout<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let config =
        Config::default().timeouts(Timeouts::default().handshake(Some(Duration::from_millis(300))));
    let server = R::spawn(async move {
        let mut took = Vec::new();
        for _ in 0..2 {
            let tcp = t!(R::accept_tcp(&listener)).unwrap();
            let start = Instant::now();
            let result = t!(R::accept_with(tcp, config.clone(), |_| async {
                Ok(Accept::new())
            }));
            match result {
                Err(Error::Failed(ws_core::Error::Timeout(Timeout::Handshake))) => {}
                Err(e) => panic!("expected a handshake timeout, got {e:?}"),
                Ok(_) => panic!("expected a handshake timeout, got an open connection"),
            }
            took.push(start.elapsed());
        }
        took
    });
    // Silent. It closes its side once the server has closed (as any TCP client does on EOF).
    let mut silent = t!(R::connect_tcp(addr)).map(R::into_tcp).unwrap();
    let start = Instant::now();
    t!(raw::drain_to_eof(&mut silent));
    let silent_eof = start.elapsed();
    drop(silent);
    // Half a request.
    let mut slow = t!(R::connect_tcp(addr)).map(R::into_tcp).unwrap();
    let start = Instant::now();
    t!(slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")).unwrap();
    t!(raw::drain_to_eof(&mut slow));
    let slow_eof = start.elapsed();
    drop(slow);
    let took = t!(server);
    for d in took.iter().chain([&silent_eof, &slow_eof]) {
        assert!(
            *d >= Duration::from_millis(250) && *d < Duration::from_secs(3),
            "handshake timeout of 300 ms took {d:?}"
        );
    }
}

/// `accept_tls` against a raw TCP client that never sends a ClientHello fails within the handshake timeout.
async fn tls_handshake_timeout<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let certs = Certs::localhost();
    let tls = certs.server_config();
    let config =
        Config::default().timeouts(Timeouts::default().handshake(Some(Duration::from_millis(300))));
    let server = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let start = Instant::now();
        let result = t!(R::accept_tls(tcp, tls, config, |_| async {
            Ok(Accept::new())
        }));
        (result.err(), start.elapsed())
    });
    let _silent = t!(R::connect_tcp(addr)).unwrap();
    let (err, took) = t!(server);
    // ws-async reports the TLS stage's timeout as ConnectTimeout, the WebSocket stage's as
    // Failed(Timeout(Handshake)); either is a timeout.
    assert!(
        matches!(
            err,
            Some(
                Error::ConnectTimeout | Error::Failed(ws_core::Error::Timeout(Timeout::Handshake))
            )
        ),
        "expected a handshake timeout, got {err:?}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "TLS handshake timeout of 300 ms took {took:?}"
    );
}

fn keepalive(interval_ms: u64, pong_ms: u64) -> Timeouts {
    Timeouts::default()
        .keepalive_interval(Some(Duration::from_millis(interval_ms)))
        .pong(Some(Duration::from_millis(pong_ms)))
}

/// Our client pings every 100 ms against a raw server that never answers: after the 200 ms pong timeout the
/// client fails with `Timeout(Pong)` and the server receives pings, then a close frame with 1011.
async fn keepalive_timeout_client<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let mut tcp = R::into_tcp(t!(R::accept_tcp(&listener)).unwrap());
        t!(raw::server_handshake(&mut tcp)).unwrap();
        let mut pings = 0;
        loop {
            let f = t!(raw::read_frame(&mut tcp)).expect("a close frame before EOF");
            assert!(f.masked, "client frames are masked");
            match f.opcode {
                PING => pings += 1,
                CLOSE => return (pings, f.close_code(), raw::drain_to_eof(&mut tcp).await),
                op => panic!("unexpected opcode {op}"),
            }
        }
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/"))
        .unwrap()
        .timeouts(keepalive(100, 200));
    let (mut ws, _) = t!(R::connect_with(&builder)).unwrap();
    let start = Instant::now();
    match t!(ws.recv()) {
        Some(Err(Error::Failed(ws_core::Error::Timeout(Timeout::Pong)))) => {}
        other => panic!("expected a pong timeout, got {other:?}"),
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "pong timeout (100 ms + 200 ms) took {took:?}"
    );
    assert!(t!(ws.recv()).is_none(), "the failure is reported once");
    let (pings, code, _) = t!(server);
    assert!(pings >= 1, "the client never pinged");
    assert_eq!(code, Some(1011));
}

/// The same with our server against a raw client that never answers.
async fn keepalive_timeout_server<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let config = Config::default().timeouts(keepalive(100, 200));
    let server = R::spawn(async move {
        let mut ws = accept_one::<R>(&listener, config).await;
        let start = Instant::now();
        let result = t!(ws.recv());
        (result.map(|r| r.err()), start.elapsed())
    });
    let mut tcp = t!(R::connect_tcp(addr)).map(R::into_tcp).unwrap();
    t!(raw::client_handshake(&mut tcp, "/", "")).unwrap();
    let mut pings = 0;
    let code = loop {
        let f = t!(raw::read_frame(&mut tcp)).unwrap();
        assert!(!f.masked, "server frames are not masked");
        match f.opcode {
            PING => pings += 1,
            CLOSE => break f.close_code(),
            op => panic!("unexpected opcode {op}"),
        }
    };
    t!(raw::drain_to_eof(&mut tcp));
    drop(tcp);
    assert!(pings >= 1);
    assert_eq!(code, Some(1011));
    let (err, took) = t!(server);
    assert!(
        matches!(
            err,
            Some(Some(Error::Failed(ws_core::Error::Timeout(Timeout::Pong))))
        ),
        "expected a pong timeout, got {err:?}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "pong timeout took {took:?}"
    );
}

// ----------------------------------------------------------------------------------------------------
// Cancel safety
// ----------------------------------------------------------------------------------------------------

/// A 1 MiB message trickles in (four 256 KiB fragments, a ping between two of them, 8 KiB every
/// millisecond) while the client's `recv` races a 2 ms timer, so it is cancelled over and over. The
/// message arrives intact exactly once, the ping is answered, and the next message follows.
async fn cancel_safe_recv<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let message = ws_tests::noise(1 << 20, 3);
    let sent = message.clone();
    let server = R::spawn(async move {
        let mut tcp = R::into_tcp(t!(R::accept_tcp(&listener)).unwrap());
        t!(raw::server_handshake(&mut tcp)).unwrap();
        let mut wire = Vec::new();
        for (i, part) in sent.chunks(256 << 10).enumerate() {
            let opcode = if i == 0 { BINARY } else { CONT };
            wire.extend(raw::server_frame(i == 3, opcode, part));
            if i == 1 {
                wire.extend(raw::server_frame(true, PING, b"mid-message"));
            }
        }
        wire.extend(raw::server_frame(true, TEXT, b"after"));
        for chunk in wire.chunks(8 << 10) {
            t!(tcp.write_all(chunk)).unwrap();
            R::sleep(Duration::from_millis(1)).await;
        }
        let pong = t!(raw::read_frame(&mut tcp)).unwrap();
        assert_eq!(
            (pong.opcode, &pong.payload[..]),
            (PONG, &b"mid-message"[..])
        );
        let close = t!(raw::read_frame(&mut tcp)).unwrap();
        assert_eq!(close.close_code(), Some(1000));
        t!(tcp.write_all(&raw::server_frame(true, CLOSE, &close.payload))).unwrap();
        t!(tcp.close()).unwrap();
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/"))
        .unwrap()
        .config(plain_config());
    let (mut ws, _) = t!(R::connect_with(&builder)).unwrap();
    let mut got = Vec::new();
    let mut cancelled = 0u32;
    let deadline = Instant::now() + ws_tests::STEP;
    while got.len() < 2 {
        assert!(Instant::now() < deadline, "messages did not arrive in time");
        match timeout::<R, _>(Duration::from_millis(2), ws.recv()).await {
            None => cancelled += 1,
            Some(item) => got.push(item.expect("ended early").expect("recv failed")),
        }
    }
    assert!(
        cancelled >= 10,
        "recv was cancelled only {cancelled} times: the case did not exercise cancellation"
    );
    assert!(
        got[0] == Message::from(message),
        "1 MiB message corrupted or out of order"
    );
    assert_eq!(got[1], Message::from("after"));
    // Exactly once: nothing else is waiting.
    assert!(
        timeout::<R, _>(Duration::from_millis(100), ws.recv())
            .await
            .is_none(),
        "a message arrived twice"
    );
    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;
    t!(server);
    eprintln!("[{}] recv cancelled {cancelled} times", R::NAME);
}

/// A 32 MiB `send` to a peer that is not reading is dropped mid-write; a second `send` that is dropped
/// while waiting for room; then a small `send` completes once the peer reads. The peer receives the large
/// message whole, the second one whole or not at all, then the small one: the stream is not corrupted.
async fn cancel_safe_send<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let server = R::spawn(async move {
        let mut tcp = R::into_tcp(t!(R::accept_tcp(&listener)).unwrap());
        t!(raw::server_handshake(&mut tcp)).unwrap();
        // Do not read until the client has cancelled its sends.
        let start = Instant::now();
        while go_rx.try_recv().is_err() {
            assert!(start.elapsed() < ws_tests::STEP, "client never said go");
            R::sleep(Duration::from_millis(5)).await;
        }
        let mut frames = Vec::new();
        loop {
            let f = t!(raw::read_frame(&mut tcp)).unwrap();
            assert!(f.fin && f.masked);
            if f.opcode == CLOSE {
                t!(tcp.write_all(&raw::server_frame(true, CLOSE, &f.payload))).unwrap();
                t!(tcp.close()).unwrap();
                return frames;
            }
            frames.push(f);
        }
    });
    let builder = ClientBuilder::new(&ws_url(addr, "/"))
        .unwrap()
        .config(plain_config());
    let (mut ws, _) = t!(R::connect_with(&builder)).unwrap();
    let big = ws_tests::noise(32 << 20, 4);
    let second = ws_tests::noise(2 << 20, 5);
    let first = timeout::<R, _>(Duration::from_millis(50), ws.send(big.clone())).await;
    assert!(
        first.is_none(),
        "the 32 MiB send finished against a peer that does not read: the case is void"
    );
    let again = timeout::<R, _>(Duration::from_millis(50), ws.send(second.clone())).await;
    assert!(again.is_none(), "the second send should wait for room");
    go_tx.send(()).unwrap();
    t!(ws.send("small")).unwrap();
    // Not `close_promptly`: the raw peer still has megabytes to read and unmask before it sees the close.
    t!(ws.close(CloseCode::NORMAL, "")).unwrap();
    let frames = t!(server);
    assert!(
        frames.len() == 2 || frames.len() == 3,
        "expected 2 or 3 frames, got {}",
        frames.len()
    );
    assert_eq!(frames[0].opcode, BINARY);
    assert!(
        frames[0].payload == big,
        "the cancelled 32 MiB send arrived corrupted"
    );
    if frames.len() == 3 {
        assert!(
            frames[1].payload == second,
            "the cancelled 2 MiB send arrived corrupted"
        );
    }
    let last = frames.last().unwrap();
    assert_eq!((last.opcode, &last.payload[..]), (TEXT, &b"small"[..]));
}

// ----------------------------------------------------------------------------------------------------
// Split halves
// ----------------------------------------------------------------------------------------------------

const SPLIT_N: usize = 5_000;

/// Reads `n` messages `"{tag} {i}"` in order.
async fn read_in_order<R: Rt>(reader: &mut ws_async::Reader<R::Io, R::Timer>, tag: &str, n: usize) {
    for i in 0..n {
        let m = t!(reader.recv())
            .expect("ended early")
            .expect("recv failed");
        assert_eq!(
            m.as_text(),
            Some(format!("{tag} {i}").as_str()),
            "out of order"
        );
    }
}

async fn write_all<R: Rt>(writer: &mut ws_async::Writer<R::Io, R::Timer>, tag: &str, n: usize) {
    for i in 0..n {
        t!(writer.send(format!("{tag} {i}"))).unwrap();
    }
}

/// Splits `ws`, sends `SPLIT_N` messages tagged `mine` from a writer task while a reader task reads as
/// many tagged `theirs` in order, then reunites the halves.
async fn exchange_split<R: Rt>(ws: Ws<R>, mine: &'static str, theirs: &'static str) -> Ws<R> {
    let (mut reader, mut writer) = ws.split();
    let r = R::spawn(async move {
        read_in_order::<R>(&mut reader, theirs, SPLIT_N).await;
        reader
    });
    let w = R::spawn(async move {
        write_all::<R>(&mut writer, mine, SPLIT_N).await;
        writer
    });
    let (reader, writer) = (t!(r), t!(w));
    reader.reunite(writer).expect("same connection")
}

/// Both sides split; each reader and writer runs in its own task; 5,000 messages each way arrive in order,
/// then the halves are reunited and the close handshake runs.
async fn split_concurrent<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let ws = accept_one::<R>(&listener, Config::default()).await;
        let mut ws = exchange_split::<R>(ws, "s2c", "c2s").await;
        assert!(t!(ws.recv()).is_none());
        close_of(&ws)
    });
    let ws = connect::<R>(addr, "/split").await;
    let mut ws = exchange_split::<R>(ws, "c2s", "s2c").await;
    close_promptly::<R>(&mut ws, CloseCode(4000), "split done").await;
    assert_eq!(t!(server), Some((4000, "split done".to_string())));
}

/// Split, then the writer closes: the reader (in another task) sees the end, with the server's echo.
async fn split_writer_closes<R: Rt>() {
    let (addr, server) = echo_server::<R>(Config::default()).await;
    let ws = connect::<R>(addr, "/").await;
    let (mut reader, mut writer) = ws.split();
    let r = R::spawn(async move {
        let first = t!(reader.recv()).unwrap().unwrap();
        let end = t!(reader.recv());
        (first, end.is_none())
    });
    t!(writer.send("one")).unwrap();
    // Let the echo arrive, then close from the writer half.
    R::sleep(Duration::from_millis(50)).await;
    t!(writer.close(CloseCode(4003), "writer closes")).unwrap();
    let (first, ended) = t!(r);
    assert_eq!(first, Message::from("one"));
    assert!(ended, "the reader should see a clean end");
    assert_eq!(t!(server), Some((4003, "writer closes".to_string())));
}

// ----------------------------------------------------------------------------------------------------
// permessage-deflate
// ----------------------------------------------------------------------------------------------------

/// Our client and server negotiate permessage-deflate (both report it); 1 MiB compressible text and binary
/// round-trip intact and cross the wire at under a tenth of their size each way; a message sent with
/// `compress: false` crosses at full size.
async fn permessage_deflate<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let mut ws = accept_one::<R>(&listener, big_config()).await;
        let ext = ws.extensions().map(str::to_string);
        while let Some(Ok(m)) = t!(ws.recv()) {
            t!(ws.send(m)).unwrap();
        }
        ext
    });
    let tcp = t!(R::connect_tcp(addr)).map(R::into_tcp).unwrap();
    let (tap, stats) = Tap::new(tcp);
    let builder = ClientBuilder::new(&ws_url(addr, "/deflate"))
        .unwrap()
        .config(big_config());
    let (mut ws, opened) = t!(ws_async::client_handshake(tap, &builder, R::timer())).unwrap();
    let ext = ws.extensions().expect("an extension was negotiated");
    assert!(ext.starts_with("permessage-deflate"), "{ext}");
    assert_eq!(opened.extensions.as_deref(), Some(ext));

    let text = ws_tests::compressible_text(1 << 20);
    let (w0, r0) = (stats.bytes_written(), stats.bytes_read());
    t!(ws.send(text.clone())).unwrap();
    t!(ws.send(text.clone().into_bytes())).unwrap();
    assert!(recv_ok::<R>(&mut ws).await.as_text() == Some(text.as_str()));
    assert!(recv_ok::<R>(&mut ws).await == Message::from(text.clone().into_bytes()));
    let (sent, received) = (stats.bytes_written() - w0, stats.bytes_read() - r0);
    eprintln!(
        "[{}] deflate: 2 x {} bytes sent as {sent}, echoed as {received}",
        R::NAME,
        text.len()
    );
    assert!(
        sent < text.len() / 5,
        "client did not compress: {sent} bytes on the wire"
    );
    assert!(
        received < text.len() / 5,
        "server did not compress: {received} bytes on the wire"
    );

    let w1 = stats.bytes_written();
    t!(ws.send_with(
        Message::from(text.clone()),
        SendOptions::default().compress(false)
    ))
    .unwrap();
    assert!(recv_ok::<R>(&mut ws).await.as_text() == Some(text.as_str()));
    assert!(
        stats.bytes_written() - w1 > text.len(),
        "compress: false was compressed"
    );

    close_promptly::<R>(&mut ws, CloseCode::NORMAL, "").await;
    let server_ext = t!(server).expect("the server negotiated an extension");
    assert!(server_ext.starts_with("permessage-deflate"), "{server_ext}");
}

// ----------------------------------------------------------------------------------------------------
// TLS
// ----------------------------------------------------------------------------------------------------

/// `wss://` with a certificate made at test time: `accept_tls` on the server, `ClientBuilder::tls_config`
/// trusting it on the client; messages echo over TLS. A client trusting only the default roots fails with
/// `Error::Tls`, and so does the server's accept of that connection.
async fn tls_wss<R: Rt>() {
    let certs = Certs::localhost();
    let tls = certs.server_config();
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let mut ws = t!(R::accept_tls(
            tcp,
            tls.clone(),
            big_config(),
            |req: Request| async move {
                assert_eq!(req.path(), "/secure");
                Ok(Accept::new())
            }
        ))
        .expect("TLS accept");
        assert_ne!(R::is_tls(ws.get_ref()), Some(false), "not over TLS");
        while let Some(Ok(m)) = t!(ws.recv()) {
            t!(ws.send(m)).unwrap();
        }
        let close = close_of(&ws);
        // A client that does not trust the certificate.
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let untrusted = t!(R::accept_tls(tcp, tls, Config::default(), |_| async {
            Ok(Accept::new())
        }));
        (close, untrusted.err())
    });
    let url = format!("wss://localhost:{}/secure", addr.port());
    let builder = ClientBuilder::new(&url)
        .unwrap()
        .tls_config(certs.client_config())
        .config(big_config());
    let (mut ws, _) = t!(R::connect_with(&builder)).expect("wss connect");
    assert_ne!(R::is_tls(ws.get_ref()), Some(false), "not over TLS");
    t!(ws.send("over tls")).unwrap();
    let echo = t!(ws.recv()).expect("ended").expect("recv failed");
    assert_eq!(echo, Message::from("over tls"));
    let blob = ws_tests::noise(1 << 20, 6);
    t!(ws.send(blob.clone())).unwrap();
    let echo = t!(ws.recv()).expect("ended").expect("recv failed");
    assert!(echo == Message::from(blob), "1 MiB over TLS corrupted");
    close_promptly::<R>(&mut ws, CloseCode(4010), "tls bye").await;

    let untrusted = ClientBuilder::new(&url).unwrap();
    match t!(R::connect_with(&untrusted)) {
        Err(Error::Tls(_)) => {}
        Err(e) => panic!("expected a TLS error, got {e:?}"),
        Ok(_) => panic!("a self-signed certificate was trusted by the default roots"),
    }
    let (close, server_err) = t!(server);
    assert_eq!(close, Some((4010, "tls bye".to_string())));
    assert!(
        matches!(server_err, Some(Error::Tls(_) | Error::Io(_))),
        "server side of the untrusted handshake: {server_err:?}"
    );
}

/// `wss://`, both sides split: the TLS session is shared by the halves (a two-handle lock), the
/// readers and writers run in their own tasks, 5,000 messages each way arrive in order, and the halves
/// reunite for the close handshake.
async fn tls_split_concurrent<R: Rt>() {
    let certs = Certs::localhost();
    let tls = certs.server_config();
    let (listener, addr) = R::listen().await;
    let server = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let ws = t!(R::accept_tls(tcp, tls, Config::default(), |_| async {
            Ok(Accept::new())
        }))
        .expect("TLS accept");
        let mut ws = exchange_split::<R>(ws, "s2c", "c2s").await;
        assert_ne!(R::is_tls(ws.get_ref()), Some(false), "not over TLS");
        assert!(t!(ws.recv()).is_none());
        close_of(&ws)
    });
    let url = format!("wss://localhost:{}/split", addr.port());
    let builder = ClientBuilder::new(&url)
        .unwrap()
        .tls_config(certs.client_config());
    let (ws, _) = t!(R::connect_with(&builder)).expect("wss connect");
    let mut ws = exchange_split::<R>(ws, "c2s", "s2c").await;
    close_promptly::<R>(&mut ws, CloseCode(4011), "tls split done").await;
    assert_eq!(t!(server), Some((4011, "tls split done".to_string())));
}

// ----------------------------------------------------------------------------------------------------
// Instantiation
// ----------------------------------------------------------------------------------------------------

/// `suite!(module, Runtime)` makes one `#[test]` per case for a runtime.
macro_rules! suite {
    ($module:ident, $rt:ty) => {
        cases!(
            $module,
            $rt,
            [
                handshake_subprotocol_chosen,
                handshake_no_subprotocol,
                handshake_rejected_403,
                handshake_origin_and_headers,
                fragmentation,
                large_messages,
                server_auto_pong,
                client_ping_answered,
                close_from_client,
                close_from_server,
                handshake_timeout,
                tls_handshake_timeout,
                keepalive_timeout_client,
                keepalive_timeout_server,
                cancel_safe_recv,
                cancel_safe_send,
                split_concurrent,
                split_writer_closes,
                permessage_deflate,
                tls_wss,
                tls_split_concurrent,
            ]
        );
    };
}

macro_rules! cases {
    ($module:ident, $rt:ty, [$($case:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $case() {
                    ws_tests::run::<$rt, _>(super::$case::<$rt>);
                }
            )*
        }
    };
}

suite!(tokio, ws_tests::Tokio);
suite!(smol, ws_tests::Smol);
suite!(async_std, ws_tests::AsyncStd);
suite!(hyper, ws_tests::Hyper);
