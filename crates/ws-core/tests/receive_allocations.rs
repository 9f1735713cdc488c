//! What receiving a small message allocates: a whole small data frame at the start of a read is
//! delivered with one allocation, its payload's (copying it into the receive buffer and splitting it
//! off took two: the buffer, and the shared header the split makes).
//!
//! A binary of its own: it counts the allocations its thread makes through a counting global allocator.

mod common;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use common::*;
use counting_alloc::{Counting, thread_allocations};
use ws_core::{Config, Event, Instant, Message};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made while `f` runs.
fn allocations(f: impl FnOnce()) -> usize {
    let before = thread_allocations();
    f();
    thread_allocations() - before
}

#[test]
fn a_small_message_in_a_read_of_its_own_costs_one_allocation() {
    let mut server = open_server(Config::default());
    for (frame, expected) in [
        (
            client_frame(0x82, &[7; 20]),
            Message::Binary(vec![7; 20].into()),
        ),
        (
            client_frame(0x81, "héllo".as_bytes()),
            Message::from("héllo"),
        ),
        (
            client_frame(0x82, &[9; 1024]),
            Message::Binary(vec![9; 1024].into()),
        ),
        (client_frame(0x82, &[]), Message::Binary(Vec::new().into())),
    ] {
        let mut event = None;
        let n = allocations(|| {
            server.receive(&frame, Instant::ZERO);
            event = server.poll_event();
        });
        assert_eq!(event, Some(Event::Message(expected)));
        assert!(n <= 1, "{n} allocations for a {}-byte frame", frame.len());
    }
}

#[test]
fn small_messages_read_together_arrive_in_order_one_event_per_poll() {
    let mut server = open_server(Config::default());
    let mut read = client_frame(0x82, b"one");
    read.extend(client_frame(0x81, b"two"));
    read.extend(client_frame(0x89, b"ping"));
    read.extend(client_frame(0x82, &[3; 300]));
    read.extend(&client_frame(0x82, b"cut")[..4]);
    server.receive(&read, Instant::ZERO);
    let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert_eq!(
        events,
        [
            Event::Message(Message::Binary(b"one".to_vec().into())),
            Event::Message(Message::from("two")),
            Event::Ping(b"ping".to_vec().into()),
            Event::Message(Message::Binary(vec![3; 300].into())),
        ]
    );
    server.receive(&client_frame(0x82, b"cut")[4..], Instant::ZERO);
    assert_eq!(
        server.poll_event(),
        Some(Event::Message(Message::Binary(b"cut".to_vec().into())))
    );
}

#[test]
fn bad_text_in_a_small_message_fails_with_1007() {
    let mut server = open_server(Config::default());
    let mut read = client_frame(0x81, &[b'a', 0xFF, b'b']);
    read.extend(client_frame(0x82, b"never"));
    server.receive(&read, Instant::ZERO);
    assert!(matches!(
        server.poll_event(),
        Some(Event::Failed(ws_core::Error::InvalidUtf8))
    ));
    assert_eq!(server.poll_event(), None);
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1007));
}
