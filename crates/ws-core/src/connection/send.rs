//! The send path: commands that queue frames, and the server's accept/reject decision.

use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::Bytes;
use rand_core::RngCore;

use super::{Connection, DataKind, OutMessage, Phase, SendError, output};
use crate::close::{CloseCode, CloseFrame};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode};
use crate::http::Headers;
use crate::http::Response;
use crate::http::server::{Accept, accept_headers_are_valid, encode_accept};
use crate::mask::apply_mask;
use crate::message::{Event, Message};
use crate::utf8::Utf8Validator;

/// Per-message send options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendOptions {
    /// Let a negotiated extension (permessage-deflate) encode this message. Default `true`; set `false` for
    /// data that is already compressed or secret data mixed with attacker-controlled data (CRIME/BREACH).
    pub compress: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions { compress: true }
    }
}

impl Connection {
    /// Queues a message.
    ///
    /// Fails only for local misuse: before the handshake completes, after a close frame was sent, or while a
    /// fragmented message is being sent.
    pub fn send(&mut self, message: &Message) -> Result<(), SendError> {
        self.send_with(message, SendOptions::default())
    }

    /// Queues a message with per-message options.
    ///
    /// A server queues a large payload (8 KiB or more) that goes out unencoded by reference, not by
    /// copy: the message's [`Bytes`] stay shared until written (see [`Connection::output_chunks`]).
    pub fn send_with(&mut self, message: &Message, options: SendOptions) -> Result<(), SendError> {
        let kind = if message.is_text() {
            DataKind::Text
        } else {
            DataKind::Binary
        };
        self.send_data(kind, message.as_bytes(), Some(message.shared()), options)
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(
            DataKind::Text,
            text.as_bytes(),
            None,
            SendOptions::default(),
        )
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(DataKind::Binary, data, None, SendOptions::default())
    }

    /// Queues a data message; `shared` is `payload` as shared bytes when the caller has them.
    fn send_data(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        shared: Option<&Bytes>,
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        let encode = options.compress
            && self
                .extension
                .as_ref()
                .is_some_and(|e| e.should_encode(Some(payload.len())));
        if encode {
            let mut encoded = core::mem::take(&mut self.scratch);
            encoded.clear();
            if let Some(extension) = self.extension.as_mut() {
                extension.encode(payload, true, &mut encoded);
            }
            let rsv = self.extension.as_ref().map_or(0, |e| e.rsv_bits());
            self.write_message_frames(kind.opcode(), rsv, &encoded, None, true);
            self.scratch = encoded;
        } else {
            self.write_message_frames(kind.opcode(), 0, payload, shared, true);
        }
        Ok(())
    }

    /// Queues one fragment of a message sent piece by piece: the first call starts a message of `kind`,
    /// `fin` ends it. Text fragments may split a character; the joined text must be UTF-8 (checked as it
    /// goes: a fragment that makes it invalid is refused and nothing is sent).
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let (mut out, first) = match self.sending {
            Some(out) if out.kind != kind => return Err(SendError::FragmentInProgress),
            Some(out) => (out, false),
            None => {
                let encoded = self
                    .extension
                    .as_ref()
                    .is_some_and(|e| e.should_encode(None));
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
        if out.encoded {
            let mut encoded = core::mem::take(&mut self.scratch);
            encoded.clear();
            let mut rsv = 0;
            if let Some(extension) = self.extension.as_mut() {
                extension.encode(data, fin, &mut encoded);
                rsv = if first { extension.rsv_bits() } else { 0 };
            }
            self.write_message_frames(opcode, rsv, &encoded, None, fin);
            self.scratch = encoded;
        } else {
            self.write_message_frames(opcode, 0, data, None, fin);
        }
        self.sending = if fin { None } else { Some(out) };
        Ok(())
    }

    /// Queues a ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (payload at most 125 bytes). Pongs answering pings are automatic.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.write_frame(opcode, 0, true, payload);
        Ok(())
    }

    /// Starts the close handshake with `code` and `reason` (at most 123 bytes). Messages keep arriving until
    /// the peer's close frame, which ends the connection with [`Event::Closed`]; if it does not come within
    /// [`crate::Timeouts::close`], the connection fails with a close timeout.
    ///
    /// [`CloseCode::NO_STATUS`] sends a close frame with no payload.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if self.terminated || self.close_sent {
            return Err(SendError::Closed);
        }
        if !matches!(self.phase, Phase::Frames) {
            return Err(SendError::NotOpen);
        }
        if code != CloseCode::NO_STATUS && !code.is_sendable() {
            return Err(SendError::InvalidCloseCode);
        }
        if reason.len() > CloseFrame::MAX_REASON_LEN
            || (code == CloseCode::NO_STATUS && !reason.is_empty())
        {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.write_close(code, reason);
        Ok(())
    }

    /// Server: accepts the upgrade request from [`Event::Request`]: queues the 101 response (negotiating
    /// extensions from [`crate::Config::extensions`]), emits [`Event::Open`], and processes any frames the
    /// client sent early.
    pub fn accept(&mut self, accept: Accept) -> Result<(), SendError> {
        let Phase::ServerAwaitDecision(request) = &self.phase else {
            return Err(SendError::NoPendingRequest);
        };
        if accept
            .subprotocol
            .as_ref()
            .is_some_and(|p| !request.offers_subprotocol(p))
        {
            return Err(SendError::SubprotocolNotOffered);
        }
        if !accept_headers_are_valid(&accept) {
            return Err(SendError::InvalidHeader);
        }
        let offers: Vec<&[u8]> = request.extension_offers().collect();
        let negotiated = match &self.config.extensions {
            Some(factory) if !offers.is_empty() => factory.server_accept(&offers),
            _ => None,
        };
        let (header, extension) = match negotiated {
            Some((header, extension)) => (Some(header), Some(extension)),
            None => (None, None),
        };
        encode_accept(request, &accept, header.as_deref(), self.out.buf_mut());
        self.open(accept.subprotocol, header, extension, Headers::new());
        self.process();
        Ok(())
    }

    /// Server: rejects the upgrade request from [`Event::Request`] with a non-101 response (for example
    /// 403 for a bad Origin). The response is queued, [`Event::Rejected`] is emitted, and the connection ends.
    pub fn reject(&mut self, response: Response) -> Result<(), SendError> {
        if !matches!(self.phase, Phase::ServerAwaitDecision(_)) {
            return Err(SendError::NoPendingRequest);
        }
        if response.status == 101
            || response
                .headers
                .iter()
                .any(|(n, v)| !crate::http::header_is_safe(n, v))
        {
            return Err(SendError::InvalidHeader);
        }
        response.encode(self.out.buf_mut());
        self.phase = Phase::Done;
        self.rx.clear();
        self.want_shutdown = true;
        self.terminate(Event::Rejected(Box::new(response)));
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.terminated || self.close_sent {
            Err(SendError::Closed)
        } else if !matches!(self.phase, Phase::Frames) {
            Err(SendError::NotOpen)
        } else {
            Ok(())
        }
    }

    /// Queues our close frame and starts the close timer.
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
        self.close_sent = true;
        self.ping_deadline = None;
        self.pong_deadline = None;
        self.close_deadline = self.config.timeouts.close.map(|t| self.now + t);
    }

    /// Queues a message's frames, split at [`crate::Config::max_send_frame_size`]. `rsv` goes on the first.
    /// `shared` is `payload` as shared bytes, when the caller has them: large unmasked frames then
    /// reference it instead of copying it.
    fn write_message_frames(
        &mut self,
        opcode: OpCode,
        rsv: u8,
        payload: &[u8],
        shared: Option<&Bytes>,
        fin: bool,
    ) {
        let max = self.config.max_send_frame_size.unwrap_or(usize::MAX).max(1);
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
                return;
            }
            start = end;
        }
    }

    /// Queues one frame, masked when we are the client.
    pub(super) fn write_frame(&mut self, opcode: OpCode, rsv: u8, fin: bool, payload: &[u8]) {
        let mask = self.rng.as_mut().map(|rng| rng.next_u32().to_ne_bytes());
        let buf = self.out.buf_mut();
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

impl Event {
    /// The message, if this is [`Event::Message`].
    pub fn into_message(self) -> Option<Message> {
        match self {
            Event::Message(m) => Some(m),
            _ => None,
        }
    }
}
