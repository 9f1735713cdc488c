//! What a `fanout` run found, and its markdown report.

use std::fmt::Write as _;

use super::run::RunReport;
use crate::cli::format_size;
use crate::compare::table::group_thousands;

/// One cell: subscribers × message size × permessage-deflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// Subscriber connections.
    pub subscribers: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Subscribers offer permessage-deflate.
    pub deflate: bool,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} subscribers × {} deflate {}",
            self.subscribers,
            format_size(self.size),
            if self.deflate { "on" } else { "off" }
        )
    }
}

/// One run of a cell on one server, with the server's memory.
#[derive(Clone, Debug)]
pub struct Measured {
    /// What the load side measured.
    pub report: RunReport,
    /// Server RSS (`VmRSS`) before the connections were opened.
    pub rss_before: u64,
    /// Server peak RSS (`VmHWM`) at the end of the window.
    pub peak: u64,
}

impl Measured {
    /// Peak growth per subscriber, in bytes.
    pub fn bytes_per_subscriber(&self) -> Option<f64> {
        let n = self.report.subscribers_open;
        (n > 0).then(|| (self.peak as f64 - self.rss_before as f64) / n as f64)
    }
}

/// What became of one cell on one server.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It ran (its report may still count errors).
    Measured(Box<Measured>),
    /// It could not run.
    Failed(String),
    /// The server cannot take this cell (no permessage-deflate).
    NotApplicable,
}

impl Outcome {
    fn rate(&self) -> f64 {
        match self {
            Self::Measured(m) => m.report.deliveries_per_sec(),
            _ => 0.0,
        }
    }
}

/// The run to report of several runs of one cell on one server: the median by
/// deliveries/s (the upper one of an even number), or the first run that
/// failed or counted errors, if any did (a failure must show, not be outvoted).
pub fn median(mut runs: Vec<Outcome>) -> Outcome {
    assert!(!runs.is_empty(), "a cell is run at least once");
    let bad = |o: &Outcome| match o {
        Outcome::Measured(m) => !m.report.errors.is_empty(),
        Outcome::Failed(_) => true,
        Outcome::NotApplicable => false,
    };
    if let Some(i) = runs.iter().position(bad) {
        return runs.swap_remove(i);
    }
    runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// One row of the report.
#[derive(Clone, Debug)]
pub struct Row {
    /// The cell.
    pub cell: Cell,
    /// The server's name.
    pub server: String,
    /// The run shown.
    pub outcome: Outcome,
}

/// The markdown table of `rows`, with error samples listed under it.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| subscribers | size | deflate | server | deliveries/s | µs CPU / delivery (user + sys) | srv CPU | peak RSS | per subscriber | lg CPU | missed | errors |\n\
         |--:|--:|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let mut notes = Vec::new();
    for row in rows {
        let cell = row.cell;
        let head = format!(
            "| {} | {} | {} | {} |",
            group_thousands(cell.subscribers as f64),
            format_size(cell.size),
            if cell.deflate { "on" } else { "off" },
            row.server
        );
        match &row.outcome {
            Outcome::NotApplicable => {
                let _ = writeln!(
                    out,
                    "{head} n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
                );
            }
            Outcome::Failed(why) => {
                let _ = writeln!(out, "{head} failed | | | | | | | |");
                notes.push(format!("{} / {}: {why}", row.server, cell));
            }
            Outcome::Measured(m) => {
                let r = &m.report;
                let cpu = r.server_us_per_delivery().map_or("–".to_owned(), |t| {
                    format!("{:.3} ({:.3} + {:.3})", t.total(), t.user, t.system)
                });
                let share = |s: Option<f64>| {
                    s.map_or("–".to_owned(), |s| {
                        format!("{:.0}%", s * 100.0 / r.window_s)
                    })
                };
                let per_sub = m
                    .bytes_per_subscriber()
                    .map_or("–".to_owned(), |b| format!("{} B", group_thousands(b)));
                let _ = writeln!(
                    out,
                    "{head} {} | {cpu} | {} | {:.1} MiB | {per_sub} | {} | {} | {} |",
                    group_thousands(r.deliveries_per_sec()),
                    share(r.server_cpu.map(|t| t.total())),
                    m.peak as f64 / f64::from(1 << 20),
                    share(r.client_cpu_s),
                    group_thousands(r.missed as f64),
                    r.errors.count
                );
                if cell.deflate && r.compressed < r.deliveries {
                    notes.push(format!(
                        "{} / {}: {} of {} deliveries arrived compressed",
                        row.server,
                        cell,
                        group_thousands(r.compressed as f64),
                        group_thousands(r.deliveries as f64)
                    ));
                }
                if cell.deflate && r.deflate_accepted < r.subscribers_open {
                    notes.push(format!(
                        "{} / {}: permessage-deflate accepted on {} of {} subscribers",
                        row.server, cell, r.deflate_accepted, r.subscribers_open
                    ));
                }
                for sample in &r.errors.samples {
                    notes.push(format!("{} / {}: {sample}", row.server, cell));
                }
            }
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "* {note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::CpuTimes;

    fn measured(deliveries: u64, errors: u64) -> Outcome {
        let mut report = RunReport {
            subscribers_open: 1000,
            window_s: 2.0,
            deliveries,
            server_cpu: Some(CpuTimes {
                user: 0.5,
                system: 1.0,
            }),
            client_cpu_s: Some(1.9),
            ..RunReport::default()
        };
        for _ in 0..errors {
            report.errors.add("boom");
        }
        Outcome::Measured(Box::new(Measured {
            report,
            rss_before: 1 << 20,
            peak: 11 << 20,
        }))
    }

    #[test]
    fn median_by_rate_unless_a_run_went_wrong() {
        let rate = |o: &Outcome| o.rate();
        let runs = vec![measured(3000, 0), measured(1000, 0), measured(2000, 0)];
        assert_eq!(rate(&median(runs)), 1000.0);
        let runs = vec![measured(3000, 0), measured(1000, 1), measured(2000, 0)];
        assert_eq!(rate(&median(runs)), 500.0);
        let runs = vec![measured(3000, 0), Outcome::Failed("x".into())];
        assert!(matches!(median(runs), Outcome::Failed(_)));
    }

    #[test]
    fn renders_cpu_memory_and_not_applicable() {
        let cell = Cell {
            subscribers: 1000,
            size: 1024,
            deflate: true,
        };
        let rows = [
            Row {
                cell,
                server: "a".into(),
                outcome: measured(2_000_000, 0),
            },
            Row {
                cell,
                server: "b".into(),
                outcome: Outcome::NotApplicable,
            },
        ];
        let md = render(&rows);
        // 1.5 s of CPU over 2,000,000 deliveries: 0.75 µs each.
        assert!(
            md.contains("| 1,000 | 1 KiB | on | a | 1,000,000 | 0.750 (0.250 + 0.500) | 75% | 11.0 MiB | 10,486 B | 95% | 0 | 0 |"),
            "{md}"
        );
        assert!(md.contains("| b | n/a |"));
        assert!(md.contains("accepted on 0 of 1000"));
        assert!(md.contains("0 of 2,000,000 deliveries arrived compressed"));
    }
}
