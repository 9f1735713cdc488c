//! Shared pieces of the adapters' examples and tests, written once for every async runtime: command-line
//! arguments, the echo loop, the Autobahn TestSuite client protocol, a hand-written raw peer ([`raw`]), a
//! scripted peer whose bytes have all arrived ([`scripted`]), and the workspace's one reference encoder and
//! parser of frames ([`wire`]), which the fuzz targets, the bench tools and `ws-core`'s tests use too.
//!
//! Everything but [`wire`] and the argument helpers needs the default feature `async` (`ws-async`,
//! futures-io); without it the crate is standard library only, for the fuzz targets and the bench tools.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "async")]
pub mod raw;
#[cfg(feature = "async")]
pub mod scripted;
pub mod wire;

#[cfg(feature = "async")]
use std::future::Future;

#[cfg(feature = "async")]
use futures_io::{AsyncRead, AsyncWrite};
#[cfg(feature = "async")]
use ws_async::{Config, Limits, Message, Timer, WebSocket};

/// The value after `--name` on the command line, if present.
pub fn arg(name: &str) -> Option<String> {
    let flag = format!("--{name}");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == flag {
            return args.next();
        }
        if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
            return Some(v.to_string());
        }
    }
    None
}

/// `--port N` (default `default`).
pub fn port_arg(default: u16) -> u16 {
    arg("port").and_then(|p| p.parse().ok()).unwrap_or(default)
}

#[cfg(feature = "async")]
/// The configuration of the echo servers: default timeouts, and limits large enough for the Autobahn
/// suite (16 MiB messages) and the benchmarks.
pub fn echo_config() -> Config {
    ws_async::default_config().limits(
        Limits::default()
            .max_message_size(64 << 20)
            .max_frame_size(64 << 20),
    )
}

#[cfg(feature = "async")]
/// Echoes every message back as the same type until the connection ends. Replies are queued with `feed`
/// and written by the next `recv` before it waits: one write answers everything that arrived in one read
/// (after the first few replies, written at once, when the connection has its thread to itself).
#[allow(clippy::manual_async_fn)] // on purpose: see the comment inside
pub fn echo<T: AsyncRead + AsyncWrite + Unpin, R: Timer>(
    mut ws: WebSocket<T, R>,
) -> impl Future<Output = ()> {
    // An `async` block that uses the captured socket in place: an `async fn` would keep a second copy
    // of its argument in the future (rust-lang/rust#62958), doubling what every idle connection holds.
    async move {
        while let Some(Ok(message)) = ws.recv().await {
            if ws.feed(message).await.is_err() {
                break;
            }
        }
    }
}

#[cfg(feature = "async")]
/// Runs the Autobahn TestSuite client protocol against `base` (e.g. `ws://127.0.0.1:9001`): reads the case
/// count, echoes every case, then asks the fuzzing server to write its reports. `connect` opens one
/// connection to a URL.
///
/// Two cases run at a time (odd and even case numbers, each sequence in order), as the suite's own client
/// mode does with `--parallelism 2`: one at a time, the fuzzing server and the client mostly wait for each
/// other, and the run takes about 40% longer.
pub async fn autobahn_client<C, Fut, T, R>(
    base: &str,
    agent: &str,
    connect: C,
) -> Result<usize, ws_async::Error>
where
    C: Fn(String) -> Fut,
    Fut: Future<Output = Result<WebSocket<T, R>, ws_async::Error>>,
    T: AsyncRead + AsyncWrite + Unpin,
    R: Timer,
{
    let mut ws = connect(format!("{base}/getCaseCount")).await?;
    let count = match ws.recv().await {
        Some(Ok(Message::Text(t))) => t.trim().parse::<usize>().unwrap_or(0),
        _ => 0,
    };
    let _ = ws.close(ws_async::CloseCode::NORMAL, "").await;
    let connect = &connect;
    let cases = |first: usize| async move {
        for case in (first..=count).step_by(2) {
            if let Ok(ws) = connect(format!("{base}/runCase?case={case}&agent={agent}")).await {
                echo(ws).await;
            }
        }
    };
    futures_util::future::join(cases(1), cases(2)).await;
    let mut ws = connect(format!("{base}/updateReports?agent={agent}")).await?;
    let _ = ws.close(ws_async::CloseCode::NORMAL, "").await;
    Ok(count)
}

#[cfg(feature = "async")]
/// The client configuration for the Autobahn runs: no keepalive, large limits.
pub fn autobahn_client_config() -> Config {
    let mut config = echo_config();
    config.timeouts.keepalive_interval = None;
    config
}
