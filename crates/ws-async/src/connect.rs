//! Client connect and TLS server accept, generic over the runtime's socket and resolver: each runtime
//! crate passes its own `resolve` and `connect` functions and gets the same behaviour and errors.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Instant as StdInstant;

use futures_io::{AsyncRead, AsyncWrite};
use ws_adapter::{ClientBuilder, Error, Result};
use ws_core::Opened;
#[cfg(feature = "rustls")]
use ws_core::{Accept, Config, Request, Response};

#[cfg(feature = "rustls")]
use crate::handshake::accept_with;
use crate::handshake::client_handshake;
use crate::stream::MaybeTlsStream;
use crate::timer::Timer;
use crate::websocket::WebSocket;

/// Connects to the builder's URL: chooses the proxy ([`ClientBuilder::proxy`]), resolves, connects TCP
/// (trying each address), opens the proxy's tunnel, sets up TLS for `wss://`, all within the connect
/// timeout, then runs the handshake; follows redirects ([`ClientBuilder::max_redirects`]), choosing the
/// proxy again on every hop.
pub async fn connect_with<S, R, Res, ResFut, Con, ConFut>(
    builder: &ClientBuilder,
    timer: R,
    resolve: Res,
    connect: Con,
) -> Result<(WebSocket<MaybeTlsStream<S>, R>, Opened)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    R: Timer,
    Res: Fn(String, u16) -> ResFut,
    ResFut: Future<Output = io::Result<Vec<SocketAddr>>>,
    Con: Fn(SocketAddr) -> ConFut,
    ConFut: Future<Output = io::Result<S>>,
{
    let mut hop = builder.clone();
    let mut hops = 0;
    loop {
        // Boxed: TLS inside TLS makes a large future, and debug builds copy futures on the stack.
        let setup = Box::pin(transport(&hop, &resolve, &connect));
        let stream = match hop.get_connect_timeout() {
            Some(limit) => within(&timer, StdInstant::now() + limit, setup)
                .await
                .ok_or(Error::ConnectTimeout)??,
            None => setup.await?,
        };
        match client_handshake(stream, &hop, timer.clone()).await {
            Err(Error::Rejected(response)) => match hop.redirected(&response, hops)? {
                Some(next) => {
                    hop = next;
                    hops += 1;
                }
                None => return Err(Error::Rejected(response)),
            },
            done => return done,
        }
    }
}

/// The transport to the builder's URL: direct or through the proxy chosen for it, TLS for `wss://`.
async fn transport<S, Res, ResFut, Con, ConFut>(
    builder: &ClientBuilder,
    resolve: &Res,
    connect: &Con,
) -> Result<MaybeTlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    Res: Fn(String, u16) -> ResFut,
    ResFut: Future<Output = io::Result<Vec<SocketAddr>>>,
    Con: Fn(SocketAddr) -> ConFut,
    ConFut: Future<Output = io::Result<S>>,
{
    let url = builder.url();
    if let Some(proxy) = builder.get_proxy().select(url)? {
        let tcp = tcp(resolve, connect, &proxy.host, proxy.port)
            .await
            .map_err(|e| match e {
                Error::Dns(e) | Error::Io(e) => Error::ProxyConnect(e),
                e => e,
            })?;
        let tunnel = Box::pin(crate::proxy::tunnel(builder, &proxy, tcp, resolve)).await?;
        return Ok(MaybeTlsStream::Tunnel(Box::new(tunnel)));
    }
    let tcp = tcp(resolve, connect, &url.host, url.port).await?;
    if !url.secure {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    #[cfg(feature = "rustls")]
    {
        crate::tls::connect(tcp, &url.host, builder.tls()).await
    }
    #[cfg(not(feature = "rustls"))]
    Err(Error::Tls("wss:// needs the `rustls` feature".into()))
}

/// Resolves `host` and connects TCP to the first address that answers.
async fn tcp<S, Res, ResFut, Con, ConFut>(
    resolve: &Res,
    connect: &Con,
    host: &str,
    port: u16,
) -> Result<S>
where
    Res: Fn(String, u16) -> ResFut,
    ResFut: Future<Output = io::Result<Vec<SocketAddr>>>,
    Con: Fn(SocketAddr) -> ConFut,
    ConFut: Future<Output = io::Result<S>>,
{
    let addrs = resolve(host.to_string(), port).await.map_err(Error::Dns)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
    for addr in addrs {
        match connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(Error::Io(last))
}

/// Server: runs the TLS handshake on `stream` with `tls`, then the WebSocket handshake (see
/// [`accept_with`]). The TLS handshake is bounded by the core's handshake timeout.
#[cfg(feature = "rustls")]
pub async fn accept_tls<S, R, F, Fut>(
    stream: S,
    tls: std::sync::Arc<crate::tls::rustls::ServerConfig>,
    config: Config,
    timer: R,
    decide: F,
) -> Result<WebSocket<MaybeTlsStream<S>, R>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: Timer,
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Accept, Response>>,
{
    let handshake = crate::tls::accept(stream, tls);
    let stream = match config.timeouts.handshake {
        Some(limit) => within(&timer, StdInstant::now() + limit, handshake)
            .await
            .ok_or(Error::ConnectTimeout)??,
        None => handshake.await?,
    };
    accept_with(stream, config, timer, decide).await
}

/// Runs `work` until `deadline`; `None` if the deadline came first.
async fn within<R: Timer, F: Future>(
    timer: &R,
    deadline: StdInstant,
    work: F,
) -> Option<F::Output> {
    let mut work = pin!(work);
    let mut sleep = pin!(timer.sleep_until(deadline));
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await
}
