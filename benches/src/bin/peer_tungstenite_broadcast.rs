//! Broadcast server on tokio-tungstenite: every text or binary message any
//! client sends goes to every connected client, the sender included.
//!
//! Written the way tokio's broadcast chats are (axum's and tokio-tungstenite's
//! README shape): `accept_async`, `split()`, one `tokio::sync::broadcast`
//! channel for the whole server; per connection, one task reads and publishes,
//! one task receives from the channel and sends (`SinkExt::send`, which
//! flushes each message). A receiver that falls more than the channel's
//! capacity behind skips what it missed (`Lagged`). No permessage-deflate
//! (tungstenite 0.30 has none). Note: the crate's own `examples/server.rs`
//! keeps a map of unbounded channels instead of a broadcast channel.

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::Message;
use ws_benches::peer::{self, BROADCAST_CAPACITY, PeerArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-tungstenite-broadcast").await?;
    let (hub, _) = broadcast::channel::<Message>(BROADCAST_CAPACITY);
    loop {
        let stream = peer::accept(&listener).await;
        tokio::spawn(handle(stream, hub.clone()));
    }
}

async fn handle(stream: TcpStream, hub: broadcast::Sender<Message>) {
    // The one addition to the examples, made in every peer alike.
    let _ = stream.set_nodelay(true);
    let Ok(ws_stream) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut write, mut read) = ws_stream.split();
    let mut rx = hub.subscribe();
    let mut send_task = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(msg) => {
                    if write.send(msg).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(msg)) = read.next().await {
            // Pings and closes are handled by tungstenite.
            if msg.is_text() || msg.is_binary() {
                let _ = hub.send(msg);
            }
        }
    });
    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
    }
}
