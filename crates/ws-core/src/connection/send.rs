//! The send path: commands that queue frames, and the server's accept/reject decision.

use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::Bytes;

use super::{Connection, DataKind, Phase, SendError, framer};
use crate::close::CloseCode;
use crate::extension::Extension;
use crate::frame::OpCode;
use crate::http::Headers;
use crate::http::Response;
use crate::http::server::{Accept, encode_accept, negotiate};
use crate::message::{Event, Message, Outgoing};
use crate::prepared::PreparedMessage;
use crate::time::Instant;

/// Per-message send options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// A message to send, borrowed: what [`Connection::send`] and [`super::Sender::send`] take. Made from a
/// [`Message`] (its shared [`Bytes`] stay shared), a `&str` or `&String` (text), a `&[u8]`,
/// `&[u8; N]`, `&Vec<u8>` or `&Bytes` (binary), a [`PreparedMessage`] (framed once for many
/// connections) or an [`Outgoing`]; nothing is allocated to make one.
#[derive(Clone, Copy, Debug)]
pub struct MessageRef<'a> {
    kind: DataKind,
    data: &'a [u8],
    shared: Option<&'a Bytes>,
    prepared: Option<&'a PreparedMessage>,
}

impl<'a> From<&'a Message> for MessageRef<'a> {
    fn from(message: &'a Message) -> Self {
        MessageRef {
            kind: DataKind::of(message),
            data: message.as_bytes(),
            shared: Some(message.shared()),
            prepared: None,
        }
    }
}

impl<'a> From<&'a str> for MessageRef<'a> {
    fn from(text: &'a str) -> Self {
        MessageRef {
            kind: DataKind::Text,
            data: text.as_bytes(),
            shared: None,
            prepared: None,
        }
    }
}

impl<'a> From<&'a alloc::string::String> for MessageRef<'a> {
    fn from(text: &'a alloc::string::String) -> Self {
        MessageRef::from(text.as_str())
    }
}

impl<'a> From<&'a [u8]> for MessageRef<'a> {
    fn from(data: &'a [u8]) -> Self {
        MessageRef {
            kind: DataKind::Binary,
            data,
            shared: None,
            prepared: None,
        }
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for MessageRef<'a> {
    fn from(data: &'a [u8; N]) -> Self {
        MessageRef::from(&data[..])
    }
}

impl<'a> From<&'a Vec<u8>> for MessageRef<'a> {
    fn from(data: &'a Vec<u8>) -> Self {
        MessageRef::from(data.as_slice())
    }
}

impl<'a> From<&'a Bytes> for MessageRef<'a> {
    fn from(data: &'a Bytes) -> Self {
        MessageRef {
            kind: DataKind::Binary,
            data,
            shared: Some(data),
            prepared: None,
        }
    }
}

impl<'a> From<&'a PreparedMessage> for MessageRef<'a> {
    fn from(prepared: &'a PreparedMessage) -> Self {
        MessageRef {
            kind: prepared.kind(),
            data: prepared.as_bytes(),
            shared: Some(prepared.shared_payload()),
            prepared: Some(prepared),
        }
    }
}

impl<'a> From<&'a Outgoing> for MessageRef<'a> {
    fn from(outgoing: &'a Outgoing) -> Self {
        match outgoing {
            Outgoing::Message(message) => MessageRef::from(message),
            Outgoing::Prepared(prepared) => MessageRef::from(prepared),
        }
    }
}

impl<'a> MessageRef<'a> {
    /// Text or binary.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// The payload.
    pub fn as_bytes(&self) -> &[u8] {
        self.data
    }

    pub(super) fn parts(self) -> (DataKind, (&'a [u8], Option<&'a Bytes>)) {
        (self.kind, (self.data, self.shared))
    }

    /// The prepared message this refers to, if it is one.
    pub(super) fn prepared(&self) -> Option<&'a PreparedMessage> {
        self.prepared
    }
}

impl Connection {
    /// Queues a message: a [`Message`], borrowed text (`&str`) or binary data (`&[u8]`) that is
    /// framed (copied into the output) without an allocation of its own, or a [`PreparedMessage`],
    /// whose frame a server queues as it was built (see [`crate::prepared`]).
    ///
    /// Fails only for local misuse: before the handshake completes, after a close frame was sent, while a
    /// fragmented message is being sent, or while a [`super::Sender`] split off this connection sends its
    /// data messages.
    pub fn send<'a>(&mut self, message: impl Into<MessageRef<'a>>) -> Result<(), SendError> {
        self.send_with(message, SendOptions::default())
    }

    /// Queues a message with per-message options.
    ///
    /// A server queues a large payload (8 KiB or more) that it got as shared [`Bytes`] (in a [`Message`]
    /// or as `&Bytes`) and that goes out unencoded by reference, not by copy: the bytes stay shared until
    /// written (see [`super::Output`]).
    pub fn send_with<'a>(
        &mut self,
        message: impl Into<MessageRef<'a>>,
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.check_can_send_data()?;
        let max_frame = self.config.max_send_frame_size.unwrap_or(usize::MAX);
        let encoder = encoder(&mut self.split, &mut self.extension);
        self.tx.send(encoder, max_frame, message.into(), options)
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
        self.check_can_send_data()?;
        let max_frame = self.config.max_send_frame_size.unwrap_or(usize::MAX);
        let encoder = encoder(&mut self.split, &mut self.extension);
        self.tx.send_fragment(encoder, max_frame, kind, data, fin)
    }

    /// Queues a ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        self.tx.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (payload at most 125 bytes). Pongs answering pings are automatic.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        self.tx.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake with `code` and `reason` (at most 123 bytes). Messages keep arriving until
    /// the peer's close frame, which ends the connection with [`Event::Closed`]; if it does not come within
    /// [`crate::Timeouts::close`], the connection fails with a close timeout.
    ///
    /// [`CloseCode::NO_STATUS`] sends a close frame with no payload. The close timer starts at `now`.
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) -> Result<(), SendError> {
        self.advance_clock(now);
        self.sync_split();
        if self.terminated || self.close_sent {
            return Err(SendError::Closed);
        }
        if !matches!(self.phase, Phase::Frames) {
            return Err(SendError::NotOpen);
        }
        framer::check_close(code, reason)?;
        if !self.write_close(code, reason) {
            return Err(SendError::Closed);
        }
        Ok(())
    }

    /// Server: accepts the upgrade request from [`Event::Request`]: queues the 101 response (negotiating
    /// extensions from [`crate::Config::extensions`]), emits [`Event::Open`], and processes any frames the
    /// client sent early. The keepalive timer starts at `now`.
    pub fn accept(&mut self, accept: Accept, now: Instant) -> Result<(), SendError> {
        self.advance_clock(now);
        let Phase::ServerAwaitDecision(request) = &self.phase else {
            return Err(SendError::NoPendingRequest);
        };
        let (header, extension) = match negotiate(request, &accept, &self.config)? {
            Some((header, extension)) => (Some(header), Some(extension)),
            None => (None, None),
        };
        self.tx
            .out
            .push_head(|head| encode_accept(request, &accept, header.as_deref(), head));
        self.enter_open(accept.subprotocol, header, extension, Headers::new());
        self.process();
        Ok(())
    }

    /// Server: rejects the upgrade request from [`Event::Request`] with a non-101 response (for example
    /// 403 for a bad Origin). The response is queued, [`Event::Rejected`] is emitted, and the connection ends
    /// (waiting from `now` for the client to close, up to [`crate::Timeouts::close`]).
    pub fn reject(&mut self, response: Response, now: Instant) -> Result<(), SendError> {
        self.advance_clock(now);
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
        self.tx.out.push_head(|head| response.encode(head));
        self.phase = Phase::Done;
        self.rx.clear();
        self.want_shutdown = true;
        self.terminate(Event::Rejected(Box::new(response)));
        Ok(())
    }

    pub(super) fn check_can_send(&self) -> Result<(), SendError> {
        if self.terminated || self.close_sent || self.split_closed() {
            Err(SendError::Closed)
        } else if !matches!(self.phase, Phase::Frames) {
            Err(SendError::NotOpen)
        } else {
            Ok(())
        }
    }

    /// Data messages also need the connection not to be split (its [`super::Sender`] sends them).
    fn check_can_send_data(&self) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.is_split() {
            return Err(SendError::Split);
        }
        Ok(())
    }

    /// Queues our close frame and starts the close timer. Returns `false`, queuing nothing, when the
    /// connection is split and its [`super::Sender`] already sent a close frame (the connection then
    /// counts that one as its own).
    pub(super) fn write_close(&mut self, code: CloseCode, reason: &str) -> bool {
        if !self.claim_close() {
            self.sync_split();
            return false;
        }
        self.tx.write_close(code, reason);
        self.close_sent = true;
        self.ping_deadline = None;
        self.pong_deadline = None;
        self.close_deadline = self.config.timeouts.close.map(|t| self.now + t);
        true
    }

    /// Queues one control frame (a pong, or a keepalive ping).
    pub(super) fn write_frame(&mut self, opcode: OpCode, rsv: u8, fin: bool, payload: &[u8]) {
        self.tx.write_frame(opcode, rsv, fin, payload);
    }
}

/// The extension that encodes outgoing messages: the half a split took and gave back, if it did, or
/// the negotiated extension.
fn encoder<'a>(
    split: &'a mut Option<Box<super::split::SplitState>>,
    extension: &'a mut Option<Box<dyn Extension>>,
) -> Option<&'a mut (dyn Extension + 'static)> {
    match split.as_mut().and_then(|s| s.encoder.as_mut()) {
        Some(encoder) => Some(&mut **encoder),
        None => extension.as_deref_mut(),
    }
}

impl DataKind {
    /// The kind of `message`.
    pub(crate) fn of(message: &Message) -> Self {
        if message.is_text() {
            DataKind::Text
        } else {
            DataKind::Binary
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
