//! A hyper echo server on loopback for the tests: HTTP/1.1 and HTTP/2 (prior knowledge) on one port,
//! extended CONNECT enabled or not; every WebSocket reports how it came in.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::mpsc;
use ws_async::tls::{self, rustls};
use ws_hyper::{CloseCode, CloseFrame, HyperTimer, Message, Upgrader};

/// What the server saw of one WebSocket.
#[derive(Debug)]
pub struct Seen {
    pub version: http::Version,
    pub subprotocol: Option<String>,
    pub extensions: Option<String>,
    /// The client's close frame, once the connection ended.
    pub close: tokio::sync::oneshot::Receiver<Option<CloseFrame>>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    /// TCP connections accepted.
    pub connections: Arc<AtomicUsize>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

pub fn timer() -> HyperTimer {
    HyperTimer::new(hyper_util::rt::TokioTimer::new())
}

/// Serves `/plain` as an ordinary route and everything else as a WebSocket echo: a text message
/// `close:N` makes the server close with code N; others are echoed.
pub async fn start(enable_connect: bool, upgrader: Upgrader) -> Server {
    start_with(enable_connect, upgrader, None).await
}

/// A self-signed certificate for `localhost`: the server's rustls configuration offering `alpn`, and
/// a client configuration trusting it.
pub fn certs(alpn: &[&[u8]]) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = key.cert.pem();
    let server = tls::server_config_from_pem(
        cert_pem.as_bytes(),
        key.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let mut server = (*server).clone();
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let client = tls::client_config_trusting_pem(cert_pem.as_bytes()).unwrap();
    (Arc::new(server), client)
}

/// [`start`], with TLS when `tls` is given.
pub async fn start_with(
    enable_connect: bool,
    upgrader: Upgrader,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let upgrader = upgrader.clone();
            let tx = tx.clone();
            let service = service_fn(move |request: Request<Incoming>| {
                let upgrader = upgrader.clone();
                let tx = tx.clone();
                async move { Ok::<_, hyper::Error>(handle(request, &upgrader, tx)) }
            });
            let tls = tls.clone();
            tokio::spawn(async move {
                let mut server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if enable_connect {
                    server.http2().enable_connect_protocol();
                }
                match tls {
                    None => {
                        let _ = server
                            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                            .await;
                    }
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        let Ok(stream) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let _ = server
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    Server {
        addr,
        seen,
        connections,
    }
}

fn handle(
    mut request: Request<Incoming>,
    upgrader: &Upgrader,
    tx: mpsc::UnboundedSender<Seen>,
) -> Response<Full<Bytes>> {
    if request.uri().path() == "/plain" && !ws_hyper::is_upgrade_request(&request) {
        return Response::new(Full::new(Bytes::from_static(b"plain")));
    }
    let version = request.version();
    let (response, websocket) = match upgrader.upgrade(&mut request) {
        Ok(accepted) => accepted,
        Err(rejection) => return rejection.response(),
    };
    tokio::spawn(async move {
        let Ok(mut ws) = websocket.await else { return };
        let (close_tx, close) = tokio::sync::oneshot::channel();
        let _ = tx.send(Seen {
            version,
            subprotocol: ws.subprotocol().map(str::to_owned),
            extensions: ws.extensions().map(str::to_owned),
            close,
        });
        // Bounded: the client ends every test connection.
        while let Some(Ok(message)) = ws.recv().await {
            if let Message::Text(text) = &message
                && let Some(code) = text.as_str().strip_prefix("close:")
            {
                let code = CloseCode(code.parse().unwrap());
                let _ = ws.close(code, "asked to").await;
                break;
            }
            if ws.send(message).await.is_err() {
                break;
            }
        }
        let _ = close_tx.send(ws.close_frame().cloned());
    });
    response
}
