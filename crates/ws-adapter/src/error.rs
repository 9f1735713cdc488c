//! The adapters' error type: transport and setup failures next to the core's protocol verdicts.

use std::fmt;
use std::io;

use ws_core::http::UrlError;
use ws_core::{Response, SendError};

/// Why a WebSocket operation failed.
#[derive(Debug)]
pub enum Error {
    /// The URL is not a valid `ws://` or `wss://` URL.
    Url(UrlError),
    /// The host name did not resolve.
    Dns(io::Error),
    /// The transport failed: connection refused, reset, broken pipe.
    Io(io::Error),
    /// TLS setup or handshake failed.
    Tls(String),
    /// Connecting (TCP and TLS) took longer than the connect timeout.
    ConnectTimeout,
    /// The server answered the upgrade with a non-101 response (status, headers and body inside).
    Rejected(Box<Response>),
    /// The connection failed: a peer protocol violation, a limit, a bad handshake, a timeout. The core has
    /// already sent the matching close code or HTTP status.
    Protocol(ws_core::Error),
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
            Error::Rejected(r) => {
                write!(f, "handshake rejected with HTTP {} {}", r.status, r.reason)
            }
            Error::Protocol(e) => write!(f, "connection failed: {e}"),
            Error::Send(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Dns(e) | Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Send(e) => Some(e),
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
        Error::Protocol(e)
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
