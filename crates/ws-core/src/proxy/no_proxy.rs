//! `NO_PROXY`: the hosts reached directly, with curl's rules.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

/// A parsed `NO_PROXY` list: comma- or space-separated entries, each
///
/// - `*`: every host;
/// - a domain (`example.com`, `.example.com` or `*.example.com`): that host and its subdomains,
///   compared without case and without a trailing dot;
/// - an IP address (`10.1.2.3`, `::1`, `[::1]`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`): hosts given
///   as such addresses (names are not resolved to check them);
/// - any of these with `:PORT`: only on that port.
///
/// ```
/// use ws_core::proxy::NoProxy;
/// let no = NoProxy::parse("localhost, .corp.example,10.0.0.0/8, [::1], ws.example:8080");
/// assert!(no.matches("localhost", 80));
/// assert!(no.matches("chat.corp.example", 443) && no.matches("corp.example", 443));
/// assert!(no.matches("10.2.3.4", 80) && no.matches("::1", 80));
/// assert!(no.matches("ws.example", 8080) && !no.matches("ws.example", 80));
/// assert!(!no.matches("example.com", 80) && !no.matches("notcorp.example", 80));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// A domain and its subdomains (lower case, no leading or trailing dot).
    Domain(String),
    /// An address range: the network and its prefix length.
    Net(IpAddr, u8),
}

impl NoProxy {
    /// Parses a `NO_PROXY` value. Entries it cannot read are ignored.
    pub fn parse(list: &str) -> NoProxy {
        let mut no = NoProxy::default();
        for entry in list.split([',', ' ', '\t']).filter(|e| !e.is_empty()) {
            if entry == "*" {
                no.all = true;
            } else if let Some(entry) = parse_entry(entry) {
                no.entries.push(entry);
            }
        }
        no
    }

    /// Whether `host` (a name, or an IP address, IPv6 with or without brackets) on `port` is reached
    /// without a proxy.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host);
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| {
            entry.port.is_none_or(|p| p == port)
                && match (&entry.pattern, ip) {
                    (Pattern::Net(net, bits), Some(ip)) => in_net(ip, *net, *bits),
                    (Pattern::Domain(domain), None) => {
                        host.eq_ignore_ascii_case(domain)
                            || (host.len() > domain.len()
                                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                                && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain))
                    }
                    _ => false,
                }
        })
    }

    /// Whether the list is empty (nothing bypasses the proxy).
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

fn parse_entry(entry: &str) -> Option<Entry> {
    let (body, port) = split_port(entry)?;
    let pattern = if let Some((net, bits)) = body.split_once('/') {
        let net: IpAddr = net
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        if bits > max {
            return None;
        }
        Pattern::Net(net, bits)
    } else if let Ok(ip) = body.parse::<IpAddr>() {
        Pattern::Net(ip, if ip.is_ipv4() { 32 } else { 128 })
    } else {
        let domain = body.strip_prefix("*.").unwrap_or(body);
        let domain = domain.trim_start_matches('.').trim_end_matches('.');
        if domain.is_empty() || domain.contains(['*', '/', '[', ']']) {
            return None;
        }
        Pattern::Domain(domain.to_ascii_lowercase().to_string())
    };
    Some(Entry { pattern, port })
}

/// The entry without its `:PORT`, and the port. A bare IPv6 address has no port; `[v6]:port` does.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(after) = entry.strip_prefix('[') {
        let (ip, tail) = after.split_once(']')?;
        return match tail.strip_prefix(':') {
            Some(port) => Some((ip, Some(port.parse().ok()?))),
            None if tail.is_empty() => Some((ip, None)),
            // `[v6]/bits`: the range parser drops the brackets.
            None if tail.starts_with('/') => Some((entry, None)),
            None => None,
        };
    }
    match entry.rsplit_once(':') {
        Some((body, port)) if !body.contains(':') => Some((body, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

/// Whether `ip` is in `net`/`bits` (an IPv4-mapped IPv6 address counts as IPv4).
fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_themselves_and_their_subdomains() {
        let no = NoProxy::parse("example.com,.Corp.Example,*.wild.test");
        for host in [
            "example.com",
            "EXAMPLE.com.",
            "a.b.example.com",
            "corp.example",
            "x.corp.example",
            "wild.test",
            "a.wild.test",
        ] {
            assert!(no.matches(host, 80), "{host}");
        }
        for host in ["notexample.com", "example.com.evil", "com", "10.0.0.1"] {
            assert!(!no.matches(host, 80), "{host}");
        }
    }

    #[test]
    fn addresses_ranges_and_ports() {
        let no =
            NoProxy::parse("127.0.0.1 192.168.0.0/16, ::1, fd00::/8, [2001:db8::1]:8443, h:81");
        assert!(no.matches("127.0.0.1", 1));
        assert!(!no.matches("127.0.0.2", 1));
        assert!(no.matches("192.168.44.1", 1));
        assert!(!no.matches("192.169.0.1", 1));
        assert!(no.matches("[::1]", 1));
        assert!(no.matches("fd12::7", 1));
        assert!(no.matches("::ffff:192.168.1.1", 1), "IPv4-mapped");
        assert!(no.matches("2001:db8::1", 8443));
        assert!(!no.matches("2001:db8::1", 443));
        assert!(no.matches("h", 81) && !no.matches("h", 80));
        assert!(!no.matches("localhost", 1), "names are not resolved");
    }

    #[test]
    fn star_empty_and_garbage() {
        assert!(NoProxy::parse("*").matches("anything", 1));
        assert!(NoProxy::parse("a, *").matches("b", 1));
        assert!(NoProxy::parse("").is_empty());
        let no = NoProxy::parse("10.0.0.0/99, [::1, h:port, ,,");
        assert!(no.is_empty(), "{no:?}");
        assert!(NoProxy::parse("0.0.0.0/0").matches("8.8.8.8", 1));
    }
}
