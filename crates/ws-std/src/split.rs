//! Reader and writer halves of a [`WebSocket`], for two threads.
//!
//! The connection is split in the core ([`ws_core::Connection::split_sender`]): the reader owns the
//! [`ws_core::Connection`] (receiving, answering pings and close frames, timers) and its own handle of the
//! stream, and reads and parses with no lock at all. The writer's [`Sender`] frames the data messages.
//! The writing handle of the stream, with the sender and its output queue, is behind one mutex, held by
//! whoever writes, so frames never interleave: the writer for its messages, the reader only when it has
//! something of its own to write (pongs, close replies, keepalive pings).
//!
//! The writer writes patiently (blocking until done). The reader never blocks on writing: before it
//! reads, it hands its frames to the sender and writes what it can within a millisecond or two (its own
//! frames and whatever is queued ahead of them), leaves the rest in the queue for the next writer, and
//! if the socket was full or the writer held the stream, it reads with a short timeout so it can try
//! again. So a writer blocked on a large message never stops its reader from reading, which with a peer
//! doing the same would leave both sides waiting for each other. Frames the reader could not hand over
//! yet count as its connection's queued output: past the high-water mark it stops reading.
//!
//! The reader's timers notice a peer that stopped reading, and the writer's waits end with them. If the
//! reader is dropped, the writer runs the sender's own timer ([`Sender::handle_time`]): a write that
//! makes no progress for the pong timeout fails.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use ws_adapter::{Clock, Error, Result};
use ws_core::{
    CloseCode, CloseFrame, DataKind, Event, Message, Outgoing, SendError, SendOptions, Sender,
    State,
};

use crate::engine::{Core, Next, ReadBuf, TimeoutCache, copy_error, write_buf};
use crate::stream::{DeadlineStream, SplitStream};
use crate::websocket::WebSocket;
use bytes::Buf;

/// What the halves share: the writing side, and whether the reader has finished.
struct Shared<S> {
    out: Mutex<Out<S>>,
    /// The reader saw the connection end: a writer stuck on a peer that does not read gives up.
    ended: AtomicBool,
}

/// The writing handle of the stream, the sender with its output queue, the write timeout last set, and
/// a write error (the stream is then broken for both halves).
struct Out<S> {
    io: S,
    sender: Sender,
    timeout: TimeoutCache,
    broken: Option<io::Error>,
}

impl<S: DeadlineStream> Out<S> {
    /// One write of queued output (vectored when a large payload is queued by reference).
    fn write_some(&mut self, wait: Option<Duration>) -> io::Result<usize> {
        let Out {
            io,
            sender,
            timeout,
            ..
        } = self;
        timeout.set(wait, |t| io.set_write_timeout(t))?;
        let mut out = sender.output();
        let n = write_buf(io, &out)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        out.advance(n);
        if !out.has_remaining() {
            io.flush()?;
        }
        Ok(n)
    }

    fn broken_error(&self) -> Option<io::Error> {
        self.broken.as_ref().map(copy_error)
    }
}

/// What the reader's attempt to write achieved.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flushed {
    /// Everything is written.
    Done,
    /// The writer holds the stream: the reader's frames wait with its connection.
    Busy,
    /// The socket is full: bytes are left for the next attempt.
    Blocked,
}

fn lock<S>(out: &Mutex<Out<S>>) -> MutexGuard<'_, Out<S>> {
    out.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The receiving half of a split [`WebSocket`]: [`Reader::recv`], an `Iterator`. It owns the connection:
/// it answers pings and close frames and runs the timers while it reads.
pub struct Reader<S> {
    core: Core,
    shared: Arc<Shared<S>>,
    io: S,
    rx: ReadBuf,
    done: bool,
}

/// The sending half of a split [`WebSocket`]: [`Writer::send`], [`Writer::close`].
pub struct Writer<S> {
    shared: Arc<Shared<S>>,
}

/// Splits `ws` (see [`WebSocket::split`]).
pub(crate) fn split<S: SplitStream>(ws: WebSocket<S>) -> io::Result<(Reader<S>, Writer<S>)> {
    let WebSocket {
        mut core,
        io,
        rx,
        write_timeout,
        done,
        ..
    } = ws;
    let writing = io.try_clone_stream()?;
    let sender = core
        .conn
        .split_sender()
        .map_err(|e| io::Error::other(format!("cannot split: {e}")))?;
    let shared = Arc::new(Shared {
        out: Mutex::new(Out {
            io: writing,
            sender,
            timeout: write_timeout,
            broken: core.broken_error(),
        }),
        ended: AtomicBool::new(false),
    });
    let writer = Writer {
        shared: shared.clone(),
    };
    let reader = Reader {
        core,
        shared,
        io,
        rx,
        done,
    };
    Ok((reader, writer))
}

impl<S: SplitStream> Reader<S> {
    /// Receives the next message (see [`WebSocket::recv`]). Takes no lock unless it has frames of its own
    /// to write, and never holds one while it blocks on the stream.
    pub fn recv(&mut self) -> Option<Result<Message>> {
        if self.done {
            return None;
        }
        loop {
            match self.core.poll() {
                Some(Event::Message(message)) => return Some(Ok(message)),
                Some(_) => continue,
                None => {}
            }
            let flushed = self.write_own(false);
            match self.core.next() {
                Next::Finished => {
                    self.done = true;
                    self.shared.ended.store(true, Ordering::Release);
                    self.write_own(true); // writes what is left, shuts down
                    return self.core.result();
                }
                Next::Again => {}
                // The core reads no more until its output drains, which the writer is doing (or nothing is
                // left and a timer will decide): try again shortly.
                Next::Stuck => std::thread::sleep(RETRY),
                Next::Read(wait) => {
                    let wait = match flushed {
                        Flushed::Blocked | Flushed::Busy => {
                            Some(wait.map_or(RETRY, |w| w.min(RETRY)))
                        }
                        Flushed::Done => wait,
                    };
                    let got = self.rx.read(&mut self.io, wait);
                    self.core.feed(got, &self.rx);
                }
            }
        }
    }

    /// Hands the connection's frames to the sender and writes: `patient`ly (waiting for the stream and
    /// for the socket, bounded by the connection's deadlines), or as the reader does before it reads
    /// (neither). Shuts the write side down when the connection asks.
    fn write_own(&mut self, patient: bool) -> Flushed {
        let nothing_to_do = !self.core.conn.output().has_remaining()
            && !self.core.conn.is_finished()
            && self.core.conn.state() != State::Closed;
        if nothing_to_do && !patient {
            return Flushed::Done;
        }
        let mut out = if patient {
            lock(&self.shared.out)
        } else {
            match self.shared.out.try_lock() {
                Ok(out) => out,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                Err(TryLockError::WouldBlock) => return Flushed::Busy,
            }
        };
        if let Some(e) = out.broken_error() {
            self.core.broken.get_or_insert(e);
            return Flushed::Done;
        }
        let core = &mut self.core;
        loop {
            core.conn.hand_output_to(&mut out.sender);
            let shutdown =
                out.sender.poll_shutdown() || (core.conn.is_finished() && core.broken.is_none());
            if shutdown && !core.shut {
                core.shut = true;
                // Errors here (the peer already gone) do not matter: we are closing anyway.
                let _ = out.io.shutdown_write();
            }
            if !out.sender.output().has_remaining() {
                return Flushed::Done;
            }
            let wait = if patient {
                core.wait()
            } else {
                Some(IMPATIENT)
            };
            match out.write_some(wait) {
                Ok(_) => {}
                Err(e) if !patient && is_timeout(&e) => return Flushed::Blocked,
                Err(e) => {
                    if let Err(e) = core.write_failed(e) {
                        out.broken = Some(copy_error(&e));
                        core.broken = Some(e);
                        return Flushed::Done;
                    }
                }
            }
        }
    }

    /// The peer's close frame, once the connection closed cleanly.
    pub fn close_frame(&self) -> Option<CloseFrame> {
        self.core.close_frame().cloned()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.core.conn.state()
    }

    /// Puts the halves back together. Fails (giving them back) if they came from different connections.
    // The halves come back by value on the (cold) mismatch path, as `Result` gives them.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        self,
        writer: Writer<S>,
    ) -> std::result::Result<WebSocket<S>, (Reader<S>, Writer<S>)> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err((self, writer));
        }
        drop(writer);
        let Reader {
            mut core,
            shared,
            io,
            rx,
            done,
        } = self;
        let Ok(shared) = Arc::try_unwrap(shared) else {
            unreachable!("the writer was dropped and the reader owns the last reference")
        };
        let out = shared
            .out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if core.conn.reunite(out.sender).is_err() {
            unreachable!("the sender was split off this connection");
        }
        if let Some(e) = out.broken {
            core.broken.get_or_insert(e);
        }
        Ok(WebSocket {
            core,
            io,
            rx,
            write_timeout: out.timeout,
            done,
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
    pub fn send(&mut self, message: impl Into<Outgoing>) -> Result<()> {
        self.send_with(message, SendOptions::default())
    }

    /// [`Writer::send`] with per-message options.
    pub fn send_with(&mut self, message: impl Into<Outgoing>, options: SendOptions) -> Result<()> {
        let message = message.into();
        let mut out = self.queue(|sender| sender.send_with(&message, options))?;
        write_all(&mut out, &self.shared.ended)
    }

    /// Queues a message without writing it; [`Writer::flush`] writes (so does the reader when it next
    /// writes a pong or close reply of its own, which go out behind it).
    pub fn feed(&mut self, message: impl Into<Outgoing>) -> Result<()> {
        let message = message.into();
        self.queue(|sender| sender.send(&message)).map(drop)
    }

    /// Sends one fragment of a message sent piece by piece (see [`WebSocket::send_fragment`]).
    pub fn send_fragment(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<()> {
        let mut out = self.queue(|sender| sender.send_fragment(kind, data, fin))?;
        write_all(&mut out, &self.shared.ended)
    }

    /// Sends a ping; the pong is consumed by the reader.
    pub fn ping(&mut self, payload: &[u8]) -> Result<()> {
        let mut out = self.queue(|sender| sender.ping(payload))?;
        write_all(&mut out, &self.shared.ended)
    }

    /// Starts the close handshake and writes the close frame. The reader's `recv` ends when the peer
    /// answers (or the close timeout runs out, counted from when the reader next looks at the
    /// connection).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        let mut out = match self.queue(|sender| sender.close(code, reason)) {
            Ok(out) => out,
            Err(Error::Send(SendError::Closed)) => lock(&self.shared.out),
            Err(e) => return Err(e),
        };
        write_all(&mut out, &self.shared.ended)
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<()> {
        write_all(&mut lock(&self.shared.out), &self.shared.ended)
    }

    /// The connection's state as far as the writer knows (`Closing` once either half sent a close frame).
    pub fn state(&self) -> State {
        lock(&self.shared.out).sender.state()
    }

    /// Queues with `f` once output is below the high-water mark; gives back the stream, still held.
    fn queue(
        &self,
        f: impl FnOnce(&mut Sender) -> std::result::Result<(), SendError>,
    ) -> Result<MutexGuard<'_, Out<S>>> {
        let mut out = lock(&self.shared.out);
        if out.sender.is_backpressured() {
            drain(&mut out, &self.shared.ended, true)?;
        }
        f(&mut out.sender)?;
        Ok(out)
    }
}

/// Writes everything queued, blocking.
fn write_all<S: DeadlineStream>(out: &mut Out<S>, ended: &AtomicBool) -> Result<()> {
    drain(out, ended, false)
}

/// Writes queued output, blocking: all of it, or (`below_high_water`) until it is below the high-water
/// mark. Writes wait in slices: between two, a writer whose connection ended (its peer stopped reading
/// and the reader's timers gave up) stops waiting, and so does one whose reader was dropped once the
/// output made no progress for the pong timeout ([`Sender::handle_time`]).
fn drain<S: DeadlineStream>(
    out: &mut Out<S>,
    ended: &AtomicBool,
    below_high_water: bool,
) -> Result<()> {
    loop {
        if let Some(e) = out.broken_error() {
            return Err(Error::Io(e));
        }
        let done = if below_high_water {
            !out.sender.is_backpressured()
        } else {
            !out.sender.output().has_remaining()
        };
        if done {
            return Ok(());
        }
        match out.write_some(Some(WRITE_SLICE)) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if ended.load(Ordering::Acquire) {
                    return Err(Error::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer stopped reading",
                    )));
                }
                // With the reader dropped, the sender's own timer gives up on the peer.
                out.sender
                    .handle_time(Clock::start().now())
                    .map_err(Error::Failed)?;
            }
            Err(e) => {
                out.broken = Some(copy_error(&e));
                return Err(Error::Io(e));
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
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

/// How long one of the writer's blocking writes waits before it checks whether the connection ended.
const WRITE_SLICE: Duration = Duration::from_millis(100);
