//! An instrumented futures-io transport: counts the `poll_write` and `poll_write_vectored` calls that
//! complete (each is one `write` or `writev` system call on a plain TCP stream) and the bytes moved each way, and records what was read. [`StdTap`] is
//! the same for blocking `ws-std` streams.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Counters shared between a [`Tap`] and the test.
#[derive(Debug, Default)]
pub struct TapStats {
    writes: AtomicUsize,
    bytes_written: AtomicUsize,
    reads: AtomicUsize,
    bytes_read: AtomicUsize,
    recorded: Mutex<Vec<u8>>,
}

impl TapStats {
    /// `poll_write` calls that returned `Ready(Ok(n))` with `n > 0`.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
    /// Bytes written.
    pub fn bytes_written(&self) -> usize {
        self.bytes_written.load(Ordering::SeqCst)
    }
    /// `poll_read` calls that returned data.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
    /// Bytes read.
    pub fn bytes_read(&self) -> usize {
        self.bytes_read.load(Ordering::SeqCst)
    }
    /// Every byte read so far.
    pub fn recorded(&self) -> Vec<u8> {
        self.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A transport wrapper feeding [`TapStats`].
#[derive(Debug)]
pub struct Tap<T> {
    inner: T,
    stats: Arc<TapStats>,
}

impl<T> Tap<T> {
    /// Wraps `inner`; the stats handle is shared with the caller.
    pub fn new(inner: T) -> (Self, Arc<TapStats>) {
        let stats = Arc::new(TapStats::default());
        (
            Tap {
                inner,
                stats: stats.clone(),
            },
            stats,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &result
            && *n > 0
        {
            this.stats.reads.fetch_add(1, Ordering::SeqCst);
            this.stats.bytes_read.fetch_add(*n, Ordering::SeqCst);
            this.stats
                .recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&buf[..*n]);
        }
        result
    }
}

impl TapStats {
    /// Counts a write call that wrote `n` bytes.
    fn count_write(&self, n: usize) {
        if n > 0 {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.bytes_written.fetch_add(n, Ordering::SeqCst);
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            this.stats.count_write(*n);
        }
        result
    }

    /// Passed through (one call, one `writev`), so the tests see the writes the engine makes.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &result {
            this.stats.count_write(*n);
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// A tapped transport splits into tapped halves feeding the same counters.
impl<T: ws_async::SplitIo> ws_async::SplitIo for Tap<T> {
    type ReadHalf = Tap<T::ReadHalf>;
    type WriteHalf = Tap<T::WriteHalf>;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        let (read, write) = self.inner.split_io();
        (
            Tap {
                inner: read,
                stats: self.stats.clone(),
            },
            Tap {
                inner: write,
                stats: self.stats,
            },
        )
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        Tap {
            inner: T::unsplit_io(read.inner, write.inner),
            stats: read.stats,
        }
    }
}

/// The blocking counterpart of [`Tap`] for `ws-std`: a TCP stream counting the `write` calls that
/// succeed and recording what was read, with the socket's timeouts and shutdown passed through.
#[derive(Debug)]
pub struct StdTap {
    tcp: std::net::TcpStream,
    stats: Arc<TapStats>,
}

impl StdTap {
    /// Wraps `tcp`; the stats handle is shared with the caller.
    pub fn new(tcp: std::net::TcpStream) -> (Self, Arc<TapStats>) {
        let stats = Arc::new(TapStats::default());
        (
            StdTap {
                tcp,
                stats: stats.clone(),
            },
            stats,
        )
    }
}

impl io::Read for StdTap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        if n > 0 {
            self.stats.reads.fetch_add(1, Ordering::SeqCst);
            self.stats.bytes_read.fetch_add(n, Ordering::SeqCst);
            self.stats
                .recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

impl io::Write for StdTap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tcp.write(buf)?;
        self.stats.count_write(n);
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.tcp.write_vectored(bufs)?;
        self.stats.count_write(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl ws_std::DeadlineStream for StdTap {
    fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.tcp.set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.tcp.shutdown(std::net::Shutdown::Write)
    }
}
