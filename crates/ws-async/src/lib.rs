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

mod client;
mod engine;
mod error;
mod handshake;
mod split;
mod timer;
#[cfg(feature = "rustls")]
pub mod tls;
mod websocket;

pub use client::{ClientBuilder, random_seed};
pub use error::{Error, Result};
pub use handshake::{accept, accept_with, client_handshake};
pub use split::{Reader, Writer};
pub use timer::{Clock, Timer};
pub use websocket::WebSocket;

pub use ws_core::{
    Accept, CloseCode, CloseFrame, Config, DataKind, Headers, Limits, Message, Opened, Request, Response,
    SendOptions, State, Timeouts, Utf8Bytes,
};
