//! # ws-axum: WebSockets for axum 0.8 on ws-hyper
//!
//! [`WebSocketUpgrade`] is an extractor in the spirit of axum's own: it validates the upgrade request
//! (an HTTP/1.1 upgrade, or an HTTP/2 extended CONNECT as in RFC 8441), lets the handler see the
//! requested subprotocols, choose one, set permessage-deflate (on by default) and limits, and then
//! either runs a callback on the WebSocket ([`WebSocketUpgrade::on_upgrade`]) or hands back the
//! response and the future of the WebSocket ([`WebSocketUpgrade::into_parts`]) so the handler decides
//! where it runs. The WebSocket is [`ws_hyper::WebSocket`]: `send`/`recv`/`close`, `Stream` + `Sink`,
//! `split`. Requests that are not valid upgrades are answered 400, 426 or 501 by the rejection.
//!
//! Route it with `any()`: HTTP/1.1 clients send `GET`, HTTP/2 clients `CONNECT` (`axum::serve`
//! enables extended CONNECT for HTTP/2).
//!
//! ```no_run
//! use axum::{Router, routing::{any, get}};
//! use ws_axum::WebSocketUpgrade;
//!
//! async fn chat(upgrade: WebSocketUpgrade) -> axum::response::Response {
//!     upgrade.protocols(["chat"]).on_upgrade(|mut ws| async move {
//!         while let Some(Ok(message)) = ws.recv().await {
//!             if ws.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//!
//! # async fn demo() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .route("/chat", any(chat));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! A separate crate rather than a feature of ws-hyper: axum comes with its own dependency tree and
//! release cadence, and ws-hyper stays free of both (and of a tokio runtime) for plain hyper users.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use ws_core::deflate::PerMessageDeflate;
use ws_hyper::{HyperTimer, IncomingUpgrade, Rejection, UpgradeFuture};

pub use ws_hyper::{
    CloseCode, CloseFrame, Config, DeflateConfig, Error, Limits, Message, Outgoing,
    PreparedMessage, Reader, Result, Utf8Bytes, WebSocket, Writer, broadcast_config,
    default_config,
};

/// The extractor: a validated WebSocket upgrade request, not yet answered. See the crate docs.
///
/// ```no_run
/// use axum::response::{IntoResponse, Response};
/// use ws_axum::{DeflateConfig, WebSocketUpgrade};
///
/// async fn handler(upgrade: WebSocketUpgrade) -> Response {
///     if !upgrade.request().origin_allowed(&["https://chat.example"]) {
///         return http::StatusCode::FORBIDDEN.into_response();
///     }
///     if !upgrade.requested_protocols().iter().any(|p| p == "chat.v2") {
///         return http::StatusCode::BAD_REQUEST.into_response();
///     }
///     let upgrade = upgrade
///         .protocols(["chat.v2"])
///         .deflate(Some(DeflateConfig::default().client_max_window_bits(12)));
///     assert_eq!(upgrade.selected_protocol(), Some("chat.v2"));
///     upgrade.on_upgrade(|mut ws| async move {
///         let _ = ws.send("welcome").await;
///     })
/// }
/// ```
pub struct WebSocketUpgrade {
    incoming: IncomingUpgrade,
    config: Config,
    protocol: Option<String>,
    timer: Option<HyperTimer>,
}

impl fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("incoming", &self.incoming)
            .field("config", &self.config)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        let incoming = IncomingUpgrade::from_parts(parts).map_err(WebSocketUpgradeRejection)?;
        Ok(WebSocketUpgrade {
            incoming,
            config: ws_hyper::default_config(),
            protocol: None,
            timer: None,
        })
    }
}

impl WebSocketUpgrade {
    /// The subprotocols the client asks for, in its order of preference.
    pub fn requested_protocols(&self) -> &[String] {
        self.incoming.requested_protocols()
    }

    /// The whole request as ws-core sees it: path, headers, Origin (`origin_allowed`), extension
    /// offers.
    pub fn request(&self) -> &ws_core::Request {
        self.incoming.request()
    }

    /// Whether the request came over HTTP/2 (an extended CONNECT) rather than HTTP/1.1.
    pub fn is_http2(&self) -> bool {
        self.incoming.is_extended_connect()
    }

    /// The subprotocols this handler speaks: the one chosen is the first the client asks for that is
    /// in the list (none if there is no match).
    #[must_use]
    pub fn protocols<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let supported: Vec<String> = protocols.into_iter().map(Into::into).collect();
        self.protocol = self
            .requested_protocols()
            .iter()
            .find(|p| supported.contains(p))
            .cloned();
        self
    }

    /// The subprotocol chosen by [`WebSocketUpgrade::protocols`].
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// permessage-deflate: `Some` with its parameters (window bits, context takeover, compression
    /// threshold) to accept a client's offer, `None` to decline it. On by default, with the default
    /// [`DeflateConfig`].
    #[must_use]
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        let factory = deflate.map(|d| Arc::new(PerMessageDeflate::new(d)) as _);
        self.config = self.config.extensions(factory);
        self
    }

    /// The connection's whole configuration (limits, timeouts, extensions), replacing the default
    /// ([`ws_hyper::default_config`]).
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The timer the connection's deadlines run on (tokio's by default).
    #[must_use]
    pub fn timer(mut self, timer: HyperTimer) -> Self {
        self.timer = Some(timer);
        self
    }

    /// The response to send (101, or 200 over HTTP/2) and the future of the WebSocket, for the
    /// handler to run where it likes. The future completes once the response is sent.
    ///
    /// ```no_run
    /// # async fn handler(upgrade: ws_axum::WebSocketUpgrade) -> axum::response::Response {
    /// let (response, websocket) = upgrade.into_parts();
    /// tokio::spawn(async move {
    ///     if let Ok(mut ws) = websocket.await {
    ///         let _ = ws.send("welcome").await;
    ///     }
    /// });
    /// response
    /// # }
    /// ```
    pub fn into_parts(self) -> (Response, UpgradeFuture) {
        let accept = match self.protocol {
            Some(p) => ws_hyper::Accept::new().subprotocol(p),
            None => ws_hyper::Accept::new(),
        };
        let timer = self.timer.unwrap_or_else(HyperTimer::tokio);
        match self.incoming.accept_with(&accept, self.config, timer) {
            Ok((response, future)) => (response, future),
            Err(rejection) => {
                let error = std::io::Error::other(rejection.to_string());
                let future = UpgradeFuture::failed(Error::Io(error));
                (rejection.response(), future)
            }
        }
    }

    /// Answers the upgrade and runs `callback` on the WebSocket in a tokio task once the response
    /// is sent. If the connection closes before that, `callback` is not called.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (response, websocket) = self.into_parts();
        tokio::spawn(async move {
            if let Ok(ws) = websocket.await {
                callback(ws).await;
            }
        });
        response
    }
}

/// The extractor's rejection: the request is not a valid WebSocket upgrade. Its response is ws-core's
/// answer: 400 (malformed, a CONNECT without `:protocol`, an HTTP/2 request with a key), 426 (no
/// `Upgrade` or a wrong version, with `Sec-WebSocket-Version: 13`), 501 (another `:protocol`).
///
/// ```
/// use axum::response::IntoResponse;
/// // A GET with no Upgrade header.
/// let mut request = http::Request::builder().header("Host", "a").body(()).unwrap();
/// let rejection = ws_hyper::IncomingUpgrade::from_request(&mut request).unwrap_err();
/// let response = ws_axum::WebSocketUpgradeRejection(rejection).into_response();
/// assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
/// ```
#[derive(Debug)]
pub struct WebSocketUpgradeRejection(pub Rejection);

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        self.0.response()
    }
}

impl fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for WebSocketUpgradeRejection {}
