//! tokio conveniences (feature `tokio`): TCP (and rustls with ALPN for `wss://`) connects.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use ws_async::{ClientBuilder, Error, Opened};

use crate::{ClientError, Http2Client, HyperTimer, WebSocket, connect_http1};

const H2: &[u8] = b"h2";
const HTTP11: &[u8] = b"http/1.1";

/// Connects to a `ws://` or `wss://` URL with tokio.
///
/// TCP and TLS are bounded by the builder's connect timeout, the WebSocket handshake by its config's
/// handshake timeout.
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

async fn tcp(builder: &ClientBuilder) -> Result<TcpStream, ClientError> {
    let url = builder.url();
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(Error::Io)?;
    tcp.set_nodelay(true).map_err(Error::Io)?;
    Ok(tcp)
}

/// The TLS handshake with the builder's rustls configuration, offering `alpn`.
async fn tls(
    tcp: TcpStream,
    builder: &ClientBuilder,
    alpn: &[&[u8]],
) -> Result<TlsStream<TcpStream>, ClientError> {
    let mut config = (*builder.tls()).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ws_async::tls::server_name(&builder.url().host)?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(stream)
}
