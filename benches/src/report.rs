//! What `loadgen` and `idlemem` report (as JSON with `--json`), and the error
//! tally both keep.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::latency::LatencySummary;
use crate::payload::MessageKind;

/// How many error messages are kept verbatim; the rest are only counted.
const ERROR_SAMPLES: usize = 5;

/// Counts errors and keeps the first few messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorTally {
    /// Number of errors (failed connections, mismatched echoes, ...).
    pub count: u64,
    /// The first few error messages.
    pub samples: Vec<String>,
}

impl ErrorTally {
    /// Counts one error described by `what`.
    pub fn add(&mut self, what: impl fmt::Display) {
        self.count += 1;
        if self.samples.len() < ERROR_SAMPLES {
            self.samples.push(what.to_string());
        }
    }

    /// Whether no error was counted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The result of one `loadgen` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The server's URL.
    pub url: String,
    /// Connections asked for.
    pub connections: usize,
    /// Connections that completed the upgrade.
    pub connections_open: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages outstanding per connection.
    pub inflight: usize,
    /// Text or binary.
    pub kind: MessageKind,
    /// Warm-up seconds (echoes received then are verified but not counted).
    pub warmup_s: f64,
    /// Length of the measurement window in seconds.
    pub duration_s: f64,
    /// Echoes received inside the measurement window.
    pub messages: u64,
    /// `messages / duration_s`.
    pub msgs_per_sec: f64,
    /// Payload MiB echoed per second.
    pub mib_per_sec: f64,
    /// Latency of the echoes received inside the window.
    pub latency: LatencySummary,
    /// All echoes received and verified, window or not.
    pub total_echoes: u64,
    /// Server CPU seconds (user + system) spent inside the window, when the
    /// server's PID was given.
    pub server_cpu_s: Option<f64>,
    /// The server's user-mode part of `server_cpu_s`.
    #[serde(default)]
    pub server_user_s: Option<f64>,
    /// The server's system (kernel) part of `server_cpu_s`.
    #[serde(default)]
    pub server_sys_s: Option<f64>,
    /// The load generator's own CPU seconds inside the window.
    pub client_cpu_s: Option<f64>,
    /// Every error of the run; a clean run has none.
    pub errors: ErrorTally,
}

impl LoadReport {
    /// Server CPU seconds per million echoed messages.
    pub fn server_cpu_per_million(&self) -> Option<f64> {
        self.per_message_us(self.server_cpu_s)
    }

    /// Server user and system CPU microseconds per echoed message.
    pub fn server_user_sys_us(&self) -> Option<(f64, f64)> {
        Some((
            self.per_message_us(self.server_user_s)?,
            self.per_message_us(self.server_sys_s)?,
        ))
    }

    /// `seconds` per echoed message, in microseconds (which is seconds per million messages).
    fn per_message_us(&self, seconds: Option<f64>) -> Option<f64> {
        let cpu = seconds?;
        (self.messages > 0).then(|| cpu * 1e6 / self.messages as f64)
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency;
        writeln!(
            f,
            "{} | {}/{} connections | {} B {} | {} in flight | {:.1}s (+{:.1}s warm-up)",
            self.url,
            self.connections_open,
            self.connections,
            self.size,
            self.kind.name(),
            self.inflight,
            self.duration_s,
            self.warmup_s,
        )?;
        writeln!(
            f,
            "  {:.0} msgs/s  {:.2} MiB/s  ({} echoes in window, {} total)",
            self.msgs_per_sec, self.mib_per_sec, self.messages, self.total_echoes
        )?;
        writeln!(
            f,
            "  latency us: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
            l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us
        )?;
        if let (Some(cpu), Some(per_m)) = (self.server_cpu_s, self.server_cpu_per_million()) {
            writeln!(
                f,
                "  server CPU: {cpu:.2}s ({per_m:.2}s per million messages)"
            )?;
        }
        if let Some(cpu) = self.client_cpu_s {
            writeln!(f, "  client CPU: {cpu:.2}s")?;
        }
        write!(f, "  errors: {}", self.errors.count)?;
        for sample in &self.errors.samples {
            write!(f, "\n    {sample}")?;
        }
        Ok(())
    }
}

/// The client's side of one idle-memory run (the orchestrator adds RSS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdleReport {
    /// The server's URL.
    pub url: String,
    /// Connections asked for.
    pub connections: usize,
    /// Connections that were opened and completed their one echo.
    pub connections_ready: usize,
    /// Seconds spent opening the connections and echoing once on each.
    pub setup_s: f64,
    /// Seconds the connections were held open.
    pub held_s: f64,
    /// Every error of the run.
    pub errors: ErrorTally,
}
