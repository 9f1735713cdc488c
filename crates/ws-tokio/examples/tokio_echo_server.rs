//! Echo server on tokio: `tokio_echo_server --port N` (binds 127.0.0.1). Echoes every message back.
//!
//! `--split` echoes through split halves instead, the way an application with a reader task and a writer
//! task does: the reader forwards each message over a channel to a writer task spawned for the
//! connection (used to measure what the split costs; see `benches/README.md`). `--threads N` runs on a
//! multi-threaded runtime with N workers (default: one thread).

use futures_util::StreamExt;
use tokio::sync::mpsc;

fn main() -> std::io::Result<()> {
    let port = ws_testkit::port_arg(9001);
    let split = std::env::args().any(|a| a == "--split");
    let threads: usize = ws_testkit::arg("threads")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let runtime = if threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let config = ws_testkit::echo_config();
        if split {
            ws_tokio::serve(listener, config, echo_split).await
        } else {
            ws_tokio::serve(listener, config, ws_testkit::echo).await
        }
    })
}

/// Echoes through split halves: this task reads, a spawned task writes. The writer feeds whatever the
/// channel holds and flushes when it runs dry, so a burst still leaves in few writes.
pub(crate) async fn echo_split(ws: ws_tokio::WebSocket) {
    let (mut reader, mut writer) = ws.split();
    let (tx, mut rx) = mpsc::channel(64);
    let writing = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if writer.feed(message).await.is_err() {
                return;
            }
            while let Ok(message) = rx.try_recv() {
                if writer.feed(message).await.is_err() {
                    return;
                }
            }
            if writer.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = reader.next().await {
        if tx.send(message).await.is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writing.await;
}
