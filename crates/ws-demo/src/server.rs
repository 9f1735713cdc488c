//! The accept loop: each TCP connection (after TLS, if configured) is served by hyper with the app,
//! HTTP/1.1 with upgrades and HTTP/2 with extended CONNECT; shutdown closes the chats with 1001.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::chat::Hub;

/// Time a client has to finish TLS and send a request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for clients to answer the 1001 close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Accepts until `shutdown`, then stops listening, closes every chat with 1001 and waits for the close
/// handshakes (at most [`SHUTDOWN_GRACE`]) before dropping the remaining connections.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let tls = tls.map(|config| TlsAcceptor::from(with_alpn(config)));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    connections.spawn(serve_connection(tcp, tls.clone(), app.clone()));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    hub.shut_down();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, hub.all_sessions_ended()).await;
    connections.shutdown().await;
    Ok(())
}

/// `config` offering `h2` and `http/1.1` by ALPN, unless it already names protocols.
fn with_alpn(config: Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    if !config.alpn_protocols.is_empty() {
        return config;
    }
    let mut config = Arc::unwrap_or_clone(config);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// One connection: HTTP/1.1 (with upgrades) or HTTP/2 (with extended CONNECT), told apart by hyper from
/// the first bytes.
async fn serve_connection(tcp: TcpStream, tls: Option<TlsAcceptor>, app: Router) {
    let _ = tcp.set_nodelay(true);
    let service = TowerToHyperService::new(app);
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    http.http2().enable_connect_protocol();
    match tls {
        None => {
            let _ = http
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await;
        }
        Some(acceptor) => {
            let Ok(Ok(stream)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let _ = http
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        }
    }
}
