//! Redirects of the opening handshake: which responses are followed, where they lead, and what the
//! next request keeps.

use alloc::string::{String, ToString};
use core::fmt;

use super::{ClientRequest, Response, WsUrl};

/// How many redirects a client follows by default before giving up.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;

/// Why a redirect was not followed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// More redirects than allowed in a row (the limit given).
    TooMany(u32),
    /// A `wss://` URL redirected to `ws://` (or `http://`): refused, the connection would lose TLS.
    Insecure,
    /// The `Location` is not a URL a WebSocket client can follow.
    InvalidLocation(String),
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::TooMany(n) => write!(f, "too many redirects (more than {n})"),
            RedirectError::Insecure => f.write_str("refused a redirect from wss:// to ws://"),
            RedirectError::InvalidLocation(l) => write!(f, "invalid redirect location {l:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RedirectError {}

/// Where `response` redirects a handshake for `current` to: `None` when it is not a redirect a client
/// follows (301, 302, 303, 307 and 308 with a `Location`). The location may be absolute (`ws://`,
/// `wss://`, or `http://`/`https://`, taken as `ws://`/`wss://`) or relative to `current`
/// (`//host/path`, `/path`, `path`, `?query`). A redirect from `wss://` to `ws://` is refused.
///
/// ```
/// use ws_core::http::{Response, WsUrl, redirect_target};
/// let here = WsUrl::parse("wss://a.example/chat/room?x=1").unwrap();
/// let moved = Response::new(301, "").header("Location", "../lobby");
/// let next = redirect_target(&here, &moved).unwrap().unwrap();
/// assert_eq!(next.to_string(), "wss://a.example/lobby");
/// let insecure = Response::new(302, "").header("Location", "ws://a.example/");
/// assert!(redirect_target(&here, &insecure).unwrap().is_err());
/// assert!(redirect_target(&here, &Response::new(403, "")).is_none());
/// ```
pub fn redirect_target(
    current: &WsUrl,
    response: &Response,
) -> Option<Result<WsUrl, RedirectError>> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers.get_str("location")?.trim();
    Some(resolve(current, location))
}

fn resolve(current: &WsUrl, location: &str) -> Result<WsUrl, RedirectError> {
    let invalid = || RedirectError::InvalidLocation(location.to_string());
    let scheme_of = |secure: bool| if secure { "wss" } else { "ws" };
    let absolute = match location.split_once("://") {
        Some((scheme, rest)) if !scheme.contains(['/', '?']) => {
            let secure = match scheme.to_ascii_lowercase().as_str() {
                "ws" | "http" => false,
                "wss" | "https" => true,
                _ => return Err(invalid()),
            };
            alloc::format!("{}://{rest}", scheme_of(secure))
        }
        _ if location.starts_with("//") => {
            alloc::format!("{}:{location}", scheme_of(current.secure))
        }
        _ => {
            let base = alloc::format!("{}://{}", scheme_of(current.secure), current.host_header());
            let (path, _) = current
                .resource
                .split_once('?')
                .unwrap_or((&current.resource, ""));
            let target = if location.starts_with('/') {
                location.to_string()
            } else if location.starts_with('?') {
                alloc::format!("{path}{location}")
            } else {
                let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
                alloc::format!("{dir}{location}")
            };
            alloc::format!("{base}{}", remove_dot_segments(&target))
        }
    };
    // A fragment is dropped (it never reaches the server).
    let absolute = absolute.split('#').next().unwrap_or_default();
    let next = WsUrl::parse(absolute).map_err(|_| invalid())?;
    if current.secure && !next.secure {
        return Err(RedirectError::Insecure);
    }
    Ok(next)
}

/// RFC 3986 section 5.2.4 on a path (and query): `.` and `..` segments removed.
fn remove_dot_segments(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut out: alloc::vec::Vec<&str> = alloc::vec::Vec::new();
    let segments: alloc::vec::Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut result = String::from("/");
    result.push_str(&out.join("/"));
    if let Some(q) = query {
        result.push('?');
        result.push_str(q);
    }
    result
}

/// Whether two URLs have the same origin (scheme, host and port).
pub fn same_origin(a: &WsUrl, b: &WsUrl) -> bool {
    a.secure == b.secure && a.host.eq_ignore_ascii_case(&b.host) && a.port == b.port
}

impl ClientRequest {
    /// The request for the next hop of a redirect from `from` to `to`: the same subprotocols, Origin and
    /// headers, with the new Host and resource (and the new URL's credentials, if any). When the origin
    /// changes, `Authorization`, `Cookie` and `Proxy-Authorization` are dropped, as browsers and curl do.
    /// (Every hop gets a fresh key: the key is made when the request is sent.)
    #[must_use]
    pub fn for_redirect(&self, from: &WsUrl, to: &WsUrl) -> ClientRequest {
        let mut next = ClientRequest::from_url(to);
        next.origin = self.origin.clone();
        next.subprotocols = self.subprotocols.clone();
        let keep_secrets = same_origin(from, to);
        for (name, value) in self.headers.iter() {
            let secret = ["authorization", "cookie", "proxy-authorization"]
                .iter()
                .any(|s| name.eq_ignore_ascii_case(s));
            if keep_secrets || !secret {
                next.headers.append(name, value);
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(from: &str, status: u16, location: &str) -> Option<Result<String, RedirectError>> {
        let from = WsUrl::parse(from).unwrap();
        let response = Response::new(status, "").header("Location", location);
        redirect_target(&from, &response).map(|r| r.map(|u| u.to_string()))
    }

    #[test]
    fn absolute_and_relative_locations() {
        let from = "ws://a.example:8080/app/chat?room=1";
        let cases = [
            ("wss://b.example/x", "wss://b.example/x"),
            ("https://b.example:9443/x", "wss://b.example:9443/x"),
            ("http://b.example/x", "ws://b.example/x"),
            ("//c.example/y", "ws://c.example/y"),
            ("/root", "ws://a.example:8080/root"),
            ("lobby", "ws://a.example:8080/app/lobby"),
            ("./lobby?x=2", "ws://a.example:8080/app/lobby?x=2"),
            ("../up", "ws://a.example:8080/up"),
            ("../../../up", "ws://a.example:8080/up"),
            ("?room=2", "ws://a.example:8080/app/chat?room=2"),
            ("/a/./b/../c#frag", "ws://a.example:8080/a/c"),
        ];
        for (location, expected) in cases {
            assert_eq!(
                follow(from, 302, location),
                Some(Ok(expected.to_string())),
                "{location}"
            );
        }
    }

    #[test]
    fn only_redirect_statuses_with_a_location_are_followed() {
        for status in [301, 302, 303, 307, 308] {
            assert!(follow("ws://h/", status, "/x").is_some(), "{status}");
        }
        for status in [200, 300, 304, 305, 401, 403] {
            assert!(follow("ws://h/", status, "/x").is_none(), "{status}");
        }
        let no_location = Response::new(301, "");
        assert!(redirect_target(&WsUrl::parse("ws://h/").unwrap(), &no_location).is_none());
    }

    #[test]
    fn insecure_and_invalid_locations_are_refused() {
        assert_eq!(
            follow("wss://h/", 301, "ws://h/"),
            Some(Err(RedirectError::Insecure))
        );
        assert_eq!(
            follow("wss://h/", 301, "http://h/"),
            Some(Err(RedirectError::Insecure))
        );
        assert!(
            follow("ws://h/", 301, "wss://h/").unwrap().is_ok(),
            "upgrading is fine"
        );
        for bad in ["ftp://h/", "ws://", "ws://h:0/"] {
            assert!(
                matches!(
                    follow("ws://h/", 301, bad),
                    Some(Err(RedirectError::InvalidLocation(_)))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_stay_with_their_origin() {
        let from = WsUrl::parse("ws://a.example/").unwrap();
        let request = ClientRequest::from_url(&from)
            .origin("http://app.example")
            .subprotocol("chat")
            .header("Authorization", "Bearer t")
            .header("Cookie", "s=1")
            .header("Proxy-Authorization", "Basic x")
            .header("X-Trace", "7");
        let same = request.for_redirect(&from, &WsUrl::parse("ws://A.example/next").unwrap());
        assert_eq!(same.headers.len(), 4);
        assert_eq!(same.resource, "/next");
        let other = request.for_redirect(&from, &WsUrl::parse("ws://b.example:81/").unwrap());
        assert_eq!(other.host, "b.example:81");
        assert_eq!(other.origin.as_deref(), Some("http://app.example"));
        assert_eq!(other.subprotocols, ["chat"]);
        assert_eq!(
            other
                .headers
                .iter()
                .map(|(n, _)| n)
                .collect::<alloc::vec::Vec<_>>(),
            ["X-Trace"]
        );
        let port_change = request.for_redirect(&from, &WsUrl::parse("ws://a.example:81/").unwrap());
        assert!(!port_change.headers.contains("cookie"));
    }
}
