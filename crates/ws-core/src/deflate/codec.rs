//! Per-message compression and decompression (RFC 7692 section 7.2).

#[allow(unused_imports)]
use std::{
    borrow::ToOwned,
    boxed::Box,
    string::{String, ToString},
    vec::Vec,
};
#[allow(unused_imports)]
use std::{format, vec};

use core::fmt;

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block that a sync flush ends with; stripped from the end
/// of every compressed message and appended again before decompression.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// First inflate step, as a multiple of the compressed input length…
const STEP_INPUT_FACTOR: usize = 4;
/// …but at least this many bytes…
const MIN_STEP: usize = 1024;
/// …and at most this many (steps double while the output keeps filling them).
const MAX_STEP: usize = 64 * 1024;

/// Per-direction codec parameters, as agreed in the handshake (see
/// [`Negotiated::compressor_params`](super::Negotiated::compressor_params)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecParams {
    /// The sender resets its LZ77 window after every message.
    pub no_context_takeover: bool,
    /// Maximum LZ77 window of the sender, base-2 logarithm (8..=15).
    pub max_window_bits: u8,
}

/// Window bits handed to zlib's deflate: the negotiated value, with 8 raised
/// to 9. zlib cannot deflate raw streams with a 256-byte window, and its
/// matches never reach back more than `2^9 - 262 = 250` bytes, so the output
/// stays valid for a window-8 peer.
fn zlib_window_bits(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// Compresses outgoing messages (RFC 7692 section 7.2.1).
///
/// One instance per connection. Feed each message's fragments in order with
/// [`compress`](Self::compress), `fin = true` on the last one.
pub struct Compressor {
    /// Created on first use: a connection that never compresses a message
    /// never pays for the deflate state.
    inner: Option<Compress>,
    level: u32,
    window_bits: u8,
    no_context_takeover: bool,
    threshold: usize,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// Creates a compressor. `level` is the zlib level (0..=9, clamped);
    /// `threshold` is the smallest message size worth compressing (see
    /// [`should_compress`](Self::should_compress)).
    pub fn new(params: CodecParams, level: u32, threshold: usize) -> Self {
        Compressor {
            inner: None,
            level: level.min(9),
            window_bits: zlib_window_bits(params.max_window_bits),
            no_context_takeover: params.no_context_takeover,
            threshold,
        }
    }

    /// Whether a message of `message_len` bytes should be compressed (RSV1
    /// set) or sent as is. Decide per message, before its first fragment; for
    /// a streamed message of unknown length pass what is known (e.g. the first
    /// fragment's length). Skipping a message never disturbs the LZ77
    /// context: the peer only inflates messages with RSV1 set.
    pub fn should_compress(&self, message_len: usize) -> bool {
        message_len >= self.threshold
    }

    /// Compresses one fragment of a message and appends the payload to `out`.
    ///
    /// Every call ends with a sync flush, so the appended bytes can be sent
    /// at once as a frame's payload. When `fin` is set the trailing
    /// `00 00 ff ff` is removed (RFC 7692 section 7.2.1), an empty result is
    /// replaced by the single byte `00` (an empty stored block without its
    /// length fields, section 7.2.3.6), and, with no context takeover, the
    /// LZ77 window is reset for the next message.
    ///
    /// A non-final call with empty `input` may append nothing (an empty frame
    /// payload is valid there).
    pub fn compress(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let inner = self.inner.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(self.level), false, self.window_bits)
        });
        let start = out.len();
        // Text usually shrinks to well under half; grow if needed.
        out.reserve(input.len() / 2 + 64);
        let mut rest = input;
        loop {
            if out.len() == out.capacity() {
                out.reserve(rest.len() / 2 + 1024);
            }
            let in_before = inner.total_in();
            let out_before = out.len();
            // zlib only fails on an inconsistent stream state, which this
            // type never creates.
            let status = inner
                .compress_vec(rest, out, FlushCompress::Sync)
                .expect("deflate stream state is consistent");
            // Bounded by `rest.len()`.
            let used = (inner.total_in() - in_before) as usize;
            rest = &rest[used..];
            // A sync flush is complete once deflate returns with output space
            // left over and no input pending.
            if rest.is_empty() && out.len() < out.capacity() {
                break;
            }
            assert!(
                used > 0 || out.len() > out_before || out.len() == out.capacity(),
                "deflate made no progress ({status:?})"
            );
        }
        if fin {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if out.len() == start {
                // Nothing to flush (e.g. an empty last fragment right after a
                // flushed one): send the header byte of an empty stored block.
                out.push(0x00);
            }
            if self.no_context_takeover {
                inner.reset();
            }
        }
    }

    /// Drops the LZ77 context, as at the start of a connection. Only useful
    /// after abandoning a message midway; the peer must expect it (i.e. the
    /// connection is being closed or no context takeover is in effect).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // used by the fuzz targets
    pub fn reset(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.reset();
        }
    }
}

/// Why a compressed message could not be decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the allowed total (close with 1009).
    TooBig,
    /// The payload is not valid DEFLATE data for the negotiated parameters
    /// (close with 1007 or 1002); also returned by every call after an error.
    Invalid,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InflateError::TooBig => "decompressed message exceeds the size limit",
            InflateError::Invalid => "invalid compressed data",
        })
    }
}

impl std::error::Error for InflateError {}

/// Decompresses incoming messages (RFC 7692 section 7.2.2).
///
/// One instance per connection. Feed the payload of each fragment of a
/// message with RSV1 set, in order, `fin = true` on the last one.
pub struct Decompressor {
    /// Created on first use (see [`Compressor`]).
    inner: Option<Decompress>,
    no_context_takeover: bool,
    /// Compressed bytes received for the current message.
    msg_in: usize,
    /// Bytes inflated for the current message.
    msg_out: usize,
    /// A block with BFINAL set ended the DEFLATE stream; the rest of the
    /// message (if any) starts a new stream.
    stream_ended: bool,
    /// An error happened; the stream cannot be resumed.
    failed: bool,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("msg_in", &self.msg_in)
            .field("msg_out", &self.msg_out)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// Creates a decompressor for a peer that compresses with `params`.
    ///
    /// The inflate window is always 2^15 bytes, whatever
    /// `params.max_window_bits`: zlib-rs allocates a 32 KiB window anyway, and
    /// zlib's inflate checks distances against the history it holds (window
    /// plus the current output buffer), not against the configured window, so
    /// a smaller window would reject a peer that overshoots its negotiated
    /// window only sometimes, depending on fragmentation. A 15-bit window
    /// accepts every stream a conforming peer (window 8..=15) can send and
    /// keeps [`reset`](Self::reset) cheap (flate2 re-allocates on reset for
    /// other sizes). Distances beyond the data actually seen are rejected.
    pub fn new(params: CodecParams) -> Self {
        Decompressor {
            inner: None,
            no_context_takeover: params.no_context_takeover,
            msg_in: 0,
            msg_out: 0,
            stream_ended: false,
            failed: false,
        }
    }

    /// Inflates one fragment's payload and appends the output to `out`.
    ///
    /// Output is appended as it is produced, so the caller can validate UTF-8
    /// incrementally. `max_output_total` bounds the inflated size of the whole
    /// message (all fragments); it is enforced while inflating, in bounded
    /// steps, and `out` never grows beyond its length at the start of the
    /// message plus `max_output_total` (a highly compressed "bomb" stops with
    /// [`InflateError::TooBig`] as soon as it would exceed the limit). Pass the
    /// same limit for every fragment of a message.
    ///
    /// On `fin` the `00 00 ff ff` tail is appended before inflating the rest,
    /// and with no context takeover (for the peer) the window is reset.
    ///
    /// Decisions on edge cases: an entirely empty compressed message is
    /// accepted as an empty message without touching the LZ77 state; a
    /// DEFLATE block with BFINAL set (RFC 7692 7.2.3.4) ends the zlib stream,
    /// and the following data of that message, if any, is inflated as a new
    /// stream (so the appended tail after a final block is ignored). A later
    /// back-reference across such a final block is reported as
    /// [`InflateError::Invalid`].
    ///
    /// After an error the decompressor stays failed (every call returns
    /// [`InflateError::Invalid`]) until [`reset`](Self::reset); the
    /// connection must be failed anyway.
    pub fn decompress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_output_total: usize,
    ) -> Result<(), InflateError> {
        if self.failed {
            return Err(InflateError::Invalid);
        }
        let result = self.decompress_inner(input, fin, out, max_output_total);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Forgets the current message and the LZ77 window, and clears a failure.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // used by the fuzz targets
    pub fn reset(&mut self) {
        self.reset_stream();
        self.msg_in = 0;
        self.msg_out = 0;
        self.stream_ended = false;
        self.failed = false;
    }

    fn decompress_inner(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max: usize,
    ) -> Result<(), InflateError> {
        if self.msg_out > max {
            return Err(InflateError::TooBig);
        }
        self.msg_in = self.msg_in.saturating_add(input.len());
        self.feed(input, out, max)?;
        if fin {
            // An empty payload carries no DEFLATE data at all; appending the
            // tail would leave the inflater inside a stored block.
            if self.msg_in != 0 && !self.stream_ended {
                self.feed(&TAIL, out, max)?;
            }
            self.msg_in = 0;
            self.msg_out = 0;
            if self.no_context_takeover || self.stream_ended {
                self.reset_stream();
                self.stream_ended = false;
            }
        }
        Ok(())
    }

    fn reset_stream(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.reset(false);
        }
    }

    /// Runs inflate once; returns (input consumed, output produced, status).
    fn run(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize, Status), InflateError> {
        let inner = self
            .inner
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
        let in_before = inner.total_in();
        let out_before = inner.total_out();
        let status = inner
            .decompress(input, output, FlushDecompress::None)
            .map_err(|_| InflateError::Invalid)?;
        // Both deltas are bounded by the slice lengths.
        let consumed = (inner.total_in() - in_before) as usize;
        let produced = (inner.total_out() - out_before) as usize;
        Ok((consumed, produced, status))
    }

    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut BytesMut,
        max: usize,
    ) -> Result<(), InflateError> {
        let mut step_hint = input
            .len()
            .saturating_mul(STEP_INPUT_FACTOR)
            .clamp(MIN_STEP, MAX_STEP);
        loop {
            if self.stream_ended {
                if input.is_empty() {
                    return Ok(());
                }
                // Data after a final block: a new DEFLATE stream.
                self.reset_stream();
                self.stream_ended = false;
            }
            let remaining = max - self.msg_out;
            let (consumed, produced, status, filled) = if remaining == 0 {
                // At the limit: any further byte of output is too much.
                let mut probe = [0u8; 1];
                let (consumed, produced, status) = self.run(input, &mut probe)?;
                if produced != 0 {
                    return Err(InflateError::TooBig);
                }
                (consumed, produced, status, false)
            } else {
                let step = remaining.min(step_hint);
                let len = out.len();
                reserve_bounded(out, step, len.saturating_add(remaining));
                out.resize(len + step, 0);
                match self.run(input, &mut out[len..]) {
                    Ok((consumed, produced, status)) => {
                        out.truncate(len + produced);
                        (consumed, produced, status, produced == step)
                    }
                    Err(e) => {
                        out.truncate(len);
                        return Err(e);
                    }
                }
            };
            input = &input[consumed..];
            self.msg_out += produced;
            if status == Status::StreamEnd {
                self.stream_ended = true;
                continue;
            }
            if filled {
                // More output may be pending.
                step_hint = (step_hint * 2).min(MAX_STEP);
                continue;
            }
            if input.is_empty() {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                // Output space and input were available: cannot happen with
                // a sane inflate, but never spin.
                return Err(InflateError::Invalid);
            }
        }
    }
}

/// Ensures room for `additional` more bytes without letting the capacity
/// exceed `ceiling` (which must be at least `out.len() + additional`).
///
/// `BytesMut::reserve` grows geometrically, which could allocate up to twice
/// the message limit; near the ceiling the buffer is reallocated exactly.
fn reserve_bounded(out: &mut BytesMut, additional: usize, ceiling: usize) {
    let len = out.len();
    let cap = out.capacity();
    if cap - len >= additional {
        return;
    }
    let doubled = cap.saturating_mul(2);
    let target = doubled.max(len + additional).min(ceiling);
    if target >= doubled {
        // `reserve` lands on max(2 * capacity, requested) = target.
        out.reserve(target - len);
    } else {
        let mut grown = BytesMut::with_capacity(target);
        grown.extend_from_slice(out);
        *out = grown;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Token, fixed_block_payload, reference_inflate};
    use super::*;

    const NO_LIMIT: usize = usize::MAX;

    fn params(no_context_takeover: bool, bits: u8) -> CodecParams {
        CodecParams {
            no_context_takeover,
            max_window_bits: bits,
        }
    }

    fn compressor(p: CodecParams) -> Compressor {
        Compressor::new(p, 6, 0)
    }

    fn compress(c: &mut Compressor, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.compress(msg, true, &mut out);
        out
    }

    fn decompress(d: &mut Decompressor, payload: &[u8]) -> Result<Vec<u8>, InflateError> {
        let mut out = BytesMut::new();
        d.decompress(payload, true, &mut out, NO_LIMIT)?;
        Ok(out.to_vec())
    }

    /// Deterministic text-like data (JSON-ish records from a small vocabulary).
    fn text(len: usize, seed: u64) -> Vec<u8> {
        const WORDS: [&str; 16] = [
            "id",
            "user",
            "message",
            "hello",
            "world",
            "status",
            "ok",
            "timestamp",
            "value",
            "the",
            "quick",
            "brown",
            "fox",
            "channel",
            "event",
            "data",
        ];
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut s = Vec::with_capacity(len + 32);
        while s.len() < len {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let w = WORDS[(x >> 60) as usize];
            let n = (x >> 20) % 10000;
            s.extend_from_slice(format!("{{\"{w}\":{n},\"k\":\"{w}-{}\"}} ", n % 7).as_bytes());
        }
        s.truncate(len);
        s
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    // ---- RFC 7692 section 7.2.3 examples ------------------------------

    const HELLO: &[u8] = b"Hello";
    const HELLO_DEFLATED: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    #[test]
    fn rfc_7_2_3_1_hello() {
        for level in 1..=9 {
            let mut c = Compressor::new(params(false, 15), level, 0);
            assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED, "level {level}");
        }
        let mut d = Decompressor::new(params(false, 15));
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
    }

    #[test]
    fn rfc_7_2_3_1_fragmented() {
        // "Hello" split over two frames: f2 48 cd | c9 c9 07 00.
        let mut d = Decompressor::new(params(false, 15));
        let mut out = BytesMut::new();
        d.decompress(&HELLO_DEFLATED[..3], false, &mut out, NO_LIMIT)
            .unwrap();
        assert!(HELLO.starts_with(&out));
        d.decompress(&HELLO_DEFLATED[3..], true, &mut out, NO_LIMIT)
            .unwrap();
        assert_eq!(&out[..], HELLO);
        // Byte-by-byte fragmentation, output appended incrementally.
        let mut out = BytesMut::new();
        for (i, b) in HELLO_DEFLATED.iter().enumerate() {
            let fin = i == HELLO_DEFLATED.len() - 1;
            d.decompress(&[*b], fin, &mut out, NO_LIMIT).unwrap();
            assert!(HELLO.starts_with(&out));
        }
        assert_eq!(&out[..], HELLO);
    }

    #[test]
    fn rfc_7_2_3_2_context_takeover() {
        for level in 1..=9 {
            let mut c = Compressor::new(params(false, 15), level, 0);
            assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED);
            let second = compress(&mut c, HELLO);
            if level >= 2 {
                assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00], "level {level}");
            } else {
                // zlib-rs' level 1 (deflate_quick) emits one 5-byte match
                // instead of 'H' + a 4-byte match: also valid.
                assert_eq!(second, [0x02, 0x13, 0x00, 0x00]);
                let mut d = Decompressor::new(params(false, 15));
                assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
                assert_eq!(decompress(&mut d, &second).unwrap(), HELLO);
            }
        }
        let mut d = Decompressor::new(params(false, 15));
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
        assert_eq!(
            decompress(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
            HELLO
        );
        // Without context takeover both messages compress identically, and
        // the second payload is invalid on its own.
        let mut c = compressor(params(true, 15));
        assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED);
        assert_eq!(compress(&mut c, HELLO), HELLO_DEFLATED);
        let mut d = Decompressor::new(params(true, 15));
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
        assert_eq!(
            decompress(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            Err(InflateError::Invalid)
        );
    }

    #[test]
    fn rfc_7_2_3_3_stored_block() {
        let payload = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        let mut d = Decompressor::new(params(false, 15));
        assert_eq!(decompress(&mut d, &payload).unwrap(), HELLO);
        // Level 0 produces stored blocks too.
        let mut c = Compressor::new(params(false, 15), 0, 0);
        assert_eq!(compress(&mut c, HELLO), payload);
    }

    #[test]
    fn rfc_7_2_3_4_bfinal_block() {
        let payload = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let mut d = Decompressor::new(params(false, 15));
        assert_eq!(decompress(&mut d, &payload).unwrap(), HELLO);
        // The stream goes on with the next message…
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
        // …and a final block without the trailing 0x00 is accepted too (the
        // appended tail after the end of the stream is ignored).
        assert_eq!(decompress(&mut d, &payload[..7]).unwrap(), HELLO);
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
        // A back-reference across a final block cannot be resolved.
        assert_eq!(decompress(&mut d, &payload).unwrap(), HELLO);
        assert_eq!(
            decompress(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            Err(InflateError::Invalid)
        );
    }

    #[test]
    fn rfc_7_2_3_5_two_blocks() {
        let payload = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        let mut d = Decompressor::new(params(false, 15));
        assert_eq!(decompress(&mut d, &payload).unwrap(), HELLO);
        // Same bytes from two fragments compressed separately: "He" + "llo".
        let mut c = compressor(params(false, 15));
        let mut out = Vec::new();
        c.compress(b"He", false, &mut out);
        assert_eq!(out, payload[..8]);
        c.compress(b"llo", true, &mut out);
        assert_eq!(out, payload);
    }

    #[test]
    fn rfc_7_2_3_6_empty_fragment_and_message() {
        // An empty message is the single byte 0x00.
        let mut c = compressor(params(false, 15));
        assert_eq!(compress(&mut c, b""), [0x00]);
        assert_eq!(compress(&mut c, b""), [0x00]);
        // An empty last fragment after a flushed one is also 0x00.
        let mut out = Vec::new();
        c.compress(HELLO, false, &mut out);
        let first = out.len();
        assert!(out.ends_with(&TAIL));
        c.compress(b"", true, &mut out);
        assert_eq!(out[first..], [0x00]);
        let mut d = Decompressor::new(params(false, 15));
        assert_eq!(decompress(&mut d, &[0x00]).unwrap(), b"");
        assert_eq!(decompress(&mut d, &[0x00]).unwrap(), b"");
        let mut got = BytesMut::new();
        d.decompress(&out[..first], false, &mut got, NO_LIMIT)
            .unwrap();
        d.decompress(&out[first..], true, &mut got, NO_LIMIT)
            .unwrap();
        assert_eq!(&got[..], HELLO);
        // A completely empty compressed payload is an empty message and does
        // not disturb the context.
        assert_eq!(decompress(&mut d, b"").unwrap(), b"");
        let mut got = BytesMut::new();
        d.decompress(b"", false, &mut got, NO_LIMIT).unwrap();
        d.decompress(b"", true, &mut got, NO_LIMIT).unwrap();
        assert!(got.is_empty());
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);
    }

    // ---- round trips -----------------------------------------------------

    fn round_trip(p: CodecParams, level: u32, messages: &[Vec<u8>], fragment: usize) {
        let mut c = Compressor::new(p, level, 0);
        let mut d = Decompressor::new(p);
        // The whole compressed stream, with tails re-appended, for the
        // reference inflater (context takeover only).
        let mut stream = Vec::new();
        let mut max_dist = 0;
        for msg in messages {
            let mut payload = Vec::new();
            let mut got = BytesMut::new();
            let chunks: Vec<&[u8]> = if msg.is_empty() {
                vec![&[]]
            } else {
                msg.chunks(fragment).collect()
            };
            for (i, chunk) in chunks.iter().enumerate() {
                let fin = i == chunks.len() - 1;
                let start = payload.len();
                c.compress(chunk, fin, &mut payload);
                d.decompress(&payload[start..], fin, &mut got, msg.len())
                    .unwrap();
            }
            assert_eq!(&got[..], &msg[..], "{p:?} level {level}");
            if p.no_context_takeover {
                let r = reference_inflate(&[&payload[..], &TAIL].concat()).unwrap();
                assert_eq!(r.out, *msg);
                max_dist = max_dist.max(r.max_dist);
            } else {
                stream.extend_from_slice(&payload);
                stream.extend_from_slice(&TAIL);
            }
        }
        if !p.no_context_takeover {
            let r = reference_inflate(&stream).unwrap();
            assert_eq!(r.out, messages.concat());
            max_dist = r.max_dist;
        }
        // The sender never reaches back further than its window allows.
        assert!(
            max_dist <= 1 << p.max_window_bits,
            "{p:?}: distance {max_dist}"
        );
        if p.max_window_bits == 8 {
            assert!(max_dist <= 250, "zlib window 9 stays within 250");
        }
    }

    #[test]
    fn round_trip_all_windows_and_takeover_modes() {
        // Data with repeats at every distance scale (including 251..=512,
        // where a real 9-bit window would reach beyond 256).
        let mut messages = vec![Vec::new(), b"x".to_vec(), HELLO.to_vec()];
        let chunk = noise(300, 7);
        messages.push(chunk.repeat(20));
        messages.push(text(40_000, 1));
        messages.push(text(3_000, 2));
        messages.push(noise(5_000, 3));
        messages.push(vec![b'a'; 70_000]);
        messages.push(text(1_000, 1));
        for bits in 8..=15 {
            for nct in [false, true] {
                for (level, fragment) in [(6, 1 << 20), (1, 1000), (9, 77)] {
                    round_trip(params(nct, bits), level, &messages, fragment);
                }
            }
        }
    }

    #[test]
    fn window_8_stream_is_valid_for_a_256_byte_window() {
        // Period-300 data: with a real 512-byte window zlib would love
        // distance 300; in window-8 mode matches must stay within 256.
        let data = noise(300, 11).repeat(100);
        let mut c = compressor(params(false, 8));
        let payload = compress(&mut c, &data);
        let r = reference_inflate(&[&payload[..], &TAIL].concat()).unwrap();
        assert_eq!(r.out, data);
        assert!(r.max_dist <= 256, "{}", r.max_dist);
        // With a 10-bit window (matches up to 762 back) the same data uses
        // distance 300.
        let mut c = compressor(params(false, 10));
        let payload = compress(&mut c, &data);
        let r = reference_inflate(&[&payload[..], &TAIL].concat()).unwrap();
        assert!(r.max_dist > 256);
    }

    #[test]
    fn decompressor_accepts_every_conforming_distance() {
        // 1000 literals, then a match of 10 bytes at `dist`.
        let lits = noise(1000, 5);
        let payload = |dist: u16| {
            let mut t: Vec<Token> = lits.iter().map(|&b| Token::Lit(b)).collect();
            t.push(Token::Match { len: 10, dist });
            fixed_block_payload(&t)
        };
        let expect = |dist: usize| {
            let mut v = lits.clone();
            let start = v.len() - dist;
            v.extend_from_slice(&lits[start..start + 10]);
            v
        };
        // A window-8 peer may reach back exactly 256 bytes, a window-9 peer
        // 512, etc.
        for (bits, dist) in [(8, 256), (9, 512), (10, 1000), (15, 1000)] {
            let mut d = Decompressor::new(params(true, bits));
            assert_eq!(
                decompress(&mut d, &payload(dist)).unwrap(),
                expect(usize::from(dist))
            );
        }
        // Referring to data that was never sent is invalid.
        let mut d = Decompressor::new(params(true, 15));
        assert_eq!(
            decompress(&mut d, &payload(1001)),
            Err(InflateError::Invalid)
        );
        // After a reset (no context takeover) the previous message is gone.
        let mut d = Decompressor::new(params(true, 15));
        decompress(&mut d, &fixed_block_payload(&[Token::Lit(b'a'); 10])).unwrap();
        assert_eq!(
            decompress(
                &mut d,
                &fixed_block_payload(&[Token::Match { len: 5, dist: 5 }])
            ),
            Err(InflateError::Invalid)
        );
        // With context takeover it is not.
        let mut d = Decompressor::new(params(false, 15));
        decompress(&mut d, &fixed_block_payload(&[Token::Lit(b'a'); 10])).unwrap();
        assert_eq!(
            decompress(
                &mut d,
                &fixed_block_payload(&[Token::Match { len: 5, dist: 5 }])
            )
            .unwrap(),
            b"aaaaa"
        );
    }

    #[test]
    fn no_context_takeover_resets_both_sides() {
        let msg = text(2000, 9);
        let mut c = compressor(params(true, 15));
        let a = compress(&mut c, &msg);
        let b = compress(&mut c, &msg);
        assert_eq!(a, b);
        // With takeover the second copy is tiny.
        let mut c = compressor(params(false, 15));
        let a = compress(&mut c, &msg);
        let b = compress(&mut c, &msg);
        assert!(b.len() < a.len() / 10, "{} vs {}", b.len(), a.len());
    }

    #[test]
    fn threshold() {
        let c = Compressor::new(params(false, 15), 6, 16);
        assert!(!c.should_compress(0));
        assert!(!c.should_compress(15));
        assert!(c.should_compress(16));
        let c = Compressor::new(params(false, 15), 6, 0);
        assert!(c.should_compress(0));
    }

    // ---- limits ----------------------------------------------------------

    fn bomb() -> Vec<u8> {
        let mut c = Compressor::new(params(false, 15), 9, 0);
        let zeros = vec![0u8; 10 << 20];
        let payload = compress(&mut c, &zeros);
        assert!(payload.len() < 12_000, "{}", payload.len());
        payload
    }

    #[test]
    fn decompression_bomb_stops_at_the_limit() {
        let payload = bomb();
        let limit = 1 << 20;
        // One frame.
        let mut d = Decompressor::new(params(false, 15));
        let mut out = BytesMut::new();
        assert_eq!(
            d.decompress(&payload, true, &mut out, limit),
            Err(InflateError::TooBig)
        );
        assert!(out.len() <= limit);
        assert!(out.capacity() <= limit + (64 << 10), "{}", out.capacity());
        // Failed for good.
        assert_eq!(
            d.decompress(&HELLO_DEFLATED, true, &mut BytesMut::new(), limit),
            Err(InflateError::Invalid)
        );
        d.reset();
        assert_eq!(decompress(&mut d, &HELLO_DEFLATED).unwrap(), HELLO);

        // Many small frames, into a buffer with earlier content.
        let mut d = Decompressor::new(params(false, 15));
        let mut out = BytesMut::from(&b"prefix"[..]);
        let mut result = Ok(());
        for chunk in payload.chunks(100) {
            result = d.decompress(chunk, false, &mut out, limit);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(InflateError::TooBig));
        assert!(out.len() <= limit + 6);
        assert!(out.capacity() <= limit + (64 << 10), "{}", out.capacity());
    }

    #[test]
    fn limit_is_inclusive_and_counts_the_whole_message() {
        let msg = text(100_000, 4);
        let mut c = compressor(params(false, 15));
        let payload = compress(&mut c, &msg);
        for (limit, ok) in [
            (msg.len(), true),
            (msg.len() - 1, false),
            (0, false),
            (msg.len() + 1, true),
        ] {
            for fragment in [payload.len(), 1000, 7] {
                let mut d = Decompressor::new(params(false, 15));
                let mut out = BytesMut::new();
                let chunks: Vec<_> = payload.chunks(fragment).collect();
                let mut result = Ok(());
                for (i, chunk) in chunks.iter().enumerate() {
                    result = d.decompress(chunk, i == chunks.len() - 1, &mut out, limit);
                    if result.is_err() {
                        break;
                    }
                }
                if ok {
                    assert_eq!(result, Ok(()));
                    assert_eq!(&out[..], &msg[..]);
                    assert!(out.capacity() <= limit.max(64 << 10) + (64 << 10));
                } else {
                    assert_eq!(result, Err(InflateError::TooBig), "{limit} {fragment}");
                    assert!(out.len() <= limit);
                }
            }
        }
        // The empty message fits a zero limit.
        let mut d = Decompressor::new(params(false, 15));
        let mut out = BytesMut::new();
        d.decompress(&[0x00], true, &mut out, 0).unwrap();
        // No limit at all, with earlier content in the buffer.
        let mut d = Decompressor::new(params(false, 15));
        let mut out = BytesMut::from(&b"prefix"[..]);
        d.decompress(&payload, true, &mut out, usize::MAX).unwrap();
        assert_eq!(&out[6..], &msg[..]);
        // The limit applies per message, not per connection.
        let mut d = Decompressor::new(params(false, 15));
        for _ in 0..3 {
            let mut out = BytesMut::new();
            d.decompress(&HELLO_DEFLATED, true, &mut out, 5).unwrap();
            assert_eq!(&out[..], HELLO);
        }
    }

    #[test]
    fn bounded_growth_policy() {
        let mut b = BytesMut::new();
        reserve_bounded(&mut b, 1000, 1500);
        assert!(b.capacity() >= 1000 && b.capacity() <= 1500);
        b.resize(1000, 1);
        reserve_bounded(&mut b, 400, 1400);
        assert!(b.capacity() >= 1400 && b.capacity() <= 1400.max(b.capacity()));
        assert_eq!(&b[..], &[1u8; 1000][..]);
        // Doubling below the ceiling.
        let mut b = BytesMut::with_capacity(100);
        b.resize(100, 2);
        reserve_bounded(&mut b, 10, 10_000);
        assert_eq!(b.capacity(), 200);
        // Clipped to the ceiling.
        b.resize(200, 2);
        reserve_bounded(&mut b, 10, 250);
        assert_eq!(b.capacity(), 250);
        assert_eq!(&b[..], &[2u8; 200][..]);
    }

    // ---- invalid input ---------------------------------------------------

    #[test]
    fn invalid_data() {
        for bad in [
            &[0xff][..],                           // reserved block type 3
            &[0x07, 0x00],                         // BTYPE=11
            &[0x00, 0x05, 0x00, 0x00, 0x00, 0x41], // LEN/NLEN mismatch
            &[0xf2, 0x00, 0x11, 0x00, 0x00],       // distance beyond the empty window
            &[0xfc, 0xff, 0xff, 0xff],             // bad dynamic header
        ] {
            let mut d = Decompressor::new(params(false, 15));
            assert_eq!(
                decompress(&mut d, bad),
                Err(InflateError::Invalid),
                "{bad:02x?}"
            );
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn garbage_never_panics(
                frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..5),
                bits in 8u8..=15,
                nct: bool,
                limit in 0usize..100_000,
            ) {
                let mut d = Decompressor::new(params(nct, bits));
                let mut out = BytesMut::new();
                for (i, f) in frames.iter().enumerate() {
                    let fin = i == frames.len() - 1;
                    if d.decompress(f, fin, &mut out, limit).is_err() {
                        break;
                    }
                }
                prop_assert!(out.len() <= limit);
                prop_assert!(out.capacity() <= limit + (64 << 10));
            }

            #[test]
            fn arbitrary_round_trip(
                messages in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..3000), 1..6),
                fragment in 1usize..2000,
                bits in 8u8..=15,
                nct: bool,
                level in 0u32..=9,
            ) {
                round_trip(params(nct, bits), level, &messages, fragment);
            }
        }
    }
}
