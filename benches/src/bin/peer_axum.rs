//! Echo server on axum 0.8's own WebSocket support (tungstenite underneath),
//! written the way axum's documentation writes its echo: a `WebSocketUpgrade`
//! extractor, `on_upgrade`, then a `recv()` / `send()` loop until the client
//! goes away. `axum::serve` enables HTTP/2 extended CONNECT (RFC 8441), so
//! the same port serves HTTP/1.1 upgrades and, with prior knowledge,
//! WebSocket streams over HTTP/2; the route is `any()` because such a stream
//! arrives as a CONNECT, not a GET. Default limits: 64 MiB per message,
//! 16 MiB per frame.
//!
//! The one difference from the documentation's echo: only text and binary
//! messages are sent back, as in every other peer. Sending the peer's Close
//! back, as the documentation's loop does, fails (tungstenite refuses a send
//! after the peer's close), and returning then drops the connection before
//! tungstenite has flushed the close reply it queued: every close handshake
//! would fail. Here the loop keeps calling `recv()`, which flushes that reply
//! and then ends.

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::any;
use axum::serve::ListenerExt;
use clap::Parser;
use ws_benches::peer::{self, PeerArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-axum").await?;
    // The one addition to the example, made in every peer alike.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().route("/", any(handler));
    axum::serve(listener, app).await
}

async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(handle_socket)
}

async fn handle_socket(mut socket: WebSocket) {
    while let Some(msg) = socket.recv().await {
        let Ok(msg) = msg else {
            // The client disconnected.
            return;
        };
        // Pings are answered and closes replied to by tungstenite itself.
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && socket.send(msg).await.is_err() {
            // The client disconnected.
            return;
        }
    }
}
