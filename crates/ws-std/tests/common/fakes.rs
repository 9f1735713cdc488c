//! Fakes for the proxy and redirect tests: HTTP `CONNECT` proxies (plain or over TLS) and a SOCKS5 proxy
//! that count their connections and record what they were asked, a redirecting server, a TLS echo
//! server and a localhost certificate.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::{ServerConnection, StreamOwned};
use ws_std::rustls;
use ws_std::{Accept, Config};

use super::listener;

/// A server certificate for `localhost` and a client configuration that trusts it.
pub(crate) struct Certs {
    pub(crate) server: Arc<rustls::ServerConfig>,
    pub(crate) client: Arc<rustls::ClientConfig>,
}

pub(crate) fn certs() -> Certs {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = key.cert.pem();
    Certs {
        server: ws_std::tls::server_config_from_pem(
            cert_pem.as_bytes(),
            key.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap(),
        client: ws_std::tls::client_config_trusting_pem(cert_pem.as_bytes()).unwrap(),
    }
}

/// A `wss://` echo server (thread per connection); returns its port.
pub(crate) fn tls_echo_server(tls: Arc<rustls::ServerConfig>) -> u16 {
    let (listener, port) = listener();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let tls = tls.clone();
            std::thread::spawn(move || {
                let Ok(mut ws) =
                    ws_std::accept_tls(tcp, tls, Config::default(), |_| Ok(Accept::new()))
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.recv() {
                    if ws.send(message).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// What a fake HTTP proxy does with a `CONNECT`.
#[derive(Clone)]
pub(crate) enum Reply {
    /// 200, then relays both ways.
    Relay,
    /// Writes these bytes (a whole reply) and closes.
    Raw(Vec<u8>),
    /// Writes `HTTP/1.1 200 OK\r\n\r\n` and these bytes in one write, reads the client's next request
    /// head, and closes.
    Extra(Vec<u8>),
    /// Says nothing until the client goes away.
    Silent,
    /// Closes at once.
    Close,
}

/// A running fake proxy.
pub(crate) struct FakeProxy {
    pub(crate) port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    /// How many connections it accepted.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// What it was asked: each `CONNECT` head, or `socks5 <atyp> <host>:<port>`.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The client side of a proxy's connection: TCP or TLS over TCP.
trait ClientSide: Read + Write + Send + 'static {
    fn tcp(&self) -> &TcpStream;
    fn close_write(&mut self);
}

impl ClientSide for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
    fn close_write(&mut self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl ClientSide for StreamOwned<ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
    fn close_write(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(Shutdown::Write);
    }
}

/// A fake HTTP proxy; `reply(i)` says what to do with the `i`-th connection (from 0).
pub(crate) fn http_proxy(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> FakeProxy {
    serve_proxy(None, Arc::new(reply), false)
}

/// A fake HTTP proxy reached over TLS (an `https://` proxy) with this server configuration.
pub(crate) fn https_proxy(
    tls: Arc<rustls::ServerConfig>,
    reply: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> FakeProxy {
    serve_proxy(Some(tls), Arc::new(reply), false)
}

/// A fake SOCKS5 proxy, no authentication.
pub(crate) fn socks5_proxy() -> FakeProxy {
    serve_proxy(None, Arc::new(|_| Reply::Relay), true)
}

type ReplyFn = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

fn serve_proxy(tls: Option<Arc<rustls::ServerConfig>>, reply: ReplyFn, socks: bool) -> FakeProxy {
    let (listener, port) = listener();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (connections.clone(), requests.clone());
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let i = count.fetch_add(1, Ordering::SeqCst);
            let (reply, log, tls) = (reply.clone(), log.clone(), tls.clone());
            std::thread::spawn(move || {
                let _ = match tls {
                    Some(tls) => {
                        let conn = ServerConnection::new(tls).unwrap();
                        handle_http(StreamOwned::new(conn, tcp), reply(i), &log)
                    }
                    None if socks => handle_socks5(tcp, &log),
                    None => handle_http(tcp, reply(i), &log),
                };
            });
        }
    });
    FakeProxy {
        port,
        connections,
        requests,
    }
}

/// Reads an HTTP head a byte at a time (so nothing after it is consumed).
fn read_head(client: &mut impl Read) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn handle_http<C: ClientSide>(
    mut client: C,
    reply: Reply,
    log: &Mutex<Vec<String>>,
) -> io::Result<()> {
    let head = read_head(&mut client)?;
    log.lock().unwrap().push(head.clone());
    match reply {
        Reply::Relay => {
            let target = head
                .strip_prefix("CONNECT ")
                .and_then(|rest| rest.split(' ').next())
                .ok_or(io::ErrorKind::InvalidData)?;
            let target = TcpStream::connect(target)?;
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            client.flush()?;
            relay(client, target);
        }
        Reply::Raw(bytes) => {
            client.write_all(&bytes)?;
            client.flush()?;
            client.close_write();
        }
        Reply::Extra(bytes) => {
            let mut all = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
            all.extend_from_slice(&bytes);
            client.write_all(&all)?;
            client.flush()?;
            let _ = read_head(&mut client);
            client.close_write();
        }
        Reply::Silent => {
            let mut sink = Vec::new();
            let _ = client.read_to_end(&mut sink);
        }
        Reply::Close => {}
    }
    Ok(())
}

fn handle_socks5(mut client: TcpStream, log: &Mutex<Vec<String>>) -> io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting)?;
    let mut methods = vec![0u8; greeting[1] as usize];
    client.read_exact(&mut methods)?;
    if greeting[0] != 5 || !methods.contains(&0) {
        client.write_all(&[5, 0xff])?;
        return Ok(());
    }
    client.write_all(&[5, 0])?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            format!("ipv4 {}", Ipv4Addr::from(ip))
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name)?;
            format!("name {}", String::from_utf8_lossy(&name))
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            format!("ipv6 {}", std::net::Ipv6Addr::from(ip))
        }
        _ => return Err(io::ErrorKind::InvalidData.into()),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    log.lock().unwrap().push(format!("socks5 {host}:{port}"));
    // Every test target listens on 127.0.0.1.
    let target = TcpStream::connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    let Ok(target) = target else {
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    relay(client, target);
    Ok(())
}

/// Relays both ways on one thread (a TLS session cannot be shared by two), polling each side with a
/// short read timeout, until both sides have closed.
fn relay<C: ClientSide>(mut client: C, mut target: TcpStream) {
    let poll = Some(Duration::from_millis(2));
    if client.tcp().set_read_timeout(poll).is_err() || target.set_read_timeout(poll).is_err() {
        return;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let (mut from_client, mut from_target) = (true, true);
    while from_client || from_target {
        if from_client {
            match client.read(&mut buf) {
                Ok(0) => {
                    from_client = false;
                    let _ = target.shutdown(Shutdown::Write);
                }
                Ok(n) => {
                    if target.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if is_timeout(&e) => {}
                Err(_) => {
                    from_client = false;
                    let _ = target.shutdown(Shutdown::Write);
                }
            }
        }
        if from_target {
            match target.read(&mut buf) {
                Ok(0) => {
                    from_target = false;
                    client.close_write();
                }
                Ok(n) => {
                    if client.write_all(&buf[..n]).is_err() || client.flush().is_err() {
                        return;
                    }
                }
                Err(e) if is_timeout(&e) => {}
                Err(_) => {
                    from_target = false;
                    client.close_write();
                }
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A server that answers every upgrade request with what `answer(path)` returns (a whole HTTP
/// response), then closes; over TLS when `tls` is given. Returns its port and the paths it was asked
/// for.
pub(crate) fn redirector(
    tls: Option<Arc<rustls::ServerConfig>>,
    answer: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let (listener, port) = listener();
    let paths = Arc::new(Mutex::new(Vec::new()));
    let log = paths.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let (log, answer, tls) = (log.clone(), answer.clone(), tls.clone());
            std::thread::spawn(move || match tls {
                Some(tls) => {
                    let conn = ServerConnection::new(tls).unwrap();
                    answer_once(StreamOwned::new(conn, tcp), &*answer, &log);
                }
                None => answer_once(tcp, &*answer, &log),
            });
        }
    });
    (port, paths)
}

fn answer_once<C: ClientSide>(
    mut client: C,
    answer: &dyn Fn(&str) -> String,
    log: &Mutex<Vec<String>>,
) {
    let Ok(head) = read_head(&mut client) else {
        return;
    };
    let path = head.split(' ').nth(1).unwrap_or("").to_string();
    log.lock().unwrap().push(path.clone());
    let _ = client.write_all(answer(&path).as_bytes());
    let _ = client.flush();
    client.close_write();
}

/// A redirect response.
pub(crate) fn redirect(status: u16, location: &str) -> String {
    format!(
        "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}
