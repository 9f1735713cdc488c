//! `idlemem`: opens N connections, echoes once on each, then holds them open.
//!
//! Prints `READY <n>` on stdout once the connections are open, holds them
//! until a line (or end of file) arrives on stdin or `--max-hold` passes,
//! then closes them and prints its report (JSON with `--json`). Meanwhile
//! the caller (normally `echo-compare`) samples the server's memory.
//! Exits 1 when any connection failed, 2 on bad usage.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::io::AsyncBufReadExt;
use ws_benches::cli::{parse_secs, parse_size};
use ws_benches::fdlimit;
use ws_benches::idle::{self, IdleConfig};
use ws_benches::target::TargetArgs;

/// Most connections one run may open.
const MAX_CONNECTIONS: usize = 50_000;

#[derive(Debug, Parser)]
#[command(about = "Hold N idle WebSocket connections open (for server memory sampling)")]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Connections to open and hold.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Payload bytes of the one echo per connection.
    #[arg(long, default_value = "20", value_parser = parse_size)]
    size: usize,
    /// Seconds allowed for each connection's connect, upgrade and echo.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    connect_timeout: Duration,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Longest time to hold the connections if stdin stays silent.
    #[arg(long, default_value = "120", value_parser = parse_secs)]
    max_hold: Duration,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Completes when stdin yields a line or reaches end of file.
async fn stdin_line() {
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let _ = stdin.read_line(&mut line).await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let target = match args.target.target() {
        Ok(t) if (1..=MAX_CONNECTIONS).contains(&args.connections) => t,
        Ok(_) => {
            eprintln!("idlemem: --connections must be 1..={MAX_CONNECTIONS}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("idlemem: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = fdlimit::ensure_nofile(args.connections as u64 + 64) {
        eprintln!("idlemem: {e}");
        return ExitCode::from(2);
    }
    let cfg = IdleConfig {
        target,
        connections: args.connections,
        size: args.size,
        connect_timeout: args.connect_timeout,
        connect_concurrency: args.connect_concurrency,
        max_hold: args.max_hold,
    };
    let ready = |n: usize| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "READY {n}");
        let _ = out.flush();
    };
    let report = idle::run(&cfg, ready, stdin_line()).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        );
    } else {
        println!(
            "{} connections ready of {}, set up in {:.2}s, held {:.2}s, {} errors",
            report.connections_ready,
            report.connections,
            report.setup_s,
            report.held_s,
            report.errors.count
        );
        for sample in &report.errors.samples {
            println!("  {sample}");
        }
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
