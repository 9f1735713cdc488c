//! Frames on the wire, parsed independently of `ws_core::frame`.

/// A reference decoding of a frame header (RFC 6455 section 5.2), written from the RFC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefHeader {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub len: u64,
    pub header_len: usize,
}

/// Why a header is invalid on its own (no connection state), by class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefHeaderError {
    ReservedOpcode,
    NonMinimalLength,
    LengthTopBitSet,
    FragmentedControl,
    ControlTooLong,
}

pub fn is_known_opcode(op: u8) -> bool {
    matches!(op, 0x0 | 0x1 | 0x2 | 0x8 | 0x9 | 0xA)
}

/// Decodes a header: `Ok(None)` when more bytes are needed. Errors are reported as soon as the bytes that
/// prove them are present, in wire order (first byte, then the length, then the mask).
pub fn decode_header(buf: &[u8]) -> Result<Option<RefHeader>, RefHeaderError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let fin = buf[0] & 0x80 != 0;
    let rsv = buf[0] & 0x70;
    let opcode = buf[0] & 0x0f;
    if !is_known_opcode(opcode) {
        return Err(RefHeaderError::ReservedOpcode);
    }
    let masked = buf[1] & 0x80 != 0;
    let (len, mut at) = match buf[1] & 0x7f {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            let len = u16::from_be_bytes([buf[2], buf[3]]) as u64;
            if len < 126 {
                return Err(RefHeaderError::NonMinimalLength);
            }
            (len, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let len = u64::from_be_bytes(buf[2..10].try_into().unwrap());
            if len & (1 << 63) != 0 {
                return Err(RefHeaderError::LengthTopBitSet);
            }
            if len < 65536 {
                return Err(RefHeaderError::NonMinimalLength);
            }
            (len, 10)
        }
        n => (n as u64, 2),
    };
    if opcode >= 0x8 {
        if !fin {
            return Err(RefHeaderError::FragmentedControl);
        }
        if len > 125 {
            return Err(RefHeaderError::ControlTooLong);
        }
    }
    let mask = if masked {
        if buf.len() < at + 4 {
            return Ok(None);
        }
        let key = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        at += 4;
        Some(key)
    } else {
        None
    };
    Ok(Some(RefHeader {
        fin,
        rsv,
        opcode,
        mask,
        len,
        header_len: at,
    }))
}

/// XORs `data` with `key`, the first byte of `data` being byte `offset` of the payload.
pub fn unmask(data: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// A whole frame, payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl WireFrame {
    pub fn is_control(&self) -> bool {
        self.opcode >= 0x8
    }

    /// The code of a close frame (`None` for an empty payload).
    pub fn close_code(&self) -> Option<u16> {
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Parses `bytes`, which an endpoint wrote, as whole, valid frames. Panics (a fuzz finding) when they are
/// not: an endpoint must only ever write well-formed, minimally encoded frames.
#[track_caller]
pub fn parse_own_frames(bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let header = match decode_header(&bytes[pos..]) {
            Ok(Some(h)) => h,
            other => panic!(
                "endpoint wrote an invalid or partial frame header {other:?} at {pos}: {:02x?}",
                &bytes[pos..bytes.len().min(pos + 16)]
            ),
        };
        let start = pos + header.header_len;
        let end = start
            .checked_add(header.len as usize)
            .filter(|&e| e <= bytes.len())
            .unwrap_or_else(|| panic!("endpoint wrote a truncated frame {header:?}"));
        let mut payload = bytes[start..end].to_vec();
        if let Some(key) = header.mask {
            unmask(&mut payload, key, 0);
        }
        frames.push(WireFrame {
            fin: header.fin,
            rsv: header.rsv,
            opcode: header.opcode,
            masked: header.mask.is_some(),
            payload,
        });
        pos = end;
    }
    frames
}

/// Encodes a frame: `b0` as given, minimal length, masked with `mask` when given.
pub fn encode_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(bit | len as u8);
    } else if len <= 0xffff {
        out.push(bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let start = out.len() + mask.map_or(0, |_| 4);
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        unmask(&mut out[start..], key, 0);
    }
    out
}
