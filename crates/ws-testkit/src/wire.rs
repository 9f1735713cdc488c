//! RFC 6455 frames as plain bytes: one reference encoder and parser for every test, fuzz target and bench
//! tool of the workspace, written from the RFC (section 5.2) and sharing no code with `ws-core`'s own codec,
//! so that it can check it. Standard library only and no `ws-core` types (bytes in, bytes out), so it is
//! available without this crate's default features, e.g. to the fuzz targets.
//!
//! * Encoding: [`header`] / [`frame`] (and the appending [`encode_header_into`] /
//!   [`encode_frame_into`]) take the first header byte as it goes on the wire (FIN | RSV | opcode) and
//!   always use the minimal length encoding; [`apply_mask`] masks and unmasks.
//! * Parsing, lenient (any bits, any length encoding, as a test reads whatever an endpoint wrote):
//!   [`peek_header`], [`parse_frames_prefix`], [`parse_frames`].
//! * Parsing, strict (what RFC 6455 allows a single frame to be, with no connection state):
//!   [`decode_header`], [`parse_valid_frames`].

use std::fmt;

/// Opcode of a continuation frame.
pub const CONT: u8 = 0x0;
/// Opcode of a text frame.
pub const TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub const BINARY: u8 = 0x2;
/// Opcode of a close frame.
pub const CLOSE: u8 = 0x8;
/// Opcode of a ping frame.
pub const PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const PONG: u8 = 0xA;

/// The FIN bit as it stands in a frame's first byte.
pub const FIN: u8 = 0x80;
/// The RSV1 bit as it stands in a frame's first byte (permessage-deflate's "compressed" flag).
pub const RSV1: u8 = 0x40;
/// The RSV2 bit as it stands in a frame's first byte.
pub const RSV2: u8 = 0x20;
/// The RSV3 bit as it stands in a frame's first byte.
pub const RSV3: u8 = 0x10;

/// Whether RFC 6455 defines opcode `op` (the low four bits of the first byte).
pub fn is_known_opcode(op: u8) -> bool {
    matches!(op, CONT | TEXT | BINARY | CLOSE | PING | PONG)
}

/// Whether opcode `op` is a control opcode (its high bit set: close, ping, pong and the reserved 0xB-0xF).
pub fn is_control(op: u8) -> bool {
    op & 0x8 != 0
}

/// XORs `data` with `key`, the first byte of `data` being byte `offset` of the payload (RFC 6455 section
/// 5.3). Masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let key = {
        let mut k = key;
        k.rotate_left(offset % 4);
        k
    };
    let mut chunks = data.chunks_exact_mut(4);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(key) {
            *b ^= k;
        }
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(key) {
        *b ^= k;
    }
}

/// Appends a frame header to `out`: first byte `b0` (FIN | RSV | opcode) as given, a declared payload
/// length of `len` in its minimal encoding, the mask bit and key when `mask` is given. The payload is not
/// included, so a header may declare more bytes than will follow.
pub fn encode_header_into(out: &mut Vec<u8>, b0: u8, len: u64, mask: Option<[u8; 4]>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(b0);
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// A frame header (see [`encode_header_into`]).
pub fn header(b0: u8, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    encode_header_into(&mut out, b0, len, mask);
    out
}

/// Appends a whole frame to `out`: first byte `b0` (FIN | RSV | opcode) as given, minimal length, the
/// payload masked with `mask` when given.
pub fn encode_frame_into(out: &mut Vec<u8>, b0: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    out.reserve(14 + payload.len());
    encode_header_into(out, b0, payload.len() as u64, mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// A whole frame (see [`encode_frame_into`]).
pub fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame_into(&mut out, b0, payload, mask);
    out
}

/// A close frame's payload: the code, big-endian, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// FIN bit.
    pub fin: bool,
    /// RSV1..3 as they stand in the first byte (bits `0x70`).
    pub rsv: u8,
    /// Opcode (the low four bits of the first byte).
    pub opcode: u8,
    /// The masking key, when the mask bit is set.
    pub mask: Option<[u8; 4]>,
    /// The declared payload length.
    pub len: u64,
    /// Bytes taken by the header itself: 2, 4 or 10, plus 4 with a mask.
    pub header_len: usize,
}

/// Bytes a frame header takes, known from its second byte alone (length encoding and mask bit).
pub fn header_len(b1: u8) -> usize {
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// Reads the frame header at the start of `buf` whatever its bits and however its length is encoded;
/// `None` while it is incomplete.
pub fn peek_header(buf: &[u8]) -> Option<Header> {
    let [b0, b1, ..] = *buf else {
        return None;
    };
    let header_len = header_len(b1);
    let head = buf.get(..header_len)?;
    let (len, at) = match b1 & 0x7f {
        126 => (u64::from(u16::from_be_bytes([head[2], head[3]])), 4),
        127 => (u64::from_be_bytes(head[2..10].try_into().unwrap()), 10),
        n => (u64::from(n), 2),
    };
    let mask = (b1 & 0x80 != 0).then(|| [head[at], head[at + 1], head[at + 2], head[at + 3]]);
    Some(Header {
        fin: b0 & 0x80 != 0,
        rsv: b0 & 0x70,
        opcode: b0 & 0x0f,
        mask,
        len,
        header_len,
    })
}

/// Why a frame header is invalid on its own (RFC 6455 section 5: no connection state, no extensions, so
/// the RSV bits are not judged here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// An opcode RFC 6455 reserves (3-7, 0xB-0xF).
    ReservedOpcode(u8),
    /// A 16- or 64-bit length that fits a shorter encoding.
    NonMinimalLength(u64),
    /// A 64-bit length with its most significant bit set.
    LengthTopBitSet,
    /// A control frame without FIN.
    FragmentedControl,
    /// A control frame declaring more than 125 bytes.
    ControlTooLong(u64),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::NonMinimalLength(len) => write!(f, "length {len} not minimally encoded"),
            Self::LengthTopBitSet => f.write_str("64-bit length has its most significant bit set"),
            Self::FragmentedControl => f.write_str("control frame without FIN"),
            Self::ControlTooLong(len) => write!(f, "control frame of {len} bytes (more than 125)"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Decodes the frame header at the start of `buf`, checking what RFC 6455 requires of any frame:
/// `Ok(None)` while more bytes are needed. An error is reported as soon as the bytes that prove it are
/// present, in wire order: the opcode (first byte), then the length, then, for a control frame, FIN and
/// the length limit; the mask key is read last.
pub fn decode_header(buf: &[u8]) -> Result<Option<Header>, HeaderError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let opcode = b0 & 0x0f;
    if !is_known_opcode(opcode) {
        return Err(HeaderError::ReservedOpcode(opcode));
    }
    let len = match b1 & 0x7f {
        126 => {
            let Some(ext) = buf.get(2..4) else {
                return Ok(None);
            };
            let len = u64::from(u16::from_be_bytes([ext[0], ext[1]]));
            if len < 126 {
                return Err(HeaderError::NonMinimalLength(len));
            }
            len
        }
        127 => {
            let Some(ext) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(ext.try_into().unwrap());
            if len >> 63 != 0 {
                return Err(HeaderError::LengthTopBitSet);
            }
            if len <= 0xffff {
                return Err(HeaderError::NonMinimalLength(len));
            }
            len
        }
        n => u64::from(n),
    };
    if is_control(opcode) {
        if b0 & 0x80 == 0 {
            return Err(HeaderError::FragmentedControl);
        }
        if len > 125 {
            return Err(HeaderError::ControlTooLong(len));
        }
    }
    Ok(peek_header(buf))
}

/// One whole frame as it was on the wire, payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// FIN bit.
    pub fin: bool,
    /// RSV1..3 as they stand in the first byte (bits `0x70`).
    pub rsv: u8,
    /// Opcode.
    pub opcode: u8,
    /// Whether the frame was masked.
    pub masked: bool,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// Whether this is a control frame.
    pub fn is_control(&self) -> bool {
        is_control(self.opcode)
    }

    /// The code of a close frame; `None` for any other frame and for a close frame with no payload.
    pub fn close_code(&self) -> Option<u16> {
        match self.payload[..] {
            [hi, lo, ..] if self.opcode == CLOSE => Some(u16::from_be_bytes([hi, lo])),
            _ => None,
        }
    }

    /// The reason of a close frame (empty when there is none). Panics when it is not UTF-8.
    #[track_caller]
    pub fn close_reason(&self) -> &str {
        std::str::from_utf8(self.payload.get(2..).unwrap_or_default())
            .expect("a UTF-8 close reason")
    }

    /// The frame encoded again: same bits, minimal length, masked with `mask` when given.
    pub fn encode(&self, mask: Option<[u8; 4]>) -> Vec<u8> {
        frame(
            first_byte(self.fin, self.rsv, self.opcode),
            &self.payload,
            mask,
        )
    }
}

/// The first byte of a frame: FIN, then `rsv` (the RSV bits as they stand in the byte, e.g. [`RSV1`]) and
/// `opcode` OR-ed in as given.
pub fn first_byte(fin: bool, rsv: u8, opcode: u8) -> u8 {
    (if fin { FIN } else { 0 }) | rsv | opcode
}

/// The frame whose (already read) header is `header` and whose payload is `body` (still masked, if it was).
fn frame_of(header: &Header, body: &[u8]) -> Frame {
    let mut payload = body.to_vec();
    if let Some(key) = header.mask {
        apply_mask(&mut payload, key, 0);
    }
    Frame {
        fin: header.fin,
        rsv: header.rsv,
        opcode: header.opcode,
        masked: header.mask.is_some(),
        payload,
    }
}

/// The end of the frame with `header` starting at `pos`, if `total` bytes hold all of it.
fn frame_end(pos: usize, header: &Header, total: usize) -> Option<usize> {
    let len = usize::try_from(header.len).ok()?;
    pos.checked_add(header.header_len)?
        .checked_add(len)
        .filter(|&end| end <= total)
}

/// Parses the complete frames at the start of `bytes` whatever their bits (see [`peek_header`]). Returns
/// them and the number of bytes they take; a trailing incomplete frame is left out.
pub fn parse_frames_prefix(bytes: &[u8]) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut pos = 0;
    while let Some(header) = peek_header(&bytes[pos..]) {
        let Some(end) = frame_end(pos, &header, bytes.len()) else {
            break;
        };
        frames.push(frame_of(&header, &bytes[pos + header.header_len..end]));
        pos = end;
    }
    (frames, pos)
}

/// Parses `bytes`, which must be whole frames (any bits). Panics on a trailing incomplete frame.
#[track_caller]
pub fn parse_frames(bytes: &[u8]) -> Vec<Frame> {
    let (frames, used) = parse_frames_prefix(bytes);
    assert_eq!(
        used,
        bytes.len(),
        "trailing bytes that are not a whole frame: {:02x?}",
        &bytes[used..bytes.len().min(used + 16)]
    );
    frames
}

/// Parses `bytes`, which an endpoint wrote, as whole frames that pass [`decode_header`]. Panics when they
/// do not: an endpoint must only ever write well-formed, minimally encoded frames.
#[track_caller]
pub fn parse_valid_frames(bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let header = match decode_header(&bytes[pos..]) {
            Ok(Some(h)) => h,
            other => panic!(
                "an invalid or partial frame header {other:?} at {pos}: {:02x?}",
                &bytes[pos..bytes.len().min(pos + 16)]
            ),
        };
        let end = frame_end(pos, &header, bytes.len())
            .unwrap_or_else(|| panic!("a truncated frame {header:?} at {pos}"));
        frames.push(frame_of(&header, &bytes[pos + header.header_len..end]));
        pos = end;
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        // RFC 6455 section 5.7.
        assert_eq!(
            frame(FIN | TEXT, b"Hello", None),
            b"\x81\x05\x48\x65\x6c\x6c\x6f"
        );
        let masked = frame(FIN | TEXT, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(masked, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
        assert_eq!(
            parse_valid_frames(&masked),
            [Frame {
                fin: true,
                rsv: 0,
                opcode: TEXT,
                masked: true,
                payload: b"Hello".to_vec()
            }]
        );
        let fragmented = [frame(TEXT, b"Hel", None), frame(FIN | CONT, b"lo", None)].concat();
        assert_eq!(fragmented, b"\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f");
        assert_eq!(header(FIN | BINARY, 256, None), b"\x82\x7e\x01\x00");
        assert_eq!(
            header(FIN | BINARY, 65536, None),
            b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
        );
    }

    #[test]
    fn every_length_encoding_round_trips_in_any_cut() {
        for len in [0, 1, 125, 126, 127, 65535, 65536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            for mask in [None, Some([1, 2, 3, 4])] {
                let bytes = frame(FIN | BINARY, &payload, mask);
                let h = decode_header(&bytes).unwrap().unwrap();
                assert_eq!((h.len, h.header_len), (len as u64, header_len(bytes[1])));
                assert_eq!(bytes.len(), h.header_len + len);
                for cut in [1, 2, 3, 9, h.header_len, bytes.len() - 1] {
                    let cut = cut.min(bytes.len() - 1);
                    assert_eq!(
                        parse_frames_prefix(&bytes[..cut]),
                        (vec![], 0),
                        "len {len} cut {cut}"
                    );
                }
                let parsed = parse_frames(&bytes);
                assert_eq!((parsed.len(), &parsed[0].payload), (1, &payload));
                assert_eq!(parsed[0].encode(mask), bytes);
            }
        }
    }

    #[test]
    fn mask_offsets_compose() {
        let data: Vec<u8> = (0..23).collect();
        let key = [9, 8, 7, 6];
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let (a, b) = pieces.split_at_mut(5);
        apply_mask(a, key, 0);
        apply_mask(b, key, 5);
        assert_eq!(whole, pieces);
        apply_mask(&mut whole, key, 0);
        assert_eq!(whole, data);
    }

    #[test]
    fn strict_decoding_rejects_in_wire_order() {
        let cases: [(&[u8], HeaderError); 7] = [
            (&[0x83, 0x00], HeaderError::ReservedOpcode(3)),
            (&[0x8b, 0xff], HeaderError::ReservedOpcode(0xb)),
            (&[0x82, 126, 0, 125], HeaderError::NonMinimalLength(125)),
            (
                &[0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
                HeaderError::NonMinimalLength(65535),
            ),
            (
                &[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
                HeaderError::LengthTopBitSet,
            ),
            (&[0x09, 0x00], HeaderError::FragmentedControl),
            (&[0x89, 126, 0, 126], HeaderError::ControlTooLong(126)),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode_header(bytes), Err(want), "{bytes:02x?}");
        }
        assert_eq!(decode_header(&[0x82, 127, 0, 0]), Ok(None));
        assert_eq!(decode_header(&[0x82, 0x81, 1, 2]), Ok(None));
        // The lenient reader takes what the strict one refuses.
        assert_eq!(peek_header(&[0x09, 0x00]).map(|h| h.opcode), Some(PING));
        assert_eq!(
            peek_header(&[0xc2, 126, 0, 5]).map(|h| (h.rsv, h.len)),
            Some((0x40, 5))
        );
    }

    #[test]
    fn close_frames() {
        let close = &parse_frames(&frame(FIN | CLOSE, &close_payload(1001, b"bye"), None))[0];
        assert_eq!(
            (close.close_code(), close.close_reason()),
            (Some(1001), "bye")
        );
        let empty = &parse_frames(&frame(FIN | CLOSE, b"", None))[0];
        assert_eq!((empty.close_code(), empty.close_reason()), (None, ""));
        let ping = &parse_frames(&frame(FIN | PING, b"\x03\xe8", None))[0];
        assert_eq!(ping.close_code(), None);
    }

    #[test]
    fn lengths_beyond_the_buffer_are_incomplete_not_a_panic() {
        let huge = [0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(parse_frames_prefix(&huge), (vec![], 0));
    }
}
