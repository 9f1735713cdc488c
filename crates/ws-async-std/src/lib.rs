//! # ws-async-std: WebSockets on async-std
//!
//! A thin shim (async-std is discontinued upstream): async-std sockets, async-io timers (async-std's own
//! reactor), rustls for `wss://`, over [`ws_async`] and the sans-IO `ws-core`. The API has the same shape as
//! `ws-tokio`, `ws-smol` and (blocking) `ws-std`.
//!
//! ```no_run
//! # fn main() -> ws_async_std::Result<()> {
//! async_std::task::block_on(async {
//!     let (mut ws, _opened) = ws_async_std::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send("hello").await?;
//!     ws.close(ws_async_std::CloseCode::NORMAL, "bye").await
//! })
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_std::net::{TcpStream, ToSocketAddrs};

pub use ws_async::AsyncIoTimer;
pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Request, Response, Result, SendOptions, Shutdown, State, Timeouts, Utf8Bytes, default_config,
    tls,
};

/// The transport of every connection this crate makes: TCP, or TCP inside TLS.
pub type Stream = ws_async::MaybeTlsStream<Tcp>;

/// async-std's `TcpStream` whose `poll_close` shuts the write side down (async-std's own only flushes,
/// so a peer would never see our FIN and would wait out its close timeout).
#[derive(Debug)]
pub struct Tcp(pub TcpStream);

impl futures_io::AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for Tcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.shutdown(std::net::Shutdown::Write))
    }
}

/// A WebSocket connection on async-std.
pub type WebSocket<S = Stream> = ws_async::WebSocket<S, AsyncIoTimer>;
/// The receiving half of [`WebSocket::split`].
pub type Reader<S = Stream> = ws_async::Reader<S, AsyncIoTimer>;
/// The sending half of [`WebSocket::split`].
pub type Writer<S = Stream> = ws_async::Writer<S, AsyncIoTimer>;

/// Connects to a `ws://` or `wss://` URL with default settings.
pub async fn connect(url: &str) -> Result<(WebSocket, Opened)> {
    connect_with(&ClientBuilder::new(url)?).await
}

/// Connects with a [`ClientBuilder`] (subprotocols, Origin, headers, limits, timeouts, TLS).
pub async fn connect_with(builder: &ClientBuilder) -> Result<(WebSocket, Opened)> {
    let resolve = |host: String, port: u16| async move {
        Ok((host.as_str(), port).to_socket_addrs().await?.collect())
    };
    let connect = |addr: SocketAddr| async move {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok(Tcp(tcp))
    };
    ws_async::connect_with(builder, AsyncIoTimer, resolve, connect).await
}

/// Accepts a WebSocket on an accepted TCP stream, with no subprotocol.
pub async fn accept(stream: TcpStream, config: Config) -> Result<WebSocket> {
    accept_with(stream, config, |_| async { Ok(Accept::new()) }).await
}

/// Accepts a WebSocket, letting `decide` look at the request and accept or reject it before any 101.
pub async fn accept_with<F, Fut>(stream: TcpStream, config: Config, decide: F) -> Result<WebSocket>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = std::result::Result<Accept, Response>>,
{
    stream.set_nodelay(true)?;
    ws_async::accept_with(
        ws_async::MaybeTlsStream::Plain(Tcp(stream)),
        config,
        AsyncIoTimer,
        decide,
    )
    .await
}

/// Accepts a `wss://` WebSocket: the TLS handshake with `tls`, then as [`accept_with`].
pub async fn accept_tls<F, Fut>(
    stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    config: Config,
    decide: F,
) -> Result<WebSocket>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = std::result::Result<Accept, Response>>,
{
    stream.set_nodelay(true)?;
    ws_async::accept_tls(Tcp(stream), tls, config, AsyncIoTimer, decide).await
}

/// Accepts connections on `listener` forever, running `handler` in its own task for each WebSocket.
/// Handshake failures are answered by the core (400/426/431) and skipped.
pub async fn serve<H, Fut>(
    listener: async_std::net::TcpListener,
    config: Config,
    handler: H,
) -> std::io::Result<()>
where
    H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_until(
        listener,
        config,
        Shutdown::new(),
        std::time::Duration::ZERO,
        handler,
    )
    .await
}

/// Like [`serve`], until `shutdown` is triggered: then stops accepting, closes every connection with 1001
/// ("going away") and waits up to `grace` for them to end.
pub async fn serve_until<H, Fut>(
    listener: async_std::net::TcpListener,
    config: Config,
    shutdown: Shutdown,
    grace: std::time::Duration,
    handler: H,
) -> std::io::Result<()>
where
    H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let accept_all = |_| async { Ok(Accept::new()) };
    serve_until_with(listener, config, shutdown, grace, accept_all, handler).await
}

/// Like [`serve_until`], with `decide` accepting (subprotocol, headers) or rejecting (status, body) each
/// upgrade request before any 101, for example to check the Origin or require a subprotocol.
pub async fn serve_until_with<D, DFut, H, Fut>(
    listener: async_std::net::TcpListener,
    config: Config,
    shutdown: Shutdown,
    grace: std::time::Duration,
    decide: D,
    handler: H,
) -> std::io::Result<()>
where
    D: Fn(Request) -> DFut + Clone + Send + Sync + 'static,
    DFut: Future<Output = std::result::Result<Accept, Response>> + Send + 'static,
    H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = &listener;
    let accept_tcp = move || async move {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(ws_async::MaybeTlsStream::Plain(Tcp(stream)))
    };
    let spawn = |fut| {
        async_std::task::spawn(fut);
    };
    ws_async::serve_until(
        accept_tcp,
        spawn,
        config,
        AsyncIoTimer,
        shutdown,
        grace,
        decide,
        handler,
    )
    .await
}
