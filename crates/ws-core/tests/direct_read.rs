//! `Connection::receive_direct`: while a large frame arrives, input is read straight into the receive
//! buffer. The bytes are processed exactly as `receive` would; the room offered is bounded.

mod common;

use common::*;
use ws_core::{Config, Connection, Event, Instant, Message};

const BINARY: u8 = 0x82;
const TEXT: u8 = 0x81;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect()
}

/// Delivers `wire` to `conn`: directly whenever the core offers room (each read writing at most `step`
/// bytes), through `receive` otherwise (at most `step` bytes at a time), taking events as a run loop
/// would. Returns how many bytes went in directly, and the events.
fn deliver(conn: &mut Connection, mut wire: &[u8], step: usize) -> (usize, Vec<Event>) {
    let mut direct = 0;
    let mut events = Vec::new();
    while !wire.is_empty() {
        let offered = conn.receive_direct(
            usize::MAX,
            || Instant::ZERO,
            |room| {
                let n = room.len().min(step).min(wire.len());
                room[..n].copy_from_slice(&wire[..n]);
                (n, n)
            },
        );
        let n = match offered {
            Some(n) => {
                direct += n;
                n
            }
            None => {
                let n = step.min(wire.len());
                conn.receive(&wire[..n], Instant::ZERO);
                n
            }
        };
        wire = &wire[n..];
        events.extend(std::iter::from_fn(|| conn.poll_event()));
    }
    (direct, events)
}

/// Whether `receive_direct` would offer room now (it returns `None` without calling `read` otherwise;
/// a read that brings nothing changes nothing).
fn wants_direct_read(conn: &mut Connection) -> bool {
    conn.receive_direct(usize::MAX, || Instant::ZERO, |_| (0, ()))
        .is_some()
}

fn messages_in(events: Vec<Event>) -> Vec<Message> {
    events.into_iter().filter_map(Event::into_message).collect()
}

#[test]
fn large_frames_arrive_mostly_by_direct_reads_and_intact() {
    for step in [1000, 4096, 65_536, 1 << 20] {
        let mut server = open_server(Config::default());
        let big = payload(300_000);
        let text = String::from_utf8(payload(40_000)).unwrap();
        let mut wire = client_frame(BINARY, &big);
        wire.extend(client_frame(TEXT, b"small"));
        wire.extend(client_frame(TEXT, text.as_bytes()));
        let (direct, events) = deliver(&mut server, &wire, step);
        let got = messages_in(events);
        let expected = [
            Message::Binary(big.clone().into()),
            Message::from("small"),
            Message::from(text),
        ];
        assert!(got == expected, "step {step}: messages differ");
        if step < 300_000 {
            assert!(
                direct > 200_000,
                "step {step}: only {direct} bytes read directly"
            );
        }
    }
}

#[test]
fn no_room_is_offered_without_a_large_frame_in_progress() {
    let mut server = open_server(Config::default());
    assert!(!wants_direct_read(&mut server), "no frame in progress");
    assert!(
        server
            .receive_direct(1 << 16, || Instant::ZERO, |_| (0, ()))
            .is_none()
    );
    // A small frame in progress: 1,000 bytes declared, 10 arrived.
    let frame = client_frame(BINARY, &payload(1000));
    server.receive(&frame[..20], Instant::ZERO);
    assert!(
        !wants_direct_read(&mut server),
        "under 16 KiB still to come"
    );
}

#[test]
fn the_room_never_runs_ahead_of_what_the_peer_sent() {
    let mut server = open_server(Config::default());
    // A 16 MiB frame is declared; one byte of it arrives.
    let header = header(BINARY, 16 << 20, Some([1, 2, 3, 4]));
    server.receive(&header, Instant::ZERO);
    server.receive(&[0], Instant::ZERO);
    let room = server
        .receive_direct(usize::MAX, || Instant::ZERO, |room| (0, room.len()))
        .unwrap();
    assert_eq!(
        room,
        16 * 1024,
        "the room is bounded by what arrived (at least 16 KiB)"
    );
    let room = server
        .receive_direct(4096, || Instant::ZERO, |room| (0, room.len()))
        .unwrap();
    assert_eq!(room, 4096, "and by the caller's maximum");
    // Feed 100 KB: the room follows (never more than the frame has brought).
    server.receive(&vec![0; 100_000], Instant::ZERO);
    let room = server
        .receive_direct(usize::MAX, || Instant::ZERO, |room| (0, room.len()))
        .unwrap();
    assert_eq!(room, 100_001);
}

#[test]
fn a_read_that_brings_nothing_changes_nothing() {
    let mut server = open_server(Config::default());
    let big = payload(100_000);
    let wire = client_frame(BINARY, &big);
    server.receive(&wire[..30_000], Instant::ZERO);
    for _ in 0..3 {
        assert_eq!(
            server.receive_direct(1 << 16, || Instant::ZERO, |_| (0, "pending")),
            Some("pending")
        );
        assert!(server.poll_event().is_none());
    }
    let (direct, events) = deliver(&mut server, &wire[30_000..], 1 << 16);
    assert!(direct > 60_000);
    assert!(messages_in(events) == [Message::Binary(big.into())]);
}

#[test]
fn bad_text_read_directly_still_fails_with_1007() {
    let mut server = open_server(Config::default());
    let mut text = payload(50_000);
    text[30_000] = 0xFF; // in the second read, which goes in directly
    let (direct, events) = deliver(&mut server, &client_frame(TEXT, &text), 20_000);
    assert!(direct > 0, "the bad byte came in by a direct read");
    assert!(matches!(
        events.last(),
        Some(Event::Failed(ws_core::Error::InvalidUtf8))
    ));
    let out = take_output(&mut server);
    assert_eq!(parse_frames(&out)[0].close_code(), Some(1007));
}

#[test]
fn the_clock_is_read_once_per_direct_read_that_brought_bytes_and_its_time_is_used() {
    use std::cell::Cell;
    use std::time::Duration;
    use ws_core::Timeouts;

    let close = Duration::from_secs(5);
    let mut server = open_server(Config::default().timeouts(Timeouts::none().close(close)));
    let mut text = payload(100_000);
    text[99_999] = 0xFF; // the last byte, which arrives by a direct read
    let wire = client_frame(TEXT, &text);
    server.receive(&wire[..30_000], Instant::ZERO);

    let later = Instant::ZERO + Duration::from_secs(60);
    let reads_of_the_clock = Cell::new(0);
    let clock = || {
        reads_of_the_clock.set(reads_of_the_clock.get() + 1);
        later
    };
    assert_eq!(server.receive_direct(1 << 20, clock, |_| (0, ())), Some(()));
    assert_eq!(reads_of_the_clock.get(), 0, "a read that brought nothing");

    let mut rest = &wire[30_000..];
    let mut reads = 0;
    while !rest.is_empty() {
        let n = server
            .receive_direct(usize::MAX, clock, |room| {
                let n = room.len().min(rest.len());
                room[..n].copy_from_slice(&rest[..n]);
                (n, n)
            })
            .expect("a direct read applies until the frame is complete");
        rest = &rest[n..];
        reads += 1;
    }
    assert_eq!(reads_of_the_clock.get(), reads, "once per read with bytes");
    let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(matches!(
        events.last(),
        Some(Event::Failed(ws_core::Error::InvalidUtf8))
    ));
    assert_eq!(
        server.next_deadline(),
        Some(later + close),
        "the close timer counts from the time the clock gave"
    );
}
