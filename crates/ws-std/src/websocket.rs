//! The blocking connection type: `send`/`recv`/`close`, an `Iterator` of messages, and `split`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ws_adapter::{Clock, EarlyReplies, Error, Result};
use ws_core::{
    CloseCode, CloseFrame, Connection, DataKind, Event, Message, Outgoing, SendOptions, State,
};

use crate::engine::{Core, Got, Next, ReadBuf, TimeoutCache, copy_error, write_buf};
use crate::split::{Reader, Writer};
use crate::stream::{DeadlineStream, SplitStream};
use bytes::Buf;

/// What [`WebSocket::next_event`] produced.
pub(crate) enum Step {
    Event(Event),
    /// The connection is over and the stream may be dropped.
    Finished,
}

/// Reads by every connection of the process (wrapping). Connections are threads that share the CPUs: a
/// connection is alone when no other connection read since its own last read (see [`EarlyReplies`]).
static READS: AtomicU32 = AtomicU32::new(0);

/// Counts a read of some connection; returns the new count.
fn count_read() -> u32 {
    READS.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

/// An open WebSocket connection over the blocking stream `S`.
///
/// Writes can be coalesced: `send` writes at once (everything queued, its message included);
/// [`WebSocket::feed`] queues without writing, and the queue is written by [`WebSocket::flush`] or by
/// [`WebSocket::recv`] when no received message is waiting, so an echo loop of `recv` + `feed` answers the
/// messages of one read with one write (after the first replies, written at once, when no other
/// connection of the process is reading: all of a read's replies while reads bring 8 messages or fewer,
/// else the first four). Pings are answered and close frames echoed by the core while
/// `recv` runs.
///
/// ```no_run
/// let (mut ws, _) = ws_std::connect("ws://127.0.0.1:9001/")?;
/// ws.send("hello")?;
/// for message in &mut ws {
///     println!("{:?}", message?);
/// }
/// # Ok::<(), ws_std::Error>(())
/// ```
pub struct WebSocket<S> {
    pub(crate) core: Core,
    pub(crate) io: S,
    pub(crate) rx: ReadBuf,
    pub(crate) write_timeout: TimeoutCache,
    pub(crate) done: bool,
    /// Replies written at once after a read while no other connection of the process is reading.
    pub(crate) early: EarlyReplies,
}

impl<S: DeadlineStream> WebSocket<S> {
    pub(crate) fn new(conn: Connection, io: S, clock: Clock) -> Self {
        WebSocket {
            core: Core::new(conn, clock),
            io,
            rx: ReadBuf::default(),
            write_timeout: TimeoutCache::default(),
            done: false,
            early: EarlyReplies::default(),
        }
    }

    /// Receives the next message, blocking. `None` once the connection has closed cleanly (see
    /// [`WebSocket::close_frame`] for the peer's code and reason); `Some(Err(_))` once if it failed.
    pub fn recv(&mut self) -> Option<Result<Message>> {
        if self.done {
            return None;
        }
        loop {
            match self.next_event() {
                Step::Event(Event::Message(message)) => return Some(Ok(message)),
                Step::Event(_) => {}
                Step::Finished => {
                    self.done = true;
                    let _ = self.write_out(); // shuts the write side down
                    return self.core.result();
                }
            }
        }
    }

    /// Drives the connection until it has an event or is finished.
    pub(crate) fn next_event(&mut self) -> Step {
        if self.core.broken.is_none() && self.early.take(self.core.conn.output().remaining()) {
            let _ = self.write_out();
        }
        loop {
            if let Some(event) = self.core.poll() {
                return Step::Event(event);
            }
            if self.core.broken.is_none() {
                let _ = self.write_out();
            }
            match self.core.next() {
                Next::Finished => return Step::Finished,
                Next::Again => {}
                // Everything was written, so only a timer can change things (not expected to happen).
                Next::Stuck => std::thread::sleep(self.core.wait().unwrap_or(MS).min(MS)),
                Next::Read(wait) => {
                    let got = self.rx.read(&mut self.io, wait);
                    if matches!(got, Got::Data(_)) {
                        self.early.on_read(count_read());
                    }
                    self.core.feed(got, &self.rx);
                }
            }
        }
    }

    /// Writes all queued output, blocking (and shuts the write side down when the core asks).
    fn write_out(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.core.broken_error() {
            return Err(e);
        }
        let result = self.write_inner();
        if let Err(e) = &result {
            self.core.broken = Some(copy_error(e));
        }
        result
    }

    fn write_inner(&mut self) -> std::io::Result<()> {
        let mut wrote = false;
        while self.core.conn.output().has_remaining() {
            let io = &mut self.io;
            self.write_timeout
                .set(self.core.wait(), |t| io.set_write_timeout(t))?;
            let mut out = self.core.conn.output();
            let written = write_buf(&mut self.io, &out);
            match written {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.advance(n);
                    wrote = true;
                }
                Err(e) => self.core.write_failed(e)?,
            }
        }
        if wrote {
            self.io.flush()?;
        }
        if self.core.take_shutdown() {
            // Errors here (the peer already gone) do not matter: we are closing anyway.
            let _ = self.io.shutdown_write();
        }
        Ok(())
    }

    /// Writes until queued output is below the high-water mark (backpressure for sends).
    fn send_ready(&mut self) -> Result<()> {
        if self.core.conn.is_backpressured() {
            self.write_out()?;
        }
        Ok(())
    }

    /// Sends a message: blocks while queued output is above the high-water mark, queues the message, and
    /// writes everything queued. To batch replies use [`WebSocket::feed`]: the next `recv` writes the batch
    /// before it blocks.
    ///
    /// A write blocks until the peer has taken the bytes. One thread cannot read while it writes, so if both
    /// peers send more than the socket buffers hold without reading, both wait (until the keepalive pong
    /// timeout fails the connection): for full-duplex traffic, [`split`](WebSocket::split) the connection.
    pub fn send(&mut self, message: impl Into<Outgoing>) -> Result<()> {
        self.send_with(message, SendOptions::default())
    }

    /// [`WebSocket::send`] with per-message options (e.g. no compression).
    pub fn send_with(&mut self, message: impl Into<Outgoing>, options: SendOptions) -> Result<()> {
        self.send_ready()?;
        self.core.conn.send_with(&message.into(), options)?;
        self.flush()
    }

    /// Queues a message without writing it (after waiting for backpressure); [`WebSocket::flush`] writes.
    pub fn feed(&mut self, message: impl Into<Outgoing>) -> Result<()> {
        self.send_ready()?;
        self.core.conn.send(&message.into())?;
        Ok(())
    }

    /// Sends one fragment of a message sent piece by piece: the first call starts a message of `kind`,
    /// `fin` ends it (see [`Connection::send_fragment`]).
    pub fn send_fragment(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<()> {
        self.send_ready()?;
        self.core.conn.send_fragment(kind, data, fin)?;
        self.flush()
    }

    /// Sends a ping (payload at most 125 bytes); the pong is consumed by `recv`.
    pub fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.core.conn.ping(payload)?;
        self.flush()
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<()> {
        self.write_out().map_err(Error::Io)
    }

    /// Closes: sends a close frame with `code` and `reason`, then keeps reading (discarding messages) until
    /// the peer's close frame arrives and the stream ends, or the close timeout runs out.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        let now = self.core.clock.now();
        match self.core.conn.close(code, reason, now) {
            Ok(()) | Err(ws_core::SendError::Closed) => {}
            Err(e) => return Err(e.into()),
        }
        while let Some(item) = self.recv() {
            item?;
        }
        Ok(())
    }

    /// Splits into a [`Reader`] and a [`Writer`] for two threads, using a second handle to the stream (see
    /// [`SplitStream`]; TLS streams fail with `Unsupported`, and the connection is dropped, as does a
    /// connection that is no longer open or is in the middle of sending a fragmented message).
    ///
    /// The split happens in the core ([`Connection::split_sender`]): the reader owns the connection and
    /// reads and parses with no lock; the writer frames its messages apart from it. The stream's writing
    /// handle is behind a mutex, so frames never interleave: the writer holds it while it writes, the
    /// reader only when it has pongs, close replies or keepalive pings of its own to write (before it
    /// blocks on a read; if the writer has the stream, the reader tries again a few milliseconds later).
    pub fn split(self) -> std::io::Result<(Reader<S>, Writer<S>)>
    where
        S: SplitStream,
    {
        crate::split::split(self)
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.core.close_frame()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.core.conn.state()
    }

    /// The negotiated subprotocol.
    pub fn subprotocol(&self) -> Option<&str> {
        self.core.conn.subprotocol()
    }

    /// The negotiated extensions.
    pub fn extensions(&self) -> Option<&str> {
        self.core.conn.extensions()
    }

    /// The protocol engine (for statistics and advanced use).
    pub fn connection(&self) -> &Connection {
        &self.core.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream, mutably (do not read or write it directly).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Gives back the stream (for example after the close handshake).
    pub fn into_inner(self) -> S {
        self.io
    }
}

/// Iterates over received messages until the connection ends (see [`WebSocket::recv`]).
impl<S: DeadlineStream> Iterator for WebSocket<S> {
    type Item = Result<Message>;
    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.core.conn)
            .finish_non_exhaustive()
    }
}

const MS: Duration = Duration::from_millis(1);
