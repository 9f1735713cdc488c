//! The echo example's `--split` mode (a reader task and a writer task joined by a channel, the shape of
//! an application that splits), which the benchmarks use to measure what a split costs: a burst of
//! messages, small and large, comes back whole and in order, and the close handshake still completes.

use std::time::Duration;

use tokio::time::timeout;
use ws_tokio::{CloseCode, Message};

#[path = "../examples/tokio_echo_server.rs"]
#[allow(dead_code)]
mod example;
mod served;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_echo_returns_a_burst_whole_and_in_order() {
    let (addr, shutdown, server) = served::serve(
        ws_testkit::echo_config(),
        Duration::from_secs(5),
        example::echo_split,
    )
    .await;
    let (mut ws, _) = timeout(LIMIT, ws_tokio::connect(&format!("ws://{addr}/")))
        .await
        .unwrap()
        .unwrap();
    let large: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let messages: Vec<Message> = (0..2000)
        .map(|i| match i % 500 {
            499 => Message::from(large.clone()),
            _ => Message::from(format!("message {i}")),
        })
        .collect();
    let sending = async {
        for message in &messages {
            ws.feed(message.clone()).await.unwrap();
        }
        ws.flush().await.unwrap();
    };
    timeout(LIMIT, sending).await.expect("sent in time");
    for (i, sent) in messages.iter().enumerate() {
        let echo = timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
        assert!(echo == *sent, "echo {i} differs from its message");
    }
    timeout(LIMIT, ws.close(CloseCode::NORMAL, "done"))
        .await
        .unwrap()
        .unwrap();
    assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::NORMAL));
    assert!(
        timeout(LIMIT, async {
            while shutdown.active() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .is_ok(),
        "the split handler ended after the close"
    );
    shutdown.trigger();
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
}
