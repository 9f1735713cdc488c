//! Frame headers (RFC 6455 section 5.2): decoding with every wire rule checked, and minimal encoding.
//!
//! The payload is not handled here: the connection keeps it in its receive buffer and unmasks it in place.

use alloc::vec::Vec;

use crate::error::ProtocolError;

/// A frame opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for the reserved values 0x3-0x7 and 0xB-0xF.
    pub const fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// RSV1, as it sits in the first header byte (claimed by permessage-deflate).
pub const RSV1: u8 = 0x40;
/// RSV2, as it sits in the first header byte.
pub const RSV2: u8 = 0x20;
/// RSV3, as it sits in the first header byte.
pub const RSV3: u8 = 0x10;

/// Largest payload of a control frame (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Largest frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this frame ends its message.
    pub fin: bool,
    /// The RSV bits, in their header-byte positions ([`RSV1`], [`RSV2`], [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds only part of the header, and `Ok(Some((header, header_len)))`
    /// otherwise. Checks the rules that need no connection state: reserved opcodes, control frames that are
    /// fragmented or longer than 125 bytes, a 64-bit length with the top bit set, and lengths not encoded in
    /// the minimal number of bytes. (The RFC 6455 section 5.7 examples are unit tests below.)
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        let fin = b0 & 0x80 != 0;
        let rsv = b0 & (RSV1 | RSV2 | RSV3);
        let opcode =
            OpCode::from_bits(b0 & 0x0f).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0f))?;
        let masked = b1 & 0x80 != 0;
        let short_len = b1 & 0x7f;
        let (payload_len, mut pos) = match short_len {
            126 => {
                let Some(bytes) = buf.get(2..4) else {
                    return Ok(None);
                };
                let len = u16::from_be_bytes([bytes[0], bytes[1]]) as u64;
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut raw = [0u8; 8];
                raw.copy_from_slice(bytes);
                let len = u64::from_be_bytes(raw);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthTopBitSet);
                }
                if len <= u16::MAX as u64 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 10)
            }
            n => (n as u64, 2),
        };
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let mask = if masked {
            let Some(bytes) = buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            pos += 4;
            Some([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// Appends this header to `out`, with the length in the fewest bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let b0 = (if self.fin { 0x80 } else { 0 }) | self.rsv | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut header = [0u8; MAX_HEADER_LEN];
        header[0] = b0;
        let mut len = 2;
        if self.payload_len < 126 {
            header[1] = mask_bit | self.payload_len as u8;
        } else if self.payload_len <= u16::MAX as u64 {
            header[1] = mask_bit | 126;
            header[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            len = 4;
        } else {
            header[1] = mask_bit | 127;
            header[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            len = 10;
        }
        if let Some(key) = self.mask {
            header[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        out.extend_from_slice(&header[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::decode(buf)
    }

    #[test]
    fn rfc6455_5_7_examples() {
        // Single-frame masked text "Hello".
        let (h, len) = decode(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d])
            .unwrap()
            .unwrap();
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!((h.payload_len, len), (5, 6));
        // Fragmented unmasked text: "Hel" then "lo".
        let (first, _) = decode(&[0x01, 0x03]).unwrap().unwrap();
        assert_eq!((first.fin, first.opcode), (false, OpCode::Text));
        let (second, _) = decode(&[0x80, 0x02]).unwrap().unwrap();
        assert_eq!((second.fin, second.opcode), (true, OpCode::Continuation));
        // Unmasked ping "Hello".
        let (ping, _) = decode(&[0x89, 0x05]).unwrap().unwrap();
        assert_eq!(ping.opcode, OpCode::Ping);
        // 64 KiB binary, unmasked.
        let (big, len) = decode(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((big.payload_len, len), (65536, 10));
    }

    #[test]
    fn incomplete_headers_ask_for_more() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(decode(&full[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(decode(&full).unwrap().is_some());
    }

    #[test]
    fn rfc6455_5_2_reserved_opcodes_are_rejected() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                decode(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn rfc6455_5_2_top_bit_of_64_bit_length_must_be_zero() {
        assert_eq!(
            decode(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::LengthTopBitSet)
        );
    }

    #[test]
    fn rfc6455_5_2_minimal_length_encoding_is_required() {
        assert_eq!(
            decode(&[0x82, 126, 0, 125]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            decode(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(ProtocolError::NonMinimalLength)
        );
    }

    #[test]
    fn rfc6455_5_5_control_frames_are_short_and_unfragmented() {
        assert_eq!(
            decode(&[0x09, 0]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            decode(&[0x89, 126, 0, 126]),
            Err(ProtocolError::ControlFrameTooLong)
        );
        assert!(decode(&[0x89, 125]).unwrap().is_some());
    }

    #[test]
    fn encode_uses_minimal_lengths_and_round_trips() {
        for len in [0u64, 1, 125, 126, 65535, 65536, 1 << 40] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let h = FrameHeader {
                    fin: len % 2 == 0,
                    rsv: RSV1,
                    opcode: OpCode::Binary,
                    mask,
                    payload_len: len,
                };
                let mut out = Vec::new();
                h.encode(&mut out);
                let expected =
                    2 + if len < 126 {
                        0
                    } else if len < 65536 {
                        2
                    } else {
                        8
                    } + mask.map_or(0, |_| 4);
                assert_eq!(out.len(), expected);
                assert_eq!(decode(&out), Ok(Some((h, expected))));
            }
        }
    }
}
