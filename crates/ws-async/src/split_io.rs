//! Transports split into a reading and a writing half, for [`crate::WebSocket::split`].
//!
//! TCP splits with no lock: both halves are handles to the same socket (tokio's owned halves, or the
//! socket shared by smol and async-std streams). A TLS session is one state machine for both
//! directions, so TLS halves share it behind futures' two-handle lock, and so do the halves of a
//! tunnel through a proxy.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::stream::MaybeTlsStream;
use crate::tunnel::Tunnel;

/// A transport that splits into a reading and a writing half, and joins back.
///
/// Implemented for every adapter's `Stream` (TCP or TLS). For a transport of your own that has no
/// halves of its own, split it with futures' `AsyncReadExt::split` (a two-handle lock, taken for one
/// poll at a time) and join with `ReadHalf::reunite`.
pub trait SplitIo: AsyncRead + AsyncWrite + Unpin + Sized {
    /// The reading half.
    type ReadHalf: AsyncRead + Unpin;
    /// The writing half.
    type WriteHalf: AsyncWrite + Unpin;

    /// Splits the transport.
    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf);

    /// Joins two halves of one transport (split by [`SplitIo::split_io`]) back together.
    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self;
}

/// The reading half of a [`MaybeTlsStream`].
pub enum MaybeTlsRead<S: SplitIo> {
    /// Plain TCP.
    Plain(S::ReadHalf),
    /// TLS: the session, shared with the writing half.
    #[cfg(feature = "rustls")]
    Tls(futures_util::io::ReadHalf<Box<futures_rustls::TlsStream<S>>>),
    /// Through a proxy: the tunnel, shared with the writing half.
    Tunnel(futures_util::io::ReadHalf<Box<Tunnel<S>>>),
}

/// The writing half of a [`MaybeTlsStream`].
pub enum MaybeTlsWrite<S: SplitIo> {
    /// Plain TCP.
    Plain(S::WriteHalf),
    /// TLS: the session, shared with the reading half.
    #[cfg(feature = "rustls")]
    Tls(futures_util::io::WriteHalf<Box<futures_rustls::TlsStream<S>>>),
    /// Through a proxy: the tunnel, shared with the reading half.
    Tunnel(futures_util::io::WriteHalf<Box<Tunnel<S>>>),
}

impl<S: SplitIo> SplitIo for MaybeTlsStream<S> {
    type ReadHalf = MaybeTlsRead<S>;
    type WriteHalf = MaybeTlsWrite<S>;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        match self {
            MaybeTlsStream::Plain(s) => {
                let (r, w) = s.split_io();
                (MaybeTlsRead::Plain(r), MaybeTlsWrite::Plain(w))
            }
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => {
                let (r, w) = futures_util::io::AsyncReadExt::split(t);
                (MaybeTlsRead::Tls(r), MaybeTlsWrite::Tls(w))
            }
            MaybeTlsStream::Tunnel(t) => {
                let (r, w) = futures_util::io::AsyncReadExt::split(t);
                (MaybeTlsRead::Tunnel(r), MaybeTlsWrite::Tunnel(w))
            }
        }
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        match (read, write) {
            (MaybeTlsRead::Plain(r), MaybeTlsWrite::Plain(w)) => {
                MaybeTlsStream::Plain(S::unsplit_io(r, w))
            }
            #[cfg(feature = "rustls")]
            (MaybeTlsRead::Tls(r), MaybeTlsWrite::Tls(w)) => MaybeTlsStream::Tls(
                r.reunite(w)
                    .unwrap_or_else(|_| unreachable!("halves of one stream")),
            ),
            (MaybeTlsRead::Tunnel(r), MaybeTlsWrite::Tunnel(w)) => MaybeTlsStream::Tunnel(
                r.reunite(w)
                    .unwrap_or_else(|_| unreachable!("halves of one stream")),
            ),
            _ => unreachable!("halves of one stream are of one kind"),
        }
    }
}

impl<S: SplitIo> AsyncRead for MaybeTlsRead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsRead::Plain(r) => Pin::new(r).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsRead::Tls(r) => Pin::new(r).poll_read(cx, buf),
            MaybeTlsRead::Tunnel(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl<S: SplitIo> AsyncWrite for MaybeTlsWrite<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsWrite::Plain(w) => Pin::new(w).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsWrite::Tls(w) => Pin::new(w).poll_write(cx, buf),
            MaybeTlsWrite::Tunnel(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsWrite::Plain(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsWrite::Tls(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            MaybeTlsWrite::Tunnel(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsWrite::Plain(w) => Pin::new(w).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsWrite::Tls(w) => Pin::new(w).poll_flush(cx),
            MaybeTlsWrite::Tunnel(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsWrite::Plain(w) => Pin::new(w).poll_close(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsWrite::Tls(w) => Pin::new(w).poll_close(cx),
            MaybeTlsWrite::Tunnel(w) => Pin::new(w).poll_close(cx),
        }
    }
}

/// smol's TCP stream: both halves are handles to the one socket.
#[cfg(feature = "async-net")]
impl SplitIo for async_net::TcpStream {
    type ReadHalf = async_net::TcpStream;
    type WriteHalf = async_net::TcpStream;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        (self.clone(), self)
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        drop(write);
        read
    }
}
