//! The one async run loop: moves bytes between a futures-io transport and a [`ws_core::Connection`], and
//! sleeps until the core's deadlines. Every method is a poll function over state kept in the struct, so the
//! futures built on them can be dropped at any await point without losing data.

use std::io::{self, IoSlice};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use futures_io::{AsyncRead, AsyncWrite};
use ws_adapter::{Clock, EarlyReplies, Error};
use ws_core::{Connection, Event, Instant, ReadInterest};

use crate::timer::{Alarm, Timer};

/// Size of the per-thread read buffer (one per thread, not per connection). Large enough that one read
/// brings several 64 KiB messages, answered with one vectored write: with 64 KiB, each read brought one
/// message and each echo cost its own write (64 KiB x 8 in flight: 1.2-1.7x the messages/s and 20-35%
/// less CPU per message at 256 KiB; 512 KiB measured no better).
const READ_SIZE: usize = 256 * 1024;

thread_local! {
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_SIZE]);
    /// Reads done on this thread by any connection (wrapping): a connection whose read finds the count
    /// just one past its own previous read's has had the thread to itself in between.
    static READS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// What [`Engine::poll_event`] produced.
pub(crate) enum Step {
    Event(Event),
    /// The connection is over and the transport may be dropped.
    Finished,
}

/// Where a connection's output goes on its way to the transport. A whole connection writes its own
/// output (`()`); the reader of a split connection hands its frames to the sender's queue, which its
/// transport writes on `poll_flush` (see the `split` module).
pub(crate) trait Handoff<T> {
    /// Moves `conn`'s queued output to where `io` writes from.
    fn take(_io: &mut T, _conn: &mut Connection) {}

    /// Whether everything taken was written.
    fn written(_io: &T) -> bool {
        true
    }

    /// Whether the write side should be shut now: the connection says so, or (split) its sender does.
    fn poll_shutdown(_io: &mut T, conn: &mut Connection, _cx: &mut Context<'_>) -> bool {
        conn.poll_shutdown()
    }

    /// The connection gives up on a peer that does not read: what `io` still holds is dropped.
    fn abandon(_io: &mut T) {}
}

impl<T> Handoff<T> for () {}

/// A connection, its transport, and its timer.
pub(crate) struct Engine<T, R: Timer, H = ()> {
    pub(crate) conn: Connection,
    io: T,
    timer: R,
    clock: Clock,
    alarm: Alarm<R>,
    shutdown_pending: bool,
    /// The write side was shut down.
    write_closed: bool,
    /// A transport error: nothing more can be written or read.
    pub(crate) broken: Option<io::Error>,
    /// Replies written at once after a read while the connection has its thread to itself.
    early: EarlyReplies,
    /// `poll_event` brought the core's clock up to date since the last flush, which then need not.
    ticked: bool,
    handoff: PhantomData<fn() -> H>,
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer, H: Handoff<T>> Engine<T, R, H> {
    pub(crate) fn new(conn: Connection, io: T, timer: R, clock: Clock) -> Self {
        Engine {
            conn,
            io,
            timer,
            clock,
            alarm: Alarm::default(),
            shutdown_pending: false,
            write_closed: false,
            broken: None,
            early: EarlyReplies::default(),
            ticked: false,
            handoff: PhantomData,
        }
    }

    /// The same engine over another transport (when splitting or joining it), with `f` making the new
    /// transport out of the old.
    pub(crate) fn map_io<U, H2>(self, f: impl FnOnce(T) -> U) -> Engine<U, R, H2> {
        Engine {
            conn: self.conn,
            io: f(self.io),
            timer: self.timer,
            clock: self.clock,
            alarm: self.alarm,
            shutdown_pending: self.shutdown_pending,
            write_closed: self.write_closed,
            broken: self.broken,
            early: self.early,
            ticked: self.ticked,
            handoff: PhantomData,
        }
    }

    /// Writes queued output (and shuts the write side down when the core asks). Ready when all is written.
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = &self.broken {
            return Poll::Ready(Err(io::Error::new(e.kind(), e.to_string())));
        }
        let result = ready!(self.poll_write_inner(cx));
        if let Err(e) = &result {
            self.broken = Some(io::Error::new(e.kind(), e.to_string()));
        }
        Poll::Ready(result)
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        H::take(&mut self.io, &mut self.conn);
        let mut wrote = !H::written(&self.io);
        while self.conn.output().has_remaining() {
            let n = ready!(self.poll_write_some(cx))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            wrote = true;
        }
        if wrote {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        }
        if H::poll_shutdown(&mut self.io, &mut self.conn, cx) {
            self.shutdown_pending = true;
        }
        if self.shutdown_pending {
            // Errors here (the peer already gone) do not matter: we are closing anyway.
            let _ = ready!(Pin::new(&mut self.io).poll_close(cx));
            self.shutdown_pending = false;
            self.write_closed = true;
        }
        Poll::Ready(Ok(()))
    }

    /// The time on the engine's clock, for commands that start timers.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// One write of queued output, advancing it by what was written (see [`poll_write_buf`]).
    fn poll_write_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut out = self.conn.output();
        let n = ready!(poll_write_buf(Pin::new(&mut self.io), cx, &out))?;
        out.advance(n);
        Poll::Ready(Ok(n))
    }

    /// Brings the core's clock up to date (firing due timers) and returns the time. The clock is read
    /// only where the time matters: once per `poll_event` (input read during that call is handed to
    /// the core at the same time), for input read while draining output, when a sleep ends, before
    /// commands that start timers, and on a flush that no `poll_event` preceded (so an application that
    /// only sends still fires its keepalive timers); not on every turn of the loops, nor for each
    /// queued message. Reading it was ~16% of the user CPU of a small-message echo with three reads
    /// per message; with one it is a third of that.
    fn tick(&mut self) -> Instant {
        let now = self.clock.now();
        self.conn.handle_time(now);
        now
    }

    /// Writes until queued output is below the high-water mark (backpressure for sends).
    pub(crate) fn poll_send_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == ws_core::State::Closed {
            return Poll::Ready(Err(Error::Send(ws_core::SendError::Closed)));
        }
        if !self.conn.is_backpressured() {
            return Poll::Ready(Ok(()));
        }
        let high_water = self.conn.config().limits.max_queued_output;
        self.poll_drain(cx, high_water.saturating_sub(1))
    }

    /// Writes until at most `target` bytes of output are queued. Timers keep running meanwhile, so a peer
    /// that stops reading is dropped at the pong or close timeout; and reading goes on (up to the next
    /// event), so two peers that both send more than the socket buffers hold do not wait on each other.
    fn poll_drain(&mut self, cx: &mut Context<'_>, target: usize) -> Poll<Result<(), Error>> {
        loop {
            if self.conn.output().remaining() <= target {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = &self.broken {
                return Poll::Ready(Err(Error::Io(io::Error::new(e.kind(), e.to_string()))));
            }
            if self.conn.is_finished() {
                // The close timeout ran out with output the peer never read.
                self.abandon(cx);
                return Poll::Ready(Err(Error::Send(ws_core::SendError::Closed)));
            }
            match self.poll_write_some(cx) {
                Poll::Ready(Ok(0)) => self.broken = Some(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => self.broken = Some(e),
                Poll::Pending => {
                    if self.poll_timer(cx, None).is_ready() {
                        self.tick();
                        continue;
                    }
                    if self.conn.read_interest() == ReadInterest::None {
                        return Poll::Pending;
                    }
                    ready!(self.poll_read(cx, None));
                }
            }
        }
    }

    /// Drives the connection until it has an event, or it is finished. Pending when waiting for the peer.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        // Buffered frames are parsed lazily, here: timers they start (a close frame's) count from now,
        // not from when their bytes were read, however long the application took to ask.
        let mut now = self.tick();
        self.ticked = true;
        self.poll_early_reply(cx);
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Poll::Ready(Step::Event(event));
            }
            if self.broken.is_none() {
                // A write that cannot finish now must not stop us reading (the peer may be waiting for
                // us to read before it reads); its waker is registered.
                let _ = self.poll_write_out(cx);
            }
            if self.broken.is_some() {
                if !self.conn.is_finished() && self.conn.state() != ws_core::State::Closed {
                    // The transport broke: the core records the loss (it emits the terminal event).
                    self.conn.receive_eof(self.clock.now());
                    continue;
                }
                return Poll::Ready(Step::Finished);
            }
            if self.conn.is_finished() {
                self.abandon(cx);
                return Poll::Ready(Step::Finished);
            }
            if self.poll_timer(cx, Some(now)).is_ready() {
                now = self.tick();
                continue;
            }
            if self.conn.read_interest() != ReadInterest::Read {
                return Poll::Pending;
            }
            ready!(self.poll_read(cx, Some(now)));
        }
    }

    /// Writes what the application queued since the last event at once, rather than with the rest of
    /// the read's replies, when it is one of the early replies ([`EarlyReplies`]).
    fn poll_early_reply(&mut self, cx: &mut Context<'_>) {
        if self.broken.is_none() && self.early.take(self.conn.output().remaining()) {
            // Not ready: the write goes on with the batch (its waker is registered).
            let _ = self.poll_write_out(cx);
        }
    }

    /// Shuts the write side down if the core still asks for it although output is left: the close timeout
    /// gave up on a peer that does not read. Best effort, one attempt: the connection is over.
    fn abandon(&mut self, cx: &mut Context<'_>) {
        if H::poll_shutdown(&mut self.io, &mut self.conn, cx) {
            H::abandon(&mut self.io);
            let _ = Pin::new(&mut self.io).poll_close(cx);
        }
    }

    /// Polls the sleep until the core's next deadline. Ready when it has passed. `now`: the time the
    /// caller has just read, if it has (see [`Alarm::poll`]).
    fn poll_timer(&mut self, cx: &mut Context<'_>, now: Option<Instant>) -> Poll<()> {
        self.alarm
            .poll(&self.timer, self.conn.next_deadline(), now, cx)
    }

    /// Reads once and hands the bytes (or the end of stream) to the core, at `now` (the time this
    /// `poll_event` call read) or, without one, at the clock's time when bytes arrived.
    ///
    /// Reads go into a buffer shared by every connection on the thread: a read that is not ready leaves
    /// nothing in it, so an idle connection holds no read buffer at all, and the core copies what
    /// arrived into its own receive buffer. While a large frame arrives, the core's buffer holds its
    /// payload anyway, and reads go straight into it.
    fn poll_read(&mut self, cx: &mut Context<'_>, now: Option<Instant>) -> Poll<()> {
        let result = match self.poll_read_direct(cx, now) {
            Some(result) => result,
            None => self.poll_read_shared(cx, now),
        };
        let result = ready!(result);
        let reads = READS.get().wrapping_add(1);
        READS.set(reads);
        self.early.on_read(reads);
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => self.broken = Some(e),
        }
        Poll::Ready(())
    }

    /// Reads while a large frame arrives: straight into the core's receive buffer, which holds the
    /// frame's payload so far anyway (no copy out of the shared buffer). `None` when no such frame is
    /// in progress.
    fn poll_read_direct(
        &mut self,
        cx: &mut Context<'_>,
        now: Option<Instant>,
    ) -> Option<Poll<io::Result<()>>> {
        let io = &mut self.io;
        let clock = &self.clock;
        let conn = &mut self.conn;
        // The clock is read only when a direct read applies and brought bytes.
        let polled = conn.receive_direct(
            READ_SIZE,
            || now.unwrap_or_else(|| clock.now()),
            |room| match Pin::new(io).poll_read(cx, room) {
                Poll::Ready(Ok(n)) => (n, Poll::Ready(Ok(n))),
                other => (0, other),
            },
        )?;
        Some(match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                self.conn
                    .receive_eof(now.unwrap_or_else(|| self.clock.now()));
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        })
    }

    /// Reads into the buffer shared by every connection of the thread, and hands the bytes to the core.
    fn poll_read_shared(
        &mut self,
        cx: &mut Context<'_>,
        now: Option<Instant>,
    ) -> Poll<io::Result<()>> {
        READ_BUF.with_borrow_mut(|buf| {
            let n = ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
            // Input may start timers (a close frame, the peer's EOF): from the time it arrived.
            let now = now.unwrap_or_else(|| self.clock.now());
            if n == 0 {
                self.conn.receive_eof(now);
            } else {
                self.conn.receive(&buf[..n], now);
            }
            Poll::Ready(Ok(()))
        })
    }

    /// Flushes everything queued (driving timers while the peer is slow to read).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !std::mem::take(&mut self.ticked) {
            self.tick();
        }
        ready!(self.poll_drain(cx, 0))?;
        ready!(self.poll_write_out(cx)).map_err(Error::Io)?;
        Poll::Ready(Ok(()))
    }

    /// The transport, mutably.
    pub(crate) fn transport_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The transport (the split reader's, with the shared write side).
    pub(crate) fn io(&self) -> &T {
        &self.io
    }

    /// The runtime's timer.
    pub(crate) fn timer(&self) -> &R {
        &self.timer
    }

    /// The transport.
    pub(crate) fn transport(&self) -> &T {
        &self.io
    }

    /// Consumes the engine, returning the transport.
    pub(crate) fn into_transport(self) -> T {
        self.io
    }
}

/// The most runs of output one vectored write gathers (each large payload the core queued by reference
/// makes two, its header and itself; a prepared frame of 64 bytes or more makes one): as many as the
/// core gathers, so that a batch of broadcasts fed together leaves in one write.
const MAX_RUNS: usize = 64;

/// One write of `out`'s bytes: a plain write when they are one run, a vectored write of every run (up to
/// 16) when a large payload is queued by reference between headers. The caller advances `out` by the
/// count returned.
pub(crate) fn poll_write_buf<W: AsyncWrite + ?Sized>(
    io: Pin<&mut W>,
    cx: &mut Context<'_>,
    out: &impl Buf,
) -> Poll<io::Result<usize>> {
    let chunk = out.chunk();
    if chunk.len() == out.remaining() {
        // One run (the usual case): no slices to gather.
        return if chunk.is_empty() {
            Poll::Ready(Ok(0))
        } else {
            io.poll_write(cx, chunk)
        };
    }
    let mut runs = [IoSlice::new(&[]); MAX_RUNS];
    match out.chunks_vectored(&mut runs) {
        0 => Poll::Ready(Ok(0)),
        1 => io.poll_write(cx, out.chunk()),
        n => io.poll_write_vectored(cx, &runs[..n]),
    }
}
