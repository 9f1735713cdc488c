//! Shared pieces of the `ws-core` fuzz targets (see `fuzz/README.md`).
//!
//! - [`wire`]: `ws-testkit`'s reference frame encoder and parser (independent of the core's codec), re-exported:
//!   what a connection writes is parsed with it, and the `frame_header` target checks the core's header
//!   decoder against its `decode_header`.
//! - [`model`]: a reference model of the receive path (RFC 6455 sections 5 and 7, RFC 7692 section 6),
//!   written without looking at the core's code paths, that predicts the events a byte stream must produce.
//! - [`harness`]: an open connection driven by arbitrary actions, checking every output byte and every event
//!   against the invariants and the model.
//! - [`handshake`]: valid requests/responses to open connections in memory.
//! - [`deflate_knobs`]: arbitrary permessage-deflate settings.
//! - [`HANDSHAKE_LIMITS`]: the small limits of the handshake targets.

#![allow(clippy::new_without_default)]

/// The small limits the handshake targets run with, so that every limit is reached by short inputs.
pub const HANDSHAKE_LIMITS: ws_core::Limits = ws_core::Limits::new()
    .max_head_bytes(1024)
    .max_headers(16)
    .max_frame_size(1024)
    .max_message_size(2048)
    .max_fragments(8)
    .max_queued_output(4096);

pub mod deflate_knobs;
pub mod differential;
pub mod handshake;
pub mod harness;
pub mod inflate;
pub mod model;
pub use ws_testkit::wire;

/// Whether `bytes` could still become valid UTF-8: it is valid, or it is only cut inside its last character.
/// (std's `error_len` is `None` exactly when the error is an unexpected end of input.)
pub fn utf8_prefix_ok(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Takes (and marks written) everything `conn` has queued to write, run by run, as a writer does
/// (`chunk`, then `advance` by what was taken).
pub fn take_output(conn: &mut ws_core::Connection) -> Vec<u8> {
    use bytes::Buf;
    let mut out = conn.output();
    let mut taken = Vec::with_capacity(out.remaining());
    while out.has_remaining() {
        let n = out.chunk().len();
        taken.extend_from_slice(out.chunk());
        out.advance(n);
    }
    taken
}

/// Whether a close code may appear on the wire (RFC 6455 section 7.4, with the IANA registry of 1012-1014
/// left out as the core does): 1000-1003, 1007-1011, 3000-4999.
pub fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// Whether two event sequences of the same input, fed in different pieces, agree. They must be equal, with
/// one exception: when permessage-deflate is on, which of two peer faults in one frame is seen first can
/// depend on where the frame was cut (invalid UTF-8 inflated from an early piece vs. bad DEFLATE data or the
/// size limit in a later one), so a final `Failed` may name a different peer fault (and close code).
pub fn same_events(a: &[ws_core::Event], b: &[ws_core::Event]) -> bool {
    use ws_core::{Error, Event};
    let peer_fault = |e: &Event| {
        matches!(
            e,
            Event::Failed(Error::Protocol(_) | Error::InvalidUtf8 | Error::LimitExceeded(_))
        )
    };
    let deflate = a
        .iter()
        .any(|e| matches!(e, Event::Open(o) if o.extensions.is_some()));
    match (a.split_last(), b.split_last()) {
        (Some((x, a_rest)), Some((y, b_rest))) if deflate && peer_fault(x) && peer_fault(y) => {
            a_rest == b_rest
        }
        _ => a == b,
    }
}

/// A cheap, deterministic hash of `data` (used to derive chunk sizes from raw inputs).
pub fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Runs the structured targets on raw bytes as libFuzzer would (for `examples/replay.rs`). The raw-byte
/// targets (`frame_header`, `*_handshake`) live in their files only; run those with `cargo fuzz run`.
pub fn run_target(target: &str, data: &[u8]) {
    use arbitrary::{Arbitrary, Unstructured};
    match target {
        "server_connection" => harness::Harness::run_bytes(ws_core::Role::Server, data),
        "client_connection" => harness::Harness::run_bytes(ws_core::Role::Client, data),
        "differential" => {
            if let Ok(input) = differential::Input::arbitrary_take_rest(Unstructured::new(data)) {
                differential::run(&input);
            }
        }
        "deflate_inflate" => {
            if let Ok(input) = inflate::Input::arbitrary_take_rest(Unstructured::new(data)) {
                inflate::run(&input);
            }
        }
        other => panic!("replay supports the structured targets, not {other}"),
    }
}
