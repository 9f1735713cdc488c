//! Messages and events: what the core hands to the application.

use bytes::Bytes;

use crate::close::CloseFrame;
use crate::error::Error;
use crate::http::Headers;
use crate::http::Response;
use crate::http::server::Request;
use crate::prepared::PreparedMessage;
use crate::utf8::Utf8Bytes;
use alloc::boxed::Box;
use alloc::string::String;

/// A complete data message. Exhaustive: RFC 6455 defines exactly two kinds of data (text and binary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (validated UTF-8).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The payload as shared bytes (cloning them is a reference count, not a copy).
    pub(crate) fn shared(&self) -> &Bytes {
        match self {
            Message::Text(t) => t.shared(),
            Message::Binary(b) => b,
        }
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The text, when this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(Utf8Bytes::from(s))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(Utf8Bytes::from(s))
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(b: alloc::vec::Vec<u8>) -> Self {
        Message::Binary(Bytes::from(b))
    }
}

/// A message to send, owned: a [`Message`] or a [`PreparedMessage`]. What the adapters' `send` takes
/// (anything that converts into a [`Message`] converts into this too); [`crate::Connection::send`]
/// takes `&Outgoing`.
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// A message framed by the connection that sends it.
    Message(Message),
    /// A message framed once for many connections.
    Prepared(PreparedMessage),
}

impl<T: Into<Message>> From<T> for Outgoing {
    fn from(message: T) -> Self {
        Outgoing::Message(message.into())
    }
}

impl From<PreparedMessage> for Outgoing {
    fn from(prepared: PreparedMessage) -> Self {
        Outgoing::Prepared(prepared)
    }
}

impl From<&PreparedMessage> for Outgoing {
    fn from(prepared: &PreparedMessage) -> Self {
        Outgoing::Prepared(prepared.clone())
    }
}

/// What was agreed in the opening handshake.
///
/// `#[non_exhaustive]`: more may be reported in later versions. Built by the core; for tests, start from
/// `Opened::default()` and assign the fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Opened {
    /// The negotiated subprotocol.
    pub subprotocol: Option<String>,
    /// The negotiated Sec-WebSocket-Extensions value.
    pub extensions: Option<String>,
    /// Client: the 101 response's headers (cookies, server name). Server: empty.
    pub headers: Headers,
}

/// Something that happened on the connection. [`Event::Closed`], [`Event::Failed`] and [`Event::Rejected`]
/// are terminal: exactly one of them ends every connection, and no event follows it.
///
/// `#[non_exhaustive]`: later versions may add events; a `match` should ignore the ones it does not know
/// (use [`Event::is_terminal`] to tell whether one ends the connection).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: a valid upgrade request waits for [`crate::Connection::accept`] or
    /// [`crate::Connection::reject`]. Frames the client pipelined stay buffered until then.
    Request(Box<Request>),
    /// The handshake completed; messages may flow.
    Open(Box<Opened>),
    /// A complete message.
    Message(Message),
    /// A ping arrived (the core has already queued the pong).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// Terminal: the close handshake completed. Holds the peer's close frame (`None` when it had no code).
    Closed(Option<CloseFrame>),
    /// Terminal: the connection failed. The close frame or HTTP error (if any is due) is already queued.
    Failed(Error),
    /// Terminal: the handshake ended with a non-101 response (client: received; server: the one the
    /// application's [`crate::Connection::reject`] queued).
    Rejected(Box<Response>),
}

impl Event {
    /// Whether this event ends the connection.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Event::Closed(_) | Event::Failed(_) | Event::Rejected(_)
        )
    }
}
