//! The server's half of the opening handshake (RFC 6455 section 4.2).

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{Headers, header_is_safe, key::accept_key, key::is_valid_key, tokens, write_header};
use crate::config::{Config, Limits};
use crate::error::{Error, HandshakeError, Limit, SendError};
use crate::extension::Agreed;

/// A valid upgrade request, handed to the application as [`crate::Event::Request`] so it can look at the
/// path, Origin, cookies and offered subprotocols, then [`crate::Connection::accept`] or
/// [`crate::Connection::reject`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// The request target (path and query), e.g. `/chat?room=1`.
    pub resource: String,
    /// All request headers.
    pub headers: Headers,
    /// Subprotocols the client offers, in its order of preference.
    pub subprotocols: Vec<String>,
    pub(crate) key: String,
}

impl Request {
    /// The path part of the resource (before `?`).
    pub fn path(&self) -> &str {
        self.resource
            .split_once('?')
            .map_or(&self.resource, |(p, _)| p)
    }

    /// The query part of the resource (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.resource.split_once('?').map(|(_, q)| q)
    }

    /// The Origin header: browsers always send it; check it to stop cross-site WebSocket hijacking.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("origin")
    }

    /// The Host header.
    pub fn host(&self) -> Option<&str> {
        self.headers.get_str("host")
    }

    /// The raw Sec-WebSocket-Extensions values the client sent.
    pub fn extension_offers(&self) -> impl Iterator<Item = &[u8]> {
        self.headers.get_all("sec-websocket-extensions")
    }

    /// Whether the client offered `protocol`.
    #[must_use]
    pub fn offers_subprotocol(&self, protocol: &str) -> bool {
        self.subprotocols.iter().any(|p| p == protocol)
    }

    /// Cross-site WebSocket hijacking defence: whether the Origin header is one of `allowed` (exact,
    /// ASCII case-insensitive match such as `https://chat.example.com`), or, when `allowed` is empty, names
    /// the same host and port as the Host header. A request without Origin (not from a browser) passes;
    /// reject those separately if only browsers may connect.
    ///
    /// ```
    /// # use ws_core::{Config, Connection, Event, Instant};
    /// # let mut server = Connection::server(Config::default(), Instant::ZERO);
    /// # server.receive(b"GET / HTTP/1.1\r\nHost: chat.example:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://chat.example:8080\r\n\r\n", Instant::ZERO);
    /// # let Some(Event::Request(request)) = server.poll_event() else { panic!() };
    /// assert!(request.origin_allowed(&[]));
    /// assert!(request.origin_allowed(&["http://chat.example:8080"]));
    /// assert!(!request.origin_allowed(&["https://other.example"]));
    /// ```
    #[must_use]
    pub fn origin_allowed(&self, allowed: &[&str]) -> bool {
        let Some(origin) = self.origin() else {
            return true;
        };
        if !allowed.is_empty() {
            return allowed
                .iter()
                .any(|a| a.eq_ignore_ascii_case(origin.trim()));
        }
        let Some(host) = self.host() else {
            return false;
        };
        let authority = origin.trim().split_once("://").map_or("", |(_, rest)| rest);
        let authority = authority.split('/').next().unwrap_or("");
        let default_port = if origin
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("https")
        {
            ":443"
        } else {
            ":80"
        };
        let normalize = |a: &str| {
            let a = a.to_ascii_lowercase();
            let has_port = a
                .rsplit_once(':')
                .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && !a.ends_with(']');
            if has_port {
                a
            } else {
                alloc::format!("{a}{default_port}")
            }
        };
        !authority.is_empty() && normalize(authority) == normalize(host.trim())
    }
}

/// How a server accepts an upgrade: the chosen subprotocol and extra response headers.
///
/// ```
/// let accept = ws_core::http::server::Accept::new().subprotocol("chat").header("Set-Cookie", "id=1");
/// assert_eq!(accept.subprotocol.as_deref(), Some("chat"));
/// ```
///
/// `#[non_exhaustive]`: build one with [`Accept::new`] and the builder methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accept {
    /// The subprotocol to answer with; it must be one the client offered.
    pub subprotocol: Option<String>,
    /// Extra headers for the 101 response.
    pub headers: Headers,
}

impl Accept {
    /// Accept with no subprotocol and no extra headers.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Chooses a subprotocol.
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }
}

/// Parses and checks an upgrade request at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet (and is within the limits). `Ok(Some((request, head_len)))`:
/// a valid request whose head is `head_len` bytes; the bytes after it belong to the frame layer.
pub(crate) fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Request, usize)>, Error> {
    let Some(head_len) = super::find_head_end(buf, 0) else {
        return if buf.len() > limits.max_head_bytes {
            Err(Error::LimitExceeded(Limit::HeadBytes))
        } else {
            Ok(None)
        };
    };
    if head_len > limits.max_head_bytes {
        return Err(Error::LimitExceeded(Limit::HeadBytes));
    }
    let mut raw_headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut raw_headers);
    match req.parse(&buf[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HandshakeError::Malformed.into()),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::LimitExceeded(Limit::Headers)),
        Err(_) => return Err(HandshakeError::Malformed.into()),
    }
    let method = req.method.unwrap_or("");
    if req.version != Some(1) {
        return Err(HandshakeError::UnsupportedHttpVersion.into());
    }
    let resource = req.path.unwrap_or("/").to_string();
    let headers = Headers::from_httparse(req.headers);
    let request = validate_request(method, UpgradeVia::Http11, None, resource, headers)?;
    Ok(Some((request, head_len)))
}

/// How an upgrade request arrived: the two shapes of the opening handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "http"), allow(dead_code))] // extended CONNECT arrives only through `http` types
pub(crate) enum UpgradeVia {
    /// HTTP/1.1: `GET` with `Upgrade: websocket` and a Sec-WebSocket-Key (RFC 6455 section 4), answered
    /// with 101.
    Http11,
    /// HTTP/2 or later: an extended CONNECT with `:protocol` = `websocket` and no key (RFC 8441 section
    /// 4, RFC 9220), answered with 200.
    ExtendedConnect,
}

/// The one set of rules for an upgrade request, whoever parsed its head (the built-in parser, or an HTTP
/// stack through `http` types): checks `method`, `protocol` (the `:protocol` pseudo-header of an extended
/// CONNECT) and `headers`, and builds the [`Request`] handed to the application.
pub(crate) fn validate_request(
    method: &str,
    via: UpgradeVia,
    protocol: Option<&str>,
    resource: String,
    headers: Headers,
) -> Result<Request, HandshakeError> {
    let key = match via {
        UpgradeVia::Http11 => {
            if method != "GET" {
                return Err(HandshakeError::MethodNotGet);
            }
            check_upgrade_headers(&headers)?;
            String::from_utf8_lossy(headers.get("sec-websocket-key").unwrap_or_default())
                .into_owned()
        }
        UpgradeVia::ExtendedConnect => {
            if method != "CONNECT" {
                return Err(HandshakeError::MethodNotConnect);
            }
            match protocol {
                None => return Err(HandshakeError::MissingProtocol),
                Some(p) if !p.trim().eq_ignore_ascii_case("websocket") => {
                    return Err(HandshakeError::UnsupportedProtocol);
                }
                Some(_) => {}
            }
            if headers.contains("sec-websocket-key") {
                return Err(HandshakeError::UnexpectedKey);
            }
            check_version(&headers)?;
            String::new()
        }
    };
    let subprotocols = headers
        .get_all("sec-websocket-protocol")
        .flat_map(tokens)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    Ok(Request {
        resource,
        headers,
        subprotocols,
        key,
    })
}

fn check_upgrade_headers(headers: &Headers) -> Result<(), HandshakeError> {
    if headers.get_all("host").count() != 1 {
        return Err(HandshakeError::InvalidHost);
    }
    if !headers.has_token("upgrade", "websocket") {
        return Err(HandshakeError::NotWebSocketUpgrade);
    }
    if !headers.has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let mut keys = headers.get_all("sec-websocket-key");
    match (keys.next(), keys.next()) {
        (Some(key), None) if is_valid_key(key.trim_ascii()) => {}
        _ => return Err(HandshakeError::InvalidKey),
    }
    check_version(headers)
}

/// Exactly one Sec-WebSocket-Version, and it is 13 (RFC 6455 section 4.2.1, item 6). A missing one is
/// answered like a wrong one: 426 naming the version we speak (section 4.4).
fn check_version(headers: &Headers) -> Result<(), HandshakeError> {
    let mut versions = headers.get_all("sec-websocket-version");
    match (versions.next(), versions.next()) {
        (Some(v), None) if v.trim_ascii() == b"13" => Ok(()),
        _ => Err(HandshakeError::UnsupportedWebSocketVersion),
    }
}

/// The application's [`Accept`] checked against the request, and the extensions negotiated from the
/// client's offers with [`Config::extensions`]: the one place a server agrees to an upgrade, for
/// [`crate::Connection::accept`] and for handshakes on `http` types. Returns the Sec-WebSocket-Extensions
/// response value and the active extension, if any was agreed.
pub(crate) fn negotiate(
    request: &Request,
    accept: &Accept,
    config: &Config,
) -> Result<Option<Agreed>, SendError> {
    if accept
        .subprotocol
        .as_ref()
        .is_some_and(|p| !request.offers_subprotocol(p))
    {
        return Err(SendError::SubprotocolNotOffered);
    }
    if !accept_headers_are_valid(accept) {
        return Err(SendError::InvalidHeader);
    }
    let offers: Vec<&[u8]> = request.extension_offers().collect();
    Ok(match &config.extensions {
        Some(factory) if !offers.is_empty() => factory.server_accept(&offers),
        _ => None,
    })
}

/// The headers of a server's answer to an accepted upgrade, in order: for HTTP/1.1 the 101's
/// Upgrade, Connection and Sec-WebSocket-Accept; for an extended CONNECT (200) none of those; then the
/// subprotocol, the extensions and the application's extra headers.
pub(crate) fn accept_headers<'a>(
    request: &Request,
    accept: &'a Accept,
    extensions: Option<&'a str>,
    via: UpgradeVia,
) -> Vec<(&'a str, Cow<'a, [u8]>)> {
    let mut out: Vec<(&str, Cow<'_, [u8]>)> = Vec::new();
    if via == UpgradeVia::Http11 {
        out.push(("Upgrade", Cow::Borrowed(b"websocket")));
        out.push(("Connection", Cow::Borrowed(b"Upgrade")));
        let accept_value = accept_key(request.key.trim_ascii().as_bytes());
        out.push((
            "Sec-WebSocket-Accept",
            Cow::Owned(accept_value.into_bytes()),
        ));
    }
    if let Some(protocol) = &accept.subprotocol {
        out.push(("Sec-WebSocket-Protocol", Cow::Borrowed(protocol.as_bytes())));
    }
    if let Some(ext) = extensions {
        out.push(("Sec-WebSocket-Extensions", Cow::Borrowed(ext.as_bytes())));
    }
    for (name, value) in accept.headers.iter() {
        out.push((name, Cow::Borrowed(value)));
    }
    out
}

/// Writes the 101 response. The caller has checked the subprotocol and headers.
pub(crate) fn encode_accept(
    request: &Request,
    accept: &Accept,
    extensions: Option<&str>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in accept_headers(request, accept, extensions, UpgradeVia::Http11) {
        write_header(out, name, &value);
    }
    out.extend_from_slice(b"\r\n");
}

/// Whether the extra headers of an [`Accept`] are safe to write and do not replace the handshake's own.
pub(crate) fn accept_headers_are_valid(accept: &Accept) -> bool {
    const OWN: [&str; 5] = [
        "upgrade",
        "connection",
        "sec-websocket-accept",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    ];
    accept
        .headers
        .iter()
        .all(|(n, v)| header_is_safe(n, v) && !OWN.iter().any(|o| n.eq_ignore_ascii_case(o)))
        && accept
            .subprotocol
            .as_deref()
            .is_none_or(|p| header_is_safe("x", p.as_bytes()))
}

/// The HTTP response for a request that failed our checks.
pub(crate) fn error_response(error: &Error) -> super::Response {
    let (status, text) = match error {
        Error::LimitExceeded(_) => (431, "request header fields too large"),
        Error::Handshake(e) => (e.http_status(), "invalid WebSocket upgrade request"),
        _ => (400, "bad request"),
    };
    let mut response = super::Response::new(status, text);
    for (name, value) in error_headers(status, UpgradeVia::Http11) {
        response.headers.append(*name, value);
    }
    response
}

/// The headers an error answer to an upgrade request carries besides its status: a 426 names the
/// protocol to upgrade to (RFC 7231 section 6.5.15; HTTP/1.1 only, as HTTP/2 has no Upgrade header) and
/// the WebSocket versions the server speaks (RFC 6455 section 4.4).
pub(crate) fn error_headers(
    status: u16,
    via: UpgradeVia,
) -> &'static [(&'static str, &'static str)] {
    match (status, via) {
        (426, UpgradeVia::Http11) => &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")],
        (426, UpgradeVia::ExtendedConnect) => &[("Sec-WebSocket-Version", "13")],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn parse(text: &str) -> Result<Option<(Request, usize)>, Error> {
        parse_request(text.as_bytes(), &Limits::default())
    }

    fn with(from: &str, to: &str) -> String {
        assert!(SAMPLE.contains(from));
        SAMPLE.replace(from, to)
    }

    #[test]
    fn rfc6455_1_3_sample_request_and_answer() {
        let (req, len) = parse(SAMPLE).unwrap().unwrap();
        assert_eq!(len, SAMPLE.len());
        assert_eq!(
            (req.path(), req.origin()),
            ("/chat", Some("http://example.com"))
        );
        assert_eq!(req.subprotocols, ["chat", "superchat"]);
        let mut out = Vec::new();
        encode_accept(&req, &Accept::new().subprotocol("chat"), None, &mut out);
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
    }

    #[test]
    fn partial_heads_wait_for_more() {
        for cut in 0..SAMPLE.len() {
            assert_eq!(parse(&SAMPLE[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn rfc6455_4_2_1_requirements() {
        let cases = [
            (with("GET", "POST"), HandshakeError::MethodNotGet),
            (
                with("HTTP/1.1", "HTTP/1.0"),
                HandshakeError::UnsupportedHttpVersion,
            ),
            (
                with("Host: server.example.com\r\n", ""),
                HandshakeError::InvalidHost,
            ),
            (
                with("Upgrade: websocket", "Upgrade: h2c"),
                HandshakeError::NotWebSocketUpgrade,
            ),
            (
                with("Connection: Upgrade", "Connection: keep-alive"),
                HandshakeError::MissingConnectionUpgrade,
            ),
            (
                with("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="),
                HandshakeError::InvalidKey,
            ),
            (
                with("Version: 13", "Version: 8"),
                HandshakeError::UnsupportedWebSocketVersion,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse(&text),
                Err(Error::Handshake(expected.clone())),
                "{expected:?}"
            );
        }
        assert_eq!(
            HandshakeError::UnsupportedWebSocketVersion.http_status(),
            426
        );
    }

    #[test]
    fn tokens_are_case_insensitive_in_lists() {
        let text = with("Connection: Upgrade", "Connection: keep-alive, UPGRADE")
            .replace("websocket", "WebSocket");
        assert!(parse(&text).unwrap().is_some());
    }

    #[test]
    fn oversized_heads_get_431() {
        let limits = Limits {
            max_head_bytes: 64,
            ..Limits::default()
        };
        assert_eq!(
            parse_request(SAMPLE.as_bytes(), &limits),
            Err(Error::LimitExceeded(Limit::HeadBytes))
        );
        assert_eq!(
            parse_request(&[b'a'; 65], &limits),
            Err(Error::LimitExceeded(Limit::HeadBytes))
        );
        let few = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        assert_eq!(
            parse_request(SAMPLE.as_bytes(), &few),
            Err(Error::LimitExceeded(Limit::Headers))
        );
        assert_eq!(
            error_response(&Error::LimitExceeded(Limit::Headers)).status,
            431
        );
    }

    #[test]
    fn origin_checks_compare_with_host_or_allow_list() {
        let (req, _) = parse(SAMPLE).unwrap().unwrap();
        assert!(req.origin_allowed(&["http://example.com"]));
        assert!(!req.origin_allowed(&["https://example.com"]));
        assert!(
            !req.origin_allowed(&[]),
            "Origin example.com differs from Host server.example.com"
        );
        let same = with(
            "Origin: http://example.com",
            "Origin: http://Server.Example.com:80",
        );
        assert!(parse(&same).unwrap().unwrap().0.origin_allowed(&[]));
        let other_port = with(
            "Origin: http://example.com",
            "Origin: http://server.example.com:8080",
        );
        assert!(!parse(&other_port).unwrap().unwrap().0.origin_allowed(&[]));
        let v6 = SAMPLE
            .replace("Host: server.example.com", "Host: [::1]")
            .replace("Origin: http://example.com", "Origin: http://[::1]:80");
        assert!(
            parse(&v6).unwrap().unwrap().0.origin_allowed(&[]),
            "IPv6, default port"
        );
        let null = with("Origin: http://example.com", "Origin: null");
        assert!(
            !parse(&null).unwrap().unwrap().0.origin_allowed(&[]),
            "opaque origin"
        );
        let none = with("Origin: http://example.com\r\n", "");
        assert!(parse(&none).unwrap().unwrap().0.origin_allowed(&[]));
    }

    #[test]
    fn version_mismatch_response_names_version_13() {
        let r = error_response(&Error::Handshake(
            HandshakeError::UnsupportedWebSocketVersion,
        ));
        assert_eq!(
            (r.status, r.headers.get_str("sec-websocket-version")),
            (426, Some("13"))
        );
    }
}
