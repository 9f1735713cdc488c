//! The client's half of the opening handshake (RFC 6455 sections 4.1 and 4.2.2).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{
    Headers, WsUrl, header_is_safe, key::accept_key, token_list_contains, tokens, write_header,
};
use crate::error::HandshakeError;

/// What a client asks for: the resource, Host, Origin, subprotocols and extra headers. Extensions come from
/// [`crate::Config::extensions`].
///
/// ```
/// use ws_core::http::client::ClientRequest;
/// let req = ClientRequest::from_url_str("ws://server.example.com/chat")
///     .unwrap()
///     .origin("http://example.com")
///     .subprotocol("chat")
///     .subprotocol("superchat")
///     .header("Authorization", "Bearer t0k3n");
/// assert_eq!(req.host, "server.example.com");
/// ```
///
/// `#[non_exhaustive]`: build one with [`ClientRequest::new`], [`ClientRequest::from_url`] or
/// [`ClientRequest::from_url_str`] and the builder methods.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientRequest {
    /// The request target: path and query.
    pub resource: String,
    /// The Host header value.
    pub host: String,
    /// The Origin header value, if any (browsers always send one).
    pub origin: Option<String>,
    /// Subprotocols to offer, in preference order.
    pub subprotocols: Vec<String>,
    /// Extra headers (cookies, authorization, ...). Headers the handshake itself writes are skipped.
    pub headers: Headers,
}

impl ClientRequest {
    /// A request for `resource` on `host` (the Host header value, with `:port` when not the default).
    pub fn new(host: impl Into<String>, resource: impl Into<String>) -> Self {
        ClientRequest {
            resource: resource.into(),
            host: host.into(),
            origin: None,
            subprotocols: Vec::new(),
            headers: Headers::new(),
        }
    }

    /// A request for a parsed URL.
    pub fn from_url(url: &WsUrl) -> Self {
        ClientRequest::new(url.host_header(), url.resource.clone())
    }

    /// A request for a URL string.
    #[must_use = "parsing has no effect other than the result"]
    pub fn from_url_str(url: &str) -> Result<Self, super::UrlError> {
        WsUrl::parse(url).map(|u| ClientRequest::from_url(&u))
    }

    /// Sets the Origin header.
    #[must_use]
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Offers one more subprotocol.
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Adds an extra header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Writes the GET request with `key` and the extension offer.
    pub(crate) fn encode(&self, key: &str, extensions: Option<&str>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.resource.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_header(out, "Host", self.host.as_bytes());
        write_header(out, "Upgrade", b"websocket");
        write_header(out, "Connection", b"Upgrade");
        write_header(out, "Sec-WebSocket-Key", key.as_bytes());
        write_header(out, "Sec-WebSocket-Version", b"13");
        if let Some(origin) = &self.origin {
            write_header(out, "Origin", origin.as_bytes());
        }
        if !self.subprotocols.is_empty() {
            write_header(
                out,
                "Sec-WebSocket-Protocol",
                self.subprotocols.join(", ").as_bytes(),
            );
        }
        if let Some(offer) = extensions {
            write_header(out, "Sec-WebSocket-Extensions", offer.as_bytes());
        }
        const OWN: [&str; 7] = [
            "host",
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-version",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
        ];
        for (name, value) in self.headers.iter() {
            if header_is_safe(name, value) && !OWN.iter().any(|o| name.eq_ignore_ascii_case(o)) {
                write_header(out, name, value);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Checks a 101 response against our key and offered subprotocols; returns the chosen subprotocol.
pub(crate) fn validate_upgrade(
    headers: &Headers,
    key: &str,
    offered: &[String],
) -> Result<Option<String>, HandshakeError> {
    if !headers
        .get_all("upgrade")
        .any(|v| token_list_contains(v, "websocket"))
    {
        return Err(HandshakeError::NotWebSocketUpgrade);
    }
    if !headers.has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let mut accepts = headers.get_all("sec-websocket-accept");
    match (accepts.next(), accepts.next()) {
        (Some(v), None) if v.trim_ascii() == accept_key(key.as_bytes()).as_bytes() => {}
        _ => return Err(HandshakeError::InvalidAccept),
    }
    let chosen: Vec<&[u8]> = headers
        .get_all("sec-websocket-protocol")
        .flat_map(tokens)
        .collect();
    match chosen.as_slice() {
        [] => Ok(None),
        [one] => offered
            .iter()
            .find(|p| p.as_bytes() == *one)
            .map(|p| Some(p.to_string()))
            .ok_or(HandshakeError::UnexpectedSubprotocol),
        _ => Err(HandshakeError::UnexpectedSubprotocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(extra: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        h.append("Upgrade", "websocket");
        h.append("Connection", "Upgrade");
        h.append("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        for (n, v) in extra {
            h.append(*n, *v);
        }
        h
    }

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn rfc6455_4_1_request_has_the_required_headers() {
        let req = ClientRequest::new("server.example.com", "/chat")
            .origin("http://example.com")
            .subprotocol("chat")
            .subprotocol("superchat")
            .header("Host", "ignored.example")
            .header("Cookie", "a=b")
            .header("Bad\r\nName", "x");
        let mut out = Vec::new();
        req.encode(KEY, None, &mut out);
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"));
        for line in [
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            "Origin: http://example.com",
            "Sec-WebSocket-Protocol: chat, superchat",
            "Cookie: a=b",
        ] {
            assert!(text.contains(line), "{line} missing from {text}");
        }
        assert!(!text.contains("ignored.example") && !text.contains("Bad"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn rfc6455_4_2_2_response_checks() {
        assert_eq!(validate_upgrade(&response(&[]), KEY, &[]), Ok(None));
        let offered = ["chat".to_string(), "superchat".to_string()];
        assert_eq!(
            validate_upgrade(
                &response(&[("Sec-WebSocket-Protocol", "chat")]),
                KEY,
                &offered
            ),
            Ok(Some("chat".to_string()))
        );
        assert_eq!(
            validate_upgrade(
                &response(&[("Sec-WebSocket-Protocol", "other")]),
                KEY,
                &offered
            ),
            Err(HandshakeError::UnexpectedSubprotocol)
        );
        assert_eq!(
            validate_upgrade(
                &response(&[("Sec-WebSocket-Protocol", "chat, superchat")]),
                KEY,
                &offered
            ),
            Err(HandshakeError::UnexpectedSubprotocol)
        );
        assert_eq!(
            validate_upgrade(&response(&[]), "AAAAAAAAAAAAAAAAAAAAAA==", &[]),
            Err(HandshakeError::InvalidAccept)
        );
        let mut no_upgrade = Headers::new();
        no_upgrade.append("Connection", "Upgrade");
        assert_eq!(
            validate_upgrade(&no_upgrade, KEY, &[]),
            Err(HandshakeError::NotWebSocketUpgrade)
        );
        let mut no_conn = Headers::new();
        no_conn.append("upgrade", "WebSocket");
        assert_eq!(
            validate_upgrade(&no_conn, KEY, &[]),
            Err(HandshakeError::MissingConnectionUpgrade)
        );
    }
}
