//! `loadgen`: the echo load generator of the side-by-side benchmark.
//!
//! Raw tokio TCP on one thread, a hand-written upgrade, pre-built masked
//! frames and every echo checked byte for byte; it shares no code with any
//! WebSocket library. Exits 1 when the run saw any error, 2 on bad usage.
//!
//! `--http2` carries the same load over one HTTP/2 connection instead, each
//! WebSocket connection an RFC 8441 extended CONNECT stream (prior-knowledge
//! h2c, spoken by the plain HTTP/2 crate `h2`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ws_benches::cli::{parse_secs, parse_size};
use ws_benches::load::{self, LoadConfig};
use ws_benches::payload::MessageKind;
use ws_benches::target::TargetArgs;
use ws_benches::{fdlimit, h2load};

/// Most connections one run may open.
const MAX_CONNECTIONS: usize = 10_000;
/// Largest message size accepted.
const MAX_SIZE: usize = 16 << 20;

#[derive(Debug, Parser)]
#[command(about = "Echo load generator: C connections x K messages in flight, verified echoes")]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Connections to open (1..=10000).
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Payload bytes per message (e.g. 20, 1k, 64k; at most 16m).
    #[arg(long, default_value = "20", value_parser = parse_size)]
    size: usize,
    /// Messages outstanding per connection (1..=1024).
    #[arg(long, default_value_t = 1)]
    inflight: usize,
    /// Send text messages (ASCII payloads).
    #[arg(long, conflicts_with = "binary")]
    text: bool,
    /// Send binary messages (the default).
    #[arg(long)]
    binary: bool,
    /// Seconds of measurement.
    #[arg(long, default_value = "3", value_parser = parse_secs)]
    duration: Duration,
    /// Seconds of warm-up before the measurement (echoes not counted).
    #[arg(long, default_value = "1", value_parser = parse_secs)]
    warmup: Duration,
    /// Seconds allowed for each connection's connect and upgrade.
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    connect_timeout: Duration,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Seconds allowed after the window for the last echoes and the close
    /// handshake.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    close_timeout: Duration,
    /// PID of the server, to report its CPU time inside the window.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Write every message in a system call of its own (default: all the messages a connection may
    /// send at once go out in one write).
    #[arg(long)]
    write_each: bool,
    /// Open ONE HTTP/2 connection (prior knowledge, h2c) and run each of the
    /// --connections WebSocket connections as an extended CONNECT stream on
    /// it (RFC 8441); the server must enable extended CONNECT in its SETTINGS.
    #[arg(long)]
    http2: bool,
}

impl Args {
    fn config(&self) -> Result<LoadConfig, String> {
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            return Err(format!("--connections must be 1..={MAX_CONNECTIONS}"));
        }
        if !(1..=1024).contains(&self.inflight) {
            return Err("--inflight must be 1..=1024".into());
        }
        if self.size > MAX_SIZE {
            return Err(format!("--size must be at most {MAX_SIZE}"));
        }
        if self.duration.is_zero() || self.connect_timeout.is_zero() {
            return Err("--duration and --connect-timeout must be positive".into());
        }
        Ok(LoadConfig {
            target: self.target.target()?,
            connections: self.connections,
            size: self.size,
            inflight: self.inflight,
            kind: if self.text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            },
            warmup: self.warmup,
            duration: self.duration,
            connect_timeout: self.connect_timeout,
            connect_concurrency: self.connect_concurrency,
            close_timeout: self.close_timeout,
            server_pid: self.server_pid,
            write_each: self.write_each,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match args.config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = fdlimit::ensure_nofile(cfg.connections as u64 + 64) {
        eprintln!("loadgen: {e}");
        return ExitCode::from(2);
    }
    let report = if args.http2 {
        h2load::run(&cfg).await
    } else {
        load::run(&cfg).await
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        );
    } else {
        println!("{report}");
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
