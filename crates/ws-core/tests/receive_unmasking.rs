//! `Connection::receive` unmasks the payload of a masked data frame while it copies it in (a frame
//! that starts a read, or the rest of one in progress). Whatever the reads, the messages arrive intact,
//! bad text fails with 1007, and a message ahead of a faulty frame is delivered first.

mod common;

use common::*;
use ws_core::{Config, Connection, Error, Event, Instant, Message};

const TEXT: u8 = 0x81;
const BINARY: u8 = 0x82;
const TEXT_FIRST: u8 = 0x01;
const CONTINUATION_FIN: u8 = 0x80;

/// Text with multi-byte characters, so that reads cut characters.
fn text(len: usize) -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        s.push(['a', 'é', '€', '😀', 'z'][i % 5]);
        i += 1;
    }
    s.into_bytes()
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Feeds `wire` in reads of `step` bytes, taking events after each read as a run loop would.
fn deliver(conn: &mut Connection, wire: &[u8], step: usize) -> Vec<Event> {
    let mut events = Vec::new();
    for read in wire.chunks(step) {
        conn.receive(read, Instant::ZERO);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
    }
    events
}

fn messages_in(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .cloned()
        .filter_map(Event::into_message)
        .collect()
}

#[test]
fn large_frames_arrive_intact_whatever_the_reads() {
    for len in [126, 1_000, 4_095, 4_096, 4_097, 70_001] {
        let big_text = text(len);
        let big_binary = binary(len);
        let mut wire = client_frame(TEXT, &big_text);
        wire.extend(client_frame(TEXT, b"small"));
        wire.extend(client_frame(BINARY, &big_binary));
        // A fragmented text message: its large second fragment continues a frame of the message.
        wire.extend(client_frame(TEXT_FIRST, &big_text[..1]));
        wire.extend(client_frame(CONTINUATION_FIN, &big_text[1..]));
        let expected = [
            Message::Text(String::from_utf8(big_text.clone()).unwrap().into()),
            Message::from("small"),
            Message::Binary(big_binary.clone().into()),
            Message::Text(String::from_utf8(big_text.clone()).unwrap().into()),
        ];
        for step in [1, 2, 3, 5, 125, 126, 127, 1_000, 4_096, 65_536, wire.len()] {
            let mut server = open_server(Config::default());
            let events = deliver(&mut server, &wire, step);
            assert_eq!(messages_in(&events), expected, "len {len}, reads of {step}");
            assert!(
                take_output(&mut server).is_empty(),
                "len {len}, reads of {step}"
            );
        }
    }
}

#[test]
fn bad_text_in_a_large_frame_fails_with_1007_whole_or_in_pieces() {
    let mut bad = text(20_000);
    bad[15_000] = 0xFF;
    for step in [1_000, 14_000, 15_010, 30_000] {
        let mut server = open_server(Config::default());
        let events = deliver(&mut server, &client_frame(TEXT, &bad), step);
        assert!(
            matches!(events.last(), Some(Event::Failed(Error::InvalidUtf8))),
            "reads of {step}: {events:?}"
        );
        let out = take_output(&mut server);
        assert_eq!(parse_frames(&out)[0].close_code(), Some(1007));
    }
}

#[test]
fn a_message_ahead_of_a_bad_large_frame_in_one_read_comes_first() {
    let mut bad = text(5_000);
    bad[4_000] = 0xC0;
    let mut wire = client_frame(BINARY, &binary(3_000));
    wire.extend(client_frame(TEXT, &bad));
    let mut server = open_server(Config::default());
    server.receive(&wire, Instant::ZERO);
    let first = server.poll_event();
    assert!(
        matches!(&first, Some(Event::Message(m)) if m.len() == 3_000),
        "{first:?}"
    );
    assert!(matches!(
        server.poll_event(),
        Some(Event::Failed(Error::InvalidUtf8))
    ));
}

#[test]
fn a_large_unmasked_frame_from_a_client_is_still_refused() {
    let mut server = open_server(Config::default());
    let events = deliver(&mut server, &server_frame(BINARY, &binary(1_000)), 2_000);
    assert!(matches!(
        events.last(),
        Some(Event::Failed(Error::Protocol(
            ws_core::ProtocolError::UnmaskedFrame
        )))
    ));
}

#[test]
fn pipelined_large_frames_in_one_read_arrive_intact_and_in_order() {
    // Large frames back to back in one `receive` (the first unmasked as it is copied, the rest in place), then a ping and a
    // small frame between large ones, a fragmented message, and a large frame cut by the read.
    let sizes = [4_096, 65_536, 5_000, 70_001];
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        if i % 2 == 0 {
            wire.extend(client_frame(BINARY, &binary(len)));
            expected.push(Message::Binary(binary(len).into()));
        } else {
            wire.extend(client_frame(TEXT, &text(len)));
            expected.push(Message::Text(String::from_utf8(text(len)).unwrap().into()));
        }
    }
    wire.extend(client_frame(0x89, b"ping"));
    wire.extend(client_frame(BINARY, &binary(9_000)));
    expected.push(Message::Binary(binary(9_000).into()));
    wire.extend(client_frame(TEXT_FIRST, &text(6_000)));
    wire.extend(client_frame(CONTINUATION_FIN, &text(8_000)));
    let mut joined = text(6_000);
    joined.extend(text(8_000));
    expected.push(Message::Text(String::from_utf8(joined).unwrap().into()));
    wire.extend(client_frame(BINARY, &binary(100_000)));
    expected.push(Message::Binary(binary(100_000).into()));
    for step in [wire.len(), wire.len() - 50_000, 200_000, 65_536 + 8, 4_100] {
        let mut server = open_server(Config::default());
        let events = deliver(&mut server, &wire, step);
        assert_eq!(messages_in(&events), expected, "reads of {step}");
        let pings = events
            .iter()
            .filter(|e| matches!(e, Event::Ping(p) if &p[..] == b"ping"));
        assert_eq!(pings.count(), 1, "reads of {step}");
        // The pong, and nothing else.
        let out = take_output(&mut server);
        assert_eq!(parse_frames(&out).len(), 1, "reads of {step}");
    }
}

#[test]
fn a_large_message_ahead_of_a_bad_large_frame_in_one_read_comes_first() {
    let mut bad = text(5_000);
    bad[4_500] = 0xC0;
    let mut wire = client_frame(BINARY, &binary(8_000));
    wire.extend(client_frame(BINARY, &binary(4_096)));
    wire.extend(client_frame(TEXT, &bad));
    wire.extend(client_frame(BINARY, &binary(6_000)));
    let mut server = open_server(Config::default());
    server.receive(&wire, Instant::ZERO);
    let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert_eq!(
        messages_in(&events),
        [
            Message::Binary(binary(8_000).into()),
            Message::Binary(binary(4_096).into())
        ]
    );
    assert!(
        matches!(events.last(), Some(Event::Failed(Error::InvalidUtf8))),
        "{events:?}"
    );
    let out = take_output(&mut server);
    let frames = parse_frames(&out);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1007));
}
