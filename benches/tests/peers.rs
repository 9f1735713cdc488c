//! The peer echo servers, run as the binaries `echo-compare` starts: each
//! must echo verified load of both types (small and over 64 KiB), reassemble
//! a fragmented message, and answer the close handshake; `peer-axum` must do
//! the same over WebSocket streams of one HTTP/2 connection (`loadgen
//! --http2`).

use std::net::{Ipv4Addr, SocketAddr, TcpStream as StdTcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_benches::client;
use ws_benches::compare::servers::free_port;
use ws_benches::echo_check::{Echo, EchoChecker};
use ws_benches::h2load;
use ws_benches::load::{self, LoadConfig};
use ws_benches::payload::{MessageKind, MessageRing};
use ws_benches::target::Target;
use ws_benches::wire::{self, OpCode};

const PEERS: [&str; 6] = [
    env!("CARGO_BIN_EXE_peer-tungstenite"),
    env!("CARGO_BIN_EXE_peer-tungstenite-sync"),
    env!("CARGO_BIN_EXE_peer-fastwebsockets"),
    env!("CARGO_BIN_EXE_peer-tokio-websockets"),
    env!("CARGO_BIN_EXE_peer-sockudo"),
    PEER_AXUM,
];

/// The peer that also speaks HTTP/2 (extended CONNECT).
const PEER_AXUM: &str = env!("CARGO_BIN_EXE_peer-axum");

/// A peer server process, killed on drop.
struct Peer {
    child: Child,
    target: Target,
}

impl Peer {
    fn start(bin: &str) -> Self {
        let port = free_port().unwrap();
        let child = Command::new(bin)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while StdTcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "{bin} never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            target: Target::from_host_port("127.0.0.1", port).unwrap(),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A short verified load of 4 connections against `target`.
fn short_load(target: &Target, kind: MessageKind, size: usize) -> LoadConfig {
    LoadConfig {
        target: target.clone(),
        connections: 4,
        size,
        inflight: 8,
        kind,
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(250),
        connect_timeout: Duration::from_secs(5),
        connect_concurrency: 4,
        close_timeout: Duration::from_secs(5),
        server_pid: None,
        write_each: false,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn peers_echo_verified_load() {
    for bin in PEERS {
        let peer = Peer::start(bin);
        for (kind, size) in [(MessageKind::Binary, 20), (MessageKind::Text, 70_000)] {
            let report = load::run(&short_load(&peer.target, kind, size)).await;
            assert!(report.errors.is_empty(), "{bin}: {report}");
            assert_eq!(report.connections_open, 4, "{bin}: {report}");
            assert!(report.messages > 0, "{bin}: {report}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn peer_axum_echoes_verified_load_over_http2() {
    let peer = Peer::start(PEER_AXUM);
    for (kind, size) in [(MessageKind::Binary, 20), (MessageKind::Text, 70_000)] {
        let report = h2load::run(&short_load(&peer.target, kind, size)).await;
        assert!(report.errors.is_empty(), "{report}");
        assert_eq!(report.connections_open, 4, "{report}");
        assert!(report.messages > 0, "{report}");
    }
}

/// Appends one masked client frame with an explicit FIN bit.
fn fragment(fin: bool, opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    wire::encode_client_frame(opcode, payload, [9, 8, 7, 6], out);
    if !fin {
        out[start] &= 0x7F;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn peers_reassemble_fragments_and_answer_close() {
    let ring = Arc::new(MessageRing::new(MessageKind::Text, 3000));
    let message = ring.payload(0);
    for bin in PEERS {
        let peer = Peer::start(bin);
        let mut conn = client::open(&peer.target, 1, Duration::from_secs(5))
            .await
            .unwrap();
        let mut bytes = Vec::new();
        fragment(false, OpCode::Text, &message[..1000], &mut bytes);
        fragment(true, OpCode::Ping, b"p", &mut bytes);
        fragment(
            false,
            OpCode::Continuation,
            &message[1000..2000],
            &mut bytes,
        );
        fragment(true, OpCode::Continuation, &message[2000..], &mut bytes);
        conn.stream.write_all(&bytes).await.unwrap();

        // The close frame goes out only once the echo is back (see loadgen:
        // peer-tungstenite drops a message still queued when close arrives).
        let mut checker = EchoChecker::new(ring.clone(), 0);
        let (mut echoed, mut ponged, mut closed) = (false, false, false);
        let read_all = async {
            while !closed {
                while let Some(frame) = conn.frames.next_frame().unwrap() {
                    match checker.check(frame).unwrap() {
                        Echo::Complete => {
                            echoed = true;
                            let close = wire::client_close_frame(1000, [1, 2, 3, 4]);
                            conn.stream.write_all(&close).await.unwrap();
                        }
                        Echo::Pong => ponged = true,
                        Echo::Close(code) => {
                            assert_eq!(code, Some(1000), "{bin}");
                            closed = true;
                        }
                        Echo::Fragment | Echo::Ping(_) => {}
                    }
                }
                if closed {
                    break;
                }
                conn.frames.reserve_for_next_read(4096);
                let n = conn.stream.read_buf(conn.frames.buf_mut()).await.unwrap();
                assert!(n > 0, "{bin}: EOF before the close reply");
            }
        };
        tokio::time::timeout(Duration::from_secs(5), read_all)
            .await
            .unwrap_or_else(|_| panic!("{bin}: no close reply"));
        assert!(echoed && ponged, "{bin}: echoed {echoed}, ponged {ponged}");
    }
}
