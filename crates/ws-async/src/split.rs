//! Reader and writer halves of a [`WebSocket`], for use from different tasks.
//!
//! The connection is split in the core ([`ws_core::Connection::split_sender`]) and the transport with
//! it ([`SplitIo`]). The reader owns the connection (receiving, answering pings and close frames,
//! timers) and the reading half of the transport: it reads and parses with no lock. The writer's
//! [`Sender`] frames the data messages. The writing half of the transport and the sender's output
//! queue are behind one mutex, held for one synchronous poll step (never across an await) by whoever
//! writes: the writer for its messages, the reader only when it has frames of its own (pongs, close
//! replies, keepalive pings), which it hands to the sender's queue.
//!
//! Both halves may poll the writing half, so its wake-ups go to a combined, lock-free waker (an
//! `AtomicWaker` per half) that wakes both: neither can miss its wake-up.
//!
//! The reader runs the connection's timers, which also notice a peer that stopped reading while the
//! writer waits on it. If the reader is dropped, the writer runs the sender's own timer instead
//! ([`Sender::handle_time`]): a write that makes no progress for the pong timeout fails.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker, ready};

use atomic_waker::AtomicWaker;
use bytes::Buf;
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use ws_core::{CloseCode, Connection, Message, Outgoing, SendError, SendOptions, Sender};

use ws_adapter::{Clock, Error, Result};

use crate::engine::{Handoff, poll_write_buf};
use crate::session::Session;
use crate::split_io::SplitIo;
use crate::timer::{Alarm, Timer};
use crate::websocket::WebSocket;

/// Which half registered a waker.
const READER: usize = 0;
const WRITER: usize = 1;

/// Wakes the reader's and the writer's task. Lock-free: one `AtomicWaker` per half.
#[derive(Default)]
struct WakeBoth {
    wakers: [AtomicWaker; 2],
}

impl Wake for WakeBoth {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        for waker in &self.wakers {
            waker.wake();
        }
    }
}

/// The writing half of the transport with the sender and its queue. `sender` is `None` when the
/// connection could not be split (it was no longer open): the reader then writes its connection's own
/// output, and the writer's sends fail.
struct WriteSide<W> {
    io: W,
    sender: Option<Sender>,
    /// Why the connection could not be split.
    unsplit: Option<SendError>,
    /// A write error: the transport is broken for both halves.
    broken: Option<io::Error>,
    /// The connection gave up on a peer that does not read: what the queue holds is dropped.
    abandoned: bool,
    /// The reader waits for the writing half (to write frames of its own).
    reader_waits: bool,
}

/// How far to write the sender's queue down.
#[derive(Clone, Copy)]
enum Until {
    Empty,
    BelowHighWater,
}

impl<W: AsyncWrite + Unpin> WriteSide<W> {
    /// Writes the sender's queue `until` it is short enough, then flushes.
    fn poll_write_queue(&mut self, cx: &mut Context<'_>, until: Until) -> Poll<io::Result<()>> {
        if let Some(e) = &self.broken {
            return Poll::Ready(Err(io::Error::new(e.kind(), e.to_string())));
        }
        let result = ready!(self.poll_write_queue_inner(cx, until));
        if let Err(e) = &result {
            self.broken = Some(io::Error::new(e.kind(), e.to_string()));
        }
        Poll::Ready(result)
    }

    /// [`WriteSide::poll_write_queue`] for the reader: all of it, noting whether the reader waits.
    fn poll_reader_queue(&mut self, both: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = self.poll_write_queue(both, Until::Empty);
        self.reader_waits = polled.is_pending();
        polled
    }

    fn poll_write_queue_inner(
        &mut self,
        cx: &mut Context<'_>,
        until: Until,
    ) -> Poll<io::Result<()>> {
        if self.abandoned {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            )));
        }
        let Some(sender) = self.sender.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut wrote = false;
        while match until {
            Until::Empty => sender.output().has_remaining(),
            Until::BelowHighWater => sender.is_backpressured(),
        } {
            let mut out = sender.output();
            let n = ready!(poll_write_buf(Pin::new(&mut self.io), cx, &out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            out.advance(n);
            wrote = true;
        }
        if wrote {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

/// What the halves share.
struct Shared<W> {
    write: Mutex<WriteSide<W>>,
    wake: Arc<WakeBoth>,
    /// Wakes both halves: given to the writing half of the transport.
    waker: Waker,
    /// The reader saw the connection end: a writer waiting on a peer that does not read gives up.
    ended: AtomicBool,
    /// A write of the writer's was dropped before it finished (its future was cancelled): the reader
    /// writes what it left, so that it does not sit unsent while the writer idles.
    orphaned: AtomicBool,
}

impl<W> Shared<W> {
    /// The write side, for `half`, whose task is woken with the other's.
    fn lock(&self, half: usize, cx: &Context<'_>) -> MutexGuard<'_, WriteSide<W>> {
        self.wake.wakers[half].register(cx.waker());
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_quiet(&self) -> MutexGuard<'_, WriteSide<W>> {
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The reader's transport: the reading half, and the shared write side its engine writes through.
pub(crate) struct ReaderIo<Rd, W> {
    read: Rd,
    shared: Arc<Shared<W>>,
    /// Frames were handed to the sender's queue and not yet seen written.
    handed: bool,
}

/// The split reader's [`Handoff`]: its connection's frames go to the sender's queue.
pub(crate) struct ToSender;

impl<Rd, W: AsyncWrite + Unpin> Handoff<ReaderIo<Rd, W>> for ToSender {
    fn take(io: &mut ReaderIo<Rd, W>, conn: &mut Connection) {
        let orphaned = io.shared.orphaned.load(Ordering::Acquire);
        if !conn.output().has_remaining() && !orphaned {
            return;
        }
        if orphaned {
            io.shared.orphaned.store(false, Ordering::Release);
        }
        let mut side = io.shared.lock_quiet();
        if let Some(sender) = side.sender.as_mut() {
            conn.hand_output_to(sender);
            // Written (with whatever the writer left) by the engine's flush.
            io.handed = sender.output().has_remaining();
        }
    }

    fn written(io: &ReaderIo<Rd, W>) -> bool {
        !io.handed
    }

    fn abandon(io: &mut ReaderIo<Rd, W>) {
        io.shared.lock_quiet().abandoned = true;
        io.handed = false;
    }

    fn poll_shutdown(
        io: &mut ReaderIo<Rd, W>,
        conn: &mut Connection,
        cx: &mut Context<'_>,
    ) -> bool {
        if conn.state() != ws_core::State::Closed {
            return false; // Only an ended connection asks for it: no lock before.
        }
        let shared = &io.shared;
        let mut side = shared.lock(READER, cx);
        let Some(sender) = side.sender.as_mut() else {
            return conn.poll_shutdown();
        };
        conn.hand_output_to(sender);
        if sender.output().has_remaining() {
            // What the writer left goes first; the shutdown waits for it.
            let mut both = Context::from_waker(&shared.waker);
            if side.poll_reader_queue(&mut both).is_pending() {
                return false;
            }
        }
        side.sender.as_mut().is_some_and(Sender::poll_shutdown)
    }
}

impl<Rd: AsyncRead + Unpin, W> AsyncRead for ReaderIo<Rd, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().read).poll_read(cx, buf)
    }
}

impl<Rd: Unpin, W: AsyncWrite + Unpin> AsyncWrite for ReaderIo<Rd, W> {
    /// Writes bytes of the connection's own (only when it could not be split: otherwise its output
    /// goes to the sender's queue), behind what the queue holds.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.get_mut().shared;
        let mut side = shared.lock(READER, cx);
        let mut both = Context::from_waker(&shared.waker);
        ready!(side.poll_reader_queue(&mut both))?;
        let written = Pin::new(&mut side.io).poll_write(&mut both, buf);
        side.reader_waits = written.is_pending();
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut side = this.shared.lock(READER, cx);
        let mut both = Context::from_waker(&this.shared.waker);
        ready!(side.poll_reader_queue(&mut both))?;
        ready!(Pin::new(&mut side.io).poll_flush(&mut both))?;
        this.handed = false;
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut side = this.shared.lock(READER, cx);
        let mut both = Context::from_waker(&this.shared.waker);
        if !side.abandoned {
            ready!(side.poll_reader_queue(&mut both))?;
        }
        this.handed = false;
        Pin::new(&mut side.io).poll_close(&mut both)
    }
}

/// Armed while the writer writes its queue: dropped before the write finished (the future was
/// cancelled), it hands what is left to the reader.
struct Orphan<'a, W>(&'a Shared<W>);

impl<W> Drop for Orphan<'_, W> {
    fn drop(&mut self) {
        self.0.orphaned.store(true, Ordering::Release);
        self.0.wake.wakers[READER].wake();
    }
}

/// Both halves, given back by a failed [`Reader::reunite`].
pub(crate) type Halves<T, R> = (Reader<T, R>, Writer<T, R>);

/// The receiving half: `recv`, `Stream`. It owns the connection: it answers pings and close frames
/// and runs the timers.
pub struct Reader<T: SplitIo, R: Timer> {
    session: Session<ReaderIo<T::ReadHalf, T::WriteHalf>, R, ToSender>,
}

/// The sending half: `send`, `close`, `Sink`.
pub struct Writer<T: SplitIo, R: Timer> {
    shared: Arc<Shared<T::WriteHalf>>,
    stall: Stall<R>,
}

impl<T: SplitIo, R: Timer> core::fmt::Debug for Reader<T, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl<T: SplitIo, R: Timer> core::fmt::Debug for Writer<T, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// Runs the sender's timer (once the reader is dropped, see [`Sender::handle_time`]).
struct Stall<R: Timer> {
    timer: R,
    alarm: Alarm<R>,
}

impl<T: SplitIo, R: Timer> WebSocket<T, R> {
    /// Splits into a reader and a writer that can be used from different tasks. Pongs and close replies
    /// stay automatic (the reader answers them); `Writer::close` starts the close handshake and the
    /// reader sees its end.
    ///
    /// The split happens in the core ([`ws_core::Connection::split_sender`]) and in the transport
    /// ([`SplitIo`]: TCP halves share no lock; TLS halves share the session): the reader reads
    /// and parses with no lock. The writing half of the transport and the writer's queue are behind a
    /// mutex held for one synchronous poll step, never across an await, by the writer, or by the reader
    /// when it has pongs or close replies to write. A connection that is no longer open (or is in the
    /// middle of a fragmented message) splits into a reader that works as before and a writer whose
    /// sends fail.
    pub fn split(self) -> (Reader<T, R>, Writer<T, R>) {
        let mut session = self.session;
        let engine = &mut session.engine;
        let (sender, unsplit) = match engine.conn.split_sender() {
            Ok(sender) => (Some(sender), None),
            Err(e) => (None, Some(e)),
        };
        let broken = engine
            .broken
            .as_ref()
            .map(|e| io::Error::new(e.kind(), e.to_string()));
        let wake = Arc::new(WakeBoth::default());
        let mut shared = None;
        let session = session.map_io(|io: T| {
            let (read, write) = io.split_io();
            let side = Arc::new(Shared {
                write: Mutex::new(WriteSide {
                    io: write,
                    sender,
                    unsplit,
                    broken,
                    abandoned: false,
                    reader_waits: false,
                }),
                waker: Waker::from(wake.clone()),
                wake,
                ended: AtomicBool::new(false),
                orphaned: AtomicBool::new(false),
            });
            shared = Some(side.clone());
            ReaderIo {
                read,
                shared: side,
                handed: false,
            }
        });
        let shared = shared.expect("the transport was split");
        let writer = Writer {
            shared,
            stall: Stall {
                timer: session.engine.timer().clone(),
                alarm: Alarm::default(),
            },
        };
        (Reader { session }, writer)
    }
}

impl<T: SplitIo, R: Timer> Reader<T, R> {
    /// Receives the next message (see [`WebSocket::recv`]).
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`Reader::recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let polled = self.session.poll_recv(cx);
        if self.session.is_done()
            && !self
                .session
                .engine
                .io()
                .shared
                .ended
                .load(Ordering::Acquire)
        {
            // A writer waiting on a peer that does not read gives up now.
            let shared = &self.session.engine.io().shared;
            shared.ended.store(true, Ordering::Release);
            shared.waker.wake_by_ref();
        }
        polled
    }

    /// The connection's state.
    pub fn state(&self) -> ws_core::State {
        self.session.engine.conn.state()
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<ws_core::CloseFrame> {
        self.session.close_frame().cloned()
    }

    /// Puts the halves back together. Fails (giving them back) if they came from different connections.
    // The halves come back by value on the (cold) mismatch path, as `Result` gives them.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        self,
        writer: Writer<T, R>,
    ) -> std::result::Result<WebSocket<T, R>, Halves<T, R>> {
        if !Arc::ptr_eq(&self.session.engine.io().shared, &writer.shared) {
            return Err((self, writer));
        }
        drop(writer);
        let Reader { session } = self;
        let mut side = None;
        let mut session = session.map_io(|io: ReaderIo<T::ReadHalf, T::WriteHalf>| {
            let shared = Arc::try_unwrap(io.shared)
                .ok()
                .expect("the writer was dropped");
            let write = shared
                .write
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            let joined = T::unsplit_io(io.read, write.io);
            side = Some((write.sender, write.broken));
            joined
        });
        let (sender, broken) = side.expect("the transport was joined");
        let engine = &mut session.engine;
        if let Some(sender) = sender
            && engine.conn.reunite(sender).is_err()
        {
            unreachable!("the sender was split off this connection");
        }
        if engine.broken.is_none() {
            engine.broken = broken;
        }
        Ok(WebSocket { session })
    }
}

impl<T: SplitIo, R: Timer> Writer<T, R> {
    /// Sends a message (see [`WebSocket::send`]); always writes before returning.
    pub async fn send(&mut self, message: impl Into<Outgoing>) -> Result<()> {
        let message = message.into();
        self.queue(|sender| sender.send(&message)).await?;
        self.flush().await
    }

    /// Sends with per-message options.
    pub async fn send_with(
        &mut self,
        message: impl Into<Outgoing>,
        options: SendOptions,
    ) -> Result<()> {
        let message = message.into();
        self.queue(|sender| sender.send_with(&message, options))
            .await?;
        self.flush().await
    }

    /// Queues a message without writing it; `flush` writes.
    pub async fn feed(&mut self, message: impl Into<Outgoing>) -> Result<()> {
        let message = message.into();
        self.queue(|sender| sender.send(&message)).await
    }

    /// Sends a ping; the pong is consumed by the reader.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.queue(|sender| sender.ping(payload)).await?;
        self.flush().await
    }

    /// Starts the close handshake and writes the close frame. The reader's `recv` ends when the peer
    /// answers (or the close timeout runs out).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        match self.queue(|sender| sender.close(code, reason)).await {
            Ok(()) | Err(Error::Send(SendError::Closed)) => {}
            Err(e) => return Err(e),
        }
        // The reader learns of the close at its next step, and starts its close timer then.
        self.shared.wake.wakers[READER].wake();
        self.flush().await
    }

    /// Writes everything queued. If this future is dropped before it finishes, the reader writes
    /// what is left (when it next runs).
    pub async fn flush(&mut self) -> Result<()> {
        let Writer { shared, stall } = self;
        let orphan = Orphan(shared);
        let result = poll_fn(|cx| poll_drain(shared, stall, cx, Until::Empty)).await;
        std::mem::forget(orphan);
        result
    }

    /// The connection's state as far as the writer knows (`Closing` once either half sent a close
    /// frame).
    pub fn state(&self) -> ws_core::State {
        let side = self.shared.lock_quiet();
        match &side.sender {
            Some(sender) => sender.state(),
            None => ws_core::State::Closed,
        }
    }

    /// Queues with `f` once the queue is below the high-water mark. Cancel-safe: `f` runs once, when
    /// the future completes.
    async fn queue(
        &mut self,
        f: impl FnOnce(&mut Sender) -> std::result::Result<(), SendError>,
    ) -> Result<()> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.with_sender(f)
    }

    fn with_sender(
        &self,
        f: impl FnOnce(&mut Sender) -> std::result::Result<(), SendError>,
    ) -> Result<()> {
        let mut side = self.shared.lock_quiet();
        let unsplit = side.unsplit;
        match side.sender.as_mut() {
            Some(sender) => f(sender).map_err(Error::from),
            None => Err(Error::Send(unsplit.unwrap_or(SendError::Closed))),
        }
    }

    /// Ready once the queue is below the high-water mark.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_drain(cx, Until::BelowHighWater)
    }

    /// Writes the queue `until` it is short enough. While the peer does not read, waits for the
    /// socket, or for the reader to see the connection end (then gives up); once the reader is
    /// dropped, for the sender's own timer.
    fn poll_drain(&mut self, cx: &mut Context<'_>, until: Until) -> Poll<Result<()>> {
        poll_drain(&self.shared, &mut self.stall, cx, until)
    }
}

/// [`Writer::poll_drain`], on the writer's parts.
fn poll_drain<W: AsyncWrite + Unpin, R: Timer>(
    shared: &Shared<W>,
    stall: &mut Stall<R>,
    cx: &mut Context<'_>,
    until: Until,
) -> Poll<Result<()>> {
    let mut side = shared.write.lock().unwrap_or_else(PoisonError::into_inner);
    // Registered either way: the reader wakes the writer when the connection ends.
    shared.wake.wakers[WRITER].register(cx.waker());
    // The writer alone waits on the writing half with its own waker; while the reader waits on it
    // too (for frames of its own), with the waker that wakes both (a transport keeps one waker per
    // direction: the reader's must not be lost).
    let reader_waits = side.reader_waits;
    let polled = if reader_waits {
        side.poll_write_queue(&mut Context::from_waker(&shared.waker), until)
    } else {
        side.poll_write_queue(cx, until)
    };
    match polled {
        Poll::Ready(result) => {
            if reader_waits
                && side
                    .sender
                    .as_mut()
                    .is_some_and(|s| !s.output().has_remaining())
            {
                // The reader's frames went out with ours.
                side.reader_waits = false;
                shared.wake.wakers[READER].wake();
            }
            Poll::Ready(result.map_err(Error::Io))
        }
        Poll::Pending if shared.ended.load(Ordering::Acquire) => {
            Poll::Ready(Err(Error::Send(SendError::Closed)))
        }
        Poll::Pending => {
            let Some(sender) = side.sender.as_mut() else {
                return Poll::Pending;
            };
            if let Err(e) = sender.handle_time(Clock::start().now()) {
                side.abandoned = true;
                return Poll::Ready(Err(Error::Failed(e)));
            }
            let deadline = sender.next_deadline();
            drop(side);
            if stall
                .alarm
                .poll(&stall.timer, deadline, None, cx)
                .is_ready()
            {
                // The sender's deadline passed: the next poll gives up.
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }
}

impl<T: SplitIo, R: Timer> Stream for Reader<T, R> {
    type Item = Result<Message>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T: SplitIo, R: Timer> Sink<Message> for Writer<T, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        self.get_mut().with_sender(|sender| sender.send(&item))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_drain(cx, Until::Empty)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let closed = this.with_sender(|sender| sender.close(CloseCode::NORMAL, ""));
        if closed.is_ok() {
            this.shared.wake.wakers[READER].wake();
        }
        this.poll_drain(cx, Until::Empty)
    }
}
