//! The receive and close policy shared by [`crate::WebSocket`] and the split [`crate::Reader`]: what
//! `recv` returns (messages, then `None` after a clean close or the error that ended the connection),
//! the 1001 close when a server's [`crate::Shutdown`] switch is triggered, and how `close` and `flush`
//! drive the engine. The engine below only moves bytes and sleeps until deadlines.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};
use ws_adapter::{Error, Result};
use ws_core::{CloseCode, CloseFrame, Event, Message, Outcome, State};

use crate::engine::{Engine, Handoff, Step};
use crate::shutdown::Guard;
use crate::timer::Timer;

/// An engine with the application's side of the connection: whether `recv` has seen the end, and the
/// server's shutdown switch, when the connection was given one.
pub(crate) struct Session<T, R: Timer, H = ()> {
    pub(crate) engine: Engine<T, R, H>,
    /// The server's shutdown switch, when the connection was given one.
    shutdown: Option<Guard>,
    /// `recv` returned the end (`None` from then on).
    done: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Timer, H: Handoff<T>> Session<T, R, H> {
    /// A session on a connection that has just opened.
    pub(crate) fn new(engine: Engine<T, R, H>) -> Self {
        Session {
            engine,
            shutdown: None,
            done: false,
        }
    }

    /// The same session over another transport (when splitting or joining it), with `f` making the new
    /// transport out of the old.
    pub(crate) fn map_io<U, H2>(self, f: impl FnOnce(T) -> U) -> Session<U, R, H2> {
        Session {
            engine: self.engine.map_io(f),
            shutdown: self.shutdown,
            done: self.done,
        }
    }

    /// Ties the session to a server's shutdown switch.
    pub(crate) fn set_guard(&mut self, guard: Guard) {
        self.shutdown = Some(guard);
    }

    /// Whether `recv` has returned the end.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The receive loop shared by [`crate::WebSocket`] and the split reader.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let Session {
            engine,
            shutdown,
            done,
        } = self;
        if *done {
            return Poll::Ready(None);
        }
        let shutting_down = match shutdown {
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
                    return Poll::Ready(ending(engine));
                }
            }
        }
    }

    /// Writes everything queued.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.engine.poll_flush(cx)
    }

    /// Closes: sends a close frame with `code` and `reason`, then keeps reading (discarding messages) until
    /// the peer's close frame arrives and the transport closes, or the close timeout runs out.
    pub(crate) async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        let now = self.engine.now();
        match self.engine.conn.close(code, reason, now) {
            Ok(()) | Err(ws_core::SendError::Closed) => {}
            Err(e) => return Err(e.into()),
        }
        while let Some(item) = poll_fn(|cx| self.poll_recv(cx)).await {
            item?;
        }
        Ok(())
    }

    /// `Sink::poll_close`: starts the close handshake (1000) if the connection is open, then receives
    /// until it ends.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.engine.conn.state() == State::Open {
            let now = self.engine.now();
            let _ = self.engine.conn.close(CloseCode::NORMAL, "", now);
        }
        loop {
            match ready!(self.poll_recv(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(())),
            }
        }
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub(crate) fn close_frame(&self) -> Option<&CloseFrame> {
        match self.engine.conn.outcome()? {
            Outcome::Closed(frame) => frame.as_ref(),
            _ => None,
        }
    }
}

/// What `recv` returns once the connection is finished: `None` after a clean close, else why it
/// ended (the transport's own error when the transport broke).
fn ending<T, R: Timer, H>(engine: &Engine<T, R, H>) -> Option<Result<Message>> {
    match engine.conn.outcome()? {
        Outcome::Closed(_) => None,
        Outcome::Failed { error, .. } => Some(Err(match (error, &engine.broken) {
            (ws_core::Error::UnexpectedEof, Some(e)) => {
                Error::Io(io::Error::new(e.kind(), e.to_string()))
            }
            _ => Error::Failed(error.clone()),
        })),
        Outcome::Rejected(response) => Some(Err(Error::Rejected(response.clone()))),
        _ => Some(Err(Error::Failed(ws_core::Error::UnexpectedEof))),
    }
}
