//! permessage-deflate's codec on its own: parameters negotiated from arbitrary client and server settings
//! (window bits 8-15, context takeover on or off), then
//! - a `Decompressor` fed arbitrary data in arbitrary fragments with a small limit: never panics, the output
//!   never grows past the message's start plus the limit, errors are `TooBig` or `Invalid`, and a failed
//!   decompressor keeps failing until `reset`;
//! - a `Compressor` / peer `Decompressor` pair: arbitrary messages, cut into arbitrary fragments, come back
//!   intact; without context takeover every message also inflates on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::inflate::{Input, run};

fuzz_target!(|input: Input| run(&input));
