//! Opening a tunnel through a proxy: the bytes of `ws_core::proxy::ProxyHandshake` moved over the
//! stream to the proxy (TLS first for an `https://` proxy), then TLS to the server for `wss://`.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use ws_adapter::{ClientBuilder, Error, Result};
use ws_core::proxy::{ProxyHandshake, ProxyKind, ProxyUrl};

use crate::tunnel::{Rewind, Tunnel};

/// Opens a tunnel through `proxy` (connected as `tcp`) to the builder's URL. `resolve` finds the
/// target's address for proxies that do not resolve names (SOCKS4, `socks5://`).
pub(crate) async fn tunnel<S, Res, ResFut>(
    builder: &ClientBuilder,
    proxy: &ProxyUrl,
    tcp: S,
    resolve: &Res,
) -> Result<Tunnel<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    Res: Fn(String, u16) -> ResFut,
    ResFut: Future<Output = io::Result<Vec<SocketAddr>>>,
{
    let url = builder.url();
    if proxy.kind == ProxyKind::Https {
        #[cfg(feature = "rustls")]
        {
            let mut tls = crate::tls::client(tcp, &proxy.host, builder.proxy_tls())
                .await
                .map_err(|e| in_proxy_tls(e, proxy))?;
            let leftover = open_tunnel(builder, proxy, &mut tls, resolve).await?;
            let inner = Rewind::new(leftover, tls);
            return Ok(match url.secure {
                true => {
                    Tunnel::TlsInTls(crate::tls::client(inner, &url.host, builder.tls()).await?)
                }
                false => Tunnel::ProxyTls(inner),
            });
        }
        #[cfg(not(feature = "rustls"))]
        return Err(Error::Tls(
            "https:// proxies need the `rustls` feature".into(),
        ));
    }
    let mut tcp = tcp;
    let leftover = open_tunnel(builder, proxy, &mut tcp, resolve).await?;
    let inner = Rewind::new(leftover, tcp);
    if !url.secure {
        return Ok(Tunnel::Plain(inner));
    }
    #[cfg(feature = "rustls")]
    {
        Ok(Tunnel::Tls(
            crate::tls::client(inner, &url.host, builder.tls()).await?,
        ))
    }
    #[cfg(not(feature = "rustls"))]
    Err(Error::Tls("wss:// needs the `rustls` feature".into()))
}

/// The target's address for a proxy that takes one ([`ProxyKind::choose_address`]).
fn target_addr(kind: ProxyKind, resolved: io::Result<Vec<SocketAddr>>) -> Result<IpAddr> {
    let found = resolved.map_err(Error::Dns)?;
    kind.choose_address(found.iter().map(SocketAddr::ip))
        .ok_or_else(|| Error::Dns(no_address(kind)))
}

/// The lookup found no address the proxy can take.
fn no_address(kind: ProxyKind) -> io::Error {
    let why = match kind {
        ProxyKind::Socks4 => "the host has no IPv4 address, which SOCKS4 needs",
        _ => "host resolved to no address",
    };
    io::Error::new(io::ErrorKind::NotFound, why)
}

/// Runs the handshake with `proxy` over `io` (connected to it, TLS already set up for an `https://`
/// proxy) for a tunnel to the builder's URL, until the tunnel is open; returns the bytes that came after
/// the proxy's reply (the start of what runs over the tunnel). `resolve` finds the target's address for
/// proxies that do not resolve names (SOCKS4, `socks5://`). For clients that own their transport
/// (ws-hyper's tokio helpers); `connect_with` does all of this itself.
pub async fn open_tunnel<T, Res, ResFut>(
    builder: &ClientBuilder,
    proxy: &ProxyUrl,
    io: &mut T,
    resolve: &Res,
) -> Result<Vec<u8>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    Res: Fn(String, u16) -> ResFut,
    ResFut: Future<Output = io::Result<Vec<SocketAddr>>>,
{
    let url = builder.url();
    let addr = match proxy.kind.needs_lookup(&url.host) {
        true => Some(target_addr(
            proxy.kind,
            resolve(url.host.clone(), url.port).await,
        )?),
        false => None,
    };
    let mut handshake = ProxyHandshake::with_headers(
        proxy,
        &url.host,
        url.port,
        addr,
        builder.get_proxy_headers(),
    )
    .map_err(Error::Proxy)?;
    let mut buf = [0u8; 2048];
    loop {
        if !handshake.output().is_empty() {
            io.write_all(handshake.output()).await?;
            let n = handshake.output().len();
            handshake.advance(n);
            io.flush().await?;
        }
        if handshake.is_open() {
            return Ok(handshake.into_leftover());
        }
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Proxy(handshake.receive_eof()));
        }
        handshake.receive(&buf[..n]).map_err(Error::Proxy)?;
    }
}

/// A TLS failure with the proxy says so.
#[cfg(feature = "rustls")]
fn in_proxy_tls(e: Error, proxy: &ProxyUrl) -> Error {
    match e {
        Error::Tls(why) => Error::Tls(format!("with the proxy {proxy}: {why}")),
        e => e,
    }
}
