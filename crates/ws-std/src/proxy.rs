//! Connecting through a proxy: TCP (and TLS, for an `https://` proxy) to the proxy, its handshake
//! (`ws_core::proxy::ProxyHandshake`: `CONNECT` or SOCKS), then TLS to a `wss://` server inside the
//! tunnel, all before the connect deadline.

use std::io::{self, Read, Write};
use std::net::{IpAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use rustls::StreamOwned;
use ws_adapter::{ClientBuilder, Error, Result};
use ws_core::proxy::{ProxyHandshake, ProxyKind, ProxyUrl};

use crate::handshake::{connect_tcp, tls_handshake};
use crate::stream::TcpBacked;
use crate::tunnel::{Rewind, Tunnel};

/// Opens a tunnel through `proxy` to the builder's URL, with TLS to the server for `wss://`.
pub(crate) fn open(
    builder: &ClientBuilder,
    proxy: &ProxyUrl,
    deadline: Option<Instant>,
) -> Result<Tunnel> {
    let url = builder.url();
    let addr = target_addr(proxy.kind, &url.host, url.port)?;
    let handshake = ProxyHandshake::with_headers(
        proxy,
        &url.host,
        url.port,
        addr,
        builder.get_proxy_headers(),
    )
    .map_err(Error::Proxy)?;
    let tcp = connect_tcp(&proxy.host, proxy.port, deadline).map_err(|e| match e {
        Error::Dns(e) | Error::Io(e) => Error::ProxyConnect(e),
        e => e,
    })?;
    let tunnel = if proxy.kind == ProxyKind::Https {
        let mut tls = tls_client(builder.proxy_tls(), &proxy.host, tcp)?;
        tls_handshake(&mut tls, deadline, || Error::ConnectTimeout)?;
        let leftover = run(&mut tls, handshake, deadline)?;
        let stream = Rewind::new(leftover, tls);
        if url.secure {
            let mut tls = tls_client(builder.tls(), &url.host, stream)?;
            tls_handshake(&mut tls, deadline, || Error::ConnectTimeout)?;
            Tunnel::TlsInTls(tls)
        } else {
            Tunnel::ProxyTls(stream)
        }
    } else {
        let mut tcp = tcp;
        let leftover = run(&mut tcp, handshake, deadline)?;
        let stream = Rewind::new(leftover, tcp);
        if url.secure {
            let mut tls = tls_client(builder.tls(), &url.host, stream)?;
            tls_handshake(&mut tls, deadline, || Error::ConnectTimeout)?;
            Tunnel::Tls(tls)
        } else {
            Tunnel::Plain(stream)
        }
    };
    let tcp = tunnel.tcp();
    tcp.set_read_timeout(None)?;
    tcp.set_write_timeout(None)?;
    Ok(tunnel)
}

/// The target's address, for a proxy that does not resolve names (SOCKS4: IPv4 only; `socks5://`).
/// `None` for other proxies and for IP literals (the handshake takes those as they are).
fn target_addr(kind: ProxyKind, host: &str, port: u16) -> Result<Option<IpAddr>> {
    if !kind.needs_lookup(host) {
        return Ok(None);
    }
    let found = (host, port).to_socket_addrs().map_err(Error::Dns)?;
    match kind.choose_address(found.map(|a| a.ip())) {
        Some(ip) => Ok(Some(ip)),
        None => Err(Error::Dns(io::Error::new(
            io::ErrorKind::NotFound,
            match kind {
                ProxyKind::Socks4 => {
                    format!("{host} has no IPv4 address (a SOCKS4 proxy needs one)")
                }
                _ => format!("{host} has no address"),
            },
        ))),
    }
}

/// A rustls client (not yet handshaken) for `host` over `sock`.
fn tls_client<S: Read + Write>(
    config: std::sync::Arc<rustls::ClientConfig>,
    host: &str,
    sock: S,
) -> Result<StreamOwned<rustls::ClientConnection, S>> {
    let name = ws_adapter::tls::server_name(host)?;
    let conn =
        rustls::ClientConnection::new(config, name).map_err(|e| Error::Tls(e.to_string()))?;
    Ok(StreamOwned::new(conn, sock))
}

/// Runs the proxy's handshake over `io` before `deadline`: writes its output, feeds it what the proxy
/// sends, until the tunnel is open. Returns the bytes that came after the proxy's reply.
fn run<S: Read + Write + TcpBacked>(
    io: &mut S,
    mut handshake: ProxyHandshake,
    deadline: Option<Instant>,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let mut unflushed = false;
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(Error::ConnectTimeout);
        }
        io.tcp().set_read_timeout(left)?;
        io.tcp().set_write_timeout(left)?;
        let step = if !handshake.output().is_empty() {
            io.write(handshake.output()).and_then(|n| match n {
                0 => Err(io::ErrorKind::WriteZero.into()),
                n => {
                    handshake.advance(n);
                    unflushed = true;
                    Ok(())
                }
            })
        } else if unflushed {
            io.flush().map(|()| unflushed = false)
        } else if handshake.is_open() {
            return Ok(handshake.into_leftover());
        } else {
            match io.read(&mut buf) {
                Ok(0) => return Err(Error::Proxy(handshake.receive_eof())),
                Ok(n) => {
                    handshake.receive(&buf[..n]).map_err(Error::Proxy)?;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        };
        match step {
            Ok(()) => {}
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => {}
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => return Err(Error::Proxy(handshake.receive_eof())),
                io::ErrorKind::InvalidData => return Err(Error::Tls(e.to_string())),
                _ => return Err(Error::Io(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

    #[test]
    fn socks4_and_socks5_get_an_address_others_the_name() {
        let v4 = target_addr(ProxyKind::Socks4, "localhost", 80).unwrap();
        assert_eq!(v4, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(
            target_addr(ProxyKind::Socks5, "localhost", 80)
                .unwrap()
                .is_some()
        );
        for kind in [
            ProxyKind::Http,
            ProxyKind::Https,
            ProxyKind::Socks5h,
            ProxyKind::Socks4a,
        ] {
            assert_eq!(target_addr(kind, "localhost", 80).unwrap(), None);
        }
        assert_eq!(
            target_addr(ProxyKind::Socks4, "10.0.0.1", 80).unwrap(),
            None
        );
        assert_eq!(target_addr(ProxyKind::Socks5, "::1", 80).unwrap(), None);
    }

    #[test]
    fn the_handshake_returns_what_came_after_the_reply() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                assert_eq!(tcp.read(&mut byte).unwrap(), 1);
                head.push(byte[0]);
            }
            tcp.write_all(b"HTTP/1.1 200 OK\r\n\r\nfirst bytes")
                .unwrap();
            head
        });
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let proxy = ProxyUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let handshake = ProxyHandshake::new(&proxy, "ws.example", 80, None).unwrap();
        let deadline = Some(Instant::now() + Duration::from_secs(10));
        let leftover = run(&mut tcp, handshake, deadline).unwrap();
        let head = peer.join().unwrap();
        assert!(head.starts_with(b"CONNECT ws.example:80 HTTP/1.1\r\n"));
        // The reply and the bytes after it were one small write: one read on loopback.
        assert_eq!(leftover, b"first bytes");
        let mut rewind = Rewind::new(leftover, tcp);
        let mut rest = Vec::new();
        rewind.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"first bytes");
        assert!(rewind.prefix().is_empty());
    }

    #[test]
    fn a_passed_deadline_is_a_connect_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tcp = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let proxy = ProxyUrl::parse("http://proxy.example").unwrap();
        let handshake = ProxyHandshake::new(&proxy, "ws.example", 80, None).unwrap();
        let deadline = Some(Instant::now() + Duration::from_millis(50));
        assert!(matches!(
            run(&mut tcp, handshake, deadline),
            Err(Error::ConnectTimeout)
        ));
    }
}
