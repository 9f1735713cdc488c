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
    if !kind.resolves_locally() || host.parse::<IpAddr>().is_ok() {
        return Ok(None);
    }
    let v4_only = kind == ProxyKind::Socks4;
    let found = (host, port)
        .to_socket_addrs()
        .map_err(Error::Dns)?
        .map(|a| a.ip())
        .find(|ip| !v4_only || ip.is_ipv4());
    match found {
        Some(ip) => Ok(Some(ip)),
        None => Err(Error::Dns(io::Error::new(
            io::ErrorKind::NotFound,
            if v4_only {
                format!("{host} has no IPv4 address (a SOCKS4 proxy needs one)")
            } else {
                format!("{host} has no address")
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
