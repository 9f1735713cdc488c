//! The transport seam: blocking streams whose waits can be bounded by the core's deadlines.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use rustls::{ConnectionCommon, SideData, StreamOwned};

use crate::tunnel::Tunnel;

/// A client TLS stream over TCP (what `wss://` connects with).
pub type TlsClientStream = StreamOwned<rustls::ClientConnection, TcpStream>;
/// A server TLS stream over TCP (what [`crate::accept_tls`] serves).
pub type TlsServerStream = StreamOwned<rustls::ServerConnection, TcpStream>;

/// A blocking byte stream the connection can bound in time.
///
/// Before each blocking read the connection sets the read timeout to the time left until the core's next
/// deadline (keepalive ping, pong, close or handshake timeout), so timers fire while the peer is silent; a
/// read that times out (`WouldBlock` or `TimedOut`) just lets the core handle the time. Writes are bounded
/// the same way where the stream supports it, so a peer that stops reading fails the connection once the
/// pong or close timeout runs out instead of blocking the thread forever.
///
/// Implemented for [`TcpStream`], Unix sockets, the rustls streams over TCP and [`MaybeTlsStream`]. Any other
/// blocking `Read + Write` stream works through [`NoDeadline`] (or an empty `impl DeadlineStream for T {}`):
/// its timers then fire only when bytes arrive. Streams must be in blocking mode.
pub trait DeadlineStream: Read + Write {
    /// Bounds the next blocking reads (`None`: wait as long as it takes). Default: does nothing.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Bounds the next blocking writes (`None`: wait as long as it takes). Default: does nothing.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Shuts the write side down (a server closes TCP first, RFC 6455 section 7.1.1). Default: flushes.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// A stream that can be cloned into a second handle to the same connection, so that
/// [`crate::WebSocket::split`] can read on one thread and write on another.
///
/// TLS streams cannot: a rustls session is one state machine for both directions (records are decrypted
/// and encrypted with shared state, and reads may have to write alerts or key updates), so the reader
/// would hold it locked while blocked in `read`, stalling the writer.
pub trait SplitStream: DeadlineStream + Sized {
    /// A second handle to the same stream.
    fn try_clone_stream(&self) -> io::Result<Self>;
}

impl DeadlineStream for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl SplitStream for TcpStream {
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
}

#[cfg(unix)]
impl DeadlineStream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl SplitStream for std::os::unix::net::UnixStream {
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
}

/// Reads are bounded; writes are not: when rustls cannot write it goes on to read, so a write timeout would
/// turn into an unbounded read. Shutting down sends `close_notify` before the TCP FIN.
impl<C, D> DeadlineStream for StreamOwned<C, TcpStream>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
{
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush()?;
        self.sock.shutdown(Shutdown::Write)
    }
}

/// A stream with a TCP socket at the bottom, whose timeouts bound the waits of the layers above.
pub(crate) trait TcpBacked {
    /// The TCP stream underneath.
    fn tcp(&self) -> &TcpStream;
}

impl TcpBacked for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl<C, S: Read + Write + TcpBacked> TcpBacked for StreamOwned<C, S> {
    fn tcp(&self) -> &TcpStream {
        self.sock.tcp()
    }
}

impl<S: DeadlineStream + ?Sized> DeadlineStream for Box<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Wraps any blocking `Read + Write` stream that has no timeouts (a pipe, an in-memory duplex, a stream
/// from another crate): timers fire only when bytes arrive.
#[derive(Debug)]
pub struct NoDeadline<S>(pub S);

impl<S: Read> Read for NoDeadline<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for NoDeadline<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: Read + Write> DeadlineStream for NoDeadline<S> {}

/// What [`crate::connect`] returns: plain TCP for `ws://`, rustls over TCP for `wss://`, or a
/// [`Tunnel`] through a proxy.
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// `ws://`, direct.
    Plain(TcpStream),
    /// `wss://`, direct.
    Tls(Box<TlsClientStream>),
    /// `ws://` or `wss://` through a proxy.
    Tunnel(Box<Tunnel>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (to the proxy, for a [`MaybeTlsStream::Tunnel`]).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            MaybeTlsStream::Tls(s) => &s.sock,
            MaybeTlsStream::Tunnel(t) => t.tcp(),
        }
    }

    /// Whether the connection to the server runs TLS (`wss://`, direct or through a proxy).
    pub fn is_tls(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(_) => false,
            MaybeTlsStream::Tls(_) => true,
            MaybeTlsStream::Tunnel(t) => t.is_tls(),
        }
    }

    /// Whether the connection goes through a proxy.
    pub fn is_proxied(&self) -> bool {
        matches!(self, MaybeTlsStream::Tunnel(_))
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            MaybeTlsStream::Tls(s) => s.read(buf),
            MaybeTlsStream::Tunnel(t) => t.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            MaybeTlsStream::Tls(s) => s.write(buf),
            MaybeTlsStream::Tunnel(t) => t.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write_vectored(bufs),
            MaybeTlsStream::Tls(s) => s.write_vectored(bufs),
            MaybeTlsStream::Tunnel(t) => t.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            MaybeTlsStream::Tls(s) => s.flush(),
            MaybeTlsStream::Tunnel(t) => t.flush(),
        }
    }
}

impl DeadlineStream for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.set_write_timeout(timeout),
            MaybeTlsStream::Tls(_) => Ok(()),
            MaybeTlsStream::Tunnel(t) => t.set_write_timeout(timeout),
        }
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => DeadlineStream::shutdown_write(s),
            MaybeTlsStream::Tls(s) => s.shutdown_write(),
            MaybeTlsStream::Tunnel(t) => t.shutdown_write(),
        }
    }
}

/// Plain streams split (a plain tunnel once the bytes left over from the proxy's reply are read); TLS
/// streams fail with [`io::ErrorKind::Unsupported`] (see [`SplitStream`]).
impl SplitStream for MaybeTlsStream {
    fn try_clone_stream(&self) -> io::Result<Self> {
        match self {
            MaybeTlsStream::Plain(s) => s.try_clone().map(MaybeTlsStream::Plain),
            MaybeTlsStream::Tunnel(t) => t
                .try_clone_stream()
                .map(|t| MaybeTlsStream::Tunnel(Box::new(t))),
            MaybeTlsStream::Tls(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a TLS WebSocket cannot be split: rustls keeps one session state for both directions",
            )),
        }
    }
}
