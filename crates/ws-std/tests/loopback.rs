//! The blocking adapter over loopback TCP: echo, subprotocols, rejection, ping/pong, close, split,
//! keepalive and connection errors.

mod common;

use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{bounded, echo_server, listener, raw_accept, read_frame, write_frame};
use ws_std::{
    Accept, ClientBuilder, CloseCode, Config, DataKind, Error, Message, PreparedMessage, Response,
    State, Timeouts,
};

#[test]
fn echo_text_binary_large_and_fragmented() {
    bounded(30, || {
        let port = echo_server(Config::default());
        let (mut ws, opened) = ws_std::connect(&format!("ws://127.0.0.1:{port}/echo")).unwrap();
        assert_eq!(opened.subprotocol, None);
        assert_eq!(ws.state(), State::Open);

        ws.send("hello").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("hello"));
        ws.send(vec![0u8, 1, 2, 255]).unwrap();
        assert_eq!(
            ws.recv().unwrap().unwrap(),
            Message::from(vec![0u8, 1, 2, 255])
        );
        ws.send("").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from(""));

        let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
        ws.send(big.clone()).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap().as_bytes(), &big[..]);

        // A text message in three fragments, split inside a multi-byte character.
        let text = "fragmented héllo ✓";
        let bytes = text.as_bytes();
        let cut = text.find('é').unwrap() + 1;
        ws.send_fragment(DataKind::Text, &bytes[..cut], false)
            .unwrap();
        ws.send_fragment(DataKind::Text, &bytes[cut..cut + 3], false)
            .unwrap();
        ws.send_fragment(DataKind::Text, &bytes[cut + 3..], true)
            .unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from(text));

        // Queued sends go out on flush.
        for i in 0..100 {
            ws.feed(format!("fed {i}")).unwrap();
        }
        ws.flush().unwrap();
        for i in 0..100 {
            assert_eq!(
                ws.recv().unwrap().unwrap().as_text(),
                Some(format!("fed {i}").as_str())
            );
        }
        ws.close(CloseCode::NORMAL, "done").unwrap();
        assert_eq!(ws.state(), State::Closed);
        assert!(ws.recv().is_none());
    });
}

#[test]
fn many_small_messages_both_ways_while_unread_replies_wait() {
    // Sends while received messages wait in the core are coalesced and written by `recv`.
    bounded(30, || {
        let port = echo_server(Config::default());
        let (mut ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        for i in 0..500 {
            ws.send(format!("{i}")).unwrap();
        }
        for i in 0..500 {
            let message = ws.recv().unwrap().unwrap();
            assert_eq!(message.as_text(), Some(format!("{i}").as_str()));
            ws.send(message).unwrap();
        }
        for i in 0..500 {
            assert_eq!(
                ws.recv().unwrap().unwrap().as_text(),
                Some(format!("{i}").as_str())
            );
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
    });
}

#[test]
fn subprotocol_negotiated() {
    bounded(20, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = ws_std::accept_with(tcp, Config::default(), |req| {
                assert_eq!(req.path(), "/chat");
                assert_eq!(req.origin(), Some("http://localhost"));
                if req.offers_subprotocol("chat") {
                    Ok(Accept::new()
                        .subprotocol("chat")
                        .header("X-Server", "ws-std"))
                } else {
                    Err(Response::new(400, "no subprotocol"))
                }
            })
            .unwrap();
            assert_eq!(ws.subprotocol(), Some("chat"));
            let message = ws.recv().unwrap().unwrap();
            ws.send(message).unwrap();
            assert!(ws.recv().is_none());
        });
        let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/chat"))
            .unwrap()
            .subprotocol("superchat")
            .subprotocol("chat")
            .origin("http://localhost");
        let (mut ws, opened) = ws_std::connect_with(&builder).unwrap();
        assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
        assert_eq!(opened.headers.get_str("x-server"), Some("ws-std"));
        assert_eq!(ws.subprotocol(), Some("chat"));
        ws.send("in chat").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("in chat"));
        ws.close(CloseCode::NORMAL, "").unwrap();
        server.join().unwrap();
    });
}

#[test]
fn rejection_with_403_is_seen_by_the_client() {
    bounded(20, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let result = ws_std::accept_with(tcp, Config::default(), |req| {
                if req.offers_subprotocol("chat") {
                    Ok(Accept::new().subprotocol("chat"))
                } else {
                    Err(Response::new(403, "forbidden: no chat").header("X-Reason", "subprotocol"))
                }
            });
            assert_eq!(result.unwrap_err().rejected_status(), Some(403));
        });
        let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
            .unwrap()
            .subprotocol("other");
        match ws_std::connect_with(&builder) {
            Err(Error::Rejected(response)) => {
                assert_eq!(response.status, 403);
                assert_eq!(&response.body[..], b"forbidden: no chat");
                assert_eq!(response.headers.get_str("x-reason"), Some("subprotocol"));
            }
            other => panic!("expected a 403 rejection, got {other:?}"),
        }
        server.join().unwrap();
    });
}

#[test]
fn pings_are_answered_with_pongs_automatically() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let (mut ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
            ws.ping(b"client ping").unwrap();
            // The raw peer sends a ping, then a text message once it has seen our pong.
            assert_eq!(ws.recv().unwrap().unwrap(), Message::from("got your pong"));
            assert!(ws.recv().is_none());
            ws.close_frame().cloned()
        });
        let mut raw = raw_accept(&listener);
        assert_eq!(read_frame(&mut raw), (0x9, b"client ping".to_vec()));
        write_frame(&mut raw, 0xA, b"client ping");
        write_frame(&mut raw, 0x9, b"are you there?");
        assert_eq!(read_frame(&mut raw), (0xA, b"are you there?".to_vec()));
        write_frame(&mut raw, 0x1, b"got your pong");
        write_frame(&mut raw, 0x8, &[0x03, 0xE8, b'o', b'k']);
        let (opcode, payload) = read_frame(&mut raw);
        assert_eq!((opcode, &payload[..2]), (0x8, &[0x03, 0xE8][..]));
        drop(raw); // the server closes TCP first
        let frame = client.join().unwrap().expect("close frame");
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode::NORMAL, "ok")
        );
    });
}

#[test]
fn keepalive_pings_keep_a_live_connection_open() {
    bounded(20, || {
        let port = echo_server(Config::default());
        let timeouts = Timeouts::default()
            .keepalive_interval(Some(Duration::from_millis(50)))
            .pong(Some(Duration::from_millis(500)));
        let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
            .unwrap()
            .timeouts(timeouts);
        let (mut ws, _) = ws_std::connect_with(&builder).unwrap();
        let start = Instant::now();
        let mut i = 0;
        while start.elapsed() < Duration::from_millis(800) {
            ws.send(format!("{i}")).unwrap();
            assert_eq!(
                ws.recv().unwrap().unwrap().as_text(),
                Some(format!("{i}").as_str())
            );
            std::thread::sleep(Duration::from_millis(20));
            i += 1;
        }
        assert_eq!(ws.state(), State::Open);
        ws.close(CloseCode::NORMAL, "").unwrap();
    });
}

#[test]
fn pong_timeout_fails_with_1011_within_bounded_time() {
    bounded(20, || {
        let (listener, port) = listener();
        let timeouts = Timeouts::default()
            .keepalive_interval(Some(Duration::from_millis(100)))
            .pong(Some(Duration::from_millis(200)))
            .close(Some(Duration::from_millis(500)));
        let client = std::thread::spawn(move || {
            let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
                .unwrap()
                .timeouts(timeouts);
            let (mut ws, _) = ws_std::connect_with(&builder).unwrap();
            let start = Instant::now();
            let result = ws.recv();
            (result, start.elapsed(), ws.recv().is_none())
        });
        // A peer that completes the handshake and then never answers.
        let mut raw = raw_accept(&listener);
        let (result, elapsed, then_none) = client.join().unwrap();
        match result {
            Some(Err(Error::Failed(e))) => {
                assert_eq!(e, ws_core::Error::Timeout(ws_core::Timeout::Pong));
                assert_eq!(e.close_code(), CloseCode::INTERNAL_ERROR);
            }
            other => panic!("expected a pong timeout, got {other:?}"),
        }
        assert!(
            elapsed >= Duration::from_millis(250),
            "failed too early: {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_secs(5),
            "failed too late: {elapsed:?}"
        );
        assert!(then_none, "the error is reported once");
        // What the silent peer received: pings, then a close frame with 1011.
        loop {
            let (opcode, payload) = read_frame(&mut raw);
            if opcode == 0x8 {
                assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1011);
                break;
            }
            assert_eq!(opcode, 0x9);
        }
    });
}

/// A client whose timers give up on a silent peer within a fraction of a second.
fn connect_stalling(port: u16) -> ws_std::WebSocket<ws_std::MaybeTlsStream> {
    let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
        .unwrap()
        .timeouts(stalling_timeouts());
    ws_std::connect_with(&builder).unwrap().0
}

fn stalling_timeouts() -> Timeouts {
    Timeouts::default()
        .keepalive_interval(Some(Duration::from_millis(100)))
        .pong(Some(Duration::from_millis(200)))
        .close(Some(Duration::from_millis(200)))
}

#[test]
fn a_peer_that_stops_reading_fails_a_blocked_send_in_bounded_time() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
                .unwrap()
                .timeouts(stalling_timeouts());
            let (mut ws, _) = ws_std::connect_with(&builder).unwrap();
            let start = Instant::now();
            let chunk = vec![0u8; 1 << 20];
            let error = loop {
                if let Err(e) = ws.send(chunk.clone()) {
                    break e;
                }
            };
            (error, start.elapsed(), ws.recv())
        });
        let _raw = raw_accept(&listener); // never reads
        let (error, elapsed, recv) = client.join().unwrap();
        assert!(
            matches!(&error, Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut),
            "{error:?}"
        );
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert!(
            matches!(
                recv,
                Some(Err(Error::Failed(ws_core::Error::Timeout(
                    ws_core::Timeout::Pong
                ))))
            ),
            "{recv:?}"
        );
    });
}

#[test]
fn a_peer_that_stops_reading_fails_a_split_connection_in_bounded_time() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let ws = connect_stalling(port);
            let (mut reader, mut writer) = ws.split().unwrap();
            let sender = std::thread::spawn(move || {
                let chunk = vec![0u8; 1 << 20];
                loop {
                    if let Err(e) = writer.send(chunk.clone()) {
                        break e;
                    }
                }
            });
            let start = Instant::now();
            let recv = reader.recv();
            (recv, start.elapsed(), sender.join().unwrap())
        });
        let _raw = raw_accept(&listener); // never reads
        let (recv, elapsed, error) = client.join().unwrap();
        assert!(
            matches!(
                recv,
                Some(Err(Error::Failed(ws_core::Error::Timeout(
                    ws_core::Timeout::Pong
                ))))
            ),
            "{recv:?}"
        );
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert!(matches!(error, Error::Io(_) | Error::Send(_)), "{error:?}");
    });
}

#[test]
fn a_split_writer_whose_reader_was_dropped_gives_up_on_a_peer_that_stopped_reading() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let ws = connect_stalling(port);
            let (reader, mut writer) = ws.split().unwrap();
            // Nobody runs the connection's timers from here on.
            drop(reader);
            let start = Instant::now();
            let chunk = vec![0u8; 1 << 20];
            let error = loop {
                if let Err(e) = writer.send(chunk.clone()) {
                    break e;
                }
            };
            let elapsed = start.elapsed();
            let after = writer.send("more");
            (error, elapsed, after)
        });
        let _raw = raw_accept(&listener); // never reads
        let (error, elapsed, after) = client.join().unwrap();
        assert!(
            matches!(
                error,
                Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Pong))
            ),
            "{error:?}"
        );
        let pong = stalling_timeouts().pong.unwrap();
        assert!(
            elapsed >= pong && elapsed < Duration::from_secs(5),
            "{elapsed:?}"
        );
        assert!(
            matches!(after, Err(Error::Send(ws_std::SendError::Closed))),
            "{after:?}"
        );
    });
}

#[test]
fn server_handshake_timeout_with_a_silent_client() {
    bounded(20, || {
        let (listener, port) = listener();
        let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (tcp, _) = listener.accept().unwrap();
        // After a failed handshake the server lingers for the close timeout, waiting for the client
        // to close TCP, before accept returns.
        let config = Config::default().timeouts(
            Timeouts::default()
                .handshake(Some(Duration::from_millis(200)))
                .close(Some(Duration::from_millis(200))),
        );
        let start = Instant::now();
        let err = ws_std::accept_with(tcp, config, |_| Ok(Accept::new())).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Handshake))
            ),
            "{err:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn client_closes_with_code_and_reason() {
    bounded(20, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = ws_std::accept(tcp).unwrap();
            assert_eq!(ws.recv().unwrap().unwrap(), Message::from("before close"));
            assert!(ws.recv().is_none());
            assert_eq!(ws.state(), State::Closed);
            let frame = ws.close_frame().cloned().unwrap();
            (frame.code, frame.reason.as_str().to_string())
        });
        let (mut ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        ws.send("before close").unwrap();
        ws.close(CloseCode(4000), "client says bye").unwrap();
        assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode(4000)));
        assert!(matches!(
            ws.send("after close"),
            Err(Error::Send(ws_core::SendError::Closed))
        ));
        assert_eq!(
            server.join().unwrap(),
            (CloseCode(4000), "client says bye".to_string())
        );
    });
}

#[test]
fn server_closes_with_code_and_reason() {
    bounded(20, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = ws_std::accept(tcp).unwrap();
            ws.send("last words").unwrap();
            ws.close(CloseCode::GOING_AWAY, "server shutting down")
                .unwrap();
            ws.close_frame().map(|f| f.code)
        });
        let (mut ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("last words"));
        assert!(ws.recv().is_none());
        let frame = ws.close_frame().unwrap();
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode::GOING_AWAY, "server shutting down")
        );
        assert_eq!(server.join().unwrap(), Some(CloseCode::GOING_AWAY));
    });
}

#[test]
fn peer_vanishing_is_an_error_once() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let (mut ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
            let first = ws.recv();
            (first, ws.recv().is_none())
        });
        drop(raw_accept(&listener));
        let (first, then_none) = client.join().unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Failed(ws_core::Error::UnexpectedEof)))
            ),
            "{first:?}"
        );
        assert!(then_none);
    });
}

const N: usize = 2000;

fn payload(tag: &str, i: usize) -> String {
    format!("{tag} {i} {}", "x".repeat(i % 64 * 40))
}

#[test]
fn split_halves_under_concurrent_load() {
    bounded(60, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let ws = ws_std::accept(tcp).unwrap();
            let (mut reader, mut writer) = ws.split().unwrap();
            let sender = std::thread::spawn(move || {
                for i in 0..N {
                    writer.send(payload("server", i)).unwrap();
                    if i % 100 == 0 {
                        writer.ping(b"server ping").unwrap();
                    }
                }
                writer
            });
            for i in 0..N {
                assert_eq!(
                    reader.recv().unwrap().unwrap().as_text(),
                    Some(payload("client", i).as_str())
                );
            }
            // The client closes once it has everything; the reader echoes the close.
            assert!(reader.recv().is_none());
            assert_eq!(
                reader.close_frame().map(|f| f.code),
                Some(CloseCode::NORMAL)
            );
            let writer = sender.join().unwrap();
            let ws = reader.reunite(writer).map_err(|_| "reunite").unwrap();
            assert_eq!(ws.state(), State::Closed);
        });

        let (ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        let (mut reader, mut writer) = ws.split().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            for i in 0..N {
                writer.send(payload("client", i)).unwrap();
            }
            done_rx.recv().unwrap();
            writer.close(CloseCode::NORMAL, "all received").unwrap();
            writer
        });
        for i in 0..N {
            assert_eq!(
                reader.recv().unwrap().unwrap().as_text(),
                Some(payload("server", i).as_str())
            );
        }
        done_tx.send(()).unwrap();
        assert!(reader.recv().is_none());
        let writer = sender.join().unwrap();
        assert_eq!(writer.state(), State::Closed);
        let ws = reader.reunite(writer).map_err(|_| "reunite").unwrap();
        assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::NORMAL));
        server.join().unwrap();
    });
}

#[test]
fn split_large_messages_both_ways_at_once() {
    // Both writers block on messages larger than the socket buffers and the high-water mark; the readers
    // must keep reading for either to finish.
    const COUNT: usize = 6;
    const SIZE: usize = 4 << 20;
    fn exchange(ws: ws_std::WebSocket<impl ws_std::SplitStream + Send + 'static>, tag: u8) {
        let (mut reader, mut writer) = ws.split().unwrap();
        let sender = std::thread::spawn(move || {
            for i in 0..COUNT {
                writer.send(vec![tag ^ i as u8; SIZE]).unwrap();
            }
            writer
        });
        for i in 0..COUNT {
            let message = reader.recv().unwrap().unwrap();
            assert_eq!(message.len(), SIZE);
            assert!(message.as_bytes().iter().all(|&b| b == (tag ^ 1) ^ i as u8));
        }
        let writer = sender.join().unwrap();
        let mut ws = reader.reunite(writer).map_err(|_| "reunite").unwrap();
        if tag == 1 {
            ws.close(CloseCode::NORMAL, "").unwrap();
        } else {
            assert!(ws.recv().is_none());
        }
    }
    bounded(60, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            exchange(ws_std::accept(tcp).unwrap(), 0);
        });
        let (ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        exchange(ws, 1);
        server.join().unwrap();
    });
}

#[test]
fn split_reader_answers_pings_while_the_writer_is_idle() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let (ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
            let (mut reader, writer) = ws.split().unwrap();
            let message = reader.recv().unwrap().unwrap();
            assert!(reader.recv().is_none());
            drop(writer);
            message
        });
        let mut raw = raw_accept(&listener);
        write_frame(&mut raw, 0x9, b"p1");
        assert_eq!(read_frame(&mut raw), (0xA, b"p1".to_vec()));
        write_frame(&mut raw, 0x1, b"text");
        write_frame(&mut raw, 0x8, &[0x03, 0xE8]);
        assert_eq!(read_frame(&mut raw).0, 0x8);
        drop(raw);
        assert_eq!(client.join().unwrap(), Message::from("text"));
    });
}

#[test]
fn backpressure_blocks_sends_until_the_peer_reads() {
    bounded(30, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = ws_std::accept(tcp).unwrap();
            std::thread::sleep(Duration::from_millis(300)); // not reading yet
            let mut total = 0;
            while let Some(Ok(message)) = ws.recv() {
                total += message.len();
            }
            total
        });
        let (mut ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        let chunk = vec![7u8; 256 * 1024];
        for _ in 0..64 {
            ws.send(chunk.clone()).unwrap();
            assert!(!ws.connection().is_backpressured());
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(server.join().unwrap(), 64 * 256 * 1024);
    });
}

#[test]
fn connect_to_a_closed_port_is_connection_refused() {
    bounded(20, || {
        let (listener, port) = listener();
        drop(listener);
        match ws_std::connect(&format!("ws://127.0.0.1:{port}/")) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
            other => panic!("expected connection refused, got {other:?}"),
        }
    });
}

#[test]
fn bad_urls_are_url_errors() {
    for url in [
        "http://127.0.0.1/",
        "127.0.0.1:80",
        "ws://",
        "ws://host:notaport/",
        "ws://h/#frag",
    ] {
        assert!(matches!(ws_std::connect(url), Err(Error::Url(_))), "{url}");
    }
}

#[test]
fn unknown_host_is_a_dns_error() {
    bounded(30, || {
        assert!(matches!(
            ws_std::connect("ws://no-such-host.invalid/"),
            Err(Error::Dns(_))
        ));
    });
}

#[cfg(unix)]
#[test]
fn any_blocking_stream_works() {
    use std::os::unix::net::UnixStream;
    use ws_std::NoDeadline;
    bounded(20, || {
        let (a, b) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let mut ws = ws_std::accept(b).unwrap();
            while let Some(Ok(message)) = ws.recv() {
                ws.send(message).unwrap();
            }
            ws.close_frame().map(|f| f.code)
        });
        // A stream without timeouts or shutdown: the server's close and TCP-like shutdown still end it.
        let builder = ClientBuilder::new("ws://localhost/pipe").unwrap();
        let (mut ws, _) = ws_std::client_handshake(NoDeadline(a), &builder).unwrap();
        ws.send("over a unix socket").unwrap();
        assert_eq!(
            ws.recv().unwrap().unwrap(),
            Message::from("over a unix socket")
        );
        ws.close(CloseCode::NORMAL, "").unwrap();
        drop(ws);
        assert_eq!(server.join().unwrap(), Some(CloseCode::NORMAL));
    });
}

#[test]
fn halves_and_connections_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<ws_std::WebSocket<TcpStream>>();
    assert_send::<ws_std::WebSocket<ws_std::MaybeTlsStream>>();
    assert_send::<ws_std::Reader<TcpStream>>();
    assert_send::<ws_std::Writer<TcpStream>>();
}

#[test]
fn a_split_writer_learns_of_the_peers_close_from_its_reader() {
    bounded(20, || {
        let (listener, port) = listener();
        let client = std::thread::spawn(move || {
            let (ws, _) = ws_std::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
            let (mut reader, mut writer) = ws.split().unwrap();
            writer.send("before").unwrap();
            assert_eq!(writer.state(), State::Open);
            assert!(reader.recv().is_none(), "a clean close");
            assert_eq!(reader.close_frame().map(|f| f.code), Some(CloseCode(4001)));
            // The reader answered the close: the writer may send nothing more.
            assert_eq!(writer.state(), State::Closed);
            let err = writer.send("after").unwrap_err();
            assert!(
                matches!(err, Error::Send(ws_std::SendError::Closed)),
                "{err:?}"
            );
            let mut ws = reader.reunite(writer).unwrap();
            assert!(ws.recv().is_none());
            assert_eq!(ws.state(), State::Closed);
            // A connection that is no longer open does not split.
            let err = ws.split().unwrap_err();
            assert!(err.to_string().contains("cannot split"), "{err}");
        });
        let mut raw = raw_accept(&listener);
        assert_eq!(read_frame(&mut raw), (0x1, b"before".to_vec()));
        write_frame(&mut raw, 0x8, &[0x0F, 0xA1]);
        assert_eq!(read_frame(&mut raw), (0x8, vec![0x0F, 0xA1]));
        client.join().unwrap();
    });
}

#[test]
fn a_server_broadcasts_prepared_messages_to_plain_and_split_connections() {
    bounded(30, || {
        let (listener, port) = listener();
        let broadcasts: Vec<PreparedMessage> = (0..50u8)
            .map(|i| match i % 3 {
                0 => PreparedMessage::new(format!("tick {i}")),
                1 => PreparedMessage::new(vec![i; 1000]),
                _ => PreparedMessage::new(vec![i; 20_000]),
            })
            .collect();
        let sent = broadcasts.clone();
        let server = std::thread::spawn(move || {
            let mut plain = ws_std::accept(listener.accept().unwrap().0).unwrap();
            let split = ws_std::accept(listener.accept().unwrap().0).unwrap();
            let (mut reader, mut writer) = split.split().unwrap();
            for prepared in &sent {
                plain.feed(prepared).unwrap();
                writer.feed(prepared.clone()).unwrap();
            }
            plain.flush().unwrap();
            writer.flush().unwrap();
            // Both clients close; each side sees a clean end.
            assert!(plain.recv().is_none());
            assert!(reader.recv().is_none());
        });
        let clients: Vec<_> = (0..2)
            .map(|_| {
                ws_std::connect(&format!("ws://127.0.0.1:{port}/"))
                    .unwrap()
                    .0
            })
            .collect();
        for mut ws in clients {
            for prepared in &broadcasts {
                assert_eq!(&ws.recv().unwrap().unwrap(), prepared.message());
            }
            ws.close(CloseCode::NORMAL, "").unwrap();
            assert!(ws.recv().is_none());
        }
        server.join().unwrap();
    });
}

#[test]
fn url_credentials_reach_the_server_as_basic_authorization() {
    bounded(30, || {
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let tcp = listener.accept().unwrap().0;
            let mut seen = None;
            let _ws = ws_std::accept_with(tcp, Config::default(), |request| {
                seen = request.headers.get_str("authorization").map(str::to_owned);
                Ok(Accept::new())
            })
            .unwrap();
            seen
        });
        let url = format!("ws://alice:p%40ss@127.0.0.1:{port}/");
        let (ws, _) = ws_std::connect(&url).unwrap();
        // base64("alice:p@ss")
        assert_eq!(
            server.join().unwrap().as_deref(),
            Some("Basic YWxpY2U6cEBzcw==")
        );
        drop(ws);
    });
}
