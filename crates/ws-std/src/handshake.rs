//! Opening connections: the client's `connect` (DNS, TCP, TLS, upgrade), the server's `accept` variants and
//! a thread-per-connection `serve` loop.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ConnectionCommon, SideData, StreamOwned};
use ws_adapter::{ClientBuilder, Clock, Error, Result, random_seed};
use ws_core::{Accept, Config, Connection, Event, Opened, Request, Response};

use crate::stream::{DeadlineStream, MaybeTlsStream, TcpBacked, TlsServerStream};
use crate::websocket::{Step, WebSocket};

/// Connects to a `ws://` or `wss://` URL and runs the opening handshake.
///
/// ```no_run
/// let (mut ws, opened) = ws_std::connect("wss://echo.example/chat")?;
/// println!("subprotocol: {:?}", opened.subprotocol);
/// ws.send("hi")?;
/// # Ok::<(), ws_std::Error>(())
/// ```
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Opened)> {
    connect_with(&ClientBuilder::new(url)?)
}

/// Connects with a [`ClientBuilder`] (subprotocols, headers, Origin, limits, timeouts, TLS configuration,
/// proxy, redirects).
///
/// Resolves the host ([`Error::Dns`]; resolution itself is not bounded by the connect timeout: std has no
/// way to), connects over TCP within the connect timeout ([`Error::ConnectTimeout`], else [`Error::Io`]),
/// sets `TCP_NODELAY`, runs the TLS handshake for `wss://` ([`Error::Tls`]) within what is left of it, then
/// the upgrade: a non-101 answer is [`Error::Rejected`] with the status, headers and body.
///
/// **Proxies.** The builder's [`Proxy`](crate::Proxy) (by default the environment: `HTTPS_PROXY`,
/// `NO_PROXY`, ...) is asked for each URL. Through a proxy, the TCP connection goes to the proxy
/// ([`Error::ProxyConnect`] when it cannot be reached or its name does not resolve), TLS to it first for
/// an `https://` proxy ([`ClientBuilder::proxy_tls_config`]), then its handshake (`CONNECT`, SOCKS5 or
/// SOCKS4; a refusal, 407 included, is [`Error::Proxy`]), then TLS to a `wss://` server inside the
/// tunnel. All of it, TCP, proxy and TLS, fits in the connect timeout (each redirect hop has its own).
/// For `socks5://` and `socks4://` proxies the target's name is resolved here ([`Error::Dns`]; SOCKS4
/// takes an IPv4 address); the other proxies get the name. The stream is then a
/// [`MaybeTlsStream::Tunnel`].
///
/// **Redirects.** A 301, 302, 303, 307 or 308 answer to the upgrade is followed on a new connection (the
/// proxy chosen again for the new URL) up to [`ClientBuilder::max_redirects`] times; past that, for
/// `wss://` to `ws://` or a bad `Location`, it is [`Error::Redirect`]. With `max_redirects(0)` the 3xx is
/// returned as [`Error::Rejected`].
///
/// ```no_run
/// use ws_std::ClientBuilder;
/// let builder = ClientBuilder::new("ws://127.0.0.1:9001/chat")?.subprotocol("chat").origin("http://localhost");
/// let (ws, opened) = ws_std::connect_with(&builder)?;
/// assert_eq!(ws.subprotocol(), opened.subprotocol.as_deref());
/// # Ok::<(), ws_std::Error>(())
/// ```
///
/// Through a proxy:
///
/// ```no_run
/// use ws_std::{ClientBuilder, Proxy};
/// let builder = ClientBuilder::new("wss://echo.example/")?
///     .proxy(Proxy::url("http://user:secret@proxy.corp:3128")?);
/// let (ws, _opened) = ws_std::connect_with(&builder)?;
/// assert!(ws.get_ref().is_proxied());
/// # Ok::<(), ws_std::Error>(())
/// ```
pub fn connect_with(builder: &ClientBuilder) -> Result<(WebSocket<MaybeTlsStream>, Opened)> {
    let mut next: Option<ClientBuilder> = None;
    let mut hops = 0;
    loop {
        let hop = next.as_ref().unwrap_or(builder);
        let stream = open(hop)?;
        match client_handshake(stream, hop) {
            Err(Error::Rejected(response)) => match hop.redirected(&response, hops)? {
                Some(redirected) => {
                    next = Some(redirected);
                    hops += 1;
                }
                None => return Err(Error::Rejected(response)),
            },
            result => return result,
        }
    }
}

/// Opens the transport to the builder's URL: direct or through the proxy chosen for it, with TLS for
/// `wss://`, within the connect timeout.
fn open(builder: &ClientBuilder) -> Result<MaybeTlsStream> {
    let url = builder.url();
    let deadline = builder.get_connect_timeout().map(|t| Instant::now() + t);
    if let Some(proxy) = builder.get_proxy().select(url)? {
        let tunnel = crate::proxy::open(builder, &proxy, deadline)?;
        return Ok(MaybeTlsStream::Tunnel(Box::new(tunnel)));
    }
    let tcp = connect_tcp(&url.host, url.port, deadline)?;
    Ok(if url.secure {
        let name = ws_adapter::tls::server_name(&url.host)?;
        let conn = rustls::ClientConnection::new(builder.tls(), name)
            .map_err(|e| Error::Tls(e.to_string()))?;
        let mut tls = StreamOwned::new(conn, tcp);
        tls_handshake(&mut tls, deadline, || Error::ConnectTimeout)?;
        MaybeTlsStream::Tls(Box::new(tls))
    } else {
        MaybeTlsStream::Plain(tcp)
    })
}

/// Connects over TCP to `host:port` before `deadline` (each address in turn), with `TCP_NODELAY`.
pub(crate) fn connect_tcp(host: &str, port: u16, deadline: Option<Instant>) -> Result<TcpStream> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs().map_err(Error::Dns)? {
        let attempt = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
            None => TcpStream::connect(addr),
            Some(Duration::ZERO) => return Err(Error::ConnectTimeout),
            Some(left) => TcpStream::connect_timeout(&addr, left),
        };
        match attempt {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => Error::ConnectTimeout,
        Some(e) => Error::Io(e),
        None => Error::Dns(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address"),
        )),
    })
}

/// Runs a TLS handshake over `tls.sock` (TCP, or a stream over TCP: a proxy's tunnel) before `deadline`
/// (`timeout` makes the error when it passes), then clears the TCP socket's timeouts.
pub(crate) fn tls_handshake<C, D, S>(
    tls: &mut StreamOwned<C, S>,
    deadline: Option<Instant>,
    timeout: fn() -> Error,
) -> Result<()>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    S: Read + Write + TcpBacked,
{
    while tls.conn.is_handshaking() {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(timeout());
        }
        tls.sock.tcp().set_read_timeout(left)?;
        tls.sock.tcp().set_write_timeout(left)?;
        match tls.conn.complete_io(&mut tls.sock) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(Error::Tls(e.to_string()));
            }
            Err(e) => return Err(Error::Io(e)),
        }
    }
    tls.sock.tcp().set_read_timeout(None)?;
    tls.sock.tcp().set_write_timeout(None)?;
    Ok(())
}

/// Client: sends the upgrade request over `stream` (already connected, TLS already set up: any blocking
/// [`DeadlineStream`]) and waits for the 101. Frames the server sends right after its response are kept for
/// `recv`.
///
/// ```no_run
/// let tcp = std::net::TcpStream::connect("127.0.0.1:9001")?;
/// let builder = ws_std::ClientBuilder::new("ws://127.0.0.1:9001/")?;
/// let (ws, _opened) = ws_std::client_handshake(tcp, &builder)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_handshake<S: DeadlineStream>(
    stream: S,
    builder: &ClientBuilder,
) -> Result<(WebSocket<S>, Opened)> {
    let clock = Clock::start();
    let conn = Connection::client(
        builder.request(),
        builder.core_config().clone(),
        random_seed(),
        clock.now(),
    );
    let mut ws = WebSocket::new(conn, stream, clock);
    loop {
        match ws.next_event() {
            Step::Event(Event::Open(opened)) => return Ok((ws, *opened)),
            Step::Event(Event::Rejected(response)) => {
                return Err(Error::Rejected(response));
            }
            Step::Event(Event::Failed(e)) => return Err(ws.core.handshake_error(e)),
            Step::Event(_) => {}
            Step::Finished => return Err(ws.core.handshake_error(ws_core::Error::UnexpectedEof)),
        }
    }
}

/// Server: reads the upgrade request from `stream` and accepts it with the default configuration and no
/// subprotocol.
pub fn accept<S: DeadlineStream>(stream: S) -> Result<WebSocket<S>> {
    accept_with(stream, ws_adapter::default_config(), |_| Ok(Accept::new()))
}

/// Server: reads the upgrade request from `stream` and lets `decide` accept it (choosing a subprotocol,
/// adding headers) or reject it (status, headers, body) before any 101 is written. Bad requests are
/// answered with 400, 426 or 431 by the core and returned as errors; a rejection is returned as
/// [`Error::Rejected`] once the response is written.
///
/// ```no_run
/// use ws_std::{Accept, Config, Response};
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// let (tcp, _) = listener.accept()?;
/// let ws = ws_std::accept_with(tcp, Config::default(), |req| match req.origin() {
///     Some("https://chat.example") if req.offers_subprotocol("chat") => Ok(Accept::new().subprotocol("chat")),
///     _ => Err(Response::new(403, "origin not allowed")),
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept_with<S, F>(
    stream: S,
    config: impl Into<Arc<Config>>,
    decide: F,
) -> Result<WebSocket<S>>
where
    S: DeadlineStream,
    F: FnOnce(Request) -> std::result::Result<Accept, Response>,
{
    let clock = Clock::start();
    let mut ws = WebSocket::new(Connection::server(config, clock.now()), stream, clock);
    let mut decide = Some(decide);
    loop {
        match ws.next_event() {
            Step::Event(Event::Request(request)) => {
                let Some(decide) = decide.take() else {
                    continue;
                };
                match decide(*request) {
                    Ok(accept) => {
                        let now = ws.core.clock.now();
                        ws.core.conn.accept(accept, now)?
                    }
                    Err(response) => {
                        let now = ws.core.clock.now();
                        ws.core.conn.reject(response, now)?
                    }
                }
            }
            Step::Event(Event::Open(_)) => {
                ws.flush()?;
                return Ok(ws);
            }
            Step::Event(Event::Rejected(response)) => {
                finish(&mut ws);
                return Err(Error::Rejected(response));
            }
            Step::Event(Event::Failed(e)) => {
                finish(&mut ws);
                return Err(ws.core.handshake_error(e));
            }
            Step::Event(_) => {}
            Step::Finished => return Err(ws.core.handshake_error(ws_core::Error::UnexpectedEof)),
        }
    }
}

/// Drives a connection that has ended until its last bytes are written and the stream can close.
fn finish<S: DeadlineStream>(ws: &mut WebSocket<S>) {
    while let Step::Event(_) = ws.next_event() {}
}

/// Server over TLS: runs the TLS handshake on `stream` with `tls` (within the handshake timeout of
/// `config`), then [`accept_with`]. TLS failures are [`Error::Tls`].
///
/// ```no_run
/// let tls = ws_std::tls::server_config_from_pem(&std::fs::read("cert.pem")?, &std::fs::read("key.pem")?)?;
/// let listener = std::net::TcpListener::bind("127.0.0.1:9443")?;
/// let (tcp, _) = listener.accept()?;
/// let mut ws = ws_std::accept_tls(tcp, tls, Default::default(), |_| Ok(ws_std::Accept::new()))?;
/// ws.send("hello over TLS")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept_tls<F>(
    stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    config: Config,
    decide: F,
) -> Result<WebSocket<TlsServerStream>>
where
    F: FnOnce(Request) -> std::result::Result<Accept, Response>,
{
    let conn = rustls::ServerConnection::new(tls).map_err(|e| Error::Tls(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    let deadline = config.timeouts.handshake.map(|t| Instant::now() + t);
    tls_handshake(&mut tls, deadline, || {
        Error::Failed(ws_core::Error::Timeout(ws_core::Timeout::Handshake))
    })?;
    accept_with(tls, config, decide)
}

/// Serves WebSocket connections from `listener`, one thread per connection: each thread runs the handshake
/// (with `config`, accepting every request) and hands the open connection to `handler`. Connections whose
/// handshake fails are dropped. Returns only when accepting fails for a reason other than the one
/// connection (for example running out of file descriptors).
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// ws_std::serve(listener, ws_std::Config::default(), |mut ws| {
///     while let Some(Ok(message)) = ws.recv() {
///         if ws.send(message).is_err() {
///             break;
///         }
///     }
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve<F>(listener: TcpListener, config: Config, handler: F) -> io::Result<()>
where
    F: Fn(WebSocket<TcpStream>) + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let config = Arc::new(config); // one copy, shared by every connection
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let (handler, config) = (handler.clone(), config.clone());
        // A thread that cannot be spawned drops its connection; the server goes on.
        let _ = std::thread::Builder::new()
            .name("ws-connection".into())
            .spawn(move || {
                if let Ok(ws) = accept_with(stream, config, |_| Ok(Accept::new())) {
                    handler(ws);
                }
            });
    }
}
