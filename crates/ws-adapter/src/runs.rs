//! Queued output as `IoSlice`s for one vectored write: written once for the async engine and for
//! `ws-std`'s blocking writer.

use std::io::IoSlice;

use ws_core::{Connection, Sender};

/// The most runs of output one vectored write gathers (each large payload the core queued by reference
/// makes two: its header and itself).
const MAX_RUNS: usize = 16;

/// Something holding queued output in runs: a [`Connection`], or the [`Sender`] split off one.
pub trait QueuedOutput {
    /// Fills `dst` with the runs of queued output, in order; returns how many it filled.
    fn output_chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize;
}

impl QueuedOutput for Connection {
    fn output_chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        Connection::output_chunks(self, dst)
    }
}

impl QueuedOutput for Sender {
    fn output_chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        Sender::output_chunks(self, dst)
    }
}

/// Calls `write` with the runs of `queued` output (up to 16 of them), in order, as `IoSlice`s: a large
/// payload a server queued by reference goes out with its header in one `writev`. Advance the output
/// by what `write` reports written.
pub fn write_runs<O, R>(queued: &O, write: impl FnOnce(&[IoSlice<'_>]) -> R) -> R
where
    O: QueuedOutput + ?Sized,
{
    let mut runs: [&[u8]; MAX_RUNS] = [&[]; MAX_RUNS];
    let count = queued.output_chunks(&mut runs);
    write(&runs.map(IoSlice::new)[..count])
}
