//! An axum app serving an HTTP route and a WebSocket echo on one router, over HTTP/1.1 and HTTP/2
//! (extended CONNECT, RFC 8441) on one port.
//!
//! ```text
//! cargo run -p ws-axum --example echo -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/            # the HTTP route
//! ws ws://127.0.0.1:3000/echo            # the WebSocket (any client; ws-cli's `ws` here)
//! ```

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get};
use ws_axum::WebSocketUpgrade;

async fn echo(upgrade: WebSocketUpgrade) -> Response {
    let http2 = upgrade.is_http2();
    upgrade
        .protocols(["echo"])
        .on_upgrade(move |mut ws| async move {
            eprintln!("WebSocket open (over HTTP/{})", if http2 { 2 } else { 1 });
            while let Some(Ok(message)) = ws.recv().await {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        })
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello over HTTP\n" }))
        // `any`: HTTP/1.1 upgrades are GETs, HTTP/2 ones CONNECTs.
        .route("/echo", any(echo))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "serving http://{} and ws://{}/echo",
        listener.local_addr()?,
        listener.local_addr()?
    );
    axum::serve(listener, app()).await
}
