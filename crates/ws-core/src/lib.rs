//! # ws-core: a sans-IO WebSocket (RFC 6455) engine
//!
//! Bytes in, events out; commands in, bytes out. No sockets, no clock, no random source of its own, no async
//! runtime: [`Connection`] is a pure state machine for one connection, client or server, covering the
//! opening handshake, framing, fragmentation, ping/pong, the close handshake and the timers. Runtime adapters
//! (`ws-tokio`, `ws-smol`, `ws-async-std`, `ws-std`) move its bytes over a socket; any other runtime, or an
//! embedded target with `alloc`, can do the same.
//!
//! ## The run loop
//!
//! 1. Create the connection: [`Connection::client`] (queues the upgrade request) or [`Connection::server`];
//!    or, when another HTTP stack (hyper, axum, h2, ...) did the opening handshake, [`Connection::open`]
//!    with what it [`Negotiated`] (the `http` feature computes that on the `http` crate's types).
//! 2. Loop until [`Connection::is_finished`]:
//!    - write [`Connection::output`] (a [`bytes::Buf`]) to the transport, advancing it by what was
//!      written; when [`Connection::poll_shutdown`] says so, shut the write side;
//!    - drain [`Connection::poll_event`]: on a server, answer [`Event::Request`] with
//!      [`Connection::accept`] or [`Connection::reject`]; hand messages to the application;
//!    - when [`Connection::read_interest`] is [`ReadInterest::Read`], read from the transport and pass
//!      the bytes to [`Connection::receive`] (or [`Connection::receive_eof`] at end of stream or when the
//!      transport fails);
//!    - sleep no later than [`Connection::next_deadline`], then call [`Connection::handle_time`].
//! 3. Send with [`Connection::send`], [`Connection::send_fragment`], [`Connection::ping`],
//!    [`Connection::close`] at any time; each queues bytes in the output. A message for many connections
//!    is a [`PreparedMessage`]: framed once, and compressed once where the connections' parameters allow.
//!
//! Every input, and every command that can start a timer, takes the time: the core has no clock and no
//! "last time you told me" rule. Pings are answered and close frames echoed by the core itself. A peer
//! fault never returns an error to the caller: the core queues the close frame (1002, 1007, 1009) or
//! HTTP error (400, 426, 431), emits [`Event::Failed`] once, lingers reading and discarding input for a
//! bounded time so the peer reads the close frame, and then reports [`Connection::is_finished`];
//! [`Connection::outcome`] keeps how it ended. `docs/embedding.md` in the repository walks through
//! blocking, readiness-based and completion-based loops.
//!
//! ## Example: a client and a server wired together in memory
//!
//! ```
//! use bytes::Buf;
//! use ws_core::{Accept, ClientRequest, Config, Connection, Event, Instant, Message, Outcome};
//!
//! let now = Instant::ZERO;
//! let request = ClientRequest::new("example.com", "/chat").subprotocol("chat");
//! let mut client = Connection::client(&request, Config::default(), [7; 32], now);
//! let mut server = Connection::server(Config::default(), now);
//!
//! // Move every queued byte from `from` to `to`, run by run.
//! fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
//!     let mut out = from.output();
//!     while out.has_remaining() {
//!         let n = out.chunk().len();
//!         to.receive(out.chunk(), now);
//!         out.advance(n);
//!     }
//! }
//!
//! pump(&mut client, &mut server, now);
//! let Some(Event::Request(req)) = server.poll_event() else { panic!("expected the upgrade request") };
//! assert_eq!(req.path(), "/chat");
//! server.accept(Accept::new().subprotocol("chat"), now).unwrap();
//! assert!(matches!(server.poll_event(), Some(Event::Open(_))));
//!
//! pump(&mut server, &mut client, now);
//! let Some(Event::Open(opened)) = client.poll_event() else { panic!("expected open") };
//! assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
//!
//! client.send(&Message::from("Hello")).unwrap();
//! pump(&mut client, &mut server, now);
//! assert_eq!(server.poll_event(), Some(Event::Message(Message::from("Hello"))));
//!
//! client.close(ws_core::CloseCode::NORMAL, "bye", now).unwrap();
//! pump(&mut client, &mut server, now); // the server echoes the close and will shut TCP first
//! assert!(matches!(server.poll_event(), Some(Event::Closed(Some(_)))));
//! pump(&mut server, &mut client, now);
//! assert!(matches!(client.poll_event(), Some(Event::Closed(Some(_)))));
//! assert!(server.poll_shutdown());
//! client.receive_eof(now); // the server closed TCP...
//! assert!(client.poll_shutdown()); // ...so the client closes its side too
//! assert!(client.is_finished());
//! assert!(matches!(client.outcome(), Some(Outcome::Closed(Some(_)))));
//! ```
//!
//! ## Sending and receiving from two threads
//!
//! [`Connection::split_sender`] splits off a [`Sender`] for the data messages, so one thread or task can
//! send while another receives, with no lock between them (they share one atomic word: who sent the close
//! frame, and whether the connection ended). The connection keeps receiving, answering pings and close
//! frames and running the timers; [`Connection::hand_output_to`] moves its frames into the sender's
//! queue, which is what goes to the transport: hold whatever keeps the two from writing at once (the
//! transport's write half) while handing over and writing, and shut the write side when
//! [`Sender::poll_shutdown`] says so. [`Connection::reunite`] joins them again.
//!
//! ## Features
//! - `std` (default): `std::error::Error` impls. Without it the crate is `no_std` + `alloc`.
//! - `deflate`: permessage-deflate (RFC 7692), `deflate::PerMessageDeflate`; implies `std`.
//! - `http`: the opening handshake on the `http` crate's (1.x) types, for an HTTP stack that reads and
//!   writes the handshake itself: `http::ServerHandshake` validates an HTTP/1.1 upgrade or an HTTP/2
//!   extended CONNECT (RFC 8441) from `http::request::Parts` and builds the `http::Response`,
//!   `http::ClientHandshake` builds the `http::Request` (HTTP/1.1 or HTTP/2) and verifies the response,
//!   `http::UpgradeError` carries the status to refuse with. Both sides return the [`Negotiated`] that
//!   [`Connection::open`] starts from, and follow the built-in handshake's rules and negotiation;
//!   implies `std`.
//! - `internals`: unstable internals for the project's fuzz targets and benches; not covered by semver.
//!   It makes the frame codec (`frame`), masking (`mask`), the handshake keys (`http::key`), the
//!   incremental UTF-8 validator (`utf8::Utf8Validator`) and the permessage-deflate codec and
//!   negotiation (`deflate::Compressor`, `deflate::server_negotiate`, ...) public. Applications should
//!   not enable it.

#![no_std]
// No unsafe code outside `mask`, where it is allowed item by item: the unmasking copy writes into
// uninitialised capacity, and the masking loops call their AVX2 and AVX-512 builds after a run-time
// check; measured, argued and fuzzed there.
#![deny(unsafe_code)]
// The `internals` modules are public only with that feature; without it their `pub` items are unreachable.
#![cfg_attr(not(feature = "internals"), allow(unreachable_pub))]
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
pub mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod error;
pub mod extension;
#[cfg(feature = "internals")]
pub mod frame;
#[cfg(not(feature = "internals"))]
pub(crate) mod frame;
pub mod http;
#[cfg(feature = "internals")]
pub mod mask;
#[cfg(not(feature = "internals"))]
pub(crate) mod mask;
pub mod message;
pub mod prepared;
pub mod proxy;
pub mod time;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Limits, Timeouts};
pub use connection::{
    Connection, DataKind, MessageRef, Negotiated, Outcome, Output, ReadInterest, Role, SendOptions,
    Sender, State,
};
pub use error::{Error, HandshakeError, Limit, ProtocolError, SendError, Timeout};
pub use http::client::ClientRequest;
pub use http::server::{Accept, Request};
pub use http::{Headers, Response, WsUrl};
pub use message::{Event, Message, Opened, Outgoing};
pub use prepared::PreparedMessage;
pub use time::Instant;
pub use utf8::Utf8Bytes;

/// `docs/embedding.md` (driving the engine from blocking, readiness-based and completion-based loops),
/// included only for `cargo test --doc` so that every code block in the guide is compiled and run.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/embedding.md")]
pub struct EmbeddingGuide;
