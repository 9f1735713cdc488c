//! Running the opening handshake on an established transport, for both roles.

use std::future::{Future, poll_fn};
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use ws_adapter::{ClientBuilder, Clock, Error, Result, random_seed};
use ws_core::{Accept, Config, Connection, Event, Negotiated, Opened, Request, Response, Role};

use crate::engine::{Engine, Step};
use crate::timer::Timer;
use crate::websocket::WebSocket;

/// Client: sends the upgrade request over `io` (already connected, TLS already set up) and waits for the
/// 101. Frames the server sends right after its response are kept for `recv`.
pub async fn client_handshake<T, R>(
    io: T,
    builder: &ClientBuilder,
    timer: R,
) -> Result<(WebSocket<T, R>, Opened)>
where
    T: AsyncRead + AsyncWrite + Unpin,
    R: Timer,
{
    let clock = Clock::start();
    let conn = Connection::client(
        builder.request(),
        builder.core_config().clone(),
        random_seed(),
        clock.now(),
    );
    let mut engine = Engine::new(conn, io, timer, clock);
    loop {
        match poll_fn(|cx| engine.poll_event(cx)).await {
            Step::Event(Event::Open(opened)) => {
                return Ok((WebSocket::from_engine(engine), *opened));
            }
            Step::Event(Event::Rejected(response)) => {
                return Err(Error::Rejected(response));
            }
            Step::Event(Event::Failed(e)) => return Err(broken_or(&mut engine, e)),
            Step::Event(_) => {}
            Step::Finished => return Err(broken_or(&mut engine, ws_core::Error::UnexpectedEof)),
        }
    }
}

/// Starts a connection whose opening handshake another HTTP stack did (hyper, axum, h2): `io` is the
/// byte stream it handed over (for HTTP/2, the extended CONNECT stream), `negotiated` what the handshake
/// agreed (`ws_core::http` computes it), `read_past_head` any bytes the stack read beyond the HTTP head.
/// Wraps [`Connection::open`] with the process clock and, for a client, a seed from the operating
/// system's random source; pass the `config` the negotiation used.
///
/// Fails when `negotiated` names extensions `config` cannot set up
/// ([`ws_core::HandshakeError::InvalidExtensions`]).
pub fn open<T, R>(
    io: T,
    timer: R,
    role: Role,
    config: impl Into<Arc<Config>>,
    negotiated: Negotiated,
    read_past_head: &[u8],
) -> Result<(WebSocket<T, R>, Opened)>
where
    T: AsyncRead + AsyncWrite + Unpin,
    R: Timer,
{
    let clock = Clock::start();
    let seed = match role {
        Role::Client => random_seed(),
        Role::Server => [0; 32],
    };
    let mut conn = Connection::open(role, config, negotiated, seed, read_past_head, clock.now())
        .map_err(|e| Error::Failed(ws_core::Error::Handshake(e)))?;
    let Some(Event::Open(opened)) = conn.poll_event() else {
        unreachable!("Connection::open queues Event::Open first")
    };
    let engine = Engine::new(conn, io, timer, clock);
    Ok((WebSocket::from_engine(engine), *opened))
}

/// Server: reads the upgrade request from `io` and accepts it with no subprotocol.
pub async fn accept<T, R>(
    io: T,
    config: impl Into<Arc<Config>>,
    timer: R,
) -> Result<WebSocket<T, R>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    R: Timer,
{
    accept_with(io, config, timer, |_| async { Ok(Accept::new()) }).await
}

/// Server: reads the upgrade request from `io` and lets `decide` accept it (choosing a subprotocol, adding
/// headers) or reject it (status, headers, body) before any 101 is written. Bad requests are answered with
/// 400, 426 or 431 by the core and returned as errors. `config` is a [`Config`] or an `Arc<Config>`
/// shared by many connections (each then keeps a pointer, not a copy).
///
/// ```no_run
/// # async fn demo<T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin, R: ws_async::Timer>(io: T, timer: R) {
/// use ws_async::{Accept, Response};
/// let ws = ws_async::accept_with(io, ws_async::Config::default(), timer, |req| async move {
///     match req.origin() {
///         Some("https://chat.example") if req.offers_subprotocol("chat") => Ok(Accept::new().subprotocol("chat")),
///         _ => Err(Response::new(403, "origin not allowed")),
///     }
/// })
/// .await;
/// # }
/// ```
pub async fn accept_with<T, R, F, Fut>(
    io: T,
    config: impl Into<Arc<Config>>,
    timer: R,
    decide: F,
) -> Result<WebSocket<T, R>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    R: Timer,
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Accept, Response>>,
{
    let clock = Clock::start();
    let conn = Connection::server(config, clock.now());
    let mut engine = Engine::new(conn, io, timer, clock);
    let mut decide = Some(decide);
    loop {
        match poll_fn(|cx| engine.poll_event(cx)).await {
            Step::Event(Event::Request(request)) => {
                let Some(decide) = decide.take() else {
                    continue;
                };
                match decide(*request).await {
                    // `decide` may have taken a while: timers (keepalive) start from now.
                    Ok(accept) => {
                        let now = engine.now();
                        engine.conn.accept(accept, now)?
                    }
                    Err(response) => {
                        let now = engine.now();
                        engine.conn.reject(response, now)?
                    }
                }
            }
            Step::Event(Event::Open(_)) => {
                poll_fn(|cx| engine.poll_flush(cx)).await?;
                return Ok(WebSocket::from_engine(engine));
            }
            Step::Event(Event::Rejected(response)) => {
                finish(&mut engine).await;
                return Err(Error::Rejected(response));
            }
            Step::Event(Event::Failed(e)) => {
                finish(&mut engine).await;
                return Err(broken_or(&mut engine, e));
            }
            Step::Event(_) => {}
            Step::Finished => return Err(broken_or(&mut engine, ws_core::Error::UnexpectedEof)),
        }
    }
}

/// Drives a connection whose handshake failed until its HTTP response is written and the write side shut.
async fn finish<T: AsyncRead + AsyncWrite + Unpin, R: Timer>(engine: &mut Engine<T, R>) {
    while let Step::Event(_) = poll_fn(|cx| engine.poll_event(cx)).await {}
}

fn broken_or<T: AsyncRead + AsyncWrite + Unpin, R: Timer>(
    engine: &mut Engine<T, R>,
    e: ws_core::Error,
) -> Error {
    match engine.broken.take() {
        Some(io) if e == ws_core::Error::UnexpectedEof => Error::Io(io),
        _ => Error::Failed(e),
    }
}
