//! `ws`: a WebSocket (RFC 6455) command-line tool built on `ws-tokio`.
//!
//! * `ws connect URL` — an interactive client: stdin lines become messages, received messages are printed.
//! * `ws serve PORT --echo|--broadcast` — an echo or broadcast server with graceful Ctrl-C shutdown.
//! * `ws bench URL` — a load generator that checks every echoed byte and reports throughput and latency.
//!
//! Exit codes: 0 success, 1 connection or protocol failure, 2 usage error, 3 handshake rejected.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bench;
mod connect;
mod encoding;
mod failure;
mod serve;
mod signals;

use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::failure::Failure;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "ws",
    version,
    about = "WebSocket (RFC 6455) client, server and benchmark",
    propagate_version = true
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to a WebSocket server: stdin lines are sent, received messages are printed.
    Connect(ConnectArgs),
    /// Run an echo or broadcast server.
    Serve(ServeArgs),
    /// Load-test an echo server with N connections and check every echoed byte.
    Bench(BenchArgs),
}

/// How binary payloads are printed and parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum BinaryFormat {
    /// Lowercase hexadecimal.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// Arguments of `ws connect`.
#[derive(Debug, Args)]
#[command(after_help = "\
Input lines are sent as text messages, except these commands:
  /binary DATA           send a binary message (DATA in --binary-format, hex by default)
  /ping [TEXT]           send a ping
  /close [CODE [REASON]] start the close handshake (default 1000)
  //TEXT                 send the text message \"/TEXT\"
End of input closes with 1000; so does Ctrl-C (press it twice to quit at once).

Received text is printed as \"< TEXT\", binary as \"< [binary N bytes] DATA\"; at the end
\"closed CODE REASON\" is printed. Exit status: 0 after a clean close, 1 on a connection or
protocol failure, 2 on a usage error, 3 when the server rejects the handshake.")]
pub struct ConnectArgs {
    /// The server URL (`ws://` or `wss://`).
    pub url: String,
    /// Offer a subprotocol (repeat to offer several, in preference order).
    #[arg(long = "subprotocol", value_name = "PROTOCOL")]
    pub subprotocols: Vec<String>,
    /// Add a request header, written as "Name: value" (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Send this Origin header.
    #[arg(long)]
    pub origin: Option<String>,
    /// How binary messages are printed, and how `/binary` data is read.
    #[arg(long, value_enum, default_value_t = BinaryFormat::Hex)]
    pub binary_format: BinaryFormat,
    /// Send a keepalive ping every SECS seconds (0 turns keepalive off; default 20).
    #[arg(long, value_name = "SECS")]
    pub ping_interval: Option<u64>,
    /// Trust the certificates in this PEM file (instead of the built-in web roots) for `wss://`.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Do not offer permessage-deflate compression.
    #[arg(long)]
    pub no_deflate: bool,
    /// Connect through this proxy: http://, https://, socks5://, socks5h://, socks4:// or socks4a://,
    /// credentials as `http://user:password@host:port` (default: from HTTPS_PROXY, WSS_PROXY, ALL_PROXY
    /// for wss://, HTTP_PROXY, WS_PROXY, ALL_PROXY for ws://, and NO_PROXY).
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,
    /// Connect directly, whatever the environment's proxy variables say.
    #[arg(long)]
    pub no_proxy: bool,
    /// Trust the certificates in this PEM file for the TLS to an https:// proxy.
    #[arg(long, value_name = "PEM")]
    pub proxy_ca_cert: Option<std::path::PathBuf>,
    /// Follow at most N redirects of the handshake (0: none, the 3xx is reported).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_redirects: u32,
    /// Do not print the "connected" line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `ws serve`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["echo", "broadcast"])))]
pub struct ServeArgs {
    /// The TCP port to listen on (0 picks a free one; the address is printed on stderr).
    pub port: u16,
    /// Send every message back to its sender.
    #[arg(long)]
    pub echo: bool,
    /// Send every message to all connected clients (the sender included).
    #[arg(long)]
    pub broadcast: bool,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Accept this subprotocol when a client offers it (repeatable: the first one offered wins).
    #[arg(long = "subprotocol", value_name = "PROTOCOL")]
    pub subprotocols: Vec<String>,
    /// Do not accept permessage-deflate compression.
    #[arg(long)]
    pub no_deflate: bool,
}

/// Arguments of `ws bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The URL of an echo server (for example one started with `ws serve PORT --echo`).
    pub url: String,
    /// How many connections to open.
    #[arg(long, short = 'c', default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Payload size of each message, in bytes (at most 16 MiB).
    #[arg(long, short = 's', default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=16 << 20))]
    pub size: u32,
    /// How long to send, in seconds (fractions allowed).
    #[arg(long, short = 'd', default_value = "5", value_parser = parse_duration)]
    pub duration: Duration,
    /// Messages in flight per connection.
    #[arg(long, short = 'k', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub inflight: u32,
    /// Send text messages instead of binary ones.
    #[arg(long)]
    pub text: bool,
    /// Offer permessage-deflate compression (off by default, to measure framing alone).
    #[arg(long)]
    pub deflate: bool,
}

/// Parses `Name: value`.
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("expected \"Name: value\", got {s:?}"))?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid_name {
        return Err(format!("invalid header name {name:?}"));
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err("header values may not contain CR, LF or NUL".into());
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parses a positive number of seconds, fractions allowed.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected seconds, got {s:?}"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("the duration must be positive".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(Failure::io(format!("cannot start the runtime: {e}"))),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Connect(args) => connect::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Bench(args) => bench::run(args).await,
        }
    });
    // The stdin reader thread of `connect` may still be blocked in a read: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

/// Prints a failure as one line on stderr and turns it into the exit code.
fn report(failure: Failure) -> ExitCode {
    if !failure.message.is_empty() {
        eprintln!("ws: error: {}", failure.message);
    }
    ExitCode::from(failure.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn headers_parse() {
        assert_eq!(
            parse_header("X-Token:  abc def ").unwrap(),
            ("X-Token".to_string(), "abc def".to_string())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header(": x").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
