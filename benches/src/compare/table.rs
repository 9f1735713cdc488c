//! Rendering a run's [`Results`] as markdown: a heading with the machine and
//! date, the servers, the throughput/latency table, notes on errors, and the
//! idle-memory table.

use std::fmt::Write as _;

use super::measure::CellOutcome;
use super::results::{CellResult, IdleResult, Results, ServerStatus};
use crate::cli::format_size;
use crate::report::LoadReport;

/// Most error notes listed under the table.
const MAX_NOTES: usize = 30;

/// The whole report.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    heading(&mut out, results);
    servers(&mut out, results);
    matrix(&mut out, results);
    notes(&mut out, results);
    idle(&mut out, results);
    out
}

fn heading(out: &mut String, r: &Results) {
    let m = &r.machine;
    let s = &r.settings;
    let _ = writeln!(
        out,
        "### Echo comparison, {} ({} CPUs, {})\n",
        m.date, m.nproc, m.cpu_model
    );
    let pinning = match (s.server_cpu, s.client_cpu) {
        (Some(server), Some(client)) => format!(
            "Each server pinned to CPU {server} and the load generator to CPU {client} (`taskset`)"
        ),
        _ => "No CPU pinning (fewer than 2 CPUs)".to_owned(),
    };
    let load = |l: Option<f64>| l.map_or("?".to_owned(), |l| format!("{l:.2}"));
    let _ = writeln!(
        out,
        "Load average {} at the start of the load matrix, {} at its end (the matrix itself \
         keeps about 2 busy; more means other work on the machine skewed the figures).\n",
        load(m.load_average.0),
        load(m.load_average.1)
    );
    let runs = if s.repeat > 1 {
        format!(
            " (each cell run {} times, the servers taking turns; the median run by msgs/s is shown)",
            s.repeat
        )
    } else {
        String::new()
    };
    if s.http2 {
        out.push_str(
            "Over HTTP/2: each cell opens ONE TCP connection (HTTP/2 with prior knowledge) and \
             runs its *conns* WebSocket connections as extended CONNECT streams on it (RFC 8441).\n\n",
        );
    }
    let _ = writeln!(
        out,
        "{pinning}; {:.1} s measured per cell after {:.1} s of warm-up{runs}; every echo is \
         checked byte for byte. *in flight*: messages outstanding per connection. \
         *µs CPU/msg*: server CPU microseconds per echoed message (= seconds per million), user + \
         system, the two parts in brackets. \
         *srv CPU* / *lg CPU*: CPU use of the server / of the load generator during \
         the window (whichever is near 100% is the bottleneck). *vs {}*: msgs/s relative to {} in the same cell. Latency is \
         send-to-echo per message.\n",
        s.duration_s, s.warmup_s, s.baseline, s.baseline
    );
}

fn servers(out: &mut String, r: &Results) {
    out.push_str("| server | status | command |\n|:--|:--|:--|\n");
    for s in &r.servers {
        let status = match &s.status {
            ServerStatus::Ran => "ran".to_owned(),
            ServerStatus::Missing => "missing".to_owned(),
            ServerStatus::FailedToStart(why) => format!("failed to start: {}", cell_text(why)),
            ServerStatus::Crashed => "crashed during the run".to_owned(),
        };
        let _ = writeln!(out, "| {} | {status} | `{}` |", s.name, s.command);
    }
    out.push('\n');
}

fn matrix(out: &mut String, r: &Results) {
    if r.cells.is_empty() {
        out.push_str("No server could be measured.\n\n");
        return;
    }
    let baseline = &r.settings.baseline;
    let _ = writeln!(
        out,
        "| conns | size | in flight | type | server | msgs/s | MiB/s | p50 µs | p99 µs \
         | µs CPU/msg (user + sys) | srv CPU | lg CPU | vs {baseline} | errors |"
    );
    out.push_str("|--:|--:|--:|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for result in &r.cells {
        let c = result.cell;
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.connections,
            format_size(c.size),
            c.inflight,
            c.kind.name(),
            result.server
        );
        match &result.outcome {
            CellOutcome::Measured(report) => {
                let ratio = baseline_rate(r, result)
                    .filter(|&base| base > 0.0)
                    .map_or("–".to_owned(), |base| {
                        format!("{:.2}×", report.msgs_per_sec / base)
                    });
                measured_columns(out, report, &ratio);
            }
            CellOutcome::Failed(_) => out.push_str(" failed | | | | | | | | | ⚠ |\n"),
            CellOutcome::ServerDown => out.push_str(" server down | | | | | | | | | ⚠ |\n"),
        }
    }
    out.push('\n');
}

fn measured_columns(out: &mut String, report: &LoadReport, ratio: &str) {
    let optional = |v: Option<f64>, fmt: &dyn Fn(f64) -> String| v.map_or("–".to_owned(), fmt);
    let cpu_per_m = match (report.server_cpu_per_million(), report.server_user_sys_us()) {
        (Some(total), Some((user, sys))) => format!("{total:.2} ({user:.2} + {sys:.2})"),
        (Some(total), None) => format!("{total:.2}"),
        _ => "–".to_owned(),
    };
    let percent = |v: f64| format!("{:.0}%", 100.0 * v / report.duration_s);
    let cpu_use = optional(report.server_cpu_s, &percent);
    let client_use = optional(report.client_cpu_s, &percent);
    let errors = match report.errors.count {
        0 => "0".to_owned(),
        n => format!("⚠ {n}"),
    };
    let _ = writeln!(
        out,
        " {} | {} | {:.1} | {:.1} | {cpu_per_m} | {cpu_use} | {client_use} | {ratio} | {errors} |",
        group_thousands(report.msgs_per_sec),
        format_mib(report.mib_per_sec),
        report.latency.p50_us,
        report.latency.p99_us,
    );
}

/// Msgs/s of the baseline server in the same cell.
fn baseline_rate(r: &Results, of: &CellResult) -> Option<f64> {
    r.cells
        .iter()
        .find(|other| other.cell == of.cell && other.server == r.settings.baseline)
        .and_then(|other| match &other.outcome {
            CellOutcome::Measured(report) => Some(report.msgs_per_sec),
            _ => None,
        })
}

fn notes(out: &mut String, r: &Results) {
    let mut notes = Vec::new();
    for result in &r.cells {
        let what = match &result.outcome {
            CellOutcome::Measured(report) if !report.errors.is_empty() => format!(
                "{} errors, first: {}",
                report.errors.count,
                report.errors.samples.first().map_or("", String::as_str)
            ),
            CellOutcome::Failed(why) => why.clone(),
            _ => continue,
        };
        notes.push(format!(
            "- {} at {}: {}",
            result.server,
            result.cell,
            cell_text(&what)
        ));
    }
    if notes.is_empty() {
        return;
    }
    out.push_str("Errors:\n\n");
    let extra = notes.len().saturating_sub(MAX_NOTES);
    for note in notes.into_iter().take(MAX_NOTES) {
        let _ = writeln!(out, "{note}");
    }
    if extra > 0 {
        let _ = writeln!(out, "- … and {extra} more");
    }
    out.push('\n');
}

fn idle(out: &mut String, r: &Results) {
    let n = r.settings.idle_connections;
    if n == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "#### Idle memory: {} connections, one echo each, then held open\n",
        group_thousands(n as f64)
    );
    out.push_str(
        "| server | connections | RSS before | RSS after | bytes/conn | errors |\n\
         |:--|--:|--:|--:|--:|--:|\n",
    );
    for IdleResult { server, outcome } in &r.idle {
        match outcome {
            Ok(m) => {
                let per_conn = m
                    .bytes_per_connection()
                    .map_or("–".to_owned(), group_thousands);
                let _ = writeln!(
                    out,
                    "| {server} | {} | {} | {} | {per_conn} | {} |",
                    group_thousands(m.client.connections_ready as f64),
                    format_mib_bytes(m.rss_before),
                    format_mib_bytes(m.rss_after),
                    m.client.errors.count
                );
            }
            Err(why) => {
                let _ = writeln!(out, "| {server} | {} | | | | |", cell_text(why));
            }
        }
    }
    out.push('\n');
}

/// `1234567.8` → `1,234,568`.
pub fn group_thousands(v: f64) -> String {
    let rounded = v.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    if rounded < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn format_mib(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

fn format_mib_bytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Text made safe for one markdown table cell or list line.
fn cell_text(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(200).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
    short.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::matrix::Cell;
    use crate::compare::measure::IdleMeasurement;
    use crate::compare::results::{Machine, ServerEntry, Settings};
    use crate::latency::LatencySummary;
    use crate::payload::MessageKind;
    use crate::report::{ErrorTally, IdleReport};

    fn report(msgs_per_sec: f64, errors: u64) -> LoadReport {
        LoadReport {
            url: "ws://127.0.0.1:1/".into(),
            connections: 1,
            connections_open: 1,
            size: 20,
            inflight: 1,
            kind: MessageKind::Binary,
            warmup_s: 1.0,
            duration_s: 2.0,
            messages: (msgs_per_sec * 2.0) as u64,
            msgs_per_sec,
            mib_per_sec: 1.5,
            latency: LatencySummary {
                p50_us: 12.34,
                p99_us: 56.78,
                ..LatencySummary::default()
            },
            total_echoes: 0,
            server_cpu_s: Some(1.0),
            server_user_s: Some(0.25),
            server_sys_s: Some(0.75),
            client_cpu_s: Some(1.0),
            errors: ErrorTally {
                count: errors,
                samples: vec!["echo: echo differs at byte 3".into(); errors.min(1) as usize],
            },
        }
    }

    #[test]
    fn the_median_run_is_reported_and_a_failed_run_is_not_outvoted() {
        use crate::compare::measure::median_outcome;
        let rate = |o: CellOutcome| match o {
            CellOutcome::Measured(r) => r.msgs_per_sec,
            other => panic!("expected a measurement, got {other:?}"),
        };
        let measured = |m: f64| CellOutcome::Measured(Box::new(report(m, 0)));
        assert_eq!(rate(median_outcome(vec![measured(7.0)])), 7.0);
        assert_eq!(
            rate(median_outcome(vec![
                measured(30.0),
                measured(10.0),
                measured(20.0)
            ])),
            20.0
        );
        assert_eq!(
            rate(median_outcome(vec![measured(1.0), measured(9.0)])),
            9.0
        );
        let failed = median_outcome(vec![
            measured(5.0),
            CellOutcome::Failed("loadgen: timed out".into()),
            measured(6.0),
        ]);
        assert!(matches!(failed, CellOutcome::Failed(why) if why.contains("timed out")));
    }

    #[test]
    fn repeated_runs_are_said_in_the_heading() {
        let mut r = results();
        assert!(!render(&r).contains("median run"));
        r.settings.repeat = 3;
        assert!(render(&r).contains("each cell run 3 times"));
    }

    #[test]
    fn http2_runs_are_said_in_the_heading() {
        let mut r = results();
        assert!(!render(&r).contains("HTTP/2"));
        r.settings.http2 = true;
        assert!(render(&r).contains("Over HTTP/2: each cell opens ONE TCP connection"));
    }

    fn results() -> Results {
        let cell = Cell {
            connections: 1,
            size: 20,
            inflight: 1,
            kind: MessageKind::Binary,
        };
        let entry = |name: &str, status| ServerEntry {
            name: name.into(),
            command: format!("{name} --port {{port}}"),
            status,
        };
        Results {
            machine: Machine {
                nproc: 2,
                cpu_model: "Test CPU".into(),
                date: "2026-01-02 03:04 UTC".into(),
                load_average: (Some(0.05), None),
            },
            settings: Settings {
                warmup_s: 1.0,
                duration_s: 2.0,
                server_cpu: Some(0),
                client_cpu: Some(1),
                idle_connections: 100,
                baseline: "base".into(),
                repeat: 1,
                http2: false,
            },
            servers: vec![
                entry("base", ServerStatus::Ran),
                entry("other", ServerStatus::Ran),
                entry("gone", ServerStatus::Missing),
            ],
            cells: vec![
                CellResult {
                    cell,
                    server: "base".into(),
                    outcome: CellOutcome::Measured(Box::new(report(100_000.0, 0))),
                },
                CellResult {
                    cell,
                    server: "other".into(),
                    outcome: CellOutcome::Measured(Box::new(report(150_000.0, 2))),
                },
            ],
            idle: vec![
                IdleResult {
                    server: "base".into(),
                    outcome: Ok(IdleMeasurement {
                        rss_before: 1 << 20,
                        rss_after: (1 << 20) + 100 * 5000,
                        client: IdleReport {
                            url: "ws://127.0.0.1:1/".into(),
                            connections: 100,
                            connections_ready: 100,
                            setup_s: 0.1,
                            held_s: 0.5,
                            errors: ErrorTally::default(),
                        },
                    }),
                },
                IdleResult {
                    server: "gone".into(),
                    outcome: Err("missing".into()),
                },
            ],
        }
    }

    #[test]
    fn renders_all_sections() {
        let md = render(&results());
        assert!(md.starts_with("### Echo comparison, 2026-01-02 03:04 UTC (2 CPUs, Test CPU)"));
        assert!(
            md.contains("| gone | missing | `gone --port {port}` |"),
            "{md}"
        );
        assert!(md.contains(
            "| 1 | 20 B | 1 | binary | base | 100,000 | 1.50 | 12.3 | 56.8 | 5.00 (1.25 + 3.75) | 50% | 50% | 1.00× | 0 |"
        ));
        assert!(md.contains("| other | 150,000 |"));
        assert!(md.contains("| 1.50× | ⚠ 2 |"));
        assert!(md.contains("- other at 1 conn × 20 B × 1 in flight, binary: 2 errors"));
        assert!(
            md.contains("| base | 100 | 1.0 MiB | 1.5 MiB | 5,000 | 0 |"),
            "{md}"
        );
        assert!(md.contains("| gone | missing | | | | |"));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(0.0), "0");
        assert_eq!(group_thousands(999.6), "1,000");
        assert_eq!(group_thousands(1_234_567.0), "1,234,567");
        assert_eq!(group_thousands(-4200.0), "-4,200");
        assert_eq!(cell_text("a|b\nc"), "a\\|b c");
    }
}
