//! Which proxy a client connects through, chosen once per connection attempt (and again on every
//! redirect hop). The handshakes themselves are `ws_core::proxy`'s; the adapters only move their bytes.

use std::fmt;
use std::sync::Arc;

use ws_core::http::WsUrl;
use ws_core::proxy::{ProxyEnv, ProxyUrl};

use crate::error::{Error, Result};

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;
type Choose = dyn Fn(&WsUrl) -> Option<ProxyUrl> + Send + Sync;

/// How a client picks the proxy for a URL. The default is [`Proxy::Env`], as with curl and Python's
/// `websockets`.
///
/// - [`Proxy::Env`]: the process environment, read at each connect: `WSS_PROXY`, `HTTPS_PROXY`,
///   `ALL_PROXY` for `wss://`; `WS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` for `ws://` (lower case first,
///   then upper case); hosts in `NO_PROXY` go direct (curl's rules: domains and their subdomains, `*`,
///   IP addresses, CIDR ranges, `host:port`). Set `NO_PROXY=localhost,127.0.0.1` to keep loopback
///   connections off a proxy, as with curl.
/// - [`Proxy::None`]: always direct.
/// - [`Proxy::url`]: always this proxy (`http://`, `https://`, `socks5://`, `socks5h://`, `socks4://`,
///   `socks4a://`; credentials as `http://user:password@host:port`).
/// - [`Proxy::from_lookup`]: an environment given as a function (configuration from elsewhere, tests).
/// - [`Proxy::custom`]: a function from the target URL to a proxy or `None`.
///
/// The tunnel is always opened with `CONNECT` (or SOCKS), for `ws://` too; `wss://` then runs TLS to the
/// server inside it, and an `https://` proxy is reached over TLS first (TLS inside TLS for `wss://`).
///
/// ```
/// use ws_adapter::{ClientBuilder, Proxy};
/// let builder = ClientBuilder::new("wss://echo.example/")
///     .unwrap()
///     .proxy(Proxy::url("http://user:pw@proxy.corp:3128").unwrap());
/// let proxy = builder.get_proxy().select(builder.url()).unwrap().unwrap();
/// assert_eq!(proxy.to_string(), "http://user:***@proxy.corp:3128");
///
/// let env = Proxy::from_lookup(|name| (name == "no_proxy").then(|| "echo.example".to_string()));
/// assert!(env.select(builder.url()).unwrap().is_none());
/// ```
#[derive(Clone, Default)]
pub enum Proxy {
    /// The process environment (the default).
    #[default]
    Env,
    /// No proxy.
    None,
    /// This proxy for every URL.
    Url(ProxyUrl),
    /// An environment read through a function.
    Lookup(Arc<Lookup>),
    /// A function choosing the proxy per URL.
    Custom(Arc<Choose>),
}

impl Proxy {
    /// Always `url` (fails if it is not a proxy URL this library can use).
    pub fn url(url: &str) -> Result<Proxy> {
        ProxyUrl::parse(url).map(Proxy::Url).map_err(Error::Proxy)
    }

    /// The environment variables as `lookup` returns them (e.g. from a configuration file).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Proxy {
        Proxy::Lookup(Arc::new(lookup))
    }

    /// The proxy `choose` returns for each URL (`None`: direct).
    pub fn custom(choose: impl Fn(&WsUrl) -> Option<ProxyUrl> + Send + Sync + 'static) -> Proxy {
        Proxy::Custom(Arc::new(choose))
    }

    /// The proxy for `url` (`None`: connect directly). Fails when the environment names an invalid
    /// proxy URL for it.
    pub fn select(&self, url: &WsUrl) -> Result<Option<ProxyUrl>> {
        let from_env = |env: ProxyEnv| env.select(url).map_err(Error::Proxy);
        match self {
            Proxy::Env => from_env(ProxyEnv::from_lookup(|name| std::env::var(name).ok())),
            Proxy::None => Ok(None),
            Proxy::Url(proxy) => Ok(Some(proxy.clone())),
            Proxy::Lookup(lookup) => from_env(ProxyEnv::from_lookup(|name| lookup(name))),
            Proxy::Custom(choose) => Ok(choose(url)),
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::Env => f.write_str("Env"),
            Proxy::None => f.write_str("None"),
            Proxy::Url(url) => f.debug_tuple("Url").field(url).finish(),
            Proxy::Lookup(_) => f.write_str("Lookup(..)"),
            Proxy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> WsUrl {
        WsUrl::parse(s).unwrap()
    }

    #[test]
    fn each_choice_selects_as_documented() {
        let target = url("ws://chat.example:8080/");
        assert!(Proxy::None.select(&target).unwrap().is_none());
        let fixed = Proxy::url("socks5h://gw:1080").unwrap();
        assert_eq!(
            fixed.select(&target).unwrap().unwrap().to_string(),
            "socks5h://gw:1080"
        );
        let env = Proxy::from_lookup(|name| match name {
            "HTTP_PROXY" => Some("http://p:3128".into()),
            "NO_PROXY" => Some("internal.example".into()),
            _ => None,
        });
        assert_eq!(
            env.select(&target).unwrap().unwrap().to_string(),
            "http://p:3128"
        );
        assert!(
            env.select(&url("ws://a.internal.example/"))
                .unwrap()
                .is_none()
        );
        assert!(env.select(&url("wss://chat.example/")).unwrap().is_none());
        let custom = Proxy::custom(|u| {
            (u.port == 8080).then(|| ProxyUrl::parse("http://only-8080:1").unwrap())
        });
        assert!(custom.select(&target).unwrap().is_some());
        assert!(custom.select(&url("ws://chat.example/")).unwrap().is_none());
    }

    #[test]
    fn a_bad_proxy_url_is_an_error_that_hides_the_password() {
        let e = Proxy::url("ftp://u:secret@p").unwrap_err();
        assert!(matches!(e, Error::Proxy(_)));
        assert!(!e.to_string().contains("secret"), "{e}");
        let env = Proxy::from_lookup(|name| (name == "wss_proxy").then(|| "gopher://x".into()));
        assert!(env.select(&url("wss://a.example/")).is_err());
    }
}
