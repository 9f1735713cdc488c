//! Measuring one server: a matrix cell (one `loadgen` run) or the idle-memory
//! test (one `idlemem` run on a freshly started server).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::matrix::Cell;
use super::process::{self, Lines};
use super::servers::{RunningServer, ServerSpec, pinned_command};
use crate::procfs;
use crate::report::{IdleReport, LoadReport};

/// Extra time a `loadgen` run may take beyond warm-up plus measurement
/// (opening up to 512 connections, draining, closing).
const LOADGEN_SLACK: Duration = Duration::from_secs(70);

/// Longest `idlemem` may take to open and echo on all its connections.
const IDLE_SETUP_LIMIT: Duration = Duration::from_secs(120);

/// Pause before each RSS sample, to let the server settle.
const RSS_SETTLE: Duration = Duration::from_millis(500);

/// The client tools and where they run.
#[derive(Clone, Debug)]
pub struct Tools {
    /// Path of the `loadgen` binary.
    pub loadgen: PathBuf,
    /// Path of the `idlemem` binary.
    pub idlemem: PathBuf,
    /// CPU the tools are pinned to, if any.
    pub cpu: Option<usize>,
    /// Run `loadgen --http2`: every connection of a cell is a WebSocket
    /// stream of one HTTP/2 connection.
    pub http2: bool,
}

/// Warm-up and measurement time of every cell.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Warm-up before each measurement.
    pub warmup: Duration,
    /// Measurement window.
    pub duration: Duration,
}

/// What became of one cell on one server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CellOutcome {
    /// `loadgen` ran and reported (its report may still count errors).
    Measured(Box<LoadReport>),
    /// `loadgen` could not run or report.
    Failed(String),
    /// The server was not running.
    ServerDown,
}

/// Runs `loadgen` for `cell` against `server`.
pub fn measure_cell(
    tools: &Tools,
    server: &mut RunningServer,
    cell: Cell,
    timing: Timing,
) -> CellOutcome {
    if !server.is_alive() {
        return CellOutcome::ServerDown;
    }
    let mut cmd = pinned_command(tools.cpu, &tools.loadgen);
    cmd.arg("--port")
        .arg(server.port.to_string())
        .arg("--connections")
        .arg(cell.connections.to_string())
        .arg("--size")
        .arg(cell.size.to_string())
        .arg("--inflight")
        .arg(cell.inflight.to_string())
        .arg(format!("--{}", cell.kind.name()))
        .arg("--warmup")
        .arg(timing.warmup.as_secs_f64().to_string())
        .arg("--duration")
        .arg(timing.duration.as_secs_f64().to_string())
        .arg("--server-pid")
        .arg(server.pid().to_string())
        .arg("--json");
    if tools.http2 {
        cmd.arg("--http2");
    }
    let limit = timing.warmup + timing.duration + LOADGEN_SLACK;
    let finished = match process::run_with_timeout(&mut cmd, limit) {
        Ok(finished) => finished,
        Err(e) => return CellOutcome::Failed(format!("loadgen: {e}")),
    };
    let json = finished.stdout.lines().rev().find(|l| !l.trim().is_empty());
    match json.map(serde_json::from_str::<LoadReport>) {
        Some(Ok(report)) => CellOutcome::Measured(Box::new(report)),
        _ => CellOutcome::Failed(format!(
            "loadgen {}: {}",
            finished.status,
            finished.stderr.trim()
        )),
    }
}

/// The run to report of several runs of one cell on one server: the median by
/// msgs/s (the upper one of an even number), or the first run that failed, if
/// any did (a failure must show, not be outvoted).
pub fn median_outcome(mut runs: Vec<CellOutcome>) -> CellOutcome {
    assert!(!runs.is_empty(), "a cell is run at least once");
    if let Some(i) = runs
        .iter()
        .position(|r| !matches!(r, CellOutcome::Measured(_)))
    {
        return runs.swap_remove(i);
    }
    let rate = |r: &CellOutcome| match r {
        CellOutcome::Measured(report) => report.msgs_per_sec,
        _ => 0.0,
    };
    runs.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// The idle-memory result of one server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdleMeasurement {
    /// Server RSS before the connections were opened.
    pub rss_before: u64,
    /// Server RSS while all connections were held.
    pub rss_after: u64,
    /// What `idlemem` reported.
    pub client: IdleReport,
}

impl IdleMeasurement {
    /// RSS growth per held connection, in bytes.
    pub fn bytes_per_connection(&self) -> Option<f64> {
        let n = self.client.connections_ready;
        (n > 0).then(|| (self.rss_after as f64 - self.rss_before as f64) / n as f64)
    }
}

/// Starts a fresh instance of `spec`, samples its RSS, holds `connections`
/// idle connections to it with `idlemem`, samples again, and stops it.
pub fn measure_idle(
    tools: &Tools,
    spec: &ServerSpec,
    server_cpu: Option<usize>,
    log: &Path,
    connections: usize,
) -> Result<IdleMeasurement, String> {
    let mut server = RunningServer::start(spec, server_cpu, log)?;
    thread::sleep(RSS_SETTLE);
    let rss = |server: &RunningServer| {
        procfs::rss_bytes(server.pid()).ok_or_else(|| "cannot read server RSS".to_owned())
    };
    let rss_before = rss(&server)?;

    let mut child = pinned_command(tools.cpu, &tools.idlemem)
        .arg("--port")
        .arg(server.port.to_string())
        .arg("--connections")
        .arg(connections.to_string())
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start idlemem: {e}"))?;
    let lines = Lines::new(child.stdout.take().expect("stdout is piped"));

    let ready = lines.next(IDLE_SETUP_LIMIT);
    let sampled = match ready.as_deref().and_then(|l| l.strip_prefix("READY ")) {
        Some(_) => {
            thread::sleep(RSS_SETTLE);
            if server.is_alive() {
                rss(&server)
            } else {
                Err("server exited while holding connections".to_owned())
            }
        }
        None => Err(format!("idlemem never became ready (got {ready:?})")),
    };

    // Release the connections and collect idlemem's report.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let status = process::wait_timeout(&mut child, Duration::from_secs(30));
    let report = lines.next(Duration::from_secs(1));
    server.stop();

    let rss_after = sampled?;
    let client: IdleReport = report
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("idlemem gave no report (exit {status:?})"))?;
    Ok(IdleMeasurement {
        rss_before,
        rss_after,
        client,
    })
}
