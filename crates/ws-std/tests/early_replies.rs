//! Early replies: a connection that no other connection of the process interrupts writes the first four
//! replies to a read at once, each on its own, then the rest of the read's replies in one write; two
//! connections reading in turn answer each read with one write.
//!
//! The one test of this binary: whether a connection is alone is judged from the reads of every
//! connection in the process, so no other test may read meanwhile.

mod common;

use std::collections::VecDeque;
use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, Mutex};

use common::{bounded, read_frame};
use ws_std::{NoDeadline, WebSocket};
use ws_testkit::raw::{self, BINARY, CLOSE};

/// Every write a connection made, as it was made.
type Writes = Arc<Mutex<Vec<Vec<u8>>>>;
/// A connection to an [`Arrived`] peer.
type Conn = WebSocket<NoDeadline<Arrived>>;

/// A peer that has sent everything already, in chunks (a read takes at most the rest of the current
/// chunk); every write is kept as it was made.
struct Arrived {
    input: VecDeque<Vec<u8>>,
    writes: Writes,
}

impl Read for Arrived {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(chunk) = self.input.front_mut() else {
            return Ok(0);
        };
        let n = buf.len().min(chunk.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        chunk.drain(..n);
        if chunk.is_empty() {
            self.input.pop_front();
        }
        Ok(n)
    }
}

impl Write for Arrived {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.lock().unwrap().push(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A connection accepted from a peer that sends a handshake, then 8 small binary messages in one read
/// (their index as payload), then a close frame; and the writes it will make.
fn accept_burst_of_8() -> (Conn, Writes) {
    let burst = (0..8u32)
        .flat_map(|i| raw::client_frame(true, BINARY, &i.to_be_bytes()))
        .collect();
    let writes = Arc::new(Mutex::new(Vec::new()));
    let stream = NoDeadline(Arrived {
        input: VecDeque::from([
            raw::upgrade_request("/", "").into_bytes(),
            burst,
            raw::client_frame(true, CLOSE, &1000u16.to_be_bytes()),
        ]),
        writes: writes.clone(),
    });
    (ws_std::accept(stream).unwrap(), writes)
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

/// The frames in each write after the 101 response: the echoes' indexes, the close frame as `None`.
fn echoes_per_write(writes: &Mutex<Vec<Vec<u8>>>) -> Vec<Vec<Option<u32>>> {
    let writes = writes.lock().unwrap();
    assert!(writes[0].starts_with(b"HTTP/1.1 101"));
    writes[1..]
        .iter()
        .map(|write| {
            let mut cursor = Cursor::new(write.clone());
            let mut frames = Vec::new();
            while (cursor.position() as usize) < write.len() {
                frames.push(match read_frame(&mut cursor) {
                    (CLOSE, _) => None,
                    (_, payload) => Some(u32::from_be_bytes(payload[..].try_into().unwrap())),
                });
            }
            frames
        })
        .collect()
}

#[test]
fn a_lone_connection_writes_its_first_replies_at_once_and_a_shared_one_does_not() {
    bounded(30, || {
        // Alone: nothing else reads between its handshake read and the read of the 8 messages.
        let (mut ws, writes) = accept_burst_of_8();
        while echo_one(&mut ws) {}
        let per_write = echoes_per_write(&writes);
        eprintln!("lone connection, 8 echoes: {per_write:?}");
        let m = |range: std::ops::Range<u32>| range.map(Some).collect::<Vec<_>>();
        assert_eq!(
            per_write,
            [m(0..1), m(1..2), m(2..3), m(3..4), m(4..8), vec![None]],
            "first four echoes one write each, the other four in one"
        );

        // Two connections whose reads alternate: neither is alone.
        let (mut a, writes_a) = accept_burst_of_8();
        let (mut b, writes_b) = accept_burst_of_8();
        while echo_one(&mut a) | echo_one(&mut b) {}
        for writes in [writes_a, writes_b] {
            let per_write = echoes_per_write(&writes);
            eprintln!("two connections, 8 echoes: {per_write:?}");
            assert_eq!(
                per_write,
                [m(0..8), vec![None]],
                "8 echoes not in one write"
            );
        }
    });
}
