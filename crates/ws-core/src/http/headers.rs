//! An ordered list of HTTP headers with case-insensitive lookup.

use alloc::string::String;
use alloc::vec::Vec;

/// HTTP headers in the order they were received or added. Names compare case-insensitively; values are
/// raw bytes (HTTP allows non-UTF-8 values), with `get_str` for the common UTF-8 case.
///
/// ```
/// use ws_core::http::Headers;
/// let mut h = Headers::new();
/// h.append("Sec-WebSocket-Protocol", "chat");
/// assert_eq!(h.get_str("sec-websocket-protocol"), Some("chat"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Headers {
            entries: Vec::new(),
        }
    }

    /// Adds a header, keeping any others of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl AsRef<[u8]>) {
        self.entries.push((name.into(), value.as_ref().to_vec()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, when it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether any header is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every `(name, value)` pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any value of `name`, read as a comma-separated token list, holds `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| token_list_contains(v, token))
    }

    pub(crate) fn from_httparse(raw: &[httparse::Header<'_>]) -> Self {
        Headers {
            entries: raw
                .iter()
                .map(|h| (String::from(h.name), h.value.to_vec()))
                .collect(),
        }
    }
}

/// The comma-separated elements of a header value, trimmed of spaces and tabs, empty ones skipped.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Whether the comma-separated list `value` contains `token`, compared case-insensitively.
pub(crate) fn token_list_contains(value: &[u8], token: &str) -> bool {
    tokens(value).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lists_are_case_insensitive_and_trimmed() {
        assert!(token_list_contains(b"keep-alive, Upgrade", "upgrade"));
        assert!(token_list_contains(b"  UPGRADE\t", "upgrade"));
        assert!(!token_list_contains(b"upgrade-insecure", "upgrade"));
        assert_eq!(tokens(b"a,, b ,c").count(), 3);
    }

    #[test]
    fn lookup_ignores_case_and_keeps_all_values() {
        let mut h = Headers::new();
        h.append("Sec-WebSocket-Protocol", "chat");
        h.append("sec-websocket-protocol", "superchat");
        assert_eq!(h.get_all("SEC-WEBSOCKET-PROTOCOL").count(), 2);
        assert_eq!(h.get_str("sec-websocket-protocol"), Some("chat"));
        assert!(!h.contains("Origin"));
    }
}
