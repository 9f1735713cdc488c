//! Just enough HTTP/1.1 to route one request: parse the head, answer plain requests, check Origin.

/// The parts of a request head the router looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Request target (path and query), e.g. `/chat?name=alice`.
    pub target: String,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// Parses a complete request head (everything up to and including the blank line).
    pub fn parse(head: &[u8]) -> Option<Head> {
        let text = std::str::from_utf8(head).ok()?;
        let mut lines = text.split("\r\n");
        let mut request_line = lines.next()?.split(' ');
        let method = request_line.next()?.to_string();
        let target = request_line.next()?.to_string();
        let version = request_line.next()?;
        if method.is_empty() || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
            return None;
        }
        let mut headers = Vec::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Some(Head {
            method,
            target,
            headers,
        })
    }

    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// Whether this asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub fn is_websocket_upgrade(&self) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == "upgrade")
            .flat_map(|(_, v)| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
    }
}

/// Where the end of the head (`\r\n\r\n`) is: the head's length including the blank line.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// A complete `Connection: close` HTTP/1.1 response. `head_only` leaves the body out (for `HEAD`).
pub fn response(status: u16, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text (`%XX` escapes, `+` for space); bad escapes are kept.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `key` in a query string, decoded.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

/// A display name from user input: letters, digits, space, `-`, `_` and `.` only, trimmed, at most 32
/// characters; `None` if nothing is left.
///
/// ```
/// assert_eq!(ws_demo::http::sanitize_name(" <b>alice</b> ").as_deref(), Some("baliceb"));
/// assert_eq!(ws_demo::http::sanitize_name("\"';").as_deref(), None);
/// ```
pub fn sanitize_name(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
        .collect();
    let name: String = kept.trim().chars().take(32).collect();
    let name = name.trim_end().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_head() {
        let head =
            Head::parse(b"GET /chat?name=a HTTP/1.1\r\nHost: x:1\r\nUpgrade: WebSocket\r\n\r\n")
                .unwrap();
        assert_eq!(head.path(), "/chat");
        assert_eq!(head.header("host"), Some("x:1"));
        assert!(head.is_websocket_upgrade());
        assert!(Head::parse(b"garbage\r\n\r\n").is_none());
    }

    #[test]
    fn names_and_queries() {
        assert_eq!(
            query_param("x=1&name=al%20ice+b", "name").as_deref(),
            Some("al ice b")
        );
        assert_eq!(query_param("name", "name").as_deref(), Some(""));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(sanitize_name(&"x".repeat(40)).unwrap().len(), 32);
        assert_eq!(sanitize_name("   "), None);
    }
}
