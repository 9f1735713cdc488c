//! SOCKS5 (RFC 1928, with RFC 1929 username/password) and SOCKS4/4a: what the client sends, and how long
//! each of the proxy's replies is.

use alloc::vec::Vec;
use core::net::IpAddr;

use super::ProxyError;

/// SOCKS5 authentication methods.
pub(super) const NO_AUTH: u8 = 0x00;
pub(super) const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;

/// The SOCKS5 greeting: the methods we can do (username/password only when we have credentials).
pub(super) fn greeting(with_credentials: bool) -> Vec<u8> {
    if with_credentials {
        alloc::vec![5, 2, NO_AUTH, USER_PASS]
    } else {
        alloc::vec![5, 1, NO_AUTH]
    }
}

/// The proxy's choice of method (2 bytes).
pub(super) fn method(reply: [u8; 2], with_credentials: bool) -> Result<u8, ProxyError> {
    match reply {
        [5, NO_AUTH] => Ok(NO_AUTH),
        [5, USER_PASS] if with_credentials => Ok(USER_PASS),
        [5, NO_ACCEPTABLE] | [5, USER_PASS] => Err(ProxyError::SocksAuthRequired),
        _ => Err(ProxyError::MalformedReply("not a SOCKS5 method selection")),
    }
}

/// The RFC 1929 username/password request.
pub(super) fn user_pass(user: &str, password: &str) -> Result<Vec<u8>, ProxyError> {
    let (u, p) = (user.as_bytes(), password.as_bytes());
    if u.is_empty() || u.len() > 255 || p.len() > 255 {
        return Err(ProxyError::Unsupported(
            "SOCKS5 user names and passwords are 1 to 255 bytes",
        ));
    }
    let mut out = alloc::vec![1, u.len() as u8];
    out.extend_from_slice(u);
    out.push(p.len() as u8);
    out.extend_from_slice(p);
    Ok(out)
}

/// The username/password verdict (2 bytes; a version byte of 1, or 5 from some servers).
pub(super) fn user_pass_status(reply: [u8; 2]) -> Result<(), ProxyError> {
    match reply {
        [1 | 5, 0] => Ok(()),
        [1 | 5, _] => Err(ProxyError::SocksAuthFailed),
        _ => Err(ProxyError::MalformedReply(
            "not a SOCKS5 authentication reply",
        )),
    }
}

/// The SOCKS5 CONNECT request: to `addr` when given (the client resolved the name, or it is a literal),
/// to the name otherwise.
pub(super) fn connect5(host: &str, addr: Option<IpAddr>, port: u16) -> Result<Vec<u8>, ProxyError> {
    let mut out = alloc::vec![5, 1, 0];
    match addr {
        Some(IpAddr::V4(ip)) => {
            out.push(1);
            out.extend_from_slice(&ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        None => {
            if host.is_empty() || host.len() > 255 {
                return Err(ProxyError::Unsupported(
                    "SOCKS5 host names are 1 to 255 bytes",
                ));
            }
            out.push(3);
            out.push(host.len() as u8);
            out.extend_from_slice(host.as_bytes());
        }
    }
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

/// How long the SOCKS5 CONNECT reply is, from its first four bytes; fails on a refusal.
pub(super) fn reply5_len(head: [u8; 4]) -> Result<usize, ProxyError> {
    let [version, code, _, address_type] = head;
    if version != 5 {
        return Err(ProxyError::MalformedReply("not a SOCKS5 reply"));
    }
    if code != 0 {
        return Err(ProxyError::Socks5(code));
    }
    let address = match address_type {
        1 => 4,
        4 => 16,
        // A name: its length byte is the fifth byte of the reply, counted by the caller.
        3 => return Ok(0),
        _ => return Err(ProxyError::MalformedReply("unknown SOCKS5 address type")),
    };
    Ok(4 + address + 2)
}

/// The length of a SOCKS5 reply whose bound address is a name of `len` bytes.
pub(super) fn reply5_named_len(len: u8) -> usize {
    4 + 1 + len as usize + 2
}

/// The SOCKS4 (or, with `name`, SOCKS4a) CONNECT request. `user` is the user id (may be empty).
pub(super) fn connect4(
    addr: Option<IpAddr>,
    name: Option<&str>,
    port: u16,
    user: &str,
) -> Result<Vec<u8>, ProxyError> {
    let mut out = alloc::vec![4, 1];
    out.extend_from_slice(&port.to_be_bytes());
    match (addr, name) {
        (Some(IpAddr::V4(ip)), _) => out.extend_from_slice(&ip.octets()),
        (Some(IpAddr::V6(_)), _) => {
            return Err(ProxyError::Unsupported(
                "SOCKS4 reaches IPv4 addresses only",
            ));
        }
        // SOCKS4a: an address of the form 0.0.0.x, the name after the user id.
        (None, Some(_)) => out.extend_from_slice(&[0, 0, 0, 1]),
        (None, None) => return Err(ProxyError::Unsupported("SOCKS4 needs an IPv4 address")),
    }
    if user.contains('\0') || name.is_some_and(|n| n.contains('\0')) {
        return Err(ProxyError::Unsupported(
            "SOCKS4 fields cannot hold a NUL byte",
        ));
    }
    out.extend_from_slice(user.as_bytes());
    out.push(0);
    if let (None, Some(name)) = (addr, name) {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
    }
    Ok(out)
}

/// The SOCKS4 reply (8 bytes): granted, or the refusal's code.
pub(super) fn reply4(reply: [u8; 8]) -> Result<(), ProxyError> {
    match reply {
        [0 | 4, 0x5a, ..] => Ok(()),
        [0 | 4, code @ 0x5b..=0x5d, ..] => Err(ProxyError::Socks4(code)),
        _ => Err(ProxyError::MalformedReply("not a SOCKS4 reply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn socks5_requests() {
        assert_eq!(greeting(false), [5, 1, 0]);
        assert_eq!(greeting(true), [5, 2, 0, 2]);
        assert_eq!(user_pass("ab", "c").unwrap(), [1, 2, b'a', b'b', 1, b'c']);
        assert!(user_pass("", "x").is_err());
        assert_eq!(
            connect5("example.com", None, 443).unwrap(),
            [&[5, 1, 0, 3, 11][..], b"example.com", &[1, 187]].concat()
        );
        assert_eq!(
            connect5("x", Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))), 80).unwrap(),
            [5, 1, 0, 1, 127, 0, 0, 1, 0, 80]
        );
        let v6 = connect5("x", Some(IpAddr::V6(Ipv6Addr::LOCALHOST)), 80).unwrap();
        assert_eq!((v6[3], v6.len()), (4, 4 + 16 + 2));
    }

    #[test]
    fn socks5_replies() {
        assert_eq!(method([5, 0], false), Ok(NO_AUTH));
        assert_eq!(method([5, 2], true), Ok(USER_PASS));
        assert_eq!(method([5, 2], false), Err(ProxyError::SocksAuthRequired));
        assert_eq!(method([5, 0xff], true), Err(ProxyError::SocksAuthRequired));
        assert!(matches!(
            method([4, 0], true),
            Err(ProxyError::MalformedReply(_))
        ));
        assert_eq!(user_pass_status([1, 0]), Ok(()));
        assert_eq!(user_pass_status([1, 1]), Err(ProxyError::SocksAuthFailed));
        assert_eq!(reply5_len([5, 0, 0, 1]), Ok(10));
        assert_eq!(reply5_len([5, 0, 0, 4]), Ok(22));
        assert_eq!(reply5_len([5, 0, 0, 3]), Ok(0));
        assert_eq!(reply5_named_len(3), 10);
        assert_eq!(reply5_len([5, 5, 0, 1]), Err(ProxyError::Socks5(5)));
    }

    #[test]
    fn socks4_requests_and_replies() {
        let ip = Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(
            connect4(ip, None, 8080, "bob").unwrap(),
            [4, 1, 0x1f, 0x90, 10, 1, 2, 3, b'b', b'o', b'b', 0]
        );
        assert_eq!(
            connect4(None, Some("h.example"), 80, "").unwrap(),
            [&[4, 1, 0, 80, 0, 0, 0, 1, 0][..], b"h.example", &[0]].concat()
        );
        assert!(connect4(Some(IpAddr::V6(Ipv6Addr::LOCALHOST)), None, 80, "").is_err());
        assert_eq!(reply4([0, 0x5a, 0, 0, 0, 0, 0, 0]), Ok(()));
        assert_eq!(
            reply4([0, 0x5b, 0, 0, 0, 0, 0, 0]),
            Err(ProxyError::Socks4(0x5b))
        );
        assert!(matches!(
            reply4([5, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProxyError::MalformedReply(_))
        ));
    }
}
