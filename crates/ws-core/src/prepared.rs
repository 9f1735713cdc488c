//! Prepared messages: a data message framed once and sent on any number of server connections.
//!
//! A broadcast (a chat line, a game tick, a price) goes to many connections at once. Sent as a plain
//! [`Message`], every connection builds its own frame, copies the payload into its output and, with
//! permessage-deflate, compresses it again. A [`PreparedMessage`] does that work once:
//!
//! - **Framing.** The frame (header and payload, unmasked, one `FIN` frame) is built when the message
//!   is prepared. A server connection queues it as is: by reference (a shared [`bytes::Bytes`],
//!   written with the bytes around it by a vectored write) when it is at least 64 bytes long, by copy
//!   below that (a copy of a small frame costs less memory than the reference: 40 bytes per queued
//!   reference, on 64-bit targets).
//! - **Compression.** A connection whose extension can share one encoding among connections (see
//!   [`crate::extension::Extension::shared_encoding_key`]: permessage-deflate with no context
//!   takeover on the server's side) compresses the message the first time one of them sends it and
//!   stores the result in the prepared message; every other connection with the same negotiated
//!   parameters (window size and level) queues that frame. A connection with context takeover on our
//!   side, or with other parameters than the first, compresses the message itself, as for a plain
//!   message: its compressor's history must match what the peer's decompressor saw. A server that
//!   broadcasts compressed messages should therefore set
//!   `DeflateConfig::server_no_context_takeover`. (Without the `std` feature, the compressed frame is
//!   not stored and each connection compresses.)
//! - **Fallbacks.** A message longer than [`crate::Config::max_send_frame_size`] is split into frames
//!   per connection, its payload still shared. A client masks every frame with its own key, so a client
//!   connection frames a prepared message as it frames any other (sharing only the payload bytes).
//!
//! Nothing else differs from sending the message itself: the peer receives the same message either way.
//!
//! ## What a queued broadcast costs a receiver
//!
//! Measured with a counting allocator over 1,000 server connections (`tests/broadcast_memory.rs`), bytes
//! per connection while the broadcasts wait unwritten, on x86-64:
//!
//! | queued | prepared | plain [`Message`] |
//! | --- | --- | --- |
//! | 1 x 20 B | 22 (copied) | 22 |
//! | 10 x 20 B | 352 (copied, the buffer's growth) | 352 |
//! | 1 x 1 KiB | 192 (the queue's first room: four entries) | 1,028 |
//! | 10 x 1 KiB | 672 | 16,448 |
//! | 10 x 64 KiB | 672 | 832 (a shared payload of 8 KiB or more is referenced too) |
//!
//! Written output is released: nothing stays with an idle connection.

use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::Bytes;

use crate::connection::DataKind;
use crate::frame::FrameHeader;
use crate::message::Message;

/// Prepared frames at least this long are queued by reference; shorter ones are copied (a reference
/// is a 40-byte queue entry).
pub(crate) const SHARE_MIN: usize = 64;

/// A data message framed once, for sending on many connections: clone it (a reference count) and pass
/// `&prepared` (or the clone) wherever a message is sent. See the [module docs](self) for what is
/// shared and when.
///
/// ```
/// use ws_core::{Accept, Config, Connection, Event, Instant, PreparedMessage};
/// # fn open_server() -> Connection {
/// #     let now = Instant::ZERO;
/// #     let mut client = Connection::client(&ws_core::ClientRequest::new("h", "/"), Config::default(), [1; 32], now);
/// #     let mut server = Connection::server(Config::default(), now);
/// #     use bytes::Buf;
/// #     let mut out = client.output();
/// #     while out.has_remaining() { let n = out.chunk().len(); server.receive(out.chunk(), now); out.advance(n); }
/// #     let Some(Event::Request(_)) = server.poll_event() else { unreachable!() };
/// #     server.accept(Accept::new(), now).unwrap();
/// #     let _ = server.poll_event();
/// #     let mut out = server.output();
/// #     let n = out.remaining();
/// #     out.advance(n);
/// #     server
/// # }
/// let mut connections = vec![open_server(), open_server(), open_server()];
/// let tick = PreparedMessage::new("{\"price\":101.5}");
/// for conn in &mut connections {
///     conn.send(&tick).unwrap(); // the frame built once above, copied or referenced
/// }
/// assert_eq!(connections[0].queued_output(), 2 + 15);
/// ```
#[derive(Clone)]
pub struct PreparedMessage(Arc<Prepared>);

struct Prepared {
    message: Message,
    /// The whole message as one unmasked, uncompressed `FIN` frame.
    frame: Bytes,
    /// The message compressed once, for every connection with the same shared-encoding key.
    #[cfg(feature = "std")]
    encoded: std::sync::OnceLock<Encoded>,
}

/// The message as an extension encoded it, framed.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) struct Encoded {
    /// The extension's shared-encoding key: which connections may use it.
    key: u64,
    /// The frame: header (with the extension's RSV bits) and encoded payload.
    pub(crate) frame: Bytes,
    /// Where the payload starts in `frame`.
    pub(crate) header_len: usize,
}

impl Encoded {
    /// Frames `payload`, encoded by an extension with `key` that sets `rsv` on the first frame.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn new(key: u64, kind: DataKind, rsv: u8, payload: &[u8]) -> Self {
        let (frame, header_len) = frame(kind, rsv, payload);
        Encoded {
            key,
            frame,
            header_len,
        }
    }

    /// The encoded payload, shared.
    pub(crate) fn payload(&self) -> Bytes {
        self.frame.slice(self.header_len..)
    }
}

impl PreparedMessage {
    /// Prepares `message`: builds its frame. Text from a `&str` or `String`, binary from `Bytes` or a
    /// `Vec<u8>`, or any [`Message`] (its payload stays shared, not copied, except into the frame).
    pub fn new(message: impl Into<Message>) -> Self {
        let message = message.into();
        let kind = DataKind::of(&message);
        let (frame, _) = frame(kind, 0, message.as_bytes());
        PreparedMessage(Arc::new(Prepared {
            message,
            frame,
            #[cfg(feature = "std")]
            encoded: std::sync::OnceLock::new(),
        }))
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.0.message
    }

    /// Text or binary.
    pub fn kind(&self) -> DataKind {
        DataKind::of(&self.0.message)
    }

    /// The payload.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.message.as_bytes()
    }

    /// The frame a server connection sends when it does not compress: header and payload.
    pub fn frame(&self) -> &[u8] {
        &self.0.frame
    }

    pub(crate) fn shared_frame(&self) -> &Bytes {
        &self.0.frame
    }

    pub(crate) fn shared_payload(&self) -> &Bytes {
        self.0.message.shared()
    }

    /// The message encoded by an extension with shared-encoding `key`: the stored one when its key
    /// matches, made by `encode` when none is stored yet; `None` when another key's is stored (or
    /// without `std`, where nothing is stored).
    #[cfg_attr(not(feature = "std"), allow(unused_variables))]
    pub(crate) fn encoded(&self, key: u64, encode: impl FnOnce() -> Encoded) -> Option<&Encoded> {
        #[cfg(feature = "std")]
        {
            let encoded = self.0.encoded.get_or_init(encode);
            (encoded.key == key).then_some(encoded)
        }
        #[cfg(not(feature = "std"))]
        None
    }

    /// Whether `self` and `other` are clones of one prepared message.
    pub fn ptr_eq(&self, other: &PreparedMessage) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl core::fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.kind())
            .field("len", &self.as_bytes().len())
            .finish_non_exhaustive()
    }
}

impl<T: Into<Message>> From<T> for PreparedMessage {
    fn from(message: T) -> Self {
        PreparedMessage::new(message)
    }
}

/// One unmasked `FIN` frame of `kind` carrying `payload`, and its header's length.
fn frame(kind: DataKind, rsv: u8, payload: &[u8]) -> (Bytes, usize) {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    FrameHeader {
        fin: true,
        rsv,
        opcode: kind.opcode(),
        mask: None,
        payload_len: payload.len() as u64,
    }
    .encode(&mut frame);
    let header_len = frame.len();
    frame.extend_from_slice(payload);
    (Bytes::from(frame), header_len)
}
