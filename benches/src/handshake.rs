//! The client side of the HTTP/1.1 upgrade (RFC 6455 §4.1), written by hand:
//! the request is formatted directly and the response is checked for status
//! 101, the upgrade headers and the right `Sec-WebSocket-Accept`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};
use std::fmt;

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A response head longer than this is rejected.
pub const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// A `Sec-WebSocket-Key`: base64 of 16 bytes derived from `seed`.
///
/// The key only needs to be unpredictable against caching proxies, which a
/// loopback benchmark has none of; deriving it from a seed keeps runs
/// reproducible.
pub fn client_key(seed: u64) -> String {
    let mut bytes = [0u8; 16];
    let mut x = seed ^ 0x2545_F491_4F6C_DD1D;
    for chunk in bytes.chunks_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    BASE64.encode(bytes)
}

/// The `Sec-WebSocket-Accept` value a server must answer `key` with.
pub fn accept_for(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// Formats the upgrade request for `path` on `host` (the `Host` header value).
pub fn upgrade_request(host: &str, path: &str, key: &str) -> String {
    upgrade_request_offering(host, path, key, None)
}

/// Formats the upgrade request for `path` on `host`, offering `extensions`
/// (the `Sec-WebSocket-Extensions` value, e.g. [`DEFLATE_OFFER`]) if given.
pub fn upgrade_request_offering(
    host: &str,
    path: &str,
    key: &str,
    extensions: Option<&str>,
) -> String {
    let extensions = extensions
        .map(|offer| format!("Sec-WebSocket-Extensions: {offer}\r\n"))
        .unwrap_or_default();
    format!(
        "GET {path} HTTP/1.1\r\n\
         Host: {host}\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n\
         {extensions}\
         \r\n"
    )
}

/// The permessage-deflate offer a browser makes (RFC 7692): the server picks
/// its parameters, context takeover included.
pub const DEFLATE_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// Why a server's upgrade response was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// The head is not valid HTTP/1.1 (or not UTF-8).
    Malformed(String),
    /// The head grew past [`MAX_RESPONSE_HEAD`] without ending.
    TooLarge,
    /// The status line is not `101`.
    Status(String),
    /// A required header is absent or has the wrong value.
    Header(&'static str),
    /// `Sec-WebSocket-Accept` does not match the key.
    BadAccept {
        /// The value the key requires.
        expected: String,
        /// The value the server sent.
        got: String,
    },
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed response: {what}"),
            Self::TooLarge => f.write_str("response head too large"),
            Self::Status(line) => write!(f, "not upgraded: {line:?}"),
            Self::Header(name) => write!(f, "missing or wrong {name} header"),
            Self::BadAccept { expected, got } => {
                write!(f, "Sec-WebSocket-Accept {got:?}, expected {expected:?}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Checks the response head at the start of `buf` against `key`, no extension
/// having been offered.
///
/// Returns `Ok(None)` while the head is incomplete and `Ok(Some(n))` once it
/// is valid, `n` being the head's length (bytes after it are frames).
pub fn check_response(buf: &[u8], key: &str) -> Result<Option<usize>, HandshakeError> {
    Ok(check_response_offering(buf, key, false)?.map(|(len, _)| len))
}

/// Checks the response head at the start of `buf` against `key`; with
/// `offered_deflate`, the server may accept permessage-deflate.
///
/// Returns `Ok(None)` while the head is incomplete and `Ok(Some((n,
/// extensions)))` once it is valid: `n` is the head's length (bytes after it
/// are frames), `extensions` the `Sec-WebSocket-Extensions` the server
/// accepted (always a single `permessage-deflate`, with its parameters).
pub fn check_response_offering(
    buf: &[u8],
    key: &str,
    offered_deflate: bool,
) -> Result<Option<(usize, Option<String>)>, HandshakeError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_RESPONSE_HEAD {
            Err(HandshakeError::TooLarge)
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..end])
        .map_err(|_| HandshakeError::Malformed("head is not UTF-8".into()))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    let (version, code) = (parts.next(), parts.next());
    if version != Some("HTTP/1.1") {
        return Err(HandshakeError::Malformed(format!("status line {status:?}")));
    }
    if code != Some("101") {
        return Err(HandshakeError::Status(status.to_owned()));
    }

    let (mut upgrade, mut connection, mut accept, mut extensions) = (false, false, None, None);
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| HandshakeError::Malformed(format!("header line {line:?}")))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection = value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accept = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            // Only what was offered may be accepted (§4.1, point 5): nothing, or one
            // permessage-deflate.
            let name = value.split(';').next().unwrap_or_default().trim();
            if !offered_deflate
                || extensions.is_some()
                || value.contains(',')
                || !name.eq_ignore_ascii_case("permessage-deflate")
            {
                return Err(HandshakeError::Header("Sec-WebSocket-Extensions"));
            }
            extensions = Some(value.to_owned());
        }
    }
    if !upgrade {
        return Err(HandshakeError::Header("Upgrade"));
    }
    if !connection {
        return Err(HandshakeError::Header("Connection"));
    }
    let got = accept.ok_or(HandshakeError::Header("Sec-WebSocket-Accept"))?;
    let expected = accept_for(key);
    if got != expected {
        return Err(HandshakeError::BadAccept { expected, got });
    }
    Ok(Some((end + 4, extensions)))
}

/// Whether an accepted permessage-deflate (`extensions` as
/// [`check_response_offering`] returns it) lets the server keep its
/// compression context from one message to the next, so that the client must
/// keep its decompressor's too.
pub fn server_keeps_context(extensions: &str) -> bool {
    !extensions.split(';').any(|param| {
        param
            .trim()
            .eq_ignore_ascii_case("server_no_context_takeover")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn response(accept: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n\
             Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
    }

    #[test]
    fn accept_matches_rfc_example() {
        assert_eq!(accept_for(RFC_KEY), RFC_ACCEPT);
    }

    #[test]
    fn keys_are_16_bytes_and_differ() {
        let a = client_key(1);
        assert_eq!(BASE64.decode(&a).unwrap().len(), 16);
        assert_ne!(a, client_key(2));
    }

    #[test]
    fn request_has_required_headers() {
        let req = upgrade_request("127.0.0.1:9001", "/", RFC_KEY);
        assert!(req.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"));
        assert!(req.contains("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert!(req.ends_with("Sec-WebSocket-Version: 13\r\n\r\n"));
    }

    #[test]
    fn accepts_valid_response_and_reports_head_length() {
        let mut buf = response(RFC_ACCEPT).into_bytes();
        let head = buf.len();
        buf.extend_from_slice(&[0x82, 0x00]);
        assert_eq!(check_response(&buf, RFC_KEY), Ok(Some(head)));
        assert_eq!(check_response(&buf[..head - 1], RFC_KEY), Ok(None));
    }

    #[test]
    fn deflate_is_offered_and_its_acceptance_read() {
        let req = upgrade_request_offering("h:1", "/", RFC_KEY, Some(DEFLATE_OFFER));
        assert!(req.ends_with(
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ));
        let plain = response(RFC_ACCEPT);
        assert_eq!(
            check_response_offering(plain.as_bytes(), RFC_KEY, true),
            Ok(Some((plain.len(), None)))
        );
        let accepted = plain.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n",
        );
        let (_, ext) = check_response_offering(accepted.as_bytes(), RFC_KEY, true)
            .unwrap()
            .unwrap();
        let ext = ext.unwrap();
        assert!(!server_keeps_context(&ext));
        assert!(server_keeps_context(
            "permessage-deflate; client_max_window_bits=15"
        ));
        let other = plain.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-other\r\n\r\n");
        assert!(check_response_offering(other.as_bytes(), RFC_KEY, true).is_err());
    }

    #[test]
    fn rejects_bad_responses() {
        let wrong = response("AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert!(matches!(
            check_response(wrong.as_bytes(), RFC_KEY),
            Err(HandshakeError::BadAccept { .. })
        ));
        let refused = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(
            check_response(refused.as_bytes(), RFC_KEY),
            Err(HandshakeError::Status(_))
        ));
        let no_upgrade = response(RFC_ACCEPT).replace("upgrade: WebSocket\r\n", "");
        assert_eq!(
            check_response(no_upgrade.as_bytes(), RFC_KEY),
            Err(HandshakeError::Header("Upgrade"))
        );
        let deflate = response(RFC_ACCEPT).replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        assert_eq!(
            check_response(deflate.as_bytes(), RFC_KEY),
            Err(HandshakeError::Header("Sec-WebSocket-Extensions"))
        );
        let endless = vec![b'x'; MAX_RESPONSE_HEAD + 1];
        assert_eq!(
            check_response(&endless, RFC_KEY),
            Err(HandshakeError::TooLarge)
        );
    }
}
