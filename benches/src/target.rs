//! Where the load goes: a `ws://` URL restricted to loopback addresses.
//!
//! The benchmark must only ever talk to servers on this machine, so anything
//! that is not a loopback IP literal (or `localhost`) is refused, and no name
//! is ever resolved.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// A loopback WebSocket endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The socket address to connect to (always loopback).
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host_header: String,
    /// The request path, starting with `/`.
    pub path: String,
}

impl Target {
    /// The endpoint `ws://host:port/` for a loopback `host` (IP or `localhost`).
    pub fn from_host_port(host: &str, port: u16) -> Result<Self, String> {
        format!("ws://{}:{port}/", bracket_v6(host)).parse()
    }
}

fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| format!("{url:?}: only ws:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = authority
            .rsplit_once(':')
            .filter(|(h, _)| !h.is_empty())
            .ok_or_else(|| format!("{url:?}: the URL needs an explicit host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{url:?}: bad port {port:?}"))?;
        let ip = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| format!("{url:?}: host must be an IP literal or localhost"))?
        };
        if !ip.is_loopback() {
            return Err(format!("{url:?}: refusing a non-loopback address"));
        }
        Ok(Self {
            addr: SocketAddr::new(ip, port),
            host_header: authority.to_owned(),
            path: path.to_owned(),
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ws://{}{}", self.host_header, self.path)
    }
}

/// Command-line options naming the target (shared by `loadgen` and `idlemem`).
#[derive(Clone, Debug, clap::Args)]
pub struct TargetArgs {
    /// WebSocket URL of the server, e.g. ws://127.0.0.1:9001/ (loopback only).
    #[arg(long, conflicts_with = "port")]
    pub url: Option<String>,
    /// Server host when --url is not given (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port when --url is not given.
    #[arg(long)]
    pub port: Option<u16>,
}

impl TargetArgs {
    /// The target these options name.
    pub fn target(&self) -> Result<Target, String> {
        match (&self.url, self.port) {
            (Some(url), _) => url.parse(),
            (None, Some(port)) => Target::from_host_port(&self.host, port),
            (None, None) => Err("give --url ws://127.0.0.1:PORT/ or --port PORT".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loopback_urls() {
        let t: Target = "ws://127.0.0.1:9001/".parse().unwrap();
        assert_eq!(t.addr, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(
            (t.host_header.as_str(), t.path.as_str()),
            ("127.0.0.1:9001", "/")
        );
        let t: Target = "ws://localhost:80".parse().unwrap();
        assert_eq!((t.addr.port(), t.path.as_str()), (80, "/"));
        let t: Target = "ws://[::1]:7/echo?x=1".parse().unwrap();
        assert_eq!(t.path, "/echo?x=1");
        assert_eq!(Target::from_host_port("::1", 7).unwrap().addr.port(), 7);
    }

    #[test]
    fn refuses_other_hosts_and_schemes() {
        for url in [
            "ws://10.0.0.1:80/",
            "ws://example.com:80/",
            "wss://127.0.0.1:80/",
            "ws://127.0.0.1/",
            "ws://127.0.0.1:99999/",
        ] {
            assert!(url.parse::<Target>().is_err(), "{url}");
        }
    }
}
