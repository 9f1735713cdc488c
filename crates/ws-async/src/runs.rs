//! Queued output as `IoSlice`s for one vectored write: written once for the async engine and for
//! `ws-std`'s blocking writer.

use std::io::IoSlice;

use ws_core::Connection;

/// The most runs of output one vectored write gathers (each large payload the core queued by reference
/// makes two: its header and itself).
const MAX_RUNS: usize = 16;

/// Calls `write` with the runs of `conn`'s queued output (up to 16 of them), in order, as `IoSlice`s:
/// a large payload a server queued by reference goes out with its header in one `writev`. Advance the
/// output by what `write` reports written.
pub fn write_runs<R>(conn: &Connection, write: impl FnOnce(&[IoSlice<'_>]) -> R) -> R {
    let mut runs: [&[u8]; MAX_RUNS] = [&[]; MAX_RUNS];
    let count = conn.output_chunks(&mut runs);
    write(&runs.map(IoSlice::new)[..count])
}
