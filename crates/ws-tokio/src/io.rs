//! tokio sockets as futures-io streams, with vectored writes.
//!
//! `tokio-util`'s compatibility layer does not pass vectored writes through (a futures-io
//! `poll_write_vectored` there writes the first buffer only), which would send a large frame's header
//! and its payload in two system calls and, with `TCP_NODELAY`, two packets. This wrapper forwards it.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A tokio stream (TCP, or anything tokio reads and writes) seen as a futures-io stream.
#[derive(Debug)]
pub struct TokioIo<T>(T);

impl<T> TokioIo<T> {
    /// Wraps a tokio stream.
    pub fn new(inner: T) -> Self {
        TokioIo(inner)
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.0
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsyncRead + Unpin> futures_io::AsyncRead for TokioIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> futures_io::AsyncWrite for TokioIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// TCP splits into tokio's owned halves: two handles to the one socket, no lock between them.
impl ws_async::SplitIo for TokioIo<tokio::net::TcpStream> {
    type ReadHalf = TokioIo<tokio::net::tcp::OwnedReadHalf>;
    type WriteHalf = TokioIo<tokio::net::tcp::OwnedWriteHalf>;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        let (read, write) = self.0.into_split();
        (TokioIo(read), TokioIo(write))
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        match read.0.reunite(write.0) {
            Ok(tcp) => TokioIo(tcp),
            Err(_) => unreachable!("halves of one stream"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::AsyncWriteExt;

    /// A tokio writer that records each write call.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<Vec<u8>>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.calls.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let n = joined.len();
            self.calls.push(joined);
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_vectored_write_reaches_the_stream_as_one_call() {
        let mut io = TokioIo::new(Recorder::default());
        let n = io
            .write_vectored(&[IoSlice::new(b"head"), IoSlice::new(b"payload")])
            .await
            .unwrap();
        assert_eq!(n, 11);
        assert_eq!(io.get_ref().calls, vec![b"headpayload".to_vec()]);
    }
}
