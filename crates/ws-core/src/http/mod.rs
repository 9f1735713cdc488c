//! The opening handshake's HTTP side (RFC 6455 section 4): headers, keys, URLs, and the client's and server's
//! halves of the upgrade. Parsing is done by `httparse`; this module applies the WebSocket rules.
//!
//! With the `http` feature, the same rules also work on the `http` crate's types, for an HTTP stack
//! (hyper, axum, h2, ...) that reads and writes the handshake itself: `ServerHandshake` validates an
//! HTTP/1.1 upgrade or an HTTP/2 extended CONNECT (RFC 8441) and builds the response, `ClientHandshake`
//! builds the request and verifies the response. Both return the [`crate::Negotiated`] that
//! [`crate::Connection::open`] starts the connection from.

pub mod client;
mod headers;
#[cfg(feature = "internals")]
pub mod key;
#[cfg(not(feature = "internals"))]
pub(crate) mod key;
mod redirect;
pub mod server;
#[cfg(feature = "http")]
mod typed;
mod url;

pub use headers::Headers;
pub(crate) use headers::{token_list_contains, tokens};
pub use redirect::{DEFAULT_MAX_REDIRECTS, RedirectError, redirect_target, same_origin};
#[cfg(feature = "http")]
pub use typed::{ClientHandshake, ServerHandshake, UpgradeError, WEBSOCKET_PROTOCOL};
pub(crate) use url::UserInfo;
pub use url::{UrlError, WsUrl};

use alloc::vec::Vec;

use client::ClientRequest;

/// Writes `name: value\r\n`.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Whether `name` is an HTTP token and `value` has no CR, LF or NUL: safe to write into a head.
pub(crate) fn header_is_safe(name: &str, value: &[u8]) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        && !value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

/// Finds the end of an HTTP head (the index just past the blank line), scanning from `from`.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    buf.get(start..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| start + i + 4)
}

/// An HTTP response that is not a 101: what a server rejects an upgrade with, or what a client received
/// instead of the upgrade (a redirect, an auth challenge, an error page).
///
/// `#[non_exhaustive]`: build one with [`Response::new`] and the builder methods, or assign the fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// Status code, e.g. 403.
    pub status: u16,
    /// Reason phrase; a standard one is used when empty on send.
    pub reason: alloc::string::String,
    /// Headers. When sending, Content-Length and `Connection: close` are added by the core.
    pub headers: Headers,
    /// Body (bounded by [`crate::Limits::max_head_bytes`] on receipt).
    pub body: bytes::Bytes,
}

impl Response {
    /// A response with `status` and a plain-text `body`.
    ///
    /// ```
    /// let r = ws_core::http::Response::new(403, "forbidden origin");
    /// assert_eq!(r.status, 403);
    /// ```
    pub fn new(status: u16, body: &str) -> Self {
        let mut headers = Headers::new();
        if !body.is_empty() {
            headers.append("Content-Type", "text/plain; charset=utf-8");
        }
        Response {
            status,
            reason: alloc::string::String::new(),
            headers,
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the reason phrase (a standard one is used when it is empty).
    #[must_use]
    pub fn reason(mut self, reason: impl Into<alloc::string::String>) -> Self {
        self.reason = reason.into();
        self
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let reason = if self.reason.is_empty() {
            reason_phrase(self.status)
        } else {
            self.reason.as_str()
        };
        out.extend_from_slice(alloc::format!("HTTP/1.1 {} {}\r\n", self.status, reason).as_bytes());
        for (name, value) in self.headers.iter() {
            let framing = ["content-length", "connection", "transfer-encoding"];
            if header_is_safe(name, value) && !framing.iter().any(|f| name.eq_ignore_ascii_case(f))
            {
                write_header(out, name, value);
            }
        }
        write_header(
            out,
            "Content-Length",
            alloc::format!("{}", self.body.len()).as_bytes(),
        );
        write_header(out, "Connection", b"close");
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// The standard reason phrase for the statuses a WebSocket server commonly sends.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}
