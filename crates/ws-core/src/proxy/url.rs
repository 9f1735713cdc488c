//! Proxy URLs: `http://`, `https://`, `socks4://`, `socks4a://`, `socks5://`, `socks5h://`, with optional
//! `user:password@` credentials.

use alloc::string::{String, ToString};
use core::fmt;
use core::net::IpAddr;

use super::ProxyError;
use crate::http::UserInfo;

/// The protocol spoken to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyKind {
    /// An HTTP proxy, tunnelled through with `CONNECT` (`http://`).
    Http,
    /// An HTTP proxy reached over TLS (`https://`): TLS to the proxy, then `CONNECT` inside it.
    Https,
    /// SOCKS4 (`socks4://`): the client resolves the target to an IPv4 address.
    Socks4,
    /// SOCKS4a (`socks4a://`): the proxy resolves the target's name.
    Socks4a,
    /// SOCKS5 (`socks5://`, RFC 1928): the client resolves the target.
    Socks5,
    /// SOCKS5 with the proxy resolving the target's name (`socks5h://`).
    Socks5h,
}

impl ProxyKind {
    /// Whether the client must resolve the target's name itself and pass the address to
    /// [`super::ProxyHandshake::new`] (SOCKS4 and `socks5://`; the others send the name).
    pub fn resolves_locally(self) -> bool {
        matches!(self, ProxyKind::Socks4 | ProxyKind::Socks5)
    }

    /// Whether a tunnel to `host` through this proxy needs the client to look the name up first: a
    /// proxy that resolves locally and a host that is not an IP literal.
    pub fn needs_lookup(self, host: &str) -> bool {
        self.resolves_locally() && host.parse::<IpAddr>().is_err()
    }

    /// Which of the target's addresses (as the client's lookup returned them) to hand this proxy: the
    /// first IPv4 address for SOCKS4, the first address for the others; `None` when none fits.
    ///
    /// ```
    /// use core::net::IpAddr;
    /// use ws_core::proxy::ProxyKind;
    /// let found: [IpAddr; 2] = ["::1".parse().unwrap(), "127.0.0.1".parse().unwrap()];
    /// assert_eq!(ProxyKind::Socks4.choose_address(found), Some(found[1]));
    /// assert_eq!(ProxyKind::Socks5.choose_address(found), Some(found[0]));
    /// assert!(ProxyKind::Socks5.needs_lookup("example.com") && !ProxyKind::Socks5.needs_lookup("::1"));
    /// ```
    pub fn choose_address(self, found: impl IntoIterator<Item = IpAddr>) -> Option<IpAddr> {
        let ipv4_only = self == ProxyKind::Socks4;
        found.into_iter().find(|ip| !ipv4_only || ip.is_ipv4())
    }

    fn default_port(self) -> u16 {
        match self {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            _ => 1080,
        }
    }

    fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks4 => "socks4",
            ProxyKind::Socks4a => "socks4a",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        }
    }
}

/// A parsed proxy URL. A URL with no scheme is an HTTP proxy (`proxy.example:3128`), as in curl and
/// Python's `requests`; a URL with no port takes the scheme's (80, 443, 1080 for SOCKS).
///
/// ```
/// use ws_core::proxy::{ProxyKind, ProxyUrl};
/// let p = ProxyUrl::parse("http://al%40ice:s3cret@[::1]:3128").unwrap();
/// assert_eq!((p.kind, p.host.as_str(), p.port), (ProxyKind::Http, "::1", 3128));
/// assert_eq!(p.credentials(), Some(("al@ice", "s3cret")));
/// assert_eq!(p.to_string(), "http://al%40ice:***@[::1]:3128"); // the password is never shown
/// assert_eq!(ProxyUrl::parse("socks5h://gw").unwrap().port, 1080);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyUrl {
    /// The protocol.
    pub kind: ProxyKind,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name and password, percent-decoded.
    credentials: Option<UserInfo>,
}

impl ProxyUrl {
    /// Parses a proxy URL.
    pub fn parse(url: &str) -> Result<ProxyUrl, ProxyError> {
        let invalid = || ProxyError::InvalidUrl(url_for_errors(url));
        let url = url.trim();
        let (kind, rest) = match url.split_once("://") {
            Some((scheme, rest)) => {
                let kind = match scheme.to_ascii_lowercase().as_str() {
                    "http" => ProxyKind::Http,
                    "https" => ProxyKind::Https,
                    "socks4" => ProxyKind::Socks4,
                    "socks4a" => ProxyKind::Socks4a,
                    "socks5" => ProxyKind::Socks5,
                    "socks5h" => ProxyKind::Socks5h,
                    _ => return Err(invalid()),
                };
                (kind, rest)
            }
            None => (ProxyKind::Http, url),
        };
        // Only an authority; a trailing `/` is allowed (`http://proxy:3128/`).
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid());
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(invalid)?;
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(invalid)?,
            None => kind.default_port(),
        };
        let credentials = match userinfo {
            Some(userinfo) => Some(UserInfo::parse(userinfo).ok_or_else(invalid)?),
            None => None,
        };
        Ok(ProxyUrl {
            kind,
            host: host.to_string(),
            port,
            credentials,
        })
    }

    /// The user name and password from the URL, percent-decoded.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(UserInfo::pair)
    }

    /// Replaces the credentials.
    #[must_use]
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some(UserInfo::new(user, password));
        self
    }
}

impl fmt::Display for ProxyUrl {
    /// The URL with the password masked (`***`): safe to log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.kind.scheme())?;
        if let Some(credentials) = &self.credentials {
            let user: String =
                percent_encoding::utf8_percent_encode(credentials.user(), USERINFO).collect();
            write!(f, "{user}:***@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// Characters escaped in a user name shown in a URL.
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `host` and the port text, if any; IPv6 literals in brackets (returned without them).
pub(crate) fn split_host_port(hostport: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
        let (host, tail) = after.split_once(']')?;
        host.parse::<core::net::Ipv6Addr>().ok()?;
        match tail {
            "" => (host, None),
            _ => (host, Some(tail.strip_prefix(':')?)),
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b));
    valid.then_some((host, port))
}

/// A URL as it may appear in an error message: its credentials dropped.
fn url_for_errors(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            alloc::format!("{}://{}", &url[..scheme_end], &url[at + 1..])
        }
        (None, Some(at)) => url[at + 1..].to_string(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_ports_and_credentials() {
        let cases = [
            ("http://proxy:3128", ProxyKind::Http, "proxy", 3128),
            ("proxy.corp", ProxyKind::Http, "proxy.corp", 80),
            ("HTTPS://proxy", ProxyKind::Https, "proxy", 443),
            ("socks4://10.0.0.1", ProxyKind::Socks4, "10.0.0.1", 1080),
            ("socks4a://gw:9050/", ProxyKind::Socks4a, "gw", 9050),
            ("socks5://[::1]:1081", ProxyKind::Socks5, "::1", 1081),
            ("socks5h://gw", ProxyKind::Socks5h, "gw", 1080),
        ];
        for (url, kind, host, port) in cases {
            let p = ProxyUrl::parse(url).unwrap();
            assert_eq!(
                (p.kind, p.host.as_str(), p.port),
                (kind, host, port),
                "{url}"
            );
            assert_eq!(p.credentials(), None);
        }
        let p = ProxyUrl::parse("http://user:p%3Ass@proxy").unwrap();
        assert_eq!(p.credentials(), Some(("user", "p:ss")));
        let p = ProxyUrl::parse("socks5://only-user@proxy").unwrap();
        assert_eq!(p.credentials(), Some(("only-user", "")));
        assert_eq!(p.to_string(), "socks5://only-user:***@proxy:1080");
    }

    #[test]
    fn bad_urls_are_refused_without_their_credentials() {
        for url in [
            "ftp://proxy",
            "http://",
            "http://proxy:0",
            "http://proxy:99999",
            "http://proxy:port",
            "http://proxy/path",
            "http://[::1",
            "http://[zz]:1",
            "http://pro xy",
            "http://u:%ff@proxy",
        ] {
            assert!(
                matches!(ProxyUrl::parse(url), Err(ProxyError::InvalidUrl(_))),
                "{url}"
            );
        }
        let error = ProxyUrl::parse("http://user:secret@proxy:bad").unwrap_err();
        assert!(!alloc::format!("{error}").contains("secret"), "{error}");
    }
}
