//! The idle-memory client: open `N` connections, echo one message on each
//! (so every connection has done real work), then hold them all open until
//! released, while someone else samples the server's memory.

use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::{self, LocalSet};
use tokio::time::{self, Instant};

use crate::client::{self, ClientError, Connection};
use crate::echo_check::{Echo, EchoChecker, EchoError};
use crate::payload::{MessageKind, MessageRing, mask_for};
use crate::report::{ErrorTally, IdleReport};
use crate::target::Target;
use crate::wire;

/// Read-buffer step while echoing: small, since the client holds thousands
/// of connections at once.
const IDLE_READ_CHUNK: usize = 4096;

/// Parameters of one idle-memory run.
#[derive(Clone, Debug)]
pub struct IdleConfig {
    /// The server.
    pub target: Target,
    /// Connections to open and hold.
    pub connections: usize,
    /// Payload bytes of the one echo per connection.
    pub size: usize,
    /// Limit for each connection's connect, upgrade and echo.
    pub connect_timeout: Duration,
    /// Connections being opened at the same time.
    pub connect_concurrency: usize,
    /// Longest time the connections are held if never released.
    pub max_hold: Duration,
}

/// Opens the connections, calls `ready` with how many are open, holds them
/// until `release` completes (or `max_hold` passes), then closes them.
pub async fn run(
    cfg: &IdleConfig,
    ready: impl FnOnce(usize),
    release: impl Future<Output = ()>,
) -> IdleReport {
    LocalSet::new()
        .run_until(run_local(cfg, ready, release))
        .await
}

async fn run_local(
    cfg: &IdleConfig,
    ready: impl FnOnce(usize),
    release: impl Future<Output = ()>,
) -> IdleReport {
    let started = Instant::now();
    let mut errors = ErrorTally::default();
    let ring = Arc::new(MessageRing::new(MessageKind::Binary, cfg.size));
    let target = Rc::new(cfg.target.clone());
    let permits = Rc::new(Semaphore::new(cfg.connect_concurrency.max(1)));
    let handles: Vec<_> = (0..cfg.connections)
        .map(|id| {
            let (target, permits, ring) = (target.clone(), permits.clone(), ring.clone());
            let timeout = cfg.connect_timeout;
            task::spawn_local(async move {
                let _permit = permits.acquire().await;
                let work = async {
                    let conn = client::open(&target, id as u64, timeout).await?;
                    echo_once(conn, ring).await
                };
                time::timeout(timeout, work)
                    .await
                    .map_err(|_| ClientError::Timeout("connect, upgrade and echo"))?
            })
        })
        .collect();
    let mut streams = Vec::with_capacity(cfg.connections);
    for (id, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(stream)) => streams.push(stream),
            Ok(Err(e)) => errors.add(format!("connection {id}: {e}")),
            Err(e) => errors.add(format!("connection {id}: {e}")),
        }
    }
    let setup_s = started.elapsed().as_secs_f64();

    let connections_ready = streams.len();
    ready(connections_ready);
    let held = Instant::now();
    tokio::select! {
        () = release => {}
        () = time::sleep(cfg.max_hold) => {}
    }
    let held_s = held.elapsed().as_secs_f64();

    // Say goodbye without waiting for answers; the sockets close on drop.
    let close = wire::client_close_frame(1000, mask_for(0));
    for stream in &streams {
        let _ = stream.try_write(&close);
    }
    drop(streams);

    IdleReport {
        url: cfg.target.to_string(),
        connections: cfg.connections,
        connections_ready,
        setup_s,
        held_s,
        errors,
    }
}

/// Sends the ring's first message and waits for its verified echo.
async fn echo_once(conn: Connection, ring: Arc<MessageRing>) -> Result<TcpStream, ClientError> {
    let Connection {
        mut stream,
        mut frames,
    } = conn;
    stream.write_all(ring.frame(0)).await?;
    let mut checker = EchoChecker::new(ring, 0);
    loop {
        while let Some(frame) = frames.next_frame().map_err(EchoError::from)? {
            match checker.check(frame)? {
                Echo::Complete => return Ok(stream),
                Echo::Close(code) => return Err(ClientError::UnexpectedClose(code)),
                Echo::Fragment | Echo::Ping(_) | Echo::Pong => {}
            }
        }
        frames.reserve_for_next_read(IDLE_READ_CHUNK);
        if stream.read_buf(frames.buf_mut()).await? == 0 {
            return Err(ClientError::Eof);
        }
    }
}
