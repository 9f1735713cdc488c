//! The blocking run loop's building blocks, shared by [`crate::WebSocket`] and the split halves: the core
//! with what the application has not seen yet, the read buffer, and socket timeouts derived from deadlines.

use std::io::{self, IoSlice, Write};
use std::time::Duration;

use bytes::Buf;
use ws_adapter::{Clock, Error, Result};
use ws_core::{CloseFrame, Connection, Event, Message, Outcome, ReadInterest, State};

use crate::stream::DeadlineStream;

/// Smallest and largest read buffer: it starts small (idle connections stay light) and doubles while reads
/// fill it. The largest lets one read bring several 64 KiB messages (answered with one write): 64 KiB x 8
/// in flight used 8-30% less CPU per message than with 64 KiB. The buffer is not shrunk again: a
/// connection that once received such bursts keeps up to 256 KiB for its reads (a thread per connection
/// holds its stack anyway); connections that only see small messages stay at 4 KiB.
const MIN_READ: usize = 4 * 1024;
const MAX_READ: usize = 256 * 1024;

/// What the loop does after writing.
pub(crate) enum Next {
    /// The connection is over.
    Finished,
    /// Something changed (a timer is due, the loss was recorded): poll again.
    Again,
    /// Read, waiting at most this long (`None`: no deadline).
    Read(Option<Duration>),
    /// The core wants no input until its output drains (backpressure, or it is lingering).
    Stuck,
}

/// What one read produced.
pub(crate) enum Got {
    Data(usize),
    Eof,
    Nothing,
    Failed(io::Error),
}

/// The protocol state plus what the adapter must remember about it.
pub(crate) struct Core {
    pub(crate) conn: Connection,
    pub(crate) clock: Clock,
    /// A transport error: nothing more can be written or read.
    pub(crate) broken: Option<io::Error>,
    /// The stream's write side was shut down.
    pub(crate) shut: bool,
}

impl Core {
    pub(crate) fn new(conn: Connection, clock: Clock) -> Self {
        Core {
            conn,
            clock,
            broken: None,
            shut: false,
        }
    }

    /// Fires due timers and takes the next event.
    pub(crate) fn poll(&mut self) -> Option<Event> {
        self.conn.handle_time(self.clock.now());
        self.conn.poll_event()
    }

    /// Time left until the next deadline (`None`: no timer runs).
    pub(crate) fn wait(&self) -> Option<Duration> {
        // The clock is read only when a timer runs.
        self.conn
            .next_deadline()
            .map(|d| d.saturating_duration_since(self.clock.now()))
    }

    /// Decides what to do once no event is waiting and output was written (as far as it could be).
    pub(crate) fn next(&mut self) -> Next {
        if self.broken.is_some() {
            if !self.conn.is_finished() && self.conn.state() != State::Closed {
                // The transport broke: the core records the loss (it emits the terminal event).
                self.conn.receive_eof(self.clock.now());
                return Next::Again;
            }
            return Next::Finished;
        }
        if self.conn.is_finished() {
            return Next::Finished;
        }
        let wait = self.wait();
        if wait == Some(Duration::ZERO) {
            Next::Again
        } else if self.conn.read_interest() != ReadInterest::Read {
            Next::Stuck
        } else {
            Next::Read(wait)
        }
    }

    /// Hands what a read produced to the core.
    pub(crate) fn feed(&mut self, got: Got, buf: &ReadBuf) {
        match got {
            Got::Data(n) => self.conn.receive(&buf.buf[..n], self.clock.now()),
            Got::Eof => self.conn.receive_eof(self.clock.now()),
            Got::Nothing => {}
            Got::Failed(e) => self.broken = Some(e),
        }
    }

    /// A failed write: interrupts and early wake-ups are retried (`Ok`); when a write timed out and the
    /// connection has ended with its timers run out (its peer stopped reading), gives up.
    pub(crate) fn write_failed(&mut self, e: io::Error) -> io::Result<()> {
        match e.kind() {
            io::ErrorKind::Interrupted => Ok(()),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.conn.handle_time(self.clock.now());
                // Ended, and its last timer (the close timeout) has run out: nothing is waited for anymore.
                if self.conn.state() == State::Closed && self.conn.next_deadline().is_none() {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer stopped reading",
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Err(e),
        }
    }

    /// Whether the stream's write side should be shut down now: the core asks (after all output is
    /// written), or the connection is finished. A finished client closes its side too, so that the server,
    /// which waits for the client's TCP close after closing first, is not left waiting for the close
    /// timeout while the application still holds the connection (the equivalent of dropping the stream).
    pub(crate) fn take_shutdown(&mut self) -> bool {
        let wanted =
            self.conn.poll_shutdown() || (self.conn.is_finished() && self.broken.is_none());
        let first = wanted && !self.shut;
        self.shut |= wanted;
        first
    }

    /// The transport error, if the transport broke.
    pub(crate) fn broken_error(&self) -> Option<io::Error> {
        self.broken.as_ref().map(copy_error)
    }

    /// What `recv` returns once the connection is finished: `None` after a clean close, else the error
    /// (the transport's own error when the transport broke).
    pub(crate) fn result(&mut self) -> Option<Result<Message>> {
        match self.conn.outcome()? {
            Outcome::Closed(_) => None,
            Outcome::Failed { error, .. } => Some(Err(match (error, &self.broken) {
                (ws_core::Error::UnexpectedEof, Some(e)) => Error::Io(copy_error(e)),
                _ => Error::Failed(error.clone()),
            })),
            Outcome::Rejected(r) => Some(Err(Error::Rejected(r.clone()))),
            _ => Some(Err(Error::Failed(ws_core::Error::UnexpectedEof))),
        }
    }

    /// The error for a handshake that failed with `e`: the transport error when that is what ended it.
    pub(crate) fn handshake_error(&mut self, e: ws_core::Error) -> Error {
        match self.broken.take() {
            Some(io) if e == ws_core::Error::UnexpectedEof => Error::Io(io),
            _ => Error::Failed(e),
        }
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub(crate) fn close_frame(&self) -> Option<&CloseFrame> {
        match self.conn.outcome()? {
            Outcome::Closed(frame) => frame.as_ref(),
            _ => None,
        }
    }
}

/// The read buffer and the read timeout last set.
#[derive(Default)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    grow: bool,
    timeout: TimeoutCache,
}

impl ReadBuf {
    /// Reads once, waiting at most `wait`.
    pub(crate) fn read<S: DeadlineStream>(&mut self, io: &mut S, wait: Option<Duration>) -> Got {
        if let Err(e) = self.timeout.set(wait, |t| io.set_read_timeout(t)) {
            return Got::Failed(e);
        }
        if self.buf.is_empty() {
            self.buf = vec![0; MIN_READ];
        } else if self.grow {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        match io.read(&mut self.buf) {
            Ok(0) => Got::Eof,
            Ok(n) => {
                self.grow = n == self.buf.len() && n < MAX_READ;
                Got::Data(n)
            }
            Err(e) if is_retry(&e) => Got::Nothing,
            Err(e) => Got::Failed(e),
        }
    }
}

/// The socket timeout last set, to skip redundant `setsockopt` calls.
///
/// Timeouts are rounded down to a power of two milliseconds (at least 1 ms): as time passes towards a
/// deadline the value changes only a few times, and a wait ends no later than the deadline (plus under a
/// millisecond). Waking early is harmless: the loop finds nothing due and waits again.
#[derive(Default)]
pub(crate) struct TimeoutCache(Option<Option<Duration>>);

impl TimeoutCache {
    pub(crate) fn set(
        &mut self,
        wait: Option<Duration>,
        apply: impl FnOnce(Option<Duration>) -> io::Result<()>,
    ) -> io::Result<()> {
        let timeout = wait.map(|d| {
            let ms = d.as_millis().clamp(1, u64::MAX.into()) as u64;
            Duration::from_millis(1 << ms.ilog2())
        });
        if self.0 != Some(timeout) {
            apply(timeout)?;
            self.0 = Some(timeout);
        }
        Ok(())
    }
}

/// A read that should simply be retried: interrupted, or timed out (the loop then handles the time).
fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `io::Error` is not `Clone`: keeps the kind and the message.
pub(crate) fn copy_error(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// The most runs of output one vectored write gathers (each large payload the core queued by reference
/// makes two, its header and itself; a prepared frame of 64 bytes or more makes one): as many as the
/// core gathers, so that a batch of broadcasts fed together leaves in one write.
const MAX_RUNS: usize = 64;

/// One write of `out`'s bytes: a plain write when they are one run, a vectored write of every run (up to
/// 16) when a large payload is queued by reference between headers. The caller advances `out` by the
/// count returned.
pub(crate) fn write_buf(io: &mut impl Write, out: &impl Buf) -> io::Result<usize> {
    let mut runs = [IoSlice::new(&[]); MAX_RUNS];
    match out.chunks_vectored(&mut runs) {
        0 => Ok(0),
        1 => io.write(out.chunk()),
        n => io.write_vectored(&runs[..n]),
    }
}
