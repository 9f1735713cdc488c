//! `ws bench`: N connections to an echo server, each keeping K messages in flight for a fixed duration,
//! checking every echoed byte, then a summary of throughput and latency.
//!
//! Each connection is split: a writer task sends whenever fewer than K messages are unanswered, the reader
//! takes the echoes in order, compares each with the payload it regenerates from the message's sequence
//! number, and records the round-trip time in a log-linear histogram.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use ws_tokio::{ClientBuilder, CloseCode, Config, Message, WebSocket};

use crate::BenchArgs;
use crate::failure::{Failure, connect_failure, target};
use crate::signals::Interrupts;

/// How long after the end of the sending window outstanding echoes (and the closes) may take.
const DRAIN: Duration = Duration::from_secs(5);

/// Connection attempts running at once while setting up.
const CONNECT_CONCURRENCY: usize = 64;

/// What every connection does.
struct Plan {
    size: usize,
    inflight: usize,
    text: bool,
    /// End of the sending window.
    deadline: Instant,
}

/// Counters the progress line reads while connections run.
#[derive(Default)]
struct Live {
    messages: AtomicU64,
    errors: AtomicU64,
}

/// What one connection measured.
#[derive(Default)]
struct Outcome {
    messages: u64,
    latency: Histogram,
    last_echo: Option<Instant>,
    /// Why it failed, if it did.
    error: Option<String>,
}

/// Runs `ws bench`.
pub(crate) async fn run(args: BenchArgs) -> Result<(), Failure> {
    let mut builder =
        ClientBuilder::new(&args.url).map_err(|e| connect_failure(&e, &args.url, ""))?;
    if !args.deflate {
        builder = builder.config(Config::default());
    }
    let target = target(&builder);
    let connections = args.connections as usize;

    // Connect everything first, so that the measurement covers only the exchange.
    let mut sockets = Vec::with_capacity(connections);
    let mut connect_errors = Vec::new();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut connecting = JoinSet::new();
    for _ in 0..connections {
        let (builder, gate) = (builder.clone(), gate.clone());
        connecting.spawn(async move {
            let _permit = gate.acquire_owned().await;
            ws_tokio::connect_with(&builder).await
        });
    }
    while let Some(joined) = connecting.join_next().await {
        match joined {
            Ok(Ok((ws, _))) => sockets.push(ws),
            Ok(Err(e)) => connect_errors.push(connect_failure(&e, &args.url, &target)),
            Err(e) => connect_errors.push(Failure::io(format!("connect task failed: {e}"))),
        }
    }
    if sockets.is_empty() {
        return Err(connect_errors
            .into_iter()
            .next()
            .unwrap_or_else(|| Failure::io("no connection")));
    }
    if let Some(first) = connect_errors.first() {
        eprintln!(
            "ws: {} of {connections} connections failed: {}",
            connect_errors.len(),
            first.message
        );
    }

    let start = Instant::now();
    let plan = Arc::new(Plan {
        size: args.size as usize,
        inflight: args.inflight as usize,
        text: args.text,
        deadline: start + args.duration,
    });
    let live = Arc::new(Live::default());
    live.errors
        .store(connect_errors.len() as u64, Ordering::Relaxed);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut running = JoinSet::new();
    for (index, ws) in sockets.into_iter().enumerate() {
        running.spawn(run_connection(
            ws,
            index as u64,
            plan.clone(),
            live.clone(),
            stop_rx.clone(),
        ));
    }

    let mut interrupts = Interrupts::new()?;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::from_std(start + Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    let mut outcomes = Vec::with_capacity(running.len());
    let mut last_count = 0;
    let mut printed_progress = false;
    let mut interrupted = false;
    while !running.is_empty() {
        tokio::select! {
            joined = running.join_next() => match joined {
                Some(Ok(outcome)) => outcomes.push(outcome),
                Some(Err(e)) => outcomes.push(Outcome {
                    error: Some(format!("connection task failed: {e}")),
                    ..Outcome::default()
                }),
                None => break,
            },
            _ = ticker.tick() => {
                let count = live.messages.load(Ordering::Relaxed);
                eprint!(
                    "\r{:6.1} s  {:>10} messages  {:>9}/s  {} errors ",
                    start.elapsed().as_secs_f64(),
                    count,
                    count - last_count,
                    live.errors.load(Ordering::Relaxed)
                );
                let _ = std::io::stderr().flush();
                last_count = count;
                printed_progress = true;
            }
            () = interrupts.recv(), if !interrupted => {
                interrupted = true;
                let _ = stop_tx.send(true);
            }
        }
    }
    if printed_progress {
        eprintln!();
    }

    let summary = Summary::collect(&args, start, connect_errors, outcomes);
    print!("{}", summary.render(&args));
    let _ = std::io::stdout().flush();
    match summary.first_error {
        None => Ok(()),
        Some(first) => Err(Failure::io(format!(
            "{} error(s); first: {first}",
            summary.errors
        ))),
    }
}

/// Runs one connection: a writer task keeps up to `inflight` messages unanswered until the deadline (or
/// `stop`), this task checks the echoes in order; then the close handshake.
async fn run_connection(
    ws: WebSocket,
    index: u64,
    plan: Arc<Plan>,
    live: Arc<Live>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let (mut reader, mut writer) = ws.split();
    let credits = Arc::new(Semaphore::new(plan.inflight));
    // (sequence number, send time) of each message sent, in order.
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let hard_deadline = tokio::time::Instant::from_std(plan.deadline + DRAIN);

    let writer_task = {
        let (plan, credits) = (plan.clone(), credits.clone());
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::from_std(plan.deadline);
            let mut payload = Vec::with_capacity(plan.size);
            let mut seq = 0u64;
            let outcome = loop {
                let permit = tokio::select! {
                    biased;
                    _ = stop.changed() => break Ok(()),
                    () = tokio::time::sleep_until(deadline) => break Ok(()),
                    permit = credits.acquire() => match permit {
                        Ok(permit) => permit,
                        // Closed by the reader after a failure.
                        Err(_) => break Ok(()),
                    },
                };
                permit.forget();
                fill_payload(&mut payload, plan.size, index, seq);
                let message = to_message(&payload, plan.text);
                // Told before the send, so the reader never waits for a send to finish before it
                // reads (the echo of a large message may be on its way before the write returns).
                if sent_tx.send((seq, Instant::now())).is_err() {
                    break Ok(());
                }
                match tokio::time::timeout_at(hard_deadline, writer.send(message)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => break Err(format!("send failed: {e}")),
                    Err(_) => break Err("send timed out".to_string()),
                }
                seq += 1;
            };
            drop(sent_tx);
            (writer, outcome)
        })
    };

    let mut outcome = Outcome::default();
    let mut expected = Vec::with_capacity(plan.size);
    let read_result: Result<(), String> = loop {
        let Some((seq, sent_at)) = sent_rx.recv().await else {
            break Ok(());
        };
        let message = match tokio::time::timeout_at(hard_deadline, reader.recv()).await {
            Err(_) => break Err(format!("no echo for message {seq} within the time limit")),
            Ok(None) => break Err("the server closed the connection".to_string()),
            Ok(Some(Err(e))) => break Err(crate::failure::connection_failure(&e).message),
            Ok(Some(Ok(message))) => message,
        };
        let now = Instant::now();
        fill_payload(&mut expected, plan.size, index, seq);
        if let Err(why) = verify(&message, &expected, plan.text) {
            break Err(format!("echo of message {seq} {why}"));
        }
        outcome.messages += 1;
        outcome.latency.record(micros(now - sent_at));
        outcome.last_echo = Some(now);
        live.messages.fetch_add(1, Ordering::Relaxed);
        credits.add_permits(1);
    };
    if read_result.is_err() {
        credits.close();
    }
    drop(sent_rx);

    let (writer, write_result) = match writer_task.await {
        Ok(done) => done,
        Err(e) => {
            outcome.error = Some(format!("writer task failed: {e}"));
            live.errors.fetch_add(1, Ordering::Relaxed);
            return outcome;
        }
    };
    let mut error = read_result.err().or(write_result.err());
    if error.is_none() {
        error = match reader.reunite(writer) {
            Ok(mut ws) => {
                match tokio::time::timeout(DRAIN, ws.close(CloseCode::NORMAL, "")).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("close failed: {e}")),
                    Err(_) => Some("close timed out".to_string()),
                }
            }
            Err(_) => Some("the connection halves did not match".to_string()),
        };
    }
    if error.is_some() {
        live.errors.fetch_add(1, Ordering::Relaxed);
    }
    outcome.error = error;
    outcome
}

/// The payload of message `seq` on connection `conn`: `size` pseudo-random printable ASCII bytes (valid as
/// text, poorly compressible, different for every message).
fn fill_payload(buf: &mut Vec<u8>, size: usize, conn: u64, seq: u64) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    buf.clear();
    let mut x = (conn.rotate_left(40) ^ seq).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while buf.len() < size {
        // xorshift64; each step yields ten 6-bit symbols.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let take = (size - buf.len()).min(10);
        buf.extend((0..take).map(|i| ALPHABET[((x >> (6 * i)) & 63) as usize]));
    }
}

/// The payload as a text or binary message.
fn to_message(payload: &[u8], text: bool) -> Message {
    if text {
        // The alphabet is ASCII, so this never fails; fall back to binary rather than panic.
        match std::str::from_utf8(payload) {
            Ok(s) => Message::from(s),
            Err(_) => Message::from(payload.to_vec()),
        }
    } else {
        Message::from(payload.to_vec())
    }
}

/// Checks an echo against the payload sent.
fn verify(message: &Message, expected: &[u8], text: bool) -> Result<(), String> {
    if message.is_text() != text {
        let kind = |t| if t { "text" } else { "binary" };
        return Err(format!(
            "came back as {} instead of {}",
            kind(message.is_text()),
            kind(text)
        ));
    }
    let got = message.as_bytes();
    if got.len() != expected.len() {
        return Err(format!(
            "has {} bytes instead of {}",
            got.len(),
            expected.len()
        ));
    }
    match got.iter().zip(expected).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(at) => Err(format!("differs at byte {at}")),
    }
}

/// A duration in whole microseconds.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Everything the summary shows.
struct Summary {
    elapsed: Duration,
    connections_ok: usize,
    messages: u64,
    latency: Histogram,
    errors: u64,
    first_error: Option<String>,
}

impl Summary {
    fn collect(
        args: &BenchArgs,
        start: Instant,
        connect_errors: Vec<Failure>,
        outcomes: Vec<Outcome>,
    ) -> Self {
        let mut latency = Histogram::default();
        let mut messages = 0;
        let mut last = None::<Instant>;
        let mut errors = connect_errors.len() as u64;
        let mut first_error = connect_errors.into_iter().next().map(|f| f.message);
        let mut connections_ok = 0;
        for outcome in outcomes {
            messages += outcome.messages;
            latency.merge(&outcome.latency);
            last = last.max(outcome.last_echo);
            match outcome.error {
                Some(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
                None => connections_ok += 1,
            }
        }
        // The window ends at the last echo (or at the planned end if none came back).
        let elapsed = last
            .map(|t| t.saturating_duration_since(start))
            .unwrap_or(args.duration)
            .max(Duration::from_micros(1));
        Summary {
            elapsed,
            connections_ok,
            messages,
            latency,
            errors,
            first_error,
        }
    }

    fn render(&self, args: &BenchArgs) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = self.messages as f64 / secs;
        let mib = self.messages as f64 * f64::from(args.size) / secs / (1024.0 * 1024.0);
        let kind = if args.text { "text" } else { "binary" };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ws bench {}: {} connections, {}-byte {kind} messages, {} in flight each",
            args.url, args.connections, args.size, args.inflight
        );
        let mut row = |name: &str, value: String| {
            let _ = writeln!(out, "  {name:<14}{value:>14}");
        };
        row(
            "connections",
            format!("{}/{}", self.connections_ok, args.connections),
        );
        row("duration", format!("{secs:.2} s"));
        row("messages", self.messages.to_string());
        row("messages/s", format!("{rate:.0}"));
        row("MiB/s", format!("{mib:.2}"));
        let latency = |p: f64| {
            self.latency
                .percentile(p)
                .map_or_else(|| "-".to_string(), |v| format!("{v} µs"))
        };
        row("latency p50", latency(0.50));
        row("latency p99", latency(0.99));
        row("latency max", latency(1.0));
        row("errors", self.errors.to_string());
        out
    }
}

/// Bits of mantissa per power of two: 64 buckets per octave, under 1.6 % relative error.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are counted exactly.
const EXACT: u64 = 2 * SUB;
const BUCKETS: usize = (EXACT + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

/// A log-linear histogram of `u64` values (exact below 128, about 1.6 % wide buckets above), so that
/// millions of latencies take a few kilobytes.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

impl Histogram {
    fn index(value: u64) -> usize {
        if value < EXACT {
            return value as usize;
        }
        let exponent = 63 - value.leading_zeros(); // at least SUB_BITS + 1
        let mantissa = (value >> (exponent - SUB_BITS)) - SUB;
        (EXACT + u64::from(exponent - SUB_BITS - 1) * SUB + mantissa) as usize
    }

    /// The middle of bucket `index` (the value itself for exact buckets).
    fn value(index: usize) -> u64 {
        let index = index as u64;
        if index < EXACT {
            return index;
        }
        let k = index - EXACT;
        let shift = k / SUB + 1;
        let low = (SUB + k % SUB) << shift;
        low + (1 << shift) / 2
    }

    fn record(&mut self, value: u64) {
        self.counts[Self::index(value)] += 1;
        self.total += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    /// The value at quantile `q` (0 < q ≤ 1), `None` when empty.
    fn percentile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Self::value(index));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_ascii_and_distinct() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fill_payload(&mut a, 1000, 0, 1);
        fill_payload(&mut b, 1000, 0, 2);
        assert_eq!(a.len(), 1000);
        assert!(a.is_ascii());
        assert_ne!(a, b);
        fill_payload(&mut b, 1000, 1, 1);
        assert_ne!(a, b);
        fill_payload(&mut b, 1000, 0, 1);
        assert_eq!(a, b);
        fill_payload(&mut b, 0, 0, 1);
        assert!(b.is_empty());
        fill_payload(&mut b, 7, 3, 9);
        assert_eq!(b.len(), 7);
    }

    #[test]
    fn verify_checks_kind_length_and_bytes() {
        let mut payload = Vec::new();
        fill_payload(&mut payload, 64, 0, 0);
        assert!(verify(&to_message(&payload, true), &payload, true).is_ok());
        assert!(verify(&to_message(&payload, false), &payload, false).is_ok());
        assert!(verify(&to_message(&payload, false), &payload, true).is_err());
        assert!(verify(&to_message(&payload[1..], false), &payload, false).is_err());
        let mut changed = payload.clone();
        changed[40] ^= 1;
        let err = verify(&to_message(&changed, false), &payload, false).unwrap_err();
        assert!(err.contains("byte 40"), "{err}");
    }

    #[test]
    fn histogram_buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..5_000_000u64)
            .step_by(997)
            .chain([u64::MAX / 2, u64::MAX])
        {
            let i = Histogram::index(v);
            assert!(i < BUCKETS);
            assert!(i >= last);
            last = i;
            let mid = Histogram::value(i);
            let err = mid.abs_diff(v) as f64 / v.max(1) as f64;
            assert!(err <= 0.016, "{v} -> bucket {i} -> {mid}");
        }
    }

    #[test]
    fn percentiles() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(0.5), None);
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.percentile(0.5), Some(50));
        assert_eq!(h.percentile(0.99), Some(99));
        assert_eq!(h.percentile(1.0), Some(100));
        let mut other = Histogram::default();
        other.record(10_000);
        h.merge(&other);
        let max = h.percentile(1.0).unwrap();
        assert!((9_850..=10_150).contains(&max), "{max}");
    }
}
