//! The opening handshake on the `http` crate's types (feature `http`), for servers and clients whose HTTP
//! stack (hyper, axum, h2, ...) reads and writes the HTTP messages: HTTP/1.1 upgrades (RFC 6455 section
//! 4) and WebSockets over HTTP/2 by extended CONNECT (RFC 8441; the same shape serves HTTP/3, RFC 9220).
//!
//! The checks and the negotiation are the built-in handshake's own functions (`server.rs`, `client.rs`):
//! this module only converts between `http` types and theirs.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::Headers;
use super::client::{ClientRequest, accepted_extensions, chosen_subprotocol, validate_upgrade};
use super::key::encode_key;
use super::server::{
    Accept, Request, UpgradeVia, accept_headers, error_headers, negotiate, validate_request,
};
use crate::config::Config;
use crate::connection::Negotiated;
use crate::error::{HandshakeError, SendError};

/// The value of the `:protocol` pseudo-header that opens a WebSocket by extended CONNECT (RFC 8441
/// section 4). A client sets it on its HTTP/2 request (with hyper: `hyper::ext::Protocol`, with h2:
/// `h2::ext::Protocol`, in the request's extensions); a server reads it from there and passes it to
/// [`ServerHandshake::from_parts`].
pub const WEBSOCKET_PROTOCOL: &str = "websocket";

/// How a request arrived, from its HTTP version: HTTP/1.1 is an upgrade, HTTP/2 and later an extended
/// CONNECT; HTTP/1.0 and older cannot carry a WebSocket.
fn via(version: ::http::Version) -> Option<UpgradeVia> {
    match version {
        ::http::Version::HTTP_11 => Some(UpgradeVia::Http11),
        ::http::Version::HTTP_2 | ::http::Version::HTTP_3 => Some(UpgradeVia::ExtendedConnect),
        _ => None,
    }
}

impl Headers {
    /// A copy of an `http` header map (each value of a repeated header kept, in order).
    fn from_http(map: &::http::HeaderMap) -> Self {
        let mut headers = Headers::new();
        for (name, value) in map {
            headers.append(name.as_str(), value.as_bytes());
        }
        headers
    }
}

/// A validated WebSocket upgrade request, read from the `http` request parts an HTTP stack parsed: an
/// HTTP/1.1 `GET` with `Upgrade: websocket`, or an HTTP/2 extended CONNECT with `:protocol` = `websocket`.
/// Look at the request ([`ServerHandshake::request`]: path, Origin, offered subprotocols and extensions),
/// then [`ServerHandshake::accept`] to get the response to send and what it negotiated, or answer
/// something else (a 403, a 404) yourself.
///
/// The rules are those of [`crate::Connection::server`]'s own handshake; the offers are negotiated with
/// the same [`Config::extensions`].
///
/// ```
/// use ws_core::http::ServerHandshake;
/// use ws_core::{Accept, Config, Connection, Instant, Role};
///
/// let request = http::Request::builder()
///     .uri("/chat")
///     .header("Host", "example.com")
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("Sec-WebSocket-Version", "13")
///     .header("Sec-WebSocket-Protocol", "chat, superchat")
///     .body(())
///     .unwrap();
/// let (parts, ()) = request.into_parts();
///
/// let upgrade = ServerHandshake::from_parts(&parts, None).unwrap();
/// assert_eq!(upgrade.request().path(), "/chat");
/// assert_eq!(upgrade.subprotocols(), ["chat", "superchat"]);
/// let config = Config::default();
/// let (response, negotiated) = upgrade.accept(&Accept::new().subprotocol("chat"), &config).unwrap();
/// assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
/// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
///
/// // Once the HTTP stack has sent the response and handed over the connection:
/// let conn = Connection::open(Role::Server, config, negotiated, [0; 32], b"", Instant::ZERO).unwrap();
/// assert_eq!(conn.subprotocol(), Some("chat"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHandshake {
    request: Request,
    via: UpgradeVia,
    /// The request's HTTP version, which the response keeps.
    version: ::http::Version,
}

impl ServerHandshake {
    /// Validates an upgrade request from its parts.
    ///
    /// `protocol` is the `:protocol` pseudo-header of an HTTP/2 (or HTTP/3) extended CONNECT, which the
    /// `http` crate does not model: hyper and h2 keep it in the request's extensions
    /// (`parts.extensions.get::<hyper::ext::Protocol>().map(|p| p.as_str())`). Pass `None` when there is
    /// none; it is not looked at for HTTP/1.1.
    ///
    /// By version:
    /// - HTTP/1.1: `GET`, one Host header, `Upgrade: websocket`, `Connection: upgrade`, a
    ///   Sec-WebSocket-Key of 16 bytes in base64, `Sec-WebSocket-Version: 13`.
    /// - HTTP/2 and HTTP/3: `CONNECT` with `protocol` = `websocket`, `Sec-WebSocket-Version: 13`, and no
    ///   Sec-WebSocket-Key (RFC 8441 section 5). The `:authority` (the URI's authority) stands in for
    ///   the Host header in [`Request::host`] and [`Request::origin_allowed`] when no Host header came.
    /// - HTTP/1.0 and older: refused.
    ///
    /// The error says which status to answer with ([`UpgradeError::status`], and
    /// [`UpgradeError::response`] builds the answer): 400 for a malformed request (a CONNECT without
    /// `:protocol`, an HTTP/2 request with a Sec-WebSocket-Key, a bad key), 426 with
    /// `Sec-WebSocket-Version: 13` for a missing `Upgrade` or a missing or wrong version, 501 for an
    /// extended CONNECT to another protocol.
    ///
    /// ```
    /// use ws_core::HandshakeError;
    /// use ws_core::http::ServerHandshake;
    ///
    /// // An HTTP/2 extended CONNECT, as hyper hands it over (the `:protocol` comes separately).
    /// let request = http::Request::builder()
    ///     .method(http::Method::CONNECT)
    ///     .version(http::Version::HTTP_2)
    ///     .uri("https://example.com/chat")
    ///     .header("Sec-WebSocket-Version", "13")
    ///     .body(())
    ///     .unwrap();
    /// let (parts, ()) = request.into_parts();
    /// let upgrade = ServerHandshake::from_parts(&parts, Some("websocket")).unwrap();
    /// assert!(upgrade.is_extended_connect());
    /// assert_eq!(upgrade.request().host(), Some("example.com"));
    ///
    /// let tunnel = ServerHandshake::from_parts(&parts, None).unwrap_err();
    /// assert_eq!(tunnel.error(), &HandshakeError::MissingProtocol);
    /// assert_eq!(tunnel.status(), http::StatusCode::BAD_REQUEST);
    /// let other = ServerHandshake::from_parts(&parts, Some("webtransport")).unwrap_err();
    /// assert_eq!(other.status(), http::StatusCode::NOT_IMPLEMENTED);
    /// ```
    pub fn from_parts(
        parts: &::http::request::Parts,
        protocol: Option<&str>,
    ) -> Result<Self, UpgradeError> {
        let Some(via) = via(parts.version) else {
            return Err(UpgradeError {
                error: HandshakeError::UnsupportedHttpVersion,
                via: UpgradeVia::Http11,
            });
        };
        let mut headers = Headers::from_http(&parts.headers);
        if via == UpgradeVia::ExtendedConnect
            && !headers.contains("host")
            && let Some(authority) = parts.uri.authority()
        {
            headers.append("host", authority.as_str());
        }
        let resource = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let request = validate_request(parts.method.as_str(), via, protocol, resource, headers)
            .map_err(|error| UpgradeError { error, via })?;
        Ok(ServerHandshake {
            request,
            via,
            version: parts.version,
        })
    }

    /// The request: path and query, headers, Origin, offered subprotocols and extensions (the same type
    /// as [`crate::Event::Request`]).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The request, taken out.
    pub fn into_request(self) -> Request {
        self.request
    }

    /// Whether this is an HTTP/2 (or later) extended CONNECT, answered with 200, rather than an HTTP/1.1
    /// upgrade, answered with 101.
    pub fn is_extended_connect(&self) -> bool {
        self.via == UpgradeVia::ExtendedConnect
    }

    /// The subprotocols the client offers, in its order of preference.
    pub fn subprotocols(&self) -> &[String] {
        &self.request.subprotocols
    }

    /// The raw Sec-WebSocket-Extensions values the client sent (its extension offers).
    pub fn extension_offers(&self) -> impl Iterator<Item = &[u8]> {
        self.request.extension_offers()
    }

    /// Accepts the upgrade: checks `accept` (its subprotocol must be one the client offered, its extra
    /// headers must not replace the handshake's own), negotiates extensions from the client's offers with
    /// `config`'s [`Config::extensions`] (for permessage-deflate: the same answer as the built-in
    /// handshake), and returns the response to send and what was negotiated, for
    /// [`crate::Connection::open`] with the same `config` once the HTTP stack hands over the connection.
    ///
    /// The response, in the request's HTTP version, is `101 Switching Protocols` with Upgrade,
    /// Connection and Sec-WebSocket-Accept for HTTP/1.1, and `200 OK` without them for an extended
    /// CONNECT; both carry Sec-WebSocket-Protocol and
    /// Sec-WebSocket-Extensions when agreed, and `accept`'s extra headers.
    ///
    /// Fails, as [`crate::Connection::accept`] does, with [`SendError::SubprotocolNotOffered`] or
    /// [`SendError::InvalidHeader`] (also for a header the `http` crate refuses).
    pub fn accept(
        &self,
        accept: &Accept,
        config: &Config,
    ) -> Result<(::http::Response<()>, Negotiated), SendError> {
        let agreed = negotiate(&self.request, accept, config)?;
        let extensions = agreed.map(|(value, _)| value);
        let status = match self.via {
            UpgradeVia::Http11 => ::http::StatusCode::SWITCHING_PROTOCOLS,
            UpgradeVia::ExtendedConnect => ::http::StatusCode::OK,
        };
        let mut response = ::http::Response::new(());
        *response.status_mut() = status;
        *response.version_mut() = self.version;
        for (name, value) in accept_headers(&self.request, accept, extensions.as_deref(), self.via)
        {
            let name = ::http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SendError::InvalidHeader)?;
            let value =
                ::http::HeaderValue::from_bytes(&value).map_err(|_| SendError::InvalidHeader)?;
            response.headers_mut().append(name, value);
        }
        let negotiated = Negotiated {
            subprotocol: accept.subprotocol.clone(),
            extensions,
            headers: Headers::new(),
        };
        Ok((response, negotiated))
    }
}

/// Why an upgrade request was refused, with the HTTP status to answer it with
/// ([`UpgradeError::response`] builds that answer).
///
/// ```
/// use ws_core::http::ServerHandshake;
/// let request = http::Request::builder()
///     .header("Host", "example.com")
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("Sec-WebSocket-Version", "8")
///     .body(())
///     .unwrap();
/// let error = ServerHandshake::from_parts(&request.into_parts().0, None).unwrap_err();
/// let response = error.response();
/// assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
/// assert_eq!(response.headers()["sec-websocket-version"], "13");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeError {
    error: HandshakeError,
    via: UpgradeVia,
}

impl UpgradeError {
    /// What is wrong with the request.
    pub fn error(&self) -> &HandshakeError {
        &self.error
    }

    /// The status to answer with ([`HandshakeError::http_status`]): 400, 426 or 501.
    pub fn status(&self) -> ::http::StatusCode {
        ::http::StatusCode::from_u16(self.error.http_status())
            .unwrap_or(::http::StatusCode::BAD_REQUEST)
    }

    /// The answer to send: [`UpgradeError::status`] with no body; a 426 names the WebSocket version
    /// spoken (`Sec-WebSocket-Version: 13`, RFC 6455 section 4.4) and, over HTTP/1.1, the protocol to
    /// upgrade to (`Upgrade: websocket`). The same headers as the built-in handshake's error answers.
    pub fn response(&self) -> ::http::Response<()> {
        let mut response = ::http::Response::new(());
        *response.status_mut() = self.status();
        for (name, value) in error_headers(self.status().as_u16(), self.via) {
            response.headers_mut().append(
                ::http::HeaderName::from_static(static_lowercase(name)),
                ::http::HeaderValue::from_static(value),
            );
        }
        response
    }
}

/// The lowercase form of the few header names [`error_headers`] uses (`HeaderName::from_static` takes
/// lowercase names only).
fn static_lowercase(name: &'static str) -> &'static str {
    match name {
        "Upgrade" => "upgrade",
        "Sec-WebSocket-Version" => "sec-websocket-version",
        other => other,
    }
}

impl core::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "WebSocket upgrade refused ({}): {}",
            self.status(),
            self.error
        )
    }
}

impl std::error::Error for UpgradeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A client's side of an opening handshake sent by an HTTP stack: builds the upgrade request as `http`
/// types, then verifies the response's parts and returns what was negotiated, for
/// [`crate::Connection::open`].
///
/// The request is the built-in client's ([`crate::Connection::client`]): the same headers, the
/// subprotocols of the [`ClientRequest`] and the extension offer of [`Config::extensions`]. The response
/// is checked by the same rules: a subprotocol that was not offered, an extension or extension parameter
/// that was not offered, or (HTTP/1.1) a wrong Sec-WebSocket-Accept fails it.
///
/// ```
/// use ws_core::http::{ClientHandshake, ServerHandshake};
/// use ws_core::{Accept, ClientRequest, Config, Connection, Instant, Role};
///
/// let config = Config::default();
/// let request = ClientRequest::new("example.com", "/chat").subprotocol("chat");
/// // A fresh random nonce for each request (here a constant; use `getrandom::fill`).
/// let (http_request, handshake) = ClientHandshake::http11(&request, &config, [1; 16]).unwrap();
/// assert_eq!(http_request.method(), http::Method::GET);
///
/// // ... the HTTP stack sends it; here a ws-core server on `http` types answers:
/// let upgrade = ServerHandshake::from_parts(&http_request.into_parts().0, None).unwrap();
/// let (response, _) = upgrade.accept(&Accept::new().subprotocol("chat"), &config).unwrap();
///
/// let negotiated = handshake.verify(&response.into_parts().0, &config).unwrap();
/// assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
/// let client = Connection::open(Role::Client, config, negotiated, [7; 32], b"", Instant::ZERO).unwrap();
/// assert_eq!(client.subprotocol(), Some("chat"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHandshake {
    /// The Sec-WebSocket-Key sent (HTTP/1.1); `None` for an extended CONNECT.
    key: Option<String>,
    /// The subprotocols offered.
    offered: Vec<String>,
}

impl ClientHandshake {
    /// An HTTP/1.1 upgrade request: `GET` of the request's resource, version HTTP/1.1, with Host,
    /// `Upgrade: websocket`, `Connection: Upgrade`, the Sec-WebSocket-Key made from `nonce`,
    /// `Sec-WebSocket-Version: 13`, Origin, the offered subprotocols, `config`'s extension offer and the
    /// request's extra headers.
    ///
    /// `nonce`: 16 bytes from the operating system's random source, fresh for every request (ws-core has
    /// no random source of its own). Fails when the `http` crate refuses the resource or a header.
    pub fn http11(
        request: &ClientRequest,
        config: &Config,
        nonce: [u8; 16],
    ) -> Result<(::http::Request<()>, Self), ::http::Error> {
        let key = encode_key(nonce);
        let builder = ::http::Request::builder()
            .method(::http::Method::GET)
            .version(::http::Version::HTTP_11)
            .uri(request.resource.as_str());
        let http_request = build(builder, request, config, Some(&key))?;
        Ok((
            http_request,
            ClientHandshake {
                key: Some(key),
                offered: request.subprotocols.clone(),
            },
        ))
    }

    /// An HTTP/2 extended CONNECT request (RFC 8441 section 4): `CONNECT` with the URI
    /// `scheme://host/resource` (its scheme and authority become `:scheme` and `:authority`), version
    /// HTTP/2, `Sec-WebSocket-Version: 13`, Origin, the offered subprotocols, `config`'s extension offer
    /// and the request's extra headers; no key.
    ///
    /// The `http` crate cannot carry the `:protocol` pseudo-header: set it to [`WEBSOCKET_PROTOCOL`] in the
    /// request's extensions before sending, as the HTTP/2 client expects it (hyper:
    /// `request.extensions_mut().insert(hyper::ext::Protocol::from_static("websocket"))`; h2:
    /// `h2::ext::Protocol`). The server must have enabled extended CONNECT
    /// (`SETTINGS_ENABLE_CONNECT_PROTOCOL`).
    ///
    /// ```
    /// use ws_core::http::ClientHandshake;
    /// use ws_core::{ClientRequest, Config};
    /// let request = ClientRequest::new("example.com", "/chat");
    /// let (req, _handshake) =
    ///     ClientHandshake::http2(&request, &Config::default(), http::uri::Scheme::HTTPS).unwrap();
    /// assert_eq!(req.method(), http::Method::CONNECT);
    /// assert_eq!(req.uri(), "https://example.com/chat");
    /// assert!(req.headers().get("sec-websocket-key").is_none());
    /// ```
    pub fn http2(
        request: &ClientRequest,
        config: &Config,
        scheme: ::http::uri::Scheme,
    ) -> Result<(::http::Request<()>, Self), ::http::Error> {
        let uri = format!("{scheme}://{}{}", request.host, request.resource);
        let builder = ::http::Request::builder()
            .method(::http::Method::CONNECT)
            .version(::http::Version::HTTP_2)
            .uri(uri);
        let http_request = build(builder, request, config, None)?;
        Ok((
            http_request,
            ClientHandshake {
                key: None,
                offered: request.subprotocols.clone(),
            },
        ))
    }

    /// Whether the request is an extended CONNECT (HTTP/2) rather than an HTTP/1.1 upgrade.
    pub fn is_extended_connect(&self) -> bool {
        self.key.is_none()
    }

    /// Checks the response and returns what it agreed, for [`crate::Connection::open`] with the same
    /// `config` that built the request.
    ///
    /// HTTP/1.1: the status must be 101 with `Upgrade: websocket`, `Connection: upgrade` and the
    /// Sec-WebSocket-Accept of our key. Extended CONNECT: any 2xx status. Both: at most one
    /// subprotocol, one we offered ([`HandshakeError::UnexpectedSubprotocol`]); extensions only as
    /// offered, with valid parameters ([`HandshakeError::InvalidExtensions`]). Another status is
    /// [`HandshakeError::UnexpectedStatus`] (a redirect, an authentication challenge, an error page).
    ///
    /// ```
    /// use ws_core::http::ClientHandshake;
    /// use ws_core::{ClientRequest, Config, HandshakeError};
    /// let config = Config::default();
    /// let request = ClientRequest::new("example.com", "/chat").subprotocol("chat");
    /// let (_, handshake) = ClientHandshake::http2(&request, &config, http::uri::Scheme::HTTPS).unwrap();
    /// let response = http::Response::builder()
    ///     .header("Sec-WebSocket-Protocol", "superchat")
    ///     .body(())
    ///     .unwrap();
    /// assert_eq!(
    ///     handshake.verify(&response.into_parts().0, &config),
    ///     Err(HandshakeError::UnexpectedSubprotocol)
    /// );
    /// ```
    pub fn verify(
        &self,
        response: &::http::response::Parts,
        config: &Config,
    ) -> Result<Negotiated, HandshakeError> {
        let headers = Headers::from_http(&response.headers);
        let status = response.status;
        let subprotocol = match &self.key {
            Some(key) => {
                if status != ::http::StatusCode::SWITCHING_PROTOCOLS {
                    return Err(HandshakeError::UnexpectedStatus(status.as_u16()));
                }
                validate_upgrade(&headers, key, &self.offered)?
            }
            None => {
                if !status.is_success() {
                    return Err(HandshakeError::UnexpectedStatus(status.as_u16()));
                }
                chosen_subprotocol(&headers, &self.offered)?
            }
        };
        let extensions = accepted_extensions(&headers, config)?.map(|(value, _)| value);
        Ok(Negotiated {
            subprotocol,
            extensions,
            headers,
        })
    }
}

/// Adds the upgrade request's headers (the built-in client's, see `ClientRequest::head_headers`) to
/// `builder`.
fn build(
    mut builder: ::http::request::Builder,
    request: &ClientRequest,
    config: &Config,
    key: Option<&str>,
) -> Result<::http::Request<()>, ::http::Error> {
    let offer = config.extensions.as_ref().map(|f| f.client_offer());
    for (name, value) in request.head_headers(key, offer.as_deref()) {
        builder = builder.header(name, &*value);
    }
    builder.body(())
}
