//! Configuration: limits on everything a peer controls, timeouts and send options.
//!
//! The defaults are safe for a server on the open internet; every one is documented next to its field.
//!
//! The structs are `#[non_exhaustive]`: start from `default()` (or `new()`) and set what differs with the
//! builder methods, named like the fields:
//!
//! ```
//! use core::time::Duration;
//! use ws_core::{Config, Limits, SendOptions, Timeouts};
//! let config = Config::default()
//!     .limits(Limits::default().max_frame_size(1 << 20).max_message_size(4 << 20))
//!     .timeouts(Timeouts::default().pong(Duration::from_secs(5)).close(None))
//!     .max_send_frame_size(16 * 1024);
//! assert_eq!(config.limits.max_frame_size, 1 << 20);
//! assert_eq!(config.timeouts.close, None);
//! let uncompressed = SendOptions::default().compress(false);
//! assert!(!uncompressed.compress);
//! ```

use alloc::sync::Arc;
use core::time::Duration;

use crate::connection::SendOptions;
use crate::extension::ExtensionFactory;

/// Limits on what a peer can make this endpoint hold. Exceeding one fails the connection with close code
/// 1009 (Message Too Big) or, during the handshake, HTTP 431.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest HTTP head (request or response line plus headers), in bytes. Default 8 KiB.
    pub max_head_bytes: usize,
    /// Most header lines in the HTTP head. Default 64.
    pub max_headers: usize,
    /// Largest payload of a single frame, in bytes. Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest message (after decompression), in bytes. Default 64 MiB.
    pub max_message_size: usize,
    /// Most frames (fragments) one message may be split into. Default 100,000.
    pub max_fragments: usize,
    /// High-water mark of queued output, in bytes. Above it [`crate::Connection::is_backpressured`] is true:
    /// adapters make sends wait and stop reading (so a peer that does not read cannot grow our output with
    /// pings). Default 1 MiB.
    pub max_queued_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Limits {
    /// The defaults (the same as [`Limits::default`]).
    pub const fn new() -> Self {
        Limits {
            max_head_bytes: 8 * 1024,
            max_headers: 64,
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 100_000,
            max_queued_output: 1 << 20,
        }
    }

    /// Sets [`Limits::max_head_bytes`](#structfield.max_head_bytes).
    #[must_use]
    pub const fn max_head_bytes(mut self, bytes: usize) -> Self {
        self.max_head_bytes = bytes;
        self
    }

    /// Sets [`Limits::max_headers`](#structfield.max_headers).
    #[must_use]
    pub const fn max_headers(mut self, headers: usize) -> Self {
        self.max_headers = headers;
        self
    }

    /// Sets [`Limits::max_frame_size`](#structfield.max_frame_size).
    #[must_use]
    pub const fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`Limits::max_message_size`](#structfield.max_message_size).
    #[must_use]
    pub const fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`Limits::max_fragments`](#structfield.max_fragments).
    #[must_use]
    pub const fn max_fragments(mut self, fragments: usize) -> Self {
        self.max_fragments = fragments;
        self
    }

    /// Sets [`Limits::max_queued_output`](#structfield.max_queued_output).
    #[must_use]
    pub const fn max_queued_output(mut self, bytes: usize) -> Self {
        self.max_queued_output = bytes;
        self
    }
}

/// Timeouts driven by the core's deadlines ([`crate::Connection::next_deadline`]). `None` disables one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Time allowed from creation until the handshake completes. Default 10 s.
    pub handshake: Option<Duration>,
    /// Interval between keepalive pings once open. Default 20 s.
    pub keepalive_interval: Option<Duration>,
    /// Time a keepalive ping may wait for its pong before the connection fails with 1011. Default 20 s.
    pub pong: Option<Duration>,
    /// Time to wait for the peer's close frame after ours, and for the TCP close afterwards. Default 10 s.
    pub close: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::new()
    }
}

impl Timeouts {
    /// The defaults (the same as [`Timeouts::default`]).
    pub const fn new() -> Self {
        Timeouts {
            handshake: Some(Duration::from_secs(10)),
            keepalive_interval: Some(Duration::from_secs(20)),
            pong: Some(Duration::from_secs(20)),
            close: Some(Duration::from_secs(10)),
        }
    }

    /// No timeout at all (useful in tests and for embedding in a caller that keeps its own timers).
    pub const fn none() -> Self {
        Timeouts {
            handshake: None,
            keepalive_interval: None,
            pong: None,
            close: None,
        }
    }

    /// Sets [`Timeouts::handshake`](#structfield.handshake): a `Duration`, or `None` to disable it.
    #[must_use]
    pub fn handshake(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.handshake = timeout.into();
        self
    }

    /// Sets [`Timeouts::keepalive_interval`](#structfield.keepalive_interval): a `Duration`, or `None`
    /// to send no keepalive pings.
    #[must_use]
    pub fn keepalive_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.keepalive_interval = interval.into();
        self
    }

    /// Sets [`Timeouts::pong`](#structfield.pong): a `Duration`, or `None` to disable it.
    #[must_use]
    pub fn pong(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pong = timeout.into();
        self
    }

    /// Sets [`Timeouts::close`](#structfield.close): a `Duration`, or `None` to disable it.
    #[must_use]
    pub fn close(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.close = timeout.into();
        self
    }
}

/// Everything that shapes one connection.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Config {
    /// Limits on peer-controlled sizes.
    pub limits: Limits,
    /// Handshake, keepalive, pong and close timeouts.
    pub timeouts: Timeouts,
    /// Split outgoing messages into frames of at most this many payload bytes. `None` (the default) sends
    /// each message as one frame.
    pub max_send_frame_size: Option<usize>,
    /// Extensions to offer (client) or accept (server), such as permessage-deflate. Default: none.
    pub extensions: Option<Arc<dyn ExtensionFactory>>,
}

impl Config {
    /// The defaults (the same as [`Config::default`]): default limits and timeouts, one frame per
    /// message, no extension.
    pub fn new() -> Self {
        Config::default()
    }

    /// Sets [`Config::limits`](#structfield.limits).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets [`Config::timeouts`](#structfield.timeouts).
    #[must_use]
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets [`Config::max_send_frame_size`](#structfield.max_send_frame_size): a size, or `None` to send
    /// each message as one frame.
    #[must_use]
    pub fn max_send_frame_size(mut self, bytes: impl Into<Option<usize>>) -> Self {
        self.max_send_frame_size = bytes.into();
        self
    }

    /// Sets [`Config::extensions`](#structfield.extensions), e.g.
    /// `Some(Arc::new(PerMessageDeflate::new(deflate_config)))`, or `None` for no extension.
    #[must_use]
    pub fn extensions(mut self, extensions: Option<Arc<dyn ExtensionFactory>>) -> Self {
        self.extensions = extensions;
        self
    }

    /// This configuration with permessage-deflate (RFC 7692) offered (client) or accepted (server), with
    /// the default [`crate::deflate::DeflateConfig`].
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn with_deflate(mut self) -> Self {
        self.extensions = Some(Arc::new(crate::deflate::PerMessageDeflate::default()));
        self
    }
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("limits", &self.limits)
            .field("timeouts", &self.timeouts)
            .field("max_send_frame_size", &self.max_send_frame_size)
            .field("extensions", &self.extensions.as_ref().map(|e| e.name()))
            .finish()
    }
}

impl SendOptions {
    /// The defaults (the same as [`SendOptions::default`]): compress when an extension is negotiated.
    pub const fn new() -> Self {
        SendOptions { compress: true }
    }

    /// Sets [`SendOptions::compress`](#structfield.compress).
    #[must_use]
    pub const fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }
}
