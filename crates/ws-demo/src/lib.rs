//! # ws-demo: a chat server on one port
//!
//! An [axum] app: `GET /` serves the chat page (an embedded `index.html`); `/chat` is a WebSocket
//! ([`ws_axum::WebSocketUpgrade`]) speaking the `chat` subprotocol. Every text message is broadcast to
//! every user as JSON:
//!
//! ```text
//! {"type":"message","name":"alice","text":"hi","time":"12:34:56"}
//! {"type":"join","name":"bob","time":"12:34:57","users":2}
//! ```
//!
//! Plain TCP serves HTTP/1.1 (and HTTP/2 with prior knowledge). With TLS, ALPN offers `h2` and
//! `http/1.1`: a browser that loaded the page over HTTP/2 opens the chat WebSocket on the same HTTP/2
//! connection as an extended CONNECT (RFC 8441). The server logs, per user, which HTTP version the
//! WebSocket came over.
//!
//! One process serves one room by default. With a [`Bus::redis`](bus::Bus::redis) (`ws-demo --redis
//! redis://HOST:PORT`) every process sharing that Redis server serves the same room: messages, joins
//! and leaves cross processes through a Redis pub/sub channel, and the `users` count is the total over
//! the processes. Delivery across processes is at most once: while Redis is away each process keeps
//! serving its own users, and what is published then is not replayed (see [`bus`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! ws_demo::run(listener, async { tokio::signal::ctrl_c().await.ok(); }).await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bus;
pub mod chat;
mod server;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use ws_axum::{WebSocketUpgrade, WebSocketUpgradeRejection};

use crate::bus::Bus;
use crate::chat::Hub;

/// The chat page, served at `/`.
pub const INDEX_HTML: &str = include_str!("index.html");

/// Largest chat message, in bytes; longer ones close the connection with 1009.
pub const MAX_MESSAGE: usize = 4 * 1024;

/// The WebSocket configuration of the chat: the adapters' configuration for broadcasting servers
/// (permessage-deflate without context takeover on the server's side, so each chat line is compressed
/// once for all users) with 4 KiB messages.
pub fn chat_config() -> ws_axum::Config {
    let mut config = ws_axum::broadcast_config();
    config.limits.max_message_size = MAX_MESSAGE;
    config.limits.max_frame_size = MAX_MESSAGE;
    config
}

/// Serves the chat on `listener` (plain HTTP and `ws://`) until `shutdown` resolves, then closes every chat
/// with 1001 "server shutting down", waits up to 2 s for them to finish and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run_with(listener, None, shutdown).await
}

/// [`run`], optionally with TLS (`https://` and `wss://` on the same port). The TLS configuration's ALPN
/// list is set to `h2`, `http/1.1` when it is empty.
pub async fn run_with(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run_with_bus(
        listener,
        tls,
        Bus::local(Arc::new(Hub::default())),
        shutdown,
    )
    .await
}

/// [`run_with`] on a given [`Bus`]: [`Bus::redis`] spreads the chat over every process sharing that
/// Redis server. Once `shutdown` has resolved and the chats are closed, the bus is [closed](Bus::close).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use ws_demo::{bus::Bus, chat::Hub};
///
/// let bus = Bus::redis(Arc::new(Hub::default()), "redis://127.0.0.1:6379").expect("a redis:// URL");
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// ws_demo::run_with_bus(listener, None, bus, async { tokio::signal::ctrl_c().await.ok(); }).await
/// # }
/// ```
pub async fn run_with_bus(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    bus: Bus,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let served = server::serve(listener, tls, app(bus.clone()), bus.hub().clone(), shutdown).await;
    bus.close().await;
    served
}

/// The router: the page at `/` and `/index.html`, the chat WebSocket at `/chat` (`any`: HTTP/1.1
/// upgrades are GETs, HTTP/2 ones CONNECTs), 404 elsewhere.
pub fn app(bus: Bus) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        .route("/chat", any(chat))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(bus)
}

async fn page() -> Html<&'static str> {
    Html(INDEX_HTML)
}

/// The handshake decision: the `chat` subprotocol is required, a browser's Origin must be this server,
/// and the name comes from `?name=` (sanitized) or is a fresh `guest-N`.
async fn chat(
    State(bus): State<Bus>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    if !upgrade.requested_protocols().iter().any(|p| p == "chat") {
        return (
            StatusCode::BAD_REQUEST,
            "this endpoint requires the \"chat\" subprotocol (Sec-WebSocket-Protocol: chat)\n",
        )
            .into_response();
    }
    // Cross-site WebSocket hijacking: a browser's Origin must name this host and port.
    if !upgrade.request().origin_allowed(&[]) {
        return (
            StatusCode::FORBIDDEN,
            "cross-origin WebSocket refused: Origin does not match Host\n",
        )
            .into_response();
    }
    let name = chat::name_from_query(query.as_deref()).unwrap_or_else(|| bus.hub().guest_name());
    let over = if upgrade.is_http2() {
        "HTTP/2"
    } else {
        "HTTP/1.1"
    };
    eprintln!("ws-demo: {name} joined over {over}");
    upgrade
        .protocols(["chat"])
        .config(chat_config())
        .on_upgrade(move |ws| chat::session(ws, name, bus))
}
