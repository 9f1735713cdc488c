//! What a client connects with: URL, request headers, core configuration, timeouts and TLS.

use std::time::Duration;

use ws_core::http::{DEFAULT_MAX_REDIRECTS, redirect_target};
use ws_core::{ClientRequest, Config, Limits, Response, Timeouts, WsUrl};

use crate::error::{Error, Result};
use crate::proxy::Proxy;

/// Builds a client connection; every adapter's `connect_with` takes one, so the shape is the same on every
/// runtime.
///
/// ```
/// let builder = ws_adapter::ClientBuilder::new("ws://127.0.0.1:9001/chat")
///     .unwrap()
///     .subprotocol("chat")
///     .origin("http://localhost")
///     .header("Authorization", "Bearer x");
/// assert_eq!(builder.url().port, 9001);
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    url: WsUrl,
    request: ClientRequest,
    config: Config,
    connect_timeout: Option<Duration>,
    proxy: Proxy,
    proxy_headers: Vec<(String, Vec<u8>)>,
    max_redirects: u32,
    #[cfg(feature = "rustls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    #[cfg(feature = "rustls")]
    proxy_tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// A builder for `url` (`ws://` or `wss://`).
    pub fn new(url: &str) -> Result<Self> {
        let url = WsUrl::parse(url)?;
        let request = ClientRequest::from_url(&url);
        Ok(ClientBuilder {
            url,
            request,
            config: crate::default_config(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: Proxy::default(),
            proxy_headers: Vec::new(),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            #[cfg(feature = "rustls")]
            tls: None,
            #[cfg(feature = "rustls")]
            proxy_tls: None,
        })
    }

    /// Offers a subprotocol (call again to offer several, in preference order).
    pub fn subprotocol(mut self, protocol: &str) -> Self {
        self.request = self.request.subprotocol(protocol);
        self
    }

    /// Sets the Origin header.
    pub fn origin(mut self, origin: &str) -> Self {
        self.request = self.request.origin(origin);
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// Replaces the whole core configuration (limits, timeouts, extensions).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sets the handshake, keepalive, pong and close timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }

    /// Chooses the proxy (default [`Proxy::Env`]: the environment's `HTTPS_PROXY`, `NO_PROXY`, ...).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Adds a header to an HTTP proxy's `CONNECT` request (not to the WebSocket request). Credentials in
    /// the proxy URL become `Proxy-Authorization: Basic` by themselves.
    pub fn proxy_header(mut self, name: &str, value: &str) -> Self {
        self.proxy_headers
            .push((name.to_string(), value.as_bytes().to_vec()));
        self
    }

    /// Follows at most `hops` redirects (301, 302, 303, 307, 308) of the opening handshake; default 10.
    /// `0` follows none: the 3xx comes back as [`Error::Rejected`].
    pub fn max_redirects(mut self, hops: u32) -> Self {
        self.max_redirects = hops;
        self
    }

    /// Sets the TCP (and TLS) connect timeout, which covers the proxy's handshake too; `None` waits as
    /// long as the OS does. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Uses this rustls configuration for `wss://` instead of the default (webpki roots).
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Uses this rustls configuration for the TLS to an `https://` proxy instead of the default (webpki
    /// roots).
    #[cfg(feature = "rustls")]
    pub fn proxy_tls_config(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.proxy_tls = Some(tls);
        self
    }

    /// The parsed URL.
    pub fn url(&self) -> &WsUrl {
        &self.url
    }

    /// The request that will be sent.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// The core configuration.
    pub fn core_config(&self) -> &Config {
        &self.config
    }

    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The TLS configuration for `wss://`: the one set, or the default with webpki roots.
    #[cfg(feature = "rustls")]
    pub fn tls(&self) -> std::sync::Arc<rustls::ClientConfig> {
        self.tls
            .clone()
            .unwrap_or_else(crate::tls::default_client_config)
    }
}

impl ClientBuilder {
    /// How the proxy is chosen.
    pub fn get_proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The extra headers of an HTTP proxy's `CONNECT` request.
    pub fn get_proxy_headers(&self) -> &[(String, Vec<u8>)] {
        &self.proxy_headers
    }

    /// How many redirects are followed.
    pub fn get_max_redirects(&self) -> u32 {
        self.max_redirects
    }

    /// The TLS configuration for an `https://` proxy: the one set, or the default with webpki roots.
    #[cfg(feature = "rustls")]
    pub fn proxy_tls(&self) -> std::sync::Arc<rustls::ClientConfig> {
        self.proxy_tls
            .clone()
            .unwrap_or_else(crate::tls::default_client_config)
    }

    /// After the server answered the handshake with `response` on hop `hops` (0 for the first
    /// request): the builder for the next hop when `response` is a redirect to follow (same settings, the
    /// new URL, a request from [`ClientRequest::for_redirect`]: secrets dropped across origins);
    /// `Ok(None)` when it is not a redirect, or redirects are off ([`ClientBuilder::max_redirects`] 0).
    /// Fails with [`Error::Redirect`] past the limit, for `wss://` to `ws://`, or a bad `Location`.
    ///
    /// ```
    /// use ws_adapter::ClientBuilder;
    /// use ws_core::Response;
    /// let builder = ClientBuilder::new("wss://a.example/old").unwrap().header("Authorization", "x");
    /// let moved = Response::new(301, "Moved").header("Location", "wss://b.example/new");
    /// let next = builder.redirected(&moved, 0).unwrap().unwrap();
    /// assert_eq!(next.url().to_string(), "wss://b.example/new");
    /// assert!(next.request().headers.get_str("authorization").is_none());
    /// assert!(builder.redirected(&moved, 10).is_err()); // the 11th hop
    /// ```
    pub fn redirected(&self, response: &Response, hops: u32) -> Result<Option<ClientBuilder>> {
        if self.max_redirects == 0 {
            return Ok(None);
        }
        let Some(target) = redirect_target(&self.url, response) else {
            return Ok(None);
        };
        if hops >= self.max_redirects {
            return Err(Error::Redirect(ws_core::http::RedirectError::TooMany(
                self.max_redirects,
            )));
        }
        let url = target.map_err(Error::Redirect)?;
        let mut next = self.clone();
        next.request = self.request.for_redirect(&self.url, &url);
        next.url = url;
        Ok(Some(next))
    }
}

/// 32 bytes from the operating system's random source, to seed a client connection's masks and key.
pub fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // getrandom fails only when the OS has no entropy source at all; a fixed seed would make masks
    // predictable, so fall back to the clock mixed with a stack address rather than zeros.
    if getrandom::fill(&mut seed).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mix = t.as_nanos() ^ (&seed as *const _ as usize as u128);
        seed[..16].copy_from_slice(&mix.to_le_bytes());
    }
    seed
}
