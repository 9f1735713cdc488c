//! Streams through a proxy: [`Rewind`] (the bytes that came after the proxy's reply, then the stream) and
//! [`Tunnel`] (plain or TLS to the server, over TCP or TLS to the proxy).

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use rustls::{ClientConnection, StreamOwned};

use crate::stream::{DeadlineStream, SplitStream, TcpBacked, TlsClientStream};

/// A stream that first yields `prefix` (bytes already read from `inner`: what a proxy sent after its
/// reply, which belongs to the stream running over the tunnel), then reads from `inner`. Writes go
/// straight to `inner`.
pub struct Rewind<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, whose next reads return `prefix` first.
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Rewind {
            prefix,
            pos: 0,
            inner,
        }
    }

    /// The bytes of the prefix not read yet.
    pub fn prefix(&self) -> &[u8] {
        self.prefix.get(self.pos..).unwrap_or_default()
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream underneath, mutably (reading from it directly skips what is left of the prefix).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The prefix not read yet and the stream underneath.
    pub fn into_parts(mut self) -> (Vec<u8>, S) {
        self.prefix.drain(..self.pos.min(self.prefix.len()));
        (self.prefix, self.inner)
    }
}

impl<S> fmt::Debug for Rewind<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rewind")
            .field("prefix_left", &self.prefix().len())
            .finish_non_exhaustive()
    }
}

impl<S: Read> Read for Rewind<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.prefix();
        if left.is_empty() || buf.is_empty() {
            return self.inner.read(buf);
        }
        let n = left.len().min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.pos += n;
        if self.pos >= self.prefix.len() {
            self.prefix = Vec::new(); // free it
            self.pos = 0;
        }
        Ok(n)
    }
}

impl<S: Write> Write for Rewind<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<S: TcpBacked> TcpBacked for Rewind<S> {
    fn tcp(&self) -> &TcpStream {
        self.inner.tcp()
    }
}

/// A connection through a proxy (what [`crate::MaybeTlsStream::Tunnel`] holds): one variant per target
/// scheme and kind of proxy. Reads start with the bytes the proxy sent after its reply ([`Rewind`]).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // boxed as a whole in `MaybeTlsStream`
pub enum Tunnel {
    /// `ws://` through an HTTP (`CONNECT`) or SOCKS proxy.
    Plain(Rewind<TcpStream>),
    /// `wss://` through an HTTP or SOCKS proxy: TLS to the server inside the tunnel.
    Tls(StreamOwned<ClientConnection, Rewind<TcpStream>>),
    /// `ws://` through an `https://` proxy: the tunnel runs inside TLS to the proxy.
    ProxyTls(Rewind<TlsClientStream>),
    /// `wss://` through an `https://` proxy: TLS to the server inside TLS to the proxy.
    TlsInTls(StreamOwned<ClientConnection, Rewind<TlsClientStream>>),
}

impl Tunnel {
    /// The TCP stream to the proxy underneath.
    pub fn tcp(&self) -> &TcpStream {
        TcpBacked::tcp(self)
    }

    /// Whether there is TLS to the server (a `wss://` target).
    pub fn is_tls(&self) -> bool {
        matches!(self, Tunnel::Tls(_) | Tunnel::TlsInTls(_))
    }

    /// Whether the proxy is reached over TLS (an `https://` proxy).
    pub fn is_proxy_tls(&self) -> bool {
        matches!(self, Tunnel::ProxyTls(_) | Tunnel::TlsInTls(_))
    }
}

impl TcpBacked for Tunnel {
    fn tcp(&self) -> &TcpStream {
        match self {
            Tunnel::Plain(s) => s.tcp(),
            Tunnel::Tls(s) => s.tcp(),
            Tunnel::ProxyTls(s) => s.tcp(),
            Tunnel::TlsInTls(s) => s.tcp(),
        }
    }
}

impl Read for Tunnel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Tunnel::Plain(s) => s.read(buf),
            Tunnel::Tls(s) => s.read(buf),
            Tunnel::ProxyTls(s) => s.read(buf),
            Tunnel::TlsInTls(s) => s.read(buf),
        }
    }
}

impl Write for Tunnel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Tunnel::Plain(s) => s.write(buf),
            Tunnel::Tls(s) => s.write(buf),
            Tunnel::ProxyTls(s) => s.write(buf),
            Tunnel::TlsInTls(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Tunnel::Plain(s) => s.write_vectored(bufs),
            Tunnel::Tls(s) => s.write_vectored(bufs),
            Tunnel::ProxyTls(s) => s.write_vectored(bufs),
            Tunnel::TlsInTls(s) => s.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Tunnel::Plain(s) => s.flush(),
            Tunnel::Tls(s) => s.flush(),
            Tunnel::ProxyTls(s) => s.flush(),
            Tunnel::TlsInTls(s) => s.flush(),
        }
    }
}

/// Reads are bounded by the TCP socket's read timeout; writes only for [`Tunnel::Plain`] (with TLS in
/// the way a write may turn into a read, as for [`TlsClientStream`]). Shutting down sends `close_notify`
/// for each TLS layer, innermost first, then the TCP FIN.
impl DeadlineStream for Tunnel {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Tunnel::Plain(s) => s.tcp().set_write_timeout(timeout),
            _ => Ok(()),
        }
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Tunnel::Plain(s) => s.flush()?,
            Tunnel::Tls(s) => {
                s.conn.send_close_notify();
                s.flush()?;
            }
            Tunnel::ProxyTls(s) => {
                let proxy = s.get_mut();
                proxy.conn.send_close_notify();
                proxy.flush()?;
            }
            Tunnel::TlsInTls(s) => {
                s.conn.send_close_notify();
                s.flush()?;
                let proxy = s.sock.get_mut();
                proxy.conn.send_close_notify();
                proxy.flush()?;
            }
        }
        self.tcp().shutdown(Shutdown::Write)
    }
}

/// A plain tunnel splits (a clone of the TCP stream) once the bytes left over from the proxy's reply
/// have been read; anything with TLS fails with [`io::ErrorKind::Unsupported`] (see [`SplitStream`]).
impl SplitStream for Tunnel {
    fn try_clone_stream(&self) -> io::Result<Self> {
        match self {
            Tunnel::Plain(s) if s.prefix().is_empty() => Ok(Tunnel::Plain(Rewind::new(
                Vec::new(),
                s.get_ref().try_clone()?,
            ))),
            Tunnel::Plain(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this proxied WebSocket cannot be split yet: bytes the proxy sent after its reply are \
                 still unread",
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a WebSocket with TLS (to the server or to the proxy) cannot be split: rustls keeps one \
                 session state for both directions",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewind_reads_the_prefix_first_then_the_stream() {
        let mut r = Rewind::new(b"abc".to_vec(), &b"defg"[..]);
        let mut buf = [0u8; 2];
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
        assert_eq!(r.prefix(), b"c");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"cdefg");
        assert!(r.prefix().is_empty());
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn rewind_into_parts_keeps_what_is_unread() {
        let mut r = Rewind::new(b"xyz".to_vec(), &b""[..]);
        let mut one = [0u8; 1];
        r.read_exact(&mut one).unwrap();
        let (prefix, _) = r.into_parts();
        assert_eq!(prefix, b"yz");
        assert!(format!("{:?}", Rewind::new(b"12".to_vec(), ())).contains("prefix_left: 2"));
    }

    #[test]
    fn rewind_writes_go_to_the_stream() {
        let mut r = Rewind::new(b"in".to_vec(), Vec::new());
        r.write_all(b"out").unwrap();
        r.flush().unwrap();
        assert_eq!(r.get_ref(), b"out");
    }
}
