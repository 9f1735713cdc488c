//! The framer: turns messages and control payloads into frames in the output queue, masking them when the
//! role asks for it. A [`super::Connection`] has one; a [`super::Sender`] split off it takes the connection's
//! data messages (and its output queue) with it.

use alloc::boxed::Box;
use bytes::Bytes;
use rand_chacha::ChaCha12Rng;
use rand_core::RngCore;

use super::output::{self, Queue};
use super::{DataKind, MessageRef, OutMessage, SendError, SendOptions};
use crate::close::{CloseCode, CloseFrame};
use crate::extension::Extension;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode};
use crate::mask::apply_mask;
use crate::prepared::{self, Encoded, PreparedMessage};
use crate::utf8::Utf8Validator;

/// Frame encoding state: the mask source, the output queue, and a message being sent in fragments. (The
/// room encoded payloads are built in is the extension's: connections without one carry none.)
#[derive(Default)]
pub(super) struct Framer {
    /// The client's random source for masks (servers send unmasked frames).
    pub(super) rng: Option<Box<ChaCha12Rng>>,
    pub(super) out: Queue,
    /// The fragmented message in progress, if any.
    pub(super) sending: Option<OutMessage>,
}

impl Framer {
    /// A framer that masks with `rng` (clients) or not at all (`None`, servers).
    pub(super) fn new(rng: Option<Box<ChaCha12Rng>>) -> Self {
        Framer {
            rng,
            ..Framer::default()
        }
    }

    /// Queues a whole data message, prepared or not (see [`crate::PreparedMessage`]).
    #[inline]
    pub(super) fn send(
        &mut self,
        encoder: Option<&mut (dyn Extension + 'static)>,
        max_frame: usize,
        message: MessageRef<'_>,
        options: SendOptions,
    ) -> Result<(), SendError> {
        match message.prepared() {
            // A client masks every frame with a key of its own: nothing framed can be shared.
            Some(prepared) if self.rng.is_none() => {
                self.send_prepared(encoder, max_frame, prepared, options)
            }
            _ => {
                let (kind, payload) = message.parts();
                self.send_data(encoder, max_frame, kind, payload, options)
            }
        }
    }

    /// Queues a prepared message on a server connection: its frame as is when it needs no encoding
    /// (or the encoding one with the same shared-encoding key made), framed here otherwise.
    fn send_prepared(
        &mut self,
        encoder: Option<&mut (dyn Extension + 'static)>,
        max_frame: usize,
        prepared: &PreparedMessage,
        options: SendOptions,
    ) -> Result<(), SendError> {
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        let (kind, payload) = (prepared.kind(), prepared.shared_payload());
        match encoder {
            Some(extension) if options.compress && extension.should_encode(Some(payload.len())) => {
                let shared = extension.shared_encoding_key().and_then(|key| {
                    prepared.encoded(key, || {
                        let mut room = extension.take_room();
                        room.clear();
                        extension.encode(payload, true, &mut room);
                        let encoded = Encoded::new(key, kind, extension.rsv_bits(), &room);
                        extension.give_room(room);
                        encoded
                    })
                });
                match shared {
                    Some(encoded) if encoded.frame.len() - encoded.header_len <= max_frame => {
                        self.queue_frame(&encoded.frame);
                    }
                    Some(encoded) => {
                        let payload = encoded.payload();
                        let rsv = extension.rsv_bits();
                        self.write_message_frames(
                            max_frame,
                            kind.opcode(),
                            rsv,
                            &payload,
                            Some(&payload),
                            true,
                        );
                    }
                    None => {
                        return self.send_data(
                            Some(extension),
                            max_frame,
                            kind,
                            (payload, Some(payload)),
                            options,
                        );
                    }
                }
            }
            _ if payload.len() <= max_frame => self.queue_frame(prepared.shared_frame()),
            _ => {
                self.write_message_frames(max_frame, kind.opcode(), 0, payload, Some(payload), true)
            }
        }
        Ok(())
    }

    /// Queues a prepared frame: by reference when long enough, by copy otherwise.
    fn queue_frame(&mut self, frame: &Bytes) {
        if frame.len() >= prepared::SHARE_MIN {
            self.out.push_shared(frame.clone());
        } else {
            self.out.buf_mut().extend_from_slice(frame);
        }
    }

    /// Queues a whole data message; `shared` is `payload` as shared bytes when the caller has them.
    /// `encoder` is the extension that may encode it; `max_frame` splits it into frames.
    #[inline]
    fn send_data(
        &mut self,
        encoder: Option<&mut (dyn Extension + 'static)>,
        max_frame: usize,
        kind: DataKind,
        (payload, shared): (&[u8], Option<&Bytes>),
        options: SendOptions,
    ) -> Result<(), SendError> {
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        match encoder {
            Some(extension) if options.compress && extension.should_encode(Some(payload.len())) => {
                let mut encoded = extension.take_room();
                encoded.clear();
                extension.encode(payload, true, &mut encoded);
                let rsv = extension.rsv_bits();
                self.write_message_frames(max_frame, kind.opcode(), rsv, &encoded, None, true);
                extension.give_room(encoded);
            }
            _ => self.write_message_frames(max_frame, kind.opcode(), 0, payload, shared, true),
        }
        Ok(())
    }

    /// Queues one fragment of a message sent piece by piece (see [`super::Connection::send_fragment`]).
    pub(super) fn send_fragment(
        &mut self,
        encoder: Option<&mut (dyn Extension + 'static)>,
        max_frame: usize,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        let (mut out, first) = match self.sending {
            Some(out) if out.kind != kind => return Err(SendError::FragmentInProgress),
            Some(out) => (out, false),
            None => {
                let encoded = encoder.as_ref().is_some_and(|e| e.should_encode(None));
                (
                    OutMessage {
                        kind,
                        encoded,
                        utf8: Utf8Validator::new(),
                    },
                    true,
                )
            }
        };
        if kind == DataKind::Text {
            out.utf8.feed(data).map_err(|_| SendError::InvalidUtf8)?;
            if fin && !out.utf8.is_complete() {
                return Err(SendError::InvalidUtf8);
            }
        }
        let opcode = if first {
            kind.opcode()
        } else {
            OpCode::Continuation
        };
        match encoder {
            Some(extension) if out.encoded => {
                let mut encoded = extension.take_room();
                encoded.clear();
                extension.encode(data, fin, &mut encoded);
                let rsv = if first { extension.rsv_bits() } else { 0 };
                self.write_message_frames(max_frame, opcode, rsv, &encoded, None, fin);
                extension.give_room(encoded);
            }
            _ => self.write_message_frames(max_frame, opcode, 0, data, None, fin),
        }
        self.sending = if fin { None } else { Some(out) };
        Ok(())
    }

    /// Queues a ping or pong (payload at most 125 bytes).
    pub(super) fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.write_frame(opcode, 0, true, payload);
        Ok(())
    }

    /// Queues a close frame: [`CloseCode::NO_STATUS`] sends one with no payload.
    pub(super) fn write_close(&mut self, code: CloseCode, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = if code == CloseCode::NO_STATUS {
            0
        } else {
            payload[..2].copy_from_slice(&code.0.to_be_bytes());
            payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
            2 + reason.len()
        };
        self.write_frame(OpCode::Close, 0, true, &payload[..len]);
    }

    /// Queues a message's frames, split at `max_frame` bytes. `rsv` goes on the first. `shared` is
    /// `payload` as shared bytes, when the caller has them: large unmasked frames then reference it
    /// instead of copying it.
    fn write_message_frames(
        &mut self,
        max_frame: usize,
        opcode: OpCode,
        rsv: u8,
        payload: &[u8],
        shared: Option<&Bytes>,
        fin: bool,
    ) {
        let max = max_frame.max(1);
        let mut start = 0;
        loop {
            let end = start + (payload.len() - start).min(max);
            let first = start == 0;
            let last = end == payload.len();
            let op = if first { opcode } else { OpCode::Continuation };
            let rsv = if first { rsv } else { 0 };
            match shared {
                Some(bytes) if self.rng.is_none() && end - start >= output::SHARE_MIN => {
                    FrameHeader {
                        fin: fin && last,
                        rsv,
                        opcode: op,
                        mask: None,
                        payload_len: (end - start) as u64,
                    }
                    .encode(self.out.buf_mut());
                    self.out.push_shared(bytes.slice(start..end));
                }
                _ => self.write_frame(op, rsv, fin && last, &payload[start..end]),
            }
            if last {
                break;
            }
            start = end;
        }
    }

    /// Queues one frame, masked when this end is a client.
    pub(super) fn write_frame(&mut self, opcode: OpCode, rsv: u8, fin: bool, payload: &[u8]) {
        let mask = self.rng.as_mut().map(|rng| rng.next_u32().to_ne_bytes());
        let buf = self.out.buf_mut();
        // One allocation for header and payload (into an empty buffer, the header alone would
        // allocate, then the payload grow it).
        buf.reserve(crate::frame::MAX_HEADER_LEN + payload.len());
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        }
        .encode(buf);
        let start = buf.len();
        buf.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut buf[start..], key, 0);
        }
    }
}

/// Checks a close frame the application asked to send: a sendable code (or [`CloseCode::NO_STATUS`] with
/// no reason) and a reason of at most 123 bytes.
pub(super) fn check_close(code: CloseCode, reason: &str) -> Result<(), SendError> {
    if code != CloseCode::NO_STATUS && !code.is_sendable() {
        return Err(SendError::InvalidCloseCode);
    }
    if reason.len() > CloseFrame::MAX_REASON_LEN
        || (code == CloseCode::NO_STATUS && !reason.is_empty())
    {
        return Err(SendError::ControlPayloadTooLong);
    }
    Ok(())
}
