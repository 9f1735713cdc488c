//! Splitting a connection: a [`Sender`] sends data messages from one thread or task while the
//! [`Connection`] receives on another, with no lock between the two.
//!
//! The connection keeps every protocol decision (pongs, close replies, failures, timers) and queues its
//! control frames as before; the sender frames data messages into the one output queue that goes to the
//! transport. Where the two meet, they use one atomic word: which side sent the close frame (the other
//! then sends none: after it the peer may get nothing more), and whether the connection has ended. The
//! caller moves the connection's control frames into the sender's queue with
//! [`Connection::hand_output_to`], under whatever keeps the two from writing at once (the transport's
//! write half is one resource): frames then go out whole, in the order they were queued.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU8, Ordering};
use rand_chacha::ChaCha12Rng;
use rand_core::{RngCore, SeedableRng};

use super::framer::{self, Framer};
use super::output::Output;
use super::{Connection, DataKind, MessageRef, SendError, SendOptions, State};
use crate::close::CloseCode;
use crate::config::Config;
use crate::extension::Extension;
use crate::frame::OpCode;
use crate::time::Instant;

/// The connection's split state: the link to its sender while split, and the extension's encoding half
/// once a sender gave it back.
pub(super) struct SplitState {
    link: Option<Arc<Link>>,
    pub(super) encoder: Option<Box<dyn Extension>>,
}

/// What the two halves share.
#[derive(Default)]
pub(super) struct Link {
    pub(super) state: AtomicU8,
}

/// The sender queued the close frame.
const CLOSED_BY_SENDER: u8 = 1;
/// The connection queued the close frame.
const CLOSED_BY_CONNECTION: u8 = 2;
/// The connection has ended (closed or failed).
pub(super) const ENDED: u8 = 4;
/// The connection wants the write side shut once the sender's output is written.
const WANT_SHUTDOWN: u8 = 8;
/// The connection gave up on a peer that does not read: the sender's output is dropped.
const ABANDON: u8 = 16;
/// The sender said to shut the write side ([`Sender::poll_shutdown`]).
pub(super) const SHUT: u8 = 32;
/// The bits that close the sender for sends.
const CLOSED: u8 = CLOSED_BY_SENDER | CLOSED_BY_CONNECTION | ENDED;

impl Link {
    pub(super) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// Claims the one close frame for `by`; `false` if a close frame was already queued.
    fn claim_close(&self, by: u8) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                (state & (CLOSED_BY_SENDER | CLOSED_BY_CONNECTION) == 0).then_some(state | by)
            })
            .is_ok()
    }
}

/// The sending half of a [`Connection`], split off with [`Connection::split_sender`]: it frames data
/// messages (and pings, pongs and a close frame the application asks for) into the output queue, which
/// it owns from the split on. It can live on another thread than its connection (it is `Send`) and
/// shares no lock with it.
///
/// The connection goes on receiving and answering: it queues pongs, close replies and keepalive pings
/// itself, which [`Connection::hand_output_to`] moves behind what this sender queued so far. Write
/// [`Sender::output`] to the transport as a connection's output is written.
pub struct Sender {
    pub(super) config: Arc<Config>,
    pub(super) tx: Framer,
    encoder: Option<Box<dyn Extension>>,
    pub(super) link: Arc<Link>,
    /// Since when the output has made no progress while the connection is gone (see `stall.rs`).
    pub(super) stalled_since: Option<Instant>,
}

impl core::fmt::Debug for Sender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("queued_output", &self.tx.out.len())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// Queues a message (see [`Connection::send`]). Fails with [`SendError::Closed`] once either half
    /// queued a close frame or the connection ended.
    pub fn send<'a>(&mut self, message: impl Into<MessageRef<'a>>) -> Result<(), SendError> {
        self.send_with(message, SendOptions::default())
    }

    /// Queues a message with per-message options (see [`Connection::send_with`]).
    pub fn send_with<'a>(
        &mut self,
        message: impl Into<MessageRef<'a>>,
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let max_frame = self.max_frame();
        self.tx.send(
            self.encoder.as_deref_mut(),
            max_frame,
            message.into(),
            options,
        )
    }

    /// Queues one fragment of a message sent piece by piece (see [`Connection::send_fragment`]).
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let max_frame = self.max_frame();
        self.tx
            .send_fragment(self.encoder.as_deref_mut(), max_frame, kind, data, fin)
    }

    /// Queues a ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (payload at most 125 bytes). The connection answers pings itself.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.send_control(OpCode::Pong, payload)
    }

    /// Queues the close frame that starts the close handshake (see [`Connection::close`]), after every
    /// message queued so far. The sender starts no timer: the connection learns of the close at its next
    /// step (any input, `poll_event`, `handle_time` or `hand_output_to`), and then stops its keepalive
    /// and starts its close timer, counting from the time that step brings (the last time it was
    /// given), so the wait covers the frame's time in the queue too; it ends when the peer's close
    /// frame arrives. Fails with [`SendError::Closed`] if either half already queued a close frame.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        framer::check_close(code, reason)?;
        if self.link.state() & ENDED != 0 || !self.link.claim_close(CLOSED_BY_SENDER) {
            return Err(SendError::Closed);
        }
        self.tx.write_close(code, reason);
        Ok(())
    }

    /// The connection's state as far as the sender knows: `Open`, `Closing` once either half queued a
    /// close frame, `Closed` once the connection ended.
    pub fn state(&self) -> State {
        let state = self.link.state();
        if state & ENDED != 0 {
            State::Closed
        } else if state & CLOSED != 0 {
            State::Closing
        } else {
            State::Open
        }
    }

    /// The bytes to write to the transport, as a [`bytes::Buf`] (see [`Output`]): the sender's messages
    /// and the connection's frames handed over with [`Connection::hand_output_to`].
    pub fn output(&mut self) -> Output<'_> {
        if self.link.state() & ABANDON != 0 {
            self.tx.out.clear();
        }
        Output::new(&mut self.tx.out, Some(&mut self.stalled_since))
    }

    /// Returns `true` once, when the transport's write side should be shut down: the connection asked
    /// for it (see [`Connection::poll_shutdown`]) and everything queued here is written, or the
    /// connection gave up on a peer that does not read (what is queued is then dropped).
    #[must_use = "true is returned once: the write side must then be shut"]
    pub fn poll_shutdown(&mut self) -> bool {
        let state = self.link.state();
        if state & WANT_SHUTDOWN == 0 || state & SHUT != 0 {
            return false;
        }
        if state & ABANDON != 0 {
            self.tx.out.clear();
        }
        if !self.tx.out.is_empty() {
            return false;
        }
        self.link.state.fetch_or(SHUT, Ordering::AcqRel);
        true
    }

    /// Whether queued output is at or above [`crate::Limits::max_queued_output`]: make sends wait, and
    /// have the connection stop reading (its pongs land here too), until it drains.
    pub fn is_backpressured(&self) -> bool {
        self.tx.out.len() >= self.config.limits.max_queued_output
    }

    fn check_open(&self) -> Result<(), SendError> {
        if self.link.state() & CLOSED != 0 {
            return Err(SendError::Closed);
        }
        Ok(())
    }

    fn max_frame(&self) -> usize {
        self.config.max_send_frame_size.unwrap_or(usize::MAX)
    }
}

impl Connection {
    /// Splits off a [`Sender`] for the data messages, so that one thread or task can send while another
    /// receives, with no lock between them. The sender takes the output queue (with anything still
    /// waiting in it) and the extension's encoding half; the connection keeps receiving, answering
    /// pings and close frames, and running its timers. From now on:
    ///
    /// - data messages go through the sender ([`Connection::send`] and friends fail with
    ///   [`SendError::Split`]); pings, pongs and `close` still work on either half;
    /// - the connection's own frames wait in [`Connection::output`] until [`Connection::hand_output_to`]
    ///   moves them into the sender's queue: write only the sender's output to the transport;
    /// - shut the transport down when [`Sender::poll_shutdown`] says so;
    /// - [`Connection::reunite`] takes the sender back.
    ///
    /// Fails unless the connection is open ([`SendError::NotOpen`], [`SendError::Closed`]), with
    /// [`SendError::Split`] if a sender is already out, [`SendError::FragmentInProgress`] while a
    /// fragmented message is being sent, and [`SendError::NotSplittable`] if the negotiated extension
    /// cannot encode apart from decoding.
    ///
    /// ```
    /// use ws_core::{Config, Connection, Event, Instant, Message};
    /// # let now = Instant::ZERO;
    /// # let mut server = Connection::server(Config::default(), now);
    /// # server.receive(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", now);
    /// # let Some(Event::Request(_)) = server.poll_event() else { unreachable!() };
    /// # server.accept(Default::default(), now).unwrap();
    /// # let _ = server.poll_event();
    /// use bytes::Buf;
    /// // `server` is an open connection.
    /// let mut sender = server.split_sender().unwrap();
    /// sender.send(&Message::from("from the sending half")).unwrap();
    /// // A ping arrives on the receiving half; its pong follows the message out.
    /// server.receive(&[0x89, 0x82, 0, 0, 0, 0, b'h', b'i'], now);
    /// assert!(matches!(server.poll_event(), Some(Event::Ping(_))));
    /// server.hand_output_to(&mut sender);
    /// let mut out = sender.output();
    /// let wire = out.copy_to_bytes(out.remaining());
    /// assert!(wire.ends_with(&[0x8a, 2, b'h', b'i']));
    /// ```
    pub fn split_sender(&mut self) -> Result<Sender, SendError> {
        self.sync_split();
        self.check_can_send()?;
        if self.is_split() {
            return Err(SendError::Split);
        }
        if self.tx.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        let encoder = match self.split.as_mut().and_then(|s| s.encoder.take()) {
            Some(encoder) => Some(encoder),
            None => match self.extension.as_mut() {
                Some(extension) => Some(extension.split_encoder().ok_or(SendError::NotSplittable)?),
                None => None,
            },
        };
        let rng = self.tx.rng.as_mut().map(|rng| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            Box::new(ChaCha12Rng::from_seed(seed))
        });
        let mut tx = Framer::new(rng);
        core::mem::swap(&mut tx.out, &mut self.tx.out);
        let link = Arc::new(Link::default());
        self.split = Some(Box::new(SplitState {
            link: Some(link.clone()),
            encoder: None,
        }));
        Ok(Sender {
            config: self.config.clone(),
            tx,
            encoder,
            link,
            stalled_since: None,
        })
    }

    /// Moves the frames this connection queued (pongs, close replies, keepalive pings) into `sender`'s
    /// output, behind what it queued so far; drops them instead if the sender already queued a close
    /// frame (nothing may follow it). Also passes on the connection's wish to shut the write side (see
    /// [`Sender::poll_shutdown`]). Call it under whatever keeps the two halves from writing at once,
    /// after each step that may queue output (input, `poll_event`, `handle_time`, `close`, `ping`).
    /// Does nothing for a sender split off another connection.
    pub fn hand_output_to(&mut self, sender: &mut Sender) {
        self.sync_split();
        if !self.is_linked_to(sender) {
            return;
        }
        if sender.link.state() & CLOSED_BY_SENDER != 0 {
            self.tx.out.clear();
        } else {
            sender.tx.out.append(&mut self.tx.out);
        }
        let mut bits = 0;
        if self.want_shutdown {
            bits |= WANT_SHUTDOWN;
        }
        if self.linger_over {
            bits |= ABANDON | WANT_SHUTDOWN;
        }
        if bits != 0 {
            sender.link.state.fetch_or(bits, Ordering::AcqRel);
        }
    }

    /// Takes back a sender split off this connection: its queued output (ahead of the connection's
    /// own), a fragmented message in progress, and the extension's encoding half. Gives the sender back
    /// if it belongs to another connection.
    // The sender comes back by value on the (cold) mismatch path, as `Result` gives it.
    #[allow(clippy::result_large_err)]
    pub fn reunite(&mut self, mut sender: Sender) -> Result<(), Sender> {
        if !self.is_linked_to(&sender) {
            return Err(sender);
        }
        self.hand_output_to(&mut sender);
        self.shutdown_polled |= sender.link.state() & SHUT != 0;
        core::mem::swap(&mut self.tx.out, &mut sender.tx.out);
        self.tx.sending = sender.tx.sending;
        self.split = sender.encoder.map(|encoder| {
            Box::new(SplitState {
                link: None,
                encoder: Some(encoder),
            })
        });
        Ok(())
    }

    /// Whether a sender is split off.
    pub(super) fn is_split(&self) -> bool {
        self.link().is_some()
    }

    pub(super) fn link(&self) -> Option<&Arc<Link>> {
        self.split.as_ref()?.link.as_ref()
    }

    fn is_linked_to(&self, sender: &Sender) -> bool {
        self.link()
            .is_some_and(|link| Arc::ptr_eq(link, &sender.link))
    }

    /// Whether the sender queued a close frame.
    pub(super) fn split_closed(&self) -> bool {
        self.link()
            .is_some_and(|link| link.state() & CLOSED_BY_SENDER != 0)
    }

    /// Claims the close frame for the connection: `true` unless split and the sender queued one.
    pub(super) fn claim_close(&self) -> bool {
        self.link()
            .is_none_or(|link| link.claim_close(CLOSED_BY_CONNECTION))
    }

    /// Takes in what the sender did: after its close frame, the connection is closing (keepalive
    /// stopped, close timer started from the time of this step).
    pub(super) fn sync_split(&mut self) {
        if self.close_sent || self.terminated || !self.split_closed() {
            return;
        }
        self.close_sent = true;
        self.ping_deadline = None;
        self.pong_deadline = None;
        self.close_deadline = self.config.timeouts.close.map(|t| self.now + t);
    }

    /// Tells the sender the connection ended: its sends fail from now on.
    pub(super) fn end_split(&self) {
        if let Some(link) = self.link() {
            link.state.fetch_or(ENDED, Ordering::AcqRel);
        }
    }
}
