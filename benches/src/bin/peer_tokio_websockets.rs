//! Echo server on tokio-websockets, written like the crate's own
//! `examples/echo_server.rs`: accept with `ServerBuilder`, then send every
//! text and binary message back. Close frames are answered by the library.
//! Outgoing messages are never split (`frame_size(usize::MAX)`, as in the
//! example); the incoming limit stays at the default 64 MiB.

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{Config, Error, Limits, ServerBuilder};
use ws_benches::peer::{self, PeerArgs};

async fn echo(conn: TcpStream) -> Result<(), Error> {
    // The one addition to the example, made in every peer alike.
    let _ = conn.set_nodelay(true);
    let (_request, mut server) = ServerBuilder::new()
        .config(Config::default().frame_size(usize::MAX))
        .limits(Limits::default())
        .accept(conn)
        .await?;
    while let Some(Ok(item)) = server.next().await {
        if item.is_text() || item.is_binary() {
            server.send(item).await?;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-tokio-websockets").await?;
    loop {
        let conn = peer::accept(&listener).await;
        // As in the example: the echo loop runs outside tokio's coop budget.
        tokio::spawn(tokio::task::unconstrained(async move {
            let _ = echo(conn).await;
        }));
    }
}
