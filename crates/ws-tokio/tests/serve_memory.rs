//! `serve` keeps nothing of the connections that ended.
//!
//! This test has a binary of its own because it counts the bytes the whole process holds live through a
//! counting global allocator: no other test may allocate meanwhile. Counting live bytes (not RSS) makes
//! the bound exact: the allocator's caching and arenas do not blur it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::timeout;
use ws_tokio::{CloseCode, Config, Shutdown};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counter is only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as is; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LIMIT: Duration = Duration::from_secs(10);

/// Connections per measured round.
const ROUND: usize = 2_000;

/// While one connection stays open, 3 x 2,000 more connect, echo once and close; the bytes held live
/// after the third round may exceed those after the first by less than 8 per ended connection (a leaked
/// waker entry or task would cost tens to thousands), and the switch counts only the connection kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_no_memory_of_ended_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(ws_tokio::serve_until(
        listener,
        Config::default(),
        shutdown.clone(),
        Duration::from_secs(1),
        ws_testkit::echo,
    ));
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
        after_round.push(LIVE.load(Ordering::Relaxed));
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
