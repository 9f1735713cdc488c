//! RFC 6455 framing as the load generator needs it: encoding masked client
//! frames and parsing the (unmasked) frames a server sends back.
//!
//! The bytes are encoded and decoded by `ws_testkit::wire`, the workspace's
//! reference frame toolkit: written from the RFC, sharing no code with any of
//! the servers measured (ws-testkit is taken without its default features,
//! which are what depend on `ws-async`). This module adds the load generator's
//! view on top: typed opcodes, what a server must not send, and a buffer.

use bytes::{Buf, BytesMut};
use std::fmt;
use ws_testkit::wire::{self as reference, FIN, HeaderError};

/// Largest server frame payload the reader accepts (guards against garbage
/// lengths; well above the 16 MiB every server must support).
pub const MAX_SERVER_PAYLOAD: u64 = 64 << 20;

/// A frame opcode (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes the low four bits of the first header byte.
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The four-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// Appends one complete, masked client frame (FIN set) to `out`.
pub fn encode_client_frame(opcode: OpCode, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    reference::encode_frame_into(out, FIN | opcode.bits(), payload, Some(mask));
}

/// Builds a masked client close frame carrying `code` and no reason.
pub fn client_close_frame(code: u16, mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    encode_client_frame(OpCode::Close, &code.to_be_bytes(), mask, &mut out);
    out
}

/// The parsed header of one server frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN bit: this frame ends its message.
    pub fin: bool,
    /// RSV1 bit: the message is compressed (permessage-deflate, RFC 7692);
    /// only ever set when the parser was told the extension is in use.
    pub rsv1: bool,
    /// The frame's opcode.
    pub opcode: OpCode,
    /// Bytes taken by the header itself (2, 4 or 10).
    pub header_len: usize,
    /// Bytes of payload following the header.
    pub payload_len: usize,
}

/// A server frame that breaks RFC 6455.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// RSV1..3 set although no extension was negotiated.
    ReservedBits(u8),
    /// An opcode RFC 6455 does not define.
    UnknownOpcode(u8),
    /// The server masked its frame (§5.1 forbids it).
    Masked,
    /// A 16- or 64-bit length that would have fit a shorter encoding.
    NonMinimalLength(u64),
    /// A 64-bit length with its most significant bit set.
    LengthHighBit,
    /// A control frame longer than 125 bytes or without FIN.
    BadControlFrame,
    /// A payload larger than [`MAX_SERVER_PAYLOAD`].
    TooLong(u64),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits(b) => write!(f, "reserved bits set in first byte 0x{b:02x}"),
            Self::UnknownOpcode(op) => write!(f, "unknown opcode 0x{op:x}"),
            Self::Masked => f.write_str("server frame is masked"),
            Self::NonMinimalLength(len) => write!(f, "length {len} not minimally encoded"),
            Self::LengthHighBit => f.write_str("64-bit length has its high bit set"),
            Self::BadControlFrame => f.write_str("control frame fragmented or longer than 125"),
            Self::TooLong(len) => write!(f, "payload of {len} bytes exceeds the limit"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parses the header of the server frame at the start of `buf`, no extension
/// being in use.
///
/// Returns `Ok(None)` while the header is still incomplete.
pub fn parse_server_header(buf: &[u8]) -> Result<Option<FrameHeader>, FrameError> {
    parse_server_header_with(buf, false)
}

/// Parses the header of the server frame at the start of `buf`; with
/// `deflate` (permessage-deflate negotiated) RSV1 may be set on the first
/// frame of a data message (RFC 7692 §6).
///
/// Returns `Ok(None)` while the header is still incomplete.
pub fn parse_server_header_with(
    buf: &[u8],
    deflate: bool,
) -> Result<Option<FrameHeader>, FrameError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    // What only a server must not send, from the first two bytes: no reserved bit beyond what the
    // negotiated extension allows, and servers do not mask (section 5.1). The rest is RFC 6455's rules
    // for any frame.
    let allowed = if deflate && matches!(b0 & 0x0F, 0x1 | 0x2) {
        0x40
    } else {
        0
    };
    if b0 & 0x70 & !allowed != 0 {
        return Err(FrameError::ReservedBits(b0));
    }
    let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(FrameError::UnknownOpcode(b0 & 0x0F))?;
    if b1 & 0x80 != 0 {
        return Err(FrameError::Masked);
    }
    let header = match reference::decode_header(buf) {
        Ok(Some(header)) => header,
        Ok(None) => return Ok(None),
        Err(HeaderError::ReservedOpcode(op)) => return Err(FrameError::UnknownOpcode(op)),
        Err(HeaderError::NonMinimalLength(len)) => return Err(FrameError::NonMinimalLength(len)),
        Err(HeaderError::LengthTopBitSet) => return Err(FrameError::LengthHighBit),
        Err(HeaderError::FragmentedControl | HeaderError::ControlTooLong(_)) => {
            return Err(FrameError::BadControlFrame);
        }
    };
    if header.len > MAX_SERVER_PAYLOAD {
        return Err(FrameError::TooLong(header.len));
    }
    Ok(Some(FrameHeader {
        fin: header.fin,
        rsv1: b0 & 0x40 != 0,
        opcode,
        header_len: header.header_len,
        payload_len: header.len as usize,
    }))
}

/// Accumulates bytes read from a server and hands out whole frames, without
/// copying them: a frame borrows the buffer until the next call.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    buf: BytesMut,
    /// Length of the frame last handed out, dropped from `buf` lazily.
    taken: usize,
    /// permessage-deflate is in use: RSV1 may be set on data frames.
    deflate: bool,
}

/// One whole server frame, borrowed from a [`FrameBuffer`].
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// The frame's header.
    pub header: FrameHeader,
    /// The frame's payload (servers do not mask, so these are the plain bytes).
    pub payload: &'a [u8],
}

impl FrameBuffer {
    /// Accepts compressed data frames (RSV1 set) from now on: permessage-deflate
    /// was negotiated.
    pub fn allow_deflate(&mut self) {
        self.deflate = true;
    }

    /// Appends bytes received from the server.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.settle();
        self.buf.extend_from_slice(bytes);
    }

    /// The underlying buffer, to read into directly (e.g. with `read_buf`).
    ///
    /// Call [`FrameBuffer::reserve_for_next_read`] first so that there is spare
    /// capacity to read into.
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        self.settle();
        &mut self.buf
    }

    /// Makes room for at least `min_read` more bytes, and for the whole of a
    /// partially received frame whose length is already known.
    pub fn reserve_for_next_read(&mut self, min_read: usize) {
        self.settle();
        let frame_rest = match parse_server_header_with(&self.buf, self.deflate) {
            Ok(Some(h)) => (h.header_len + h.payload_len).saturating_sub(self.buf.len()),
            _ => 0,
        };
        self.buf.reserve(min_read.max(frame_rest));
    }

    /// The next complete frame, or `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        self.settle();
        let Some(header) = parse_server_header_with(&self.buf, self.deflate)? else {
            return Ok(None);
        };
        let total = header.header_len + header.payload_len;
        if self.buf.len() < total {
            return Ok(None);
        }
        self.taken = total;
        Ok(Some(Frame {
            header,
            payload: &self.buf[header.header_len..total],
        }))
    }

    /// Bytes buffered but not yet handed out as frames.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.taken
    }

    /// Drops the frame handed out last.
    fn settle(&mut self) {
        if self.taken > 0 {
            self.buf.advance(self.taken);
            self.taken = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes an unmasked (server) frame, the way a server would.
    fn server_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        reference::frame(first_byte, payload, None)
    }

    #[test]
    fn client_frame_is_masked_and_unmasks_to_payload() {
        let payload = b"Hello";
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = Vec::new();
        encode_client_frame(OpCode::Text, payload, mask, &mut out);
        // RFC 6455 §5.7 example: a single-frame masked text message.
        assert_eq!(
            out,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
    }

    #[test]
    fn client_frame_uses_each_length_encoding() {
        for (len, header) in [(125, 6), (126, 8), (65535, 8), (65536, 14)] {
            let mut out = Vec::new();
            encode_client_frame(OpCode::Binary, &vec![7; len], [1, 2, 3, 4], &mut out);
            assert_eq!(out.len(), header + len, "payload {len}");
        }
    }

    #[test]
    fn parses_all_three_length_encodings() {
        for len in [0, 20, 125, 126, 1024, 65535, 65536, 200_000] {
            let bytes = server_frame(0x82, &vec![9; len]);
            let mut fb = FrameBuffer::default();
            // Feed one byte at a time: no frame until the last byte arrives.
            for (i, b) in bytes.iter().enumerate() {
                assert!(fb.next_frame().unwrap().is_none(), "len {len} at byte {i}");
                fb.extend_from_slice(&[*b]);
            }
            let frame = fb.next_frame().unwrap().expect("complete frame");
            assert_eq!(frame.header.opcode, OpCode::Binary);
            assert!(frame.header.fin);
            assert_eq!(frame.payload.len(), len);
            assert_eq!(fb.pending(), 0);
        }
    }

    #[test]
    fn splits_back_to_back_frames() {
        let mut bytes = server_frame(0x81, b"abc");
        bytes.extend(server_frame(0x02, b"de"));
        bytes.extend(server_frame(0x80, b"f"));
        let mut fb = FrameBuffer::default();
        fb.extend_from_slice(&bytes);
        let a = fb.next_frame().unwrap().unwrap();
        assert_eq!((a.header.opcode, a.payload), (OpCode::Text, &b"abc"[..]));
        let b = fb.next_frame().unwrap().unwrap();
        assert_eq!((b.header.opcode, b.header.fin), (OpCode::Binary, false));
        assert_eq!(b.payload, b"de");
        let c = fb.next_frame().unwrap().unwrap();
        assert_eq!(
            (c.header.opcode, c.payload),
            (OpCode::Continuation, &b"f"[..])
        );
        assert_eq!(fb.pending(), 0);
        assert!(fb.next_frame().unwrap().is_none());
    }

    #[test]
    fn rejects_protocol_violations() {
        let cases: [(&[u8], FrameError); 7] = [
            (&[0x82, 0x81, 0, 0, 0, 0, 1], FrameError::Masked),
            (&[0xC2, 0x00], FrameError::ReservedBits(0xC2)),
            (&[0x83, 0x00], FrameError::UnknownOpcode(3)),
            (&[0x82, 126, 0, 125], FrameError::NonMinimalLength(125)),
            (
                &[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
                FrameError::NonMinimalLength(65535),
            ),
            (
                &[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
                FrameError::LengthHighBit,
            ),
            (&[0x09, 0x00], FrameError::BadControlFrame),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse_server_header(bytes), Err(want), "{bytes:x?}");
        }
        assert_eq!(
            parse_server_header(&[0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0]),
            Err(FrameError::TooLong(1 << 28))
        );
    }

    #[test]
    fn rsv1_only_with_deflate_and_only_on_data_frames() {
        assert_eq!(
            parse_server_header(&[0xC2, 0x00]),
            Err(FrameError::ReservedBits(0xC2))
        );
        let header = parse_server_header_with(&[0xC2, 0x00], true)
            .unwrap()
            .unwrap();
        assert!(header.rsv1 && header.fin);
        assert_eq!(header.opcode, OpCode::Binary);
        // RSV2 stays forbidden, and so does RSV1 on a control frame.
        assert!(parse_server_header_with(&[0xA2, 0x00], true).is_err());
        assert!(parse_server_header_with(&[0xC9, 0x00], true).is_err());
        let mut fb = FrameBuffer::default();
        fb.allow_deflate();
        fb.extend_from_slice(&server_frame(0xC1, b"xy"));
        let frame = fb.next_frame().unwrap().unwrap();
        assert!(frame.header.rsv1);
        assert_eq!(frame.payload, b"xy");
    }
}
