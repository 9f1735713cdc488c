//! A reference model of the receive path: given every byte an open connection was fed, the events it must
//! produce, in order, up to the first one that ends it.
//!
//! Written from RFC 6455 (sections 5.2-5.6, 7.4, 8.1) and RFC 7692 (section 6), not from the core. The only
//! choices taken from the core's documentation are the limits ([`ws_core::Limits`]) and the order in which
//! simultaneous faults of one frame are reported (header decoding, then: reserved bits, masking, frame size,
//! RSV1 on a control frame, continuation rules, fragment count, message size; then the payload), because the
//! close code differs between them. Inflating uses the core's own `Decompressor` (the model checks the
//! framing around it; `deflate_inflate` checks the codec).

use bytes::BytesMut;
use ws_core::deflate::{Decompressor, InflateError};
use ws_core::{Limits, Role};

use crate::wire::{HeaderError, apply_mask, decode_header};
use crate::{sendable_close_code, utf8_prefix_ok};

/// An event, reduced to what the model can predict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Message {
        text: bool,
        data: Vec<u8>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The peer's close frame ended the connection (`None`: empty payload).
    Close(Option<(u16, String)>),
    /// The peer broke a rule; the close code owed (1002, 1007, 1009).
    Fault(u16),
}

struct InMessage {
    text: bool,
    data: Vec<u8>,
    frames: usize,
    encoded: bool,
}

pub struct Model {
    role: Role,
    limits: Limits,
    inflater: Option<Decompressor>,
}

impl Model {
    /// `inflater`: the decompressor for the peer's messages when permessage-deflate was negotiated.
    pub fn new(role: Role, limits: Limits, inflater: Option<Decompressor>) -> Self {
        Model {
            role,
            limits,
            inflater,
        }
    }

    /// Runs the model over `stream` (everything received after the handshake).
    pub fn run(mut self, stream: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        if let Err(code) = self.frames(stream, &mut items) {
            items.push(Item::Fault(code));
        }
        items
    }

    fn frames(&mut self, stream: &[u8], items: &mut Vec<Item>) -> Result<(), u16> {
        let limits = self.limits;
        let mut message: Option<InMessage> = None;
        let mut pos = 0;
        loop {
            let rest = &stream[pos..];
            let header = match decode_header(rest) {
                Ok(Some(h)) => h,
                Ok(None) => return Ok(()),
                Err(
                    HeaderError::ReservedOpcode(_)
                    | HeaderError::NonMinimalLength(_)
                    | HeaderError::LengthTopBitSet
                    | HeaderError::FragmentedControl
                    | HeaderError::ControlTooLong(_),
                ) => return Err(1002),
            };
            let deflate = self.inflater.is_some();
            let rsv1 = header.rsv & 0x40 != 0;
            // Reserved bits: only RSV1, and only with permessage-deflate (RFC 7692 section 6).
            if header.rsv & !(if deflate { 0x40 } else { 0 }) != 0 {
                return Err(1002);
            }
            // Section 5.1: clients mask, servers do not.
            let masked = header.mask.is_some();
            if masked != (self.role == Role::Server) {
                return Err(1002);
            }
            if header.len > limits.max_frame_size as u64 {
                return Err(1009);
            }
            let control = header.opcode >= 0x8;
            let encoded = if control {
                if rsv1 {
                    return Err(1002);
                }
                false
            } else {
                match (&message, header.opcode) {
                    (None, 0x0) => return Err(1002),
                    (Some(_), 0x1 | 0x2) => return Err(1002),
                    (Some(_), _) if rsv1 => return Err(1002),
                    (Some(m), _) => {
                        if m.frames + 1 > limits.max_fragments {
                            return Err(1009);
                        }
                        m.encoded
                    }
                    (None, _) => rsv1,
                }
            };
            if !control && !encoded {
                let so_far = message.as_ref().map_or(0, |m| m.data.len()) as u64;
                if so_far + header.len > limits.max_message_size as u64 {
                    return Err(1009);
                }
            }
            let len = header.len as usize;
            let available = (rest.len() - header.header_len).min(len);
            let mut payload = rest[header.header_len..header.header_len + available].to_vec();
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            let complete = available == len;
            if control {
                if !complete {
                    return Ok(());
                }
                match header.opcode {
                    0x9 => items.push(Item::Ping(payload)),
                    0xA => items.push(Item::Pong(payload)),
                    _ => {
                        let close = match payload.as_slice() {
                            [] => None,
                            [_] => return Err(1002),
                            [hi, lo, reason @ ..] => {
                                let code = u16::from_be_bytes([*hi, *lo]);
                                if !sendable_close_code(code) {
                                    return Err(1002);
                                }
                                let reason = std::str::from_utf8(reason).map_err(|_| 1007u16)?;
                                Some((code, reason.to_string()))
                            }
                        };
                        items.push(Item::Close(close));
                        return Ok(());
                    }
                }
            } else {
                let m = message.get_or_insert_with(|| InMessage {
                    text: header.opcode == 0x1,
                    data: Vec::new(),
                    frames: 0,
                    encoded,
                });
                if encoded {
                    if available > 0 || len == 0 {
                        let inflater = self.inflater.as_mut().expect("encoded needs deflate");
                        let mut out = BytesMut::from(&m.data[..]);
                        let fin = header.fin && complete;
                        match inflater.decompress(&payload, fin, &mut out, limits.max_message_size)
                        {
                            Ok(()) => {}
                            Err(InflateError::TooBig) => return Err(1009),
                            Err(_) => return Err(1002),
                        }
                        m.data = out.to_vec();
                    }
                } else {
                    m.data.extend_from_slice(&payload);
                }
                // Section 8.1: fail fast on invalid UTF-8, even inside a fragment.
                if m.text && !utf8_prefix_ok(&m.data) {
                    return Err(1007);
                }
                if !complete {
                    return Ok(());
                }
                m.frames += 1;
                if header.fin {
                    let m = message.take().unwrap();
                    if m.text && std::str::from_utf8(&m.data).is_err() {
                        return Err(1007);
                    }
                    items.push(Item::Message {
                        text: m.text,
                        data: m.data,
                    });
                }
            }
            pos += header.header_len + len;
        }
    }
}
