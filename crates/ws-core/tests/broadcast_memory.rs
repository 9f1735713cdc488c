//! What a queued broadcast costs each receiver: a prepared message's frame is shared, so a server
//! connection holding it unwritten pays a reference (long frames) or a copy of a short frame, not a copy
//! of the payload; the same message sent plain costs each connection its whole frame.
//!
//! A binary of its own: it counts the bytes its thread holds live through a counting global allocator.
//! Run with `--nocapture` to see the figures.

use bytes::Buf;
use ws_core::{Accept, Config, Connection, Event, Instant, Message, PreparedMessage};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, thread_live_bytes};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RECEIVERS: usize = 1000;

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// An open server connection with nothing queued.
fn open_server() -> Connection {
    let mut server = Connection::server(Config::default(), Instant::ZERO);
    server.receive(REQUEST.as_bytes(), Instant::ZERO);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new(), Instant::ZERO).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    let mut out = server.output();
    let n = out.remaining();
    out.advance(n);
    server
}

/// Bytes per receiver that `count` broadcasts of `message` hold while queued on every connection (sent
/// prepared or plain), the message itself not counted.
fn queued_bytes_per_receiver(message: &Message, count: usize, prepared: bool) -> f64 {
    let mut servers: Vec<Connection> = (0..RECEIVERS).map(|_| open_server()).collect();
    let messages: Vec<PreparedMessage> = (0..count)
        .map(|_| PreparedMessage::new(message.clone()))
        .collect();
    let before = thread_live_bytes();
    for server in &mut servers {
        for broadcast in &messages {
            if prepared {
                server.send(broadcast).unwrap();
            } else {
                server.send(broadcast.message()).unwrap();
            }
        }
    }
    let held = thread_live_bytes() - before;
    // Written: nothing stays queued. The output buffer (up to 64 KiB) is kept for the next messages:
    // prepared frames of 64 bytes or more are queued by reference and leave none; shorter ones were
    // copied into it, and it stays at the room they took.
    for server in &mut servers {
        let mut out = server.output();
        let n = out.remaining();
        out.advance(n);
    }
    if prepared {
        let left = thread_live_bytes() - before;
        let frame = message.len() + 2;
        let copied = if frame < 64 { count * frame } else { 0 };
        // (The first clone of a frame made from a `Vec` gives it a 24-byte shared header, once.)
        assert!(
            left <= (24 * count + 2 * copied * RECEIVERS) as isize,
            "written output is released: {left} bytes left"
        );
    }
    held as f64 / RECEIVERS as f64
}

#[test]
fn a_queued_broadcast_costs_each_receiver_a_reference_or_a_short_copy() {
    let cases = [
        ("20 B", Message::from("x".repeat(20))),
        ("1 KiB", Message::from(vec![7u8; 1024])),
        ("64 KiB", Message::from(vec![7u8; 64 * 1024])),
    ];
    for (name, message) in &cases {
        for count in [1, 10] {
            let prepared = queued_bytes_per_receiver(message, count, true);
            let plain = queued_bytes_per_receiver(message, count, false);
            eprintln!(
                "{count} x {name} queued: prepared {prepared:.0} B per receiver, plain {plain:.0} B"
            );
            let frame = message.len() + 2;
            if frame < 64 {
                // Copied: the frame's bytes, with the output buffer's growth.
                assert!(prepared <= (2 * count * frame) as f64, "{name}: {prepared}");
            } else {
                // By reference: a 40-byte queue entry each, in a queue that grows by doubling from four
                // entries (a boxed 32-byte header), whatever the size.
                assert!(prepared <= (64 * count + 256) as f64, "{name}: {prepared}");
                if message.len() < 8 * 1024 {
                    // (A plain message's shared payload of 8 KiB or more is queued by reference too.)
                    assert!(
                        plain >= (count * message.len()) as f64,
                        "{name} plain: {plain}"
                    );
                }
            }
        }
    }
}
