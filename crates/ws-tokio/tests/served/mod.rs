//! A `serve_until` server on a fresh loopback port, for the tests that need one running.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use ws_tokio::{Config, Shutdown, WebSocket};

/// Starts `serve_until` with `handler` on 127.0.0.1 (a free port); returns its address, its shutdown
/// switch and its task.
pub(crate) async fn serve<H, Fut>(
    config: Config,
    grace: Duration,
    handler: H,
) -> (SocketAddr, Shutdown, JoinHandle<std::io::Result<()>>)
where
    H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(ws_tokio::serve_until(
        listener,
        config,
        shutdown.clone(),
        grace,
        handler,
    ));
    (addr, shutdown, server)
}
