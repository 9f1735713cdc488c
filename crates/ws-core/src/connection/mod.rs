//! The connection state machine: one per WebSocket connection, either role.
//!
//! See [`Connection`] for its four kinds of methods and the order to call them in.

mod events;
mod framer;
mod open;
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
pub use open::Negotiated;
pub use output::Output;
pub use send::{MessageRef, SendOptions};
pub use split::Sender;

/// Which end of the connection this is. Exhaustive: RFC 6455 has exactly two roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the upgrade request; masks its frames.
    Client,
    /// Answered the upgrade request; sends unmasked frames and closes TCP first.
    Server,
}

/// Where the connection is in its life (RFC 6455 section 4 and 7), as the application sees it.
/// Exhaustive: these are the RFC's four states (CONNECTING, OPEN, CLOSING, CLOSED).
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

/// The kind of a data message sent fragment by fragment. Exhaustive: RFC 6455 defines exactly two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// A text message: the joined fragments must be UTF-8.
    Text,
    /// A binary message.
    Binary,
}

/// Whether the connection wants input now: the one question a run loop asks before reading
/// ([`Connection::read_interest`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadInterest {
    /// Read and hand the bytes to [`Connection::receive`] (or [`Connection::receive_eof`] at end of
    /// stream).
    Read,
    /// Output is above [`crate::Limits::max_queued_output`]: do not read for its own sake (a peer that
    /// does not read could make us queue unbounded pongs), but a loop that waits to write a send may
    /// read meanwhile; the core then parses at most up to the next event, so two peers that both send
    /// more than the socket buffers hold do not wait on each other forever.
    WhileSending,
    /// No input now: events wait in [`Connection::poll_event`] (they are parsed lazily, so input would
    /// only pile up), a server waits for [`Connection::accept`] or [`Connection::reject`], the peer's end
    /// of stream was seen, or the connection is finished.
    None,
}

/// How a connection ended ([`Connection::outcome`]): the terminal event, kept.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// The close handshake completed; the peer's close frame, if it sent one with a payload.
    Closed(Option<crate::CloseFrame>),
    /// The connection failed: a peer fault, a limit, a timer, or the transport ended without a close
    /// handshake ([`crate::Error::UnexpectedEof`]).
    Failed {
        /// What went wrong.
        error: crate::Error,
        /// The close code queued for the peer (1002, 1007, 1009, 1011), if a close frame could still
        /// be sent; a failed handshake answers with an HTTP status instead
        /// ([`crate::HandshakeError::http_status`]).
        close_code: Option<crate::CloseCode>,
    },
    /// The handshake was refused: a client got a non-101 response, or a server called
    /// [`Connection::reject`].
    Rejected(Box<Response>),
}

impl Outcome {
    /// Whether the connection ended with a completed close handshake.
    pub fn is_clean(&self) -> bool {
        matches!(self, Outcome::Closed(_))
    }
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
struct Agreed {
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
/// Its public methods fall in four kinds:
///
/// - **inputs**: [`Connection::receive`] (bytes read from the transport; [`Connection::receive_direct`]
///   reads into the core's own buffer while a large frame arrives), [`Connection::receive_eof`] (the
///   transport ended: a read returned 0 bytes, or failed) and [`Connection::handle_time`] ("time is now
///   T": fires due timers). Every input takes the time.
/// - **commands**: [`Connection::send`], [`Connection::send_with`], [`Connection::send_fragment`],
///   [`Connection::ping`], [`Connection::pong`], [`Connection::close`]; on a server
///   [`Connection::accept`] or [`Connection::reject`] after [`Event::Request`];
///   [`Connection::split_sender`], [`Connection::hand_output_to`], [`Connection::reunite`]. Commands
///   fail only for local misuse ([`SendError`]), never for peer faults. Those that can start a timer
///   (`close`, `accept`, `reject`) take the time.
/// - **outputs**: [`Connection::poll_event`], [`Connection::output`] (the bytes to write, a
///   [`bytes::Buf`]), [`Connection::poll_shutdown`] (shut the transport's write side now),
///   [`Connection::next_deadline`] (call `handle_time` then), [`Connection::read_interest`] (read or
///   not), [`Connection::is_finished`] (drop the transport).
/// - **getters**: [`Connection::state`], [`Connection::outcome`], [`Connection::role`],
///   [`Connection::subprotocol`], [`Connection::extensions`], [`Connection::config`],
///   [`Connection::queued_output`], [`Connection::is_backpressured`].
///
/// A run loop, until [`Connection::is_finished`]:
///
/// 1. write [`Connection::output`] to the transport, advancing it by what was written; when
///    [`Connection::poll_shutdown`] says so, shut the write side;
/// 2. drain [`Connection::poll_event`] (on a server, answer [`Event::Request`]);
/// 3. if [`Connection::read_interest`] is [`ReadInterest::Read`], read and hand the bytes to
///    [`Connection::receive`] ([`Connection::receive_eof`] at end of stream or on a read error);
/// 4. wait no later than [`Connection::next_deadline`], then call [`Connection::handle_time`].
///
/// The connection owns its lifecycle: after a failure it queues the close frame, asks for the write side
/// to be shut, and then lingers, reading and discarding input until the peer's end of stream, up to
/// [`crate::Timeouts::close`] or 1 MiB, so a peer that is still writing reads the close frame instead of
/// a TCP reset; [`Connection::is_finished`] says when the transport can be dropped, and
/// [`Connection::outcome`] how the connection ended.
pub struct Connection {
    role: Role,
    /// Shared: servers pass one `Arc<Config>` to all their connections, which then keep one pointer each.
    config: Arc<Config>,
    phase: Phase,
    rx: BytesMut,
    /// Frames out: the output queue, and (clients) the random source for keys and masks.
    tx: framer::Framer,
    events: events::EventQueue,
    negotiated: Option<Box<Agreed>>,
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
    /// Bytes read and discarded since the connection ended (bounded: see [`LINGER_MAX_BYTES`]).
    lingered: u32,
    /// Bytes arrived since the last keepalive ping: the peer is alive even if its pong is still queued.
    heard_since_ping: bool,
    /// How the connection ended, once it has (boxed: one word while it runs).
    outcome: Option<Box<Outcome>>,
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
            lingered: 0,
            heard_since_ping: false,
            outcome: None,
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
        conn.tx
            .out
            .push_head(|head| request.encode(&key, offer.as_deref(), head));
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

    /// Hands the core bytes read from the transport at `now`. Events become available from
    /// [`Connection::poll_event`]; replies (pongs, close echoes, HTTP responses) are queued in
    /// [`Connection::output`]. Timers that the bytes start (a close frame's, the keepalive once the
    /// handshake completes) count from `now`, also for frames parsed later by `poll_event`. After the
    /// connection ended, input is discarded (the lingering close; see [`Connection`]).
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        self.advance_clock(now);
        if matches!(self.phase, Phase::Done) {
            self.linger(data.len());
            return;
        }
        self.sync_split();
        self.heard_since_ping |= !data.is_empty();
        if let Some(rest) = self.take_small_message(data) {
            // The rest waits for `poll_event`: parsing stops at the first event.
            self.rx.extend_from_slice(rest);
            return;
        }
        let rest = self.receive_payload(data);
        self.rx.extend_from_slice(rest);
        self.process();
    }

    /// Reads input straight into the receive buffer, saving the copy [`Connection::receive`] makes,
    /// while the payload of a large frame is arriving (at least 16 KiB of it still to come). `read` gets
    /// zeroed room at the end of the buffer and returns how many bytes it wrote there (0 when none
    /// arrived) along with anything the caller wants back; the bytes are then processed as `receive`
    /// would, at the time `now` returns. `now` is called once, after `read`, and only when bytes
    /// arrived: the caller's clock is not read for a read that is not ready, nor when no direct read
    /// applies. The room is at most `max` bytes, no more than the frame still needs, and no more than
    /// the frame has already brought (so a peer that declares a huge frame and stalls cannot make the
    /// buffer grow ahead of what it sent).
    ///
    /// Returns `None` without calling `read` when no such frame is in progress: read elsewhere and call
    /// [`Connection::receive`].
    pub fn receive_direct<R>(
        &mut self,
        max: usize,
        now: impl FnOnce() -> Instant,
        read: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Option<R> {
        let room = self.direct_room(max)?;
        let start = self.rx.len();
        self.rx.resize(start + room, 0);
        let (n, result) = read(&mut self.rx[start..]);
        let n = n.min(room);
        self.rx.truncate(start + n);
        if n > 0 {
            self.advance_clock(now());
            self.sync_split();
            self.heard_since_ping = true;
            self.process();
        }
        Some(result)
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

    /// Tells the core, at `now`, that the transport ended: the peer closed its write side (a read
    /// returned 0 bytes) or the transport broke (a read or write failed). Before the close handshake
    /// completed this fails the connection with [`crate::Error::UnexpectedEof`] (once the events
    /// already buffered are polled); after it, the core asks for our write side to be shut too.
    pub fn receive_eof(&mut self, now: Instant) {
        self.advance_clock(now);
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

    /// Records `now` (time never goes backwards: an earlier `now` is ignored).
    fn advance_clock(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// Input that arrived after the connection ended is discarded; past [`LINGER_MAX_BYTES`] the
    /// connection stops waiting for the peer's end of stream.
    fn linger(&mut self, n: usize) {
        self.lingered = self
            .lingered
            .saturating_add(n.try_into().unwrap_or(u32::MAX));
        if self.terminated && self.lingered as usize > LINGER_MAX_BYTES {
            self.linger_over = true;
            self.want_shutdown = true;
            self.close_deadline = None;
        }
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

    /// The bytes waiting to be written, as a [`bytes::Buf`] (see [`Output`]): write its chunks and
    /// advance it by what the transport took. While a [`Sender`] is split off, the connection's own
    /// frames wait here until [`Connection::hand_output_to`] moves them to the sender, whose output is
    /// the one to write.
    pub fn output(&mut self) -> Output<'_> {
        Output::new(&mut self.tx.out, None)
    }

    /// Returns `true` once, when the transport's write side should be shut down (after all output is
    /// written, or when the close timeout gave up on a peer that does not read): a server after the close
    /// handshake (it closes TCP first, RFC 6455 section 7.1.1), any role after a failure, a client whose
    /// server did not close in time, a client whose server closed TCP. While a [`Sender`] is split off,
    /// this is always `false`: [`Sender::poll_shutdown`] says it instead, once the sender's output (which
    /// the connection's frames join) is written.
    #[must_use = "true is returned once: the write side must then be shut"]
    pub fn poll_shutdown(&mut self) -> bool {
        if self.is_split() {
            return false;
        }
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

    /// Whether the connection is over and the transport can be dropped: it ended ([`Connection::outcome`]
    /// is set, the terminal event was polled) and either all output is written, the write side shut and
    /// the peer's end of stream seen, or the lingering after a failure ran out of time or bytes, or the
    /// close timeout gave up on a peer that does not read (output it did not take is abandoned). While a
    /// [`Sender`] is split off, the sender's output counts too (the sender shut the write side).
    pub fn is_finished(&self) -> bool {
        if !self.terminated {
            return false;
        }
        let shut = match self.link() {
            Some(link) => link.state() & split::SHUT != 0,
            None => self.shutdown_polled,
        };
        self.linger_over
            || (self.events.is_empty()
                && self.tx.out.is_empty()
                && (self.eof || (self.want_shutdown && self.config.timeouts.close.is_none()))
                && (!self.want_shutdown || shut))
    }

    /// Whether the connection wants input now (see [`ReadInterest`]).
    pub fn read_interest(&self) -> ReadInterest {
        if self.eof
            || !self.events.is_empty()
            || matches!(self.phase, Phase::ServerAwaitDecision(_))
            || (self.terminated && self.linger_over)
        {
            ReadInterest::None
        } else if self.is_backpressured() {
            if matches!(self.phase, Phase::Done) {
                ReadInterest::None
            } else {
                ReadInterest::WhileSending
            }
        } else {
            ReadInterest::Read
        }
    }

    // ----- getters -----

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// How the connection ended, once it has (the terminal event, kept).
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_deref()
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

    /// How many bytes wait in the output (for statistics and backpressure; take them with
    /// [`Connection::output`]).
    pub fn queued_output(&self) -> usize {
        self.tx.out.len()
    }

    /// Whether queued output is at or above [`crate::Limits::max_queued_output`]: adapters make sends wait
    /// (and stop reading) until it drains.
    pub fn is_backpressured(&self) -> bool {
        self.tx.out.len() >= self.config.limits.max_queued_output
    }

    // ----- shared internals -----

    /// Emits the one terminal event and stops the keepalive timers.
    fn terminate(&mut self, event: Event) {
        debug_assert!(!self.terminated && event.is_terminal());
        self.terminated = true;
        let outcome = match &event {
            Event::Closed(frame) => Outcome::Closed(frame.clone()),
            Event::Failed(error) => Outcome::Failed {
                error: error.clone(),
                close_code: None,
            },
            Event::Rejected(response) => Outcome::Rejected(response.clone()),
            _ => unreachable!("not a terminal event"),
        };
        self.outcome = Some(Box::new(outcome));
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
        let mut close_code = None;
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
                    if self.write_close(error.close_code(), &reason[..cut]) {
                        close_code = Some(error.close_code());
                    }
                }
            }
            Phase::ServerAwaitRequest => {
                let response = crate::http::server::error_response(&error);
                self.tx.out.push_head(|head| response.encode(head));
            }
            _ => {}
        }
        self.phase = Phase::Done;
        self.rx = BytesMut::new();
        self.want_shutdown = true;
        self.terminate(Event::Failed(error));
        if let Some(Outcome::Failed {
            close_code: sent, ..
        }) = self.outcome.as_deref_mut()
        {
            *sent = close_code;
        }
    }
}

/// Whether an emptied receive buffer of `capacity` bytes is released rather than kept for the next
/// read. Small ones go: an idle connection that received small messages holds no buffer (a whole small
/// message does not pass through it anyway). Large ones go: an idle connection does not pin a big
/// message's room. Those in between stay: a connection streaming large messages would otherwise regrow
/// (copy, fault in) a buffer for every message. (The send buffer keeps small ones too: see
/// `output::Queue::advance`.)
fn release_when_empty(capacity: usize) -> bool {
    !(KEEP_BUFFER_MIN..=KEEP_BUFFER_MAX).contains(&capacity)
}

/// After the connection ended, at most this many bytes are read and discarded while waiting for the
/// peer's end of stream (the lingering close).
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// A frame must still need this many bytes for [`Connection::receive_direct`] to read into its buffer.
const DIRECT_READ_MIN: usize = 16 * 1024;

/// Emptied receive buffers smaller than this are released.
const KEEP_BUFFER_MIN: usize = 4 * 1024;

/// Emptied buffers (receive and send) larger than this are released.
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
    pub(crate) fn opcode(self) -> OpCode {
        match self {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        }
    }
}
