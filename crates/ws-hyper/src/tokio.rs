//! tokio conveniences (feature `tokio`): TCP (and rustls with ALPN for `wss://`) connects, through the
//! builder's proxy if it has one.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use ws_async::{ClientBuilder, Error, Opened};

use crate::rewind::{Rewind, Transport};
use crate::{ClientError, Http2Client, HyperIo, HyperTimer, WebSocket, connect_http1};

const H2: &[u8] = b"h2";
const HTTP11: &[u8] = b"http/1.1";

/// Connects to a `ws://` or `wss://` URL with tokio.
///
/// TCP (to the proxy the builder chooses, [`ClientBuilder::proxy`], and through its tunnel), and TLS
/// are bounded by the builder's connect timeout, the WebSocket handshake by its config's handshake
/// timeout. Redirects of an HTTP/1.1 handshake are followed as in the other adapters
/// ([`ClientBuilder::max_redirects`]).
///
/// `ws://`: TCP (`TCP_NODELAY`), then [`connect_http1`]. `wss://`: TLS with the builder's rustls
/// configuration ([`ClientBuilder::tls_config`], webpki roots by default), ALPN offering `h2` and
/// `http/1.1`. When the server picks `h2` and enables extended CONNECT, the WebSocket opens over
/// HTTP/2 (RFC 8441) on a connection of its own (use [`connect_http2`] to share one); when it picks
/// `h2` without extended CONNECT, it connects again offering only `http/1.1`; else HTTP/1.1.
///
/// ```no_run
/// # async fn demo() -> Result<(), ws_hyper::ClientError> {
/// let builder = ws_hyper::ClientBuilder::new("wss://example.com/chat")?;
/// let (mut ws, _opened) = ws_hyper::tokio::connect(&builder).await?;
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect(builder: &ClientBuilder) -> Result<(WebSocket, Opened), ClientError> {
    let mut hop = builder.clone();
    let mut hops = 0;
    loop {
        match Box::pin(connect_once(&hop)).await {
            Err(ClientError::WebSocket(Error::Rejected(response))) => {
                match hop.redirected(&response, hops)? {
                    Some(next) => {
                        hop = next;
                        hops += 1;
                    }
                    None => return Err(Error::Rejected(response).into()),
                }
            }
            done => return done,
        }
    }
}

/// [`connect`] without redirects.
async fn connect_once(builder: &ClientBuilder) -> Result<(WebSocket, Opened), ClientError> {
    let timer = HyperTimer::tokio();
    if !builder.url().secure {
        let tcp = bounded(builder, tcp(builder)).await?;
        return connect_http1(TokioIo::new(tcp), builder, timer).await;
    }
    let stream = bounded(builder, async {
        tls(tcp(builder).await?, builder, &[H2, HTTP11]).await
    })
    .await?;
    if stream.get_ref().1.alpn_protocol() == Some(H2) {
        let h2 = spawn_http2(stream).await?;
        if h2.is_extended_connect_enabled() {
            return h2.connect(builder).await;
        }
        let stream = bounded(builder, async {
            tls(tcp(builder).await?, builder, &[HTTP11]).await
        })
        .await?;
        return connect_http1(TokioIo::new(stream), builder, timer).await;
    }
    connect_http1(TokioIo::new(stream), builder, timer).await
}

/// Connects to the host and port of a `ws://` or `wss://` URL with HTTP/2 and spawns the connection
/// on tokio: WebSockets then open on it with [`Http2Client::connect`]. `ws://` speaks HTTP/2 with
/// prior knowledge; `wss://` requires the server to pick `h2` through ALPN.
///
/// ```no_run
/// # async fn demo() -> Result<(), ws_hyper::ClientError> {
/// let builder = ws_hyper::ClientBuilder::new("ws://127.0.0.1:8080/")?;
/// let h2 = ws_hyper::tokio::connect_http2(&builder).await?;
/// let (mut ws, _opened) = h2.connect(&builder).await?;
/// ws.send("over HTTP/2").await?;
/// # Ok(()) }
/// ```
pub async fn connect_http2(builder: &ClientBuilder) -> Result<Http2Client, ClientError> {
    if !builder.url().secure {
        return spawn_http2(bounded(builder, tcp(builder)).await?).await;
    }
    let stream = bounded(builder, async {
        tls(tcp(builder).await?, builder, &[H2]).await
    })
    .await?;
    if stream.get_ref().1.alpn_protocol() != Some(H2) {
        return Err(Error::Tls("the server did not choose h2 through ALPN".into()).into());
    }
    spawn_http2(stream).await
}

/// hyper's HTTP/2 handshake on `io`, its connection spawned on tokio.
async fn spawn_http2<S>(io: S) -> Result<Http2Client, ClientError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut h2 = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new());
    let (client, connection) =
        Http2Client::handshake(&h2, TokioIo::new(io), HyperTimer::tokio()).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Runs `setup` (TCP, TLS) within the builder's connect timeout.
async fn bounded<T>(
    builder: &ClientBuilder,
    setup: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    match builder.get_connect_timeout() {
        Some(limit) => crate::client::within(&HyperTimer::tokio(), Instant::now() + limit, setup)
            .await
            .unwrap_or(Err(ClientError::WebSocket(Error::ConnectTimeout))),
        None => setup.await,
    }
}

/// The byte stream to the builder's URL: TCP, or a tunnel through the proxy chosen for it (TLS to
/// an `https://` proxy first); bytes the proxy sent after its reply are read first.
async fn tcp(builder: &ClientBuilder) -> Result<Transport, ClientError> {
    let url = builder.url();
    let Some(proxy) = builder.get_proxy().select(url)? else {
        return Ok(Box::new(
            socket(&url.host, url.port).await.map_err(Error::Io)?,
        ));
    };
    let tcp = socket(&proxy.host, proxy.port)
        .await
        .map_err(Error::ProxyConnect)?;
    let resolve = |host: String, port: u16| async move {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    };
    if proxy.kind == ws_core::proxy::ProxyKind::Https {
        let config = builder.proxy_tls();
        let name = ws_async::tls::server_name(&proxy.host)?;
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| Error::Tls(format!("with the proxy {proxy}: {e}")))?;
        let mut io = HyperIo::new(TokioIo::new(&mut tls));
        let leftover = ws_async::open_tunnel(builder, &proxy, &mut io, &resolve).await?;
        return Ok(Box::new(Rewind::new(leftover, tls)));
    }
    let mut tcp = tcp;
    let mut io = HyperIo::new(TokioIo::new(&mut tcp));
    let leftover = ws_async::open_tunnel(builder, &proxy, &mut io, &resolve).await?;
    Ok(Box::new(Rewind::new(leftover, tcp)))
}

/// TCP to `host:port` (`TCP_NODELAY`).
async fn socket(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// The TLS handshake with the builder's rustls configuration, offering `alpn`.
async fn tls(
    tcp: Transport,
    builder: &ClientBuilder,
    alpn: &[&[u8]],
) -> Result<TlsStream<Transport>, ClientError> {
    let mut config = (*builder.tls()).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ws_async::tls::server_name(&builder.url().host)?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(stream)
}
