//! Graceful shutdown: `serve_until` stops accepting, closes every connection with 1001 and returns once
//! they have ended (or the grace period ran out).

use std::time::{Duration, Instant};

use tokio::time::timeout;
use ws_tokio::{CloseCode, Message};

mod served;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn shutdown_closes_every_connection_with_1001_and_returns() {
    let (addr, shutdown, server) = served::serve(
        ws_tokio::default_config(),
        Duration::from_secs(5),
        ws_testkit::echo,
    )
    .await;
    let url = format!("ws://{addr}/");
    let mut clients = Vec::new();
    for i in 0..3 {
        let (mut ws, _) = timeout(LIMIT, ws_tokio::connect(&url))
            .await
            .unwrap()
            .unwrap();
        ws.send(format!("hello {i}")).await.unwrap();
        let echo = timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
        assert_eq!(echo, Message::from(format!("hello {i}")));
        clients.push(ws);
    }
    assert_eq!(shutdown.active(), 3);

    let started = Instant::now();
    shutdown.trigger();
    for ws in &mut clients {
        assert!(
            timeout(LIMIT, ws.recv()).await.unwrap().is_none(),
            "the stream ends cleanly"
        );
        let frame = ws.close_frame().expect("the server sent a close frame");
        assert_eq!(frame.code, CloseCode::GOING_AWAY);
        assert_eq!(frame.reason.as_str(), "server shutting down");
    }
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned before the grace period: all ended"
    );
    assert_eq!(shutdown.active(), 0);
    assert!(
        ws_tokio::connect(&url).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn shutdown_gives_up_after_the_grace_period() {
    // A handler that never reads: its connection cannot see the shutdown, so only the grace period ends it.
    let (addr, shutdown, server) = served::serve(
        ws_tokio::default_config(),
        Duration::from_millis(300),
        |ws| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(ws);
        },
    )
    .await;
    let (_ws, _) = timeout(LIMIT, ws_tokio::connect(&format!("ws://{addr}/")))
        .await
        .unwrap()
        .unwrap();
    let registered = async {
        while shutdown.active() == 0 {
            tokio::task::yield_now().await;
        }
    };
    timeout(LIMIT, registered)
        .await
        .expect("the server took the connection");
    let started = Instant::now();
    shutdown.trigger();
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
}
