//! The adapters' error type: transport and setup failures next to the core's protocol verdicts.

use std::fmt;
use std::io;

use ws_core::http::{RedirectError, UrlError};
use ws_core::proxy::ProxyError;
use ws_core::{Limit, Response, SendError, Timeout};

/// Why a WebSocket operation failed.
///
/// More variants may be added: match with a `_` arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a valid `ws://` or `wss://` URL.
    Url(UrlError),
    /// The host name did not resolve.
    Dns(io::Error),
    /// The transport failed: connection refused, reset, broken pipe.
    Io(io::Error),
    /// TLS setup or handshake failed.
    Tls(String),
    /// Connecting (TCP, the proxy's handshake, TLS) took longer than the connect timeout.
    ConnectTimeout,
    /// The proxy could not be reached (refused, unreachable, its name did not resolve).
    ProxyConnect(io::Error),
    /// The proxy did not open the tunnel: its status (e.g. 407 or 403), a SOCKS reply code, a malformed
    /// reply, or an invalid proxy URL.
    Proxy(ProxyError),
    /// A redirect was not followed: too many in a row, `wss://` to `ws://`, or a bad `Location`.
    Redirect(RedirectError),
    /// The server answered the upgrade with a non-101 response (status, headers and body inside).
    Rejected(Box<Response>),
    /// The connection failed: the peer broke the protocol, sent bad UTF-8, went past a limit, failed the
    /// handshake, or a timer ran out; the core already sent the matching close code or HTTP status.
    Failed(ws_core::Error),
    /// The application misused the connection (for example sent after close).
    Send(SendError),
}

impl Error {
    /// The HTTP status of a rejected handshake.
    pub fn rejected_status(&self) -> Option<u16> {
        match self {
            Error::Rejected(r) => Some(r.status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) => write!(f, "invalid URL: {e}"),
            Error::Dns(e) => write!(f, "DNS lookup failed: {e}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::ConnectTimeout => f.write_str("connect timed out"),
            Error::ProxyConnect(e) => write!(f, "could not reach the proxy: {e}"),
            Error::Proxy(e) => write!(f, "proxy error: {e}"),
            Error::Redirect(e) => write!(f, "redirect not followed: {e}"),
            Error::Rejected(r) if r.reason.is_empty() => {
                write!(f, "handshake rejected with HTTP {}", r.status)
            }
            Error::Rejected(r) => {
                write!(f, "handshake rejected with HTTP {} {}", r.status, r.reason)
            }
            Error::Failed(e) => describe_failure(e, f),
            Error::Send(e) => write!(f, "{e}"),
        }
    }
}

/// A failure in words that say what happened (the core's own texts are terser).
fn describe_failure(e: &ws_core::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use ws_core::Error as E;
    match e {
        E::Protocol(e) => write!(f, "connection failed: the peer broke the protocol ({e})"),
        E::InvalidUtf8 => f.write_str("connection failed: the peer sent text that is not UTF-8"),
        E::LimitExceeded(limit) => {
            let what = match limit {
                Limit::HeadBytes => "a handshake head over the size limit",
                Limit::Headers => "more handshake headers than the limit",
                Limit::FrameSize => "a frame over the size limit",
                Limit::MessageSize => "a message over the size limit",
                Limit::Fragments => "a message in more fragments than the limit",
                _ => "more than a limit allows",
            };
            write!(f, "connection failed: the peer sent {what}")
        }
        E::Handshake(e) => write!(f, "handshake failed: {e}"),
        E::Timeout(Timeout::Handshake) => f.write_str("handshake timed out"),
        E::Timeout(Timeout::Pong) => f.write_str("connection failed: no pong came back in time"),
        E::Timeout(Timeout::Close) => {
            f.write_str("connection failed: the peer did not answer the close frame in time")
        }
        E::UnexpectedEof => {
            f.write_str("connection failed: the peer closed the connection without a close frame")
        }
        _ => write!(f, "connection failed: {e}"),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Dns(e) | Error::Io(e) | Error::ProxyConnect(e) => Some(e),
            Error::Proxy(e) => Some(e),
            Error::Redirect(e) => Some(e),
            Error::Failed(e) => Some(e),
            Error::Url(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}

impl From<ws_core::Error> for Error {
    fn from(e: ws_core::Error) -> Self {
        Error::Failed(e)
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use ws_core::{HandshakeError, ProtocolError};

    #[test]
    fn failures_say_what_happened() {
        let text = |e: ws_core::Error| Error::from(e).to_string();
        assert_eq!(
            text(ws_core::Error::Timeout(Timeout::Pong)),
            "connection failed: no pong came back in time"
        );
        assert_eq!(
            text(ws_core::Error::Timeout(Timeout::Handshake)),
            "handshake timed out"
        );
        assert_eq!(
            text(ws_core::Error::LimitExceeded(Limit::FrameSize)),
            "connection failed: the peer sent a frame over the size limit"
        );
        assert_eq!(
            text(ws_core::Error::Handshake(HandshakeError::MethodNotGet)),
            "handshake failed: request method is not GET"
        );
        assert_eq!(
            text(ProtocolError::ReservedOpcode(3).into()),
            "connection failed: the peer broke the protocol (reserved opcode 0x3)"
        );
        let failed = Error::from(ws_core::Error::UnexpectedEof);
        assert!(matches!(
            failed,
            Error::Failed(ws_core::Error::UnexpectedEof)
        ));
        assert!(std::error::Error::source(&failed).is_some());
    }

    #[test]
    fn a_send_error_is_shown_as_itself() {
        let e = Error::from(SendError::Closed);
        assert_eq!(e.to_string(), SendError::Closed.to_string());
        assert!(std::error::Error::source(&e).is_none());
    }
}
