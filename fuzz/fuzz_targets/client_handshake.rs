//! Arbitrary bytes as the server's answer to `Connection::client` (subprotocols offered, permessage-deflate
//! offered, small limits, fixed random seed so the expected Sec-WebSocket-Accept is fixed).
//!
//! The input is fed twice, whole and cut into small pieces, and both runs must emit the same events. The
//! first event is Open, Rejected or Failed; Open only with a 101 carrying the right accept key and an
//! offered subprotocol; Rejected only with a non-101 status and a body within the limits; at most one
//! terminal event, exactly one after EOF; the client writes nothing but its request and frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_core::http::key::accept_key;
use ws_core::{ClientRequest, Config, Connection, Error, Event, Instant, Limits, State};
use ws_fuzz::handshake::key_of;
use ws_fuzz::wire::parse_valid_frames;
use ws_fuzz::{fnv, same_events};

const LIMITS: Limits = ws_fuzz::HANDSHAKE_LIMITS;

fn run(data: &[u8], chunk: usize) -> (Vec<Event>, Vec<u8>, Vec<u8>) {
    let config = Config::default().limits(LIMITS).with_deflate();
    let request = ClientRequest::new("server.example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut client = Connection::client(&request, config, [7; 32], Instant::ZERO);
    let head = ws_fuzz::take_output(&mut client);
    let mut events = Vec::new();
    let mut output = Vec::new();
    let take = |client: &mut Connection, events: &mut Vec<Event>| {
        while let Some(event) = client.poll_event() {
            assert!(
                !events.iter().any(Event::is_terminal),
                "an event after the terminal one: {event:?}"
            );
            events.push(event);
        }
    };
    for piece in data.chunks(chunk.max(1)) {
        client.receive(piece, Instant::ZERO);
        take(&mut client, &mut events);
        output.extend(ws_fuzz::take_output(&mut client));
    }
    client.receive_eof(Instant::ZERO);
    take(&mut client, &mut events);
    output.extend(ws_fuzz::take_output(&mut client));
    assert_eq!(client.state(), State::Closed);
    (events, head, output)
}

fuzz_target!(|data: &[u8]| {
    let (events, request, output) = run(data, usize::MAX);
    let chunk = 1 + (fnv(data) % 23) as usize;
    let (chunked_events, _, chunked_output) = run(data, chunk);
    assert!(
        same_events(&events, &chunked_events),
        "events depend on how the input was cut ({chunk}):\n{events:?}\n{chunked_events:?}"
    );
    if events == chunked_events {
        assert_eq!(output.len(), chunked_output.len());
    }

    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1);
    // After the request, only frames (pongs, a close), never more than the input can cause.
    let frames = parse_valid_frames(&output);
    assert!(
        frames
            .iter()
            .all(|f| f.masked && matches!(f.opcode, 0x8 | 0xA))
    );
    assert!(output.len() <= 3 * data.len() + 131);
    let head_end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    match events.first() {
        Some(Event::Open(opened)) => {
            let head_end = head_end.expect("Open without a whole head");
            assert!(head_end <= LIMITS.max_head_bytes);
            let head = &data[..head_end];
            // "HTTP/1.1 101" and optional reason phrase (the head may start with empty lines).
            let line = head.trim_ascii_start();
            let status = line.split(|&b| b == b' ').nth(1).expect("a status");
            assert_eq!(
                &status[..status.len().min(3)],
                b"101",
                "Open on a non-101 status"
            );
            assert!(status.get(3).is_none_or(|b| b"\r\n".contains(b)));
            let accept = accept_key(key_of(&request).as_bytes());
            assert!(
                head.windows(accept.len()).any(|w| w == accept.as_bytes()),
                "Open without the right Sec-WebSocket-Accept"
            );
            assert!(matches!(
                opened.subprotocol.as_deref(),
                None | Some("chat" | "superchat")
            ));
            if let Some(ext) = &opened.extensions {
                assert!(ext.to_ascii_lowercase().contains("permessage-deflate"));
            }
            assert!(frames.is_empty() || events.len() > 1);
        }
        Some(Event::Rejected(response)) => {
            assert_eq!(events.len(), 1);
            assert!(frames.is_empty());
            assert_ne!(response.status, 101);
            let head_end = head_end.expect("Rejected without a whole head");
            assert!(head_end <= LIMITS.max_head_bytes);
            assert!(response.body.len() <= LIMITS.max_head_bytes);
            assert!(
                data[head_end..].starts_with(&response.body),
                "the body is what followed the head"
            );
        }
        Some(Event::Failed(error)) => {
            assert_eq!(events.len(), 1);
            assert!(frames.is_empty());
            assert!(
                matches!(
                    error,
                    Error::Handshake(_) | Error::LimitExceeded(_) | Error::UnexpectedEof
                ),
                "{error:?}"
            );
        }
        other => panic!("unexpected first event {other:?}"),
    }
});
