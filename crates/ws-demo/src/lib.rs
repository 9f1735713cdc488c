//! # ws-demo: a chat server on one port
//!
//! `GET /` serves the chat page (an embedded `index.html`); `GET /chat` with `Upgrade: websocket` becomes a
//! WebSocket speaking the `chat` subprotocol. Every text message is broadcast to every user as JSON:
//!
//! ```text
//! {"type":"message","name":"alice","text":"hi","time":"12:34:56"}
//! {"type":"join","name":"bob","time":"12:34:57","users":2}
//! ```
//!
//! The plain-TCP path peeks at the request head (leaving it in the socket) to route it, then hands the
//! untouched stream to [`ws_tokio::accept_with`]. With TLS the head is read after the TLS handshake and
//! replayed to [`ws_async::accept_with`] in front of the TLS stream.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! ws_demo::run(listener, async { tokio::signal::ctrl_c().await.ok(); }).await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chat;
pub mod http;
mod prefixed;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use ws_tokio::{Accept, Config, Request, Response, TokioTimer};

use crate::chat::Hub;
use crate::http::Head;
use crate::prefixed::Prefixed;

/// The chat page, served at `/`.
pub const INDEX_HTML: &str = include_str!("index.html");

/// Largest chat message, in bytes; longer ones close the connection with 1009.
pub const MAX_MESSAGE: usize = 4 * 1024;

/// Largest request head the router accepts.
const MAX_HEAD: usize = 8 * 1024;

/// Time a client has to send its request head (and finish TLS).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for clients to answer the 1001 close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The WebSocket configuration of the chat: the adapter defaults (permessage-deflate) with 4 KiB messages.
pub fn chat_config() -> Config {
    let mut config = ws_tokio::default_config();
    config.limits.max_message_size = MAX_MESSAGE;
    config.limits.max_frame_size = MAX_MESSAGE;
    config
}

/// Serves the chat on `listener` (plain HTTP and `ws://`) until `shutdown` resolves, then closes every chat
/// with 1001 "server shutting down", waits up to 2 s for them to finish and returns.
pub async fn run(listener: TcpListener, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    run_with(listener, None, shutdown).await
}

/// [`run`], optionally with TLS (`https://` and `wss://` on the same port).
pub async fn run_with(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let hub = Arc::new(Hub::default());
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (hub, tls) = (hub.clone(), tls.clone());
                    tasks.spawn(async move {
                        let _ = match tls {
                            None => handle_plain(stream, hub).await,
                            Some(tls) => handle_tls(stream, tls, hub).await,
                        };
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    hub.shut_down();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.shutdown().await;
    Ok(())
}

/// What to do with a request.
enum Route {
    /// A plain HTTP response, then close.
    Http(Vec<u8>),
    /// Upgrade to the chat WebSocket.
    Chat,
}

fn route(head: Option<&Head>) -> Route {
    let Some(head) = head else {
        return Route::Http(http::response(
            400,
            "text/plain; charset=utf-8",
            b"bad request\n",
            false,
        ));
    };
    let head_only = head.method == "HEAD";
    if head.method != "GET" && !head_only {
        return Route::Http(http::response(
            405,
            "text/plain; charset=utf-8",
            b"method not allowed\n",
            head_only,
        ));
    }
    match head.path() {
        "/chat" if head.is_websocket_upgrade() => Route::Chat,
        "/" | "/index.html" if !head.is_websocket_upgrade() => Route::Http(http::response(
            200,
            "text/html; charset=utf-8",
            INDEX_HTML.as_bytes(),
            head_only,
        )),
        "/chat" => Route::Http(http::response(
            400,
            "text/plain; charset=utf-8",
            b"/chat is a WebSocket endpoint (subprotocol \"chat\")\n",
            head_only,
        )),
        _ => Route::Http(http::response(
            404,
            "text/plain; charset=utf-8",
            b"not found\n",
            head_only,
        )),
    }
}

/// Peeks until the whole head is in the socket's buffer (it stays there). `Ok(None)`: the head is too big.
async fn peek_head(stream: &TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0; MAX_HEAD];
    let mut seen = 0;
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(len) = http::head_len(&buf[..n]) {
            buf.truncate(len);
            return Ok(Some(buf));
        }
        if n == buf.len() {
            return Ok(None);
        }
        if n == seen {
            // peek returns at once while any byte is buffered: wait a little for the rest of the head.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen = n;
    }
}

async fn handle_plain(mut stream: TcpStream, hub: Arc<Hub>) -> ws_tokio::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, peek_head(&stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let Some(head) = head else {
        stream
            .write_all(&http::response(
                431,
                "text/plain; charset=utf-8",
                b"request head too large\n",
                false,
            ))
            .await?;
        return Ok(());
    };
    let parsed = Head::parse(&head);
    match route(parsed.as_ref()) {
        Route::Http(response) => {
            // Consume the head so closing does not reset the connection before the response is read.
            let mut sink = vec![0; head.len()];
            tokio::io::AsyncReadExt::read_exact(&mut stream, &mut sink).await?;
            stream.write_all(&response).await?;
            stream.shutdown().await?;
            linger(&mut stream).await;
            Ok(())
        }
        Route::Chat => {
            let mut name = None;
            let ws = ws_tokio::accept_with(stream, chat_config(), |req| {
                std::future::ready(decide(&req, &hub, &mut name))
            })
            .await?;
            let name = name.unwrap_or_else(|| hub.guest_name());
            chat::session(ws, name, hub).await;
            Ok(())
        }
    }
}

/// After answering: drain what the client still sends, briefly, so the close is a FIN and not a reset.
async fn linger(stream: &mut TcpStream) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut buf = [0u8; 1024];
    while let Ok(Ok(n)) = tokio::time::timeout_at(
        deadline.into(),
        tokio::io::AsyncReadExt::read(stream, &mut buf),
    )
    .await
    {
        if n == 0 {
            break;
        }
    }
}

async fn handle_tls(
    stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    hub: Arc<Hub>,
) -> ws_tokio::Result<()> {
    stream.set_nodelay(true)?;
    let acceptor = futures_rustls::TlsAcceptor::from(tls);
    let work = async {
        let mut tls = acceptor.accept(ws_tokio::TokioIo::new(stream)).await?;
        let head = read_head(&mut tls).await?;
        io::Result::Ok((tls, head))
    };
    let (mut tls, buffered) = match tokio::time::timeout(HEAD_TIMEOUT, work).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Ok(()),
    };
    let parsed = buffered
        .as_ref()
        .and_then(|b| http::head_len(b).and_then(|len| Head::parse(&b[..len])));
    let route = match &buffered {
        None => Route::Http(http::response(
            431,
            "text/plain; charset=utf-8",
            b"request head too large\n",
            false,
        )),
        Some(_) => route(parsed.as_ref()),
    };
    match route {
        Route::Http(response) => {
            tls.write_all(&response).await?;
            tls.close().await?;
            Ok(())
        }
        Route::Chat => {
            let stream = Prefixed::new(buffered.unwrap_or_default(), tls);
            let mut name = None;
            let ws = ws_async::accept_with(stream, chat_config(), TokioTimer, |req| {
                std::future::ready(decide(&req, &hub, &mut name))
            })
            .await?;
            let name = name.unwrap_or_else(|| hub.guest_name());
            chat::session(ws, name, hub).await;
            Ok(())
        }
    }
}

/// Reads until the end of the head; returns everything read (the head and any bytes after it), or `None`
/// when the head is larger than the limit.
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if http::head_len(&buf).is_some() {
            return Ok(Some(buf));
        }
        if buf.len() >= MAX_HEAD {
            return Ok(None);
        }
    }
}

/// The handshake decision: the `chat` subprotocol is required, a browser's Origin must be this server,
/// and the name comes from `?name=` (sanitized) or is left for a `guest-N`.
fn decide(req: &Request, hub: &Hub, name: &mut Option<String>) -> Result<Accept, Response> {
    if !req.offers_subprotocol("chat") {
        return Err(Response::new(
            400,
            "this endpoint requires the \"chat\" subprotocol (Sec-WebSocket-Protocol: chat)\n",
        ));
    }
    // Cross-site WebSocket hijacking: a browser's Origin must name this host and port.
    if !req.origin_allowed(&[]) {
        return Err(Response::new(
            403,
            "cross-origin WebSocket refused: Origin does not match Host\n",
        ));
    }
    *name = req
        .query()
        .and_then(|q| http::query_param(q, "name"))
        .and_then(|n| http::sanitize_name(&n));
    if name.is_none() {
        *name = Some(hub.guest_name());
    }
    Ok(Accept::new().subprotocol("chat"))
}
