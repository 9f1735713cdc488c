//! `fanout`: the side-by-side fan-out (broadcast) benchmark.
//!
//! For each cell (subscribers × message size × permessage-deflate) and each
//! server, it starts a fresh instance of the server pinned to CPU 0, samples
//! its RSS, opens the subscribers and one publisher from this process (a
//! single-threaded runtime pinned to CPU 1), publishes binary messages at the
//! pace the subscribers keep up with (at most `--window` messages ahead),
//! counts and checks every message the subscribers receive, and stops the
//! server. It builds nothing; build the servers first (see
//! `benches/README.md`, "Fan-out"). Prints one markdown table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ws_benches::cli::{parse_secs, parse_size};
use ws_benches::compare::clock;
use ws_benches::compare::servers::{self, RunningServer, ServerSpec};
use ws_benches::fanout::message;
use ws_benches::fanout::run::{self, RunConfig};
use ws_benches::fanout::table::{self, Cell, Measured, Outcome, Row};
use ws_benches::target::Target;
use ws_benches::{fdlimit, procfs};

/// Most subscribers a cell may have.
const MAX_SUBSCRIBERS: usize = 10_000;

/// Pause before the RSS sample of a fresh server, to let it settle.
const RSS_SETTLE: Duration = Duration::from_millis(300);

/// A broadcast server: its command without and with permessage-deflate
/// (`None`: the library has none, and its deflate cells read n/a).
#[derive(Clone, Debug)]
struct FanoutServer {
    name: &'static str,
    plain: &'static str,
    deflate: Option<&'static str>,
}

/// Ours (the tokio example and the CLI), then the peers.
const SERVERS: [FanoutServer; 6] = [
    FanoutServer {
        name: "ws-tokio",
        plain: "target/release/examples/tokio_broadcast_server --port {port}",
        deflate: Some("target/release/examples/tokio_broadcast_server --port {port} --deflate"),
    },
    FanoutServer {
        name: "ws-cli",
        plain: "target/release/ws serve {port} --broadcast --no-deflate",
        deflate: Some("target/release/ws serve {port} --broadcast"),
    },
    FanoutServer {
        name: "tungstenite",
        plain: "target/release/peer-tungstenite-broadcast --port {port}",
        deflate: None,
    },
    FanoutServer {
        name: "fastwebsockets",
        plain: "target/release/peer-fastwebsockets-broadcast --port {port}",
        deflate: None,
    },
    FanoutServer {
        name: "tokio-websockets",
        plain: "target/release/peer-tokio-websockets-broadcast --port {port}",
        deflate: None,
    },
    FanoutServer {
        name: "sockudo-ws",
        plain: "target/release/peer-sockudo-broadcast --port {port}",
        deflate: Some("target/release/peer-sockudo-broadcast --port {port} --deflate"),
    },
];

/// permessage-deflate in a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Deflate {
    Off,
    On,
}

#[derive(Debug, Parser)]
#[command(about = "Side-by-side WebSocket fan-out benchmark: one publisher, N subscribers")]
struct Args {
    /// Only run these servers (comma-separated names: ws-tokio, ws-cli,
    /// tungstenite, fastwebsockets, tokio-websockets, sockudo-ws).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    only_servers: Vec<String>,
    /// Subscriber counts (each at most 10000).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,10000",
        value_name = "LIST"
    )]
    subscribers: Vec<usize>,
    /// Message sizes, e.g. 20,1k (at least 8 bytes: a sequence number).
    #[arg(long, value_delimiter = ',', value_parser = parse_size, default_value = "20,1k", value_name = "LIST")]
    sizes: Vec<usize>,
    /// permessage-deflate offered by the subscribers: off, on or both.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "off,on",
        value_name = "LIST"
    )]
    deflate: Vec<Deflate>,
    /// Messages the publisher may be ahead of its subscribers.
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// Seconds of warm-up after connecting.
    #[arg(long, default_value = "1", value_parser = parse_secs)]
    warmup: Duration,
    /// Seconds measured.
    #[arg(long, default_value = "3", value_parser = parse_secs)]
    duration: Duration,
    /// Runs of each cell on each server (a fresh server each time, servers
    /// taking turns); the table shows the median run by deliveries/s.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Seconds allowed for each connection's connect and upgrade.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    connect_timeout: Duration,
    /// Do not pin the servers and this process to CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Where server output is logged.
    #[arg(long, default_value = "/tmp/fanout-logs")]
    log_dir: PathBuf,
}

impl Args {
    fn cells(&self) -> Result<Vec<Cell>, String> {
        if let Some(bad) = self
            .subscribers
            .iter()
            .find(|&&n| !(1..=MAX_SUBSCRIBERS).contains(&n))
        {
            return Err(format!("{bad} subscribers: must be 1..={MAX_SUBSCRIBERS}"));
        }
        if let Some(bad) = self
            .sizes
            .iter()
            .find(|&&s| !(message::MIN_SIZE..=1 << 20).contains(&s))
        {
            return Err(format!(
                "size {bad}: must be {}..=1m (messages carry a sequence number)",
                message::MIN_SIZE
            ));
        }
        if self.repeat == 0 || self.duration.is_zero() {
            return Err("--repeat and --duration must be positive".into());
        }
        let mut cells = Vec::new();
        for &subscribers in &self.subscribers {
            for &size in &self.sizes {
                for &deflate in &self.deflate {
                    cells.push(Cell {
                        subscribers,
                        size,
                        deflate: deflate == Deflate::On,
                    });
                }
            }
        }
        Ok(cells)
    }

    fn servers(&self) -> Result<Vec<FanoutServer>, String> {
        if let Some(unknown) = self
            .only_servers
            .iter()
            .find(|name| !SERVERS.iter().any(|s| s.name == name.as_str()))
        {
            return Err(format!("--only-servers: no server named {unknown:?}"));
        }
        Ok(SERVERS
            .iter()
            .filter(|s| {
                self.only_servers.is_empty() || self.only_servers.iter().any(|n| n == s.name)
            })
            .cloned()
            .collect())
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (cells, servers) = match args.cells().and_then(|c| Ok((c, args.servers()?))) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("fanout: {e}");
            return ExitCode::from(2);
        }
    };
    let most = cells.iter().map(|c| c.subscribers).max().unwrap_or(0) as u64;
    if let Err(e) = fdlimit::ensure_nofile(most + 200) {
        eprintln!("fanout: {e}");
        return ExitCode::from(2);
    }
    // Read before pinning: afterwards this thread sees one CPU.
    let nproc = procfs::nproc();
    let pinned = !args.no_pin && nproc >= 2;
    let server_cpu = pinned.then_some(0);
    if pinned && let Err(e) = servers::pin_current_thread(1) {
        eprintln!("fanout: cannot pin to CPU 1: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fanout: {e}");
            return ExitCode::FAILURE;
        }
    };

    let started = clock::utc_now();
    let load_before = procfs::load_average();
    let total = cells.len() * servers.len() * args.repeat;
    eprintln!(
        "fanout: {} cells × {} servers × {} runs, about {:.0} s of load",
        cells.len(),
        servers.len(),
        args.repeat,
        (args.warmup + args.duration).as_secs_f64() * total as f64
    );
    let mut done = 0;
    let mut rows = Vec::new();
    for &cell in &cells {
        let mut runs: Vec<Vec<Outcome>> = servers.iter().map(|_| Vec::new()).collect();
        for round in 0..args.repeat {
            for turn in 0..servers.len() {
                let i = (round + turn) % servers.len();
                let outcome = measure(&runtime, &args, &servers[i], cell, server_cpu);
                done += 1;
                eprintln!(
                    "[{done}/{total}] {cell} | {}: {}",
                    servers[i].name,
                    summary(&outcome)
                );
                runs[i].push(outcome);
            }
        }
        for (server, outcomes) in servers.iter().zip(runs) {
            rows.push(Row {
                cell,
                server: server.name.to_owned(),
                outcome: table::median(outcomes),
            });
        }
    }

    println!(
        "### Fan-out, {started} ({nproc} CPUs, {})\n",
        procfs::cpu_model()
    );
    println!(
        "Load average {} at the start, {} at the end. {}; {:.1} s measured after {:.1} s of warm-up, {} run(s) per cell (median by deliveries/s shown), publisher at most {} messages ahead.\n",
        fmt_load(load_before),
        fmt_load(procfs::load_average()),
        if pinned {
            "Servers pinned to CPU 0, the load generator (one thread) to CPU 1"
        } else {
            "Nothing pinned"
        },
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        args.repeat,
        args.window
    );
    println!("{}", table::render(&rows));
    ExitCode::SUCCESS
}

fn fmt_load(load: Option<f64>) -> String {
    load.map_or("unknown".to_owned(), |l| format!("{l:.2}"))
}

/// One run of `cell` on a fresh instance of `server`.
fn measure(
    runtime: &tokio::runtime::Runtime,
    args: &Args,
    server: &FanoutServer,
    cell: Cell,
    server_cpu: Option<usize>,
) -> Outcome {
    let command = match (cell.deflate, server.deflate) {
        (false, _) => server.plain,
        (true, Some(command)) => command,
        (true, None) => return Outcome::NotApplicable,
    };
    let spec = ServerSpec {
        name: server.name.to_owned(),
        command: command.to_owned(),
    };
    if spec.resolve_program().is_none() {
        return Outcome::Failed(format!("missing: {}", spec.program()));
    }
    let log = log_path(&args.log_dir, server.name);
    let mut running = match RunningServer::start(&spec, server_cpu, &log) {
        Ok(running) => running,
        Err(e) => return Outcome::Failed(format!("failed to start: {e}")),
    };
    std::thread::sleep(RSS_SETTLE);
    let pid = running.pid();
    let Some(rss_before) = procfs::rss_bytes(pid) else {
        return Outcome::Failed("cannot read the server's RSS".into());
    };
    let target = match Target::from_host_port("127.0.0.1", running.port) {
        Ok(target) => target,
        Err(e) => return Outcome::Failed(e),
    };
    let cfg = RunConfig {
        target,
        subscribers: cell.subscribers,
        size: cell.size,
        deflate: cell.deflate,
        window: args.window,
        warmup: args.warmup,
        duration: args.duration,
        connect_timeout: args.connect_timeout,
        connect_concurrency: args.connect_concurrency,
        server_pid: Some(pid),
    };
    let report = runtime.block_on(run::run(&cfg));
    let peak = procfs::peak_rss_bytes(pid);
    let alive = running.is_alive();
    running.stop();
    match peak {
        Some(peak) if alive => Outcome::Measured(Box::new(Measured {
            report,
            rss_before,
            peak,
        })),
        _ => Outcome::Failed("the server exited during the run".into()),
    }
}

fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Measured(m) => {
            let r = &m.report;
            format!(
                "{:.0} deliveries/s ({} compressed), {:.3} µs CPU each, peak {:.1} MiB, lg CPU {:.0}%, {} missed, {} stalls, {} errors{}",
                r.deliveries_per_sec(),
                r.compressed,
                r.server_us_per_delivery().map_or(f64::NAN, |t| t.total()),
                m.peak as f64 / f64::from(1 << 20),
                r.client_cpu_s.unwrap_or(f64::NAN) * 100.0 / r.window_s,
                r.missed,
                r.stalls,
                r.errors.count,
                r.errors
                    .samples
                    .first()
                    .map(|s| format!(" (first: {s})"))
                    .unwrap_or_default()
            )
        }
        Outcome::Failed(why) => format!("failed: {why}"),
        Outcome::NotApplicable => "n/a".to_owned(),
    }
}

fn log_path(dir: &Path, server: &str) -> PathBuf {
    dir.join(format!("{server}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matrix_is_eight_cells_on_six_servers() {
        let args = Args::try_parse_from(["fanout"]).unwrap();
        assert_eq!(args.cells().unwrap().len(), 8);
        assert_eq!(args.servers().unwrap().len(), 6);
        let args = Args::try_parse_from([
            "fanout",
            "--only-servers",
            "ws-tokio,sockudo-ws",
            "--subscribers",
            "10",
            "--sizes",
            "1k",
            "--deflate",
            "on",
        ])
        .unwrap();
        assert_eq!(
            args.cells().unwrap(),
            [Cell {
                subscribers: 10,
                size: 1024,
                deflate: true
            }]
        );
        assert_eq!(args.servers().unwrap().len(), 2);
        let args = Args::try_parse_from(["fanout", "--sizes", "4"]).unwrap();
        assert!(args.cells().is_err());
        let args = Args::try_parse_from(["fanout", "--only-servers", "nope"]).unwrap();
        assert!(args.servers().is_err());
    }
}
