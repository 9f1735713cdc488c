//! The connection type every async adapter hands out: `send`/`recv`/`close`, `Stream` + `Sink`, `split`.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use ws_core::{CloseCode, CloseFrame, Connection, Event, Message, SendOptions, State};

use crate::engine::{Engine, Handoff, Step};
use crate::split::{Reader, Writer, split};
use crate::timer::Timer;
use crate::{Error, Result};

/// An open WebSocket connection over transport `T` on a runtime whose timer is `R`.
///
/// All methods are cancel-safe: dropping a `recv()` or `send()` future at an await point loses no message
/// and corrupts no frame (their state lives in the connection, not in the future).
///
/// Writes are coalesced: `feed` queues without writing, `flush` writes, and `recv` writes whatever is
/// queued before it waits for input, so an echo loop of `recv` + `feed` answers every message that arrived
/// in one read with one write. (A connection that has its thread to itself writes the first four replies
/// of a read at once, each on its own, so its peer is not kept waiting for the whole batch.) `send` is
/// `feed` + `flush`: it never leaves a message sitting unsent.
pub struct WebSocket<T, R: Timer> {
    pub(crate) engine: Engine<T, R>,
    done: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> WebSocket<T, R> {
    pub(crate) fn from_engine(engine: Engine<T, R>) -> Self {
        WebSocket {
            engine,
            done: false,
        }
    }

    pub(crate) fn from_parts(engine: Engine<T, R>, done: bool) -> Self {
        WebSocket { engine, done }
    }

    pub(crate) fn into_parts(self) -> (Engine<T, R>, bool) {
        (self.engine, self.done)
    }

    /// Receives the next message. `None` once the connection has closed cleanly (see
    /// [`WebSocket::close_frame`] for the peer's code and reason); `Some(Err(_))` once if it failed.
    /// Pings are answered and closes echoed automatically while waiting.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`WebSocket::recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        poll_recv(&mut self.engine, &mut self.done, cx)
    }

    /// Sends a message: waits while queued output is above the high-water mark, queues the message, and
    /// writes everything queued before returning. To batch replies, use [`WebSocket::feed`]: `recv` writes
    /// whatever is queued before it waits for input.
    pub fn send(&mut self, message: impl Into<Message>) -> impl Future<Output = Result<()>> + '_ {
        self.send_with(message.into(), SendOptions::default())
    }

    /// [`WebSocket::send`] with per-message options (e.g. no compression).
    // Not an `async fn`: that would store the message twice in the future (rust-lang/rust#62958), and
    // every task that awaits a send carries the room for it even while it idles in `recv`.
    #[allow(clippy::manual_async_fn)]
    pub fn send_with(
        &mut self,
        message: Message,
        options: SendOptions,
    ) -> impl Future<Output = Result<()>> + '_ {
        async move {
            poll_fn(|cx| self.engine.poll_send_ready(cx)).await?;
            self.engine.conn.send_with(&message, options)?;
            self.flush().await
        }
    }

    /// Queues a message without writing it (after waiting for backpressure); `flush` writes, and so does
    /// the next `recv` before it waits for input.
    pub fn feed(&mut self, message: impl Into<Message>) -> impl Future<Output = Result<()>> + '_ {
        let message = message.into(); // converted once, stored once (see `send_with`)
        async move {
            poll_fn(|cx| self.engine.poll_send_ready(cx)).await?;
            self.engine.conn.send(&message)?;
            Ok(())
        }
    }

    /// Sends one fragment of a message sent piece by piece (see [`Connection::send_fragment`]).
    pub async fn send_fragment(
        &mut self,
        kind: ws_core::DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<()> {
        poll_fn(|cx| self.engine.poll_send_ready(cx)).await?;
        self.engine.conn.send_fragment(kind, data, fin)?;
        self.flush().await
    }

    /// Sends a ping (payload at most 125 bytes); the pong is consumed by `recv`.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.engine.conn.ping(payload)?;
        self.flush().await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.engine.poll_flush(cx)).await
    }

    /// Closes: sends a close frame with `code` and `reason`, then keeps reading (discarding messages) until
    /// the peer's close frame arrives and the transport closes, or the close timeout runs out.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        let now = self.engine.now();
        match self.engine.conn.close(code, reason, now) {
            Ok(()) | Err(ws_core::SendError::Closed) => {}
            Err(e) => return Err(e.into()),
        }
        while let Some(item) = self.recv().await {
            item?;
        }
        Ok(())
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.engine.close_frame()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.engine.conn.state()
    }

    /// The negotiated subprotocol.
    pub fn subprotocol(&self) -> Option<&str> {
        self.engine.conn.subprotocol()
    }

    /// The negotiated extensions.
    pub fn extensions(&self) -> Option<&str> {
        self.engine.conn.extensions()
    }

    /// The protocol engine (for statistics and advanced use).
    pub fn connection(&self) -> &Connection {
        &self.engine.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        self.engine.transport()
    }

    /// The transport, mutably (do not read or write it directly).
    pub fn get_mut(&mut self) -> &mut T {
        self.engine.transport_mut()
    }

    /// Splits into a reader and a writer that can be used from different tasks. Pongs and close replies
    /// stay automatic (the reader answers them); `Writer::close` starts the close handshake and the
    /// reader sees its end.
    ///
    /// The split happens in the core ([`ws_core::Connection::split_sender`]) and in the transport
    /// ([`crate::SplitIo`]: TCP halves share no lock; TLS halves share the session): the reader reads
    /// and parses with no lock. The writing half of the transport and the writer's queue are behind a
    /// mutex held for one synchronous poll step, never across an await, by the writer, or by the reader
    /// when it has pongs or close replies to write. A connection that is no longer open (or is in the
    /// middle of a fragmented message) splits into a reader that works as before and a writer whose
    /// sends fail.
    pub fn split(self) -> (Reader<T, R>, Writer<T, R>)
    where
        T: crate::SplitIo,
    {
        split(self)
    }

    /// Ties this connection to a server's [`crate::Shutdown`] switch: when it is triggered, `recv` starts
    /// the close handshake with 1001, and [`crate::Shutdown::idle`] waits for this connection to end.
    pub fn with_shutdown(self, shutdown: &crate::Shutdown) -> Self {
        self.with_guard(shutdown.enter())
    }

    pub(crate) fn with_guard(mut self, guard: crate::shutdown::Guard) -> Self {
        self.engine.shutdown = Some(guard);
        self
    }

    /// Gives back the transport (for example after the close handshake).
    pub fn into_inner(self) -> T {
        self.engine.into_transport()
    }
}

/// The receive loop shared by [`WebSocket`] and the split reader.
pub(crate) fn poll_recv<T: AsyncRead + AsyncWrite + Unpin, R: Timer, H: Handoff<T>>(
    engine: &mut Engine<T, R, H>,
    done: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Message>>> {
    if *done {
        return Poll::Ready(None);
    }
    let shutting_down = match &mut engine.shutdown {
        Some(guard) if guard.shutdown.is_triggered() => true,
        Some(guard) => {
            guard.register(cx.waker());
            false
        }
        None => false,
    };
    if shutting_down && engine.conn.state() == State::Open {
        let now = engine.now();
        let _ = engine
            .conn
            .close(CloseCode::GOING_AWAY, "server shutting down", now);
    }
    loop {
        match ready!(engine.poll_event(cx)) {
            Step::Event(Event::Message(message)) => return Poll::Ready(Some(Ok(message))),
            Step::Event(_) => {}
            Step::Finished => {
                *done = true;
                return Poll::Ready(engine.ending());
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> Stream for WebSocket<T, R> {
    type Item = Result<Message>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> Sink<Message> for WebSocket<T, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().engine.poll_send_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        self.get_mut().engine.conn.send(&item).map_err(Error::from)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().engine.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.engine.conn.state() == State::Open {
            let now = this.engine.now();
            let _ = this.engine.conn.close(CloseCode::NORMAL, "", now);
        }
        loop {
            match ready!(this.poll_recv(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(())),
            }
        }
    }
}
