//! The client's half of the opening handshake (RFC 6455 sections 4.1 and 4.2.2).

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{
    Headers, WsUrl, header_is_safe, key::accept_key, token_list_contains, tokens, write_header,
};
use crate::config::Config;
use crate::error::HandshakeError;
use crate::extension::Agreed;

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
    /// `Authorization: Basic` from the URL's `user:password@`, sent unless `headers` has an
    /// `Authorization` of its own.
    url_authorization: Option<Secret>,
}

/// A header value that is never shown (its `Debug` prints `***`).
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("***")
    }
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
            url_authorization: None,
        }
    }

    /// A request for a parsed URL.
    /// Credentials in the URL (`ws://user:password@host/`, percent-decoded) become an
    /// `Authorization: Basic` header, unless one is added with [`ClientRequest::header`].
    ///
    /// ```
    /// use ws_core::http::client::ClientRequest;
    /// let req = ClientRequest::from_url_str("ws://Aladdin:open%20sesame@h/").unwrap();
    /// assert!(!format!("{req:?}").contains("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), "never shown");
    /// ```
    pub fn from_url(url: &WsUrl) -> Self {
        let mut request = ClientRequest::new(url.host_header(), url.resource.clone());
        request.url_authorization = url.credentials().map(|(user, password)| {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD
                .encode(alloc::format!("{user}:{password}"));
            Secret(alloc::format!("Basic {token}"))
        });
        request
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
        for (name, value) in self.head_headers(Some(key), extensions) {
            write_header(out, name, &value);
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The headers of the upgrade request, in order. With `key` (HTTP/1.1): Host, Upgrade, Connection,
    /// Sec-WebSocket-Key, then the rest. Without (an extended CONNECT, RFC 8441): the host goes in
    /// `:authority` and none of those four is sent. The rest: Sec-WebSocket-Version, Origin, the offered
    /// subprotocols and extensions, and the application's extra headers that are safe to write and do not
    /// replace the handshake's own.
    pub(crate) fn head_headers<'a>(
        &'a self,
        key: Option<&'a str>,
        extensions: Option<&'a str>,
    ) -> Vec<(&'a str, Cow<'a, [u8]>)> {
        let mut out: Vec<(&str, Cow<'_, [u8]>)> = Vec::new();
        if let Some(key) = key {
            out.push(("Host", Cow::Borrowed(self.host.as_bytes())));
            out.push(("Upgrade", Cow::Borrowed(b"websocket")));
            out.push(("Connection", Cow::Borrowed(b"Upgrade")));
            out.push(("Sec-WebSocket-Key", Cow::Borrowed(key.as_bytes())));
        }
        out.push(("Sec-WebSocket-Version", Cow::Borrowed(b"13")));
        if let Some(origin) = &self.origin {
            out.push(("Origin", Cow::Borrowed(origin.as_bytes())));
        }
        if !self.subprotocols.is_empty() {
            let joined = self.subprotocols.join(", ");
            out.push(("Sec-WebSocket-Protocol", Cow::Owned(joined.into_bytes())));
        }
        if let Some(offer) = extensions {
            out.push(("Sec-WebSocket-Extensions", Cow::Borrowed(offer.as_bytes())));
        }
        if let Some(Secret(authorization)) = &self.url_authorization
            && !self.headers.contains("authorization")
        {
            out.push(("Authorization", Cow::Borrowed(authorization.as_bytes())));
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
                out.push((name, Cow::Borrowed(value)));
            }
        }
        out
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
    chosen_subprotocol(headers, offered)
}

/// The subprotocol the server chose: none, or exactly one of those `offered` (any other answer fails the
/// handshake). The rule for every response, 101 or an extended CONNECT's 200.
pub(crate) fn chosen_subprotocol(
    headers: &Headers,
    offered: &[String],
) -> Result<Option<String>, HandshakeError> {
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

/// The extensions the server's answer agreed to, checked against what [`Config::extensions`] offered:
/// the Sec-WebSocket-Extensions value (its lines joined) and the active extension, or `None` when the
/// server accepted none. An extension or parameter we did not offer fails the handshake.
pub(crate) fn accepted_extensions(
    headers: &Headers,
    config: &Config,
) -> Result<Option<Agreed>, HandshakeError> {
    let answered: Vec<&[u8]> = headers.get_all("sec-websocket-extensions").collect();
    let extension = match &config.extensions {
        Some(factory) => factory
            .client_accept(&answered)
            .map_err(|()| HandshakeError::InvalidExtensions)?,
        None if answered.is_empty() => None,
        None => return Err(HandshakeError::InvalidExtensions),
    };
    Ok(extension.map(|extension| (join_values(&answered), extension)))
}

/// Joins header values with `, ` (several Sec-WebSocket-Extensions lines mean one list).
fn join_values(values: &[&[u8]]) -> String {
    let joined: Vec<String> = values
        .iter()
        .map(|v| String::from_utf8_lossy(v.trim_ascii()).into_owned())
        .collect();
    joined.join(", ")
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
    fn url_credentials_become_basic_authorization_unless_one_is_set() {
        let url = WsUrl::parse("ws://Aladdin:open%20sesame@h/").unwrap();
        let encode = |req: &ClientRequest| {
            let mut out = Vec::new();
            req.encode(KEY, None, &mut out);
            String::from_utf8(out).unwrap()
        };
        let text = encode(&ClientRequest::from_url(&url));
        assert!(
            text.contains("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Host: h\r\n"),
            "no credentials in Host: {text}"
        );
        let text = encode(&ClientRequest::from_url(&url).header("Authorization", "Bearer t"));
        assert_eq!(text.matches("Authorization").count(), 1, "{text}");
        assert!(text.contains("Authorization: Bearer t"));
        let text = encode(&ClientRequest::from_url(&WsUrl::parse("ws://h/").unwrap()));
        assert!(!text.contains("Authorization"));
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
