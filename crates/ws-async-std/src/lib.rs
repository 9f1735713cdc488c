//! # ws-async-std: WebSockets on async-std
//!
//! A thin shim (async-std is discontinued upstream): async-std sockets, async-io timers (async-std's own
//! reactor), rustls for `wss://`, over [`ws_async`] and the sans-IO `ws-core`. The API has the same shape as
//! `ws-tokio`, `ws-smol` and (blocking) `ws-std`.
//!
//! ```no_run
//! # fn main() -> ws_async_std::Result<()> {
//! async_std::task::block_on(async {
//!     let (mut ws, _opened) = ws_async_std::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send("hello").await?;
//!     ws.close(ws_async_std::CloseCode::NORMAL, "bye").await
//! })
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::pin::Pin;
use std::task::{Context, Poll};

use async_std::net::{TcpStream, ToSocketAddrs};

pub use ws_async::AsyncIoTimer;
pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Outgoing, PreparedMessage, Proxy, Request, Response, Result, SendOptions, Shutdown, State,
    Timeouts, Utf8Bytes, broadcast_config, default_config, tls,
};

ws_async::runtime_glue! {
    runtime: "async-std" => AsyncStdRuntime,
    tcp: TcpStream,
    listener: async_std::net::TcpListener,
    transport: Tcp,
    timer: AsyncIoTimer => AsyncIoTimer,
    wrap: |stream| Tcp(stream),
    resolve: |host, port| Ok((host.as_str(), port).to_socket_addrs().await?.collect()),
    connect: |addr| TcpStream::connect(addr).await?,
    spawn: |fut| async_std::task::spawn(fut),
}

/// async-std's `TcpStream` whose `poll_close` shuts the write side down (async-std's own only flushes,
/// so a peer would never see our FIN and would wait out its close timeout). Vectored writes pass through.
#[derive(Debug)]
pub struct Tcp(pub TcpStream);

impl futures_io::AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for Tcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.shutdown(std::net::Shutdown::Write))
    }
}

/// TCP splits into two handles to the one socket: no lock between them.
impl ws_async::SplitIo for Tcp {
    type ReadHalf = Tcp;
    type WriteHalf = Tcp;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        (Tcp(self.0.clone()), self)
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        drop(write);
        read
    }
}
