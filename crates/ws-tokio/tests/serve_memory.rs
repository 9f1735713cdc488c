//! What `serve` keeps per connection: nothing once a connection ended, little while it idles.
//!
//! These measurements have a binary of their own, and run in one test, because they count the bytes the
//! whole process holds live through a counting global allocator: no other test may allocate meanwhile. Counting live bytes (not RSS) makes
//! the bound exact: the allocator's caching and arenas do not blur it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use ws_testkit::raw;
use ws_tokio::{CloseCode, Config, Shutdown};

mod hostile;
mod served;

#[path = "../../ws-core/tests/common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, live_bytes};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LIMIT: Duration = Duration::from_secs(10);

/// Both measurements, one after the other, in one test: they count the whole process's live bytes, so
/// nothing else may run meanwhile, and the threads must stay the same throughout. (As two tests they
/// failed about one run in three: the first test's runtime threads, exiting while the second measured,
/// freed their per-thread read buffers, 256 KiB each, and the baseline came out negative.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_memory_stays_bounded() {
    serve_keeps_no_memory_of_ended_connections().await;
    an_idle_server_connection_costs_under_2_kib_beyond_its_socket().await;
}

/// Connections per measured round.
const ROUND: usize = 2_000;

/// While one connection stays open, 3 x 2,000 more connect, echo once and close; the bytes held live
/// after the third round may exceed those after the first by less than 8 per ended connection (a leaked
/// waker entry or task would cost tens to thousands), and the switch counts only the connection kept.
async fn serve_keeps_no_memory_of_ended_connections() {
    let (addr, shutdown, server) = echo_server().await;
    let url = format!("ws://{addr}/");
    let (mut kept, _) = timeout(LIMIT, ws_tokio::connect(&url))
        .await
        .unwrap()
        .unwrap();
    kept.send("kept").await.unwrap();
    timeout(LIMIT, kept.recv()).await.unwrap().unwrap().unwrap();
    let mut after_round = Vec::new();
    for _ in 0..3 {
        timeout(Duration::from_secs(60), async {
            for i in 0..ROUND {
                let (mut ws, _) = ws_tokio::connect(&url).await.unwrap();
                ws.send(i.to_string()).await.unwrap();
                ws.recv().await.unwrap().unwrap();
                ws.close(CloseCode::NORMAL, "").await.unwrap();
            }
            // The server side of the last connection ends just after the client sees its close.
            while shutdown.active() > 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("a round in time");
        after_round.push(live_bytes());
    }
    let growth = after_round[2] - after_round[0];
    let per_connection = growth / (2 * ROUND) as isize;
    eprintln!("live bytes after each round: {after_round:?}; growth {growth} B");
    assert_eq!(shutdown.active(), 1, "only the kept connection is active");
    shutdown.trigger();
    drop(kept);
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    assert!(
        per_connection < 8,
        "live bytes grew by {growth} B over {} connections that ended ({per_connection} B each)",
        2 * ROUND
    );
}

/// Opens `n` raw TCP connections to `addr`, each completing the WebSocket handshake and one 2-byte echo
/// when `websocket` is set, and returns them open.
async fn open_raw(addr: SocketAddr, n: usize, websocket: bool) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        if websocket {
            hostile::handshake(&mut tcp, "").await.unwrap();
            tcp.write_all(&hostile::frame(true, 0, raw::TEXT, b"hi"))
                .await
                .unwrap();
            let echo = hostile::read_frame(&mut tcp).await.unwrap();
            assert_eq!(
                (echo.opcode, echo.payload.as_slice()),
                (raw::TEXT, &b"hi"[..])
            );
        }
        streams.push(tcp);
    }
    streams
}

/// Starts `serve_until` with the echo handler on a fresh loopback port.
async fn echo_server() -> (SocketAddr, Shutdown, JoinHandle<std::io::Result<()>>) {
    served::serve(Config::default(), Duration::from_secs(1), ws_testkit::echo).await
}

/// What an idle server connection costs beyond its TCP socket: 1,000 connections each after one echo,
/// against 1,000 plain TCP connections held by a bare accept loop (both ends live in this process, so
/// the sockets' own cost cancels out). The bound, 2 KiB, is the task with the echo handler's future
/// (about 650 B: the socket, its engine and the pending `recv`), the task header, the keepalive timer
/// and the shutdown switch's waker; no buffer is held.
async fn an_idle_server_connection_costs_under_2_kib_beyond_its_socket() {
    const N: usize = 1_000;
    // Baseline: a bare accept loop holding every accepted socket.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (held_tx, mut held_rx) = tokio::sync::mpsc::unbounded_channel();
    let bare = tokio::spawn(async move {
        let mut held = Vec::with_capacity(N);
        while held.len() < N {
            held.push(listener.accept().await.unwrap().0);
        }
        held_tx.send(held).unwrap();
    });
    let before = live_bytes();
    let clients = timeout(LIMIT, open_raw(addr, N, false)).await.unwrap();
    timeout(LIMIT, bare).await.unwrap().unwrap();
    let held = held_rx.recv().await.unwrap();
    let plain = live_bytes() - before;
    drop((clients, held));

    let (addr, shutdown, server) = echo_server().await;
    let before = live_bytes();
    let clients = timeout(LIMIT, open_raw(addr, N, true)).await.unwrap();
    let websocket = live_bytes() - before;
    let per_connection = (websocket - plain) / N as isize;
    eprintln!(
        "{N} idle connections: plain TCP {plain} B, WebSocket after one echo {websocket} B: \
         {per_connection} B per connection beyond its socket"
    );
    shutdown.trigger();
    drop(clients);
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    assert!(
        per_connection < 2048,
        "{per_connection} B per idle connection beyond its socket"
    );
}
