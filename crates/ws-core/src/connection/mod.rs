//! The connection state machine: one per WebSocket connection, either role.
//!
//! See the crate docs for the run loop. The methods fall in four kinds:
//!
//! - **inputs**: [`Connection::receive`] (bytes read from the transport; [`Connection::receive_direct`] reads
//!   into the core's own buffer instead while a large frame arrives), [`Connection::receive_eof`] (the peer
//!   closed its write side) and [`Connection::handle_time`] ("time is now T": fires due timers).
//! - **commands**: [`Connection::send`] and friends, [`Connection::send_fragment`], [`Connection::ping`],
//!   [`Connection::close`]; on a server, [`Connection::accept`] or [`Connection::reject`] after
//!   [`Event::Request`]. Commands fail only for local misuse ([`SendError`]), never for peer faults.
//! - **outputs**: [`Connection::poll_event`], [`Connection::output`] + [`Connection::advance_output`] (bytes to
//!   write; writes may be partial; [`Connection::output_chunks`] lists every run for a vectored write), [`Connection::poll_shutdown`] (shut the transport's write side now),
//!   [`Connection::next_deadline`] (call [`Connection::handle_time`] then), [`Connection::is_finished`].
//! - **getters**: [`Connection::state`], [`Connection::role`], [`Connection::subprotocol`],
//!   [`Connection::extensions`], [`Connection::is_backpressured`], [`Connection::wants_read`].

mod events;
mod framer;
mod output;
mod recv;
mod send;
mod split;
mod stall;
mod timers;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::BytesMut;
use rand_chacha::ChaCha12Rng;
use rand_core::{RngCore, SeedableRng};

use crate::config::Config;
use crate::extension::Extension;
use crate::frame::{FrameHeader, OpCode};
use crate::http::Response;
use crate::http::client::ClientRequest;
use crate::http::key::encode_key;
use crate::http::server::Request;
use crate::message::Event;
use crate::time::Instant;
use crate::utf8::Utf8Validator;

pub(crate) use crate::error::SendError;
pub use send::SendOptions;
pub use split::Sender;

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the upgrade request; masks its frames.
    Client,
    /// Answered the upgrade request; sends unmasked frames and closes TCP first.
    Server,
}

/// Where the connection is in its life (RFC 6455 section 4 and 7), as the application sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is under way.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received, and the other has not followed yet.
    Closing,
    /// The connection has ended (a terminal event was emitted).
    Closed,
}

/// The kind of a data message sent fragment by fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// A text message: the joined fragments must be UTF-8.
    Text,
    /// A binary message.
    Binary,
}

/// Where the byte stream is: handshake, frames, or past the end.
#[derive(Debug)]
enum Phase {
    /// Client: the request is queued; waiting for the response head.
    ClientAwaitResponse(Box<Offer>),
    /// Client: a non-101 response arrived; waiting for `remaining` more body bytes.
    ClientRejectedBody {
        response: Box<Response>,
        remaining: usize,
    },
    /// Server: waiting for the request head.
    ServerAwaitRequest,
    /// Server: the request was handed to the application; waiting for accept or reject.
    ServerAwaitDecision(Box<Request>),
    /// Frames flow.
    Frames,
    /// No more input is processed (close received, failed, or rejected).
    Done,
}

/// What a client's request offered, to check the response against. Boxed: once per connection, and
/// the phase it lives in should not make every connection larger.
#[derive(Debug)]
struct Offer {
    key: String,
    offered: Vec<String>,
}

/// What the handshake negotiated, boxed for the same reason (and absent when nothing was).
#[derive(Debug, Default)]
struct Negotiated {
    subprotocol: Option<String>,
    extensions: Option<String>,
}

/// A frame whose header has been read and whose payload is arriving.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    header: FrameHeader,
    /// Payload bytes already unmasked and checked. Plain frames keep them at the front of the receive buffer
    /// until the frame is complete; encoded frames hand them to the extension and drop them.
    done: usize,
    /// The payload goes through the extension's decoder.
    encoded: bool,
}

/// A fragmented message being assembled (or any encoded message being decoded).
#[derive(Debug)]
struct InMessage {
    kind: DataKind,
    data: BytesMut,
    frames: usize,
    encoded: bool,
}

/// A message being sent fragment by fragment.
#[derive(Clone, Copy, Debug)]
struct OutMessage {
    kind: DataKind,
    encoded: bool,
    utf8: Utf8Validator,
}

/// A WebSocket connection's protocol state machine, with no I/O.
///
/// Its methods fall in four kinds: **inputs** ([`Connection::receive`], [`Connection::receive_eof`],
/// [`Connection::handle_time`]), **commands** ([`Connection::send`], [`Connection::send_fragment`],
/// [`Connection::ping`], [`Connection::close`]; on a server [`Connection::accept`] or
/// [`Connection::reject`]), **outputs** ([`Connection::poll_event`], [`Connection::output`] with
/// [`Connection::advance_output`], [`Connection::poll_shutdown`], [`Connection::next_deadline`],
/// [`Connection::is_finished`]) and **getters**. The crate docs show the run loop and the order to call
/// things in. Commands start timers from the time last passed to [`Connection::handle_time`]: call it
/// before a command after an idle spell.
pub struct Connection {
    role: Role,
    /// Shared: servers pass one `Arc<Config>` to all their connections, which then keep one pointer each.
    config: Arc<Config>,
    phase: Phase,
    rx: BytesMut,
    /// Frames out: the output queue, and (clients) the random source for keys and masks.
    tx: framer::Framer,
    events: events::EventQueue,
    negotiated: Option<Box<Negotiated>>,
    extension: Option<Box<dyn Extension>>,
    /// Present once a [`Sender`] was split off (see [`Connection::split_sender`]).
    split: Option<Box<split::SplitState>>,
    frame: Option<InFrame>,
    /// Boxed: only a fragmented or encoded message in progress has one, and idle connections should
    /// not carry its room.
    message: Option<Box<InMessage>>,
    utf8: Utf8Validator,
    close_sent: bool,
    terminated: bool,
    want_shutdown: bool,
    shutdown_polled: bool,
    eof: bool,
    linger_over: bool,
    now: Instant,
    handshake_deadline: Option<Instant>,
    ping_deadline: Option<Instant>,
    pong_deadline: Option<Instant>,
    close_deadline: Option<Instant>,
    pings_sent: u32,
    /// Bytes arrived since the last keepalive ping: the peer is alive even if its pong is still queued.
    heard_since_ping: bool,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("phase", &self.phase)
            .field("queued_output", &self.tx.out.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(role: Role, config: Arc<Config>, seed: [u8; 32], now: Instant) -> Self {
        let handshake_deadline = config.timeouts.handshake.map(|t| now + t);
        Connection {
            role,
            config,
            phase: Phase::Done,
            rx: BytesMut::new(),
            tx: framer::Framer::new(
                (role == Role::Client).then(|| Box::new(ChaCha12Rng::from_seed(seed))),
            ),
            events: events::EventQueue::default(),
            negotiated: None,
            extension: None,
            split: None,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            close_sent: false,
            terminated: false,
            want_shutdown: false,
            shutdown_polled: false,
            eof: false,
            linger_over: false,
            now,
            handshake_deadline,
            ping_deadline: None,
            pong_deadline: None,
            close_deadline: None,
            pings_sent: 0,
            heard_since_ping: false,
        }
    }

    /// A client connection. The upgrade request is queued in [`Connection::output`] at once.
    ///
    /// `seed` feeds the random generator for the Sec-WebSocket-Key and the frame masks: pass 32 bytes from
    /// the operating system's random source (tests may pass a constant to replay exactly). `now` starts the
    /// handshake timer. `config` is a [`Config`] or an `Arc<Config>` shared with other connections.
    pub fn client(
        request: &ClientRequest,
        config: impl Into<Arc<Config>>,
        seed: [u8; 32],
        now: Instant,
    ) -> Self {
        let mut conn = Connection::new(Role::Client, config.into(), seed, now);
        let mut nonce = [0u8; 16];
        if let Some(rng) = conn.tx.rng.as_mut() {
            rng.fill_bytes(&mut nonce);
        }
        let key = encode_key(nonce);
        let offer = conn.config.extensions.as_ref().map(|f| f.client_offer());
        request.encode(&key, offer.as_deref(), conn.tx.out.buf_mut());
        conn.phase = Phase::ClientAwaitResponse(Box::new(Offer {
            key,
            offered: request.subprotocols.clone(),
        }));
        conn
    }

    /// A server connection, waiting for the upgrade request. `now` starts the handshake timer. `config` is
    /// a [`Config`], or an `Arc<Config>` that a server shares among all its connections (each then holds a
    /// pointer, not a copy).
    pub fn server(config: impl Into<Arc<Config>>, now: Instant) -> Self {
        let mut conn = Connection::new(Role::Server, config.into(), [0; 32], now);
        conn.phase = Phase::ServerAwaitRequest;
        conn
    }

    // ----- inputs -----

    /// Hands the core bytes read from the transport. Events become available from
    /// [`Connection::poll_event`]; replies (pongs, close echoes, HTTP responses) are queued in
    /// [`Connection::output`]. Bytes after the end of the connection are ignored.
    pub fn receive(&mut self, data: &[u8]) {
        if matches!(self.phase, Phase::Done) {
            return;
        }
        self.sync_split();
        self.heard_since_ping |= !data.is_empty();
        let rest = self.receive_payload(data);
        self.rx.extend_from_slice(rest);
        self.process();
    }

    /// Reads input straight into the receive buffer, saving the copy [`Connection::receive`] makes,
    /// while the payload of a large frame is arriving (at least 16 KiB of it still to come; see
    /// [`Connection::wants_direct_read`]). `read` gets zeroed room at the end of the buffer and returns how
    /// many bytes it wrote there (0 when none arrived) along with anything the caller wants back; the
    /// bytes are then processed as `receive` would. The room is at most `max` bytes, no more than the
    /// frame still needs, and no more than the frame has already brought (so a peer that declares a
    /// huge frame and stalls cannot make the buffer grow ahead of what it sent).
    ///
    /// Returns `None` without calling `read` when no such frame is in progress: read elsewhere and call
    /// [`Connection::receive`].
    pub fn receive_direct<R>(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Option<R> {
        self.sync_split();
        let room = self.direct_room(max)?;
        let start = self.rx.len();
        self.rx.resize(start + room, 0);
        let (n, result) = read(&mut self.rx[start..]);
        let n = n.min(room);
        self.rx.truncate(start + n);
        if n > 0 {
            self.heard_since_ping = true;
            self.process();
        }
        Some(result)
    }

    /// Whether [`Connection::receive_direct`] would read straight into the receive buffer now.
    pub fn wants_direct_read(&self) -> bool {
        self.direct_room(usize::MAX).is_some()
    }

    /// The room a direct read gets (see [`Connection::receive_direct`]), if one applies.
    fn direct_room(&self, max: usize) -> Option<usize> {
        let frame = self.frame.as_ref()?;
        if frame.encoded || !matches!(self.phase, Phase::Frames) {
            return None;
        }
        // A plain frame in progress keeps its payload so far, and only that, in the receive buffer.
        let needed = (frame.header.payload_len as usize).checked_sub(self.rx.len())?;
        if needed < DIRECT_READ_MIN {
            return None;
        }
        let room = needed.min(max).min(self.rx.len().max(DIRECT_READ_MIN));
        (room > 0).then_some(room)
    }

    /// Tells the core the peer closed its write side (a read returned 0 bytes).
    pub fn receive_eof(&mut self) {
        self.eof = true;
        if self.terminated {
            // The peer closed its side after the close handshake: close ours too.
            self.want_shutdown = true;
            return;
        }
        if let Phase::ClientRejectedBody { response, .. } = &mut self.phase {
            let mut response = core::mem::take(response);
            response.body = self.rx.split().freeze();
            self.phase = Phase::Done;
            self.want_shutdown = true;
            self.terminate(Event::Rejected(response));
            return;
        }
        if matches!(self.phase, Phase::Frames) && !self.events.is_empty() && !self.rx.is_empty() {
            // Parsing paused at an event with frames still buffered (a close frame may be among them):
            // `poll_event` parses them first, then reports the EOF.
            return;
        }
        self.fail(crate::Error::UnexpectedEof);
    }

    // ----- outputs -----

    /// The next event, if any.
    ///
    /// Frames are parsed lazily: [`Connection::receive`] parses until the first event, and each call here
    /// parses on once the queue is empty. So the application acts on a message (for example answers it)
    /// before a protocol error in a later frame of the same read fails the connection.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.sync_split();
        if self.events.is_empty() && !self.rx.is_empty() {
            self.process();
        }
        if self.events.is_empty() && self.eof && !self.terminated {
            self.fail(crate::Error::UnexpectedEof); // deferred by `receive_eof`
        }
        self.events.pop_front()
    }

    /// Whether events are waiting in [`Connection::poll_event`] (adapters batch replies while they are).
    pub fn has_pending_events(&self) -> bool {
        !self.events.is_empty() || self.has_complete_frame()
    }

    /// Whether the receive buffer holds a complete frame (or a bad header) that `poll_event` would act on.
    fn has_complete_frame(&self) -> bool {
        if !matches!(self.phase, Phase::Frames) || self.rx.is_empty() {
            return false;
        }
        let (header_len, payload_len, done) = match self.frame {
            Some(frame) if frame.encoded => {
                return self.rx.len() >= frame.header.payload_len as usize - frame.done;
            }
            Some(frame) => (0, frame.header.payload_len, 0),
            None => match FrameHeader::decode(&self.rx) {
                Ok(Some((header, len))) => (len, header.payload_len, 0),
                Ok(None) => return false,
                Err(_) => return true,
            },
        };
        (self.rx.len() - done) as u64 >= header_len as u64 + payload_len
    }

    /// The next contiguous run of bytes waiting to be written (empty when nothing waits). Write some,
    /// call [`Connection::advance_output`] with how many were written, and ask again until it is empty.
    ///
    /// Output is usually one run; a large payload sent as shared [`bytes::Bytes`] (a [`crate::Message`])
    /// by a server is queued by reference, making the frame's header and its payload two runs. Writers
    /// that can gather use [`Connection::output_chunks`] to write every run in one system call.
    pub fn output(&self) -> &[u8] {
        self.tx.out.first()
    }

    /// Fills `dst` with the runs of bytes waiting to be written, in order, for a vectored write; returns
    /// how many entries it filled (fewer than `dst.len()` when that is all there is, 0 when nothing
    /// waits). Then call [`Connection::advance_output`] with the total written.
    pub fn output_chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        self.tx.out.chunks(dst)
    }

    /// Whether the waiting bytes are more than one run ([`Connection::output`] is then not all of them).
    pub fn output_is_split(&self) -> bool {
        self.tx.out.is_split()
    }

    /// How many bytes wait to be written, in all runs.
    pub fn output_len(&self) -> usize {
        self.tx.out.len()
    }

    /// Marks the first `n` waiting bytes as written (they may span several runs of a vectored write).
    pub fn advance_output(&mut self, n: usize) {
        self.tx.out.advance(n);
    }

    /// Returns `true` once, when the transport's write side should be shut down (after all output is
    /// written, or when the close timeout gave up on a peer that does not read): a server after the close
    /// handshake (it closes TCP first, RFC 6455 section 7.1.1), any role after a failure, a client whose
    /// server did not close in time, a client whose server closed TCP.
    pub fn poll_shutdown(&mut self) -> bool {
        if self.want_shutdown
            && !self.shutdown_polled
            && (self.tx.out.is_empty() || self.linger_over)
        {
            self.shutdown_polled = true;
            // Giving up on a peer that does not read: what it did not take is dropped with the transport.
            self.tx.out.clear();
            return true;
        }
        false
    }

    /// Whether the connection is over and the transport can be dropped: a terminal event was emitted and
    /// either all output is written and the peer closed its side, or the close timeout ran out (then output
    /// the peer did not read is abandoned: a peer that stopped reading cannot hold the connection open).
    pub fn is_finished(&self) -> bool {
        if !self.terminated {
            return false;
        }
        self.linger_over
            || (self.events.is_empty()
                && self.tx.out.is_empty()
                && (self.eof || (self.want_shutdown && self.config.timeouts.close.is_none()))
                && (!self.want_shutdown || self.shutdown_polled))
    }

    // ----- getters -----

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        if self.terminated {
            State::Closed
        } else if self.close_sent || self.split_closed() {
            State::Closing
        } else if matches!(self.phase, Phase::Frames) {
            State::Open
        } else {
            State::Connecting
        }
    }

    /// The negotiated subprotocol.
    pub fn subprotocol(&self) -> Option<&str> {
        self.negotiated.as_ref()?.subprotocol.as_deref()
    }

    /// The negotiated Sec-WebSocket-Extensions value.
    pub fn extensions(&self) -> Option<&str> {
        self.negotiated.as_ref()?.extensions.as_deref()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether queued output is at or above [`crate::Limits::max_queued_output`]: adapters make sends wait
    /// (and stop reading) until it drains.
    pub fn is_backpressured(&self) -> bool {
        self.tx.out.len() >= self.config.limits.max_queued_output
    }

    /// Whether the core wants more input. False once the peer's EOF was seen; while backpressured (so a
    /// peer that does not read cannot make us queue unbounded pongs); while events wait to be polled (they
    /// are parsed lazily, so input would only pile up); and on a server waiting for `accept`/`reject`.
    pub fn wants_read(&self) -> bool {
        !(self.eof
            || self.is_backpressured()
            || !self.events.is_empty()
            || matches!(self.phase, Phase::ServerAwaitDecision(_))
            || (self.terminated && self.linger_over))
    }

    /// Whether reading may go on while a send waits for backpressure to clear: true unless the peer's EOF
    /// was seen or events wait to be polled. Reading then parses at most up to the next event, so a peer
    /// cannot grow our output with pings, and two peers that both send more than the socket buffers hold do
    /// not wait on each other forever.
    pub fn wants_read_while_sending(&self) -> bool {
        !(self.eof
            || !self.events.is_empty()
            || matches!(self.phase, Phase::ServerAwaitDecision(_) | Phase::Done))
    }

    /// The time the caller last passed in.
    pub fn now(&self) -> Instant {
        self.now
    }

    // ----- shared internals -----

    /// Emits the one terminal event and stops the keepalive timers.
    fn terminate(&mut self, event: Event) {
        debug_assert!(!self.terminated && event.is_terminal());
        self.terminated = true;
        self.events.push_back(event);
        self.handshake_deadline = None;
        self.ping_deadline = None;
        self.pong_deadline = None;
        self.frame = None;
        self.message = None;
        self.tx.sending = None;
        self.end_split();
        self.close_deadline = self.config.timeouts.close.map(|t| self.now + t);
    }

    /// Fails the connection: queues the close frame or HTTP error the peer is owed, emits
    /// [`Event::Failed`], and stops reading. Later failures are ignored (failure is sticky).
    fn fail(&mut self, error: crate::Error) {
        if self.terminated {
            return;
        }
        use crate::Error as E;
        self.sync_split();
        match self.phase {
            Phase::Frames if !self.close_sent => {
                if matches!(
                    error,
                    E::Protocol(_)
                        | E::InvalidUtf8
                        | E::LimitExceeded(_)
                        | E::Timeout(crate::Timeout::Pong)
                ) {
                    let reason = alloc::format!("{error}");
                    let cut = floor_char_boundary(&reason, crate::CloseFrame::MAX_REASON_LEN);
                    self.write_close(error.close_code(), &reason[..cut]);
                }
            }
            Phase::ServerAwaitRequest => {
                let response = crate::http::server::error_response(&error);
                response.encode(self.tx.out.buf_mut());
            }
            _ => {}
        }
        self.phase = Phase::Done;
        self.rx = BytesMut::new();
        self.want_shutdown = true;
        self.terminate(Event::Failed(error));
    }
}

/// Whether an emptied receive or send buffer of `capacity` bytes is released rather than kept for the
/// next read or write. Small ones go: an idle connection that exchanged small messages holds no buffer,
/// and re-creating one costs a small allocation next to a system call. Large ones go: an idle
/// connection does not pin a big message's room. Those in between stay: a connection streaming large
/// messages would otherwise regrow (copy, fault in) a buffer for every message.
fn release_when_empty(capacity: usize) -> bool {
    !(KEEP_BUFFER_MIN..=KEEP_BUFFER_MAX).contains(&capacity)
}

/// A frame must still need this many bytes for [`Connection::receive_direct`] to read into its buffer.
const DIRECT_READ_MIN: usize = 16 * 1024;

/// Emptied buffers smaller than this are released.
const KEEP_BUFFER_MIN: usize = 4 * 1024;

/// Emptied buffers larger than this are released.
const KEEP_BUFFER_MAX: usize = 64 * 1024;

/// The largest index `<= max` that is a char boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

impl OpCode {
    fn data_kind(self) -> Option<DataKind> {
        match self {
            OpCode::Text => Some(DataKind::Text),
            OpCode::Binary => Some(DataKind::Binary),
            _ => None,
        }
    }
}

impl DataKind {
    fn opcode(self) -> OpCode {
        match self {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        }
    }
}
