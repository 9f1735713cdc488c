//! Configuration: limits on everything a peer controls, timeouts and send options.
//!
//! The defaults are safe for a server on the open internet; every one is documented next to its field.

use alloc::sync::Arc;
use core::time::Duration;

use crate::extension::ExtensionFactory;

/// Limits on what a peer can make this endpoint hold. Exceeding one fails the connection with close code
/// 1009 (Message Too Big) or, during the handshake, HTTP 431.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        Limits {
            max_head_bytes: 8 * 1024,
            max_headers: 64,
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 100_000,
            max_queued_output: 1 << 20,
        }
    }
}

/// Timeouts driven by the core's deadlines ([`crate::Connection::next_deadline`]). `None` disables one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        Timeouts {
            handshake: Some(Duration::from_secs(10)),
            keepalive_interval: Some(Duration::from_secs(20)),
            pong: Some(Duration::from_secs(20)),
            close: Some(Duration::from_secs(10)),
        }
    }
}

impl Timeouts {
    /// No timeout at all (useful in tests and for embedding in a caller that keeps its own timers).
    pub const fn none() -> Self {
        Timeouts {
            handshake: None,
            keepalive_interval: None,
            pong: None,
            close: None,
        }
    }
}

/// Everything that shapes one connection.
#[derive(Clone, Default)]
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
    /// This configuration with permessage-deflate (RFC 7692) offered (client) or accepted (server), with
    /// the default [`crate::deflate::DeflateConfig`].
    #[cfg(feature = "deflate")]
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
