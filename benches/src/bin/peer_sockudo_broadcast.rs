//! Broadcast server on sockudo-ws 3.1 with its own pub/sub: every text or
//! binary message any client sends goes to every connected client, the
//! sender included.
//!
//! Written like the crate's `examples/axum_pubsub_chat.rs` and
//! `examples/axum_split_deflate.rs`: axum serves the upgrade through
//! sockudo-ws's `WebSocketUpgrade` (which negotiates permessage-deflate when
//! the config asks for it), the socket is `split()`, each connection is a
//! `PubSub` subscriber (an unbounded channel) of the one topic, the reader
//! task `publish`es what its client sends and the writer task sends what the
//! subscriber channel brings (`send`, which flushes each message). The
//! channels are unbounded, as in the crate: nothing is ever dropped.
//!
//! `--deflate` turns on `Compression::Shared` (a shared compressor pool, the
//! crate's mode "for many connections").

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::Parser;
use sockudo_ws::axum_integration::{WebSocket, WebSocketUpgrade};
use sockudo_ws::pubsub::PubSub;
use sockudo_ws::{Compression, Config, Message};
use tokio::sync::mpsc;
use ws_benches::peer::{self, PeerArgs};

/// The one topic every connection subscribes to.
const TOPIC: &str = "all";

#[derive(Debug, Parser)]
#[command(about = "sockudo-ws broadcast server for the fan-out benchmark (binds 127.0.0.1)")]
struct Args {
    #[command(flatten)]
    peer: PeerArgs,
    /// Negotiate permessage-deflate (`Compression::Shared`).
    #[arg(long)]
    deflate: bool,
}

#[derive(Clone)]
struct AppState {
    pubsub: Arc<PubSub>,
    config: Config,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = peer::bind(&args.peer, "peer-sockudo-broadcast").await?;
    let compression = if args.deflate {
        Compression::Shared
    } else {
        Compression::Disabled
    };
    let state = AppState {
        pubsub: Arc::new(PubSub::new()),
        config: Config::builder().compression(compression).build(),
    };
    // The one addition to the examples, made in every peer alike.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().route("/", get(ws_handler)).with_state(state);
    axum::serve(listener, app).await
}

async fn ws_handler(State(state): State<AppState>, ws: WebSocketUpgrade) -> impl IntoResponse {
    let pubsub = state.pubsub.clone();
    ws.config(state.config.clone())
        .on_upgrade(move |socket| handle_socket(socket, pubsub))
}

async fn handle_socket(socket: WebSocket, pubsub: Arc<PubSub>) {
    let (mut reader, mut writer) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let subscriber_id = pubsub.create_subscriber(tx);
    pubsub.subscribe(subscriber_id, TOPIC);

    let publisher = pubsub.clone();
    let reader_handle = tokio::spawn(async move {
        while let Some(Ok(msg)) = reader.next().await {
            match msg {
                Message::Text(_) | Message::Binary(_) => {
                    publisher.publish(TOPIC, msg);
                }
                Message::Close(_) => break,
                _ => {} // Ping/Pong handled automatically
            }
        }
    });
    let mut writer_handle = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if writer.send(msg).await.is_err() {
                break;
            }
        }
    });
    let _ = reader_handle.await;
    pubsub.remove_subscriber(subscriber_id);
    // The subscriber channel is closed now: the writer ends once it is drained.
    if tokio::time::timeout(std::time::Duration::from_secs(2), &mut writer_handle)
        .await
        .is_err()
    {
        writer_handle.abort();
    }
}
