//! The server side: hyper (or axum, or anything on hyper) reads the upgrade request and writes the
//! answer; ws-core validates and negotiates on the `http` types, then runs the connection over the
//! upgraded stream.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use ws_async::{Accept, Config, Error, Result, Role};
use ws_core::HandshakeError;
use ws_core::http::ServerHandshake;

use crate::{HyperIo, HyperTimer, WebSocket};

/// Whether `request` asks for a WebSocket: over HTTP/1.1 an `Upgrade` header naming `websocket`, over
/// HTTP/2 (or HTTP/3) a `CONNECT` whose `:protocol` (hyper's [`hyper::ext::Protocol`]) is `websocket`.
///
/// A routing test, not a validation: a request it matches may still be refused by [`Upgrader::upgrade`]
/// (a missing key or version), which then gives the status to answer with.
///
/// ```
/// let request = http::Request::builder()
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .body(())
///     .unwrap();
/// assert!(ws_hyper::is_upgrade_request(&request));
/// assert!(!ws_hyper::is_upgrade_request(&http::Request::new(())));
/// ```
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    if request.version() >= http::Version::HTTP_2 {
        return request.method() == http::Method::CONNECT
            && request
                .extensions()
                .get::<hyper::ext::Protocol>()
                .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"));
    }
    request
        .headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
}

/// Accepts WebSocket upgrades from hyper requests: the configuration (limits, timeouts,
/// permessage-deflate: on by default, as [`ws_async::default_config`]), the subprotocols this server
/// speaks, and the timer the connections run on. Clone it into each request's service; the config is
/// shared, not copied.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper::{Request, Response, body::Incoming};
/// use ws_hyper::{HyperTimer, Upgrader};
///
/// async fn serve(
///     upgrader: Upgrader,
///     mut request: Request<Incoming>,
///     spawn: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
/// ) -> Response<Empty<Bytes>> {
///     let (response, websocket) = match upgrader.upgrade(&mut request) {
///         Ok(accepted) => accepted,
///         Err(rejection) => return rejection.response(), // 400, 426 or 501
///     };
///     spawn(Box::pin(async move {
///         let Ok(mut ws) = websocket.await else { return };
///         while let Some(Ok(message)) = ws.recv().await {
///             if ws.send(message).await.is_err() {
///                 break;
///             }
///         }
///     }));
///     response // 101 over HTTP/1.1, 200 over HTTP/2
/// }
/// # fn make(timer: HyperTimer) -> Upgrader {
/// Upgrader::new(timer).protocols(["chat"])
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Upgrader {
    config: Arc<Config>,
    protocols: Arc<[String]>,
    timer: HyperTimer,
}

impl Upgrader {
    /// Default settings ([`ws_async::default_config`]: permessage-deflate accepted), no subprotocol,
    /// connections timed by `timer`.
    pub fn new(timer: HyperTimer) -> Self {
        Upgrader {
            config: Arc::new(ws_async::default_config()),
            protocols: Arc::from([]),
            timer,
        }
    }

    /// The connections' configuration (limits, timeouts, extensions: [`Config::extensions`] decides
    /// whether permessage-deflate is accepted, and with which parameters).
    ///
    /// ```
    /// use ws_hyper::{Config, HyperTimer, Limits, Upgrader};
    /// # fn demo(timer: HyperTimer) -> Upgrader {
    /// let config = ws_hyper::default_config().limits(Limits::default().max_message_size(1 << 20));
    /// Upgrader::new(timer).config(config)
    /// # }
    /// ```
    #[must_use]
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// permessage-deflate: `Some` with its parameters (window bits, context takeover, compression
    /// threshold) to accept a client's offer, `None` to decline it. On by default.
    ///
    /// ```
    /// use ws_hyper::{DeflateConfig, HyperTimer, Upgrader};
    /// # fn demo(timer: HyperTimer) -> (Upgrader, Upgrader) {
    /// let small_windows = Upgrader::new(timer.clone())
    ///     .deflate(Some(DeflateConfig::default().server_max_window_bits(10)));
    /// let uncompressed = Upgrader::new(timer).deflate(None);
    /// # (small_windows, uncompressed) }
    /// ```
    #[must_use]
    pub fn deflate(mut self, deflate: Option<ws_core::deflate::DeflateConfig>) -> Self {
        let factory = deflate.map(|d| Arc::new(ws_core::deflate::PerMessageDeflate::new(d)) as _);
        self.config = Arc::new(Arc::unwrap_or_clone(self.config).extensions(factory));
        self
    }

    /// The subprotocols this server speaks. The one chosen is the first the client offers (in its
    /// order of preference) that is in this list; none when there is no match (the client then decides
    /// whether to go on without one).
    #[must_use]
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Validates `request` as an upgrade (HTTP/1.1 `GET` + `Upgrade`, or an HTTP/2 extended CONNECT)
    /// and accepts it: returns the response to send (101, or 200 over HTTP/2, with the subprotocol and
    /// permessage-deflate agreed) and a future that resolves to the [`WebSocket`] once hyper has sent
    /// the response and handed over the stream. Spawn the future (it completes only after the response
    /// is on its way).
    ///
    /// A request that is not a valid upgrade is a [`Rejection`] whose [`Rejection::response`] is the
    /// answer (400, 426 or 501, from ws-core's rules).
    pub fn upgrade<B, RB: Default>(
        &self,
        request: &mut Request<B>,
    ) -> std::result::Result<(Response<RB>, UpgradeFuture), Rejection> {
        let incoming = IncomingUpgrade::from_request(request)?;
        let accept = incoming.choose(&self.protocols);
        incoming.accept_with(&accept, self.config.clone(), self.timer.clone())
    }
}

/// A validated upgrade request not yet answered: look at it ([`IncomingUpgrade::request`]: path,
/// Origin, offered subprotocols and extensions), then accept it. The building block of
/// [`Upgrader::upgrade`] and of extractors for frameworks on hyper.
///
/// ```
/// use ws_hyper::IncomingUpgrade;
/// let mut request = http::Request::builder()
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Version", "13")
///     .body(())
///     .unwrap();
/// // Not a valid upgrade (no key, no Host): the rejection says what to answer.
/// let rejection = IncomingUpgrade::from_request(&mut request).unwrap_err();
/// assert_eq!(rejection.status(), http::StatusCode::BAD_REQUEST);
/// ```
pub struct IncomingUpgrade {
    handshake: ServerHandshake,
    on_upgrade: Option<OnUpgrade>,
}

impl fmt::Debug for IncomingUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingUpgrade")
            .field("handshake", &self.handshake)
            .finish_non_exhaustive()
    }
}

impl IncomingUpgrade {
    /// Validates a request's head (see [`ServerHandshake::from_parts`]) and takes hyper's upgrade
    /// handle out of its extensions.
    pub fn from_request<B>(request: &mut Request<B>) -> std::result::Result<Self, Rejection> {
        let mut head = Request::new(());
        *head.method_mut() = request.method().clone();
        *head.uri_mut() = request.uri().clone();
        *head.version_mut() = request.version();
        *head.headers_mut() = request.headers().clone();
        let (mut parts, ()) = head.into_parts();
        parts.extensions = std::mem::take(request.extensions_mut());
        let result = IncomingUpgrade::from_parts(&mut parts);
        *request.extensions_mut() = parts.extensions;
        result
    }

    /// [`IncomingUpgrade::from_request`] on a request's parts (as extractors get them).
    pub fn from_parts(parts: &mut http::request::Parts) -> std::result::Result<Self, Rejection> {
        let protocol = parts.extensions.get::<hyper::ext::Protocol>();
        let handshake = ServerHandshake::from_parts(parts, protocol.map(|p| p.as_str()))
            .map_err(|e| Rejection(RejectionKind::Refused(e)))?;
        Ok(IncomingUpgrade {
            handshake,
            on_upgrade: parts.extensions.remove::<OnUpgrade>(),
        })
    }

    /// The request: path, headers, Origin ([`ws_core::Request::origin_allowed`]), subprotocols and
    /// extension offers.
    pub fn request(&self) -> &ws_core::Request {
        self.handshake.request()
    }

    /// The subprotocols the client asks for, in its order of preference.
    pub fn requested_protocols(&self) -> &[String] {
        self.handshake.subprotocols()
    }

    /// Whether this is an HTTP/2 extended CONNECT (answered with 200) rather than an HTTP/1.1 upgrade.
    pub fn is_extended_connect(&self) -> bool {
        self.handshake.is_extended_connect()
    }

    /// An [`Accept`] naming the first subprotocol the client asks for that is in `supported`.
    pub fn choose(&self, supported: &[String]) -> Accept {
        match self
            .requested_protocols()
            .iter()
            .find(|p| supported.contains(p))
        {
            Some(protocol) => Accept::new().subprotocol(protocol.clone()),
            None => Accept::new(),
        }
    }

    /// Accepts with `accept` (subprotocol, extra headers), negotiating extensions with `config`:
    /// the response to send and the future of the [`WebSocket`] (see [`Upgrader::upgrade`]).
    ///
    /// Fails (with a 500 [`Rejection`]) when `accept` names a subprotocol the client did not offer or
    /// a header that may not be set, or when the request carries no hyper upgrade handle (it was not
    /// served by hyper, or the HTTP/1.1 connection was served without `with_upgrades()`).
    ///
    /// ```
    /// use ws_hyper::{HyperTimer, IncomingUpgrade};
    /// # fn demo(timer: HyperTimer) {
    /// let mut request = http::Request::builder()
    ///     .uri("/chat")
    ///     .header("Host", "example.com")
    ///     .header("Upgrade", "websocket")
    ///     .header("Connection", "Upgrade")
    ///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("Sec-WebSocket-Version", "13")
    ///     .header("Sec-WebSocket-Protocol", "chat, superchat")
    ///     .body(())
    ///     .unwrap();
    /// let incoming = IncomingUpgrade::from_request(&mut request).unwrap();
    /// assert_eq!(incoming.request().path(), "/chat");
    /// assert_eq!(incoming.requested_protocols(), ["chat", "superchat"]);
    /// assert!(!incoming.is_extended_connect());
    /// let accept = incoming.choose(&["superchat".to_owned()]);
    /// // A request built by hand carries no hyper upgrade handle: hyper's requests do.
    /// let refused = incoming.accept_with::<()>(&accept, ws_hyper::default_config(), timer);
    /// assert_eq!(refused.unwrap_err().status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    /// # }
    /// ```
    pub fn accept_with<RB: Default>(
        self,
        accept: &Accept,
        config: impl Into<Arc<Config>>,
        timer: HyperTimer,
    ) -> std::result::Result<(Response<RB>, UpgradeFuture), Rejection> {
        let config = config.into();
        let Some(on_upgrade) = self.on_upgrade else {
            return Err(Rejection(RejectionKind::NotUpgradable));
        };
        let (response, negotiated) = self
            .handshake
            .accept(accept, &config)
            .map_err(|e| Rejection(RejectionKind::Accept(e)))?;
        let future = async move {
            let upgraded = on_upgrade
                .await
                .map_err(|e| Error::Io(io::Error::other(e)))?;
            let (ws, _opened) = ws_async::open(
                HyperIo::new(upgraded),
                timer,
                Role::Server,
                config,
                negotiated,
                b"",
            )?;
            Ok(ws)
        };
        let response = response.map(|()| RB::default());
        Ok((
            response,
            UpgradeFuture {
                inner: Box::pin(future),
            },
        ))
    }
}

/// Resolves to the server's [`WebSocket`] once hyper has sent the response and handed over the stream
/// (an error if the connection closed first).
///
/// ```
/// # async fn demo(websocket: ws_hyper::UpgradeFuture) {
/// match websocket.await {
///     Ok(mut ws) => { let _ = ws.send("hello").await; }
///     Err(error) => eprintln!("the client left before the upgrade: {error}"),
/// }
/// # }
/// ```
pub struct UpgradeFuture {
    inner: Pin<Box<dyn Future<Output = Result<WebSocket>> + Send>>,
}

impl fmt::Debug for UpgradeFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeFuture").finish_non_exhaustive()
    }
}

impl UpgradeFuture {
    /// A future that fails at once with `error`: for integrations that must hand back a future even
    /// when the upgrade could not be accepted (their response then says why).
    pub fn failed(error: Error) -> Self {
        UpgradeFuture {
            inner: Box::pin(std::future::ready(Err(error))),
        }
    }
}

impl Future for UpgradeFuture {
    type Output = Result<WebSocket>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

/// Why an upgrade request was not accepted, with the answer to send ([`Rejection::response`]).
///
/// ```
/// use ws_hyper::{HandshakeError, IncomingUpgrade};
/// // An HTTP/2 CONNECT without `:protocol`: a tunnel request, not a WebSocket.
/// let mut request = http::Request::builder()
///     .method(http::Method::CONNECT)
///     .version(http::Version::HTTP_2)
///     .uri("https://example.com/chat")
///     .header("Sec-WebSocket-Version", "13")
///     .body(())
///     .unwrap();
/// let rejection = IncomingUpgrade::from_request(&mut request).unwrap_err();
/// assert_eq!(rejection.handshake_error(), Some(&HandshakeError::MissingProtocol));
/// let response: http::Response<()> = rejection.response();
/// assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(RejectionKind);

#[derive(Debug, Clone, PartialEq, Eq)]
enum RejectionKind {
    /// ws-core refused the request: 400, 426 or 501.
    Refused(ws_core::http::UpgradeError),
    /// The application's accept was invalid.
    Accept(ws_core::SendError),
    /// No hyper upgrade handle in the request.
    NotUpgradable,
}

impl Rejection {
    /// The status to answer with: 400 (malformed, such as a CONNECT without `:protocol` or an HTTP/2
    /// request with a Sec-WebSocket-Key), 426 (missing `Upgrade` or a wrong version), 501 (another
    /// `:protocol`); 500 for a server-side fault (see [`IncomingUpgrade::accept_with`]).
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            RejectionKind::Refused(e) => e.status(),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What was wrong with the request, when the client is at fault.
    pub fn handshake_error(&self) -> Option<&HandshakeError> {
        match &self.0 {
            RejectionKind::Refused(e) => Some(e.error()),
            _ => None,
        }
    }

    /// The answer: ws-core's ([`ws_core::http::UpgradeError::response`]: the status, and
    /// `Sec-WebSocket-Version: 13` with a 426), or an empty 500.
    pub fn response<RB: Default>(&self) -> Response<RB> {
        match &self.0 {
            RejectionKind::Refused(e) => e.response().map(|()| RB::default()),
            _ => {
                let mut response = Response::new(RB::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RejectionKind::Refused(e) => write!(f, "{e}"),
            RejectionKind::Accept(e) => write!(f, "WebSocket upgrade not accepted: {e}"),
            RejectionKind::NotUpgradable => f.write_str(
                "the request carries no hyper upgrade handle (serve the connection with upgrades)",
            ),
        }
    }
}

impl std::error::Error for Rejection {}
