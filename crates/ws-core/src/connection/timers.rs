//! Timers: the core keeps deadlines; the caller says what time it is.

use super::Connection;
use crate::error::{Error, Timeout};
use crate::frame::OpCode;
use crate::time::Instant;

impl Connection {
    /// "Time is now `now`": records it and fires every timer that is due (handshake timeout, keepalive ping,
    /// pong timeout, close timeout). Call it whenever [`Connection::next_deadline`] passes; calling it more
    /// often is harmless. Time never goes backwards: an earlier `now` is ignored.
    pub fn handle_time(&mut self, now: Instant) {
        self.advance_clock(now);
        self.sync_split();
        let now = self.now;
        let due = |deadline: Option<Instant>| deadline.is_some_and(|d| d <= now);
        if due(self.handshake_deadline) {
            self.handshake_deadline = None;
            self.fail(Error::Timeout(Timeout::Handshake));
        }
        if due(self.pong_deadline) {
            self.pong_deadline = None;
            // Anything received since the ping shows the peer is alive (its pong may still sit unparsed
            // behind messages the application has not taken yet); the next ping checks again.
            if !self.heard_since_ping {
                self.fail(Error::Timeout(Timeout::Pong));
            }
        }
        if due(self.ping_deadline) {
            self.ping_deadline = self.config.timeouts.keepalive_interval.map(|t| now + t);
            self.pings_sent = self.pings_sent.wrapping_add(1);
            let payload = self.pings_sent.to_be_bytes();
            self.heard_since_ping = false;
            self.write_frame(OpCode::Ping, 0, true, &payload);
            if self.pong_deadline.is_none() {
                self.pong_deadline = self.config.timeouts.pong.map(|t| now + t);
            }
        }
        if due(self.close_deadline) {
            self.close_deadline = None;
            self.linger_over = true;
            if self.terminated {
                self.want_shutdown = true;
            } else {
                self.fail(Error::Timeout(Timeout::Close));
                // `fail` restarts the close timer, but the wait it covers is the one that just ran out.
                self.close_deadline = None;
            }
        }
    }

    /// The next time [`Connection::handle_time`] must be called, if any timer is running.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.handshake_deadline,
            self.ping_deadline,
            self.pong_deadline,
            self.close_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
