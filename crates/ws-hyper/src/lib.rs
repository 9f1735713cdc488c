//! # ws-hyper: WebSockets on hyper 1.x, over HTTP/1.1 and HTTP/2 (RFC 8441)
//!
//! hyper reads and writes the HTTP; `ws-core` validates the upgrade and negotiates (subprotocol,
//! permessage-deflate) on the `http` types, and runs the connection over the stream hyper hands over;
//! `ws-async`'s run loop moves the bytes. The [`WebSocket`] is the one every async adapter of this
//! workspace hands out: `send`/`recv`/`close`, `Stream` + `Sink`, `split`.
//!
//! - **Server**: [`is_upgrade_request`], [`Upgrader::upgrade`] (or [`upgrade`] with the `tokio`
//!   feature) answers an HTTP/1.1 upgrade with 101 and an HTTP/2 extended CONNECT with 200, and gives
//!   a future of the WebSocket. For HTTP/2, build hyper's server with
//!   `http2().enable_connect_protocol()`. Bad requests get 400, 426 or 501 ([`Rejection::response`]).
//! - **Client**: [`connect_http1`] over hyper's HTTP/1.1 client connection; [`Http2Client`] opens
//!   many WebSockets on one HTTP/2 connection once the server enabled extended CONNECT, and
//!   [`connect_http2_or_http1`] falls back to HTTP/1.1 when it did not.
//!
//! No runtime is chosen here: the I/O is hyper's ([`hyper::rt::Read`] / [`hyper::rt::Write`], seen
//! through [`HyperIo`]) and the timer too ([`hyper::rt::Timer`], through [`HyperTimer`]). The `tokio`
//! feature (on by default; `default-features = false` leaves no runtime dependency of this crate's
//! own) adds [`HyperTimer::tokio`], [`upgrade`], and [`tokio::connect`] / [`tokio::connect_http2`]
//! over TCP, with rustls and ALPN for `wss://`.
//!
//! A hyper server (HTTP/1.1 and HTTP/2 on one port) echoing WebSocket messages:
//!
//! ```no_run
//! use bytes::Bytes;
//! use http_body_util::Empty;
//! use hyper::{Request, Response, body::Incoming, service::service_fn};
//! use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
//! use ws_hyper::{HyperTimer, Upgrader};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let upgrader = Upgrader::new(HyperTimer::new(TokioTimer::new())).protocols(["echo"]);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     let upgrader = upgrader.clone();
//!     let service = service_fn(move |mut request: Request<Incoming>| {
//!         let upgrader = upgrader.clone();
//!         async move {
//!             if !ws_hyper::is_upgrade_request(&request) {
//!                 return Ok::<_, hyper::Error>(Response::new(Empty::<Bytes>::new()));
//!             }
//!             let (response, websocket) = match upgrader.upgrade(&mut request) {
//!                 Ok(accepted) => accepted,
//!                 Err(rejection) => return Ok(rejection.response()),
//!             };
//!             tokio::spawn(async move {
//!                 let Ok(mut ws) = websocket.await else { return };
//!                 while let Some(Ok(message)) = ws.recv().await {
//!                     if ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!             Ok(response)
//!         }
//!     });
//!     tokio::spawn(async move {
//!         let mut server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
//!         server.http2().enable_connect_protocol();
//!         let _ = server.serve_connection_with_upgrades(TokioIo::new(tcp), service).await;
//!     });
//! }
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod io;
#[cfg(feature = "tokio")]
mod rewind;
mod server;
mod timer;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use client::{ClientError, Http2Client, SETTINGS_WAIT, connect_http1, connect_http2_or_http1};
pub use io::HyperIo;
pub use server::{IncomingUpgrade, Rejection, UpgradeFuture, Upgrader, is_upgrade_request};
pub use timer::HyperTimer;
pub use ws_core::deflate::DeflateConfig;

pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Outgoing, PreparedMessage, Result, SendOptions, State, Timeouts, Utf8Bytes, broadcast_config,
    default_config,
};
pub use ws_core::HandshakeError;

/// The stream a WebSocket runs over: hyper's upgraded connection (an HTTP/1.1 connection after the
/// 101, or an HTTP/2 extended CONNECT stream).
pub type Io = HyperIo<hyper::upgrade::Upgraded>;

/// A WebSocket on hyper: ws-async's, over [`Io`] with [`HyperTimer`]. The same API as every async
/// adapter of the workspace.
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use ws_hyper::{CloseCode, Message, WebSocket};
///
/// async fn chat(mut ws: WebSocket) -> ws_hyper::Result<()> {
///     ws.send("hello").await?;
///     if let Some(reply) = ws.next().await {
///         // `Stream` + `Sink` as well as `recv`/`send`
///         ws.feed(reply?).await?;
///         SinkExt::<Message>::flush(&mut ws).await?;
///     }
///     let (mut reader, mut writer) = ws.split(); // two tasks, one connection
///     writer.send("from the writer").await?;
///     let _ = reader.recv().await;
///     writer.close(CloseCode::NORMAL, "bye").await
/// }
/// ```
pub type WebSocket = ws_async::WebSocket<Io, HyperTimer>;
/// The receiving half of [`WebSocket::split`].
pub type Reader = ws_async::Reader<Io, HyperTimer>;
/// The sending half of [`WebSocket::split`].
pub type Writer = ws_async::Writer<Io, HyperTimer>;

/// Accepts a WebSocket upgrade with default settings (permessage-deflate on, no subprotocol) on tokio's
/// timer: [`Upgrader::upgrade`] of `Upgrader::new(HyperTimer::tokio())`.
///
/// ```no_run
/// # async fn handle(mut request: hyper::Request<hyper::body::Incoming>) -> hyper::Response<http_body_util::Empty<bytes::Bytes>> {
/// match ws_hyper::upgrade(&mut request) {
///     Ok((response, websocket)) => {
///         tokio::spawn(async move {
///             if let Ok(mut ws) = websocket.await {
///                 let _ = ws.send("hello").await;
///             }
///         });
///         response
///     }
///     Err(rejection) => rejection.response(),
/// }
/// # }
/// ```
#[cfg(feature = "tokio")]
pub fn upgrade<B, RB: Default>(
    request: &mut http::Request<B>,
) -> std::result::Result<(http::Response<RB>, UpgradeFuture), Rejection> {
    Upgrader::new(HyperTimer::tokio()).upgrade(request)
}
