//! # ws-tokio: WebSockets on tokio
//!
//! Thin glue binding [`ws_async`] (and through it the sans-IO `ws-core`) to tokio: tokio sockets (through
//! `tokio-util`'s futures-io compatibility layer), tokio timers for the core's deadlines, rustls for `wss://`.
//! The API has the same shape as `ws-smol`, `ws-async-std` and (blocking) `ws-std`.
//!
//! ```no_run
//! # async fn demo() -> ws_tokio::Result<()> {
//! let (mut ws, _opened) = ws_tokio::connect("ws://127.0.0.1:9001/").await?;
//! ws.send("hello").await?;
//! if let Some(reply) = ws.recv().await {
//!     println!("{:?}", reply?);
//! }
//! ws.close(ws_tokio::CloseCode::NORMAL, "bye").await?;
//! # Ok(())
//! # }
//! ```
//!
//! A server:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! ws_tokio::serve(listener, ws_tokio::default_config(), |mut ws| async move {
//!     while let Some(Ok(message)) = ws.recv().await {
//!         if ws.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! })
//! .await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Request, Response, Result, SendOptions, Shutdown, State, Timeouts, Utf8Bytes, default_config,
    tls,
};

/// The transport of every connection this crate makes: TCP, or TCP inside TLS.
pub type Stream = ws_async::MaybeTlsStream<Compat<TcpStream>>;

/// A WebSocket connection on tokio.
pub type WebSocket<S = Stream> = ws_async::WebSocket<S, TokioTimer>;
/// The receiving half of [`WebSocket::split`].
pub type Reader<S = Stream> = ws_async::Reader<S, TokioTimer>;
/// The sending half of [`WebSocket::split`].
pub type Writer<S = Stream> = ws_async::Writer<S, TokioTimer>;

/// tokio's timer, for the core's deadlines.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl ws_async::Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline.into())
    }
}

/// Connects to a `ws://` or `wss://` URL with default settings.
pub async fn connect(url: &str) -> Result<(WebSocket, Opened)> {
    connect_with(&ClientBuilder::new(url)?).await
}

/// Connects with a [`ClientBuilder`] (subprotocols, Origin, headers, limits, timeouts, TLS).
pub async fn connect_with(builder: &ClientBuilder) -> Result<(WebSocket, Opened)> {
    let resolve = |host: String, port: u16| async move {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    };
    let connect = |addr: SocketAddr| async move {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok(tcp.compat())
    };
    ws_async::connect_with(builder, TokioTimer, resolve, connect).await
}

/// Accepts a WebSocket on an accepted TCP stream, with no subprotocol.
pub async fn accept(stream: TcpStream, config: Config) -> Result<WebSocket> {
    accept_with(stream, config, |_| async { Ok(Accept::new()) }).await
}

/// Accepts a WebSocket, letting `decide` look at the request (path, Origin, subprotocols, cookies) and
/// accept or reject it before any 101 is written.
pub async fn accept_with<F, Fut>(stream: TcpStream, config: Config, decide: F) -> Result<WebSocket>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = std::result::Result<Accept, Response>>,
{
    stream.set_nodelay(true)?;
    let stream = ws_async::MaybeTlsStream::Plain(stream.compat());
    ws_async::accept_with(stream, config, TokioTimer, decide).await
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
    ws_async::accept_tls(stream.compat(), tls, config, TokioTimer, decide).await
}

/// Accepts connections on `listener` forever, running `handler` in its own task for each WebSocket.
/// Handshake failures are answered by the core (400/426/431) and skipped.
pub async fn serve<H, Fut>(
    listener: tokio::net::TcpListener,
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
    listener: tokio::net::TcpListener,
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
    listener: tokio::net::TcpListener,
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
        Ok(ws_async::MaybeTlsStream::Plain(stream.compat()))
    };
    let spawn = |fut| {
        tokio::spawn(fut);
    };
    ws_async::serve_until(
        accept_tcp, spawn, config, TokioTimer, shutdown, grace, decide, handler,
    )
    .await
}
