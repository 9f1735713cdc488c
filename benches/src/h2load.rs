//! `loadgen --http2`: the echo workload of [`crate::load`] carried by
//! WebSocket streams of ONE HTTP/2 connection: prior-knowledge h2c, one
//! extended CONNECT (RFC 8441) per WebSocket connection.
//!
//! HTTP/2 is spoken by the `h2` crate, a plain HTTP/2 library with no
//! WebSocket code, so the load generator still shares nothing with the
//! WebSocket libraries it measures. Everything above the streams is the
//! HTTP/1.1 mode's: the same pre-built masked frames, `inflight` messages
//! outstanding per stream, every echo checked byte for byte, the same
//! warm-up, window, drain and close handshake, and the same report.
//!
//! Flow control: received DATA is released as soon as it is buffered, and
//! the receive windows the load generator announces are the largest HTTP/2
//! allows ([`RECEIVE_WINDOW`]), so that it never throttles the server; frames
//! are sent only within the send capacity the server's windows grant.

use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::{self, SendRequest};
use h2::ext::Protocol;
use h2::{RecvStream, SendStream};
use http::{Method, Request, StatusCode};
use tokio::net::TcpStream;
use tokio::task::{self, JoinHandle, LocalSet};
use tokio::time;

use crate::client::ClientError;
use crate::load::{
    ByteSource, Driver, FrameSink, LoadConfig, SharedTally, Transport, open_concurrently,
    run_opened,
};
use crate::payload::MessageRing;
use crate::report::LoadReport;
use crate::target::Target;
use crate::wire::FrameBuffer;

/// The stream and connection receive windows announced to the server: the
/// largest HTTP/2 allows (2^31 - 1).
pub const RECEIVE_WINDOW: u32 = (1 << 31) - 1;

/// How often the server's settings are looked at while waiting for extended
/// CONNECT to be enabled.
const SETTINGS_POLL: Duration = Duration::from_millis(1);

/// How long a stream may wait for the server's END_STREAM after the close
/// handshake (missing it is not an error: the stream is then reset).
const END_STREAM_WAIT: Duration = Duration::from_secs(1);

/// How long the HTTP/2 connection gets to shut down after its last stream.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the load described by `cfg` over WebSocket streams of one HTTP/2
/// connection (`cfg.connections` streams) and reports on it. Never fails:
/// every problem is counted in the report's errors.
pub async fn run(cfg: &LoadConfig) -> LoadReport {
    LocalSet::new().run_until(run_local(cfg)).await
}

async fn run_local(cfg: &LoadConfig) -> LoadReport {
    let tally = SharedTally::default();
    let connection = match connect(cfg).await {
        Ok(connection) => Some(connection),
        Err(e) => {
            tally
                .borrow_mut()
                .errors
                .add(format!("http/2 connection: {e}"));
            None
        }
    };
    let streams = match &connection {
        Some(connection) => open_streams(cfg, &connection.send_request, &tally).await,
        None => Vec::new(),
    };
    let mut report = run_opened(cfg, streams, tally).await;
    report.url = format!("{} over HTTP/2", report.url);
    if let Some(connection) = connection
        && let Err(e) = connection.shut_down().await
    {
        report.errors.add(format!("http/2 connection: {e}"));
    }
    report
}

/// The one HTTP/2 connection of a run.
struct H2Connection {
    send_request: SendRequest<Bytes>,
    /// The task driving the connection (`h2::client::Connection`).
    task: JoinHandle<Result<(), h2::Error>>,
}

impl H2Connection {
    /// Lets the connection end once its streams are done (h2 then sends
    /// GOAWAY) and reports how it ended.
    async fn shut_down(self) -> Result<(), ClientError> {
        let Self { send_request, task } = self;
        drop(send_request);
        let abort = task.abort_handle();
        match time::timeout(SHUTDOWN_TIMEOUT, task).await {
            Ok(Ok(result)) => Ok(result?),
            Ok(Err(e)) => Err(ClientError::Http2Refused(format!("connection task: {e}"))),
            Err(_) => {
                abort.abort();
                Err(ClientError::Timeout("HTTP/2 connection shutdown"))
            }
        }
    }
}

/// Connects, speaks the HTTP/2 preface (prior knowledge) and waits until the
/// server's SETTINGS enable extended CONNECT, all within the connect timeout.
async fn connect(cfg: &LoadConfig) -> Result<H2Connection, ClientError> {
    let mut task = None;
    let setup = async {
        let tcp = TcpStream::connect(cfg.target.addr).await?;
        tcp.set_nodelay(true)?;
        let (send_request, connection) = client::Builder::new()
            .initial_window_size(RECEIVE_WINDOW)
            .initial_connection_window_size(RECEIVE_WINDOW)
            .enable_push(false)
            .handshake::<_, Bytes>(tcp)
            .await?;
        let driving = task.insert(task::spawn_local(connection));
        let send_request = send_request.ready().await?;
        while !send_request.is_extended_connect_protocol_enabled() {
            if driving.is_finished() {
                let ended = driving.await;
                let why = match ended {
                    Ok(Err(e)) => format!("connection failed: {e}"),
                    Ok(Ok(())) => "connection ended".to_owned(),
                    Err(e) => format!("connection task: {e}"),
                };
                return Err(ClientError::Http2Refused(format!(
                    "{why} before extended CONNECT was enabled"
                )));
            }
            time::sleep(SETTINGS_POLL).await;
        }
        Ok(send_request)
    };
    let outcome = time::timeout(cfg.connect_timeout, setup).await;
    match (outcome, task) {
        (Ok(Ok(send_request)), Some(task)) => Ok(H2Connection { send_request, task }),
        (Ok(Err(e)), _) => Err(e),
        (Ok(Ok(_)), None) => unreachable!("the connection task starts before setup succeeds"),
        (Err(_), task) => {
            if let Some(task) = task {
                task.abort();
            }
            Err(ClientError::Http2Refused(format!(
                "no SETTINGS enabling extended CONNECT (RFC 8441) within {:?}",
                cfg.connect_timeout
            )))
        }
    }
}

/// Opens the WebSocket streams, `connect_concurrency` at a time, each within
/// the connect timeout; failures are counted as errors and the run goes on
/// with the rest. Streams beyond the server's concurrent-stream limit are
/// not opened (one error says so).
async fn open_streams(
    cfg: &LoadConfig,
    send_request: &SendRequest<Bytes>,
    tally: &SharedTally,
) -> Vec<H2Stream> {
    let limit = send_request.current_max_send_streams();
    let wanted = cfg.connections.min(limit);
    if wanted < cfg.connections {
        tally.borrow_mut().errors.add(format!(
            "the server allows {limit} concurrent streams; {} connections asked, {wanted} opened",
            cfg.connections
        ));
    }
    let target = Rc::new(cfg.target.clone());
    let timeout = cfg.connect_timeout;
    open_concurrently(wanted, cfg.connect_concurrency, tally, |_| {
        let (target, send_request) = (target.clone(), send_request.clone());
        async move {
            time::timeout(timeout, open_stream(send_request, &target))
                .await
                .map_err(|_| ClientError::Timeout("extended CONNECT"))?
        }
    })
    .await
}

/// The extended CONNECT request opening a WebSocket stream to `target`
/// (RFC 8441 §4-5): `:method CONNECT`, `:protocol websocket`, `:scheme http`,
/// `:path` and `:authority` from the target, `sec-websocket-version: 13`, no
/// key, no extensions offered.
pub fn connect_request(target: &Target) -> Request<()> {
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://{}{}", target.host_header, target.path))
        .header("sec-websocket-version", "13")
        .body(())
        .expect("a loopback target makes a valid URI");
    request
        .extensions_mut()
        .insert(Protocol::from_static("websocket"));
    request
}

/// Opens one WebSocket stream: the extended CONNECT, answered with 200.
async fn open_stream(
    send_request: SendRequest<Bytes>,
    target: &Target,
) -> Result<H2Stream, ClientError> {
    let mut send_request = send_request.ready().await?;
    let (response, send) = send_request.send_request(connect_request(target), false)?;
    let response = response.await?;
    if response.status() != StatusCode::OK {
        return Err(ClientError::Http2Refused(format!(
            "extended CONNECT answered with status {}",
            response.status()
        )));
    }
    // Nothing was offered, so nothing may be accepted (as in the HTTP/1.1 mode).
    if response.headers().contains_key("sec-websocket-extensions") {
        return Err(ClientError::Http2Refused(
            "the server accepted an extension that was not offered".into(),
        ));
    }
    Ok(H2Stream {
        send,
        recv: response.into_body(),
    })
}

/// One WebSocket connection: an HTTP/2 stream opened by extended CONNECT.
struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
}

impl Transport for H2Stream {
    async fn drive(self, driver: Driver, inflight: usize, close_timeout: Duration) {
        let Self { mut send, mut recv } = self;
        let closed = driver
            .drive(
                &mut recv,
                &mut send,
                FrameBuffer::default(),
                inflight,
                close_timeout,
            )
            .await;
        if closed {
            // Both close frames are through and our side has sent END_STREAM;
            // let the server end its side too, rather than resetting the
            // stream by dropping it.
            let _ = time::timeout(END_STREAM_WAIT, drain(&mut recv)).await;
        }
    }
}

/// Reads (and releases) whatever the server still sends until it ends the
/// stream.
async fn drain(recv: &mut RecvStream) {
    while let Some(Ok(chunk)) = recv.data().await {
        let _ = recv.flow_control().release_capacity(chunk.len());
    }
}

impl ByteSource for RecvStream {
    async fn read_into(&mut self, frames: &mut FrameBuffer) -> Result<usize, ClientError> {
        loop {
            let Some(chunk) = self.data().await else {
                return Ok(0);
            };
            let chunk = chunk?;
            if chunk.is_empty() {
                continue;
            }
            self.flow_control().release_capacity(chunk.len())?;
            frames.reserve_for_next_read(chunk.len());
            frames.extend_from_slice(&chunk);
            return Ok(chunk.len());
        }
    }
}

impl FrameSink for SendStream<Bytes> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        send_within_capacity(self, Bytes::copy_from_slice(bytes)).await
    }

    /// The ring's frame is handed to h2 by reference, not copied.
    async fn send_frame(
        &mut self,
        ring: &Arc<MessageRing>,
        slot: usize,
    ) -> Result<(), ClientError> {
        let frame = Bytes::from_owner(RingFrame {
            ring: ring.clone(),
            slot,
        });
        send_within_capacity(self, frame).await
    }

    /// Ends our side of the stream (END_STREAM). The close handshake is
    /// already complete, so a server that has reset the stream by now is
    /// not an error.
    async fn finish(&mut self) -> Result<(), ClientError> {
        let _ = self.send_data(Bytes::new(), true);
        Ok(())
    }
}

/// A pre-built frame of the ring, as the owner of a `Bytes`.
struct RingFrame {
    ring: Arc<MessageRing>,
    slot: usize,
}

impl AsRef<[u8]> for RingFrame {
    fn as_ref(&self) -> &[u8] {
        self.ring.frame(self.slot)
    }
}

/// Sends `data` as DATA frames no larger than the send capacity h2 grants
/// (the server's stream and connection windows, and h2's send buffer),
/// waiting for capacity whenever there is none.
async fn send_within_capacity(
    stream: &mut SendStream<Bytes>,
    mut data: Bytes,
) -> Result<(), ClientError> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let mut capacity = stream.capacity();
        while capacity == 0 {
            capacity = match poll_fn(|cx| stream.poll_capacity(cx)).await {
                Some(Ok(n)) => n,
                Some(Err(e)) => return Err(e.into()),
                None => {
                    return Err(ClientError::Http2Refused(
                        "stream closed while sending".into(),
                    ));
                }
            };
        }
        let chunk = data.split_to(capacity.min(data.len()));
        stream.send_data(chunk, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request_is_an_rfc8441_websocket_connect() {
        let target: Target = "ws://127.0.0.1:9001/chat?x=1".parse().unwrap();
        let request = connect_request(&target);
        assert_eq!(request.method(), Method::CONNECT);
        assert_eq!(request.uri().scheme_str(), Some("http"));
        assert_eq!(
            request.uri().authority().map(|a| a.as_str()),
            Some("127.0.0.1:9001")
        );
        assert_eq!(
            request.uri().path_and_query().map(|p| p.as_str()),
            Some("/chat?x=1")
        );
        assert_eq!(
            request.extensions().get::<Protocol>().map(Protocol::as_str),
            Some("websocket")
        );
        assert_eq!(request.headers()["sec-websocket-version"], "13");
        assert!(!request.headers().contains_key("sec-websocket-key"));
        assert!(!request.headers().contains_key("sec-websocket-extensions"));
    }

    #[test]
    fn ring_frames_are_shared_not_copied() {
        let ring = Arc::new(MessageRing::new(crate::payload::MessageKind::Binary, 1000));
        let bytes = Bytes::from_owner(RingFrame {
            ring: ring.clone(),
            slot: 3,
        });
        assert_eq!(&bytes[..], ring.frame(3));
        assert_eq!(bytes.as_ptr(), ring.frame(3).as_ptr());
    }
}
