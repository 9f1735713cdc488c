//! Broadcast server on tokio-websockets: every text or binary message any
//! client sends goes to every connected client, the sender included.
//!
//! `ServerBuilder::accept`, `split()` into sink and stream, one
//! `tokio::sync::broadcast` channel for the whole server; per connection, one
//! task reads and publishes, one task receives from the channel and sends
//! (`SinkExt::send`, which flushes each message). A receiver that falls more
//! than the channel's capacity behind skips what it missed (`Lagged`).
//! Outgoing messages are never split (`frame_size(usize::MAX)`, as in the
//! crate's examples). No permessage-deflate (tokio-websockets 0.13 has none).

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_websockets::{Config, Message, ServerBuilder};
use ws_benches::peer::{self, BROADCAST_CAPACITY, PeerArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-tokio-websockets-broadcast").await?;
    let (hub, _) = broadcast::channel::<Message>(BROADCAST_CAPACITY);
    loop {
        let conn = peer::accept(&listener).await;
        tokio::spawn(handle(conn, hub.clone()));
    }
}

async fn handle(conn: TcpStream, hub: broadcast::Sender<Message>) {
    // The one addition to the examples, made in every peer alike.
    let _ = conn.set_nodelay(true);
    let Ok((_request, server)) = ServerBuilder::new()
        .config(Config::default().frame_size(usize::MAX))
        .accept(conn)
        .await
    else {
        return;
    };
    let (mut sink, mut stream) = server.split();
    let mut rx = hub.subscribe();
    let mut send_task = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(msg) => {
                    if sink.send(msg).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            // Pings and closes are answered by the library.
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
