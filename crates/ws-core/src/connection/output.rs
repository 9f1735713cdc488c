//! The output queue: bytes waiting to be written, in order.
//!
//! Most output is copied into one contiguous buffer, so a burst of small frames leaves in one write. A
//! large unmasked payload the application handed over as [`Bytes`] is not copied: it is queued as a
//! shared slice between the bytes before and after it, and written with a vectored write (header and
//! payload in one system call) by writers that gather (`bytes::Buf::chunks_vectored` on [`Output`]).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::{Buf, Bytes};

use crate::time::Instant;

/// The bytes a [`super::Connection`] or a [`super::Sender`] has queued for the transport, as a
/// [`bytes::Buf`]: the one way to take output.
///
/// - Blocking or readiness-based writes: write [`Buf::chunk`] (the next contiguous run), then
///   [`Buf::advance`] by the number of bytes the transport took; repeat while [`Buf::has_remaining`].
/// - Vectored writes (`writev`): `Buf::chunks_vectored` fills `IoSlice`s with every run (feature `std`),
///   then [`Buf::advance`] by the total written.
/// - Completion-based I/O that wants owned buffers (io_uring style): [`Buf::copy_to_bytes`] hands out
///   the next bytes as an owned [`Bytes`]; a large payload queued by reference comes out without a copy.
///
/// Output is usually one run; a large payload a server sends as shared [`Bytes`] is queued by
/// reference, making a frame's header and its payload two runs. Bytes are taken off the queue only by
/// `advance` (or `copy_to_bytes`): a write that failed leaves them queued.
pub struct Output<'a> {
    queue: &'a mut Queue,
    /// The sender's stall timer, restarted by progress (see `stall.rs`).
    progress: Option<&'a mut Option<Instant>>,
}

impl<'a> Output<'a> {
    pub(super) fn new(queue: &'a mut Queue, progress: Option<&'a mut Option<Instant>>) -> Self {
        Output { queue, progress }
    }

    /// Records progress: `n` bytes left.
    fn progressed(&mut self, n: usize) {
        if let Some(progress) = self.progress.as_deref_mut().filter(|_| n > 0) {
            *progress = None;
        }
    }
}

impl core::fmt::Debug for Output<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Output")
            .field("remaining", &self.queue.len())
            .field(
                "runs",
                &if self.queue.is_split() {
                    "several"
                } else {
                    "one"
                },
            )
            .finish()
    }
}

impl Buf for Output<'_> {
    fn remaining(&self) -> usize {
        self.queue.len()
    }

    fn chunk(&self) -> &[u8] {
        self.queue.first()
    }

    fn advance(&mut self, n: usize) {
        self.queue.advance(n);
        self.progressed(n);
    }

    #[cfg(feature = "std")]
    fn chunks_vectored<'b>(&'b self, dst: &mut [std::io::IoSlice<'b>]) -> usize {
        if dst.is_empty() {
            return 0;
        }
        if !self.queue.is_split() {
            let run = self.queue.first();
            if run.is_empty() {
                return 0;
            }
            dst[0] = std::io::IoSlice::new(run);
            return 1;
        }
        let mut runs: [&[u8]; MAX_RUNS] = [&[]; MAX_RUNS];
        let limit = dst.len().min(MAX_RUNS);
        let n = self.queue.chunks(&mut runs[..limit]);
        for (slot, run) in dst.iter_mut().zip(&runs[..n]) {
            *slot = std::io::IoSlice::new(run);
        }
        n
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        let bytes = match self.queue.take_shared(len) {
            Some(shared) => shared,
            None => {
                assert!(
                    len <= self.remaining(),
                    "copy_to_bytes past the end of the output"
                );
                let mut out = bytes::BytesMut::with_capacity(len);
                let mut left = len;
                while left > 0 {
                    let run = self.queue.first();
                    let n = run.len().min(left);
                    out.extend_from_slice(&run[..n]);
                    self.queue.advance(n);
                    left -= n;
                }
                out.freeze()
            }
        };
        self.progressed(len);
        bytes
    }
}

/// The most runs one vectored write gathers (a header and its shared payload per large message).
#[cfg(feature = "std")]
const MAX_RUNS: usize = 64;

/// Payloads at least this long are queued by reference instead of copied (when they need no masking).
/// Below it the copy costs less than the extra piece a write has to gather.
pub(super) const SHARE_MIN: usize = 8 * 1024;

/// A shared payload, sitting after the first `at` bytes of the copy buffer.
#[derive(Debug)]
struct Shared {
    at: usize,
    data: Bytes,
}

/// Shared payloads in order, boxed: one word, as most connections never queue one.
#[derive(Debug, Default)]
// One word instead of a `VecDeque`'s four: the extra allocation is made only by a server's large sends,
// the room is paid by every connection.
#[allow(clippy::box_collection)]
struct SharedRuns(Option<Box<VecDeque<Shared>>>);

impl SharedRuns {
    fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|runs| runs.is_empty())
    }

    fn front(&self) -> Option<&Shared> {
        self.0.as_ref()?.front()
    }

    fn front_mut(&mut self) -> Option<&mut Shared> {
        self.0.as_mut()?.front_mut()
    }

    fn push_back(&mut self, shared: Shared) {
        self.0.get_or_insert_default().push_back(shared);
    }

    fn pop_front(&mut self) {
        if let Some(runs) = &mut self.0 {
            runs.pop_front();
        }
    }

    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    fn iter(&self) -> impl Iterator<Item = &Shared> {
        self.0.iter().flat_map(|runs| runs.iter())
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Shared> {
        self.0.iter_mut().flat_map(|runs| runs.iter_mut())
    }

    /// Takes them all, leaving none.
    fn take(&mut self) -> VecDeque<Shared> {
        self.0.take().map(|runs| *runs).unwrap_or_default()
    }

    /// Drops them all, with their room.
    fn release(&mut self) {
        self.0 = None;
    }
}

/// Bytes waiting to be written: a copy buffer with shared payloads spliced in.
#[derive(Debug, Default)]
pub(super) struct Queue {
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    pos: usize,
    /// Shared payloads in order; each `at` is at least `pos` and at most `buf.len()`.
    shared: SharedRuns,
    /// Total bytes of `shared`.
    shared_len: usize,
}

impl Queue {
    /// The buffer to append copied bytes to (frame headers, small payloads, HTTP heads). Compacts
    /// first when more than half of it was already written.
    pub(super) fn buf_mut(&mut self) -> &mut Vec<u8> {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            for shared in self.shared.iter_mut() {
                shared.at -= self.pos;
            }
            self.pos = 0;
        }
        &mut self.buf
    }

    /// Queues an HTTP head encoded by `encode` into an allocation of its own, which goes once it is
    /// written: the copy buffer is left for frames (see [`Queue::advance`]), so a connection that never
    /// sends a frame keeps no buffer.
    pub(super) fn push_head(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let mut head = Vec::new();
        encode(&mut head);
        self.push_shared(Bytes::from(head));
    }

    /// Queues `data` by reference after everything queued so far.
    pub(super) fn push_shared(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.shared_len += data.len();
        self.shared.push_back(Shared {
            at: self.buf.len(),
            data,
        });
    }

    /// Total bytes waiting.
    pub(super) fn len(&self) -> usize {
        self.buf.len() - self.pos + self.shared_len
    }

    /// Whether the waiting bytes are more than one run.
    pub(super) fn is_split(&self) -> bool {
        !self.shared.is_empty()
    }

    /// Whether nothing is waiting.
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next contiguous run of waiting bytes (empty when nothing waits).
    pub(super) fn first(&self) -> &[u8] {
        match self.shared.front() {
            Some(shared) if shared.at == self.pos => &shared.data,
            Some(shared) => &self.buf[self.pos..shared.at],
            None => &self.buf[self.pos..],
        }
    }

    /// Fills `dst` with the waiting bytes, run after run, in order; returns how many entries it filled.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(super) fn chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        let mut filled = 0;
        let mut pos = self.pos;
        let mut push = |piece: &'a [u8]| {
            if piece.is_empty() || filled == dst.len() {
                return;
            }
            dst[filled] = piece;
            filled += 1;
        };
        for shared in self.shared.iter() {
            push(&self.buf[pos..shared.at]);
            push(&shared.data);
            pos = shared.at;
        }
        push(&self.buf[pos..]);
        filled
    }

    /// Takes the first `len` waiting bytes without a copy when they are all in a shared payload at the
    /// front of the queue.
    fn take_shared(&mut self, len: usize) -> Option<Bytes> {
        let pos = self.pos;
        let shared = self.shared.front_mut()?;
        if shared.at != pos || shared.data.len() < len || len == 0 {
            return None;
        }
        let taken = shared.data.split_to(len);
        self.shared_len -= len;
        if shared.data.is_empty() {
            self.shared.pop_front();
        }
        if self.is_empty() {
            self.advance(0);
        }
        Some(taken)
    }

    /// Marks the first `n` waiting bytes as written (at most [`Queue::len`]). Returns whether the queue
    /// is now empty.
    pub(super) fn advance(&mut self, mut n: usize) -> bool {
        if self.shared.is_empty() {
            // The common case: one run.
            self.pos = (self.pos + n).min(self.buf.len());
            n = 0;
        }
        while n > 0 {
            match self.shared.front_mut() {
                Some(shared) if shared.at == self.pos => {
                    let step = n.min(shared.data.len());
                    shared.data.advance(step);
                    self.shared_len -= step;
                    n -= step;
                    if shared.data.is_empty() {
                        self.shared.pop_front();
                    }
                }
                Some(shared) => {
                    let step = n.min(shared.at - self.pos);
                    self.pos += step;
                    n -= step;
                }
                None => {
                    self.pos = (self.pos + n).min(self.buf.len());
                    n = 0;
                }
            }
        }
        if self.is_empty() {
            self.buf.clear();
            self.pos = 0;
            if self.buf.capacity() > super::KEEP_BUFFER_MAX {
                // A large one goes (an idle connection does not pin a big message's room); smaller
                // ones stay for the next frames: re-creating one cost an allocation and a free per
                // write of a small-message echo, ~2.5% of its instructions. HTTP heads never use it.
                self.buf = Vec::new();
            }
            // (Its room is a few entries; an idle connection should not keep it.)
            self.shared.release();
            return true;
        }
        false
    }

    /// Moves everything waiting in `other` behind what waits here (shared payloads stay shared).
    pub(super) fn append(&mut self, other: &mut Queue) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            core::mem::swap(self, other);
            other.clear();
            return;
        }
        let mut pos = other.pos;
        for shared in other.shared.take() {
            self.buf_mut().extend_from_slice(&other.buf[pos..shared.at]);
            self.push_shared(shared.data);
            pos = shared.at;
        }
        self.buf_mut().extend_from_slice(&other.buf[pos..]);
        other.clear();
    }

    /// Drops everything waiting (the peer will not read it).
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.shared.release();
        self.shared_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_by(out: &mut Queue, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        while !out.is_empty() {
            let piece = out.first();
            let n = step.min(piece.len());
            got.extend_from_slice(&piece[..n]);
            out.advance(n);
        }
        got
    }

    fn sample() -> (Queue, Vec<u8>) {
        let mut out = Queue::default();
        let mut expected = Vec::new();
        for round in 0..3u8 {
            let head = [round; 3];
            out.buf_mut().extend_from_slice(&head);
            expected.extend_from_slice(&head);
            let payload = Bytes::from(alloc::vec![round + 10; 5 + round as usize]);
            expected.extend_from_slice(&payload);
            out.push_shared(payload);
        }
        out.buf_mut().extend_from_slice(b"tail");
        expected.extend_from_slice(b"tail");
        (out, expected)
    }

    #[test]
    fn runs_come_out_in_order_whatever_the_write_sizes() {
        for step in [1, 2, 3, 4, 7, 100] {
            let (mut out, expected) = sample();
            assert_eq!(out.len(), expected.len());
            assert_eq!(drain_by(&mut out, step), expected, "step {step}");
            assert_eq!(out.len(), 0);
        }
    }

    #[test]
    fn chunks_list_every_run_and_advance_crosses_them() {
        let (mut out, expected) = sample();
        let mut dst = [&[][..]; 16];
        let n = out.chunks(&mut dst);
        assert_eq!(n, 7);
        assert_eq!(dst[..n].concat(), expected);
        // A vectored write that stops in the middle of the second shared payload.
        assert!(!out.advance(3 + 5 + 3 + 2));
        let mut dst = [&[][..]; 2];
        let n = out.chunks(&mut dst);
        assert_eq!(n, 2, "a short list is filled, not overrun");
        assert_eq!(dst[0], &[11; 4]);
        assert!(out.advance(out.len()));
        assert!(out.first().is_empty());
    }

    #[test]
    fn compaction_keeps_shared_payloads_in_place() {
        let mut out = Queue::default();
        out.buf_mut().extend_from_slice(b"0123456789");
        out.advance(8);
        out.push_shared(Bytes::from_static(b"SHARED"));
        out.buf_mut().extend_from_slice(b"after");
        let mut dst = [&[][..]; 8];
        let n = out.chunks(&mut dst);
        assert_eq!(dst[..n].concat(), b"89SHAREDafter");
    }

    #[test]
    fn append_moves_every_run_in_order() {
        for written in [0, 4, 9] {
            let (mut tail, tail_bytes) = sample();
            let mut head = Queue::default();
            head.buf_mut().extend_from_slice(b"head");
            head.push_shared(Bytes::from_static(b"SHARED"));
            head.advance(written.min(head.len()));
            let mut expected = b"headSHARED"[written.min(10)..].to_vec();
            tail.advance(2);
            expected.extend_from_slice(&tail_bytes[2..]);
            head.append(&mut tail);
            assert!(tail.is_empty());
            assert_eq!(head.len(), expected.len());
            assert_eq!(drain_by(&mut head, 3), expected, "written {written}");
        }
    }

    #[test]
    fn clear_drops_everything() {
        let (mut out, _) = sample();
        out.advance(4);
        out.clear();
        assert!(out.is_empty());
        assert!(out.first().is_empty());
        assert_eq!(out.chunks(&mut [&[][..]; 4]), 0);
    }
}
