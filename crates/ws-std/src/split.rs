//! Reader and writer halves of a [`WebSocket`], for two threads.
//!
//! The protocol state ([`Core`]) is behind one mutex, held only while bytes are handed to or taken from the
//! core. The writing handle of the stream is behind a second mutex, held by whoever writes, so frames never
//! interleave: output is moved out of the core into the handle's buffer under the first lock and written
//! under the second alone. The core's shutdown is polled only by the holder of the second lock once that
//! buffer is written, so the write side is never shut down under a frame in flight.
//!
//! The writer writes patiently (blocking until done, bounded by the core's deadlines). The reader never
//! blocks on writing: before it reads it writes what it can within a millisecond or two (its pongs and close
//! replies, and whatever is queued ahead of them), leaves the rest in the buffer for the next writer, and if
//! the socket was full it reads with a short timeout so it can try again. If the writer holds the handle the
//! reader goes on reading: the writer writes the reader's replies before it lets go. So a writer blocked on a
//! large message never stops its reader from reading, which with a peer doing the same would leave both
//! sides waiting for each other. Bytes moved into the buffer no longer count as the core's queued output;
//! pongs the reader queues while the writer is stuck still do, and the core stops reading when they pass
//! the high-water mark.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use ws_async::{Error, Result};
use ws_core::{
    CloseCode, CloseFrame, Connection, DataKind, Event, Message, SendError, SendOptions, State,
};

use crate::engine::{Core, Next, ReadBuf, TimeoutCache, copy_error};
use crate::stream::{DeadlineStream, SplitStream};
use crate::websocket::WebSocket;

pub(crate) struct Shared<S> {
    pub(crate) core: Mutex<Core>,
    pub(crate) out: Mutex<Out<S>>,
}

/// The writing handle, the bytes taken from the core and not yet written (`buf[pos..]`), and the write
/// timeout last set.
pub(crate) struct Out<S> {
    io: S,
    buf: Vec<u8>,
    pos: usize,
    pub(crate) timeout: TimeoutCache,
}

impl<S> Out<S> {
    pub(crate) fn new(io: S, timeout: TimeoutCache) -> Self {
        Out {
            io,
            buf: Vec::new(),
            pos: 0,
            timeout,
        }
    }
}

/// What a write attempt achieved.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flushed {
    /// Everything is written.
    Done,
    /// The other half is writing; it writes what was queued before it lets go.
    Busy,
    /// The socket is full: bytes are left for the next attempt.
    Blocked,
}

impl<S: DeadlineStream> Shared<S> {
    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn try_out(&self) -> Option<MutexGuard<'_, Out<S>>> {
        match self.out.try_lock() {
            Ok(out) => Some(out),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Writes the core's output: `patient`ly (waiting for the handle and for the socket), or as the reader
    /// does (neither).
    fn write_pending(&self, patient: bool) -> io::Result<Flushed> {
        let mut out = if patient {
            self.out.lock().unwrap_or_else(PoisonError::into_inner)
        } else {
            match self.try_out() {
                Some(out) => out,
                None => return Ok(Flushed::Busy),
            }
        };
        loop {
            if !self.drain(&mut out, patient)? {
                return Ok(Flushed::Blocked);
            }
            drop(out);
            // Output queued by the other half while we held the handle, and left to us (it saw us busy).
            if self.core().conn.output().is_empty() {
                return Ok(Flushed::Done);
            }
            out = match self.try_out() {
                Some(out) => out,
                None => return Ok(Flushed::Busy),
            };
        }
    }

    /// Writes until the buffer and the core's output are empty (`true`), or, when not `patient`, until the
    /// socket would block (`false`). Shuts the write side down when the core asks.
    fn drain(&self, out: &mut Out<S>, patient: bool) -> io::Result<bool> {
        loop {
            let wait = {
                let mut core = self.core();
                if let Some(e) = core.broken_error() {
                    return Err(e);
                }
                if out.pos == out.buf.len() {
                    out.buf.clear();
                    out.pos = 0;
                    // Every run of output (a large payload may be queued apart from its header).
                    while !core.conn.output().is_empty() {
                        let run = core.conn.output();
                        let n = run.len();
                        out.buf.extend_from_slice(run);
                        core.conn.advance_output(n);
                    }
                    if out.buf.is_empty() {
                        if out.buf.capacity() > IDLE_BUFFER_CAPACITY {
                            out.buf = Vec::new();
                        }
                        let shutdown = core.take_shutdown();
                        drop(core);
                        if shutdown {
                            // Errors here (the peer already gone) do not matter: we are closing anyway.
                            let _ = out.io.shutdown_write();
                        }
                        return Ok(true);
                    }
                }
                if patient {
                    core.wait()
                } else {
                    Some(IMPATIENT)
                }
            };
            let Out {
                io,
                buf,
                pos,
                timeout,
            } = &mut *out;
            if let Err(e) = timeout.set(wait, |t| io.set_write_timeout(t)) {
                return Err(self.broke(e));
            }
            match io.write(&buf[*pos..]).and_then(|n| io.flush().map(|()| n)) {
                Ok(0) => return Err(self.broke(io::ErrorKind::WriteZero.into())),
                Ok(n) => *pos += n,
                Err(e) if !patient && is_timeout(&e) => return Ok(false),
                Err(e) => {
                    let mut core = self.core();
                    if let Err(e) = core.write_failed(e) {
                        core.broken = Some(copy_error(&e));
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Records a transport error and returns it.
    fn broke(&self, e: io::Error) -> io::Error {
        self.core().broken = Some(copy_error(&e));
        e
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The receiving half of a split [`WebSocket`]: [`Reader::recv`], an `Iterator`. It also answers pings and
/// close frames while it reads.
pub struct Reader<S> {
    pub(crate) shared: Arc<Shared<S>>,
    pub(crate) io: S,
    pub(crate) rx: ReadBuf,
    pub(crate) done: bool,
}

/// The sending half of a split [`WebSocket`]: [`Writer::send`], [`Writer::close`].
pub struct Writer<S> {
    pub(crate) shared: Arc<Shared<S>>,
}

impl<S: SplitStream> Reader<S> {
    /// Receives the next message (see [`WebSocket::recv`]). The connection's lock is not held while it
    /// blocks on the stream.
    pub fn recv(&mut self) -> Option<Result<Message>> {
        if self.done {
            return None;
        }
        loop {
            let event = self.shared.core().poll();
            match event {
                Some(Event::Message(message)) => return Some(Ok(message)),
                Some(_) => continue,
                None => {}
            }
            let flushed = self.shared.write_pending(false);
            let next = self.shared.core().next();
            match next {
                Next::Finished => {
                    self.done = true;
                    let _ = self.shared.write_pending(true); // writes what is left, shuts down
                    return self.shared.core().result();
                }
                Next::Again => {}
                // The core reads no more until its output drains, which the writer is doing (or nothing is
                // left and a timer will decide): try again shortly.
                Next::Stuck => std::thread::sleep(RETRY),
                Next::Read(wait) => {
                    let wait = match flushed {
                        Ok(Flushed::Blocked) => Some(wait.map_or(RETRY, |w| w.min(RETRY))),
                        _ => wait,
                    };
                    let got = self.rx.read(&mut self.io, wait);
                    self.shared.core().feed(got, &self.rx);
                }
            }
        }
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<CloseFrame> {
        self.shared.core().close_frame().cloned()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.core().conn.state()
    }

    /// Puts the halves back together. Fails (giving them back) if they came from different connections.
    pub fn reunite(
        self,
        writer: Writer<S>,
    ) -> std::result::Result<WebSocket<S>, (Reader<S>, Writer<S>)> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err((self, writer));
        }
        drop(writer);
        // Bytes the reader left in the writing handle's buffer must not be lost: write them now.
        let _ = self.shared.write_pending(true);
        let Ok(shared) = Arc::try_unwrap(self.shared) else {
            unreachable!("the writer was dropped and the reader owns the last reference")
        };
        let core = shared
            .core
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let out = shared
            .out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(WebSocket {
            core,
            io: self.io,
            rx: self.rx,
            write_timeout: out.timeout,
            done: self.done,
            early: Default::default(),
        })
    }
}

/// Iterates over received messages until the connection ends (see [`Reader::recv`]).
impl<S: SplitStream> Iterator for Reader<S> {
    type Item = Result<Message>;
    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

impl<S: SplitStream> Writer<S> {
    /// Sends a message and writes it before returning (blocking while queued output is above the
    /// high-water mark).
    pub fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        self.send_with(message.into(), SendOptions::default())
    }

    /// [`Writer::send`] with per-message options.
    pub fn send_with(&mut self, message: Message, options: SendOptions) -> Result<()> {
        self.queue(|conn| conn.send_with(&message, options))?;
        self.flush()
    }

    /// Queues a message without writing it; [`Writer::flush`] writes (as does the reader before it reads).
    pub fn feed(&mut self, message: impl Into<Message>) -> Result<()> {
        let message = message.into();
        self.queue(|conn| conn.send(&message))
    }

    /// Sends one fragment of a message sent piece by piece (see [`WebSocket::send_fragment`]).
    pub fn send_fragment(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<()> {
        self.queue(|conn| conn.send_fragment(kind, data, fin))?;
        self.flush()
    }

    /// Sends a ping; the pong is consumed by the reader.
    pub fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.queue(|conn| conn.ping(payload))?;
        self.flush()
    }

    /// Starts the close handshake and writes the close frame. The reader's `recv` ends when the peer
    /// answers (or the close timeout runs out).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        match self.queue(|conn| conn.close(code, reason)) {
            Ok(()) | Err(Error::Send(SendError::Closed)) => self.flush(),
            Err(e) => Err(e),
        }
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<()> {
        self.shared
            .write_pending(true)
            .map(|_| ())
            .map_err(Error::Io)
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.core().conn.state()
    }

    /// Queues with `f` once output is below the high-water mark.
    fn queue(
        &mut self,
        f: impl FnOnce(&mut Connection) -> std::result::Result<(), SendError>,
    ) -> Result<()> {
        loop {
            {
                let mut core = self.shared.core();
                if !core.conn.is_backpressured() {
                    return f(&mut core.conn).map_err(Error::from);
                }
                if let Some(e) = core.broken_error() {
                    return Err(Error::Io(e));
                }
            }
            self.shared.write_pending(true)?;
        }
    }
}

impl<S> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for Writer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// How long the reader's writes may block, and how soon it tries again when they could not finish.
const IMPATIENT: Duration = Duration::from_millis(1);
const RETRY: Duration = Duration::from_millis(5);

/// The copy buffer is released when it empties after a write larger than this.
const IDLE_BUFFER_CAPACITY: usize = 64 * 1024;
