//! Everything one `echo-compare` run found, in the shape the tables are
//! rendered from (and written as JSON with `--json-out`).

use serde::{Deserialize, Serialize};

use super::matrix::Cell;
use super::measure::{CellOutcome, IdleMeasurement};

/// The machine the run was made on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// CPUs available.
    pub nproc: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// When the run started (UTC).
    pub date: String,
    /// 1-minute load average when the run started and when it ended; well
    /// above 0 at the start means other work shared the machine.
    pub load_average: (Option<f64>, Option<f64>),
}

/// How the run was made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// Warm-up seconds per cell.
    pub warmup_s: f64,
    /// Measurement seconds per cell.
    pub duration_s: f64,
    /// CPU the servers were pinned to, if any.
    pub server_cpu: Option<usize>,
    /// CPU the client tools were pinned to, if any.
    pub client_cpu: Option<usize>,
    /// Connections of the idle-memory test (0 when skipped).
    pub idle_connections: usize,
    /// Server the throughput ratios are relative to.
    pub baseline: String,
    /// Runs of each cell per server; the median run is reported.
    #[serde(default = "one")]
    pub repeat: usize,
    /// Whether each cell's connections were WebSocket streams of one HTTP/2
    /// connection (`--http2`) rather than one TCP connection each.
    #[serde(default)]
    pub http2: bool,
}

fn one() -> usize {
    1
}

/// Whether a server could be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerStatus {
    /// It ran the whole matrix.
    Ran,
    /// Its program does not exist.
    Missing,
    /// It would not start or listen.
    FailedToStart(String),
    /// It died during the matrix.
    Crashed,
}

/// One server's line in the servers table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerEntry {
    /// The server's name.
    pub name: String,
    /// Its command template.
    pub command: String,
    /// What became of it.
    pub status: ServerStatus,
}

/// One cell measured on one server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellResult {
    /// The cell.
    pub cell: Cell,
    /// The server's name.
    pub server: String,
    /// What the measurement gave.
    pub outcome: CellOutcome,
}

/// One server's idle-memory result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdleResult {
    /// The server's name.
    pub server: String,
    /// The measurement, or why there is none.
    pub outcome: Result<IdleMeasurement, String>,
}

/// A whole run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// Where.
    pub machine: Machine,
    /// How.
    pub settings: Settings,
    /// Which servers, in order.
    pub servers: Vec<ServerEntry>,
    /// Cell results, cell by cell, servers in order within a cell.
    pub cells: Vec<CellResult>,
    /// Idle-memory results, servers in order.
    pub idle: Vec<IdleResult>,
}
