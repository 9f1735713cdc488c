//! The one async run loop: moves bytes between a futures-io transport and a [`ws_core::Connection`], and
//! sleeps until the core's deadlines. Every method is a poll function over state kept in the struct, so the
//! futures built on them can be dropped at any await point without losing data.

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};
use ws_core::{CloseFrame, Connection, Event, Response};

use crate::timer::{Alarm, Timer};
use crate::{Clock, EarlyReplies, Error};

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

/// How a connection ended, kept until the application has seen it.
#[derive(Debug)]
pub(crate) enum Ending {
    Closed(Option<CloseFrame>),
    Failed(ws_core::Error),
    Rejected(Box<Response>),
    Io(io::Error),
}

/// What [`Engine::poll_event`] produced.
pub(crate) enum Step {
    Event(Event),
    /// The connection is over and the transport may be dropped.
    Finished,
}

/// Where a connection's output goes on its way to the transport. A whole connection writes its own
/// output (`()`); the reader of a split connection hands its frames to the sender's queue, which its
/// transport writes on `poll_flush` ([`crate::split`]).
pub(crate) trait Handoff<T> {
    /// Moves `conn`'s queued output to where `io` writes from.
    fn take(_io: &mut T, _conn: &mut Connection) {}

    /// Whether everything taken was written.
    fn written(_io: &T) -> bool {
        true
    }

    /// Whether a connection that [`Connection::is_finished`] is finished with `io` too (what it took
    /// is written, or the close timeout gave up on the peer).
    fn finished(_io: &T, _conn: &Connection) -> bool {
        true
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
    /// Boxed: set once, at the end, and idle connections should not carry its room.
    pub(crate) ending: Option<Box<Ending>>,
    /// The server's shutdown switch, when the connection was given one.
    pub(crate) shutdown: Option<crate::shutdown::Guard>,
    /// Replies written at once after a read while the connection has its thread to itself.
    early: EarlyReplies,
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
            ending: None,
            shutdown: None,
            early: EarlyReplies::default(),
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
            ending: self.ending,
            shutdown: self.shutdown,
            early: self.early,
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
        while !self.conn.output().is_empty() {
            let n = ready!(self.poll_write_some(cx))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_output(n);
            wrote = true;
        }
        if wrote {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        }
        if self.conn.poll_shutdown() {
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

    /// The connection, with the core's clock brought up to date first: a command such as `close` or
    /// `ping` starts timers from the core's idea of "now", which must not be the time of the last read.
    /// (Sends start no timer and go to `conn` directly; the flush that writes them reads the clock.)
    pub(crate) fn command(&mut self) -> &mut Connection {
        self.tick();
        &mut self.conn
    }

    /// One write of queued output: a plain write when it is one run, a vectored write of every run
    /// ([`crate::write_runs`]) when a large payload is queued by reference between headers.
    fn poll_write_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if !self.conn.output_is_split() {
            return Pin::new(&mut self.io).poll_write(cx, self.conn.output());
        }
        let io = &mut self.io;
        crate::write_runs(&self.conn, |runs| {
            Pin::new(io).poll_write_vectored(cx, runs)
        })
    }

    /// Brings the core's clock up to date (firing due timers). The clock is read only where the time
    /// matters: once per `poll_event` and before input is handed to the core (either may start timers),
    /// when a sleep ends, before commands that start timers, and once per flush (so an application
    /// that only sends still fires its keepalive timers); not on every turn of the loops, nor for each
    /// queued message, where reading it cost ~10% of the CPU of a small-message echo.
    fn tick(&mut self) {
        self.conn.handle_time(self.clock.now());
    }

    /// Writes until queued output is below the high-water mark (backpressure for sends).
    pub(crate) fn poll_send_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == ws_core::State::Closed {
            return Poll::Ready(Err(Error::Send(ws_core::SendError::Closed)));
        }
        let high_water = self.conn.config().limits.max_queued_output;
        if self.conn.output_len() < high_water {
            return Poll::Ready(Ok(()));
        }
        self.poll_drain(cx, high_water.saturating_sub(1))
    }

    /// Writes until at most `target` bytes of output are queued. Timers keep running meanwhile, so a peer
    /// that stops reading is dropped at the pong or close timeout; and reading goes on (up to the next
    /// event), so two peers that both send more than the socket buffers hold do not wait on each other.
    fn poll_drain(&mut self, cx: &mut Context<'_>, target: usize) -> Poll<Result<(), Error>> {
        loop {
            if self.conn.output_len() <= target {
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
                Poll::Ready(Ok(n)) => self.conn.advance_output(n),
                Poll::Ready(Err(e)) => self.broken = Some(e),
                Poll::Pending => {
                    if self.poll_timer(cx).is_ready() {
                        self.tick();
                        continue;
                    }
                    if !self.conn.wants_read_while_sending() {
                        return Poll::Pending;
                    }
                    ready!(self.poll_read(cx));
                }
            }
        }
    }

    /// Drives the connection until it has an event, or it is finished. Pending when waiting for the peer.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        // Buffered frames are parsed lazily, here: timers they start (a close frame's) count from now,
        // not from when their bytes were read, however long the application took to ask.
        self.tick();
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
                    // Let the core record the loss (it emits the terminal event).
                    self.conn.receive_eof();
                    continue;
                }
                return Poll::Ready(Step::Finished);
            }
            if self.conn.is_finished() && H::finished(&self.io, &self.conn) {
                self.abandon(cx);
                return Poll::Ready(Step::Finished);
            }
            if self.failed() && self.conn.output().is_empty() && self.write_closed {
                // A failed connection has nothing more to say: once its close frame (or HTTP error) is
                // written and the write side shut, report the failure instead of waiting for the peer.
                return Poll::Ready(Step::Finished);
            }
            if self.poll_timer(cx).is_ready() {
                self.tick();
                continue;
            }
            if !self.conn.wants_read() {
                return Poll::Pending;
            }
            ready!(self.poll_read(cx));
        }
    }

    /// Writes what the application queued since the last event at once, rather than with the rest of
    /// the read's replies, when it is one of the early replies ([`EarlyReplies`]).
    fn poll_early_reply(&mut self, cx: &mut Context<'_>) {
        if self.broken.is_none() && self.early.take(self.conn.output_len()) {
            // Not ready: the write goes on with the batch (its waker is registered).
            let _ = self.poll_write_out(cx);
        }
    }

    /// Shuts the write side down if the core still asks for it although output is left: the close timeout
    /// gave up on a peer that does not read. Best effort, one attempt: the connection is over.
    fn abandon(&mut self, cx: &mut Context<'_>) {
        if self.conn.poll_shutdown() {
            H::abandon(&mut self.io);
            let _ = Pin::new(&mut self.io).poll_close(cx);
        }
    }

    /// Polls the sleep until the core's next deadline. Ready when it has passed.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.alarm.poll(&self.timer, self.conn.next_deadline(), cx)
    }

    /// Reads once and hands the bytes (or the end of stream) to the core.
    ///
    /// Reads go into a buffer shared by every connection on the thread: a read that is not ready leaves
    /// nothing in it, so an idle connection holds no read buffer at all, and the core copies what
    /// arrived into its own receive buffer. While a large frame arrives, the core's buffer holds its
    /// payload anyway, and reads go straight into it.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let result = match self.poll_read_direct(cx) {
            Some(result) => result,
            None => self.poll_read_shared(cx),
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
    fn poll_read_direct(&mut self, cx: &mut Context<'_>) -> Option<Poll<io::Result<()>>> {
        if !self.conn.wants_direct_read() {
            return None;
        }
        // Input may start timers: read the clock first (a direct read is at least 16 KiB of payload).
        self.conn.handle_time(self.clock.now());
        let io = &mut self.io;
        let polled =
            self.conn
                .receive_direct(READ_SIZE, |room| match Pin::new(io).poll_read(cx, room) {
                    Poll::Ready(Ok(n)) => (n, Poll::Ready(Ok(n))),
                    other => (0, other),
                })?;
        Some(match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                self.conn.receive_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        })
    }

    /// Reads into the buffer shared by every connection of the thread, and hands the bytes to the core.
    fn poll_read_shared(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        READ_BUF.with_borrow_mut(|buf| {
            let n = ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
            // Input may start timers (a close frame, the peer's EOF): from the time it arrived.
            self.conn.handle_time(self.clock.now());
            if n == 0 {
                self.conn.receive_eof();
            } else {
                self.conn.receive(&buf[..n]);
            }
            Poll::Ready(Ok(()))
        })
    }

    /// Flushes everything queued (driving timers while the peer is slow to read).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.tick();
        ready!(self.poll_drain(cx, 0))?;
        ready!(self.poll_write_out(cx)).map_err(Error::Io)?;
        Poll::Ready(Ok(()))
    }

    /// Whether the connection ended in failure or rejection (not a clean close).
    fn failed(&self) -> bool {
        matches!(
            self.ending.as_deref(),
            Some(Ending::Failed(_) | Ending::Rejected(_))
        )
    }

    /// Records a terminal event.
    pub(crate) fn record_ending(&mut self, event: Event) {
        let ending = match event {
            Event::Closed(frame) => Ending::Closed(frame),
            Event::Failed(e) => Ending::Failed(e),
            Event::Rejected(r) => Ending::Rejected(r),
            _ => return,
        };
        self.ending.get_or_insert_with(|| Box::new(ending));
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
