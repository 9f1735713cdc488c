//! The HTTP `CONNECT` tunnel (RFC 9110 section 9.3.6): the request, and the proxy's reply.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine;

use super::ProxyError;
use crate::http::{Headers, Response, find_head_end, header_is_safe, write_header};

/// The most headers a proxy's reply may have.
const MAX_HEADERS: usize = 64;

/// `host:port` as a request target and `Host` value: IPv6 literals in brackets.
pub(super) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        alloc::format!("[{host}]:{port}")
    } else {
        alloc::format!("{host}:{port}")
    }
}

/// Writes the `CONNECT` request.
pub(super) fn request(
    host: &str,
    port: u16,
    credentials: Option<(&str, &str)>,
    extra: &[(String, Vec<u8>)],
    out: &mut Vec<u8>,
) -> Result<(), ProxyError> {
    if extra.iter().any(|(n, v)| !header_is_safe(n, v)) {
        return Err(ProxyError::InvalidHeader);
    }
    let target = authority(host, port);
    out.extend_from_slice(alloc::format!("CONNECT {target} HTTP/1.1\r\n").as_bytes());
    write_header(out, "Host", target.as_bytes());
    if let Some((user, password)) = credentials {
        let token =
            base64::engine::general_purpose::STANDARD.encode(alloc::format!("{user}:{password}"));
        write_header(
            out,
            "Proxy-Authorization",
            alloc::format!("Basic {token}").as_bytes(),
        );
    }
    for (name, value) in extra {
        write_header(out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Reads the reply's head from `buf`: `Ok(None)` while incomplete, `Ok(Some(head_len))` for a 2xx (the
/// tunnel is open; the bytes after the head are the server's), an error otherwise.
pub(super) fn reply(
    buf: &[u8],
    scanned: usize,
    max_head: usize,
) -> Result<Option<usize>, ProxyError> {
    let Some(end) = find_head_end(buf, scanned) else {
        if buf.len() > max_head {
            return Err(ProxyError::ReplyTooLarge);
        }
        return Ok(None);
    };
    if end > max_head {
        return Err(ProxyError::ReplyTooLarge);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    match parsed.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            return Err(ProxyError::MalformedReply("not an HTTP response"));
        }
    }
    let status = parsed.code.unwrap_or(0);
    if (200..300).contains(&status) {
        return Ok(Some(end));
    }
    let mut kept = Headers::new();
    for h in parsed.headers.iter() {
        kept.append(h.name, h.value);
    }
    let mut response = Response::new(status, "");
    response.reason = parsed.reason.unwrap_or("").to_string();
    response.headers = kept;
    // What followed the head (part of an error page, perhaps): kept up to the head limit.
    let body = &buf[end..];
    response.body = bytes::Bytes::copy_from_slice(&body[..body.len().min(max_head)]);
    Err(ProxyError::Status(Box::new(response)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str, credentials: Option<(&str, &str)>) -> String {
        let mut out = Vec::new();
        let extra = [("X-Trace".to_string(), b"7".to_vec())];
        request(host, 443, credentials, &extra, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_request_names_the_target_and_authenticates() {
        assert_eq!(
            req("example.com", None),
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-Trace: 7\r\n\r\n"
        );
        assert_eq!(
            req("::1", Some(("Aladdin", "open sesame"))),
            "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nX-Trace: 7\r\n\r\n"
        );
        let mut out = Vec::new();
        let bad = [("X-Bad".to_string(), b"a\r\nInjected: 1".to_vec())];
        assert_eq!(
            request("h", 1, None, &bad, &mut out),
            Err(ProxyError::InvalidHeader)
        );
    }

    #[test]
    fn any_2xx_opens_the_tunnel_and_the_rest_is_the_servers() {
        for head in [
            "HTTP/1.1 200 Connection established\r\n\r\n",
            "HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ] {
            let mut buf = head.as_bytes().to_vec();
            buf.extend_from_slice(b"HTTP/1.1 101");
            assert_eq!(reply(&buf, 0, 1024), Ok(Some(head.len())), "{head}");
            assert_eq!(reply(&buf[..head.len() - 1], 0, 1024), Ok(None));
        }
    }

    #[test]
    fn other_statuses_and_garbage_are_errors() {
        let reply_407 = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
            Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 4\r\n\r\ndeny";
        let Err(ProxyError::Status(r)) = reply(reply_407, 0, 1024) else {
            panic!("a 407 is an error")
        };
        assert_eq!(
            (r.status, r.reason.as_str()),
            (407, "Proxy Authentication Required")
        );
        assert_eq!(
            r.headers.get_str("proxy-authenticate"),
            Some("Basic realm=\"corp\"")
        );
        assert_eq!(&r.body[..], b"deny");
        let Err(ProxyError::Status(r)) = reply(b"HTTP/1.1 999 Odd\r\n\r\n", 0, 1024) else {
            panic!("999 is not a success")
        };
        assert_eq!(r.status, 999);
        assert!(matches!(
            reply(b"SSH-2.0-OpenSSH\r\n\r\n", 0, 1024),
            Err(ProxyError::MalformedReply(_))
        ));
        let long = [b'a'; 2000];
        assert_eq!(reply(&long, 0, 1024), Err(ProxyError::ReplyTooLarge));
    }
}
