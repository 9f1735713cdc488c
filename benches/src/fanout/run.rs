//! One measured run against one running broadcast server: open the
//! subscribers and the publisher, publish at the pace [`super::pace`] allows,
//! count what arrives, and sample the counters and CPU times at the edges of
//! the measurement window.
//!
//! Everything runs on the calling thread (a `LocalSet` inside a current-thread
//! runtime), so the counters are plain `Cell`s.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;
use tokio::task::{self, JoinHandle, LocalSet};
use tokio::time::{self, Instant};

use super::count::{Counted, MessageCounter};
use super::{message, pace};
use crate::client::{self, ClientError, Connection};
use crate::load::{self, SharedTally};
use crate::payload::mask_for;
use crate::procfs::{self, CpuTimes};
use crate::report::ErrorTally;
use crate::target::Target;
use crate::wire::{self, FrameBuffer, OpCode};

/// Spare room each subscriber's buffer gets before a read.
const READ_CHUNK: usize = 16 * 1024;

/// Most messages the publisher writes at once.
const MAX_BURST: u64 = 16;

/// How long the publisher waits for its subscribers before sending anyway (a
/// server that drops messages for a subscriber can leave it short of the
/// pacing rule until the next message arrives).
const STALL: Duration = Duration::from_millis(100);

/// Longest the subscribers and the publisher may take to connect, all told.
const CONNECT_PHASE_LIMIT: Duration = Duration::from_secs(90);

/// Parameters of one run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The broadcast server.
    pub target: Target,
    /// Subscriber connections (the publisher comes on top).
    pub subscribers: usize,
    /// Payload bytes per message (at least [`message::MIN_SIZE`]).
    pub size: usize,
    /// Offer permessage-deflate on every subscriber connection.
    pub deflate: bool,
    /// Messages the publisher may be ahead of its subscribers.
    pub window: u64,
    /// Time after connecting before the measurement.
    pub warmup: Duration,
    /// Length of the measurement window.
    pub duration: Duration,
    /// Limit for each connection's connect plus upgrade.
    pub connect_timeout: Duration,
    /// Connections being opened at the same time.
    pub connect_concurrency: usize,
    /// The server's PID, for its CPU times.
    pub server_pid: Option<u32>,
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Subscribers that completed the upgrade.
    pub subscribers_open: usize,
    /// Of those, the ones whose permessage-deflate offer the server accepted.
    pub deflate_accepted: usize,
    /// Length of the measurement window in seconds.
    pub window_s: f64,
    /// Messages the publisher sent inside the window.
    pub sent: u64,
    /// Messages all subscribers together received inside the window.
    pub deliveries: u64,
    /// Of those, the ones that arrived compressed.
    pub compressed: u64,
    /// Messages the subscribers never received (gaps), inside the window.
    pub missed: u64,
    /// Times the publisher sent after waiting 100 ms (its stall limit) for its subscribers.
    pub stalls: u64,
    /// Server CPU time inside the window.
    pub server_cpu: Option<CpuTimes>,
    /// This process's CPU seconds inside the window.
    pub client_cpu_s: Option<f64>,
    /// Every error of the run; a clean run has none.
    pub errors: ErrorTally,
}

impl RunReport {
    /// Deliveries per second inside the window.
    pub fn deliveries_per_sec(&self) -> f64 {
        self.deliveries as f64 / self.window_s
    }

    /// Server CPU microseconds per delivery, user and system.
    pub fn server_us_per_delivery(&self) -> Option<CpuTimes> {
        let cpu = self.server_cpu?;
        let per = |s: f64| s * 1e6 / self.deliveries as f64;
        (self.deliveries > 0).then(|| CpuTimes {
            user: per(cpu.user),
            system: per(cpu.system),
        })
    }
}

/// Counters shared by the publisher and every subscriber.
#[derive(Debug)]
struct Shared {
    delivered: Cell<u64>,
    compressed: Cell<u64>,
    accounted: Cell<u64>,
    missed: Cell<u64>,
    sent: Cell<u64>,
    stalls: Cell<u64>,
    /// The publisher waits until `accounted` reaches this.
    wake_at: Cell<u64>,
    wake: Notify,
    errors: RefCell<ErrorTally>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            delivered: Cell::new(0),
            compressed: Cell::new(0),
            accounted: Cell::new(0),
            missed: Cell::new(0),
            sent: Cell::new(0),
            stalls: Cell::new(0),
            wake_at: Cell::new(u64::MAX),
            wake: Notify::new(),
            errors: RefCell::default(),
        }
    }
}

impl Shared {
    fn count(&self, c: Counted) {
        self.delivered.set(self.delivered.get() + 1);
        self.accounted.set(self.accounted.get() + c.accounted);
        self.missed.set(self.missed.get() + c.missed);
        self.compressed
            .set(self.compressed.get() + u64::from(c.compressed));
    }

    fn error(&self, what: impl std::fmt::Display) {
        self.errors.borrow_mut().add(what);
    }
}

/// A sample of everything that is compared across the window's edges.
#[derive(Clone, Copy, Debug)]
struct Sample {
    server: Option<CpuTimes>,
    client: Option<f64>,
    sent: u64,
    delivered: u64,
    compressed: u64,
    missed: u64,
    stalls: u64,
}

impl Sample {
    fn take(shared: &Shared, server_pid: Option<u32>) -> Self {
        Self {
            server: server_pid.and_then(|pid| procfs::cpu_times(Some(pid))),
            client: procfs::cpu_seconds(None),
            sent: shared.sent.get(),
            delivered: shared.delivered.get(),
            compressed: shared.compressed.get(),
            missed: shared.missed.get(),
            stalls: shared.stalls.get(),
        }
    }
}

/// Runs the fan-out load described by `cfg` and reports on it. Never fails:
/// every problem is counted in the report's errors.
pub async fn run(cfg: &RunConfig) -> RunReport {
    LocalSet::new().run_until(run_local(cfg)).await
}

async fn run_local(cfg: &RunConfig) -> RunReport {
    let shared = Rc::new(Shared::default());
    let tally = SharedTally::default();
    let target = Rc::new(cfg.target.clone());
    let (timeout, deflate) = (cfg.connect_timeout, cfg.deflate);
    let opening = load::open_concurrently(cfg.subscribers, cfg.connect_concurrency, &tally, |id| {
        let target = target.clone();
        async move { client::open_offering(&target, id as u64, timeout, deflate).await }
    });
    let subscribers: Vec<_> = time::timeout(CONNECT_PHASE_LIMIT, opening)
        .await
        .unwrap_or_default();
    let mut report = RunReport {
        subscribers_open: subscribers.len(),
        deflate_accepted: subscribers.iter().filter(|(_, ext)| ext.is_some()).count(),
        window_s: cfg.duration.as_secs_f64(),
        ..RunReport::default()
    };
    report.errors = tally.take().errors;
    if subscribers.is_empty() {
        report.errors.add(format!(
            "no subscriber connected within {CONNECT_PHASE_LIMIT:?}"
        ));
        return report;
    }
    let publisher = match client::open(&cfg.target, u64::MAX, cfg.connect_timeout).await {
        Ok(conn) => conn,
        Err(e) => {
            report.errors.add(format!("publisher: {e}"));
            return report;
        }
    };

    let mut tasks: Vec<JoinHandle<()>> = subscribers
        .into_iter()
        .enumerate()
        .map(|(id, (conn, ext))| {
            let counter = MessageCounter::new(cfg.size, ext.as_deref());
            let Connection { stream, frames } = conn;
            task::spawn_local(receive(stream, frames, counter, shared.clone(), Some(id)))
        })
        .collect();
    let Connection { stream, frames } = publisher;
    let (read_half, write_half) = stream.into_split();
    let own_copies = MessageCounter::new(cfg.size, None);
    tasks.push(task::spawn_local(receive(
        read_half,
        frames,
        own_copies,
        shared.clone(),
        None,
    )));

    let start = Instant::now();
    let (window_start, window_end) = (start + cfg.warmup, start + cfg.warmup + cfg.duration);
    tasks.push(task::spawn_local(publish(
        write_half,
        shared.clone(),
        cfg.clone(),
        window_end,
    )));
    time::sleep_until(window_start).await;
    let before = Sample::take(&shared, cfg.server_pid);
    time::sleep_until(window_end).await;
    let after = Sample::take(&shared, cfg.server_pid);
    for t in &tasks {
        t.abort();
    }

    report.sent = after.sent - before.sent;
    report.deliveries = after.delivered - before.delivered;
    report.compressed = after.compressed - before.compressed;
    report.missed = after.missed - before.missed;
    report.stalls = after.stalls - before.stalls;
    report.server_cpu = match (before.server, after.server) {
        (Some(b), Some(a)) => Some(a.since(b)),
        _ => None,
    };
    report.client_cpu_s = match (before.client, after.client) {
        (Some(b), Some(a)) => Some(a - b),
        _ => None,
    };
    let errors = shared.errors.take();
    report.errors.count += errors.count;
    for sample in errors.samples {
        if report.errors.samples.len() < 5 {
            report.errors.samples.push(sample);
        }
    }
    report
}

/// Reads one connection's messages until it fails (or the task is aborted).
/// `subscriber` is its number, `None` for the publisher's own connection,
/// whose copies are checked but not counted.
async fn receive<R: AsyncRead + Unpin>(
    mut reader: R,
    mut frames: FrameBuffer,
    mut counter: MessageCounter,
    shared: Rc<Shared>,
    subscriber: Option<usize>,
) {
    let result: Result<(), String> = async {
        loop {
            while let Some(frame) = frames.next_frame().map_err(|e| e.to_string())? {
                let counted = counter.on_frame(frame).map_err(|e| e.to_string())?;
                if let (Some(c), Some(_)) = (counted, subscriber) {
                    shared.count(c);
                }
            }
            if shared.accounted.get() >= shared.wake_at.get() {
                shared.wake.notify_one();
            }
            frames.reserve_for_next_read(READ_CHUNK);
            let n = reader
                .read_buf(frames.buf_mut())
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(ClientError::Eof.to_string());
            }
        }
    }
    .await;
    if let Err(e) = result {
        match subscriber {
            Some(id) => shared.error(format!("subscriber {id}: {e}")),
            None => shared.error(format!("publisher: {e}")),
        }
    }
}

/// Sends messages at the pace the subscribers allow until `end`, then holds
/// the connection open.
async fn publish(mut writer: OwnedWriteHalf, shared: Rc<Shared>, cfg: RunConfig, end: Instant) {
    let n = cfg.subscribers as u64;
    let mut batch = Vec::new();
    let mut seq = 0u64;
    let encode = |seq: u64, batch: &mut Vec<u8>| {
        let payload = message::payload(seq, cfg.size);
        wire::encode_client_frame(OpCode::Binary, &payload, mask_for(seq as usize), batch);
    };
    while Instant::now() < end {
        batch.clear();
        let mut burst = 0;
        while burst < MAX_BURST && pace::may_send(seq, shared.accounted.get(), n, cfg.window) {
            encode(seq, &mut batch);
            seq += 1;
            burst += 1;
        }
        if burst == 0 {
            shared.wake_at.set(pace::required(seq, n, cfg.window));
            let deadline = (Instant::now() + STALL).min(end);
            let woken = time::timeout_at(deadline, shared.wake.notified()).await;
            shared.wake_at.set(u64::MAX);
            if woken.is_ok() || Instant::now() >= end {
                continue;
            }
            shared.stalls.set(shared.stalls.get() + 1);
            encode(seq, &mut batch);
            seq += 1;
        }
        if let Err(e) = writer.write_all(&batch).await {
            shared.error(format!("publisher: {e}"));
            return;
        }
        shared.sent.set(seq);
    }
    // Keep the connection open until the run is over (the task is aborted then):
    // dropping the write half would shut it down, and the server would close the
    // publisher's connection while its reader still counts.
    std::future::pending::<()>().await;
    drop(writer);
}
