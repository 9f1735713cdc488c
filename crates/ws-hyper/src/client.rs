//! The client side: hyper's client connections send the upgrade request (HTTP/1.1) or the extended
//! CONNECT (HTTP/2, RFC 8441); ws-core builds the request and verifies the answer.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper::rt::bounds::Http2ClientConnExec;
use hyper::rt::{Read, Write};
use ws_async::{ClientBuilder, Error, Opened, Role, Timer};
use ws_core::http::ClientHandshake;

use crate::{HyperIo, HyperTimer, WebSocket};

/// How long [`Http2Client::handshake`] waits for the server's first SETTINGS frame when it cannot tell
/// it has arrived (see there).
///
/// ```
/// assert_eq!(ws_hyper::SETTINGS_WAIT, std::time::Duration::from_secs(2));
/// ```
pub const SETTINGS_WAIT: Duration = Duration::from_secs(2);

/// Why a client connection failed.
///
/// More variants may be added: match with a `_` arm.
///
/// ```
/// # async fn demo(h2: ws_hyper::Http2Client, request: ws_hyper::ClientBuilder) {
/// use ws_hyper::ClientError;
/// match h2.connect(&request).await {
///     Ok((ws, _opened)) => drop(ws),
///     Err(ClientError::ExtendedConnectDisabled) => { /* try HTTP/1.1 */ }
///     Err(e) if e.rejected_status() == Some(403) => eprintln!("not allowed"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The HTTP/2 server did not enable extended CONNECT (`SETTINGS_ENABLE_CONNECT_PROTOCOL`, RFC 8441):
    /// open the WebSocket over HTTP/1.1 instead ([`connect_http2_or_http1`] does).
    ExtendedConnectDisabled,
    /// hyper failed: the connection closed or broke, the stream was refused or reset.
    Http(hyper::Error),
    /// The WebSocket failed, as in the other adapters: a rejected handshake ([`Error::Rejected`] with
    /// the status), a response refused by ws-core's checks ([`Error::Failed`]), a timeout, I/O.
    WebSocket(Error),
}

impl ClientError {
    /// The HTTP status of a rejected handshake.
    pub fn rejected_status(&self) -> Option<u16> {
        match self {
            ClientError::WebSocket(e) => e.rejected_status(),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::ExtendedConnectDisabled => f.write_str(
                "the HTTP/2 server did not enable extended CONNECT (RFC 8441): use HTTP/1.1",
            ),
            ClientError::Http(e) => write!(f, "HTTP error: {e}"),
            ClientError::WebSocket(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Http(e) => Some(e),
            ClientError::WebSocket(e) => Some(e),
            ClientError::ExtendedConnectDisabled => None,
        }
    }
}

impl From<Error> for ClientError {
    fn from(e: Error) -> Self {
        ClientError::WebSocket(e)
    }
}

impl From<hyper::Error> for ClientError {
    fn from(e: hyper::Error) -> Self {
        ClientError::Http(e)
    }
}

/// Opens a WebSocket over HTTP/1.1 on `io` (a connected transport with hyper's I/O traits, TLS already
/// set up if any): hyper's HTTP/1.1 client sends the upgrade request ws-core builds from `builder`
/// (subprotocols, Origin, headers, permessage-deflate offer), ws-core checks the 101, and the
/// connection runs over the upgraded stream. Bounded by the handshake timeout of `builder`'s config.
///
/// ```no_run
/// # async fn demo(tcp: impl hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static, timer: ws_hyper::HyperTimer) -> Result<(), ws_hyper::ClientError> {
/// let builder = ws_hyper::ClientBuilder::new("ws://127.0.0.1:9001/chat")?.subprotocol("chat");
/// let (mut ws, opened) = ws_hyper::connect_http1(tcp, &builder, timer).await?;
/// assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect_http1<T>(
    io: T,
    builder: &ClientBuilder,
    timer: HyperTimer,
) -> Result<(WebSocket, Opened), ClientError>
where
    T: Read + Write + Unpin + Send + 'static,
{
    let config = builder.core_config().clone();
    let limit = config.timeouts.handshake;
    let work = async {
        let mut nonce = [0; 16];
        nonce.copy_from_slice(&ws_async::random_seed()[..16]);
        let (request, handshake) = ClientHandshake::http11(builder.request(), &config, nonce)
            .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let (mut send, conn) = http1::handshake::<_, Empty<Bytes>>(io).await?;
        let mut conn = Some(conn.with_upgrades());
        let request = request.map(|()| Empty::new());
        let mut response = alongside(&mut conn, send.send_request(request)).await??;
        let negotiated = match verify(&handshake, &response, &config) {
            Err(ClientError::WebSocket(Error::Rejected(mut rejected))) => {
                let body = body_prefix(response.into_body(), config.limits.max_head_bytes);
                rejected.body = alongside(&mut conn, body).await?;
                return Err(Error::Rejected(rejected).into());
            }
            verified => verified?,
        };
        let upgraded = alongside(&mut conn, hyper::upgrade::on(&mut response)).await??;
        let (ws, opened) = ws_async::open(
            HyperIo::new(upgraded),
            timer.clone(),
            Role::Client,
            config.clone(),
            negotiated,
            b"",
        )?;
        Ok::<_, ClientError>((ws, opened))
    };
    match limit {
        Some(limit) => within(&timer, Instant::now() + limit, work)
            .await
            .unwrap_or(Err(ClientError::WebSocket(Error::ConnectTimeout))),
        None => work.await,
    }
}

/// Runs `work` while driving hyper's HTTP/1.1 connection (until it hands the stream over for the
/// upgrade, or fails).
async fn alongside<C, F>(conn: &mut Option<C>, work: F) -> Result<F::Output, ClientError>
where
    C: Future<Output = hyper::Result<()>> + Unpin,
    F: Future,
{
    let mut work = pin!(work);
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if let Some(c) = conn.as_mut()
            && let Poll::Ready(done) = Pin::new(c).poll(cx)
        {
            *conn = None;
            if let Err(e) = done {
                return Poll::Ready(Err(ClientError::Http(e)));
            }
            // The connection ended (upgraded or closed): `work` finishes on its own now.
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(Ok(out));
            }
        }
        Poll::Pending
    })
    .await
}

/// The first `limit` bytes of a rejection's body (what arrived before an error, if the body fails), as
/// the built-in handshake keeps them.
async fn body_prefix<B: hyper::body::Body<Data = Bytes> + Unpin>(
    mut body: B,
    limit: usize,
) -> Bytes {
    let mut kept = Vec::new();
    while kept.len() < limit {
        let Some(Ok(frame)) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame.into_data() {
            let room = limit - kept.len();
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Bytes::from(kept)
}

/// Checks the server's answer with ws-core's rules; a status other than the expected one (101 over
/// HTTP/1.1, 2xx over HTTP/2) is a rejection carrying that status and the headers (the callers add the
/// start of the body, [`body_prefix`]).
fn verify<B>(
    handshake: &ClientHandshake,
    response: &Response<B>,
    config: &ws_async::Config,
) -> Result<ws_async::Negotiated, ClientError> {
    let expected = if handshake.is_extended_connect() {
        response.status().is_success()
    } else {
        response.status() == http::StatusCode::SWITCHING_PROTOCOLS
    };
    if !expected {
        let mut rejected = ws_async::Response::new(response.status().as_u16(), "");
        for (name, value) in response.headers() {
            rejected = rejected.header(name.as_str(), value.as_bytes());
        }
        return Err(Error::Rejected(Box::new(rejected)).into());
    }
    let mut head = Response::new(());
    *head.status_mut() = response.status();
    *head.version_mut() = response.version();
    *head.headers_mut() = response.headers().clone();
    handshake
        .verify(&head.into_parts().0, config)
        .map_err(|e| Error::Failed(ws_core::Error::Handshake(e)).into())
}

/// Runs `work` until `deadline`; `None` if the deadline came first.
pub(crate) async fn within<F: Future>(
    timer: &HyperTimer,
    deadline: Instant,
    work: F,
) -> Option<F::Output> {
    let mut work = pin!(work);
    let mut sleep = timer.sleep_until(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// WebSockets over one HTTP/2 connection (RFC 8441): each [`Http2Client::connect`] opens an extended
/// CONNECT stream on it, so many WebSockets share one TCP (or TLS) connection. Cheap to clone (hyper's
/// `SendRequest` inside).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
/// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await?;
/// let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
/// builder.timer(TokioTimer::new());
/// let timer = ws_hyper::HyperTimer::new(TokioTimer::new());
/// let (h2, connection) = ws_hyper::Http2Client::handshake(&builder, TokioIo::new(tcp), timer).await?;
/// tokio::spawn(connection); // drives every stream of the connection
/// let request = ws_hyper::ClientBuilder::new("ws://127.0.0.1:8080/chat")?;
/// let (mut first, _) = h2.connect(&request).await?;
/// let (mut second, _) = h2.connect(&request).await?; // the same HTTP/2 connection
/// first.send("one").await?;
/// second.send("two").await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Http2Client {
    send: http2::SendRequest<Empty<Bytes>>,
    extended_connect: bool,
    timer: HyperTimer,
}

impl Http2Client {
    /// Runs hyper's HTTP/2 client handshake on `io` with `builder` (its executor, window sizes,
    /// keepalive), then waits until the server's SETTINGS say whether extended CONNECT is enabled: as
    /// soon as `SETTINGS_ENABLE_CONNECT_PROTOCOL` is seen, or the server's settings visibly arrived
    /// (hyper's view of the server's stream limit changed, as it does with hyper's servers) without
    /// it; when neither can be seen, after [`SETTINGS_WAIT`]. hyper reports no settings change, so
    /// this looks at its flags on a short interval (1 ms, doubling up to 50 ms).
    ///
    /// Returns the client and hyper's connection, which must be polled (spawned) for as long as any
    /// WebSocket on it lives, as with hyper's own handshake.
    pub async fn handshake<T, E>(
        builder: &http2::Builder<E>,
        io: T,
        timer: HyperTimer,
    ) -> Result<(Self, http2::Connection<T, Empty<Bytes>, E>), ClientError>
    where
        T: Read + Write + Unpin + Send + 'static,
        E: Http2ClientConnExec<Empty<Bytes>, T> + Unpin + Clone,
    {
        let (send, mut conn) = builder.handshake::<T, Empty<Bytes>>(io).await?;
        // hyper runs the HTTP/2 connection in a task of its own and signals no settings change, so the
        // flags are looked at on a short, growing interval (while `conn` is driven), within the wait.
        let streams_before = conn.current_max_send_streams();
        let deadline = Instant::now() + SETTINGS_WAIT;
        let mut step = Duration::from_millis(1);
        while !conn.is_extended_connect_protocol_enabled()
            && conn.current_max_send_streams() == streams_before
            && Instant::now() < deadline
        {
            let wake = (Instant::now() + step).min(deadline);
            match within(&timer, wake, poll_fn(|cx| Pin::new(&mut conn).poll(cx))).await {
                Some(Ok(())) => {
                    return Err(ClientError::WebSocket(Error::Io(
                        io::ErrorKind::UnexpectedEof.into(),
                    )));
                }
                Some(Err(e)) => return Err(ClientError::Http(e)),
                None => {}
            }
            step = (step * 2).min(Duration::from_millis(50));
        }
        let extended_connect = conn.is_extended_connect_protocol_enabled();
        Ok((
            Http2Client {
                send,
                extended_connect,
                timer,
            },
            conn,
        ))
    }

    /// A client on an HTTP/2 connection handshaken elsewhere: `extended_connect` is what hyper's
    /// `Connection::is_extended_connect_protocol_enabled` said once the server's SETTINGS arrived.
    ///
    /// ```no_run
    /// # async fn demo(tcp: hyper_util::rt::TokioIo<tokio::net::TcpStream>, timer: ws_hyper::HyperTimer) -> Result<(), hyper::Error> {
    /// let (send, connection) =
    ///     hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), tcp).await?;
    /// // ... once the server's SETTINGS arrived (hyper drives the connection in its own task):
    /// let enabled = connection.is_extended_connect_protocol_enabled();
    /// tokio::spawn(connection);
    /// let h2 = ws_hyper::Http2Client::new(send, enabled, timer);
    /// assert_eq!(h2.is_extended_connect_enabled(), enabled);
    /// # Ok(()) }
    /// ```
    pub fn new(
        send: http2::SendRequest<Empty<Bytes>>,
        extended_connect: bool,
        timer: HyperTimer,
    ) -> Self {
        Http2Client {
            send,
            extended_connect,
            timer,
        }
    }

    /// Whether the server enabled extended CONNECT (RFC 8441), so WebSockets can open on this
    /// connection.
    pub fn is_extended_connect_enabled(&self) -> bool {
        self.extended_connect
    }

    /// Opens a WebSocket on a new stream of this connection: sends the extended CONNECT ws-core builds
    /// from `builder` (`:protocol` = `websocket`, subprotocols, Origin, headers, permessage-deflate
    /// offer), checks the 2xx answer with ws-core's rules, and runs the connection over the stream.
    /// [`ClientError::ExtendedConnectDisabled`] when the server did not enable extended CONNECT.
    pub async fn connect(
        &self,
        builder: &ClientBuilder,
    ) -> Result<(WebSocket, Opened), ClientError> {
        if !self.extended_connect {
            return Err(ClientError::ExtendedConnectDisabled);
        }
        let config = builder.core_config().clone();
        let scheme = if builder.url().secure {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        };
        let (request, handshake) = ClientHandshake::http2(builder.request(), &config, scheme)
            .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let mut request = request.map(|()| Empty::<Bytes>::new());
        request
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));
        let mut send = self.send.clone();
        let work = async {
            send.ready().await?;
            let mut response = send.send_request(request).await?;
            let negotiated = match verify(&handshake, &response, &config) {
                Err(ClientError::WebSocket(Error::Rejected(mut rejected))) => {
                    let body = body_prefix(response.into_body(), config.limits.max_head_bytes);
                    rejected.body = body.await;
                    return Err(Error::Rejected(rejected).into());
                }
                verified => verified?,
            };
            let upgraded = hyper::upgrade::on(&mut response).await?;
            let (ws, opened) = ws_async::open(
                HyperIo::new(upgraded),
                self.timer.clone(),
                Role::Client,
                config.clone(),
                negotiated,
                b"",
            )?;
            Ok::<_, ClientError>((ws, opened))
        };
        match config.timeouts.handshake {
            Some(limit) => within(&self.timer, Instant::now() + limit, work)
                .await
                .unwrap_or(Err(ClientError::WebSocket(Error::ConnectTimeout))),
            None => work.await,
        }
    }
}

/// Opens a WebSocket over the HTTP/2 connection `h2` when its server enabled extended CONNECT, else
/// over HTTP/1.1 on a new connection from `dial` (called only then).
///
/// ```no_run
/// # async fn demo(h2: ws_hyper::Http2Client) -> Result<(), ws_hyper::ClientError> {
/// let request = ws_hyper::ClientBuilder::new("ws://127.0.0.1:8080/chat")?;
/// let dial = || async {
///     let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await?;
///     Ok(hyper_util::rt::TokioIo::new(tcp))
/// };
/// let (mut ws, _) = ws_hyper::connect_http2_or_http1(&h2, &request, dial).await?;
/// ws.send("over HTTP/2 if the server allows it").await?;
/// # Ok(()) }
/// ```
pub async fn connect_http2_or_http1<T, D, Fut>(
    h2: &Http2Client,
    builder: &ClientBuilder,
    dial: D,
) -> Result<(WebSocket, Opened), ClientError>
where
    T: Read + Write + Unpin + Send + 'static,
    D: FnOnce() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    match h2.connect(builder).await {
        Err(ClientError::ExtendedConnectDisabled) => {
            let io = dial().await.map_err(Error::Io)?;
            connect_http1(io, builder, h2.timer.clone()).await
        }
        other => other,
    }
}
