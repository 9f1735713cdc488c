//! An idle connection holds no buffers it does not need: once the application has taken its events and
//! the output is written, both ends hold no more bytes than right after the handshake, except receive
//! buffers of 4-64 KiB and send buffers of up to 64 KiB, kept for the next message.
//!
//! A binary of its own: it counts the bytes its thread holds live through a counting global allocator (the
//! test harness's main thread allocates while the test runs, at moments that vary from run to run).

use bytes::Buf;
use ws_core::{Accept, ClientRequest, Config, Connection, Event, Instant, Message};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, thread_live_bytes};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Moves everything `from` has queued (every run of it) to `to`, in reads of at most `chunk` bytes.
fn shuttle(from: &mut Connection, to: &mut Connection, chunk: usize) {
    let mut out = Vec::new();
    let mut output = from.output();
    while output.has_remaining() {
        let n = output.chunk().len();
        out.extend_from_slice(output.chunk());
        output.advance(n);
    }
    for piece in out.chunks(chunk) {
        to.receive(piece, Instant::ZERO);
    }
}

/// Takes every event; the messages among them.
fn messages(conn: &mut Connection) -> Vec<Message> {
    std::iter::from_fn(|| conn.poll_event())
        .filter_map(Event::into_message)
        .collect()
}

#[test]
fn an_idle_connection_holds_only_mid_sized_buffers_after_traffic() {
    let config = Config::default();
    let request = ClientRequest::new("example.com", "/chat");
    let mut client = Connection::client(&request, config.clone(), [7; 32], Instant::ZERO);
    let mut server = Connection::server(config, Instant::ZERO);
    shuttle(&mut client, &mut server, usize::MAX);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new(), Instant::ZERO).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    shuttle(&mut server, &mut client, usize::MAX);
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    let big = vec![0x5a; 200_000];
    let idle = thread_live_bytes();

    // (message size, read size, bytes both ends may hold afterwards): receive buffers between 4 and
    // 64 KiB are kept for the next message (a connection streaming such messages would otherwise regrow
    // a buffer for every one), smaller and larger ones are released; send buffers up to 64 KiB are kept
    // (the few hundred bytes the small frames of a round took), larger ones released.
    // The mid-sized round comes last: the buffers it leaves are kept for good (until a message
    // outgrows them), which is the point, but would hide whether the other rounds release theirs.
    let rounds = [
        (20, usize::MAX, 1024),
        (big.len(), 4096, 1024),
        (big.len(), 1 << 20, 1024),
        (20, 7, 1024),
        (1024, 100, 4 * (64 << 10)),
    ];
    for (size, chunk, bound) in rounds {
        for _ in 0..3 {
            client.send(&Message::from(big[..size].to_vec())).unwrap();
            client.send(&Message::from("hello")).unwrap();
            client.ping(b"p").unwrap();
        }
        shuttle(&mut client, &mut server, chunk);
        let received = messages(&mut server);
        assert_eq!(received.len(), 6);
        for message in &received {
            server.send(message).unwrap();
        }
        drop(received);
        shuttle(&mut server, &mut client, chunk);
        assert_eq!(messages(&mut client).len(), 6);
        assert!(!client.output().has_remaining() && !server.output().has_remaining());
        let held = thread_live_bytes() - idle;
        assert!(
            held <= bound,
            "{held} more bytes held after echoing {size}-byte messages (bound {bound})"
        );
    }
}
