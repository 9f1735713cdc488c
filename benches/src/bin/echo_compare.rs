//! `echo-compare`: the side-by-side echo benchmark in one command.
//!
//! Builds nothing: it starts each already-built server (pinned to CPU 0),
//! runs `loadgen` over the matrix and `idlemem` once per server (pinned to
//! CPU 1), and prints one markdown report, optionally written into the
//! `<!-- bench:echo:begin -->` … `<!-- bench:echo:end -->` section of a file:
//! `--readme` alone writes `benches/README.md`, where the full tables live.
//!
//! `--http2` runs the matrix over HTTP/2 instead (`loadgen --http2`: each
//! cell's connections are WebSocket streams of one HTTP/2 connection), by
//! default against the servers that speak it, with no idle-memory test.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ws_benches::cli::{parse_secs, parse_size};
use ws_benches::compare::matrix::{Cell, Matrix};
use ws_benches::compare::measure::{self, CellOutcome, Timing, Tools};
use ws_benches::compare::results::{
    CellResult, IdleResult, Machine, Results, ServerEntry, ServerStatus, Settings,
};
use ws_benches::compare::servers::{self, RunningServer, ServerSpec};
use ws_benches::compare::{clock, readme, table};
use ws_benches::fdlimit;
use ws_benches::payload::MessageKind;
use ws_benches::procfs;

/// Largest connection count a cell may use.
const MAX_CELL_CONNECTIONS: usize = 10_000;

/// Where `--readme` without a file writes: `benches/README.md`, which holds the
/// full echo tables (the top-level README only summarises them).
const DEFAULT_README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

#[derive(Debug, Parser)]
#[command(about = "Side-by-side WebSocket echo benchmark: one command, one markdown report")]
struct Args {
    /// A server as NAME=COMMAND, the command containing {port}; repeat for
    /// several. Replaces the default list (our four servers and five peers;
    /// with --http2: ws-hyper and axum).
    #[arg(long = "server", value_name = "NAME=COMMAND")]
    servers: Vec<ServerSpec>,
    /// Only run these servers (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    only_servers: Vec<String>,
    /// Connection counts [default: 1,64,512; quick: 1,64].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    connections: Option<Vec<usize>>,
    /// Message sizes, e.g. 20,1k,64k [default: 20,1k,64k; quick: 20,64k].
    #[arg(long, value_delimiter = ',', value_parser = parse_size, value_name = "LIST")]
    sizes: Option<Vec<usize>>,
    /// Messages in flight per connection [default: 1,8; quick: 8].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    inflight: Option<Vec<usize>>,
    /// Message types [default: text,binary].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    kinds: Option<Vec<MessageKind>>,
    /// Seconds measured per cell [default: 3; quick: 1].
    #[arg(long, value_parser = parse_secs)]
    duration: Option<Duration>,
    /// Seconds of warm-up per cell [default: 1; quick: 0.5].
    #[arg(long, value_parser = parse_secs)]
    warmup: Option<Duration>,
    /// A small, short matrix (8 cells, 1 s each, 1,000 idle connections).
    #[arg(long)]
    quick: bool,
    /// Connections for the idle-memory test; 0 skips it [default: 10000;
    /// quick: 1000; with --http2: 0, the only value allowed].
    #[arg(long)]
    idle_connections: Option<usize>,
    /// Server whose msgs/s the others are compared to [default: ws-tokio;
    /// with --http2: ws-hyper].
    #[arg(long)]
    baseline: Option<String>,
    /// Run every cell over HTTP/2: `loadgen --http2` opens one HTTP/2
    /// connection (prior knowledge) and runs the cell's connections as
    /// WebSocket streams on it (RFC 8441 extended CONNECT). Default servers:
    /// those that speak it (ws-hyper, axum); no idle-memory test (idlemem
    /// speaks HTTP/1.1 only).
    #[arg(long)]
    http2: bool,
    /// Rewrite the bench:echo section of this file with the report
    /// (`--readme` without a file: this package's README, benches/README.md).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = DEFAULT_README)]
    readme: Option<PathBuf>,
    /// Also write all results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
    /// The loadgen binary [default: next to echo-compare].
    #[arg(long)]
    loadgen: Option<PathBuf>,
    /// The idlemem binary [default: next to echo-compare].
    #[arg(long)]
    idlemem: Option<PathBuf>,
    /// Runs of each cell on each server (servers taking turns within each round); the table shows the
    /// median run by msgs/s. One run of a cell can be off by a quarter on a shared virtual machine.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Do not pin processes to CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Where server output is logged.
    #[arg(long, default_value = "/tmp/echo-compare-logs")]
    log_dir: PathBuf,
}

/// What to run, with `--quick` and the defaults applied.
struct Plan {
    servers: Vec<ServerSpec>,
    cells: Vec<Cell>,
    timing: Timing,
    repeat: usize,
    idle_connections: usize,
    baseline: String,
}

impl Args {
    fn plan(&self) -> Result<Plan, String> {
        let base = if self.quick {
            Matrix::quick()
        } else {
            Matrix::full()
        };
        let matrix = Matrix {
            connections: self.connections.clone().unwrap_or(base.connections),
            sizes: self.sizes.clone().unwrap_or(base.sizes),
            inflight: self.inflight.clone().unwrap_or(base.inflight),
            kinds: self.kinds.clone().unwrap_or(base.kinds),
        };
        if let Some(bad) = matrix
            .connections
            .iter()
            .find(|&&c| !(1..=MAX_CELL_CONNECTIONS).contains(&c))
        {
            return Err(format!(
                "{bad} connections: must be 1..={MAX_CELL_CONNECTIONS}"
            ));
        }
        if matrix.inflight.iter().any(|&k| !(1..=1024).contains(&k)) {
            return Err("in-flight values must be 1..=1024".into());
        }
        let (duration, warmup, idle) = match (self.quick, self.http2) {
            (true, false) => (1.0, 0.5, 1000),
            (false, false) => (3.0, 1.0, 10_000),
            (true, true) => (1.0, 0.5, 0),
            (false, true) => (3.0, 1.0, 0),
        };
        if self.http2 && self.idle_connections.is_some_and(|n| n > 0) {
            return Err("--http2 has no idle-memory test (idlemem speaks HTTP/1.1 only)".into());
        }
        let timing = Timing {
            duration: self.duration.unwrap_or(Duration::from_secs_f64(duration)),
            warmup: self.warmup.unwrap_or(Duration::from_secs_f64(warmup)),
        };
        if timing.duration.is_zero() {
            return Err("--duration must be positive".into());
        }
        if self.repeat == 0 {
            return Err("--repeat must be at least 1".into());
        }

        let mut servers = if !self.servers.is_empty() {
            self.servers.clone()
        } else if self.http2 {
            servers::http2_servers()
        } else {
            servers::default_servers()
        };
        if !self.only_servers.is_empty() {
            if let Some(unknown) = self
                .only_servers
                .iter()
                .find(|name| !servers.iter().any(|s| &s.name == *name))
            {
                return Err(format!("--only-servers: no server named {unknown:?}"));
            }
            servers.retain(|s| self.only_servers.contains(&s.name));
        }
        let baseline = match (&self.baseline, self.http2) {
            (Some(name), _) => name.clone(),
            (None, false) => "ws-tokio".to_owned(),
            (None, true) => "ws-hyper".to_owned(),
        };
        Ok(Plan {
            servers,
            cells: matrix.cells(),
            timing,
            repeat: self.repeat,
            idle_connections: self.idle_connections.unwrap_or(idle),
            baseline,
        })
    }

    fn tools(&self, cpu: Option<usize>) -> Result<Tools, String> {
        let here = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let pick = |given: &Option<PathBuf>, name: &str| {
            let path = given.clone().unwrap_or_else(|| here.join(name));
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "{} not found; build it with `cargo build --release -p ws-benches --bins`",
                    path.display()
                ))
            }
        };
        Ok(Tools {
            loadgen: pick(&self.loadgen, "loadgen")?,
            idlemem: pick(&self.idlemem, "idlemem")?,
            cpu,
            http2: self.http2,
        })
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = match args.plan() {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("echo-compare: {e}");
            return ExitCode::from(2);
        }
    };
    let nproc = procfs::nproc();
    let pinned = !args.no_pin && nproc >= 2;
    let (server_cpu, client_cpu) = if pinned {
        (Some(0), Some(1))
    } else {
        (None, None)
    };
    let tools = match args.tools(client_cpu) {
        Ok(tools) => tools,
        Err(e) => {
            eprintln!("echo-compare: {e}");
            return ExitCode::from(2);
        }
    };
    // Servers inherit the raised limit, so 10,000 connections fit them too.
    if let Err(e) = fdlimit::raise_nofile_limit() {
        eprintln!("echo-compare: warning: cannot raise RLIMIT_NOFILE: {e}");
    }

    let mut machine = Machine {
        nproc,
        cpu_model: procfs::cpu_model(),
        date: clock::utc_now(),
        load_average: (procfs::load_average(), None),
    };
    let settings = Settings {
        warmup_s: plan.timing.warmup.as_secs_f64(),
        duration_s: plan.timing.duration.as_secs_f64(),
        server_cpu,
        client_cpu,
        idle_connections: plan.idle_connections,
        baseline: plan.baseline.clone(),
        repeat: plan.repeat,
        http2: args.http2,
    };

    let (mut entries, mut running) = start_servers(&plan.servers, server_cpu, &args.log_dir);
    let per_cell = plan.timing.warmup + plan.timing.duration;
    eprintln!(
        "echo-compare: {} cells × {} servers{}, about {:.0} s of load{}",
        plan.cells.len(),
        running.len(),
        if args.http2 { " over HTTP/2" } else { "" },
        (per_cell.as_secs_f64() + 0.3) * (plan.cells.len() * running.len() * plan.repeat) as f64,
        if plan.idle_connections > 0 {
            ", then idle memory"
        } else {
            ""
        }
    );
    let cells = run_matrix(&plan, &tools, &mut running, &mut entries);
    drop(running);
    // Sampled before the idle-memory test: a thread-per-connection server holding 10,000 idle
    // connections drives the load average up by itself.
    machine.load_average.1 = procfs::load_average();
    let idle = run_idle(&plan, &tools, &entries, server_cpu, &args.log_dir);

    let results = Results {
        machine,
        settings,
        servers: entries,
        cells,
        idle,
    };
    let markdown = table::render(&results);
    println!("{markdown}");
    if let Err(e) = write_outputs(&args, &results, &markdown) {
        eprintln!("echo-compare: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Starts every server whose program exists; the entries record the others.
fn start_servers(
    specs: &[ServerSpec],
    cpu: Option<usize>,
    log_dir: &Path,
) -> (Vec<ServerEntry>, Vec<RunningServer>) {
    let mut entries = Vec::new();
    let mut running = Vec::new();
    for spec in specs {
        let status = if spec.resolve_program().is_none() {
            eprintln!("echo-compare: {}: missing ({})", spec.name, spec.program());
            ServerStatus::Missing
        } else {
            match RunningServer::start(spec, cpu, &log_path(log_dir, &spec.name)) {
                Ok(server) => {
                    eprintln!(
                        "echo-compare: {}: listening on port {}",
                        spec.name, server.port
                    );
                    running.push(server);
                    ServerStatus::Ran
                }
                Err(e) => {
                    eprintln!("echo-compare: {}: {e}", spec.name);
                    ServerStatus::FailedToStart(e)
                }
            }
        };
        entries.push(ServerEntry {
            name: spec.name.clone(),
            command: spec.command.clone(),
            status,
        });
    }
    (entries, running)
}

/// Runs every cell on every running server, cell by cell so that the servers
/// compared in one cell are measured close together in time. With `--repeat N`
/// each cell runs N rounds, the servers taking turns (each round starts one
/// server later), and each server's median run is kept.
fn run_matrix(
    plan: &Plan,
    tools: &Tools,
    running: &mut [RunningServer],
    entries: &mut [ServerEntry],
) -> Vec<CellResult> {
    let total = plan.cells.len() * running.len() * plan.repeat;
    let mut done = 0;
    let mut results = Vec::with_capacity(plan.cells.len() * running.len());
    for &cell in &plan.cells {
        let mut runs: Vec<Vec<CellOutcome>> = running.iter().map(|_| Vec::new()).collect();
        for round in 0..plan.repeat {
            for turn in 0..running.len() {
                let i = (round + turn) % running.len();
                let server = &mut running[i];
                let outcome = measure::measure_cell(tools, server, cell, plan.timing);
                if matches!(outcome, CellOutcome::ServerDown)
                    && let Some(entry) = entries.iter_mut().find(|e| e.name == server.name)
                {
                    entry.status = ServerStatus::Crashed;
                }
                done += 1;
                eprintln!(
                    "[{done}/{total}] {cell} | {}: {}",
                    server.name,
                    summary(&outcome)
                );
                runs[i].push(outcome);
            }
        }
        for (server, outcomes) in running.iter().zip(runs) {
            results.push(CellResult {
                cell,
                server: server.name.clone(),
                outcome: measure::median_outcome(outcomes),
            });
        }
    }
    results
}

fn summary(outcome: &CellOutcome) -> String {
    match outcome {
        CellOutcome::Measured(r) => format!(
            "{} msgs/s, p50 {:.1} µs, p99 {:.1} µs, {} errors",
            table::group_thousands(r.msgs_per_sec),
            r.latency.p50_us,
            r.latency.p99_us,
            r.errors.count
        ),
        CellOutcome::Failed(why) => format!("failed: {why}"),
        CellOutcome::ServerDown => "server down".to_owned(),
    }
}

/// The idle-memory test, on a fresh instance of each server that started.
fn run_idle(
    plan: &Plan,
    tools: &Tools,
    entries: &[ServerEntry],
    cpu: Option<usize>,
    log_dir: &Path,
) -> Vec<IdleResult> {
    if plan.idle_connections == 0 {
        return Vec::new();
    }
    plan.servers
        .iter()
        .zip(entries)
        .map(|(spec, entry)| {
            let outcome = match &entry.status {
                ServerStatus::Missing => Err("missing".to_owned()),
                ServerStatus::FailedToStart(_) => Err("failed to start".to_owned()),
                ServerStatus::Ran | ServerStatus::Crashed => measure::measure_idle(
                    tools,
                    spec,
                    cpu,
                    &log_path(log_dir, &spec.name),
                    plan.idle_connections,
                ),
            };
            match &outcome {
                Ok(m) => eprintln!(
                    "idle memory | {}: {:.0} bytes per connection",
                    spec.name,
                    m.bytes_per_connection().unwrap_or(f64::NAN)
                ),
                Err(e) => eprintln!("idle memory | {}: {e}", spec.name),
            }
            IdleResult {
                server: spec.name.clone(),
                outcome,
            }
        })
        .collect()
}

fn log_path(dir: &Path, server: &str) -> PathBuf {
    dir.join(format!("{server}.log"))
}

/// Writes the README section and the JSON file, when asked for.
fn write_outputs(args: &Args, results: &Results, markdown: &str) -> Result<(), String> {
    if let Some(path) = &args.readme {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        match readme::replace_section(&text, markdown) {
            Some(updated) => {
                std::fs::write(path, updated).map_err(|e| format!("{}: {e}", path.display()))?;
                eprintln!("echo-compare: updated {}", path.display());
            }
            None => eprintln!(
                "echo-compare: {} has no `{}` / `{}` lines; left unchanged",
                path.display(),
                readme::BEGIN,
                readme::END
            ),
        }
    }
    if let Some(path) = &args.json_out {
        let json = serde_json::to_string_pretty(results).expect("results serialize");
        std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_alone_writes_the_benches_readme_which_has_the_markers() {
        let args = Args::try_parse_from(["echo-compare", "--readme"]).unwrap();
        assert_eq!(args.readme.as_deref(), Some(Path::new(DEFAULT_README)));
        assert!(DEFAULT_README.ends_with("benches/README.md"));
        let text = std::fs::read_to_string(DEFAULT_README).unwrap();
        assert!(readme::replace_section(&text, "x").is_some());

        let args = Args::try_parse_from(["echo-compare", "--readme", "other.md"]).unwrap();
        assert_eq!(args.readme.as_deref(), Some(Path::new("other.md")));
        let args = Args::try_parse_from(["echo-compare", "--quick"]).unwrap();
        assert_eq!(args.readme, None);
    }

    #[test]
    fn http2_runs_the_http2_servers_without_idle_test() {
        let plan = Args::try_parse_from(["echo-compare", "--http2"])
            .unwrap()
            .plan()
            .unwrap();
        let names: Vec<_> = plan.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ws-hyper", "axum"]);
        assert_eq!(plan.idle_connections, 0);
        assert_eq!(plan.baseline, "ws-hyper");
        assert_eq!(plan.cells.len(), 36);

        let plan = Args::try_parse_from(["echo-compare"])
            .unwrap()
            .plan()
            .unwrap();
        assert_eq!(plan.servers.len(), 9);
        assert_eq!(plan.baseline, "ws-tokio");
        assert_eq!(plan.idle_connections, 10_000);

        let args =
            Args::try_parse_from(["echo-compare", "--http2", "--idle-connections", "10"]).unwrap();
        assert!(args.plan().is_err());
    }
}
