//! Echo server on sockudo-ws 3.1, written like the crate's own `examples/simple_echo.rs`: the
//! handshake with the crate's helpers (`parse_request`, `generate_accept_key`, `build_response`),
//! then its `WebSocketStream` with the default `Config`, every text and binary message sent back
//! (`send`, which flushes). Pings are answered by the library.

use bytes::BytesMut;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use sockudo_ws::handshake::{build_response, generate_accept_key, parse_request};
use sockudo_ws::protocol::Message;
use sockudo_ws::{Config, WebSocketStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_benches::peer::{self, PeerArgs};

async fn echo(conn: TcpStream) -> sockudo_ws::error::Result<()> {
    // The one addition to the example, made in every peer alike.
    let _ = conn.set_nodelay(true);
    let conn = handshake(conn).await?;
    let mut ws = WebSocketStream::server(conn, Config::default());
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(text) => ws.send(Message::Text(text)).await?,
            Message::Binary(data) => ws.send(Message::Binary(data)).await?,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(())
}

/// The example's handshake: read until the request parses, answer it.
async fn handshake(mut conn: TcpStream) -> sockudo_ws::error::Result<TcpStream> {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if conn.read_buf(&mut buf).await? == 0 {
            return Err(sockudo_ws::Error::ConnectionClosed);
        }
        if let Some((request, _)) = parse_request(&buf)? {
            let response = build_response(&generate_accept_key(request.key), None, None);
            conn.write_all(&response).await?;
            conn.flush().await?;
            return Ok(conn);
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-sockudo").await?;
    loop {
        let conn = peer::accept(&listener).await;
        tokio::spawn(async move {
            let _ = echo(conn).await;
        });
    }
}
