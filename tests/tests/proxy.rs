//! The client's proxy support against real proxies (tinyproxy, squid, microsocks, dante, stunnel in front
//! of tinyproxy), each started by the test on a free loopback port (see `ws_tests::proxies`), and against
//! a scripted fake proxy for the failures real proxies do not produce on demand.
//!
//! The `harness_*` tests check the proxies themselves with raw TCP (so that a failure of the client tests
//! is not a proxy that did not start or was configured wrong).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ws_tests::proxies::{self, FakeProxy, Script};
use ws_tests::{STEP, WHOLE_TEST, watchdog};

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
            let fake = FakeProxy::start(script);
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
