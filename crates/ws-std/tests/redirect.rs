//! Following redirects of the opening handshake: a fake server answers the upgrade with a 3xx and a
//! `Location`, the client connects again to where it points.

mod common;

use common::fakes::{self, Reply};
use common::{bounded, echo_server};
use ws_std::{
    ClientBuilder, CloseCode, Config, Error, Message, Proxy, ProxyUrl, RedirectError, WebSocket,
};

fn direct(url: &str) -> ClientBuilder {
    ClientBuilder::new(url).unwrap().proxy(Proxy::None)
}

fn echo_once<S: ws_std::DeadlineStream>(mut ws: WebSocket<S>) {
    ws.send("after the redirect").unwrap();
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::from("after the redirect")
    );
    ws.send(vec![9u8, 8, 7]).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap().as_bytes(), [9, 8, 7]);
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(ws.recv().is_none());
}

#[test]
fn each_redirect_status_is_followed_to_an_absolute_location() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        for status in [301, 302, 303, 307, 308] {
            let location = format!("ws://127.0.0.1:{echo}/final");
            let (port, paths) =
                fakes::redirector(None, move |_| fakes::redirect(status, &location));
            let (ws, _) =
                ws_std::connect_with(&direct(&format!("ws://127.0.0.1:{port}/start"))).unwrap();
            echo_once(ws);
            assert_eq!(*paths.lock().unwrap(), ["/start"], "status {status}");
        }
    });
}

#[test]
fn a_relative_location_is_resolved_against_the_current_url() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let (port, paths) = fakes::redirector(None, move |path| match path {
            "/a/start" => fakes::redirect(302, "next?x=1"),
            "/a/next?x=1" => fakes::redirect(307, "/b"),
            _ => fakes::redirect(308, &format!("http://127.0.0.1:{echo}/end")),
        });
        let (ws, _) =
            ws_std::connect_with(&direct(&format!("ws://127.0.0.1:{port}/a/start"))).unwrap();
        echo_once(ws);
        assert_eq!(*paths.lock().unwrap(), ["/a/start", "/a/next?x=1", "/b"]);
    });
}

#[test]
fn a_redirect_loop_is_too_many() {
    bounded(30, || {
        let (port, paths) = fakes::redirector(None, |_| fakes::redirect(302, "/again"));
        let builder = direct(&format!("ws://127.0.0.1:{port}/")).max_redirects(3);
        match ws_std::connect_with(&builder) {
            Err(Error::Redirect(RedirectError::TooMany(3))) => {}
            other => panic!("expected TooMany(3), got {:?}", other.map(|_| ())),
        }
        assert_eq!(
            paths.lock().unwrap().len(),
            4,
            "the first request and 3 hops"
        );
    });
}

#[test]
fn with_max_redirects_0_the_redirect_is_the_rejection() {
    bounded(30, || {
        let (port, paths) = fakes::redirector(None, |_| fakes::redirect(301, "/elsewhere"));
        let builder = direct(&format!("ws://127.0.0.1:{port}/")).max_redirects(0);
        match ws_std::connect_with(&builder) {
            Err(Error::Rejected(response)) => {
                assert_eq!(response.status, 301);
                assert_eq!(response.headers.get_str("location"), Some("/elsewhere"));
            }
            other => panic!("expected the 301, got {:?}", other.map(|_| ())),
        }
        assert_eq!(paths.lock().unwrap().len(), 1);
    });
}

#[test]
fn a_rejection_that_is_not_a_redirect_is_returned() {
    bounded(30, || {
        let (port, _) = fakes::redirector(None, |_| {
            "HTTP/1.1 404 Not Found\r\nLocation: /ignored\r\nContent-Length: 0\r\n\r\n".to_string()
        });
        match ws_std::connect_with(&direct(&format!("ws://127.0.0.1:{port}/"))) {
            Err(e) => assert_eq!(e.rejected_status(), Some(404), "{e}"),
            Ok(_) => panic!("a 404 opened the connection"),
        }
    });
}

#[test]
fn wss_to_ws_is_refused() {
    bounded(30, || {
        let certs = fakes::certs();
        let echo = echo_server(Config::default());
        let (port, paths) = fakes::redirector(Some(certs.server), move |_| {
            fakes::redirect(302, &format!("ws://127.0.0.1:{echo}/"))
        });
        let builder = direct(&format!("wss://localhost:{port}/")).tls_config(certs.client);
        match ws_std::connect_with(&builder) {
            Err(Error::Redirect(RedirectError::Insecure)) => {}
            other => panic!("expected Insecure, got {:?}", other.map(|_| ())),
        }
        assert_eq!(paths.lock().unwrap().len(), 1);
    });
}

#[test]
fn wss_to_wss_is_followed() {
    bounded(30, || {
        let certs = fakes::certs();
        let echo = fakes::tls_echo_server(certs.server.clone());
        let (port, _) = fakes::redirector(Some(certs.server), move |_| {
            fakes::redirect(308, &format!("wss://localhost:{echo}/"))
        });
        let builder = direct(&format!("wss://localhost:{port}/")).tls_config(certs.client);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        assert!(ws.get_ref().is_tls());
        echo_once(ws);
    });
}

#[test]
fn each_hop_chooses_its_proxy() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::http_proxy(|_| Reply::Relay);
        let (port, paths) = fakes::redirector(None, move |_| {
            fakes::redirect(302, &format!("ws://127.0.0.1:{echo}/"))
        });
        // Only the redirect's target goes through the proxy.
        let proxy_url = ProxyUrl::parse(&format!("http://127.0.0.1:{}", proxy.port)).unwrap();
        let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
            .unwrap()
            .proxy(Proxy::custom(move |url| {
                (url.port == echo).then(|| proxy_url.clone())
            }));
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        assert!(ws.get_ref().is_proxied());
        echo_once(ws);
        assert_eq!(paths.lock().unwrap().len(), 1);
        assert_eq!(proxy.connections(), 1);
        assert!(proxy.requests()[0].starts_with(&format!("CONNECT 127.0.0.1:{echo} ")));
    });
}

#[test]
fn every_hop_goes_through_the_same_proxy() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::http_proxy(|_| Reply::Relay);
        let (port, _) = fakes::redirector(None, move |_| {
            fakes::redirect(301, &format!("ws://127.0.0.1:{echo}/"))
        });
        let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{port}/"))
            .unwrap()
            .proxy(Proxy::url(&format!("http://127.0.0.1:{}", proxy.port)).unwrap());
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        echo_once(ws);
        let requests = proxy.requests();
        assert_eq!(proxy.connections(), 2);
        assert!(requests[0].starts_with(&format!("CONNECT 127.0.0.1:{port} ")));
        assert!(requests[1].starts_with(&format!("CONNECT 127.0.0.1:{echo} ")));
    });
}
