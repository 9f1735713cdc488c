//! What a client connects with: URL, request headers, core configuration, timeouts and TLS.

use std::time::Duration;

use ws_core::{ClientRequest, Config, Limits, Timeouts, WsUrl};

use crate::error::Result;

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
    #[cfg(feature = "rustls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
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
            #[cfg(feature = "rustls")]
            tls: None,
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

    /// Sets the TCP (and TLS) connect timeout; `None` waits as long as the OS does. Default 10 s.
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
