//! The connection's lifecycle as the run loop sees it: the output as a `bytes::Buf` (shared payloads
//! handed out without a copy, vectored writes), the one read predicate (`read_interest`), how the
//! connection ended (`outcome`), the lingering close after a failure, and the close time a `Sender`
//! passes on to its connection.

mod common;

use std::io::IoSlice;

use bytes::{Buf, Bytes};
use common::*;
use ws_core::http::Response;
use ws_core::{
    CloseCode, Config, Connection, Error, Event, Instant, Limits, Message, Outcome, ProtocolError,
    ReadInterest, Timeouts,
};

/// A 64 KiB payload, shared: a server queues it by reference.
fn large_payload() -> Bytes {
    Bytes::from(vec![0x5a; 64 * 1024])
}

/// An open server (no timers) with a large shared payload and a small frame queued behind it.
fn server_with_large_and_small(data: &Bytes) -> Connection {
    let mut server = open_server(quiet_config());
    server.send(&Message::from(data.clone())).unwrap();
    server.send(&Message::from("small")).unwrap();
    server.ping(b"ping").unwrap();
    server
}

/// A server whose connection failed on a frame with a reserved opcode (0x3): close frame written,
/// write side shut, terminal event taken.
fn failed_server(config: Config) -> Connection {
    let mut server = open_server(config);
    server.receive(&client_frame(0x83, b""), Instant::ZERO);
    let events = drain(&mut server);
    assert!(matches!(
        single_terminal(&events),
        Event::Failed(Error::Protocol(_))
    ));
    let out = take_output(&mut server);
    assert_eq!(parse_frames(&out)[0].close_code(), Some(1002));
    assert!(server.poll_shutdown());
    server
}

// ----- the output as a `Buf` -----

#[test]
fn copy_to_bytes_hands_out_a_shared_payload_without_a_copy() {
    let data = large_payload();
    let expected = take_output(&mut server_with_large_and_small(&data));

    let mut server = server_with_large_and_small(&data);
    let mut out = server.output();
    assert_eq!(out.remaining(), expected.len());
    // First run: the frame header (copied).
    let header_len = out.chunk().len();
    assert!(header_len < 16, "a header alone: {header_len} bytes");
    let header = out.copy_to_bytes(header_len);
    // Second run: the payload, by reference.
    assert_eq!(out.chunk().len(), data.len());
    let payload = out.copy_to_bytes(data.len());
    assert_eq!(
        payload.as_ptr(),
        data.as_ptr(),
        "the payload is the message's own bytes"
    );
    assert_eq!(payload, data);
    // The rest: the small text frame and the ping, copied into one run.
    let rest_len = out.remaining();
    assert_eq!(out.chunk().len(), rest_len, "small frames are one run");
    let rest = out.copy_to_bytes(rest_len);
    assert!(!out.has_remaining());
    assert_eq!(out.remaining(), 0);

    let mut wire = header.to_vec();
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(&rest);
    assert_eq!(wire, expected, "the same bytes as the chunk/advance drain");
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 3);
    assert_eq!(
        (frames[0].opcode, frames[0].payload.len()),
        (OP_BINARY, data.len())
    );
    assert_eq!(
        (frames[1].opcode, &frames[1].payload[..]),
        (OP_TEXT, &b"small"[..])
    );
    assert_eq!(
        (frames[2].opcode, &frames[2].payload[..]),
        (OP_PING, &b"ping"[..])
    );
}

#[test]
fn copy_to_bytes_of_everything_matches_the_chunk_drain() {
    let data = large_payload();
    let expected = take_output(&mut server_with_large_and_small(&data));
    let mut server = server_with_large_and_small(&data);
    let mut out = server.output();
    let all = out.copy_to_bytes(out.remaining());
    assert_eq!(&all[..], &expected[..]);
    assert!(!server.output().has_remaining());

    // Small frames only: copied, identical to the drain.
    let small = |server: &mut Connection| {
        server.send(&Message::from("one")).unwrap();
        server.send(&Message::from(vec![7u8; 300])).unwrap();
        server.ping(b"p").unwrap();
    };
    let mut a = open_server(quiet_config());
    let mut b = open_server(quiet_config());
    small(&mut a);
    small(&mut b);
    let expected = take_output(&mut a);
    let mut out = b.output();
    assert_eq!(out.chunk().len(), out.remaining(), "one run");
    let copied = out.copy_to_bytes(out.remaining());
    assert_eq!(&copied[..], &expected[..]);
    assert!(!b.output().has_remaining());
}

#[test]
fn chunks_vectored_lists_header_and_shared_payload_and_advance_crosses_them() {
    let data = large_payload();
    let expected = take_output(&mut server_with_large_and_small(&data));
    let mut server = server_with_large_and_small(&data);
    let mut out = server.output();
    let header_len = {
        let mut dst = [IoSlice::new(&[]); 8];
        let n = out.chunks_vectored(&mut dst);
        assert!(n >= 2, "header and payload are separate slices: {n}");
        assert_eq!(n, 3, "header, shared payload, the small frames");
        assert_eq!(
            dst[1].as_ptr(),
            data.as_ptr(),
            "the payload slice is shared"
        );
        assert_eq!(dst[1].len(), data.len());
        let listed: Vec<u8> = dst[..n].iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(listed, expected);
        // A short list is filled, not overrun.
        let mut two = [IoSlice::new(&[]); 2];
        assert_eq!(out.chunks_vectored(&mut two), 2);
        assert_eq!(two[1].as_ptr(), data.as_ptr());
        dst[0].len()
    };
    // A vectored write that stops 100 bytes into the payload.
    out.advance(header_len + 100);
    assert_eq!(out.remaining(), expected.len() - header_len - 100);
    assert_eq!(out.chunk().as_ptr(), data[100..].as_ptr());
    assert_eq!(out.chunk().len(), data.len() - 100);
    // The next one ends 3 bytes into the small frames.
    out.advance(data.len() - 100 + 3);
    let mut dst = [IoSlice::new(&[]); 8];
    let n = out.chunks_vectored(&mut dst);
    assert_eq!(n, 1);
    assert_eq!(&dst[0][..], &expected[header_len + data.len() + 3..]);
    let left = out.remaining();
    out.advance(left);
    assert!(!out.has_remaining());
    let mut dst = [IoSlice::new(&[]); 8];
    assert_eq!(
        out.chunks_vectored(&mut dst),
        0,
        "nothing listed once written"
    );
}

// ----- read_interest -----

#[test]
fn read_interest_follows_events_backpressure_and_eof() {
    let config = quiet_config().limits(Limits::default().max_queued_output(1000));
    let mut server = open_server(config);
    assert_eq!(server.read_interest(), ReadInterest::Read);

    // An event waits: no input until it is taken.
    server.receive(&client_frame(0x81, b"hello"), Instant::ZERO);
    assert_eq!(server.read_interest(), ReadInterest::None);
    assert_eq!(
        server.poll_event(),
        Some(Event::Message(Message::from("hello")))
    );
    assert_eq!(server.read_interest(), ReadInterest::Read);

    // Output above `max_queued_output`: read only while a send waits.
    server.send(&Message::from(vec![1u8; 2000])).unwrap();
    assert!(server.is_backpressured());
    assert_eq!(server.read_interest(), ReadInterest::WhileSending);
    // An event waiting counts first.
    server.receive(&client_frame(0x89, b"p"), Instant::ZERO);
    assert_eq!(server.read_interest(), ReadInterest::None);
    assert!(matches!(server.poll_event(), Some(Event::Ping(_))));
    assert_eq!(server.read_interest(), ReadInterest::WhileSending);
    // Written: read again.
    take_output(&mut server);
    assert!(!server.is_backpressured());
    assert_eq!(server.read_interest(), ReadInterest::Read);

    // The peer's end of stream: nothing more to read, before and after the failure is taken.
    server.receive_eof(Instant::ZERO);
    assert_eq!(server.read_interest(), ReadInterest::None);
    assert_eq!(
        server.poll_event(),
        Some(Event::Failed(Error::UnexpectedEof))
    );
    assert_eq!(server.read_interest(), ReadInterest::None);
}

// ----- outcome -----

#[test]
fn outcome_after_a_clean_close_keeps_the_peers_frame() {
    let mut pair = Pair::open();
    assert_eq!(pair.client.outcome(), None);
    assert_eq!(pair.server.outcome(), None);
    pair.client
        .close(CloseCode::GOING_AWAY, "bye", pair.now)
        .unwrap();
    pair.pump_with_eof();
    let server_events = pair.server_events();
    let client_events = pair.client_events();
    assert!(matches!(
        single_terminal(&server_events),
        Event::Closed(Some(_))
    ));
    assert!(matches!(
        single_terminal(&client_events),
        Event::Closed(Some(_))
    ));
    match pair.server.outcome() {
        Some(Outcome::Closed(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::GOING_AWAY);
            assert_eq!(&frame.reason[..], "bye");
        }
        other => panic!("server outcome: {other:?}"),
    }
    // The client's is the server's echo of its frame.
    match pair.client.outcome() {
        Some(Outcome::Closed(Some(frame))) => assert_eq!(frame.code, CloseCode::GOING_AWAY),
        other => panic!("client outcome: {other:?}"),
    }
    assert!(pair.server.outcome().unwrap().is_clean());
    assert!(pair.client.is_finished() && pair.server.is_finished());
}

#[test]
fn outcome_after_a_peer_fault_keeps_the_error_and_the_close_code_sent() {
    let mut server = open_server(quiet_config());
    server.receive(&client_frame(0x83, b""), Instant::ZERO);
    // Kept from the moment the connection ended, before the terminal event is polled.
    let outcome = server.outcome().cloned();
    let events = drain(&mut server);
    let Event::Failed(error) = single_terminal(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(*error, Error::Protocol(ProtocolError::ReservedOpcode(3)));
    match &outcome {
        Some(Outcome::Failed {
            error: kept,
            close_code,
        }) => {
            assert_eq!(kept, error);
            assert_eq!(*close_code, Some(CloseCode(1002)));
        }
        other => panic!("outcome: {other:?}"),
    }
    assert!(!outcome.unwrap().is_clean());
    let out = take_output(&mut server);
    assert_eq!(parse_frames(&out)[0].close_code(), Some(1002));
}

#[test]
fn outcome_after_a_failure_that_sends_no_close_frame_has_no_code() {
    let mut server = open_server(quiet_config());
    server.receive_eof(Instant::ZERO);
    assert_eq!(
        server.poll_event(),
        Some(Event::Failed(Error::UnexpectedEof))
    );
    assert_eq!(
        server.outcome(),
        Some(&Outcome::Failed {
            error: Error::UnexpectedEof,
            close_code: None
        })
    );
}

#[test]
fn outcome_after_reject_keeps_the_response() {
    let mut server = Connection::server(quiet_config(), Instant::ZERO);
    server.receive(REQUEST.as_bytes(), Instant::ZERO);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    assert_eq!(server.outcome(), None);
    server
        .reject(Response::new(403, "Forbidden"), Instant::ZERO)
        .unwrap();
    let events = drain(&mut server);
    assert!(matches!(single_terminal(&events), Event::Rejected(_)));
    match server.outcome() {
        Some(Outcome::Rejected(response)) => assert_eq!(response.status, 403),
        other => panic!("outcome: {other:?}"),
    }
    let out = take_output(&mut server);
    let (head, _) = split_head(&out);
    assert_eq!(status_of(head), 403);
}

// ----- the lingering close -----

#[test]
fn after_a_failure_input_is_read_and_discarded_until_the_peers_eof() {
    let mut server = failed_server(Config::default());
    assert!(!server.is_finished(), "the peer may still be writing");
    assert_eq!(server.read_interest(), ReadInterest::Read);
    for _ in 0..10 {
        server.receive(&client_frame(0x81, b"still talking"), at(secs(1)));
        server.receive(&client_frame(0x89, b"ping"), at(secs(1)));
    }
    assert!(server.poll_event().is_none(), "discarded");
    assert!(!server.output().has_remaining(), "no pong, no second close");
    assert_eq!(server.read_interest(), ReadInterest::Read);
    assert!(!server.is_finished());
    server.receive_eof(at(secs(2)));
    assert!(server.is_finished());
    assert_eq!(server.read_interest(), ReadInterest::None);
    assert!(server.poll_event().is_none());
}

#[test]
fn the_lingering_ends_after_a_mebibyte_of_discarded_input() {
    let mut server = failed_server(Config::default());
    let junk = vec![0xab; 64 * 1024];
    for _ in 0..16 {
        server.receive(&junk, Instant::ZERO);
        assert!(!server.is_finished(), "up to 1 MiB is read");
        assert_eq!(server.read_interest(), ReadInterest::Read);
    }
    server.receive(&[0xab], Instant::ZERO);
    assert!(server.is_finished(), "more than 1 MiB: given up");
    assert_eq!(server.read_interest(), ReadInterest::None);
    assert!(server.poll_event().is_none());
    assert!(!server.output().has_remaining());
}

#[test]
fn the_lingering_ends_when_the_close_timeout_passes() {
    let config = Config::default().timeouts(Timeouts::none().close(secs(3)));
    let mut server = failed_server(config);
    assert_eq!(server.next_deadline(), Some(at(secs(3))));
    server.handle_time(at(ms(2999)));
    assert!(!server.is_finished());
    assert_eq!(server.read_interest(), ReadInterest::Read);
    server.handle_time(at(secs(3)));
    assert!(server.is_finished(), "no EOF came within the close timeout");
    assert_eq!(server.read_interest(), ReadInterest::None);
    assert!(server.poll_event().is_none());
    assert_eq!(server.next_deadline(), None);
}

// ----- a sender's close time -----

#[test]
fn the_senders_close_starts_the_connections_close_timer_at_its_next_step() {
    let server_config = Config::default();
    let close = server_config.timeouts.close.unwrap();
    let mut pair = Pair::open_with(quiet_config(), server_config);
    let mut sender = pair.server.split_sender().unwrap();
    let t = at(secs(5));
    sender.close(CloseCode::NORMAL, "").unwrap();
    pair.server.handle_time(t);
    assert_eq!(
        pair.server.next_deadline(),
        Some(t + close),
        "the close timer counts from the step at which the connection learns of the sender's close \
         (and the keepalive stopped)"
    );
    pair.server.hand_output_to(&mut sender);
    let frames = parse_frames(&drain_output(&mut sender.output()));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1000));
    // The timer runs out without the peer's answer: the connection fails then, not later.
    pair.server.handle_time(t + (close - ms(1)));
    assert!(drain(&mut pair.server).is_empty());
    pair.server.handle_time(t + close);
    let events = drain(&mut pair.server);
    assert!(matches!(
        single_terminal(&events),
        Event::Failed(Error::Timeout(ws_core::Timeout::Close))
    ));
}
