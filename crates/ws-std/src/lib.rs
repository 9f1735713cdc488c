//! # ws-std: blocking WebSockets (RFC 6455) over `std::net`
//!
//! This crate runs the sans-IO [`ws_core::Connection`] over a blocking stream: a [`std::net::TcpStream`],
//! rustls over TCP for `wss://`, or any other `Read + Write` stream ([`DeadlineStream`]). No protocol rule
//! lives here: framing, masking, UTF-8, close codes, handshake checks and timers are all the core's. The
//! adapter moves bytes, maps the core's deadlines to socket timeouts, and maps types; errors, the client
//! builder and the TLS helpers come from `ws-adapter` and are the ones the async adapters use (without
//! any async crate), so every adapter has the same shape:
//!
//! - client: [`connect`] / [`connect_with`] (DNS, TCP with a connect timeout, a proxy, rustls, the
//!   upgrade, redirects), or [`client_handshake`] over a stream you connected yourself;
//! - server: [`accept`], [`accept_with`] (a callback accepts or rejects the request before the 101),
//!   [`accept_tls`], and [`serve`] (a thread per connection);
//! - [`WebSocket`]: [`send`](WebSocket::send), [`recv`](WebSocket::recv) (also an `Iterator`),
//!   [`close`](WebSocket::close), [`feed`](WebSocket::feed) + [`flush`](WebSocket::flush), and
//!   [`split`](WebSocket::split) into a [`Reader`] and a [`Writer`] for two threads.
//!
//! ## Proxies and redirects
//!
//! [`connect_with`] asks the builder's [`Proxy`] for each URL (the default reads `HTTPS_PROXY`,
//! `NO_PROXY` and the rest from the environment, as curl does) and tunnels through an HTTP proxy
//! (`CONNECT`, over TLS for `https://`) or a SOCKS5/SOCKS4 gateway; the handshakes are `ws_core::proxy`'s,
//! this crate moves their bytes. The stream is then a [`MaybeTlsStream::Tunnel`] ([`Tunnel`]), with TLS
//! to a `wss://` server inside it. Redirects of the upgrade (301, 302, 303, 307, 308) are followed up to
//! [`ClientBuilder::max_redirects`], choosing the proxy again for each hop.
//!
//! ```no_run
//! use ws_std::{ClientBuilder, Proxy};
//! let builder = ClientBuilder::new("wss://echo.example/chat")?
//!     .proxy(Proxy::url("socks5h://127.0.0.1:1080")?)
//!     .max_redirects(3);
//! let (mut ws, _opened) = ws_std::connect_with(&builder)?;
//! ws.send("hello through the tunnel")?;
//! # Ok::<(), ws_std::Error>(())
//! ```
//!
//! ## The run loop, blocking
//!
//! `recv` drains the core's events; when none is waiting it writes the queued output (pongs, close echoes,
//! messages queued with [`feed`](WebSocket::feed): many small replies cost one write), sets the read
//! timeout to the time left until the core's next deadline, and reads. [`send`](WebSocket::send) writes at
//! once. A read that times out hands the time
//! to the core, which sends keepalive pings and fails the connection when a pong or close reply does not
//! come in time. Sends block while the queued output is above the high-water mark ([`Limits`]).
//!
//! ## Example: an echo server and a client over loopback
//!
//! ```
//! use std::net::TcpListener;
//! use ws_std::{CloseCode, Config, Message};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let port = listener.local_addr()?.port();
//! std::thread::spawn(move || {
//!     ws_std::serve(listener, Config::default(), |mut ws| {
//!         while let Some(Ok(message)) = ws.recv() {
//!             let _ = ws.send(message);
//!         }
//!     })
//! });
//!
//! let (mut ws, _opened) = ws_std::connect(&format!("ws://127.0.0.1:{port}/echo"))?;
//! ws.send("hello")?;
//! assert_eq!(ws.recv().unwrap()?, Message::from("hello"));
//! ws.send(vec![1u8, 2, 3])?;
//! assert_eq!(ws.recv().unwrap()?.as_bytes(), [1, 2, 3]);
//! ws.close(CloseCode::NORMAL, "done")?;
//! assert!(ws.recv().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Threads
//!
//! A [`WebSocket`] is used from one thread at a time. For a reader thread and a writer thread, split it.
//! The split is the core's ([`ws_core::Connection::split_sender`]): the [`Reader`] owns the connection and
//! its own handle of the stream, and reads and parses with no lock. The [`Writer`]'s `Sender` sits with the
//! writing handle behind one write mutex, which the reader takes only for its own pongs and close replies
//! (and keepalive pings). TLS connections cannot be split (see [`SplitStream`]); use one thread, or a
//! channel into it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod engine;
mod handshake;
mod proxy;
mod split;
mod stream;
mod tunnel;
mod websocket;

pub use handshake::{
    accept, accept_tls, accept_with, client_handshake, connect, connect_with, serve,
};
pub use split::{Reader, Writer};
pub use stream::{
    DeadlineStream, MaybeTlsStream, NoDeadline, SplitStream, TlsClientStream, TlsServerStream,
};
pub use tunnel::{Rewind, Tunnel};
pub use websocket::WebSocket;

pub use ws_adapter::{
    ClientBuilder, Error, Proxy, Result, broadcast_config, default_config, random_seed, tls,
};
pub use ws_core::http::RedirectError;
pub use ws_core::proxy::{ProxyError, ProxyKind, ProxyUrl};
pub use ws_core::{
    Accept, CloseCode, CloseFrame, Config, DataKind, Headers, Limits, Message, Opened, Outgoing,
    PreparedMessage, Request, Response, SendError, SendOptions, State, Timeouts, Utf8Bytes, WsUrl,
};

/// The rustls version this crate uses (for `ServerConfig`, `ClientConfig` and certificates).
pub use rustls;
