//! Reader and writer halves of a [`WebSocket`], for use from different tasks.
//!
//! The halves share the engine behind a `std::sync::Mutex` held only for one synchronous poll step (never
//! across an await), so contention is a few uncontended atomic operations per call. The transport's wakers
//! are a combined, lock-free waker (an `AtomicWaker` per half) that wakes both halves: whichever half polls
//! a read or write, the other one is woken too when the socket becomes ready, so neither can miss its
//! wake-up.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker, ready};

use atomic_waker::AtomicWaker;
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use ws_core::{CloseCode, Message, SendOptions};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::timer::Timer;
use crate::websocket::{WebSocket, poll_recv};

struct Shared<T, R: Timer> {
    engine: Engine<T, R>,
    done: bool,
}

/// Wakes the reader's and the writer's task. Lock-free: one `AtomicWaker` per half.
#[derive(Default)]
struct WakeBoth {
    wakers: [AtomicWaker; 2],
}

impl WakeBoth {
    fn register(&self, slot: usize, waker: &Waker) {
        self.wakers[slot].register(waker);
    }
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

struct Half<T, R: Timer> {
    shared: Arc<Mutex<Shared<T, R>>>,
    wake: Arc<WakeBoth>,
    waker: Waker,
    slot: usize,
}

impl<T, R: Timer> Half<T, R> {
    fn lock(&self, cx: &Context<'_>) -> (MutexGuard<'_, Shared<T, R>>, Waker) {
        self.wake.register(self.slot, cx.waker());
        (
            self.shared.lock().unwrap_or_else(|e| e.into_inner()),
            self.waker.clone(),
        )
    }

    fn state(&self) -> ws_core::State {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .engine
            .conn
            .state()
    }
}

/// Both halves, given back by a failed [`Reader::reunite`].
pub type Halves<T, R> = (Reader<T, R>, Writer<T, R>);

/// The receiving half: `recv`, `Stream`. It also answers pings and close frames.
pub struct Reader<T, R: Timer> {
    half: Half<T, R>,
}

/// The sending half: `send`, `close`, `Sink`.
pub struct Writer<T, R: Timer> {
    half: Half<T, R>,
}

pub(crate) fn split<T, R: Timer>(ws: WebSocket<T, R>) -> (Reader<T, R>, Writer<T, R>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let shared = Arc::new(Mutex::new(Shared {
        engine: ws.engine,
        done: false,
    }));
    let wake = Arc::new(WakeBoth::default());
    let waker = Waker::from(wake.clone());
    let reader = Half {
        shared: shared.clone(),
        wake: wake.clone(),
        waker: waker.clone(),
        slot: 0,
    };
    let writer = Half {
        shared,
        wake,
        waker,
        slot: 1,
    };
    (Reader { half: reader }, Writer { half: writer })
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> Reader<T, R> {
    /// Receives the next message (see [`WebSocket::recv`]).
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`Reader::recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let (mut guard, waker) = self.half.lock(cx);
        let shared = &mut *guard;
        poll_recv(
            &mut shared.engine,
            &mut shared.done,
            &mut Context::from_waker(&waker),
        )
    }

    /// The connection's state.
    pub fn state(&self) -> ws_core::State {
        self.half.state()
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<ws_core::CloseFrame> {
        let shared = self.half.shared.lock().unwrap_or_else(|e| e.into_inner());
        match shared.engine.ending.as_deref() {
            Some(crate::engine::Ending::Closed(frame)) => frame.clone(),
            _ => None,
        }
    }

    /// Puts the halves back together. Fails (giving them back) if they came from different connections.
    pub fn reunite(
        self,
        writer: Writer<T, R>,
    ) -> std::result::Result<WebSocket<T, R>, Halves<T, R>> {
        if !Arc::ptr_eq(&self.half.shared, &writer.half.shared) {
            return Err((self, writer));
        }
        drop(writer);
        let shared = Arc::try_unwrap(self.half.shared)
            .ok()
            .expect("the writer was dropped");
        let shared = shared.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok(WebSocket::from_parts(shared.engine, shared.done))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> Writer<T, R> {
    /// Sends a message (see [`WebSocket::send`]); always writes before returning.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        let message = message.into();
        poll_fn(|cx| self.poll_send(cx, &message, SendOptions::default())).await?;
        self.flush().await
    }

    /// Sends with per-message options.
    pub async fn send_with(&mut self, message: Message, options: SendOptions) -> Result<()> {
        poll_fn(|cx| self.poll_send(cx, &message, options)).await?;
        self.flush().await
    }

    /// Queues a message without writing it; `flush` writes.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<()> {
        let message = message.into();
        poll_fn(|cx| self.poll_send(cx, &message, SendOptions::default())).await
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        message: &Message,
        options: SendOptions,
    ) -> Poll<Result<()>> {
        let queued = {
            let (mut guard, waker) = self.half.lock(cx);
            ready!(
                guard
                    .engine
                    .poll_send_ready(&mut Context::from_waker(&waker))
            )?;
            guard.engine.conn.send_with(message, options)
        };
        queued?;
        // The message is queued: writing it must not queue it again if this future is polled again.
        Poll::Ready(Ok(()))
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let (mut guard, waker) = self.half.lock(cx);
        guard.engine.poll_flush(&mut Context::from_waker(&waker))
    }

    /// Sends a ping.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<()> {
        {
            let mut guard = self.half.shared.lock().unwrap_or_else(|e| e.into_inner());
            guard.engine.command().ping(payload)?;
        }
        self.flush().await
    }

    /// The connection's state.
    pub fn state(&self) -> ws_core::State {
        self.half.state()
    }

    /// Starts the close handshake and writes the close frame. The reader's `recv` ends when the peer
    /// answers (or the close timeout runs out).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        {
            let mut guard = self.half.shared.lock().unwrap_or_else(|e| e.into_inner());
            match guard.engine.command().close(code, reason) {
                Ok(()) | Err(ws_core::SendError::Closed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.flush().await
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> Stream for Reader<T, R> {
    type Item = Result<Message>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer> Sink<Message> for Writer<T, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let (mut guard, waker) = self.half.lock(cx);
        guard
            .engine
            .poll_send_ready(&mut Context::from_waker(&waker))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        let mut guard = self.half.shared.lock().unwrap_or_else(|e| e.into_inner());
        guard.engine.conn.send(&item).map_err(Error::from)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        {
            let mut guard = this.half.shared.lock().unwrap_or_else(|e| e.into_inner());
            if guard.engine.conn.state() == ws_core::State::Open {
                let _ = guard.engine.command().close(CloseCode::NORMAL, "");
            }
        }
        this.poll_flush_inner(cx)
    }
}
