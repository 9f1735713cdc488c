//! A client and a server wired together in memory: arbitrary messages (text or binary, up to 8 KiB, whole,
//! fragmented at arbitrary points, or uncompressed on a compressed connection) and pings, sent by either
//! role, with arbitrary `max_send_frame_size` on each side and optionally permessage-deflate (the default
//! offer, or arbitrary settings on both sides). The byte streams are cut into arbitrary pieces.
//!
//! Invariants: each side receives exactly the messages the other sent, in order, and a Ping event with the
//! payload of every ping (answered by a pong with the same payload); nothing fails; a final close
//! handshake completes on both sides with the right code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::differential::{Input, run};

fuzz_target!(|input: Input| run(&input));
