//! The echo load itself: `C` connections, each keeping `K` messages in
//! flight (send `K`, then one more each time an echo comes back), every echo
//! checked byte for byte, throughput and latency counted inside a fixed
//! measurement window that follows a warm-up.
//!
//! Everything runs on one thread: [`run`] drives a `LocalSet` with one task
//! per connection, whose reader and writer halves share plain `Cell`s.
//!
//! The workload does not care what carries the frames: the driver reads
//! through a `ByteSource` and writes through a `FrameSink`, implemented
//! here for the two halves of a TCP connection (HTTP/1.1 upgrade) and in
//! [`crate::h2load`] for the two halves of an HTTP/2 stream (RFC 8441).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{Notify, Semaphore};
use tokio::task::{self, LocalSet};
use tokio::time::{self, Instant};

use crate::client::{self, ClientError, Connection};
use crate::echo_check::{Echo, EchoChecker, EchoError};
use crate::latency::LatencyRecorder;
use crate::payload::{MessageKind, MessageRing, mask_for};
use crate::procfs;
use crate::report::{ErrorTally, LoadReport};
use crate::target::Target;
use crate::wire::{self, OpCode};

/// Spare room the read buffer gets before each read.
const READ_CHUNK: usize = 64 * 1024;

/// Frames up to this size are copied into one buffer and written together;
/// larger ones are written one by one, straight from the ring.
const BATCH_FRAME_LIMIT: usize = 4096;

/// Parameters of one load run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The server.
    pub target: Target,
    /// Connections to open.
    pub connections: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages outstanding per connection.
    pub inflight: usize,
    /// Text or binary messages.
    pub kind: MessageKind,
    /// Time before the window during which echoes are not counted.
    pub warmup: Duration,
    /// Length of the measurement window.
    pub duration: Duration,
    /// Limit for each connection's TCP connect plus upgrade.
    pub connect_timeout: Duration,
    /// Connections being opened at the same time.
    pub connect_concurrency: usize,
    /// Time allowed after the window for the outstanding echoes and the close
    /// handshake.
    pub close_timeout: Duration,
    /// The server's PID, to sample its CPU time at the window's edges.
    pub server_pid: Option<u32>,
    /// Writes every message in a system call of its own (as a load generator that does not batch),
    /// instead of all the messages a connection may send at once in one write.
    pub write_each: bool,
}

/// When echoes count.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn contains(&self, t: Instant) -> bool {
        self.start <= t && t < self.end
    }
}

/// Counters shared by all connections of a run.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    latency: LatencyRecorder,
    in_window: u64,
    total: u64,
    pub(crate) errors: ErrorTally,
}

/// Shared handle on a run's [`Tally`].
pub(crate) type SharedTally = Rc<RefCell<Tally>>;

/// Where a connection's frames come from: the driver asks it for more bytes
/// whenever its [`wire::FrameBuffer`] holds no whole frame.
pub(crate) trait ByteSource {
    /// Appends the next bytes received from the server to `frames` and
    /// returns how many; 0 means the server ended the connection.
    async fn read_into(&mut self, frames: &mut wire::FrameBuffer) -> Result<usize, ClientError>;
}

/// Where a connection's frames go.
pub(crate) trait FrameSink {
    /// Sends `bytes` (whole frames), waiting until they are handed on.
    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError>;

    /// Sends the pre-built frame of ring slot `slot`.
    async fn send_frame(
        &mut self,
        ring: &Arc<MessageRing>,
        slot: usize,
    ) -> Result<(), ClientError> {
        self.send(ring.frame(slot)).await
    }

    /// Called once the close handshake is complete (both close frames
    /// exchanged), before the connection is dropped.
    async fn finish(&mut self) -> Result<(), ClientError> {
        Ok(())
    }
}

/// An opened WebSocket connection, ready for the workload.
pub(crate) trait Transport: 'static {
    /// Runs `driver`'s workload on this connection until the close handshake
    /// is done or fails (errors go to the driver's tally).
    async fn drive(self, driver: Driver, inflight: usize, close_timeout: Duration);
}

impl ByteSource for ReadHalf<'_> {
    async fn read_into(&mut self, frames: &mut wire::FrameBuffer) -> Result<usize, ClientError> {
        frames.reserve_for_next_read(READ_CHUNK);
        Ok(self.read_buf(frames.buf_mut()).await?)
    }
}

impl FrameSink for WriteHalf<'_> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        Ok(self.write_all(bytes).await?)
    }
}

impl Transport for Connection {
    async fn drive(self, driver: Driver, inflight: usize, close_timeout: Duration) {
        let Connection { mut stream, frames } = self;
        let (mut reader, mut writer) = stream.split();
        driver
            .drive(&mut reader, &mut writer, frames, inflight, close_timeout)
            .await;
    }
}

/// State shared by the reader and writer of one connection.
#[derive(Debug, Default)]
struct ConnState {
    /// Send times of the messages whose echoes are outstanding, oldest first.
    send_times: RefCell<VecDeque<Instant>>,
    /// Messages the writer may send now.
    credits: Cell<usize>,
    /// Ping payloads to answer.
    pongs: RefCell<Vec<Vec<u8>>>,
    /// Set once the writer has started sending its close frame (after the
    /// last echo came back).
    close_sent: Cell<bool>,
    /// Wakes the writer when an echo arrives or a pong is due.
    wake_writer: Notify,
}

/// Runs the load described by `cfg` over HTTP/1.1 upgrades (one TCP
/// connection per WebSocket connection) and reports on it. Never fails:
/// every problem is counted in the report's errors.
pub async fn run(cfg: &LoadConfig) -> LoadReport {
    LocalSet::new()
        .run_until(async {
            let tally = SharedTally::default();
            let connections = open_all(cfg, &tally).await;
            run_opened(cfg, connections, tally).await
        })
        .await
}

/// Runs the workload on connections already opened (inside a `LocalSet`):
/// warm-up, window, drain and close, then the report. Errors met while
/// opening are expected in `tally` already.
pub(crate) async fn run_opened<T: Transport>(
    cfg: &LoadConfig,
    connections: Vec<T>,
    tally: SharedTally,
) -> LoadReport {
    let ring = Arc::new(MessageRing::new(cfg.kind, cfg.size));
    let connections_open = connections.len();

    let start = Instant::now();
    let window = Window {
        start: start + cfg.warmup,
        end: start + cfg.warmup + cfg.duration,
    };
    let cpu = task::spawn_local(sample_cpu(window, cfg.server_pid));
    let drivers: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(id, conn)| {
            let driver = Driver {
                id,
                ring: ring.clone(),
                window,
                tally: tally.clone(),
                write_each: cfg.write_each,
            };
            task::spawn_local(conn.drive(driver, cfg.inflight, cfg.close_timeout))
        })
        .collect();
    for handle in drivers {
        if let Err(e) = handle.await {
            tally.borrow_mut().errors.add(format!("driver task: {e}"));
        }
    }
    let (server_cpu, client_cpu_s) = cpu.await.unwrap_or((None, None));

    let tally = tally.take();
    let secs = cfg.duration.as_secs_f64();
    LoadReport {
        url: cfg.target.to_string(),
        connections: cfg.connections,
        connections_open,
        size: cfg.size,
        inflight: cfg.inflight,
        kind: cfg.kind,
        warmup_s: cfg.warmup.as_secs_f64(),
        duration_s: secs,
        messages: tally.in_window,
        msgs_per_sec: tally.in_window as f64 / secs,
        mib_per_sec: (tally.in_window as f64 * cfg.size as f64) / f64::from(1 << 20) / secs,
        latency: tally.latency.summary(),
        total_echoes: tally.total,
        server_cpu_s: server_cpu.map(procfs::CpuTimes::total),
        server_user_s: server_cpu.map(|c| c.user),
        server_sys_s: server_cpu.map(|c| c.system),
        client_cpu_s,
        errors: tally.errors,
    }
}

/// Opens all connections, `connect_concurrency` at a time; failures are
/// counted as errors and the run goes on with the rest.
async fn open_all(cfg: &LoadConfig, tally: &SharedTally) -> Vec<Connection> {
    let target = Rc::new(cfg.target.clone());
    let timeout = cfg.connect_timeout;
    open_concurrently(cfg.connections, cfg.connect_concurrency, tally, |id| {
        let target = target.clone();
        async move { client::open(&target, id as u64, timeout).await }
    })
    .await
}

/// Runs `open(id)` for ids `0..count` as local tasks, at most `concurrency`
/// at a time (each starts once it holds a permit, so its own timeouts start
/// then too), and keeps what opened; each failure is counted as an error
/// naming its id, and the run goes on with the rest.
pub(crate) async fn open_concurrently<T, E, F, Fut>(
    count: usize,
    concurrency: usize,
    tally: &SharedTally,
    open: F,
) -> Vec<T>
where
    T: 'static,
    E: std::fmt::Display + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, E>> + 'static,
{
    let permits = Rc::new(Semaphore::new(concurrency.max(1)));
    let handles: Vec<_> = (0..count)
        .map(|id| {
            let permits = permits.clone();
            let work = open(id);
            task::spawn_local(async move {
                let _permit = permits.acquire().await;
                work.await
            })
        })
        .collect();
    let mut opened = Vec::with_capacity(count);
    for (id, handle) in handles.into_iter().enumerate() {
        let failure = match handle.await {
            Ok(Ok(conn)) => {
                opened.push(conn);
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tally
            .borrow_mut()
            .errors
            .add(format!("connection {id}: {failure}"));
    }
    opened
}

/// CPU time of the server (user and system) and CPU seconds of this process spent inside `window`.
async fn sample_cpu(
    window: Window,
    server_pid: Option<u32>,
) -> (Option<procfs::CpuTimes>, Option<f64>) {
    let sample = || {
        (
            server_pid.and_then(|pid| procfs::cpu_times(Some(pid))),
            procfs::cpu_seconds(None),
        )
    };
    time::sleep_until(window.start).await;
    let (server_before, client_before) = sample();
    time::sleep_until(window.end).await;
    let (server_after, client_after) = sample();
    let server = server_before.zip(server_after).map(|(a, b)| b.since(a));
    let client = client_before.zip(client_after).map(|(a, b)| b - a);
    (server, client)
}

/// Drives one connection for the whole run.
pub(crate) struct Driver {
    id: usize,
    ring: Arc<MessageRing>,
    window: Window,
    tally: SharedTally,
    /// One write per message.
    write_each: bool,
}

impl Driver {
    /// Runs the workload over `reader` and `writer` (`frames` holding any
    /// bytes already received), counting a failure as one error. Returns
    /// whether the close handshake completed.
    pub(crate) async fn drive<R: ByteSource, W: FrameSink>(
        &self,
        reader: &mut R,
        writer: &mut W,
        frames: wire::FrameBuffer,
        inflight: usize,
        close_timeout: Duration,
    ) -> bool {
        let state = ConnState::default();
        state.credits.set(inflight);
        let both = async {
            tokio::try_join!(
                self.read_echoes(reader, frames, &state),
                self.write_messages(writer, &state),
            )?;
            writer.finish().await
        };
        let outcome = time::timeout_at(self.window.end + close_timeout, both).await;
        let error = match outcome {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => e,
            Err(_) => ClientError::Timeout("outstanding echoes and close handshake"),
        };
        self.tally
            .borrow_mut()
            .errors
            .add(format!("connection {}: {error}", self.id));
        false
    }

    /// Sends messages as credits allow until the window ends, waits for the
    /// outstanding echoes, then sends a close frame.
    async fn write_messages<W: FrameSink>(
        &self,
        writer: &mut W,
        state: &ConnState,
    ) -> Result<(), ClientError> {
        let mut slot = 0;
        let mut batch = Vec::new();
        loop {
            for payload in state.pongs.take() {
                let mut pong = Vec::with_capacity(payload.len() + 6);
                wire::encode_client_frame(OpCode::Pong, &payload, mask_for(slot), &mut pong);
                writer.send(&pong).await?;
            }
            let n = state.credits.replace(0);
            if n == 0 {
                let woken = time::timeout_at(self.window.end, state.wake_writer.notified());
                if woken.await.is_err() {
                    break;
                }
                continue;
            }
            if Instant::now() >= self.window.end {
                break;
            }
            if self.ring.size() <= BATCH_FRAME_LIMIT && !self.write_each {
                batch.clear();
                for _ in 0..n {
                    batch.extend_from_slice(self.ring.frame(slot));
                    slot += 1;
                }
                let now = Instant::now();
                state.send_times.borrow_mut().extend((0..n).map(|_| now));
                writer.send(&batch).await?;
            } else {
                for _ in 0..n {
                    state.send_times.borrow_mut().push_back(Instant::now());
                    writer.send_frame(&self.ring, slot).await?;
                    slot += 1;
                }
            }
        }
        // Close only once every echo is back: some servers drop messages
        // still queued when the close frame arrives.
        while !state.send_times.borrow().is_empty() {
            state.wake_writer.notified().await;
        }
        state.close_sent.set(true);
        writer
            .send(&wire::client_close_frame(1000, mask_for(slot)))
            .await?;
        Ok(())
    }

    /// Reads and checks echoes until the server answers the close frame.
    async fn read_echoes<R: ByteSource>(
        &self,
        reader: &mut R,
        mut frames: wire::FrameBuffer,
        state: &ConnState,
    ) -> Result<(), ClientError> {
        let mut checker = EchoChecker::new(self.ring.clone(), 0);
        loop {
            while let Some(frame) = frames.next_frame().map_err(EchoError::from)? {
                match checker.check(frame)? {
                    Echo::Complete => self.on_echo(state)?,
                    Echo::Fragment | Echo::Pong => {}
                    Echo::Ping(payload) => {
                        state.pongs.borrow_mut().push(payload);
                        state.wake_writer.notify_one();
                    }
                    Echo::Close(code) if !state.close_sent.get() => {
                        return Err(ClientError::UnexpectedClose(code));
                    }
                    Echo::Close(_) => {
                        let missing = state.send_times.borrow().len();
                        return match missing {
                            0 => Ok(()),
                            n => Err(ClientError::MissingEchoes(n)),
                        };
                    }
                }
            }
            if reader.read_into(&mut frames).await? == 0 {
                return Err(ClientError::Eof);
            }
        }
    }

    /// Accounts for one verified echo and lets the writer send another.
    fn on_echo(&self, state: &ConnState) -> Result<(), ClientError> {
        let now = Instant::now();
        let sent = state
            .send_times
            .borrow_mut()
            .pop_front()
            .ok_or(ClientError::UnsolicitedEcho)?;
        let mut tally = self.tally.borrow_mut();
        tally.total += 1;
        if self.window.contains(now) {
            tally.in_window += 1;
            tally.latency.record(now - sent);
        }
        if now < self.window.end {
            state.credits.set(state.credits.get() + 1);
        }
        state.wake_writer.notify_one();
        Ok(())
    }
}
