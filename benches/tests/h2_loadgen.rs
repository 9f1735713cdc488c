//! End-to-end checks of `loadgen --http2` against a tiny in-process HTTP/2
//! echo server (on the `h2` crate, like the load generator itself) that can
//! be told to misbehave: faithful echoes over extended CONNECT streams must
//! give zero errors, and corruption, a refused CONNECT, a server without
//! extended CONNECT and a stream limit must all be counted.

use std::time::Duration;

use bytes::Bytes;
use h2::ext::Protocol;
use h2::server::{self, SendResponse};
use h2::{RecvStream, SendStream};
use http::{Method, Request, Response, StatusCode};
use tokio::net::{TcpListener, TcpStream};
use ws_benches::h2load;
use ws_benches::load::LoadConfig;
use ws_benches::payload::MessageKind;
use ws_benches::report::LoadReport;
use ws_benches::target::Target;
use ws_testkit::wire;

/// How the test server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Echo faithfully.
    Faithful,
    /// Flip one payload bit of message 5 of each stream.
    FlipBit,
    /// Answer every extended CONNECT with 403.
    Refuse,
    /// Do not enable extended CONNECT in SETTINGS.
    NoExtendedConnect,
    /// Allow only 2 concurrent streams.
    TwoStreams,
}

const TARGET_MESSAGE: u64 = 5;

/// The server's receive window per stream: small, so that the client's
/// larger frames must wait for capacity and go out in pieces.
const SERVER_WINDOW: u32 = 16 * 1024;

async fn serve(listener: TcpListener, behaviour: Behaviour) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let _ = connection(tcp, behaviour).await;
        });
    }
}

async fn connection(tcp: TcpStream, behaviour: Behaviour) -> Result<(), h2::Error> {
    let mut builder = server::Builder::new();
    builder.initial_window_size(SERVER_WINDOW);
    if behaviour != Behaviour::NoExtendedConnect {
        builder.enable_connect_protocol();
    }
    if behaviour == Behaviour::TwoStreams {
        builder.max_concurrent_streams(2);
    }
    let mut conn = builder.handshake::<_, Bytes>(tcp).await?;
    while let Some(accepted) = conn.accept().await {
        let (request, respond) = accepted?;
        tokio::spawn(async move {
            let _ = stream(request, respond, behaviour).await;
        });
    }
    Ok(())
}

/// Serves one extended CONNECT stream: checks the request, answers 200 and
/// echoes every data frame unmasked until the close frame, which it answers
/// before ending the stream (once the client has ended its side).
async fn stream(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    behaviour: Behaviour,
) -> Result<(), h2::Error> {
    let is_websocket = request.method() == Method::CONNECT
        && request.extensions().get::<Protocol>().map(Protocol::as_str) == Some("websocket")
        && request.headers()["sec-websocket-version"] == "13"
        && request.uri().scheme_str() == Some("http")
        && request.uri().path() == "/";
    let status = match behaviour {
        _ if !is_websocket => StatusCode::BAD_REQUEST,
        Behaviour::Refuse => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    };
    let response = Response::builder().status(status).body(()).unwrap();
    let mut send = respond.send_response(response, status != StatusCode::OK)?;
    if status != StatusCode::OK {
        return Ok(());
    }
    let mut recv = request.into_body();
    let mut buf = Vec::new();
    let mut count = 0u64;
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        recv.flow_control().release_capacity(chunk.len())?;
        buf.extend_from_slice(&chunk);
        let (frames, used) = wire::parse_frames_prefix(&buf);
        buf.drain(..used);
        for frame in frames {
            assert!(frame.masked, "client frames are masked");
            if frame.opcode == 0x8 {
                send_all(&mut send, wire::frame(0x88, &frame.payload, None)).await?;
                send.send_data(Bytes::new(), true)?;
                // Wait for the client's END_STREAM rather than resetting.
                while let Some(chunk) = recv.data().await {
                    recv.flow_control().release_capacity(chunk?.len())?;
                }
                return Ok(());
            }
            count += 1;
            let mut payload = frame.payload;
            if behaviour == Behaviour::FlipBit && count == TARGET_MESSAGE {
                let i = payload.len() / 2;
                payload[i] ^= 0x04;
            }
            let first = wire::first_byte(frame.fin, 0, frame.opcode);
            send_all(&mut send, wire::frame(first, &payload, None)).await?;
        }
    }
    Ok(())
}

/// Sends `bytes`, waiting for send capacity.
async fn send_all(send: &mut SendStream<Bytes>, bytes: Vec<u8>) -> Result<(), h2::Error> {
    let mut data = Bytes::from(bytes);
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let mut capacity = send.capacity();
        while capacity == 0 {
            capacity = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(result) => result?,
                None => return Ok(()),
            };
        }
        send.send_data(data.split_to(capacity.min(data.len())), false)?;
    }
    Ok(())
}

/// Runs a short `--http2` load of `connections` streams against a test
/// server behaving as told.
async fn run_against(
    behaviour: Behaviour,
    kind: MessageKind,
    size: usize,
    connections: usize,
) -> LoadReport {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(serve(listener, behaviour));
    let cfg = LoadConfig {
        target: Target::from_host_port("127.0.0.1", port).unwrap(),
        connections,
        size,
        inflight: 4,
        kind,
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(300),
        // Short: the server without extended CONNECT is waited for this long.
        connect_timeout: Duration::from_millis(500),
        connect_concurrency: 2,
        close_timeout: Duration::from_secs(5),
        server_pid: Some(std::process::id()),
        write_each: false,
    };
    let report = h2load::run(&cfg).await;
    server.abort();
    report
}

fn assert_error(report: &LoadReport, needle: &str) {
    assert!(report.errors.count > 0, "no error counted: {report}");
    assert!(
        report.errors.samples.iter().any(|s| s.contains(needle)),
        "no error mentions {needle:?}: {report}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn faithful_echoes_over_http2_give_no_errors() {
    for (kind, size) in [
        (MessageKind::Binary, 20),
        (MessageKind::Text, 1024),
        // Frames of 70,000 bytes against a 16 KiB window: sent in pieces.
        (MessageKind::Binary, 70_000),
    ] {
        let report = run_against(Behaviour::Faithful, kind, size, 3).await;
        assert!(report.errors.is_empty(), "{report}");
        assert_eq!(report.connections_open, 3);
        assert!(report.messages > 0, "{report}");
        assert!(report.total_echoes >= report.messages);
        assert!(report.url.ends_with("over HTTP/2"), "{}", report.url);
        assert!(report.server_cpu_s.is_some());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_flipped_bit_is_caught_over_http2() {
    let report = run_against(Behaviour::FlipBit, MessageKind::Binary, 20, 3).await;
    assert_error(&report, "echo differs at byte 10");
    assert_eq!(report.errors.count, 3, "{report}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_connect_is_an_error() {
    let report = run_against(Behaviour::Refuse, MessageKind::Binary, 20, 2).await;
    assert_error(&report, "status 403");
    assert_eq!(report.connections_open, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_without_extended_connect_is_an_error() {
    let report = run_against(Behaviour::NoExtendedConnect, MessageKind::Binary, 20, 2).await;
    assert_error(&report, "no SETTINGS enabling extended CONNECT");
    assert_eq!(report.connections_open, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn streams_beyond_the_server_limit_are_an_error() {
    let report = run_against(Behaviour::TwoStreams, MessageKind::Binary, 20, 3).await;
    assert_error(&report, "allows 2 concurrent streams");
    assert_eq!(report.errors.count, 1, "{report}");
    assert_eq!(report.connections_open, 2);
    assert!(report.messages > 0, "{report}");
}
