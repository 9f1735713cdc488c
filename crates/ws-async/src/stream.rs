//! A transport that is plain TCP or TLS (rustls), the same type for `ws://` and `wss://`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::tunnel::Tunnel;

/// A plain stream, the same stream inside TLS, or a client's tunnel through a proxy.
pub enum MaybeTlsStream<S> {
    /// `ws://`.
    Plain(S),
    /// `wss://` (client or server side).
    #[cfg(feature = "rustls")]
    Tls(Box<futures_rustls::TlsStream<S>>),
    /// A client's connection through a proxy (`ws://` or `wss://`).
    Tunnel(Box<Tunnel<S>>),
}

impl<S> MaybeTlsStream<S> {
    /// Whether the connection to the WebSocket server is TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(_) => false,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(_) => true,
            MaybeTlsStream::Tunnel(t) => t.is_tls(),
        }
    }

    /// The underlying stream (through a proxy: the one to the proxy).
    pub fn get_ref(&self) -> &S {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => t.get_ref().0,
            MaybeTlsStream::Tunnel(t) => t.get_ref(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
            MaybeTlsStream::Tunnel(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
            MaybeTlsStream::Tunnel(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => Pin::new(t.as_mut()).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tunnel(t) => Pin::new(t.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
            MaybeTlsStream::Tunnel(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Tls(t) => Pin::new(t.as_mut()).poll_close(cx),
            MaybeTlsStream::Tunnel(t) => Pin::new(t.as_mut()).poll_close(cx),
        }
    }
}
