//! # ws-async: the one async run loop for `ws-core`
//!
//! This crate binds the sans-IO [`ws_core::Connection`] to any transport implementing the `futures-io`
//! traits and any runtime that can sleep until an instant ([`Timer`]). The runtime crates (`ws-tokio`,
//! `ws-smol`, `ws-async-std`) are thin glue over it: they connect sockets, wrap TLS and provide the timer.
//! No protocol rule lives here: framing, masking, UTF-8, close codes, handshake checks and timers are all
//! the core's.
//!
//! The shape every adapter shares: `connect(url)` / `connect_with(ClientBuilder)` return a [`WebSocket`];
//! `accept(stream)` / `accept_with(stream, callback)` on the server; [`WebSocket::send`],
//! [`WebSocket::recv`], [`WebSocket::close`], `futures` `Stream` + `Sink`, and [`WebSocket::split`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The workspace warns on public types without `Debug`; the socket, halves and timer types here wrap generic
// transports and are being reworked (the API rewrite), so they get their impls with it rather than now.
#![allow(missing_debug_implementations)]

#[cfg(feature = "async-io")]
mod async_io_timer;
mod client;
mod connect;
mod early;
mod engine;
mod error;
mod glue;
mod handshake;
mod runs;
mod shutdown;
mod split;
mod split_io;
mod stream;
mod timer;
#[cfg(feature = "rustls")]
pub mod tls;
mod websocket;

#[cfg(feature = "async-io")]
pub use async_io_timer::{AsyncIoTimer, SleepUntil};
pub use client::{ClientBuilder, random_seed};
#[cfg(feature = "rustls")]
pub use connect::accept_tls;
pub use connect::connect_with;
pub use early::EarlyReplies;
pub use error::{Error, Result};
pub use handshake::{accept, accept_with, client_handshake};
pub use runs::{QueuedOutput, write_runs};
pub use shutdown::{Shutdown, serve_until};
pub use split::{Reader, Writer};
pub use split_io::{MaybeTlsRead, MaybeTlsWrite, SplitIo};
pub use stream::MaybeTlsStream;
pub use timer::{Clock, Timer};
pub use websocket::WebSocket;

pub use ws_core::{
    Accept, CloseCode, CloseFrame, Config, DataKind, Headers, Limits, Message, Opened, Request,
    Response, SendError, SendOptions, State, Timeouts, Utf8Bytes,
};

/// The adapters' default configuration: the core's safe defaults plus permessage-deflate (with the
/// `deflate` feature, on by default).
pub fn default_config() -> Config {
    let config = Config::default();
    #[cfg(feature = "deflate")]
    let config = config.with_deflate();
    config
}
