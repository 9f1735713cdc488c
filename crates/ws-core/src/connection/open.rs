//! Connections that start open: the opening handshake was done by another HTTP stack (hyper, axum, h2,
//! ...) or through the `http`-typed functions of [`crate::http`], and frames flow from the first byte.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;

use super::{Connection, Role};
use crate::config::Config;
use crate::error::HandshakeError;
use crate::extension::Extension;
use crate::http::Headers;
use crate::time::Instant;

/// What an opening handshake done elsewhere agreed: the subprotocol and the extensions (such as the
/// permessage-deflate parameters), for [`Connection::open`].
///
/// The extensions are the `Sec-WebSocket-Extensions` value of the server's answer, exactly as sent: for
/// permessage-deflate it lists the agreed parameters (RFC 7692 section 7.1, e.g.
/// `permessage-deflate; server_no_context_takeover; client_max_window_bits=10`), and the connection's
/// [`Config::extensions`] turns it into compression contexts the way the built-in handshake does. The
/// `http`-typed handshakes (`ws_core::http::ServerHandshake::accept`,
/// `ws_core::http::ClientHandshake::verify`, feature `http`) return a filled-in `Negotiated`.
///
/// `#[non_exhaustive]`: build one with [`Negotiated::new`] and the builder methods.
///
/// ```
/// use ws_core::Negotiated;
/// let negotiated = Negotiated::new()
///     .subprotocol("chat")
///     .extensions("permessage-deflate; client_max_window_bits=12");
/// assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The `Sec-WebSocket-Extensions` value the server answered with, if it agreed to any extension.
    pub extensions: Option<String>,
    /// Client: the headers of the server's answer, reported in [`crate::Opened::headers`]. Server: empty.
    pub headers: Headers,
}

impl Negotiated {
    /// Nothing negotiated: no subprotocol, no extension.
    pub fn new() -> Self {
        Negotiated::default()
    }

    /// Sets the subprotocol the server chose.
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Sets the `Sec-WebSocket-Extensions` value the server answered with.
    #[must_use]
    pub fn extensions(mut self, value: impl Into<String>) -> Self {
        self.extensions = Some(value.into());
        self
    }

    /// Sets the headers of the server's answer (client side), reported in [`crate::Opened::headers`].
    #[must_use]
    pub fn headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }
}

impl Connection {
    /// A connection whose opening handshake was done elsewhere (by hyper, axum, h2, or through the
    /// `http`-typed functions of [`crate::http`]): it starts in [`crate::State::Open`] with
    /// [`crate::Event::Open`] queued, and from then on behaves exactly as a connection that did its own
    /// handshake: a client masks its frames and a server does not, the limits and timers of `config`
    /// apply (the keepalive counts from `now`; there is no handshake timer), and the extensions in
    /// `negotiated` are set up from [`Config::extensions`] as the built-in handshake would (for
    /// permessage-deflate: the same windows and context takeover).
    ///
    /// - `role`: which end this is.
    /// - `negotiated`: the subprotocol and extensions agreed ([`Negotiated`]).
    /// - `seed`: a client's frame masks come from a generator seeded with it: pass 32 bytes from the
    ///   operating system's random source. A server draws no randomness and ignores it.
    /// - `read_past_head`: bytes the HTTP stack read beyond the end of the handshake's head (hyper's
    ///   `Upgraded` parts call them `read_buf`). They are frames, and are processed as
    ///   [`Connection::receive`] would at `now`.
    ///
    /// Fails with [`HandshakeError::InvalidExtensions`] when `negotiated` names extensions that
    /// `config` cannot set up: none configured, or (client) a value that does not answer this
    /// configuration's offer, or (server) a value the configured factory could not have answered.
    ///
    /// ```
    /// use bytes::Buf;
    /// use ws_core::{Config, Connection, Event, Instant, Message, Negotiated, Role};
    ///
    /// let now = Instant::ZERO;
    /// let agreed = Negotiated::new().subprotocol("chat");
    /// let mut client =
    ///     Connection::open(Role::Client, Config::default(), agreed.clone(), [7; 32], b"", now).unwrap();
    /// assert!(matches!(client.poll_event(), Some(Event::Open(o)) if o.subprotocol.as_deref() == Some("chat")));
    ///
    /// // The client's first frame arrives together with the server's HTTP head: the HTTP stack hands
    /// // the bytes it read past the head to the server's connection.
    /// client.send(&Message::from("hello")).unwrap();
    /// let mut out = client.output();
    /// let frame = out.copy_to_bytes(out.remaining());
    /// assert_eq!(frame[1] & 0x80, 0x80); // a client masks its frames
    /// let mut server = Connection::open(Role::Server, Config::default(), agreed, [0; 32], &frame, now).unwrap();
    /// assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("hello"))));
    /// ```
    pub fn open(
        role: Role,
        config: impl Into<Arc<Config>>,
        negotiated: Negotiated,
        seed: [u8; 32],
        read_past_head: &[u8],
        now: Instant,
    ) -> Result<Self, HandshakeError> {
        let mut conn = Connection::new(role, config.into(), seed, now);
        let extension = match negotiated.extensions.as_deref() {
            Some(value) => Some(agreed_extension(role, &conn.config, value)?),
            None => None,
        };
        conn.enter_open(
            negotiated.subprotocol,
            negotiated.extensions,
            extension,
            negotiated.headers,
        );
        if !read_past_head.is_empty() {
            conn.receive(read_past_head, now);
        }
        Ok(conn)
    }
}

/// The active extension for a Sec-WebSocket-Extensions value agreed elsewhere, from `config`'s factory:
/// a client checks it against its own offer (the same check as the built-in handshake), a server asks the
/// factory for the extension behind a value it could have answered.
fn agreed_extension(
    role: Role,
    config: &Config,
    value: &str,
) -> Result<Box<dyn Extension>, HandshakeError> {
    let factory = config
        .extensions
        .as_ref()
        .ok_or(HandshakeError::InvalidExtensions)?;
    let extension = match role {
        Role::Client => factory.client_accept(&[value.as_bytes()]).ok().flatten(),
        Role::Server => factory.server_agreed(value.as_bytes()),
    };
    extension.ok_or(HandshakeError::InvalidExtensions)
}
