//! tokio conveniences (feature `tokio`): TCP connect for `ws://` URLs.

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use ws_async::{ClientBuilder, Error, Opened};

use crate::{ClientError, Http2Client, HyperTimer, WebSocket, connect_http1};

/// Connects to a `ws://` URL over HTTP/1.1 with tokio: TCP (`TCP_NODELAY`), then [`connect_http1`].
/// `wss://` is not handled here yet: set up TLS yourself and call [`connect_http1`].
///
/// ```no_run
/// # async fn demo() -> Result<(), ws_hyper::ClientError> {
/// let builder = ws_hyper::ClientBuilder::new("ws://127.0.0.1:8080/")?;
/// let (mut ws, _opened) = ws_hyper::tokio::connect(&builder).await?;
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect(builder: &ClientBuilder) -> Result<(WebSocket, Opened), ClientError> {
    let tcp = tcp(builder).await?;
    connect_http1(TokioIo::new(tcp), builder, HyperTimer::tokio()).await
}

/// Connects to the host and port of a `ws://` URL with HTTP/2 (prior knowledge) and spawns the
/// connection on tokio: WebSockets then open on it with [`Http2Client::connect`].
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
    let tcp = tcp(builder).await?;
    let mut h2 = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new());
    let (client, connection) =
        Http2Client::handshake(&h2, TokioIo::new(tcp), HyperTimer::tokio()).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn tcp(builder: &ClientBuilder) -> Result<tokio::net::TcpStream, ClientError> {
    let url = builder.url();
    if url.secure {
        return Err(Error::Tls(
            "ws_hyper::tokio connects ws:// only; set up TLS and use connect_http1".into(),
        )
        .into());
    }
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(Error::Io)?;
    tcp.set_nodelay(true).map_err(Error::Io)?;
    Ok(tcp)
}
