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
//!
//! What the blocking adapter (`ws-std`) shares with this one ([`Error`], [`ClientBuilder`], [`Clock`],
//! [`EarlyReplies`], the rustls configuration in `tls`) lives in `ws-adapter`, which
//! depends on no async crate, and is re-exported here.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The workspace warns on public types without `Debug`; the socket, halves and timer types here wrap generic
// transports and are being reworked (the API rewrite), so they get their impls with it rather than now.
#![allow(missing_debug_implementations)]

#[cfg(feature = "async-io")]
mod async_io_timer;
mod connect;
mod engine;
mod glue;
mod handshake;
mod proxy;
mod runtime;
mod serve;
mod session;
mod shutdown;
mod split;
mod split_io;
mod stream;
mod timer;
#[cfg(feature = "rustls")]
pub mod tls;
mod tunnel;
mod websocket;

#[cfg(feature = "async-io")]
pub use async_io_timer::{AsyncIoTimer, SleepUntil};
#[cfg(feature = "rustls")]
pub use connect::accept_tls;
pub use connect::connect_with;
pub use handshake::{accept, accept_with, client_handshake, open};
pub use proxy::open_tunnel;
pub use runtime::Runtime;
pub use serve::{Decide, Handler, serve_until};
pub use shutdown::Shutdown;
pub use split::{Reader, Writer};
pub use split_io::{MaybeTlsRead, MaybeTlsWrite, SplitIo};
pub use stream::MaybeTlsStream;
pub use timer::Timer;
pub use tunnel::{Rewind, Tunnel};
pub use websocket::WebSocket;

// Shared with the blocking adapter (`ws-std`): written once in `ws-adapter`.
pub use ws_adapter::{
    ClientBuilder, Clock, EarlyReplies, Error, Proxy, Result, broadcast_config, default_config,
    random_seed,
};

pub use ws_core::{
    Accept, CloseCode, CloseFrame, Config, DataKind, Headers, Limits, Message, Negotiated, Opened,
    Outgoing, PreparedMessage, Request, Response, Role, SendError, SendOptions, State, Timeouts,
    Utf8Bytes,
};
