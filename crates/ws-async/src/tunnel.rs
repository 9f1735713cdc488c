//! A connection through a proxy: the stream to the proxy (TCP, or TLS for an `https://` proxy), the
//! bytes that came after the proxy's reply, and TLS to the server inside the tunnel for `wss://`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// A client's TLS stream over `S`.
#[cfg(feature = "rustls")]
pub(crate) type ClientTls<S> = futures_rustls::client::TlsStream<S>;

/// A stream whose first reads return `prefix`: the bytes a proxy sent after its reply, which belong to
/// what runs over the tunnel.
pub struct Rewind<S> {
    prefix: Vec<u8>,
    read: usize,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, read after `prefix`.
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Rewind {
            prefix,
            read: 0,
            inner,
        }
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.read < this.prefix.len() {
            let n = buf.len().min(this.prefix.len() - this.read);
            buf[..n].copy_from_slice(&this.prefix[this.read..this.read + n]);
            this.read += n;
            if this.read == this.prefix.len() {
                this.prefix = Vec::new();
                this.read = 0;
            }
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
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
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// A client's connection through a proxy, in one of its four shapes.
#[allow(clippy::large_enum_variant)] // Boxed as a whole in `MaybeTlsStream`.
pub enum Tunnel<S> {
    /// `ws://` through an HTTP or SOCKS proxy.
    Plain(Rewind<S>),
    /// `wss://` through an HTTP or SOCKS proxy: TLS to the server inside the tunnel.
    #[cfg(feature = "rustls")]
    Tls(ClientTls<Rewind<S>>),
    /// `ws://` through an `https://` proxy.
    #[cfg(feature = "rustls")]
    ProxyTls(Rewind<ClientTls<S>>),
    /// `wss://` through an `https://` proxy: TLS to the server inside TLS to the proxy.
    #[cfg(feature = "rustls")]
    TlsInTls(ClientTls<Rewind<ClientTls<S>>>),
}

impl<S> Tunnel<S> {
    /// Whether the server's side of the tunnel is TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        !matches!(self, Tunnel::Plain(_)) && !self.proxy_only_tls()
    }

    #[cfg(feature = "rustls")]
    fn proxy_only_tls(&self) -> bool {
        matches!(self, Tunnel::ProxyTls(_))
    }

    #[cfg(not(feature = "rustls"))]
    fn proxy_only_tls(&self) -> bool {
        false
    }

    /// The socket to the proxy, underneath.
    pub fn get_ref(&self) -> &S {
        match self {
            Tunnel::Plain(r) => r.get_ref(),
            #[cfg(feature = "rustls")]
            Tunnel::Tls(t) => t.get_ref().0.get_ref(),
            #[cfg(feature = "rustls")]
            Tunnel::ProxyTls(r) => r.get_ref().get_ref().0,
            #[cfg(feature = "rustls")]
            Tunnel::TlsInTls(t) => t.get_ref().0.get_ref().get_ref().0,
        }
    }
}

/// Runs `$op` on whichever stream `$tunnel` holds.
macro_rules! each {
    ($tunnel:expr, |$io:ident| $op:expr) => {
        match $tunnel {
            Tunnel::Plain($io) => $op,
            #[cfg(feature = "rustls")]
            Tunnel::Tls($io) => $op,
            #[cfg(feature = "rustls")]
            Tunnel::ProxyTls($io) => $op,
            #[cfg(feature = "rustls")]
            Tunnel::TlsInTls($io) => $op,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Tunnel<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), |io| Pin::new(io).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Tunnel<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), |io| Pin::new(io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), |io| Pin::new(io)
            .poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), |io| Pin::new(io).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), |io| Pin::new(io).poll_close(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::io::{AsyncReadExt, Cursor};

    #[test]
    fn the_prefix_is_read_before_the_stream() {
        let mut r = Rewind::new(b"abc".to_vec(), Cursor::new(b"def".to_vec()));
        let mut out = [0u8; 2];
        let mut all = Vec::new();
        futures_executor_lite(async {
            loop {
                let n = r.read(&mut out).await.unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&out[..n]);
            }
        });
        assert_eq!(all, b"abcdef");
    }

    /// Polls a future that never waits (a cursor) to completion.
    fn futures_executor_lite<F: std::future::Future<Output = ()>>(f: F) {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(f.as_mut().poll(&mut cx).is_ready());
    }
}
