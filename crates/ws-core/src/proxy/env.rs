//! Choosing a proxy from the environment, read through a lookup function so that callers (and tests)
//! decide where the variables come from.

use alloc::string::String;

use super::{NoProxy, ProxyError, ProxyUrl};
use crate::http::WsUrl;

/// The proxy settings of an environment, read once: which proxy `ws://` and `wss://` URLs go through, and
/// which hosts go direct.
///
/// - `wss://`: `WSS_PROXY`, then `HTTPS_PROXY`, then `ALL_PROXY`;
/// - `ws://`: `WS_PROXY`, then `HTTP_PROXY`, then `ALL_PROXY`;
/// - `NO_PROXY`: hosts reached directly (see [`NoProxy`]).
///
/// Each name is looked up in lower case first, then in upper case; an empty value counts as unset. The
/// tunnel is always opened with `CONNECT` (or SOCKS), for `ws://` too.
///
/// ```
/// use ws_core::http::WsUrl;
/// use ws_core::proxy::ProxyEnv;
/// let env = ProxyEnv::from_lookup(|name| match name {
///     "HTTPS_PROXY" => Some("http://proxy.corp:3128".into()),
///     "no_proxy" => Some("localhost,.internal".into()),
///     _ => None,
/// });
/// let via = |url| env.select(&WsUrl::parse(url).unwrap()).unwrap().map(|p| p.to_string());
/// assert_eq!(via("wss://echo.example/").as_deref(), Some("http://proxy.corp:3128"));
/// assert_eq!(via("wss://chat.internal/"), None);
/// assert_eq!(via("ws://echo.example/"), None); // no WS_PROXY, HTTP_PROXY or ALL_PROXY
/// ```
#[derive(Clone, Debug, Default)]
pub struct ProxyEnv {
    ws: Option<String>,
    wss: Option<String>,
    no_proxy: NoProxy,
}

impl ProxyEnv {
    /// Reads the variables through `lookup` (e.g. `|name| std::env::var(name).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: &[&str]| {
            names.iter().find_map(|name| {
                [name.to_ascii_lowercase(), name.to_ascii_uppercase()]
                    .iter()
                    .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
            })
        };
        ProxyEnv {
            ws: first(&["ws_proxy", "http_proxy", "all_proxy"]),
            wss: first(&["wss_proxy", "https_proxy", "all_proxy"]),
            no_proxy: first(&["no_proxy"]).map_or_else(NoProxy::default, |v| NoProxy::parse(&v)),
        }
    }

    /// The proxy for `url`: `None` to connect directly (no proxy set for its scheme, or `NO_PROXY`
    /// names it). Fails when the variable that applies holds an invalid proxy URL.
    pub fn select(&self, url: &WsUrl) -> Result<Option<ProxyUrl>, ProxyError> {
        let Some(proxy) = (if url.secure { &self.wss } else { &self.ws }) else {
            return Ok(None);
        };
        if self.no_proxy.matches(&url.host, url.port) {
            return Ok(None);
        }
        ProxyUrl::parse(proxy).map(Some)
    }
}

/// The proxy for `url` per the environment `lookup` reads (see [`ProxyEnv`]).
pub fn select_from_env(
    url: &WsUrl,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<ProxyUrl>, ProxyError> {
    ProxyEnv::from_lookup(lookup).select(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn env(vars: &'static [(&'static str, &'static str)]) -> ProxyEnv {
        ProxyEnv::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn via(env: &ProxyEnv, url: &str) -> Option<String> {
        env.select(&WsUrl::parse(url).unwrap())
            .unwrap()
            .map(|p| p.to_string())
    }

    #[test]
    fn the_most_specific_variable_wins_and_lower_case_first() {
        let e = env(&[
            ("WSS_PROXY", "http://wss:1"),
            ("https_proxy", "http://https:1"),
            ("ALL_PROXY", "socks5h://all:1"),
            ("ws_proxy", "http://ws-lower:1"),
            ("WS_PROXY", "http://ws-upper:1"),
        ]);
        assert_eq!(via(&e, "wss://h/").as_deref(), Some("http://wss:1"));
        assert_eq!(via(&e, "ws://h/").as_deref(), Some("http://ws-lower:1"));
        let e = env(&[("HTTP_PROXY", ""), ("ALL_PROXY", "socks5h://all:1")]);
        assert_eq!(
            via(&e, "ws://h/").as_deref(),
            Some("socks5h://all:1"),
            "empty is unset"
        );
        assert_eq!(via(&e, "wss://h/").as_deref(), Some("socks5h://all:1"));
        assert_eq!(via(&env(&[]), "wss://h/"), None);
    }

    #[test]
    fn no_proxy_and_bad_urls() {
        let e = env(&[
            ("ALL_PROXY", "http://p:1"),
            ("NO_PROXY", "h.example:443,127.0.0.0/8"),
        ]);
        assert_eq!(via(&e, "wss://h.example/"), None);
        assert!(
            via(&e, "ws://h.example/").is_some(),
            "port 80 is not excluded"
        );
        assert_eq!(via(&e, "ws://127.0.0.1:9000/"), None);
        let e = env(&[("HTTPS_PROXY", "gopher://p")]);
        assert!(matches!(
            e.select(&WsUrl::parse("wss://h/").unwrap()),
            Err(ProxyError::InvalidUrl(_))
        ));
        assert_eq!(
            via(&e, "ws://h/"),
            None,
            "only the variable that applies is read"
        );
    }
}
