//! # ws-smol: WebSockets on smol
//!
//! Thin glue binding [`ws_async`] (and through it the sans-IO `ws-core`) to smol: `async-net` sockets,
//! `async-io` timers for the core's deadlines, rustls for `wss://`. The API has the same shape as
//! `ws-tokio`, `ws-async-std` and (blocking) `ws-std`.
//!
//! ```no_run
//! # fn main() -> ws_smol::Result<()> {
//! smol::block_on(async {
//!     let (mut ws, _opened) = ws_smol::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send("hello").await?;
//!     if let Some(reply) = ws.recv().await {
//!         println!("{:?}", reply?);
//!     }
//!     ws.close(ws_smol::CloseCode::NORMAL, "bye").await
//! })
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use async_net::TcpStream;

pub use ws_async::AsyncIoTimer;
pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Request, Response, Result, SendOptions, Shutdown, State, Timeouts, Utf8Bytes, default_config,
    tls,
};

/// The transport of every connection this crate makes: TCP, or TCP inside TLS.
pub type Stream = ws_async::MaybeTlsStream<TcpStream>;

/// A WebSocket connection on smol.
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
    let resolve =
        |host: String, port: u16| async move { async_net::resolve((host.as_str(), port)).await };
    let connect = |addr: SocketAddr| async move {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
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
        ws_async::MaybeTlsStream::Plain(stream),
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
    ws_async::accept_tls(stream, tls, config, AsyncIoTimer, decide).await
}

/// Accepts connections on `listener` forever, running `handler` in its own task for each WebSocket.
/// Handshake failures are answered by the core (400/426/431) and skipped.
pub async fn serve<H, Fut>(
    listener: async_net::TcpListener,
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
    listener: async_net::TcpListener,
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
    listener: async_net::TcpListener,
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
        Ok(ws_async::MaybeTlsStream::Plain(stream))
    };
    let spawn = |fut| {
        smol::spawn(fut).detach();
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
