//! End-to-end checks of the load generator against a tiny in-process echo
//! server that can be told to misbehave: faithful echoes must give zero
//! errors, and every kind of corruption must be counted.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_benches::handshake::accept_for;
use ws_benches::load::{self, LoadConfig};
use ws_benches::payload::MessageKind;
use ws_benches::report::LoadReport;
use ws_benches::target::Target;
use ws_testkit::wire;

/// How the test server treats the `n`-th message of a connection.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Echo faithfully.
    Faithful,
    /// Echo every message in two fragments.
    Fragmented,
    /// Flip one payload bit of message 5.
    FlipBit,
    /// Echo message 5 with the other data opcode.
    SwapType,
    /// Never echo message 5.
    DropOne,
    /// Echo message 5 twice.
    Duplicate,
    /// Answer the close frame with silence.
    IgnoreClose,
}

const TARGET_MESSAGE: u64 = 5;

/// Server frame bytes (unmasked).
fn frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    wire::frame(first_byte, payload, None)
}

async fn serve(listener: TcpListener, behaviour: Behaviour) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let _ = echo(stream, behaviour).await;
        });
    }
}

async fn echo(mut stream: TcpStream, behaviour: Behaviour) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request has a key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(key.trim())
    );
    stream.write_all(response.as_bytes()).await?;
    buf.drain(..head_end);

    let mut count = 0u64;
    loop {
        // Parse one masked client frame.
        let frame_len = loop {
            if let Some(header) = wire::peek_header(&buf) {
                let total = header.header_len + header.len as usize;
                if buf.len() >= total {
                    break total;
                }
            }
            let mut chunk = vec![0u8; 64 * 1024];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let raw: Vec<u8> = buf.drain(..frame_len).collect();
        let wire::Frame {
            opcode,
            mut payload,
            ..
        } = wire::parse_frames(&raw).remove(0);
        if opcode == 0x8 {
            if !matches!(behaviour, Behaviour::IgnoreClose) {
                stream.write_all(&frame(0x88, &payload)).await?;
            }
            // Hold the socket open a little, as a hung server would.
            tokio::time::sleep(Duration::from_secs(2)).await;
            return Ok(());
        }
        count += 1;
        let hit = count == TARGET_MESSAGE;
        let out = match behaviour {
            Behaviour::Fragmented if payload.len() >= 2 => {
                let half = payload.len() / 2;
                let mut out = frame(opcode, &payload[..half]);
                out.extend(frame(0x80, &payload[half..]));
                out
            }
            Behaviour::FlipBit if hit => {
                let i = payload.len() / 2;
                payload[i] ^= 0x04;
                frame(0x80 | opcode, &payload)
            }
            Behaviour::SwapType if hit => frame(0x80 | (opcode ^ 0x3), &payload),
            Behaviour::DropOne if hit => Vec::new(),
            Behaviour::Duplicate if hit => {
                let mut out = frame(0x80 | opcode, &payload);
                out.extend(frame(0x80 | opcode, &payload));
                out
            }
            _ => frame(0x80 | opcode, &payload),
        };
        stream.write_all(&out).await?;
    }
}

/// Runs a short load against a test server behaving as told.
async fn run_against(behaviour: Behaviour, kind: MessageKind, size: usize) -> LoadReport {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(serve(listener, behaviour));
    let cfg = LoadConfig {
        target: Target::from_host_port("127.0.0.1", port).unwrap(),
        connections: 3,
        size,
        inflight: 4,
        kind,
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(5),
        connect_concurrency: 2,
        // Short only where the timeout is what the test is about.
        close_timeout: match behaviour {
            Behaviour::IgnoreClose => Duration::from_millis(700),
            _ => Duration::from_secs(5),
        },
        server_pid: Some(std::process::id()),
        write_each: false,
    };
    let report = load::run(&cfg).await;
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
async fn faithful_echoes_give_no_errors() {
    for (kind, size) in [
        (MessageKind::Binary, 20),
        (MessageKind::Text, 1024),
        (MessageKind::Binary, 70_000),
    ] {
        let report = run_against(Behaviour::Faithful, kind, size).await;
        assert!(report.errors.is_empty(), "{report}");
        assert_eq!(report.connections_open, 3);
        assert!(report.messages > 0, "{report}");
        assert!(report.total_echoes >= report.messages);
        assert!(report.latency.p50_us > 0.0 && report.latency.p99_us >= report.latency.p50_us);
        assert!(report.server_cpu_s.is_some());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn fragmented_echoes_are_reassembled() {
    let report = run_against(Behaviour::Fragmented, MessageKind::Text, 1000).await;
    assert!(report.errors.is_empty(), "{report}");
    assert!(report.messages > 0, "{report}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_flipped_bit_is_caught() {
    let report = run_against(Behaviour::FlipBit, MessageKind::Binary, 20).await;
    assert_error(&report, "echo differs at byte 10");
    // One error per connection: each stops at its corrupt echo.
    assert_eq!(report.errors.count, 3, "{report}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_changed_message_type_is_caught() {
    let report = run_against(Behaviour::SwapType, MessageKind::Text, 20).await;
    assert_error(&report, "opcode Binary, sent Text");
}

#[tokio::test(flavor = "current_thread")]
async fn a_lost_or_duplicated_echo_is_caught() {
    // A lost echo shifts every later one onto the wrong ring slot.
    let report = run_against(Behaviour::DropOne, MessageKind::Binary, 64).await;
    assert_error(&report, "echo differs");
    let report = run_against(Behaviour::Duplicate, MessageKind::Binary, 64).await;
    assert_error(&report, "echo differs");
}

#[tokio::test(flavor = "current_thread")]
async fn an_unanswered_close_is_an_error() {
    let report = run_against(Behaviour::IgnoreClose, MessageKind::Binary, 20).await;
    assert_error(&report, "timed out");
    assert!(report.messages > 0, "{report}");
}
