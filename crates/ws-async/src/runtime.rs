//! The runtime seam of the serve loop: how a runtime accepts connections and spawns their tasks, next
//! to its [`Timer`].

use std::future::Future;
use std::io;
use std::pin::Pin;

use futures_io::{AsyncRead, AsyncWrite};

use crate::timer::Timer;

/// What [`crate::serve_until`] needs of a runtime: its timer, a listener to accept connections from,
/// and a way to run each connection in a task of its own. Each runtime crate implements it in its glue
/// (`ws_tokio::TokioRuntime`, `ws_smol::SmolRuntime`, `ws_async_std::AsyncStdRuntime`).
///
/// The timer is an associated type rather than a supertrait because runtimes share timers (smol and
/// async-std both sleep on `AsyncIoTimer`, from the `async-io` feature), and the connections served
/// carry the timer's type ([`crate::WebSocket<T, R>`]).
pub trait Runtime {
    /// The runtime's timer, given to every connection served.
    type Timer: Timer;
    /// The listening socket connections are accepted from.
    type Listener;
    /// An accepted connection's transport.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The timer for a new connection.
    fn timer(&self) -> Self::Timer;

    /// Accepts the next connection on `listener`, set up for WebSocket use (for TCP, `TCP_NODELAY`).
    fn accept(&self, listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>>;

    /// Runs `task` to completion in the background.
    fn spawn(&self, task: Pin<Box<dyn Future<Output = ()> + Send>>);
}
