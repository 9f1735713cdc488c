//! Early replies: a connection that no other connection of the process interrupts writes the replies to
//! a read at once, each on its own: all of them while its reads bring a few messages (8 or fewer), the
//! first four when the previous read brought more, the rest of the read's replies in one write; two
//! connections reading in turn answer each read with one write.
//!
//! The one test of this binary: whether a connection is alone is judged from the reads of every
//! connection in the process, so no other test may read meanwhile.

mod common;

use common::bounded;
use ws_std::{NoDeadline, WebSocket};
use ws_testkit::scripted::Written::{EachAlone, Together};
use ws_testkit::scripted::{
    Arrived, Writes, echoes_per_write, expected_writes, handshake_then_small_burst,
    handshake_then_small_bursts,
};

/// A connection to an [`Arrived`] peer.
type Conn = WebSocket<NoDeadline<Arrived>>;

/// A connection accepted from a peer that sends a handshake, then 8 small binary messages in one read
/// (their index as payload), then a close frame; and the writes it will make.
fn accept_burst_of_8() -> (Conn, Writes) {
    let (peer, writes) = Arrived::new(handshake_then_small_burst(8), false);
    (ws_std::accept(NoDeadline(peer)).unwrap(), writes)
}

/// Echoes one message (queued with `feed`, written by the next `recv`); false at the end.
fn echo_one(ws: &mut Conn) -> bool {
    match ws.recv() {
        Some(message) => {
            ws.feed(message.unwrap()).unwrap();
            true
        }
        None => false,
    }
}

#[test]
fn a_lone_connection_writes_its_first_replies_at_once_and_a_shared_one_does_not() {
    bounded(30, || {
        // Alone: nothing else reads between its handshake read and the read of the 8 messages.
        let (mut ws, writes) = accept_burst_of_8();
        while echo_one(&mut ws) {}
        let per_write = echoes_per_write(&writes);
        eprintln!("lone connection, 8 echoes: {per_write:?}");
        assert_eq!(
            per_write,
            expected_writes(&[EachAlone(0..8)]),
            "each of the 8 echoes not in a write of its own"
        );

        // Reads of 32 messages: the first read's first 8 replies go out at once, the second read's
        // first 4 (its previous read brought more than 8), the rest of each read in one write.
        let (peer, writes) = Arrived::new(handshake_then_small_bursts(&[32, 32]), false);
        let mut ws: Conn = ws_std::accept(NoDeadline(peer)).unwrap();
        while echo_one(&mut ws) {}
        let per_write = echoes_per_write(&writes);
        eprintln!("lone connection, 2 reads of 32: {per_write:?}");
        let expected = [
            EachAlone(0..8),
            Together(8..32),
            EachAlone(32..36),
            Together(36..64),
        ];
        assert_eq!(per_write, expected_writes(&expected));

        // Two connections whose reads alternate: neither is alone.
        let (mut a, writes_a) = accept_burst_of_8();
        let (mut b, writes_b) = accept_burst_of_8();
        while echo_one(&mut a) | echo_one(&mut b) {}
        for writes in [writes_a, writes_b] {
            let per_write = echoes_per_write(&writes);
            eprintln!("two connections, 8 echoes: {per_write:?}");
            assert_eq!(
                per_write,
                expected_writes(&[Together(0..8)]),
                "8 echoes not in one write"
            );
        }
    });
}
