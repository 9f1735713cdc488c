//! Echo server on tokio-tungstenite, written like the crate's own
//! `examples/echo-server.rs`: split the stream and forward every text and
//! binary message back into the sink. Close frames are answered by
//! tungstenite itself. Default limits: 64 MiB per message, 16 MiB per frame.

use clap::Parser;
use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::TcpStream;
use ws_benches::peer::{self, PeerArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-tungstenite").await?;
    loop {
        let stream = peer::accept(&listener).await;
        tokio::spawn(accept_connection(stream));
    }
}

async fn accept_connection(stream: TcpStream) {
    // The one addition to the example, made in every peer alike.
    let _ = stream.set_nodelay(true);
    let Ok(ws_stream) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (write, read) = ws_stream.split();
    // Only text and binary messages are echoed; pings and closes are handled
    // by tungstenite.
    let _ = read
        .try_filter(|msg| future::ready(msg.is_text() || msg.is_binary()))
        .forward(write)
        .await;
}
