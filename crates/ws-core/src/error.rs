//! Errors, split by who is at fault.
//!
//! - [`Error`]: the connection failed. Peer faults ([`ProtocolError`], invalid UTF-8, a [`Limit`] exceeded, a
//!   bad handshake) carry the close code or HTTP status the core has already queued for the peer; so does a
//!   peer that stopped answering pings ([`Timeout::Pong`], close code 1011). The other timeouts and a
//!   vanished peer get no answer. It reaches the application once, as [`crate::Event::Failed`].
//! - [`SendError`]: the application misused the connection (sent after close, chose a subprotocol that was not
//!   offered). Returned by commands (sends, `accept`, `reject`, `close`, `split_sender`); the connection is
//!   unaffected.
//!
//! Every enum here is `#[non_exhaustive]`: later versions may tell more cases apart, so a `match` needs a
//! wildcard arm (use [`Error::close_code`] or [`HandshakeError::http_status`] to handle unknown ones).

use core::fmt;

use crate::close::CloseCode;

/// A framing rule the peer broke: one of RFC 6455, or of a negotiated extension (RFC 7692). Answered with
/// close code 1002.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode reserved for future use (0x3-0x7, 0xB-0xF).
    ReservedOpcode(u8),
    /// RSV bits set that no negotiated extension claims.
    ReservedBits,
    /// A payload length not encoded in the fewest bytes.
    NonMinimalLength,
    /// A 64-bit payload length with its most significant bit set.
    LengthTopBitSet,
    /// A control frame without FIN.
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload.
    ControlFrameTooLong,
    /// A client sent an unmasked frame (a server requires masking).
    UnmaskedFrame,
    /// A server sent a masked frame (a client rejects masking).
    MaskedFrame,
    /// A continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was still in progress.
    ExpectedContinuation,
    /// A close frame with a one-byte payload.
    CloseFrameTooShort,
    /// A close frame with a code that may not be sent (1004-1006, 1015, outside 1000-4999, ...).
    InvalidCloseCode(u16),
    /// A compressed frame whose data does not inflate (permessage-deflate, RFC 7692).
    InvalidCompressedData,
    /// RSV1 on a continuation frame or a control frame while permessage-deflate is in use.
    CompressedContinuation,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBits => {
                f.write_str("reserved bits set without an extension claiming them")
            }
            ProtocolError::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            ProtocolError::LengthTopBitSet => {
                f.write_str("64-bit payload length with the top bit set")
            }
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::ControlFrameTooLong => {
                f.write_str("control frame payload over 125 bytes")
            }
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame with no message in progress")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame inside a fragmented message")
            }
            ProtocolError::CloseFrameTooShort => f.write_str("close frame with a 1-byte payload"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            ProtocolError::InvalidCompressedData => f.write_str("compressed data does not inflate"),
            ProtocolError::CompressedContinuation => {
                f.write_str("RSV1 set on a continuation or control frame")
            }
        }
    }
}

/// Which limit of [`crate::Limits`] a peer went past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`crate::Limits::max_head_bytes`].
    HeadBytes,
    /// [`crate::Limits::max_headers`].
    Headers,
    /// [`crate::Limits::max_frame_size`].
    FrameSize,
    /// [`crate::Limits::max_message_size`] (also after decompression).
    MessageSize,
    /// [`crate::Limits::max_fragments`].
    Fragments,
}

/// A handshake that cannot go on. On the server, the core answers with [`HandshakeError::http_status`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The HTTP head does not parse.
    Malformed,
    /// The request method is not GET.
    MethodNotGet,
    /// The request is not HTTP/1.1 (or later).
    UnsupportedHttpVersion,
    /// No Host header, or more than one.
    InvalidHost,
    /// No `Upgrade: websocket`.
    NotWebSocketUpgrade,
    /// No `upgrade` token in Connection.
    MissingConnectionUpgrade,
    /// Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64.
    InvalidKey,
    /// Sec-WebSocket-Version is missing, repeated, or not 13.
    UnsupportedWebSocketVersion,
    /// Client: the server's Sec-WebSocket-Accept does not match our key.
    InvalidAccept,
    /// Client: the server chose a subprotocol we did not offer (or several).
    UnexpectedSubprotocol,
    /// Client: the server's Sec-WebSocket-Extensions is not one we offered, or its parameters are invalid.
    InvalidExtensions,
    /// An HTTP/2 (or later) upgrade request whose method is not CONNECT (RFC 8441 section 4: a WebSocket
    /// over HTTP/2 is opened with an extended CONNECT).
    MethodNotConnect,
    /// A CONNECT request without a `:protocol` pseudo-header: a plain tunnel request (RFC 9113 section
    /// 8.5), not the extended CONNECT of RFC 8441 that opens a WebSocket.
    MissingProtocol,
    /// An extended CONNECT whose `:protocol` is not `websocket` (answered with 501 Not Implemented).
    UnsupportedProtocol,
    /// An HTTP/2 (or later) upgrade request with a Sec-WebSocket-Key: RFC 8441 section 5 leaves the key
    /// and the accept value out of HTTP/2, so a request carrying one is malformed.
    UnexpectedKey,
    /// Client (handshakes on `http` types): the response's status is not the upgrade's (101 for HTTP/1.1,
    /// 2xx for an extended CONNECT). The status is kept.
    UnexpectedStatus(u16),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with: 426 for a missing upgrade or wrong WebSocket
    /// version (with `Sec-WebSocket-Version: 13`), 501 for an extended CONNECT to a protocol other than
    /// `websocket`, 400 otherwise.
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            HandshakeError::NotWebSocketUpgrade | HandshakeError::UnsupportedWebSocketVersion => {
                426
            }
            HandshakeError::UnsupportedProtocol => 501,
            _ => 400,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandshakeError::Malformed => "malformed HTTP head",
            HandshakeError::MethodNotGet => "request method is not GET",
            HandshakeError::UnsupportedHttpVersion => "HTTP version is not 1.1",
            HandshakeError::InvalidHost => "missing or repeated Host header",
            HandshakeError::NotWebSocketUpgrade => "missing `Upgrade: websocket`",
            HandshakeError::MissingConnectionUpgrade => "missing `Connection: upgrade`",
            HandshakeError::InvalidKey => "invalid Sec-WebSocket-Key",
            HandshakeError::UnsupportedWebSocketVersion => {
                "unsupported Sec-WebSocket-Version (13 required)"
            }
            HandshakeError::InvalidAccept => "Sec-WebSocket-Accept does not match the key",
            HandshakeError::UnexpectedSubprotocol => {
                "server chose a subprotocol that was not offered"
            }
            HandshakeError::InvalidExtensions => {
                "server's Sec-WebSocket-Extensions is invalid or not offered"
            }
            HandshakeError::MethodNotConnect => {
                "HTTP/2 WebSocket request method is not CONNECT (RFC 8441)"
            }
            HandshakeError::MissingProtocol => {
                "CONNECT without :protocol is a plain tunnel request, not a WebSocket \
                 (RFC 8441 needs :protocol = websocket)"
            }
            HandshakeError::UnsupportedProtocol => "extended CONNECT :protocol is not websocket",
            HandshakeError::UnexpectedKey => {
                "Sec-WebSocket-Key is not used over HTTP/2 (RFC 8441 section 5)"
            }
            HandshakeError::UnexpectedStatus(status) => {
                return write!(
                    f,
                    "unexpected response status {status} to the upgrade request"
                );
            }
        })
    }
}

/// Which timer ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The opening handshake took longer than [`crate::Timeouts::handshake`].
    Handshake,
    /// A keepalive ping got no pong within [`crate::Timeouts::pong`] (close code 1011). Also what
    /// [`crate::Sender::handle_time`] returns when, its connection dropped, its output made no progress for
    /// that long (the peer stopped reading).
    Pong,
    /// The peer did not answer our close frame within [`crate::Timeouts::close`] (or did not close TCP
    /// after the close handshake).
    Close,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::HeadBytes => "HTTP head size",
            Limit::Headers => "header count",
            Limit::FrameSize => "frame size",
            Limit::MessageSize => "message size",
            Limit::Fragments => "fragments per message",
        })
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Handshake => "opening handshake timed out",
            Timeout::Pong => "no pong to a keepalive ping in time",
            Timeout::Close => "close handshake timed out",
        })
    }
}

/// Why a connection failed. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke a framing rule (close code 1002).
    Protocol(ProtocolError),
    /// A text message or close reason from the peer is not UTF-8 (close code 1007).
    InvalidUtf8,
    /// The peer went past a limit (close code 1009; HTTP 431 during the handshake).
    LimitExceeded(Limit),
    /// The opening handshake failed: the client's request (server side, answered with
    /// [`HandshakeError::http_status`]) or the server's 101 response (client side) is invalid.
    Handshake(HandshakeError),
    /// A timer ran out: not a fault the peer's bytes showed, but the peer took too long.
    Timeout(Timeout),
    /// The peer closed the connection without a close handshake (close code 1006, not sent).
    UnexpectedEof,
}

impl Error {
    /// The close code that describes the failure: the one already sent to the peer for a protocol error
    /// (1002), invalid UTF-8 (1007), a limit (1009) and a pong timeout (1011); 1006 (Abnormal Closure,
    /// never sent) for a failed handshake, the handshake and close timeouts and an unexpected end of
    /// stream. (During the handshake a server answers with an HTTP status instead of a close frame.)
    #[must_use]
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Error::Protocol(_) => CloseCode::PROTOCOL_ERROR,
            Error::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            Error::LimitExceeded(_) => CloseCode::MESSAGE_TOO_BIG,
            Error::Handshake(_) | Error::UnexpectedEof | Error::Timeout(Timeout::Handshake) => {
                CloseCode::ABNORMAL
            }
            Error::Timeout(Timeout::Pong) => CloseCode::INTERNAL_ERROR,
            Error::Timeout(Timeout::Close) => CloseCode::ABNORMAL,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            Error::LimitExceeded(limit) => write!(f, "limit exceeded: {limit}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Timeout(t) => write!(f, "timeout: {t}"),
            Error::UnexpectedEof => f.write_str("connection closed without a close frame"),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

/// A command the application should not have given. The connection is unaffected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The handshake has not completed yet.
    NotOpen,
    /// A close frame was already sent, or the connection has ended.
    Closed,
    /// A control frame payload over 125 bytes (or a close reason over 123 bytes).
    ControlPayloadTooLong,
    /// A close code that may not be sent (see [`CloseCode::is_sendable`]).
    InvalidCloseCode,
    /// Text fragments that are not UTF-8 when joined.
    InvalidUtf8,
    /// A whole message was sent while a fragmented one is in progress, or fragment kinds changed mid-message.
    FragmentInProgress,
    /// `accept`/`reject` on a connection that is not a server waiting for that decision.
    NoPendingRequest,
    /// `accept` chose a subprotocol the client did not offer.
    SubprotocolNotOffered,
    /// A header name or value that would break the HTTP response (CR, LF, or not a token).
    InvalidHeader,
    /// A data message sent on a connection whose [`crate::Sender`] sends them, or a second split.
    Split,
    /// The negotiated extension cannot encode apart from decoding, so the connection cannot be split.
    NotSplittable,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::NotOpen => "the connection is not open yet",
            SendError::Closed => "the connection is closing or closed",
            SendError::ControlPayloadTooLong => "control frame payload over 125 bytes",
            SendError::InvalidCloseCode => "close code may not be sent",
            SendError::InvalidUtf8 => "text is not UTF-8",
            SendError::FragmentInProgress => "a fragmented message is in progress",
            SendError::NoPendingRequest => "no handshake request is waiting for a decision",
            SendError::SubprotocolNotOffered => "subprotocol was not offered by the client",
            SendError::InvalidHeader => "invalid header name or value",
            SendError::Split => "the connection is split: its sender sends data messages",
            SendError::NotSplittable => "the negotiated extension cannot be split",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
#[cfg(feature = "std")]
impl std::error::Error for SendError {}
#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}
#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}
#[cfg(feature = "std")]
impl std::error::Error for Limit {}
#[cfg(feature = "std")]
impl std::error::Error for Timeout {}
