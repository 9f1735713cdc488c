//! `ws://` and `wss://` URLs (RFC 6455 section 3).

use alloc::string::{String, ToString};
use core::fmt;

/// A parsed WebSocket URL: what a client needs to connect and to write its request line and Host header.
///
/// ```
/// use ws_core::http::WsUrl;
/// let u = WsUrl::parse("wss://example.com/chat?room=1").unwrap();
/// assert!(u.secure);
/// assert_eq!((u.host.as_str(), u.port, u.resource.as_str()), ("example.com", 443, "/chat?room=1"));
/// assert_eq!(u.host_header(), "example.com");
/// ```
///
/// `#[non_exhaustive]`: build one with [`WsUrl::parse`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsUrl {
    /// `true` for `wss://`.
    pub secure: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (80 or 443 unless given).
    pub port: u16,
    /// Path and query; `/` when empty. Fragments are not allowed.
    pub resource: String,
    /// `user:password@` from the URL, percent-decoded.
    credentials: Option<UserInfo>,
}

/// A user name and password from a URL's userinfo (`user:password@`), percent-decoded. Its `Debug`
/// shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct UserInfo {
    user: String,
    password: String,
}

impl UserInfo {
    /// Parses `user[:password]`; `None` when either does not percent-decode to UTF-8.
    pub(crate) fn parse(userinfo: &str) -> Option<UserInfo> {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        Some(UserInfo {
            user: percent_decode(user)?,
            password: percent_decode(password)?,
        })
    }

    pub(crate) fn new(user: &str, password: &str) -> UserInfo {
        UserInfo {
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// User name and password.
    pub(crate) fn pair(&self) -> (&str, &str) {
        (&self.user, &self.password)
    }
}

impl fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:***", self.user)
    }
}

/// Percent-decodes `s`; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes: alloc::vec::Vec<u8> = percent_encoding::percent_decode_str(s).collect();
    String::from_utf8(bytes).ok()
}

impl fmt::Display for WsUrl {
    /// The URL without its credentials: `ws[s]://host[:port]/resource`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.resource)
    }
}

impl fmt::Debug for WsUrl {
    /// The URL's parts, the password masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsUrl")
            .field("secure", &self.secure)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("resource", &self.resource)
            .field("user", &self.credentials.as_ref().map(UserInfo::user))
            .finish_non_exhaustive()
    }
}

/// Why a URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `ws` or `wss`.
    Scheme,
    /// No host, or a malformed one.
    Host,
    /// The port is not a number from 1 to 65535.
    Port,
    /// The URL has a fragment (`#...`), which RFC 6455 forbids.
    Fragment,
    /// The user name or password does not percent-decode to UTF-8.
    Credentials,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "URL scheme must be ws:// or wss://",
            UrlError::Host => "URL has no valid host",
            UrlError::Port => "URL port is invalid",
            UrlError::Fragment => "WebSocket URLs may not have a fragment",
            UrlError::Credentials => "URL credentials are not valid percent-encoded UTF-8",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UrlError {}

impl WsUrl {
    /// Parses a `ws://` or `wss://` URL.
    #[must_use = "parsing has no effect other than the result"]
    pub fn parse(url: &str) -> Result<WsUrl, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::Scheme)?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(UrlError::Scheme);
        };
        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(split);
        let (userinfo, authority) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        let credentials = match userinfo {
            Some(userinfo) => Some(UserInfo::parse(userinfo).ok_or(UrlError::Credentials)?),
            None => None,
        };
        let (host, port) = if let Some(after) = authority.strip_prefix('[') {
            let (host, tail) = after.split_once(']').ok_or(UrlError::Host)?;
            (host, tail.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains([' ', '/', '[', ']']) {
            return Err(UrlError::Host);
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or(UrlError::Port)?,
            None if secure => 443,
            None => 80,
        };
        let resource = if resource.is_empty() {
            "/".to_string()
        } else if resource.starts_with('?') {
            ["/", resource].concat()
        } else {
            resource.to_string()
        };
        Ok(WsUrl {
            secure,
            host: host.to_string(),
            port,
            resource,
            credentials,
        })
    }

    /// The user name and password given in the URL (`ws://user:password@host/`), percent-decoded. A
    /// client sends them as `Authorization: Basic` (see [`crate::ClientRequest::from_url`]).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(UserInfo::pair)
    }

    /// The URL without its credentials, safe to show.
    #[must_use]
    pub fn without_credentials(&self) -> WsUrl {
        WsUrl {
            credentials: None,
            ..self.clone()
        }
    }

    /// The Host header value: the host, bracketed when IPv6, with the port when not the scheme's default.
    #[must_use]
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            ["[", &self.host, "]"].concat()
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            alloc::format!("{host}:{}", self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_3_urls() {
        let u = WsUrl::parse("ws://127.0.0.1:9001/runCase?case=1&agent=x").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port),
            (false, "127.0.0.1", 9001)
        );
        assert_eq!(u.resource, "/runCase?case=1&agent=x");
        assert_eq!(u.host_header(), "127.0.0.1:9001");
        let v6 = WsUrl::parse("ws://[::1]:8080").unwrap();
        assert_eq!((v6.host.as_str(), v6.resource.as_str()), ("::1", "/"));
        assert_eq!(v6.host_header(), "[::1]:8080");
        assert_eq!(WsUrl::parse("WS://h?x=1").unwrap().resource, "/?x=1");
    }

    #[test]
    fn bad_urls_are_refused() {
        assert_eq!(WsUrl::parse("http://x/"), Err(UrlError::Scheme));
        assert_eq!(WsUrl::parse("ws://x/#frag"), Err(UrlError::Fragment));
        assert_eq!(WsUrl::parse("ws://:80/"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://x:0/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://x:99999/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("nourl"), Err(UrlError::Scheme));
        assert_eq!(WsUrl::parse("ws://a:%ff@h/"), Err(UrlError::Credentials));
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let u = WsUrl::parse("wss://us%40er:p%3Ass@h.example:8443/x").unwrap();
        assert_eq!(u.credentials(), Some(("us@er", "p:ss")));
        assert_eq!((u.host.as_str(), u.port), ("h.example", 8443));
        let shown = alloc::format!("{u:?}");
        assert!(
            shown.contains("us@er") && !shown.contains("p:ss"),
            "{shown}"
        );
        assert_eq!(u.without_credentials().credentials(), None);
        assert_eq!(alloc::format!("{u}"), "wss://h.example:8443/x");
        assert_eq!(WsUrl::parse("ws://h/").unwrap().credentials(), None);
    }
}
