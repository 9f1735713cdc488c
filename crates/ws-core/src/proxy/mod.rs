//! Proxies, sans-IO: the handshakes that open a tunnel through an HTTP proxy (`CONNECT`) or a SOCKS
//! gateway (SOCKS5 with username/password, SOCKS4, SOCKS4a), and the choice of proxy for a URL from the
//! environment (`WSS_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`, `NO_PROXY`, ...).
//!
//! Like [`crate::Connection`], a [`ProxyHandshake`] does no I/O: the caller connects to the proxy (and,
//! for an `https://` proxy, runs TLS to it), writes [`ProxyHandshake::output`], feeds what the proxy sends
//! to [`ProxyHandshake::receive`] until it reports the tunnel open, and then runs the WebSocket handshake
//! over the same stream, starting with [`ProxyHandshake::into_leftover`] (bytes that came after the proxy's
//! reply). A `wss://` target takes TLS to the server inside the tunnel.
//!
//! ```
//! use ws_core::proxy::{ProxyHandshake, ProxyUrl};
//! let proxy = ProxyUrl::parse("http://user:pw@proxy.corp:3128").unwrap();
//! let mut tunnel = ProxyHandshake::new(&proxy, "echo.example", 443, None).unwrap();
//! assert!(tunnel.output().starts_with(b"CONNECT echo.example:443 HTTP/1.1\r\n"));
//! let n = tunnel.output().len();
//! tunnel.advance(n); // written to the proxy
//! assert!(!tunnel.receive(b"HTTP/1.1 200 Connection established\r\n").unwrap());
//! assert!(tunnel.receive(b"\r\n").unwrap()); // open: the WebSocket handshake goes next
//! assert!(tunnel.into_leftover().is_empty());
//! ```

mod connect;
mod env;
mod no_proxy;
mod socks;
mod url;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use crate::http::Response;

pub use env::{ProxyEnv, select_from_env};
pub use no_proxy::NoProxy;
pub use url::{ProxyKind, ProxyUrl};

/// The largest reply head an HTTP proxy may send before the handshake fails, by default.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 16 * 1024;

/// Why a proxy did not open a tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not one this library can use (shown without its credentials).
    InvalidUrl(String),
    /// An HTTP proxy answered `CONNECT` with a status other than 2xx, e.g. 407 (with
    /// `Proxy-Authenticate`) or 403: the reply's status, headers and the start of its body.
    Status(Box<Response>),
    /// The proxy's reply is not of its protocol.
    MalformedReply(&'static str),
    /// An HTTP proxy's reply head is larger than the limit.
    ReplyTooLarge,
    /// The proxy closed the connection before the tunnel was open.
    Closed,
    /// A SOCKS5 proxy refused the connection: the RFC 1928 reply code (1 general failure, 2 not allowed
    /// by ruleset, 3 network unreachable, 4 host unreachable, 5 connection refused, 6 TTL expired,
    /// 7 command not supported, 8 address type not supported).
    Socks5(u8),
    /// A SOCKS4 proxy refused the connection: 0x5B rejected or failed, 0x5C/0x5D identd failures.
    Socks4(u8),
    /// A SOCKS5 proxy wants a user name and password and none were given (or it accepts no method we
    /// offered).
    SocksAuthRequired,
    /// A SOCKS5 proxy refused the user name and password.
    SocksAuthFailed,
    /// An extra `CONNECT` header has a bad name or a value with CR, LF or NUL.
    InvalidHeader,
    /// This proxy cannot reach this target (e.g. SOCKS4 and an IPv6 address), or a field is too long
    /// for the protocol.
    Unsupported(&'static str),
    /// The proxy resolves nothing (SOCKS4, `socks5://`): the target's address must be passed.
    NeedsAddress,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(url) => write!(f, "invalid proxy URL {url:?}"),
            ProxyError::Status(r) if r.reason.is_empty() => {
                write!(f, "the proxy answered CONNECT with status {}", r.status)
            }
            ProxyError::Status(r) => write!(
                f,
                "the proxy answered CONNECT with status {} {}",
                r.status, r.reason
            ),
            ProxyError::MalformedReply(what) => write!(f, "malformed proxy reply: {what}"),
            ProxyError::ReplyTooLarge => f.write_str("the proxy's reply head is too large"),
            ProxyError::Closed => {
                f.write_str("the proxy closed the connection during the handshake")
            }
            ProxyError::Socks5(code) => write!(
                f,
                "the SOCKS5 proxy refused the connection: {} (reply code {code})",
                socks5_reason(*code)
            ),
            ProxyError::Socks4(code) => write!(
                f,
                "the SOCKS4 proxy refused the connection (reply code 0x{code:02x})"
            ),
            ProxyError::SocksAuthRequired => {
                f.write_str("the SOCKS5 proxy requires authentication we cannot offer")
            }
            ProxyError::SocksAuthFailed => {
                f.write_str("the SOCKS5 proxy refused the user name and password")
            }
            ProxyError::InvalidHeader => f.write_str("invalid CONNECT header"),
            ProxyError::Unsupported(what) => f.write_str(what),
            ProxyError::NeedsAddress => {
                f.write_str("this proxy needs the target's address, resolved by the client")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProxyError {}

/// RFC 1928's names for SOCKS5 reply codes.
fn socks5_reason(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

/// Where the handshake is.
#[derive(Debug)]
enum Step {
    /// Waiting for the HTTP proxy's reply head; `scanned` bytes have no end of head in them.
    HttpReply { scanned: usize },
    /// SOCKS5: waiting for the method choice; the CONNECT request waits in `connect`.
    Socks5Method {
        credentials: Option<(String, String)>,
        connect: Vec<u8>,
    },
    /// SOCKS5: waiting for the username/password verdict.
    Socks5Auth { connect: Vec<u8> },
    /// SOCKS5: waiting for the CONNECT reply.
    Socks5Reply,
    /// SOCKS4/4a: waiting for the 8-byte reply.
    Socks4Reply,
    /// The tunnel is open.
    Open,
    /// The handshake failed.
    Failed,
}

/// The handshake with a proxy that opens a tunnel to `host:port` (see the [module docs](self)).
#[derive(Debug)]
pub struct ProxyHandshake {
    step: Step,
    /// Bytes to write to the proxy.
    out: Vec<u8>,
    /// Bytes received and not yet used.
    input: Vec<u8>,
    max_reply: usize,
}

impl ProxyHandshake {
    /// Starts the handshake with `proxy` for a tunnel to `host:port`. For a proxy that does not resolve
    /// names ([`ProxyKind::resolves_locally`]: SOCKS4, `socks5://`) pass the target's address as
    /// `addr` (an IP literal `host` needs none); other proxies get the name (an `addr` given to them is
    /// ignored). For an `https://` proxy, the caller runs TLS to the proxy first, then this.
    pub fn new(
        proxy: &ProxyUrl,
        host: &str,
        port: u16,
        addr: Option<IpAddr>,
    ) -> Result<ProxyHandshake, ProxyError> {
        ProxyHandshake::with_headers(proxy, host, port, addr, &[])
    }

    /// [`ProxyHandshake::new`] with extra headers for an HTTP proxy's `CONNECT` request (ignored by
    /// SOCKS proxies).
    pub fn with_headers(
        proxy: &ProxyUrl,
        host: &str,
        port: u16,
        addr: Option<IpAddr>,
        headers: &[(String, Vec<u8>)],
    ) -> Result<ProxyHandshake, ProxyError> {
        let literal = host.parse::<IpAddr>().ok();
        let addr = literal.or(if proxy.kind.resolves_locally() {
            addr
        } else {
            None
        });
        let credentials = proxy.credentials();
        let mut out = Vec::new();
        let step = match proxy.kind {
            ProxyKind::Http | ProxyKind::Https => {
                connect::request(host, port, credentials, headers, &mut out)?;
                Step::HttpReply { scanned: 0 }
            }
            ProxyKind::Socks5 | ProxyKind::Socks5h => {
                if proxy.kind == ProxyKind::Socks5 && addr.is_none() {
                    return Err(ProxyError::NeedsAddress);
                }
                let connect = socks::connect5(host, addr, port)?;
                if let Some((user, password)) = credentials {
                    socks::user_pass(user, password)?; // checked now, sent if asked
                }
                out = socks::greeting(credentials.is_some());
                Step::Socks5Method {
                    credentials: credentials.map(|(u, p)| (String::from(u), String::from(p))),
                    connect,
                }
            }
            ProxyKind::Socks4 | ProxyKind::Socks4a => {
                let name = (proxy.kind == ProxyKind::Socks4a).then_some(host);
                if name.is_none() && addr.is_none() {
                    return Err(ProxyError::NeedsAddress);
                }
                let user = credentials.map_or("", |(u, _)| u);
                out = socks::connect4(addr, name, port, user)?;
                Step::Socks4Reply
            }
        };
        Ok(ProxyHandshake {
            step,
            out,
            input: Vec::new(),
            max_reply: DEFAULT_MAX_REPLY_BYTES,
        })
    }

    /// Sets the largest reply head an HTTP proxy may send ([`DEFAULT_MAX_REPLY_BYTES`] by default).
    #[must_use]
    pub fn max_reply_bytes(mut self, bytes: usize) -> Self {
        self.max_reply = bytes;
        self
    }

    /// The bytes to write to the proxy now (empty when nothing is due).
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Marks the first `n` bytes of [`ProxyHandshake::output`] as written.
    pub fn advance(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Feeds bytes from the proxy. `Ok(true)` once the tunnel is open (write any new output first; for
    /// SOCKS5 with a password, a reply makes more output); `Ok(false)` while more input is needed.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<bool, ProxyError> {
        if matches!(self.step, Step::Failed) {
            return Err(ProxyError::Closed);
        }
        self.input.extend_from_slice(bytes);
        let result = self.step();
        if result.is_err() {
            self.step = Step::Failed;
            self.input.clear();
        }
        result
    }

    /// The proxy closed the connection (end of stream) before the tunnel was open.
    pub fn receive_eof(&mut self) -> ProxyError {
        self.step = Step::Failed;
        ProxyError::Closed
    }

    /// Whether the tunnel is open.
    pub fn is_open(&self) -> bool {
        matches!(self.step, Step::Open)
    }

    /// The bytes that arrived after the proxy's reply: the first bytes from the server, to be handed to
    /// whatever runs over the tunnel.
    pub fn into_leftover(self) -> Vec<u8> {
        if self.is_open() {
            self.input
        } else {
            Vec::new()
        }
    }

    /// Runs the steps the input allows.
    fn step(&mut self) -> Result<bool, ProxyError> {
        loop {
            match &mut self.step {
                Step::Open => return Ok(true),
                Step::Failed => return Err(ProxyError::Closed),
                Step::HttpReply { scanned } => {
                    match connect::reply(&self.input, *scanned, self.max_reply)? {
                        Some(head) => {
                            self.input.drain(..head);
                            self.step = Step::Open;
                        }
                        None => {
                            *scanned = self.input.len();
                            return Ok(false);
                        }
                    }
                }
                Step::Socks5Method {
                    credentials,
                    connect,
                } => {
                    let Some(reply) = take::<2>(&mut self.input) else {
                        return Ok(false);
                    };
                    let connect = core::mem::take(connect);
                    match socks::method(reply, credentials.is_some())? {
                        socks::USER_PASS => {
                            let (user, password) = credentials.take().unwrap_or_default();
                            self.out.extend(socks::user_pass(&user, &password)?);
                            self.step = Step::Socks5Auth { connect };
                        }
                        _ => {
                            self.out.extend(connect);
                            self.step = Step::Socks5Reply;
                        }
                    }
                }
                Step::Socks5Auth { connect } => {
                    let Some(reply) = take::<2>(&mut self.input) else {
                        return Ok(false);
                    };
                    socks::user_pass_status(reply)?;
                    let connect = core::mem::take(connect);
                    self.out.extend(connect);
                    self.step = Step::Socks5Reply;
                }
                Step::Socks5Reply => {
                    let Some(head) = self.input.first_chunk::<4>() else {
                        return Ok(false);
                    };
                    let len = match socks::reply5_len(*head)? {
                        0 => match self.input.get(4) {
                            Some(&name_len) => socks::reply5_named_len(name_len),
                            None => return Ok(false),
                        },
                        len => len,
                    };
                    if self.input.len() < len {
                        return Ok(false);
                    }
                    self.input.drain(..len);
                    self.step = Step::Open;
                }
                Step::Socks4Reply => {
                    let Some(reply) = take::<8>(&mut self.input) else {
                        return Ok(false);
                    };
                    socks::reply4(reply)?;
                    self.step = Step::Open;
                }
            }
        }
    }
}

/// Takes the next `N` bytes of `input`, when they have arrived.
fn take<const N: usize>(input: &mut Vec<u8>) -> Option<[u8; N]> {
    let bytes = *input.first_chunk::<N>()?;
    input.drain(..N);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// Runs a handshake against a scripted proxy: for each expected request, the reply to send back (fed
    /// a byte at a time when `trickle`).
    fn run(
        proxy: &str,
        addr: Option<IpAddr>,
        script: &[(&[u8], &[u8])],
        trickle: bool,
    ) -> Result<Vec<u8>, ProxyError> {
        let proxy = ProxyUrl::parse(proxy).unwrap();
        let mut h = ProxyHandshake::new(&proxy, "ws.example", 80, addr)?;
        for (i, (request, reply)) in script.iter().enumerate() {
            assert_eq!(h.output(), *request, "request {i}");
            let n = h.output().len();
            h.advance(n);
            let mut open = false;
            if trickle {
                for b in reply.iter() {
                    open = h.receive(&[*b])?;
                }
            } else {
                open = h.receive(reply)?;
            }
            assert_eq!(open, i + 1 == script.len(), "open after reply {i}");
        }
        assert!(h.output().is_empty());
        Ok(h.into_leftover())
    }

    #[test]
    fn socks5_with_and_without_a_password() {
        let connect = [&[5, 1, 0, 3, 10][..], b"ws.example", &[0, 80]].concat();
        let ok = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];
        for trickle in [false, true] {
            let left = run(
                "socks5h://gw",
                None,
                &[
                    (&[5, 1, 0], &[5, 0]),
                    (&connect, &[&ok[..], b"HTTP"].concat()),
                ],
                trickle,
            );
            assert_eq!(left.unwrap(), b"HTTP");
            let left = run(
                "socks5h://u:p@gw",
                None,
                &[
                    (&[5, 2, 0, 2], &[5, 2]),
                    (&[1, 1, b'u', 1, b'p'], &[1, 0]),
                    (&connect, &[5, 0, 0, 3, 2, b'g', b'w', 0, 1]),
                ],
                trickle,
            );
            assert_eq!(left.unwrap(), b"");
        }
        // The proxy chose no authentication although we had credentials.
        assert!(
            run(
                "socks5h://u:p@gw",
                None,
                &[(&[5, 2, 0, 2], &[5, 0]), (&connect, &ok)],
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn socks5_failures_carry_their_cause() {
        let connect = [&[5, 1, 0, 3, 10][..], b"ws.example", &[0, 80]].concat();
        let refused = run(
            "socks5h://gw",
            None,
            &[
                (&[5, 1, 0], &[5, 0]),
                (&connect, &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
            ],
            false,
        );
        assert_eq!(refused, Err(ProxyError::Socks5(5)));
        assert!(alloc::format!("{}", refused.unwrap_err()).contains("connection refused"));
        assert_eq!(
            run("socks5h://gw", None, &[(&[5, 1, 0], &[5, 0xff])], false),
            Err(ProxyError::SocksAuthRequired)
        );
        assert_eq!(
            run(
                "socks5h://u:bad@gw",
                None,
                &[
                    (&[5, 2, 0, 2], &[5, 2]),
                    (&[1, 1, b'u', 3, b'b', b'a', b'd'], &[1, 1])
                ],
                false
            ),
            Err(ProxyError::SocksAuthFailed)
        );
        // socks5:// resolves on the client: no address, no handshake.
        let proxy = ProxyUrl::parse("socks5://gw").unwrap();
        assert_eq!(
            ProxyHandshake::new(&proxy, "ws.example", 80, None).unwrap_err(),
            ProxyError::NeedsAddress
        );
        let ip = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        let left = run(
            "socks5://gw",
            ip,
            &[
                (&[5, 1, 0], &[5, 0]),
                (
                    &[5, 1, 0, 1, 192, 0, 2, 7, 0, 80],
                    &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0],
                ),
            ],
            false,
        );
        assert_eq!(left.unwrap(), b"");
    }

    #[test]
    fn socks4_and_4a() {
        let ip = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        let granted = [0, 0x5a, 0, 0, 0, 0, 0, 0];
        assert!(
            run(
                "socks4://bob@gw",
                ip,
                &[(&[4, 1, 0, 80, 192, 0, 2, 7, b'b', b'o', b'b', 0], &granted)],
                true
            )
            .is_ok()
        );
        let request_4a = [&[4, 1, 0, 80, 0, 0, 0, 1, 0][..], b"ws.example", &[0]].concat();
        assert!(run("socks4a://gw", None, &[(&request_4a, &granted)], false).is_ok());
        assert_eq!(
            run(
                "socks4a://gw",
                None,
                &[(&request_4a, &[0, 0x5b, 0, 0, 0, 0, 0, 0])],
                false
            ),
            Err(ProxyError::Socks4(0x5b))
        );
    }

    #[test]
    fn http_connect_keeps_what_follows_the_reply() {
        let request = b"CONNECT ws.example:80 HTTP/1.1\r\nHost: ws.example:80\r\n\r\n";
        for trickle in [false, true] {
            let left = run(
                "http://proxy",
                None,
                &[(request, b"HTTP/1.0 200 OK\r\n\r\nearly")],
                trickle,
            );
            assert_eq!(left.unwrap(), b"early");
        }
        let proxy = ProxyUrl::parse("http://proxy").unwrap();
        let mut h = ProxyHandshake::new(&proxy, "ws.example", 80, None)
            .unwrap()
            .max_reply_bytes(64);
        assert_eq!(h.receive(&[b'x'; 65]), Err(ProxyError::ReplyTooLarge));
        assert_eq!(h.receive(b"more"), Err(ProxyError::Closed));
    }

    #[test]
    fn an_ip_literal_target_needs_no_resolution() {
        let proxy = ProxyUrl::parse("socks5://gw").unwrap();
        let h = ProxyHandshake::new(&proxy, "::1", 443, None).unwrap();
        assert_eq!(h.output(), [5, 1, 0]);
        let proxy = ProxyUrl::parse("socks4://gw").unwrap();
        assert_eq!(
            ProxyHandshake::new(&proxy, "::1", 443, None).unwrap_err(),
            ProxyError::Unsupported("SOCKS4 reaches IPv4 addresses only")
        );
    }
}
