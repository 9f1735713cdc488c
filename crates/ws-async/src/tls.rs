//! `wss://`: the rustls configuration helpers (written once in `ws-adapter`, shared with the blocking
//! adapter) and the futures-rustls wrapping of a transport, client and server side.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use ws_adapter::{Error, Result};

use crate::stream::MaybeTlsStream;
use crate::tunnel::ClientTls;

pub use ws_adapter::tls::{
    client_config_trusting_pem, client_config_with_roots, default_client_config, rustls,
    server_config_from_pem, server_name,
};

/// Runs the client side of the TLS handshake over `tcp` for `host`.
pub(crate) async fn connect<S>(
    tcp: S,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<MaybeTlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tls = client(tcp, host, config).await?;
    Ok(MaybeTlsStream::Tls(Box::new(
        futures_rustls::TlsStream::Client(tls),
    )))
}

/// Runs the client side of the TLS handshake over `io` for `host` (a server, or an `https://` proxy).
pub(crate) async fn client<S>(
    io: S,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<ClientTls<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = server_name(host)?;
    futures_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(|e| Error::Tls(e.to_string()))
}

/// Runs the server side of the TLS handshake over `stream`.
pub(crate) async fn accept<S>(
    stream: S,
    config: Arc<rustls::ServerConfig>,
) -> Result<MaybeTlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tls = futures_rustls::TlsAcceptor::from(config)
        .accept(stream)
        .await
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(MaybeTlsStream::Tls(Box::new(
        futures_rustls::TlsStream::Server(tls),
    )))
}
