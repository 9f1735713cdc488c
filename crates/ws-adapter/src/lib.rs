//! # ws-adapter: what every `ws-core` adapter shares
//!
//! The sans-IO [`ws_core::Connection`] is run by several adapters: the async run loop (`ws-async`, and
//! through it `ws-tokio`, `ws-smol` and `ws-async-std`) and the blocking one (`ws-std`). This crate holds
//! the pieces they all use, written once so every adapter has the same shape and the same errors:
//!
//! - [`Error`] and [`Result`]: transport and setup failures next to the core's verdicts;
//! - [`ClientBuilder`]: the URL, request headers, core configuration, connect timeout and TLS settings a
//!   client connects with, and [`random_seed`] for its masks and key;
//! - [`Proxy`]: which proxy a client goes through (the environment by default);
//! - [`default_config`]: the adapters' default core configuration;
//! - [`Clock`]: the process clock as the core's [`ws_core::Instant`];
//! - [`EarlyReplies`]: which replies to a read are written at once rather than coalesced;
//! - [`tls`] (feature `rustls`): rustls client and server configurations (webpki roots, PEM loading).
//!
//! It depends on no async crate (no `futures-*`, tokio, async-io, smol or async-std), so the blocking
//! adapter can use it without pulling a runtime in; the async crates re-export these items.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod clock;
mod early;
mod error;
mod proxy;
#[cfg(feature = "rustls")]
pub mod tls;

pub use client::{ClientBuilder, random_seed};
pub use clock::Clock;
pub use early::EarlyReplies;
pub use error::{Error, Result};
pub use proxy::Proxy;

use ws_core::Config;

/// The adapters' default configuration: the core's safe defaults plus permessage-deflate (with the
/// `deflate` feature, on by default).
pub fn default_config() -> Config {
    let config = Config::default();
    #[cfg(feature = "deflate")]
    let config = config.with_deflate();
    config
}

/// The configuration for a server that broadcasts [`ws_core::PreparedMessage`]s: [`default_config`],
/// with permessage-deflate (with the `deflate` feature) set to no context takeover on the server's
/// side, so that a prepared message is compressed once and that one frame serves every connection
/// with the same negotiated window (each message then compresses on its own, which costs some ratio
/// on streams of similar messages, and no connection keeps a compressor between messages).
pub fn broadcast_config() -> Config {
    let config = Config::default();
    #[cfg(feature = "deflate")]
    let config = config.extensions(Some(std::sync::Arc::new(
        ws_core::deflate::PerMessageDeflate::new(
            ws_core::deflate::DeflateConfig::default().server_no_context_takeover(true),
        ),
    )));
    config
}
