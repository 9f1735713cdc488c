//! A transport that first replays bytes already read (the request head) and then reads the inner stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// `prefix`, then `inner`; writes go straight to `inner`.
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = buf.len().min(this.prefix.len() - this.pos);
            buf[..n].copy_from_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// Split with futures' two-handle lock: the inner stream is TLS, one session for both directions.
impl<S: AsyncRead + AsyncWrite + Unpin> ws_async::SplitIo for Prefixed<S> {
    type ReadHalf = futures_util::io::ReadHalf<Self>;
    type WriteHalf = futures_util::io::WriteHalf<Self>;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        futures_util::AsyncReadExt::split(self)
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        match read.reunite(write) {
            Ok(stream) => stream,
            Err(_) => unreachable!("halves of one stream"),
        }
    }
}
