//! The sender's one timer: a [`Sender`] whose connection is gone gives up on a peer that stopped
//! reading.
//!
//! While the connection lives, its timers notice a peer that stopped reading (the keepalive ping goes
//! unanswered) and end the connection, which the sender sees. Once the connection is dropped without
//! [`super::Connection::reunite`] (the receiving half was let go), nobody runs those timers; the sender
//! then allows its output [`crate::Timeouts::pong`] to make progress, and gives up after that.

use core::sync::atomic::Ordering;

use super::split::{ENDED, Sender};
use crate::error::{Error, Timeout};
use crate::time::Instant;

impl Sender {
    /// "Time is now `now`", for a sender whose output waits on the transport. Call it when a write
    /// could not go on (and when [`Sender::next_deadline`] passes). While the connection it was split off
    /// is alive this does nothing: the connection's timers watch the peer. Once the connection was
    /// dropped, output that made no progress for [`crate::Timeouts::pong`] is dropped, the sender
    /// closes (sends fail with [`crate::SendError::Closed`]) and this returns
    /// [`Error::Timeout`]`(`[`Timeout::Pong`]`)`, once; the transport should then be dropped.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ws_core::{Config, Connection, Error, Event, Instant, Message, State, Timeout};
    /// # use bytes::Buf;
    /// # let mut server = Connection::server(Config::default(), Instant::ZERO);
    /// # server.receive(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", Instant::ZERO);
    /// # let Some(Event::Request(_)) = server.poll_event() else { unreachable!() };
    /// # server.accept(Default::default(), Instant::ZERO).unwrap();
    /// # let _ = server.poll_event();
    /// # let mut out = server.output(); let n = out.remaining(); out.advance(n);
    /// let mut sender = server.split_sender().unwrap();
    /// drop(server); // The receiving half is let go.
    /// sender.send(&Message::from("nobody reads this")).unwrap();
    /// // The transport takes nothing: the write waits.
    /// let t0 = Instant::ZERO + Duration::from_secs(1);
    /// assert!(sender.handle_time(t0).is_ok());
    /// let deadline = sender.next_deadline().unwrap();
    /// assert_eq!(deadline, t0 + Duration::from_secs(20)); // `Timeouts::pong`
    /// assert!(matches!(sender.handle_time(deadline), Err(Error::Timeout(Timeout::Pong))));
    /// assert_eq!(sender.state(), State::Closed);
    /// assert_eq!(sender.output().remaining(), 0);
    /// ```
    pub fn handle_time(&mut self, now: Instant) -> Result<(), Error> {
        if self.tx.out.is_empty() || !self.connection_gone() || self.is_ended() {
            self.stalled_since = None;
            return Ok(());
        }
        let Some(limit) = self.config.timeouts.pong else {
            return Ok(());
        };
        let since = *self.stalled_since.get_or_insert(now);
        if now < since + limit {
            return Ok(());
        }
        self.stalled_since = None;
        self.tx.out.clear();
        self.link.state.fetch_or(ENDED, Ordering::AcqRel);
        Err(Error::Timeout(Timeout::Pong))
    }

    /// When [`Sender::handle_time`] must be called next, if its timer runs (the connection is gone
    /// and the output waits).
    pub fn next_deadline(&self) -> Option<Instant> {
        Some(self.stalled_since? + self.config.timeouts.pong?)
    }

    /// Whether the connection this sender was split off was dropped (without taking it back).
    fn connection_gone(&self) -> bool {
        alloc::sync::Arc::strong_count(&self.link) == 1
    }

    fn is_ended(&self) -> bool {
        self.link.state() & ENDED != 0
    }
}
