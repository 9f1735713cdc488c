//! The receive path: handshake heads, then frames, parsed straight out of one receive buffer.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use bytes::{Buf, BytesMut};

use super::{Connection, DataKind, InFrame, InMessage, Phase, Role};
use crate::close::{CloseCode, CloseFrame};
use crate::error::{Error, HandshakeError, Limit, ProtocolError};
use crate::extension::DecodeError;
use crate::frame::{FrameHeader, OpCode, RSV1};
use crate::http::client::{accepted_extensions, validate_upgrade};
use crate::http::{Headers, Response, find_head_end};
use crate::mask::{apply_mask, extend_unmasked};
use crate::message::{Event, Message, Opened};
use crate::utf8::Utf8Bytes;

impl Connection {
    /// Parses everything the receive buffer holds, one step at a time, until a step needs more bytes.
    pub(super) fn process(&mut self) {
        loop {
            let step = match self.phase {
                Phase::ServerAwaitRequest => self.read_request(),
                Phase::ClientAwaitResponse(_) => self.read_response(),
                Phase::ClientRejectedBody { .. } => Ok(self.read_rejected_body()),
                Phase::ServerAwaitDecision(_) => Ok(false),
                Phase::Frames => self.read_frame(),
                Phase::Done => {
                    self.rx.clear();
                    Ok(false)
                }
            };
            match step {
                Ok(true) if self.events.is_empty() => continue,
                Ok(true) => break,
                Ok(false) => break,
                Err(error) => self.fail(error),
            }
        }
        if self.rx.is_empty() && super::release_when_empty(self.rx.capacity()) {
            // (Even with no capacity left, an emptied buffer may still share the allocation of the
            // messages split off it, keeping all of it alive: it goes too.)
            self.rx = BytesMut::new();
        }
    }

    fn read_request(&mut self) -> Result<bool, Error> {
        let Some((request, head_len)) =
            crate::http::server::parse_request(&self.rx, &self.config.limits)?
        else {
            return Ok(false);
        };
        self.rx.advance(head_len);
        self.events
            .push_back(Event::Request(Box::new(request.clone())));
        self.phase = Phase::ServerAwaitDecision(Box::new(request));
        Ok(false)
    }

    fn read_response(&mut self) -> Result<bool, Error> {
        let limits = self.config.limits;
        let Some(head_len) = find_head_end(&self.rx, 0) else {
            return if self.rx.len() > limits.max_head_bytes {
                Err(Error::LimitExceeded(Limit::HeadBytes))
            } else {
                Ok(false)
            };
        };
        if head_len > limits.max_head_bytes {
            return Err(Error::LimitExceeded(Limit::HeadBytes));
        }
        let mut raw = vec![httparse::EMPTY_HEADER; limits.max_headers];
        let mut parsed = httparse::Response::new(&mut raw);
        match parsed.parse(&self.rx[..head_len]) {
            Ok(httparse::Status::Complete(_)) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Error::LimitExceeded(Limit::Headers));
            }
            _ => return Err(HandshakeError::Malformed.into()),
        }
        let status = parsed.code.unwrap_or(0);
        let reason = String::from(parsed.reason.unwrap_or(""));
        let headers = Headers::from_httparse(parsed.headers);
        self.rx.advance(head_len);
        let Phase::ClientAwaitResponse(offer) = core::mem::replace(&mut self.phase, Phase::Done)
        else {
            unreachable!("read_response runs only while awaiting the response")
        };
        if status != 101 {
            let remaining = headers
                .get_str("content-length")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n <= limits.max_head_bytes)
                .unwrap_or(0);
            let response = Response {
                status,
                reason,
                headers,
                body: bytes::Bytes::new(),
            };
            self.phase = Phase::ClientRejectedBody {
                response: Box::new(response),
                remaining,
            };
            return Ok(true);
        }
        let subprotocol = validate_upgrade(&headers, &offer.key, &offer.offered)?;
        let (extension_header, extension) = match accepted_extensions(&headers, &self.config)? {
            Some((header, extension)) => (Some(header), Some(extension)),
            None => (None, None),
        };
        self.enter_open(subprotocol, extension_header, extension, headers);
        Ok(true)
    }

    fn read_rejected_body(&mut self) -> bool {
        let Phase::ClientRejectedBody { remaining, .. } = self.phase else {
            return false;
        };
        if self.rx.len() < remaining {
            return false;
        }
        let Phase::ClientRejectedBody { mut response, .. } =
            core::mem::replace(&mut self.phase, Phase::Done)
        else {
            return false;
        };
        response.body = self.rx.split_to(remaining).freeze();
        self.want_shutdown = true;
        self.terminate(Event::Rejected(response));
        true
    }

    /// Enters the open state: records what was negotiated, emits [`Event::Open`], starts keepalive.
    pub(super) fn enter_open(
        &mut self,
        subprotocol: Option<String>,
        extension_header: Option<String>,
        extension: Option<Box<dyn crate::extension::Extension>>,
        headers: Headers,
    ) {
        self.phase = Phase::Frames;
        if subprotocol.is_some() || extension_header.is_some() {
            self.negotiated = Some(Box::new(super::Agreed {
                subprotocol: subprotocol.clone(),
                extensions: extension_header.clone(),
            }));
        }
        self.extension = extension;
        self.handshake_deadline = None;
        self.ping_deadline = self
            .config
            .timeouts
            .keepalive_interval
            .map(|t| self.now + t);
        self.events.push_back(Event::Open(Box::new(Opened {
            subprotocol,
            extensions: extension_header,
            headers,
        })));
    }

    /// Reads as much of the next frame as has arrived. `Ok(true)`: a frame completed, try the next.
    fn read_frame(&mut self) -> Result<bool, Error> {
        let mut frame = match self.frame {
            Some(frame) => frame,
            None => {
                let Some((header, header_len)) = FrameHeader::decode(&self.rx)? else {
                    return Ok(false);
                };
                let encoded = self.check_header(&header)?;
                self.rx.advance(header_len);
                InFrame {
                    header,
                    done: 0,
                    encoded,
                }
            }
        };
        let len = frame.header.payload_len as usize; // checked against max_frame_size
        if frame.encoded {
            self.read_encoded_payload(&mut frame)?;
        } else {
            self.read_plain_payload(&mut frame)?;
        }
        if frame.done < len {
            self.frame = Some(frame);
            return Ok(false);
        }
        self.frame = None;
        self.complete_frame(frame)?;
        Ok(true)
    }

    /// Checks a header against the connection's state; returns whether its payload goes to the extension.
    fn check_header(&self, header: &FrameHeader) -> Result<bool, Error> {
        let claimed = self.extension.as_ref().map_or(0, |e| e.rsv_bits());
        if header.rsv & !claimed != 0 {
            return Err(ProtocolError::ReservedBits.into());
        }
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(ProtocolError::UnmaskedFrame.into()),
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame.into()),
            _ => {}
        }
        let limits = &self.config.limits;
        if header.payload_len > limits.max_frame_size as u64 {
            return Err(Error::LimitExceeded(Limit::FrameSize));
        }
        let rsv1 = header.rsv & RSV1 != 0;
        if header.opcode.is_control() {
            if rsv1 {
                return Err(ProtocolError::CompressedContinuation.into());
            }
            return Ok(false);
        }
        let encoded = match (&self.message, header.opcode) {
            (None, OpCode::Continuation) => {
                return Err(ProtocolError::UnexpectedContinuation.into());
            }
            (Some(_), OpCode::Text | OpCode::Binary) => {
                return Err(ProtocolError::ExpectedContinuation.into());
            }
            (Some(_), _) if rsv1 => return Err(ProtocolError::CompressedContinuation.into()),
            (Some(message), _) => {
                if message.frames + 1 > limits.max_fragments {
                    return Err(Error::LimitExceeded(Limit::Fragments));
                }
                message.encoded
            }
            (None, _) => rsv1,
        };
        let so_far = self.message.as_ref().map_or(0, |m| m.data.len()) as u64;
        if !encoded && so_far + header.payload_len > limits.max_message_size as u64 {
            return Err(Error::LimitExceeded(Limit::MessageSize));
        }
        Ok(encoded)
    }

    /// The kind of the data message the frame belongs to (`None` for control frames).
    fn frame_kind(&self, header: &FrameHeader) -> Option<DataKind> {
        match header.opcode {
            OpCode::Continuation => self.message.as_ref().map(|m| m.kind),
            op => op.data_kind(),
        }
    }

    /// Takes the payload of a masked data frame off the front of `data` into the receive buffer,
    /// unmasking as it copies (one pass over the bytes instead of a copy and then an unmasking pass over
    /// the copy): the rest of a plain frame in progress, or a frame of [`UNMASK_COPY_MIN`] bytes or
    /// more whose header starts `data` while nothing else is buffered. Returns what is left of `data`, for
    /// [`Connection::process`] to parse as usual; in any other case that is all of it.
    pub(super) fn receive_payload<'a>(&mut self, mut data: &'a [u8]) -> &'a [u8] {
        if !matches!(self.phase, Phase::Frames) {
            return data;
        }
        if self.frame.is_none() {
            if !self.rx.is_empty() || !starts_large_frame(data) {
                return data;
            }
            let Ok(Some((header, header_len))) = FrameHeader::decode(data) else {
                return data;
            };
            // Anything unusual (a fault, a compressed frame) takes the usual path.
            if header.mask.is_none()
                || header.opcode.is_control()
                || !matches!(self.check_header(&header), Ok(false))
            {
                return data;
            }
            self.frame = Some(InFrame {
                header,
                done: 0,
                encoded: false,
            });
            data = &data[header_len..];
        }
        let Some(mut frame) = self.frame else {
            return data;
        };
        // A plain frame in progress holds its payload so far, and only that, in the receive buffer.
        let Some(key) = frame.header.mask else {
            return data;
        };
        if frame.encoded || self.rx.len() != frame.done {
            return data;
        }
        let take = (frame.header.payload_len as usize - frame.done).min(data.len());
        let start = self.rx.len();
        // Room for what follows the payload too: it is appended next.
        self.rx.reserve(data.len());
        extend_unmasked(&mut self.rx, &data[..take], key, frame.done);
        if self.frame_kind(&frame.header) == Some(DataKind::Text)
            && self.utf8.feed(&self.rx[start..]).is_err()
        {
            self.fail(Error::InvalidUtf8);
            return &[];
        }
        frame.done += take;
        self.frame = Some(frame);
        &data[take..]
    }

    /// Delivers a whole small message (one masked, unfragmented, uncompressed data frame) that starts
    /// `data` while nothing is buffered: its payload is unmasked straight into an allocation of its
    /// own, so the message costs one allocation where copying it into the receive buffer and
    /// splitting it off cost two (the buffer, and the shared header the split makes). Returns what is
    /// left of `data` (empty if the message failed the connection), or `None` when `data` starts with
    /// anything else (a large, incomplete, control or compressed frame, a fault): then
    /// [`Connection::receive_payload`] and [`Connection::process`] take it as usual.
    pub(super) fn take_small_message<'a>(&mut self, data: &'a [u8]) -> Option<&'a [u8]> {
        if !matches!(self.phase, Phase::Frames)
            || self.frame.is_some()
            || !self.rx.is_empty()
            || starts_large_frame(data)
        {
            return None;
        }
        let Ok(Some((header, header_len))) = FrameHeader::decode(data) else {
            return None;
        };
        let len = header.payload_len as usize; // under UNMASK_COPY_MIN: not a large frame
        let (Some(key), Some(kind)) = (header.mask, header.opcode.data_kind()) else {
            return None;
        };
        if !header.fin
            || data.len() - header_len < len
            || !matches!(self.check_header(&header), Ok(false))
        {
            return None;
        }
        let mut payload = BytesMut::with_capacity(len);
        extend_unmasked(&mut payload, &data[header_len..header_len + len], key, 0);
        let delivered = if kind == DataKind::Text && self.utf8.feed(&payload).is_err() {
            Err(Error::InvalidUtf8)
        } else {
            self.deliver(kind, payload)
        };
        if let Err(error) = delivered {
            self.fail(error);
            return Some(&[]);
        }
        Some(&data[header_len + len..])
    }

    /// Unmasks newly arrived payload in place and validates text as it comes, leaving it in the buffer.
    fn read_plain_payload(&mut self, frame: &mut InFrame) -> Result<(), Error> {
        let len = frame.header.payload_len as usize;
        let available = self.rx.len().min(len);
        if available <= frame.done {
            return Ok(());
        }
        let is_text = self.frame_kind(&frame.header) == Some(DataKind::Text);
        let fresh = &mut self.rx[frame.done..available];
        if let Some(key) = frame.header.mask {
            apply_mask(fresh, key, frame.done);
        }
        if is_text {
            self.utf8.feed(fresh).map_err(|_| Error::InvalidUtf8)?;
        }
        frame.done = available;
        Ok(())
    }

    /// Unmasks newly arrived payload and feeds it to the extension's decoder, validating decoded text.
    fn read_encoded_payload(&mut self, frame: &mut InFrame) -> Result<(), Error> {
        let len = frame.header.payload_len as usize;
        let available = self.rx.len().min(len - frame.done);
        if available == 0 && len > 0 {
            return Ok(());
        }
        if self.message.is_none() {
            let kind = frame
                .header
                .opcode
                .data_kind()
                .ok_or(ProtocolError::UnexpectedContinuation)?;
            self.message = Some(Box::new(InMessage {
                kind,
                data: BytesMut::new(),
                frames: 0,
                encoded: true,
            }));
        }
        let mut chunk = self.rx.split_to(available);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut chunk, key, frame.done);
        }
        frame.done += available;
        let fin = frame.header.fin && frame.done == len;
        let limit = self.config.limits.max_message_size;
        let (Some(extension), Some(message)) = (self.extension.as_mut(), self.message.as_mut())
        else {
            return Err(ProtocolError::ReservedBits.into());
        };
        let before = message.data.len();
        extension
            .decode(&chunk, fin, &mut message.data, limit)
            .map_err(|e| match e {
                DecodeError::TooBig => Error::LimitExceeded(Limit::MessageSize),
                DecodeError::Invalid => Error::Protocol(ProtocolError::InvalidCompressedData),
            })?;
        if message.kind == DataKind::Text {
            self.utf8
                .feed(&message.data[before..])
                .map_err(|_| Error::InvalidUtf8)?;
        }
        Ok(())
    }

    /// Acts on a frame whose payload has fully arrived.
    fn complete_frame(&mut self, frame: InFrame) -> Result<(), Error> {
        let header = frame.header;
        match header.opcode {
            OpCode::Ping => {
                let payload = self.rx.split_to(header.payload_len as usize).freeze();
                if !self.close_sent {
                    self.write_frame(OpCode::Pong, 0, true, &payload);
                }
                self.events.push_back(Event::Ping(payload));
            }
            OpCode::Pong => {
                let payload = self.rx.split_to(header.payload_len as usize).freeze();
                self.pong_deadline = None;
                self.events.push_back(Event::Pong(payload));
            }
            OpCode::Close => {
                let payload = self.rx.split_to(header.payload_len as usize);
                self.receive_close(&payload)?;
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.complete_data_frame(frame)?
            }
        }
        Ok(())
    }

    fn complete_data_frame(&mut self, frame: InFrame) -> Result<(), Error> {
        let header = frame.header;
        if !frame.encoded {
            let payload = self.rx.split_to(header.payload_len as usize);
            match &mut self.message {
                None if header.fin => {
                    let kind = header
                        .opcode
                        .data_kind()
                        .ok_or(ProtocolError::UnexpectedContinuation)?;
                    return self.deliver(kind, payload);
                }
                None => {
                    let kind = header
                        .opcode
                        .data_kind()
                        .ok_or(ProtocolError::UnexpectedContinuation)?;
                    self.message = Some(Box::new(InMessage {
                        kind,
                        data: payload,
                        frames: 1,
                        encoded: false,
                    }));
                    return Ok(());
                }
                Some(message) => {
                    message.data.extend_from_slice(&payload);
                    message.frames += 1;
                }
            }
        } else if let Some(message) = &mut self.message {
            message.frames += 1;
        }
        if header.fin
            && let Some(message) = self.message.take()
        {
            let InMessage { kind, data, .. } = *message;
            return self.deliver(kind, data);
        }
        Ok(())
    }

    fn deliver(&mut self, kind: DataKind, data: BytesMut) -> Result<(), Error> {
        let message = match kind {
            DataKind::Text => {
                if !self.utf8.is_complete() {
                    return Err(Error::InvalidUtf8);
                }
                Message::Text(Utf8Bytes::from_validated(data.freeze()))
            }
            DataKind::Binary => Message::Binary(data.freeze()),
        };
        self.utf8.reset();
        self.events.push_back(Event::Message(message));
        Ok(())
    }

    /// RFC 6455 section 5.5.1: validates the close payload, echoes it if we have not sent ours, and ends
    /// the close handshake.
    fn receive_close(&mut self, payload: &[u8]) -> Result<(), Error> {
        let frame = match payload {
            [] => None,
            [_] => return Err(ProtocolError::CloseFrameTooShort.into()),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0).into());
                }
                let reason = simdutf8::basic::from_utf8(reason).map_err(|_| Error::InvalidUtf8)?;
                Some(CloseFrame::new(code, reason))
            }
        };
        if !self.close_sent {
            let (code, reason) = match &frame {
                Some(f) => (f.code, f.reason.as_str()),
                None => (CloseCode::NO_STATUS, ""),
            };
            self.write_close(code, reason);
        }
        self.phase = Phase::Done;
        self.rx.clear();
        if self.role == Role::Server {
            self.want_shutdown = true;
        }
        self.terminate(Event::Closed(frame));
        Ok(())
    }
}

/// Frames whose payload is at least this long are unmasked while they are copied in when they start a
/// read (`receive_payload`). Below it the copy is too short for the second pass to matter (64 1 KiB
/// frames in one read measured 3% slower with the first one taken this way).
const UNMASK_COPY_MIN: usize = 4096;

/// Whether `data` starts with the header of a frame of at least [`UNMASK_COPY_MIN`] bytes (read off
/// the length field alone: the full header is decoded and checked afterwards).
fn starts_large_frame(data: &[u8]) -> bool {
    match data {
        [_, len, ..] if len & 0x7f == 127 => true,
        [_, len, hi, lo, ..] if len & 0x7f == 126 => {
            usize::from(u16::from_be_bytes([*hi, *lo])) >= UNMASK_COPY_MIN
        }
        _ => false,
    }
}
