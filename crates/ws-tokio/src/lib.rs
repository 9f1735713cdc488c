//! # ws-tokio: WebSockets on tokio
//!
//! Thin glue binding [`ws_async`] (and through it the sans-IO `ws-core`) to tokio: tokio sockets (seen as
//! futures-io streams through [`TokioIo`], which keeps vectored writes), tokio timers for the core's deadlines, rustls for `wss://`.
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

mod io;

use std::time::Instant;

pub use io::TokioIo;

pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Outgoing, PreparedMessage, Proxy, Request, Response, Result, SendOptions, Shutdown, State,
    Timeouts, Utf8Bytes, broadcast_config, default_config, tls,
};

ws_async::runtime_glue! {
    runtime: "tokio" => TokioRuntime,
    tcp: tokio::net::TcpStream,
    listener: tokio::net::TcpListener,
    transport: TokioIo<tokio::net::TcpStream>,
    timer: TokioTimer => TokioTimer,
    wrap: |stream| TokioIo::new(stream),
    resolve: |host, port| Ok(tokio::net::lookup_host((host, port)).await?.collect()),
    connect: |addr| tokio::net::TcpStream::connect(addr).await?,
    spawn: |fut| tokio::spawn(fut),
}

/// tokio's timer, for the core's deadlines.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl ws_async::Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline.into())
    }
}
