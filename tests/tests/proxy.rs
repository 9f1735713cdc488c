//! The client's proxy support against real proxies (tinyproxy, squid, microsocks, dante, stunnel in front
//! of tinyproxy), each started by the test on a free loopback port (see `ws_tests::proxies`), and against
//! a scripted fake proxy for the failures real proxies do not produce on demand.
//!
//! The `harness_*` tests check the proxies themselves with raw TCP (so that a failure of the client tests
//! is not a proxy that did not start or was configured wrong).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ws_async::{Accept, ClientBuilder, CloseCode, Error, Message, Proxy, Request};
use ws_core::proxy::ProxyError;
use ws_tests::proxies::{self, FakeProxy, Script};
use ws_tests::{
    AsyncStd, Certs, Rt, STEP, Smol, Tokio, WHOLE_TEST, plain_config, run, t, watchdog, within,
};

/// How long a proxy may take to write a line about a connection to its log.
const LOG_BOUND: Duration = Duration::from_secs(5);

// ----------------------------------------------------------------------------------------------------
// Raw checks of the harness
// ----------------------------------------------------------------------------------------------------

/// A plain TCP target on loopback that accepts one connection and returns what it read first.
fn raw_target() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(STEP)).unwrap();
        let mut buf = vec![0u8; 64];
        let n = tcp.read(&mut buf).unwrap();
        buf.truncate(n);
        buf
    });
    (port, handle)
}

fn raw_connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, STEP).unwrap();
    tcp.set_read_timeout(Some(STEP)).unwrap();
    tcp.set_write_timeout(Some(STEP)).unwrap();
    tcp
}

/// Reads an HTTP reply head (up to the empty line).
fn read_reply_head(tcp: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tcp.read(&mut byte).expect("read the reply head");
        assert!(
            n > 0,
            "closed mid-head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn connect_request(port: u16, auth: Option<&str>) -> String {
    let mut req = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some(token) = auth {
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    req
}

#[test]
fn harness_tinyproxy_opens_a_connect_tunnel() {
    watchdog(WHOLE_TEST, || {
        let proxy = proxies::tinyproxy();
        assert_eq!(proxy.url(), format!("http://127.0.0.1:{}", proxy.port()));
        let (port, target) = raw_target();
        let mut tcp = raw_connect(proxy.addr());
        tcp.write_all(connect_request(port, None).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        tcp.write_all(b"through").unwrap();
        assert_eq!(target.join().unwrap(), b"through");
        assert!(
            proxy.log_shows(&format!("CONNECT 127.0.0.1:{port} "), LOG_BOUND),
            "{}",
            proxy.log()
        );
    });
}

#[test]
fn harness_tinyproxy_basic_auth_answers_407_without_credentials() {
    watchdog(WHOLE_TEST, || {
        let proxy = proxies::tinyproxy_basic_auth("user", "pass");
        assert_eq!(
            proxy.url(),
            format!("http://user:pass@127.0.0.1:{}", proxy.port())
        );
        let (port, target) = raw_target();
        let mut tcp = raw_connect(proxy.addr());
        tcp.write_all(connect_request(port, None).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.0 407"), "{head}");
        assert!(head.contains("Proxy-Authenticate: Basic"), "{head}");
        // base64("user:pass")
        let mut tcp = raw_connect(proxy.addr());
        tcp.write_all(connect_request(port, Some("dXNlcjpwYXNz")).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        tcp.write_all(b"authed").unwrap();
        assert_eq!(target.join().unwrap(), b"authed");
    });
}

#[test]
fn harness_squid_allows_connect_only_to_listed_ports() {
    watchdog(WHOLE_TEST, || {
        let (port, target) = raw_target();
        let other = proxies::closed_port();
        let proxy = proxies::squid_allowing_connect_to(&[port]);
        let mut tcp = raw_connect(proxy.addr());
        tcp.write_all(connect_request(other, None).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        let mut tcp = raw_connect(proxy.addr());
        tcp.write_all(connect_request(port, None).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        tcp.write_all(b"squid").unwrap();
        assert_eq!(target.join().unwrap(), b"squid");
        drop(tcp);
        assert!(
            proxy.log_shows(&format!("CONNECT 127.0.0.1:{port} "), LOG_BOUND),
            "{}",
            proxy.log()
        );
    });
}

/// The SOCKS5 CONNECT request for `127.0.0.1:port` (IPv4 address type).
fn socks5_connect(port: u16) -> Vec<u8> {
    let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&port.to_be_bytes());
    req
}

#[test]
fn harness_microsocks_speaks_socks5() {
    watchdog(WHOLE_TEST, || {
        let proxy = proxies::microsocks();
        assert_eq!(proxy.url(), format!("socks5h://127.0.0.1:{}", proxy.port()));
        let (port, target) = raw_target();
        let mut tcp = raw_connect(proxy.addr());
        tcp.write_all(&[5, 1, 0]).unwrap();
        let mut choice = [0u8; 2];
        tcp.read_exact(&mut choice).unwrap();
        assert_eq!(choice, [5, 0]);
        tcp.write_all(&socks5_connect(port)).unwrap();
        let mut reply = [0u8; 10];
        tcp.read_exact(&mut reply).unwrap();
        assert_eq!(reply[..2], [5, 0], "{reply:?}");
        tcp.write_all(b"socks5").unwrap();
        assert_eq!(target.join().unwrap(), b"socks5");

        let authed = proxies::microsocks_auth("u", "p");
        assert_eq!(
            authed.url(),
            format!("socks5h://u:p@127.0.0.1:{}", authed.port())
        );
        let mut tcp = raw_connect(authed.addr());
        tcp.write_all(&[5, 2, 0, 2]).unwrap();
        tcp.read_exact(&mut choice).unwrap();
        assert_eq!(choice, [5, 2], "username/password chosen");
        tcp.write_all(&[1, 1, b'u', 1, b'x']).unwrap();
        let mut verdict = [0u8; 2];
        tcp.read_exact(&mut verdict).unwrap();
        assert_ne!(verdict[1], 0, "wrong password accepted");
    });
}

#[test]
fn harness_dante_speaks_socks4_not_socks4a() {
    watchdog(WHOLE_TEST, || {
        let proxy = proxies::dante_socks4();
        assert_eq!(proxy.url(), format!("socks4://127.0.0.1:{}", proxy.port()));
        let (port, target) = raw_target();
        let mut tcp = raw_connect(proxy.addr());
        let mut req = vec![4, 1];
        req.extend_from_slice(&port.to_be_bytes());
        req.extend_from_slice(&[127, 0, 0, 1, 0]);
        tcp.write_all(&req).unwrap();
        let mut reply = [0u8; 8];
        tcp.read_exact(&mut reply).unwrap();
        assert_eq!(reply[..2], [0, 0x5A], "{reply:?}");
        tcp.write_all(b"socks4").unwrap();
        assert_eq!(target.join().unwrap(), b"socks4");

        // SOCKS4a (0.0.0.1 and a name after the user id): dante rejects it.
        let mut tcp = raw_connect(proxy.addr());
        let mut req = vec![4, 1];
        req.extend_from_slice(&port.to_be_bytes());
        req.extend_from_slice(&[0, 0, 0, 1, 0]);
        req.extend_from_slice(b"localhost\0");
        tcp.write_all(&req).unwrap();
        tcp.read_exact(&mut reply).unwrap();
        assert_eq!(reply[..2], [0, 0x5B], "{reply:?}");
    });
}

#[test]
fn harness_stunnel_wraps_tinyproxy_in_tls() {
    watchdog(WHOLE_TEST, || {
        let inner = proxies::tinyproxy();
        let proxy = proxies::stunnel_in_front_of(&inner);
        assert_eq!(proxy.url(), format!("https://localhost:{}", proxy.port()));
        assert!(proxy.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let (port, target) = raw_target();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(proxy.tls_client_config(), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, raw_connect(proxy.addr()));
        tls.write_all(connect_request(port, None).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tls);
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        tls.write_all(b"tls").unwrap();
        tls.flush().unwrap();
        assert_eq!(target.join().unwrap(), b"tls");
        assert!(
            inner.log_shows(&format!("CONNECT 127.0.0.1:{port} "), LOG_BOUND),
            "{}",
            inner.log()
        );
    });
}

#[test]
fn harness_fake_proxy_follows_its_script() {
    watchdog(WHOLE_TEST, || {
        let cases: [(Script, &[u8]); 3] = [
            (Script::MalformedHead, b"SSH-2.0"),
            (Script::Status999, b"HTTP/1.1 999 Strange\r\n"),
            (Script::CloseMidReply, b"HTTP/1.1 200 Conn"),
        ];
        for (script, starts) in cases {
            let fake = FakeProxy::start(script.clone());
            let mut tcp = raw_connect(fake.addr());
            tcp.write_all(connect_request(1, None).as_bytes()).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while !got.starts_with(starts) {
                let n = tcp.read(&mut buf).unwrap();
                assert!(n > 0, "{script:?}: {:?}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(fake.heads().len(), 1, "{script:?}");
        }

        let fake = FakeProxy::start(Script::CloseAfterRequest);
        let mut tcp = raw_connect(fake.addr());
        tcp.write_all(connect_request(1, None).as_bytes()).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(tcp.read(&mut buf).unwrap_or(0), 0);

        let fake = FakeProxy::start(Script::Silence);
        let mut tcp = raw_connect(fake.addr());
        tcp.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        tcp.write_all(connect_request(1, None).as_bytes()).unwrap();
        let err = tcp.read(&mut buf).expect_err("silence");
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{err:?}"
        );

        let fake = FakeProxy::start(Script::Tunnel);
        let (port, target) = raw_target();
        let mut tcp = raw_connect(fake.addr());
        tcp.write_all(connect_request(port, None).as_bytes())
            .unwrap();
        let head = read_reply_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        tcp.write_all(b"relayed").unwrap();
        assert_eq!(target.join().unwrap(), b"relayed");
        assert!(fake.heads()[0].starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")));
    });
}

// ----------------------------------------------------------------------------------------------------
// WebSocket echo servers (blocking, one thread per connection)
// ----------------------------------------------------------------------------------------------------

/// An echo server on a loopback port, for any number of connections; it counts the connections it
/// accepted.
struct EchoServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl EchoServer {
    /// `ws://` on 127.0.0.1.
    fn plain() -> EchoServer {
        EchoServer::start("127.0.0.1:0", None)
    }

    /// `wss://` on 127.0.0.1 with `certs` (for `localhost`).
    fn tls(certs: &Certs) -> EchoServer {
        EchoServer::start("127.0.0.1:0", Some(certs.server_config()))
    }

    /// `ws://` on `[::1]`.
    fn ipv6() -> EchoServer {
        EchoServer::start("[::1]:0", None)
    }

    fn start(bind: &str, tls: Option<Arc<rustls::ServerConfig>>) -> EchoServer {
        let listener = TcpListener::bind(bind).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let decide = |_: Request| Ok(Accept::new());
                    match tls {
                        Some(tls) => {
                            if let Ok(ws) = ws_std::accept_tls(tcp, tls, plain_config(), decide) {
                                echo_until_closed(ws);
                            }
                        }
                        None => {
                            if let Ok(ws) = ws_std::accept_with(tcp, plain_config(), decide) {
                                echo_until_closed(ws);
                            }
                        }
                    }
                });
            }
        });
        EchoServer { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/echo", self.port)
    }

    fn wss_url(&self) -> String {
        format!("wss://localhost:{}/echo", self.port)
    }
}

fn echo_until_closed<S: ws_std::DeadlineStream>(mut ws: ws_std::WebSocket<S>) {
    while let Some(Ok(m)) = ws.recv() {
        if ws.send(m).is_err() {
            break;
        }
    }
}

// ----------------------------------------------------------------------------------------------------
// Clients: the exchange every working case runs, and the error of every failing one
// ----------------------------------------------------------------------------------------------------

const CLOSE_CODE: u16 = 4001;

fn blob() -> Vec<u8> {
    ws_tests::noise(100 << 10, 20)
}

/// Connects on runtime `R` and runs the exchange: a text and 100 KiB of binary echoed, then a clean
/// close (the server's close frame echoes ours).
fn echo_via<R: Rt>(builder: ClientBuilder) {
    run::<R, _>(move || async move {
        let (mut ws, _) = t!(R::connect_with(&builder))
            .unwrap_or_else(|e| panic!("[{}] connect through the proxy: {e} ({e:?})", R::NAME));
        exchange::<R, _, _>(&mut ws, R::NAME).await;
    });
}

/// The same with ws-hyper's client (hyper's HTTP/1.1 client on tokio).
fn echo_via_hyper(builder: ClientBuilder) {
    run::<Tokio, _>(move || async move {
        let (mut ws, _) = within::<Tokio, _>("connect", ws_hyper::tokio::connect(&builder))
            .await
            .unwrap_or_else(|e| panic!("[hyper] connect through the proxy: {e} ({e:?})"));
        exchange::<Tokio, _, _>(&mut ws, "hyper").await;
    });
}

async fn exchange<R: Rt, T, M>(ws: &mut ws_async::WebSocket<T, M>, name: &str)
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    M: ws_async::Timer,
{
    t!(ws.send("through the proxy")).unwrap();
    let m = t!(ws.recv()).expect("ended").expect("recv");
    assert_eq!(m, Message::from("through the proxy"), "[{name}]");
    t!(ws.send(blob())).unwrap();
    let m = t!(ws.recv()).expect("ended").expect("recv");
    assert!(m == Message::from(blob()), "[{name}] binary echo differs");
    t!(ws.close(CloseCode(CLOSE_CODE), "proxied bye")).unwrap();
    let close = ws
        .close_frame()
        .map(|f| (f.code.0, f.reason.as_str().to_string()));
    assert_eq!(
        close,
        Some((CLOSE_CODE, "proxied bye".to_string())),
        "[{name}]"
    );
}

/// The same with the blocking client (ws-std).
fn echo_via_std(builder: ClientBuilder) {
    watchdog(WHOLE_TEST, move || {
        let (mut ws, _) = ws_std::connect_with(&builder)
            .unwrap_or_else(|e| panic!("[std] connect through the proxy: {e} ({e:?})"));
        ws.send("through the proxy").unwrap();
        assert_eq!(
            ws.recv().unwrap().unwrap(),
            Message::from("through the proxy")
        );
        ws.send(blob()).unwrap();
        assert!(
            ws.recv().unwrap().unwrap() == Message::from(blob()),
            "[std] binary echo differs"
        );
        ws.close(CloseCode(CLOSE_CODE), "proxied bye").unwrap();
        let close = ws
            .close_frame()
            .map(|f| (f.code.0, f.reason.as_str().to_string()));
        assert_eq!(
            close,
            Some((CLOSE_CODE, "proxied bye".to_string())),
            "[std]"
        );
    });
}

/// Connects on tokio and returns the error (fails if the connection opens).
fn error_via_tokio(builder: ClientBuilder) -> Error {
    error_via::<Tokio>(builder)
}

/// Connects on runtime `R` and returns the error (fails if the connection opens).
fn error_via<R: Rt>(builder: ClientBuilder) -> Error {
    watchdog(WHOLE_TEST, move || {
        R::block_on(async move {
            match within::<R, _>("connect", R::connect_with(&builder)).await {
                Ok(_) => panic!("[{}] connected, but an error was expected", R::NAME),
                Err(e) => e,
            }
        })
    })
}

/// The same with ws-hyper's client.
fn error_via_hyper(builder: ClientBuilder) -> Error {
    watchdog(WHOLE_TEST, move || {
        Tokio::block_on(async move {
            match within::<Tokio, _>("connect", ws_hyper::tokio::connect(&builder)).await {
                Ok(_) => panic!("[hyper] connected, but an error was expected"),
                Err(ws_hyper::ClientError::WebSocket(e)) => e,
                Err(e) => panic!("[hyper] not a WebSocket error: {e} ({e:?})"),
            }
        })
    })
}

/// The same with the blocking client.
fn error_via_std(builder: ClientBuilder) -> Error {
    watchdog(WHOLE_TEST, move || match ws_std::connect_with(&builder) {
        Ok(_) => panic!("[std] connected, but an error was expected"),
        Err(e) => e,
    })
}

/// A client's name and a function returning its connect error.
type ErrorOf = (&'static str, fn(ClientBuilder) -> Error);

/// Every client, as a function returning its connect error.
fn every_client() -> [ErrorOf; 5] {
    [
        ("tokio", error_via::<Tokio>),
        ("smol", error_via::<Smol>),
        ("async-std", error_via::<AsyncStd>),
        ("std", error_via_std),
        // Last: left out where hyper cannot take part.
        ("hyper", error_via_hyper),
    ]
}

fn builder(url: &str, proxy: &str) -> ClientBuilder {
    ClientBuilder::new(url)
        .unwrap()
        .config(plain_config())
        .proxy(Proxy::url(proxy).unwrap_or_else(|e| panic!("proxy URL {proxy}: {e}")))
}

fn proxy_error(e: Error) -> ProxyError {
    match e {
        Error::Proxy(p) => p,
        other => panic!("expected Error::Proxy, got {other} ({other:?})"),
    }
}

// ----------------------------------------------------------------------------------------------------
// 1, 2: tinyproxy, ws:// and wss://, every adapter
// ----------------------------------------------------------------------------------------------------

/// ws:// through tinyproxy on one adapter; tinyproxy's log shows the CONNECT to the echo server.
fn tinyproxy_ws(run_client: fn(ClientBuilder)) {
    let proxy = proxies::tinyproxy();
    let server = EchoServer::plain();
    run_client(builder(&server.ws_url(), proxy.url()));
    assert_eq!(server.accepted(), 1);
    assert!(
        proxy.log_shows(
            &format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port),
            LOG_BOUND
        ),
        "tinyproxy did not see the CONNECT:\n{}",
        proxy.log()
    );
}

#[test]
fn tinyproxy_ws_tokio() {
    tinyproxy_ws(echo_via::<Tokio>);
}

#[test]
fn tinyproxy_ws_smol() {
    tinyproxy_ws(echo_via::<Smol>);
}

#[test]
fn tinyproxy_ws_async_std() {
    tinyproxy_ws(echo_via::<AsyncStd>);
}

#[test]
fn tinyproxy_ws_std() {
    tinyproxy_ws(echo_via_std);
}

#[test]
fn tinyproxy_ws_hyper() {
    tinyproxy_ws(echo_via_hyper);
}

/// Once the proxy is gone, the same builder fails to reach it: the connection really went through it.
#[test]
fn tinyproxy_killed_then_the_proxy_cannot_be_reached() {
    let mut proxy = proxies::tinyproxy();
    let server = EchoServer::plain();
    let b = builder(&server.ws_url(), proxy.url());
    echo_via::<Tokio>(b.clone());
    proxy.kill();
    let e = error_via_tokio(b);
    assert!(matches!(e, Error::ProxyConnect(_)), "{e} ({e:?})");
    assert_eq!(server.accepted(), 1, "the failed attempt went direct");
}

/// wss:// through tinyproxy: TLS to the server inside the tunnel, the server's certificate trusted via
/// `tls_config`.
fn tinyproxy_wss(run_client: fn(ClientBuilder)) {
    let proxy = proxies::tinyproxy();
    let certs = Certs::localhost();
    let server = EchoServer::tls(&certs);
    run_client(builder(&server.wss_url(), proxy.url()).tls_config(certs.client_config()));
    assert!(
        proxy.log_shows(
            &format!("CONNECT localhost:{} HTTP/1.1", server.port),
            LOG_BOUND
        ),
        "{}",
        proxy.log()
    );
}

#[test]
fn tinyproxy_wss_tokio() {
    tinyproxy_wss(echo_via::<Tokio>);
}

#[test]
fn tinyproxy_wss_smol() {
    tinyproxy_wss(echo_via::<Smol>);
}

#[test]
fn tinyproxy_wss_std() {
    tinyproxy_wss(echo_via_std);
}

#[test]
fn tinyproxy_wss_hyper() {
    tinyproxy_wss(echo_via_hyper);
}

// ----------------------------------------------------------------------------------------------------
// 3: tinyproxy with BasicAuth
// ----------------------------------------------------------------------------------------------------

#[test]
fn tinyproxy_basic_auth_407_without_credentials_then_works_with_them() {
    let proxy = proxies::tinyproxy_basic_auth("alice", "s3cret");
    let server = EchoServer::plain();
    let e = proxy_error(error_via_tokio(builder(
        &server.ws_url(),
        &proxy.url_as("http", ""),
    )));
    let ProxyError::Status(r) = &e else {
        panic!("no credentials: not a status error: {e:?}");
    };
    assert_eq!(r.status, 407, "{r:?}");
    let challenge = r.headers.get_str("proxy-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Basic"), "{challenge:?}");
    assert!(e.to_string().contains("407"), "{e}");
    // A wrong password: tinyproxy 1.11 answers 401 (with WWW-Authenticate), not 407; a status error
    // either way.
    let e = proxy_error(error_via_tokio(builder(
        &server.ws_url(),
        &proxy.url_as("http", "alice:wrong@"),
    )));
    assert!(
        matches!(&e, ProxyError::Status(r) if r.status == 401 || r.status == 407),
        "a wrong password: {e:?}"
    );
    assert_eq!(server.accepted(), 0);
    echo_via::<Tokio>(builder(&server.ws_url(), proxy.url()));
    assert_eq!(server.accepted(), 1);
}

#[test]
fn tinyproxy_basic_auth_std() {
    let proxy = proxies::tinyproxy_basic_auth("alice", "s3cret");
    let server = EchoServer::plain();
    let e = proxy_error(error_via_std(builder(
        &server.ws_url(),
        &proxy.url_as("http", ""),
    )));
    assert!(
        matches!(&e, ProxyError::Status(r) if r.status == 407),
        "{e:?}"
    );
    echo_via_std(builder(&server.ws_url(), proxy.url()));
}

// ----------------------------------------------------------------------------------------------------
// 4: squid with an SSL_ports-like acl
// ----------------------------------------------------------------------------------------------------

#[test]
fn squid_refuses_connect_to_unlisted_ports_with_403() {
    let allowed = EchoServer::plain();
    let other = EchoServer::plain();
    let proxy = proxies::squid_allowing_connect_to(&[allowed.port]);
    let e = proxy_error(error_via_tokio(builder(&other.ws_url(), proxy.url())));
    let ProxyError::Status(r) = &e else {
        panic!("expected a status error, got {e:?}");
    };
    assert_eq!(r.status, 403, "{r:?}");
    assert!(e.to_string().contains("403"), "{e}");
    assert_eq!(other.accepted(), 0);
    echo_via::<Tokio>(builder(&allowed.ws_url(), proxy.url()));
    assert_eq!(allowed.accepted(), 1);
    assert!(
        proxy.log_shows(&format!("CONNECT 127.0.0.1:{} ", allowed.port), LOG_BOUND),
        "{}",
        proxy.log()
    );
}

// ----------------------------------------------------------------------------------------------------
// 5: microsocks (SOCKS5)
// ----------------------------------------------------------------------------------------------------

/// socks5h://: the proxy resolves the name (microsocks logs `connected to localhost:P`).
#[test]
fn microsocks_socks5h() {
    let proxy = proxies::microsocks();
    let server = EchoServer::plain();
    let url = format!("ws://localhost:{}/echo", server.port);
    echo_via::<Tokio>(builder(&url, proxy.url()));
    echo_via::<AsyncStd>(builder(&url, proxy.url()));
    assert_eq!(server.accepted(), 2);
    let needle = format!("connected to localhost:{}", server.port);
    assert!(proxy.output_shows(&needle, LOG_BOUND), "{}", proxy.output());
}

/// socks5://: the client resolves the name and sends the address.
#[test]
fn microsocks_socks5_client_resolves() {
    let proxy = proxies::microsocks();
    let server = EchoServer::plain();
    let url = format!("ws://localhost:{}/echo", server.port);
    echo_via::<Tokio>(builder(&url, &proxy.url_as("socks5", "")));
    echo_via::<Smol>(builder(&url, &proxy.url_as("socks5", "")));
    assert_eq!(server.accepted(), 2);
    assert!(
        proxy.output_shows(
            &format!("connected to 127.0.0.1:{}", server.port),
            LOG_BOUND
        ),
        "{}",
        proxy.output()
    );
    assert!(
        !proxy.output().contains("connected to localhost"),
        "the name went to the proxy: {}",
        proxy.output()
    );
}

#[test]
fn microsocks_socks5_std() {
    let proxy = proxies::microsocks();
    let server = EchoServer::plain();
    let url = format!("ws://localhost:{}/echo", server.port);
    echo_via_std(builder(&url, proxy.url()));
    assert!(
        proxy.output_shows(
            &format!("connected to localhost:{}", server.port),
            LOG_BOUND
        ),
        "{}",
        proxy.output()
    );
}

#[test]
fn microsocks_with_auth_right_and_wrong_credentials() {
    let proxy = proxies::microsocks_auth("bob", "hunter2");
    let server = EchoServer::plain();
    echo_via::<Tokio>(builder(&server.ws_url(), proxy.url()));
    assert!(
        proxy.output_shows(
            &format!("connected to 127.0.0.1:{}", server.port),
            LOG_BOUND
        ),
        "{}",
        proxy.output()
    );
    let e = proxy_error(error_via_tokio(builder(
        &server.ws_url(),
        &proxy.url_as("socks5h", "bob:wrong@"),
    )));
    assert_eq!(e, ProxyError::SocksAuthFailed);
    // None at all: microsocks offers no method we can use.
    let e = proxy_error(error_via_tokio(builder(
        &server.ws_url(),
        &proxy.url_as("socks5h", ""),
    )));
    assert_eq!(e, ProxyError::SocksAuthRequired);
    assert_eq!(server.accepted(), 1);
}

// ----------------------------------------------------------------------------------------------------
// 6: dante (SOCKS4)
// ----------------------------------------------------------------------------------------------------

#[test]
fn dante_socks4() {
    let proxy = proxies::dante_socks4();
    let server = EchoServer::plain();
    echo_via::<Tokio>(builder(&server.ws_url(), proxy.url()));
    // A name: SOCKS4 has the client resolve it.
    let by_name = format!("ws://localhost:{}/echo", server.port);
    echo_via::<Smol>(builder(&by_name, proxy.url()));
    assert_eq!(server.accepted(), 2);
    assert!(
        proxy.log_shows(&format!("127.0.0.1.{}", server.port), LOG_BOUND),
        "dante did not log the connections:\n{}",
        proxy.log()
    );
}

/// Dante does not implement SOCKS4a: a request carrying a name is refused with 0x5B, which the client
/// reports as such.
#[test]
fn dante_refuses_socks4a() {
    let proxy = proxies::dante_socks4();
    let server = EchoServer::plain();
    let by_name = format!("ws://localhost:{}/echo", server.port);
    let e = proxy_error(error_via_tokio(builder(
        &by_name,
        &proxy.url_as("socks4a", ""),
    )));
    assert_eq!(e, ProxyError::Socks4(0x5B), "{e}");
    assert_eq!(server.accepted(), 0);
}

/// wss:// through the SOCKS proxies: TLS to the server inside the SOCKS tunnel.
fn wss_through_socks(run_client: fn(ClientBuilder)) {
    let certs = Certs::localhost();
    let server = EchoServer::tls(&certs);
    let socks5 = proxies::microsocks_auth("dave", "pw");
    run_client(builder(&server.wss_url(), socks5.url()).tls_config(certs.client_config()));
    assert!(
        socks5.output_shows(
            &format!("connected to localhost:{}", server.port),
            LOG_BOUND
        ),
        "{}",
        socks5.output()
    );
    let socks4 = proxies::dante_socks4();
    run_client(builder(&server.wss_url(), socks4.url()).tls_config(certs.client_config()));
    assert!(
        socks4.log_shows(&format!("127.0.0.1.{}", server.port), LOG_BOUND),
        "{}",
        socks4.log()
    );
    assert_eq!(server.accepted(), 2);
}

#[test]
fn wss_through_socks_tokio() {
    wss_through_socks(echo_via::<Tokio>);
}

#[test]
fn wss_through_socks_std() {
    wss_through_socks(echo_via_std);
}

#[test]
fn wss_through_socks_hyper() {
    wss_through_socks(echo_via_hyper);
}

// ----------------------------------------------------------------------------------------------------
// 7: an https:// proxy (stunnel in front of tinyproxy)
// ----------------------------------------------------------------------------------------------------

fn https_proxy(run_client: fn(ClientBuilder), secure_target: bool) {
    let inner = proxies::tinyproxy();
    let proxy = proxies::stunnel_in_front_of(&inner);
    let certs = Certs::localhost();
    let (server, url) = if secure_target {
        let s = EchoServer::tls(&certs);
        let url = s.wss_url();
        (s, url)
    } else {
        let s = EchoServer::plain();
        let url = s.ws_url();
        (s, url)
    };
    let b = builder(&url, proxy.url())
        .proxy_tls_config(proxy.tls_client_config())
        .tls_config(certs.client_config());
    run_client(b.clone());
    assert_eq!(server.accepted(), 1);
    let target = if secure_target {
        "localhost"
    } else {
        "127.0.0.1"
    };
    assert!(
        inner.log_shows(
            &format!("CONNECT {target}:{} HTTP/1.1", server.port),
            LOG_BOUND
        ),
        "{}",
        inner.log()
    );
    // Without trusting stunnel's certificate, the TLS to the proxy fails.
    let untrusted = ClientBuilder::new(&url)
        .unwrap()
        .proxy(Proxy::url(proxy.url()).unwrap())
        .tls_config(certs.client_config());
    let e = error_via_tokio(untrusted);
    assert!(matches!(e, Error::Tls(_)), "{e} ({e:?})");
    assert_eq!(server.accepted(), 1);
}

#[test]
fn https_proxy_ws_target_tokio() {
    https_proxy(echo_via::<Tokio>, false);
}

#[test]
fn https_proxy_wss_target_tokio() {
    https_proxy(echo_via::<Tokio>, true);
}

#[test]
fn https_proxy_wss_target_async_std() {
    https_proxy(echo_via::<AsyncStd>, true);
}

#[test]
fn https_proxy_ws_target_std() {
    https_proxy(echo_via_std, false);
}

#[test]
fn https_proxy_wss_target_std() {
    https_proxy(echo_via_std, true);
}

#[test]
fn https_proxy_wss_target_hyper() {
    https_proxy(echo_via_hyper, true);
}

// ----------------------------------------------------------------------------------------------------
// 8: the fake proxy's misbehaviours
// ----------------------------------------------------------------------------------------------------

#[test]
fn fake_malformed_reply() {
    for (name, error_of) in every_client() {
        let fake = FakeProxy::start(Script::MalformedHead);
        let e = proxy_error(error_of(builder("ws://127.0.0.1:9/", &fake.url())));
        assert!(matches!(e, ProxyError::MalformedReply(_)), "[{name}] {e:?}");
        assert_eq!(fake.heads().len(), 1, "[{name}]");
    }
}

/// Status 999 parses as an HTTP status (three digits): a status error, not a malformed reply.
#[test]
fn fake_status_999() {
    for (name, error_of) in every_client() {
        let fake = FakeProxy::start(Script::Status999);
        let e = proxy_error(error_of(builder("ws://127.0.0.1:9/", &fake.url())));
        let ProxyError::Status(r) = &e else {
            panic!("[{name}] expected a status error, got {e:?}");
        };
        assert_eq!((r.status, r.reason.as_str()), (999, "Strange"), "[{name}]");
        assert_eq!(
            e.to_string(),
            "the proxy answered CONNECT with status 999 Strange",
            "[{name}]"
        );
    }
}

#[test]
fn fake_silence_is_a_connect_timeout() {
    let fake = FakeProxy::start(Script::Silence);
    let b =
        builder("ws://127.0.0.1:9/", &fake.url()).connect_timeout(Some(Duration::from_millis(300)));
    let start = Instant::now();
    let e = error_via_tokio(b.clone());
    let took = start.elapsed();
    assert!(matches!(e, Error::ConnectTimeout), "{e} ({e:?})");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let start = Instant::now();
    let e = error_via_std(b);
    let took = start.elapsed();
    assert!(matches!(e, Error::ConnectTimeout), "[std] {e} ({e:?})");
    assert!(took < Duration::from_secs(3), "[std] {took:?}");
    assert_eq!(fake.heads().len(), 2);
}

#[test]
fn fake_close_during_connect() {
    for script in [Script::CloseAfterRequest, Script::CloseMidReply] {
        for (name, error_of) in every_client() {
            let fake = FakeProxy::start(script.clone());
            let e = proxy_error(error_of(builder("ws://127.0.0.1:9/", &fake.url())));
            assert_eq!(e, ProxyError::Closed, "[{name}] {script:?}");
        }
    }
}

/// The proxy's 200 and the server's answer (a 403 here) in one write, before the client has sent its
/// upgrade request: the bytes after the proxy's head are the server's, and reach the handshake.
///
/// Not with ws-hyper: hyper's HTTP/1.1 client fails on a response that arrives before its request is
/// written (`Http(Canceled, UnexpectedMessage)`), and the bytes after the 200 are handed to it as
/// already there. A real proxy cannot produce this (the server has not seen a request yet), so hyper
/// is left out of these two cases.
#[test]
fn fake_answer_in_the_same_write_as_the_200_reaches_the_handshake() {
    let answer = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope";
    for (name, error_of) in &every_client()[..4] {
        let fake = FakeProxy::start(Script::AnswerInSameWrite(answer.to_vec()));
        let e = error_of(builder("ws://127.0.0.1:9/", &fake.url()));
        assert_eq!(e.rejected_status(), Some(403), "[{name}] {e} ({e:?})");
        assert_eq!(fake.coalesced(), 1, "[{name}]");
    }
}

/// The same with a 302 in the bytes after the 200: the client follows it (through the proxy again,
/// which tunnels this time) and the WebSocket opens and echoes.
fn redirect_in_the_same_write(run_client: fn(ClientBuilder)) {
    let server = EchoServer::plain();
    let fake = FakeProxy::start(Script::RedirectInSameWriteTo(server.ws_url()));
    let first = format!("ws://127.0.0.1:{}/old", proxies::closed_port());
    run_client(builder(&first, &fake.url()));
    assert_eq!(fake.coalesced(), 1);
    assert_eq!(fake.connections(), 2);
    let heads = fake.heads();
    assert!(
        heads[1].starts_with(&format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port)),
        "{heads:?}"
    );
    assert_eq!(server.accepted(), 1);
}

#[test]
fn fake_redirect_in_the_same_write_as_the_200_tokio() {
    redirect_in_the_same_write(echo_via::<Tokio>);
}

#[test]
fn fake_redirect_in_the_same_write_as_the_200_smol() {
    redirect_in_the_same_write(echo_via::<Smol>);
}

#[test]
fn fake_redirect_in_the_same_write_as_the_200_async_std() {
    redirect_in_the_same_write(echo_via::<AsyncStd>);
}

#[test]
fn fake_redirect_in_the_same_write_as_the_200_std() {
    redirect_in_the_same_write(echo_via_std);
}

/// Extra headers go on the CONNECT request (and credentials become Proxy-Authorization).
#[test]
fn fake_sees_proxy_headers_and_credentials() {
    let fake = FakeProxy::start(Script::Tunnel);
    let server = EchoServer::plain();
    let url = format!("http://carol:pw@{}", fake.addr());
    echo_via::<Tokio>(builder(&server.ws_url(), &url).proxy_header("X-Corp-Token", "t0k3n"));
    let heads = fake.heads();
    assert_eq!(heads.len(), 1);
    let head = &heads[0];
    assert!(
        head.starts_with(&format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n", server.port)),
        "{head}"
    );
    assert!(head.contains("X-Corp-Token: t0k3n\r\n"), "{head}");
    // base64("carol:pw")
    assert!(
        head.contains("Proxy-Authorization: Basic Y2Fyb2w6cHc=\r\n"),
        "{head}"
    );
    assert!(!head.to_ascii_lowercase().contains("upgrade"), "{head}");
}

// ----------------------------------------------------------------------------------------------------
// 9: IPv6 target
// ----------------------------------------------------------------------------------------------------

#[test]
fn ipv6_target_through_connect() {
    if !proxies::has_ipv6_loopback() {
        eprintln!("no IPv6 loopback ([::1] cannot be bound): nothing to test here");
        return;
    }
    let server = EchoServer::ipv6();
    let url = format!("ws://[::1]:{}/echo", server.port);

    let fake = FakeProxy::start(Script::Tunnel);
    echo_via::<Tokio>(builder(&url, &fake.url()));
    let heads = fake.heads();
    assert!(
        heads[0].starts_with(&format!(
            "CONNECT [::1]:{} HTTP/1.1\r\nHost: [::1]:{}\r\n",
            server.port, server.port
        )),
        "{heads:?}"
    );

    let proxy = proxies::tinyproxy();
    echo_via::<Tokio>(builder(&url, proxy.url()));
    assert!(
        proxy.log_shows(
            &format!("CONNECT [::1]:{} HTTP/1.1", server.port),
            LOG_BOUND
        ),
        "{}",
        proxy.log()
    );
    let socks = proxies::microsocks();
    echo_via::<Tokio>(builder(&url, socks.url()));
    assert_eq!(server.accepted(), 3);
}

// ----------------------------------------------------------------------------------------------------
// 10: the proxy cannot be reached
// ----------------------------------------------------------------------------------------------------

#[test]
fn unreachable_proxy_is_proxy_connect() {
    let server = EchoServer::plain();
    let url = format!("http://127.0.0.1:{}", proxies::closed_port());
    let e = error_via_tokio(builder(&server.ws_url(), &url));
    let Error::ProxyConnect(io) = &e else {
        panic!("expected Error::ProxyConnect, got {e} ({e:?})");
    };
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{io:?}");
    let e = error_via_std(builder(&server.ws_url(), &url));
    assert!(matches!(e, Error::ProxyConnect(_)), "[std] {e} ({e:?})");
    assert_eq!(server.accepted(), 0, "went direct");
}

// ----------------------------------------------------------------------------------------------------
// 11: the proxy from an injected environment
// ----------------------------------------------------------------------------------------------------

fn env(vars: &[(&str, String)]) -> Proxy {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Proxy::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

#[test]
fn environment_lookup_selects_the_proxy_and_no_proxy_goes_direct() {
    let fake = FakeProxy::start(Script::Tunnel);
    let server = EchoServer::plain();
    let with = |proxy: Proxy| {
        ClientBuilder::new(&server.ws_url())
            .unwrap()
            .config(plain_config())
            .proxy(proxy)
    };
    // HTTP_PROXY for ws://: through the fake proxy.
    echo_via::<Tokio>(with(env(&[("HTTP_PROXY", fake.url())])));
    assert_eq!(fake.heads().len(), 1);
    assert_eq!(server.accepted(), 1);

    // NO_PROXY covering the host: direct.
    echo_via::<Tokio>(with(env(&[
        ("HTTP_PROXY", fake.url()),
        ("NO_PROXY", "example.com,127.0.0.1".to_string()),
    ])));
    assert_eq!(
        fake.connections(),
        1,
        "NO_PROXY=127.0.0.1 went through the proxy"
    );
    assert_eq!(server.accepted(), 2);

    // Lower case is looked up first: http_proxy wins over a dead HTTP_PROXY.
    let dead = format!("http://127.0.0.1:{}", proxies::closed_port());
    echo_via::<Tokio>(with(env(&[
        ("http_proxy", fake.url()),
        ("HTTP_PROXY", dead.clone()),
    ])));
    assert_eq!(fake.heads().len(), 2);

    // HTTPS_PROXY is for wss:// only: a ws:// URL goes direct; ALL_PROXY serves both.
    echo_via::<Tokio>(with(env(&[("HTTPS_PROXY", dead.clone())])));
    assert_eq!(fake.connections(), 2);
    echo_via::<Tokio>(with(env(&[("ALL_PROXY", fake.url())])));
    assert_eq!(fake.heads().len(), 3);
    assert_eq!(server.accepted(), 5);

    // No variables, and Proxy::None: direct.
    echo_via::<AsyncStd>(with(env(&[])));
    echo_via::<Smol>(with(Proxy::None));
    assert_eq!(fake.connections(), 3);
    assert_eq!(server.accepted(), 7);
}

/// `Proxy::custom` decides per URL.
#[test]
fn custom_proxy_function_decides_per_url() {
    let fake = FakeProxy::start(Script::Tunnel);
    let proxied = EchoServer::plain();
    let direct = EchoServer::plain();
    let (port, proxy_url) = (proxied.port, fake.url());
    let choose = Proxy::custom(move |url| {
        (url.port == port).then(|| ws_core::proxy::ProxyUrl::parse(&proxy_url).unwrap())
    });
    for server in [&proxied, &direct] {
        echo_via::<Tokio>(
            ClientBuilder::new(&server.ws_url())
                .unwrap()
                .config(plain_config())
                .proxy(choose.clone()),
        );
    }
    assert_eq!(fake.heads().len(), 1);
    assert!(fake.heads()[0].starts_with(&format!("CONNECT 127.0.0.1:{port} ")));
    assert_eq!((proxied.accepted(), direct.accepted()), (1, 1));
}
