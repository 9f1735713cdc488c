//! Broadcast server on tokio: `tokio_broadcast_server --port N [--deflate]` (binds 127.0.0.1). Every
//! message any client sends goes to every connected client, the sender included.
//!
//! Written the way an application would: a registry of subscribers (a mutex around a map from
//! connection id to the sending end of a bounded queue); each connection is split, its reader publishes
//! what its client sends as a [`PreparedMessage`] (framed once, shared by every queue), and a writer
//! task takes what its queue holds (`recv_many`, up to 64), `feed`s it all and flushes once, so
//! broadcasts that queued up while the socket was busy leave in one write. A subscriber whose queue is
//! full misses the message (`try_send`), so one slow client never holds the others back.
//!
//! `--deflate` accepts permessage-deflate with `ws_tokio::broadcast_config()` (no context takeover on
//! the server's side: each message is compressed once, for every subscriber); without it, no extension
//! is accepted. Used by the fan-out benchmark (`benches/README.md`, "Fan-out").

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use ws_tokio::{Config, Message, PreparedMessage, WebSocket};

/// What the registry queues for each subscriber: a reference to the one prepared frame.
type Item = PreparedMessage;

/// Items queued for one subscriber before further ones are dropped for it.
const QUEUE: usize = 1024;

/// The most queued items a writer takes at once: they leave in one write.
const BATCH: usize = 64;

/// Every connected client's queue.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    subscribers: Mutex<HashMap<u64, mpsc::Sender<Item>>>,
}

impl Registry {
    /// Adds a subscriber; returns its id and the receiving end of its queue.
    fn subscribe(&self) -> (u64, mpsc::Receiver<Item>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, outgoing) = mpsc::channel(QUEUE);
        lock(&self.subscribers).insert(id, queue);
        (id, outgoing)
    }

    fn unsubscribe(&self, id: u64) {
        lock(&self.subscribers).remove(&id);
    }

    /// Queues `message` for every subscriber.
    fn publish(&self, message: Message) {
        let item = PreparedMessage::new(message);
        for queue in lock(&self.subscribers).values() {
            deliver(queue, &item);
        }
    }
}

/// Queues `item` for one subscriber; a full queue drops it for that subscriber.
fn deliver(queue: &mpsc::Sender<Item>, item: &Item) {
    let _ = queue.try_send(item.clone());
}

/// Locks a mutex, ignoring poisoning (every update is a single insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn main() -> std::io::Result<()> {
    let port = ws_testkit::port_arg(9001);
    let config = if std::env::args().any(|a| a == "--deflate") {
        ws_tokio::broadcast_config()
    } else {
        Config::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let registry = Arc::new(Registry::default());
        ws_tokio::serve(listener, config, move |ws| connection(ws, registry.clone())).await
    })
}

/// One client: this task reads and publishes, a spawned task writes its queue.
async fn connection(ws: WebSocket, registry: Arc<Registry>) {
    let (mut reader, mut writer) = ws.split();
    let (id, mut outgoing) = registry.subscribe();
    let writing = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while outgoing.recv_many(&mut batch, BATCH).await > 0 {
            for item in batch.drain(..) {
                if writer.feed(item).await.is_err() {
                    return;
                }
            }
            if writer.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = reader.recv().await {
        registry.publish(message);
    }
    // Dropping the registry's sender lets the writer drain its queue and end.
    registry.unsubscribe(id);
    let _ = writing.await;
}
