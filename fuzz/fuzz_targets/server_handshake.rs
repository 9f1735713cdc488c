//! Arbitrary bytes as an upgrade request into `Connection::server` (small limits, permessage-deflate on).
//!
//! The input is fed twice, whole and cut into small pieces, and both runs must emit the same events. A
//! request that is answered is accepted (with the client's first subprotocol when it is a valid token) and
//! the 101 must carry the right Sec-WebSocket-Accept; a request that fails must be answered with 400, 426 or
//! 431 and nothing else; at most one terminal event, exactly one after EOF; output bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_core::http::key::accept_key;
use ws_core::{Accept, Config, Connection, Error, Event, Instant, Limits, SendError, State};
use ws_fuzz::{fnv, same_events};

const LIMITS: Limits = ws_fuzz::HANDSHAKE_LIMITS;

fn run(data: &[u8], chunk: usize) -> (Vec<Event>, Vec<u8>) {
    let config = Config::default().limits(LIMITS).with_deflate();
    let mut server = Connection::server(config, Instant::ZERO);
    let mut events = Vec::new();
    let mut output = Vec::new();
    let take = |server: &mut Connection, events: &mut Vec<Event>| {
        while let Some(event) = server.poll_event() {
            assert!(
                !events.iter().any(Event::is_terminal),
                "an event after the terminal one: {event:?}"
            );
            if let Event::Request(req) = &event {
                let choice = req.subprotocols.first().cloned();
                let accept = match choice {
                    Some(p) => Accept::new().subprotocol(p),
                    None => Accept::new(),
                };
                events.push(event.clone());
                match server.accept(accept, Instant::ZERO) {
                    Ok(()) => {}
                    Err(SendError::InvalidHeader) => {
                        server.accept(Accept::new(), Instant::ZERO).unwrap()
                    }
                    Err(e) => panic!("accept failed: {e:?}"),
                }
                continue;
            }
            events.push(event);
        }
    };
    for piece in data.chunks(chunk.max(1)) {
        server.receive(piece, Instant::ZERO);
        take(&mut server, &mut events);
        output.extend(ws_fuzz::take_output(&mut server));
    }
    server.receive_eof(Instant::ZERO);
    take(&mut server, &mut events);
    output.extend(ws_fuzz::take_output(&mut server));
    assert_eq!(server.state(), State::Closed);
    (events, output)
}

fuzz_target!(|data: &[u8]| {
    let (events, output) = run(data, usize::MAX);
    let chunk = 1 + (fnv(data) % 23) as usize;
    let (chunked_events, chunked_output) = run(data, chunk);
    assert!(
        same_events(&events, &chunked_events),
        "events depend on how the input was cut ({chunk}):\n{events:?}\n{chunked_events:?}"
    );
    // Masks are not involved (the server does not mask), so the bytes are the same too, but for the
    // reason of a close frame (see `same_events`).
    if events == chunked_events {
        assert_eq!(output, chunked_output);
    }

    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1);
    assert!(
        output.len() <= 2048 + data.len(),
        "{} bytes of output",
        output.len()
    );
    let text = String::from_utf8_lossy(&output);
    match events.first() {
        Some(Event::Request(req)) => {
            // Empty lines before the request line are ignored (RFC 7230 section 3.5, as httparse does).
            let line = data.trim_ascii_start();
            assert!(line.starts_with(b"GET "));
            let head_end = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            assert!(head_end <= LIMITS.max_head_bytes);
            assert!(req.resource.as_bytes() == &line[4..4 + req.resource.len()]);
            assert_eq!(req.headers.get_all("host").count(), 1);
            let key = req.headers.get("sec-websocket-key").unwrap().trim_ascii();
            assert!(
                text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
                "{text}"
            );
            let accept = format!("\r\nSec-WebSocket-Accept: {}\r\n", accept_key(key));
            assert!(text.contains(&accept), "{text}");
            let Some(Event::Open(opened)) = events.get(1) else {
                panic!("accept must open: {events:?}")
            };
            if let Some(ext) = &opened.extensions {
                assert!(ext.starts_with("permessage-deflate"));
                assert!(text.contains(&format!("\r\nSec-WebSocket-Extensions: {ext}\r\n")));
            }
            if let Some(p) = &opened.subprotocol {
                assert!(req.offers_subprotocol(p));
            }
        }
        Some(Event::Failed(error)) => {
            assert_eq!(events.len(), 1);
            let status = match error {
                Error::LimitExceeded(_) => 431,
                Error::Handshake(e) => e.http_status(),
                Error::UnexpectedEof => 400,
                other => panic!("unexpected failure {other:?}"),
            };
            assert!([400, 426, 431].contains(&status));
            assert!(
                text.starts_with(&format!("HTTP/1.1 {status} ")),
                "{error:?} answered with {text}"
            );
            let head_end = text.find("\r\n\r\n").expect("a whole response head") + 4;
            let body_len: usize = text
                .split("\r\n")
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .expect("Content-Length")
                .parse()
                .unwrap();
            assert_eq!(
                output.len(),
                head_end + body_len,
                "nothing after the error response"
            );
        }
        other => panic!("unexpected first event {other:?}"),
    }
});
