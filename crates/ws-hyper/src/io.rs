//! hyper's I/O traits seen as futures-io, which ws-async's engine reads and writes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{Read, ReadBuf, Write};

/// A transport with hyper's I/O traits ([`hyper::rt::Read`] + [`hyper::rt::Write`], such as
/// [`hyper::upgrade::Upgraded`]) as a futures-io `AsyncRead` + `AsyncWrite`, the transport ws-async's
/// engine drives. Vectored writes pass through; `poll_close` shuts the write side (over HTTP/2, it ends
/// the CONNECT stream).
///
/// ```
/// # fn demo(upgraded: hyper::upgrade::Upgraded) {
/// let io = ws_hyper::HyperIo::new(upgraded);
/// let _upgraded: &hyper::upgrade::Upgraded = io.get_ref();
/// # }
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        HyperIo { inner }
    }

    /// The wrapped transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Gives back the wrapped transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Read + Unpin> AsyncRead for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read = ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.get_mut().inner).poll_read(cx, read.unfilled()))?;
        Poll::Ready(Ok(read.filled().len()))
    }
}

impl<T: Write + Unpin> AsyncWrite for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Splits with futures' two-handle lock (taken for one poll at a time): an upgraded connection has no
/// halves of its own.
impl<T: Read + Write + Unpin> ws_async::SplitIo for HyperIo<T> {
    type ReadHalf = futures_util::io::ReadHalf<HyperIo<T>>;
    type WriteHalf = futures_util::io::WriteHalf<HyperIo<T>>;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        futures_util::io::AsyncReadExt::split(self)
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        read.reunite(write)
            .unwrap_or_else(|_| unreachable!("halves of one transport"))
    }
}
