//! Opening benchmark connections: TCP connect plus the hand-written upgrade,
//! bounded by a timeout, and the error type shared by the client tools.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::echo_check::EchoError;
use crate::handshake::{self, HandshakeError};
use crate::target::Target;
use crate::wire::FrameBuffer;

/// Anything that can go wrong on a client connection.
#[derive(Debug)]
pub enum ClientError {
    /// A socket operation failed.
    Io(std::io::Error),
    /// The server's upgrade response was refused.
    Handshake(HandshakeError),
    /// An echo did not match, or a server frame was invalid.
    Echo(EchoError),
    /// The server closed the TCP connection unexpectedly.
    Eof,
    /// The server sent a close frame before the client asked to close.
    UnexpectedClose(Option<u16>),
    /// An echo arrived with no message outstanding.
    UnsolicitedEcho,
    /// The server answered the close frame with this many echoes missing.
    MissingEchoes(usize),
    /// A step did not finish in time.
    Timeout(&'static str),
    /// The HTTP/2 connection or stream failed (`loadgen --http2`).
    Http2(h2::Error),
    /// The HTTP/2 server refused a WebSocket stream, or the connection
    /// cannot carry one (`loadgen --http2`).
    Http2Refused(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o: {e}"),
            Self::Handshake(e) => write!(f, "handshake: {e}"),
            Self::Echo(e) => write!(f, "echo: {e}"),
            Self::Eof => f.write_str("server closed the TCP connection"),
            Self::UnexpectedClose(code) => write!(f, "server sent close {code:?} unprompted"),
            Self::UnsolicitedEcho => f.write_str("echo received with nothing outstanding"),
            Self::MissingEchoes(n) => write!(f, "close answered with {n} echoes missing"),
            Self::Timeout(what) => write!(f, "timed out: {what}"),
            Self::Http2(e) => write!(f, "http/2: {e}"),
            Self::Http2Refused(why) => write!(f, "http/2: {why}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<HandshakeError> for ClientError {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<h2::Error> for ClientError {
    fn from(e: h2::Error) -> Self {
        Self::Http2(e)
    }
}

impl From<EchoError> for ClientError {
    fn from(e: EchoError) -> Self {
        Self::Echo(e)
    }
}

/// An upgraded connection, with any frame bytes that arrived with the
/// handshake response already buffered.
#[derive(Debug)]
pub struct Connection {
    /// The socket (`TCP_NODELAY` set).
    pub stream: TcpStream,
    /// Bytes received after the response head.
    pub frames: FrameBuffer,
}

/// Connects to `target` and performs the upgrade, all within `timeout`.
/// `seed` picks the `Sec-WebSocket-Key`.
pub async fn open(
    target: &Target,
    seed: u64,
    timeout: Duration,
) -> Result<Connection, ClientError> {
    Ok(open_offering(target, seed, timeout, false).await?.0)
}

/// Like [`open`], offering permessage-deflate ([`handshake::DEFLATE_OFFER`])
/// when `deflate` is set. Returns the connection and the extension the server
/// accepted, if any; when it accepted one, the connection's frame buffer
/// takes compressed frames.
pub async fn open_offering(
    target: &Target,
    seed: u64,
    timeout: Duration,
    deflate: bool,
) -> Result<(Connection, Option<String>), ClientError> {
    tokio::time::timeout(timeout, open_unbounded(target, seed, deflate))
        .await
        .map_err(|_| ClientError::Timeout("connect and upgrade"))?
}

async fn open_unbounded(
    target: &Target,
    seed: u64,
    deflate: bool,
) -> Result<(Connection, Option<String>), ClientError> {
    let mut stream = TcpStream::connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let key = handshake::client_key(seed);
    let offer = deflate.then_some(handshake::DEFLATE_OFFER);
    let request =
        handshake::upgrade_request_offering(&target.host_header, &target.path, &key, offer);
    stream.write_all(request.as_bytes()).await?;

    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ClientError::Eof);
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some((len, extensions)) = handshake::check_response_offering(&head, &key, deflate)? {
            let mut frames = FrameBuffer::default();
            if extensions.is_some() {
                frames.allow_deflate();
            }
            frames.extend_from_slice(&head[len..]);
            return Ok((Connection { stream, frames }, extensions));
        }
    }
}
