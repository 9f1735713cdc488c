//! What the three peer echo servers share: their command line and an accept
//! loop that survives transient errors (such as running out of descriptors).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// Command line of a peer echo server.
#[derive(Clone, Debug, clap::Parser)]
#[command(about = "WebSocket echo server for the side-by-side benchmark (binds 127.0.0.1)")]
pub struct PeerArgs {
    /// TCP port to listen on (on 127.0.0.1).
    #[arg(long)]
    pub port: u16,
}

impl PeerArgs {
    /// The loopback address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}

/// Binds the listener and says so on stderr.
pub async fn bind(args: &PeerArgs, name: &str) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(args.addr()).await?;
    eprintln!("{name}: listening on {}", listener.local_addr()?);
    Ok(listener)
}

/// Accepts the next connection, waiting out errors such as `EMFILE` instead
/// of bringing the server down.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => return stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Capacity of the `tokio::sync::broadcast` channel of the broadcast peers
/// (a receiver more than this many messages behind skips the oldest ones), and
/// of our broadcast servers' per-subscriber queue.
pub const BROADCAST_CAPACITY: usize = 1024;
