//! The connection type every async adapter hands out: `send`/`recv`/`close`, `Stream` + `Sink` (its
//! `split` is in the `split` module, which builds the halves out of it).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use ws_adapter::{Error, Result};
use ws_core::{CloseCode, CloseFrame, Connection, Message, Outgoing, SendOptions, State};

use crate::engine::Engine;
use crate::session::Session;
use crate::shutdown::{Guard, Shutdown};
use crate::timer::Timer;

/// An open WebSocket connection over transport `T` on a runtime whose timer is `R`.
///
/// All methods are cancel-safe: dropping a `recv()` or `send()` future at an await point loses no message
/// and corrupts no frame (their state lives in the connection, not in the future).
///
/// Writes are coalesced: `feed` queues without writing, `flush` writes, and `recv` writes whatever is
/// queued before it waits for input, so an echo loop of `recv` + `feed` answers every message that arrived
/// in one read with one write. (A connection that has its thread to itself writes replies at once, each
/// on its own, so its peer is not kept waiting for the whole batch: all of a read's replies while its
/// reads bring 8 messages or fewer, else the first four.) `send` is
/// `feed` + `flush`: it never leaves a message sitting unsent.
pub struct WebSocket<T, R: Timer> {
    pub(crate) session: Session<T, R>,
}

impl<T, R: Timer> core::fmt::Debug for WebSocket<T, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket").finish_non_exhaustive()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> WebSocket<T, R> {
    pub(crate) fn from_engine(engine: Engine<T, R>) -> Self {
        WebSocket {
            session: Session::new(engine),
        }
    }

    /// Receives the next message. `None` once the connection has closed cleanly (see
    /// [`WebSocket::close_frame`] for the peer's code and reason); `Some(Err(_))` once if it failed.
    /// Pings are answered and closes echoed automatically while waiting.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`WebSocket::recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        self.session.poll_recv(cx)
    }

    /// Sends a message: waits while queued output is above the high-water mark, queues the message, and
    /// writes everything queued before returning. To batch replies, use [`WebSocket::feed`]: `recv` writes
    /// whatever is queued before it waits for input. Takes anything that converts into a [`Message`],
    /// or a [`ws_core::PreparedMessage`] (framed once for many connections).
    pub fn send(&mut self, message: impl Into<Outgoing>) -> impl Future<Output = Result<()>> + '_ {
        self.send_with(message, SendOptions::default())
    }

    /// [`WebSocket::send`] with per-message options (e.g. no compression).
    // Not an `async fn`: that would store the message twice in the future (rust-lang/rust#62958), and
    // every task that awaits a send carries the room for it even while it idles in `recv`.
    #[allow(clippy::manual_async_fn)]
    pub fn send_with(
        &mut self,
        message: impl Into<Outgoing>,
        options: SendOptions,
    ) -> impl Future<Output = Result<()>> + '_ {
        let message = message.into(); // converted once, stored once
        async move {
            poll_fn(|cx| self.session.engine.poll_send_ready(cx)).await?;
            self.session.engine.conn.send_with(&message, options)?;
            self.flush().await
        }
    }

    /// Queues a message without writing it (after waiting for backpressure); `flush` writes, and so does
    /// the next `recv` before it waits for input.
    pub fn feed(&mut self, message: impl Into<Outgoing>) -> impl Future<Output = Result<()>> + '_ {
        let message = message.into(); // converted once, stored once (see `send_with`)
        async move {
            poll_fn(|cx| self.session.engine.poll_send_ready(cx)).await?;
            self.session.engine.conn.send(&message)?;
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
        poll_fn(|cx| self.session.engine.poll_send_ready(cx)).await?;
        self.session.engine.conn.send_fragment(kind, data, fin)?;
        self.flush().await
    }

    /// Sends a ping (payload at most 125 bytes); the pong is consumed by `recv`.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.session.engine.conn.ping(payload)?;
        self.flush().await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.session.poll_flush(cx)).await
    }

    /// Closes: sends a close frame with `code` and `reason`, then keeps reading (discarding messages) until
    /// the peer's close frame arrives and the transport closes, or the close timeout runs out.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.session.close(code, reason).await
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.session.close_frame()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.session.engine.conn.state()
    }

    /// The negotiated subprotocol.
    pub fn subprotocol(&self) -> Option<&str> {
        self.session.engine.conn.subprotocol()
    }

    /// The negotiated extensions.
    pub fn extensions(&self) -> Option<&str> {
        self.session.engine.conn.extensions()
    }

    /// The protocol engine (for statistics and advanced use).
    pub fn connection(&self) -> &Connection {
        &self.session.engine.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        self.session.engine.transport()
    }

    /// The transport, mutably (do not read or write it directly).
    pub fn get_mut(&mut self) -> &mut T {
        self.session.engine.transport_mut()
    }

    /// Ties this connection to a server's [`crate::Shutdown`] switch: when it is triggered, `recv` starts
    /// the close handshake with 1001, and [`crate::Shutdown::idle`] waits for this connection to end.
    pub fn with_shutdown(self, shutdown: &Shutdown) -> Self {
        self.with_guard(shutdown.enter())
    }

    pub(crate) fn with_guard(mut self, guard: Guard) -> Self {
        self.session.set_guard(guard);
        self
    }

    /// Gives back the transport (for example after the close handshake).
    pub fn into_inner(self) -> T {
        self.session.engine.into_transport()
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
        self.get_mut().session.engine.poll_send_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        self.get_mut()
            .session
            .engine
            .conn
            .send(&item)
            .map_err(Error::from)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().session.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().session.poll_close(cx)
    }
}
