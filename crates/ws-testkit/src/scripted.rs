//! A scripted peer for tests: everything it sends has already arrived, in chunks, and every write made
//! to it is kept as it was made. It is a futures-io transport and a blocking `Read + Write` stream, so
//! the async adapters' tests and `ws-std`'s use the same one.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::raw;

/// Every write made to an [`Arrived`] peer, as it was made.
pub type Writes = Arc<Mutex<Vec<Vec<u8>>>>;

/// A peer whose bytes have all arrived, in chunks: a read takes at most the rest of the current chunk,
/// and ends the stream once they are all read. With `pause`, the first async read of each chunk is not
/// ready (it wakes its task at once), so two connections served by one task take turns.
#[derive(Debug)]
pub struct Arrived {
    input: VecDeque<Vec<u8>>,
    pause: bool,
    paused: bool,
    writes: Writes,
}

impl Arrived {
    /// A peer sending `chunks`; the writes made to it are recorded in the returned handle.
    pub fn new(chunks: Vec<Vec<u8>>, pause: bool) -> (Self, Writes) {
        let writes = Writes::default();
        let arrived = Arrived {
            input: chunks.into(),
            pause,
            paused: false,
            writes: writes.clone(),
        };
        (arrived, writes)
    }

    /// Copies the next bytes of the current chunk into `buf`.
    fn take(&mut self, buf: &mut [u8]) -> usize {
        let Some(chunk) = self.input.front_mut() else {
            return 0;
        };
        let n = buf.len().min(chunk.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        chunk.drain(..n);
        if chunk.is_empty() {
            self.input.pop_front();
            self.paused = false;
        }
        n
    }

    fn record(&self, bufs: &[IoSlice<'_>]) -> usize {
        let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        let n = joined.len();
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(joined);
        n
    }
}

/// A client's upgrade request, then `count` small binary messages in one chunk (each its index, 4 bytes
/// big-endian), then a close frame (1000): the chunks of a peer that sends a burst.
pub fn handshake_then_small_burst(count: u32) -> Vec<Vec<u8>> {
    handshake_then_small_bursts(&[count])
}

/// Like [`handshake_then_small_burst`], with one chunk per burst of `counts` (the indices running on
/// from one burst to the next): a peer whose messages arrive in several batches.
pub fn handshake_then_small_bursts(counts: &[u32]) -> Vec<Vec<u8>> {
    let mut chunks = vec![raw::upgrade_request("/", "").into_bytes()];
    let mut next = 0;
    for &count in counts {
        let burst = (next..next + count)
            .flat_map(|i| raw::client_frame(true, raw::BINARY, &i.to_be_bytes()))
            .collect();
        chunks.push(burst);
        next += count;
    }
    chunks.push(raw::client_frame(true, raw::CLOSE, &1000u16.to_be_bytes()));
    chunks
}

impl AsyncRead for Arrived {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pause && !this.paused && !this.input.is_empty() {
            this.paused = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(this.take(buf)))
    }
}

impl AsyncWrite for Arrived {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.record(&[IoSlice::new(buf)])))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.record(bufs)))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Read for Arrived {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.take(buf))
    }
}

impl Write for Arrived {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.record(&[IoSlice::new(buf)]))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How a run of echoes (by index) was written: each in a write of its own, or all in one.
#[derive(Debug, Clone)]
pub enum Written {
    /// One write per echo.
    EachAlone(std::ops::Range<u32>),
    /// One write for the whole run.
    Together(std::ops::Range<u32>),
}

/// What [`echoes_per_write`] returns for an echo written as `runs`, in order, followed by the write of
/// the close frame.
pub fn expected_writes(runs: &[Written]) -> Vec<Vec<Option<u32>>> {
    let mut writes = Vec::new();
    for run in runs {
        match run {
            Written::EachAlone(range) => writes.extend(range.clone().map(|i| vec![Some(i)])),
            Written::Together(range) => writes.push(range.clone().map(Some).collect()),
        }
    }
    writes.push(vec![None]);
    writes
}

/// The frames of each write after the 101 response, as an echo of [`handshake_then_small_burst`] makes
/// them: each echo's index, the close frame as `None`.
pub fn echoes_per_write(writes: &Writes) -> Vec<Vec<Option<u32>>> {
    use futures_util::FutureExt;
    let writes = writes.lock().unwrap_or_else(|e| e.into_inner());
    assert!(writes[0].starts_with(b"HTTP/1.1 101"), "{:?}", writes[0]);
    writes[1..]
        .iter()
        .map(|write| {
            let mut cursor = futures_util::io::Cursor::new(write.clone());
            let mut frames = Vec::new();
            while (cursor.position() as usize) < write.len() {
                // A cursor over bytes in memory: always ready.
                let frame = raw::read_frame(&mut cursor)
                    .now_or_never()
                    .expect("in memory")
                    .expect("a whole frame");
                frames.push(match frame.opcode {
                    raw::CLOSE => None,
                    _ => Some(u32::from_be_bytes(
                        frame.payload[..].try_into().expect("4-byte payloads"),
                    )),
                });
            }
            frames
        })
        .collect()
}
