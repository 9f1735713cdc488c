//! What answering small messages allocates: nothing, once the first reply was written. The send buffer
//! an emptied queue keeps (up to 64 KiB) takes the next replies; releasing it after each write cost an
//! allocation and a free per reply.
//!
//! A binary of its own: it counts the allocations its thread makes through a counting global allocator.

mod common;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use bytes::Buf;
use common::*;
use counting_alloc::{Counting, thread_allocations};
use ws_core::{Config, Message};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made while `f` runs.
fn allocations(f: impl FnOnce()) -> usize {
    let before = thread_allocations();
    f();
    thread_allocations() - before
}

#[test]
fn replies_after_the_first_reuse_the_send_buffer() {
    let mut server = open_server(Config::default());
    for reply in [
        Message::Binary(vec![7; 20].into()),
        Message::from("héllo"),
        Message::Binary(vec![9; 1024].into()),
    ] {
        for round in 0..3 {
            let n = allocations(|| {
                server.send(&reply).unwrap();
                let mut out = server.output();
                let written = out.remaining();
                out.advance(written);
            });
            // The first reply of each size may grow the buffer; the next ones fit in it.
            if round > 0 {
                assert_eq!(
                    n,
                    0,
                    "round {round}: {n} allocations for a {}-byte reply",
                    reply.len()
                );
            }
        }
    }
}
