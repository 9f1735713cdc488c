//! # ws-smol: WebSockets on smol
//!
//! Thin glue binding [`ws_async`] (and through it the sans-IO `ws-core`) to smol: `async-net` sockets,
//! `async-io` timers for the core's deadlines, rustls for `wss://`. The API has the same shape as
//! `ws-tokio`, `ws-async-std` and (blocking) `ws-std`.
//!
//! ```no_run
//! # fn main() -> ws_smol::Result<()> {
//! smol::block_on(async {
//!     let (mut ws, _opened) = ws_smol::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send("hello").await?;
//!     if let Some(reply) = ws.recv().await {
//!         println!("{:?}", reply?);
//!     }
//!     ws.close(ws_smol::CloseCode::NORMAL, "bye").await
//! })
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ws_async::AsyncIoTimer;
pub use ws_async::{
    Accept, ClientBuilder, CloseCode, CloseFrame, Config, DataKind, Error, Limits, Message, Opened,
    Outgoing, PreparedMessage, Proxy, Request, Response, Result, SendOptions, Shutdown, State,
    Timeouts, Utf8Bytes, broadcast_config, default_config, tls,
};

ws_async::runtime_glue! {
    runtime: "smol" => SmolRuntime,
    tcp: async_net::TcpStream,
    listener: async_net::TcpListener,
    transport: async_net::TcpStream,
    timer: AsyncIoTimer => AsyncIoTimer,
    wrap: |stream| stream,
    resolve: |host, port| async_net::resolve((host.as_str(), port)).await,
    connect: |addr| async_net::TcpStream::connect(addr).await?,
    spawn: |fut| smol::spawn(fut).detach(),
}
