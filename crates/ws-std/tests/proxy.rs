//! Connecting through proxies: fake HTTP `CONNECT` proxies (plain and over TLS) and a fake SOCKS5 proxy
//! on loopback, each counting the connections it carried.

mod common;

use std::time::{Duration, Instant};

use common::fakes::{self, Reply};
use common::{bounded, echo_server, listener};
use ws_std::{
    ClientBuilder, CloseCode, Config, Error, MaybeTlsStream, Message, Proxy, ProxyError, Tunnel,
    WebSocket,
};

/// Text, binary (small and large) and a clean close, echoed by the server at the other end.
fn echo_and_close(mut ws: WebSocket<MaybeTlsStream>) {
    ws.send("through the tunnel").unwrap();
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::from("through the tunnel")
    );
    ws.send(vec![0u8, 1, 2, 255]).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap().as_bytes(), [0, 1, 2, 255]);
    let big: Vec<u8> = (0..70_000).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap().as_bytes(), &big[..]);
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(ws.recv().is_none());
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::NORMAL));
}

fn via(url: &str, proxy: &str) -> ClientBuilder {
    ClientBuilder::new(url)
        .unwrap()
        .proxy(Proxy::url(proxy).unwrap())
}

#[test]
fn an_http_proxy_carries_text_binary_and_close() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::http_proxy(|_| Reply::Relay);
        let builder = via(
            &format!("ws://127.0.0.1:{echo}/chat"),
            &format!("http://user:pw@127.0.0.1:{}", proxy.port),
        )
        .proxy_header("X-Proxy-Test", "yes");
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        assert!(ws.get_ref().is_proxied());
        assert!(!ws.get_ref().is_tls());
        assert!(
            matches!(ws.get_ref(), MaybeTlsStream::Tunnel(t) if matches!(**t, Tunnel::Plain(_)))
        );
        assert_eq!(
            ws.get_ref().tcp().peer_addr().unwrap().port(),
            proxy.port,
            "the socket goes to the proxy"
        );
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 1);
        let head = &proxy.requests()[0];
        assert!(
            head.starts_with(&format!("CONNECT 127.0.0.1:{echo} HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(
            head.contains("Proxy-Authorization: Basic dXNlcjpwdw==\r\n"),
            "{head}"
        );
        assert!(head.contains("X-Proxy-Test: yes\r\n"), "{head}");
    });
}

#[test]
fn a_plain_tunnel_splits_into_reader_and_writer() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::http_proxy(|_| Reply::Relay);
        let builder = via(
            &format!("ws://127.0.0.1:{echo}/"),
            &format!("http://127.0.0.1:{}", proxy.port),
        );
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        let (mut reader, mut writer) = ws.split().unwrap();
        let sender = std::thread::spawn(move || {
            for i in 0..50 {
                writer.send(format!("{i}")).unwrap();
            }
            writer
        });
        for i in 0..50 {
            assert_eq!(
                reader.recv().unwrap().unwrap().as_text(),
                Some(format!("{i}").as_str())
            );
        }
        let mut writer = sender.join().unwrap();
        writer.close(CloseCode::NORMAL, "").unwrap();
        assert!(reader.recv().is_none());
        assert_eq!(proxy.connections(), 1);
    });
}

#[test]
fn wss_through_an_http_proxy_runs_tls_inside_the_tunnel() {
    bounded(30, || {
        let certs = fakes::certs();
        let echo = fakes::tls_echo_server(certs.server.clone());
        let proxy = fakes::http_proxy(|_| Reply::Relay);
        let builder = via(
            &format!("wss://localhost:{echo}/"),
            &format!("http://127.0.0.1:{}", proxy.port),
        )
        .tls_config(certs.client);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        assert!(ws.get_ref().is_tls() && ws.get_ref().is_proxied());
        assert!(matches!(ws.get_ref(), MaybeTlsStream::Tunnel(t) if matches!(**t, Tunnel::Tls(_))));
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 1);
        assert!(proxy.requests()[0].starts_with(&format!("CONNECT localhost:{echo} HTTP/1.1\r\n")));
    });
}

#[test]
fn ws_through_an_https_proxy_runs_inside_tls_to_the_proxy() {
    bounded(30, || {
        let certs = fakes::certs();
        let echo = echo_server(Config::default());
        let proxy = fakes::https_proxy(certs.server.clone(), |_| Reply::Relay);
        let builder = via(
            &format!("ws://127.0.0.1:{echo}/"),
            &format!("https://localhost:{}", proxy.port),
        )
        .proxy_tls_config(certs.client);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        let MaybeTlsStream::Tunnel(tunnel) = ws.get_ref() else {
            panic!("not a tunnel: {:?}", ws.get_ref());
        };
        assert!(tunnel.is_proxy_tls() && !tunnel.is_tls());
        assert!(matches!(**tunnel, Tunnel::ProxyTls(_)));
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 1);
    });
}

#[test]
fn a_tunnel_with_tls_does_not_split() {
    bounded(30, || {
        let certs = fakes::certs();
        let echo = echo_server(Config::default());
        let proxy = fakes::https_proxy(certs.server.clone(), |_| Reply::Relay);
        let builder = via(
            &format!("ws://127.0.0.1:{echo}/"),
            &format!("https://localhost:{}", proxy.port),
        )
        .proxy_tls_config(certs.client);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        match ws.split() {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported),
            Ok(_) => panic!("a TLS tunnel split"),
        }
    });
}

#[test]
fn wss_through_an_https_proxy_is_tls_in_tls() {
    bounded(30, || {
        let certs = fakes::certs();
        let echo = fakes::tls_echo_server(certs.server.clone());
        let proxy = fakes::https_proxy(certs.server.clone(), |_| Reply::Relay);
        let builder = via(
            &format!("wss://localhost:{echo}/"),
            &format!("https://localhost:{}", proxy.port),
        )
        .proxy_tls_config(certs.client.clone())
        .tls_config(certs.client);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        assert!(
            matches!(ws.get_ref(), MaybeTlsStream::Tunnel(t) if matches!(**t, Tunnel::TlsInTls(_)))
        );
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 1);
    });
}

#[test]
fn an_https_proxy_with_an_untrusted_certificate_fails_tls() {
    bounded(30, || {
        let certs = fakes::certs();
        let proxy = fakes::https_proxy(certs.server, |_| Reply::Relay);
        // The default proxy TLS configuration trusts the webpki roots, not the test certificate.
        let builder = via(
            "ws://127.0.0.1:9/",
            &format!("https://localhost:{}", proxy.port),
        );
        match ws_std::connect_with(&builder) {
            Err(Error::Tls(_)) => {}
            other => panic!("expected a TLS error, got {:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn socks5h_sends_the_name_and_carries_the_connection() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::socks5_proxy();
        let builder = via(
            &format!("ws://localhost:{echo}/"),
            &format!("socks5h://127.0.0.1:{}", proxy.port),
        );
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 1);
        assert_eq!(proxy.requests(), [format!("socks5 name localhost:{echo}")]);
    });
}

#[test]
fn socks5_resolves_the_name_locally() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::socks5_proxy();
        let builder = via(
            &format!("ws://localhost:{echo}/"),
            &format!("socks5://127.0.0.1:{}", proxy.port),
        );
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        echo_and_close(ws);
        let requests = proxy.requests();
        assert_eq!(requests.len(), 1);
        assert!(
            requests[0].starts_with("socks5 ipv4 ") || requests[0].starts_with("socks5 ipv6 "),
            "{requests:?}"
        );
    });
}

#[test]
fn a_socks5_refusal_is_its_reply_code() {
    bounded(30, || {
        let (gone, port) = listener();
        drop(gone);
        let proxy = fakes::socks5_proxy();
        let builder = via(
            &format!("ws://localhost:{port}/"),
            &format!("socks5h://127.0.0.1:{}", proxy.port),
        );
        match ws_std::connect_with(&builder) {
            Err(Error::Proxy(ProxyError::Socks5(5))) => {}
            other => panic!("expected SOCKS5 code 5, got {:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn a_407_is_a_proxy_status_error_with_its_headers() {
    bounded(30, || {
        let proxy = fakes::http_proxy(|_| {
            Reply::Raw(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"fake\"\r\nContent-Length: 0\r\n\r\n"
                    .to_vec(),
            )
        });
        let builder = via(
            "ws://127.0.0.1:9/",
            &format!("http://127.0.0.1:{}", proxy.port),
        );
        match ws_std::connect_with(&builder) {
            Err(Error::Proxy(ProxyError::Status(response))) => {
                assert_eq!(response.status, 407);
                assert_eq!(
                    response.headers.get_str("proxy-authenticate"),
                    Some("Basic realm=\"fake\"")
                );
            }
            other => panic!("expected a 407, got {:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn bytes_after_the_proxy_reply_are_read_first() {
    bounded(30, || {
        // The proxy's 200 and a server's rejection arrive in one write: the rejection must reach the
        // WebSocket handshake.
        let proxy = fakes::http_proxy(|_| {
            Reply::Extra(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
                    .to_vec(),
            )
        });
        let builder = via(
            "ws://127.0.0.1:9/",
            &format!("http://127.0.0.1:{}", proxy.port),
        );
        match ws_std::connect_with(&builder) {
            Err(Error::Rejected(response)) => {
                assert_eq!(response.status, 403);
                assert_eq!(&response.body[..], b"nope");
            }
            other => panic!("expected a 403, got {:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn a_redirect_right_after_the_proxy_reply_is_followed_through_the_proxy() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let location = format!("ws://127.0.0.1:{echo}/moved");
        let proxy = fakes::http_proxy(move |i| match i {
            0 => Reply::Extra(fakes::redirect(302, &location).into_bytes()),
            _ => Reply::Relay,
        });
        let builder = via(
            "ws://127.0.0.1:9/old",
            &format!("http://127.0.0.1:{}", proxy.port),
        );
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 2);
        assert!(proxy.requests()[1].starts_with(&format!("CONNECT 127.0.0.1:{echo} ")));
    });
}

#[test]
fn a_silent_proxy_is_a_connect_timeout() {
    bounded(30, || {
        let proxy = fakes::http_proxy(|_| Reply::Silent);
        let builder = via(
            "ws://127.0.0.1:9/",
            &format!("http://127.0.0.1:{}", proxy.port),
        )
        .connect_timeout(Some(Duration::from_millis(300)));
        let start = Instant::now();
        match ws_std::connect_with(&builder) {
            Err(Error::ConnectTimeout) => {}
            other => panic!("expected a connect timeout, got {:?}", other.map(|_| ())),
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
    });
}

#[test]
fn a_silent_https_proxy_is_a_connect_timeout() {
    bounded(30, || {
        let certs = fakes::certs();
        let proxy = fakes::https_proxy(certs.server, |_| Reply::Silent);
        let builder = via(
            "wss://localhost:9/",
            &format!("https://localhost:{}", proxy.port),
        )
        .proxy_tls_config(certs.client)
        .connect_timeout(Some(Duration::from_millis(300)));
        match ws_std::connect_with(&builder) {
            Err(Error::ConnectTimeout) => {}
            other => panic!("expected a connect timeout, got {:?}", other.map(|_| ())),
        }
        assert_eq!(proxy.requests().len(), 1, "the CONNECT went over TLS");
    });
}

#[test]
fn a_proxy_closing_during_connect_is_closed() {
    bounded(30, || {
        let proxy = fakes::http_proxy(|_| Reply::Close);
        let builder = via(
            "ws://127.0.0.1:9/",
            &format!("http://127.0.0.1:{}", proxy.port),
        );
        match ws_std::connect_with(&builder) {
            Err(Error::Proxy(ProxyError::Closed)) => {}
            other => panic!("expected Closed, got {:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn an_unreachable_proxy_is_proxy_connect() {
    bounded(30, || {
        let (gone, port) = listener();
        drop(gone);
        let builder = via("ws://127.0.0.1:9/", &format!("http://127.0.0.1:{port}"));
        match ws_std::connect_with(&builder) {
            Err(Error::ProxyConnect(_)) => {}
            other => panic!("expected ProxyConnect, got {:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn no_proxy_hosts_go_direct() {
    bounded(30, || {
        let echo = echo_server(Config::default());
        let proxy = fakes::http_proxy(|_| Reply::Relay);
        let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
        let env = Proxy::from_lookup(move |name| match name {
            "http_proxy" => Some(proxy_url.clone()),
            "no_proxy" => Some("127.0.0.1".to_string()),
            _ => None,
        });
        let builder = ClientBuilder::new(&format!("ws://127.0.0.1:{echo}/"))
            .unwrap()
            .proxy(env);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        assert!(matches!(ws.get_ref(), MaybeTlsStream::Plain(_)));
        echo_and_close(ws);
        assert_eq!(proxy.connections(), 0);
    });
}
