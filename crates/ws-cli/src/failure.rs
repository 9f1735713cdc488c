//! Failures: one line of text and an exit code, and how library errors map onto them.

use std::io;

use ws_tokio::{ClientBuilder, Error};

/// Exit code of a connection or protocol failure.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error (also clap's).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code of a rejected handshake.
pub(crate) const EXIT_REJECTED: u8 = 3;

/// Why the command failed: printed as `ws: error: MESSAGE`, then the process exits with `code`.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The exit code.
    pub code: u8,
    /// One line, without the `ws: error: ` prefix (empty: print nothing).
    pub message: String,
}

impl Failure {
    /// A connection or protocol failure (exit code 1).
    pub(crate) fn io(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// A usage error (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

/// `host:port` of the builder's URL, with brackets around IPv6 literals.
pub(crate) fn target(builder: &ClientBuilder) -> String {
    let url = builder.url();
    if url.host.contains(':') && !url.host.starts_with('[') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    }
}

/// An I/O error as a short lowercase phrase, without the `(os error N)` suffix.
pub(crate) fn describe_io(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset by peer".into(),
        ConnectionAborted => "connection aborted".into(),
        BrokenPipe => "broken pipe".into(),
        TimedOut => "timed out".into(),
        AddrInUse => "address already in use".into(),
        AddrNotAvailable => "address not available".into(),
        PermissionDenied => "permission denied".into(),
        UnexpectedEof => "connection closed unexpectedly".into(),
        NotFound => "not found".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
}

/// Maps a connect error to a failure; `target` (`host:port`) is named where it helps.
pub(crate) fn connect_failure(e: &Error, url: &str, target: &str) -> Failure {
    match e {
        Error::Url(e) => Failure::usage(format!("invalid URL: {e} ({url:?})")),
        Error::Rejected(response) => Failure {
            code: EXIT_REJECTED,
            message: format!(
                "handshake rejected: HTTP {} {}",
                response.status, response.reason
            ),
        },
        Error::Dns(e) => Failure::io(format!("cannot resolve {target}: {}", describe_io(e))),
        Error::Io(e) => Failure::io(format!("{} ({target})", describe_io(e))),
        Error::ConnectTimeout => Failure::io(format!("connect timed out ({target})")),
        Error::Tls(e) => Failure::io(format!("TLS error: {e} ({target})")),
        Error::ProxyConnect(e) => {
            Failure::io(format!("cannot reach the proxy: {}", describe_io(e)))
        }
        Error::Proxy(e) => Failure::io(format!("proxy error: {e} (tunnel to {target})")),
        // Failed (the handshake failed or timed out) and the rest: the error says what happened.
        other => Failure::io(format!("{other} ({target})")),
    }
}

/// Maps an error on an open connection to a failure.
pub(crate) fn connection_failure(e: &Error) -> Failure {
    match e {
        Error::Io(e) => Failure::io(format!("connection lost: {}", describe_io(e))),
        other => Failure::io(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_short() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe_io(&e), "connection refused");
        let e = io::Error::other("weird thing");
        assert_eq!(describe_io(&e), "weird thing");
    }

    #[test]
    fn connect_errors_map_to_exit_codes() {
        let builder = ClientBuilder::new("ws://127.0.0.1:9/").unwrap();
        let t = target(&builder);
        assert_eq!(t, "127.0.0.1:9");
        let refused = Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        let f = connect_failure(&refused, "ws://127.0.0.1:9/", &t);
        assert_eq!(
            (f.code, f.message.as_str()),
            (1, "connection refused (127.0.0.1:9)")
        );
        let bad = ClientBuilder::new("http://x/").unwrap_err();
        assert_eq!(connect_failure(&bad, "http://x/", "").code, EXIT_USAGE);
        let slow = Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Handshake));
        let f = connect_failure(&slow, "ws://127.0.0.1:9/", &t);
        assert_eq!(
            (f.code, f.message.as_str()),
            (1, "handshake timed out (127.0.0.1:9)")
        );
    }
}
