//! Per-message latency recording (send time to echo receive time) in an HDR
//! histogram, and its summary as reported.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies above this are clamped (no run lasts longer anyway).
const MAX_TRACKED: Duration = Duration::from_secs(60);

/// Collects latencies with 3 significant digits of precision.
#[derive(Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, MAX_TRACKED.as_nanos() as u64, 3)
                .expect("static histogram bounds are valid"),
        }
    }
}

impl LatencyRecorder {
    /// Records one message's round trip.
    pub fn record(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(nanos.max(1));
    }

    /// Number of latencies recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// Percentiles in microseconds (all zero when nothing was recorded).
    pub fn summary(&self) -> LatencySummary {
        let us = |nanos: u64| nanos as f64 / 1000.0;
        let q = |quantile: f64| us(self.histogram.value_at_quantile(quantile));
        if self.histogram.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            p50_us: q(0.50),
            p90_us: q(0.90),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: us(self.histogram.max()),
            mean_us: self.histogram.mean() / 1000.0,
        }
    }
}

/// Latency percentiles of a run, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest latency seen.
    pub max_us: f64,
    /// Arithmetic mean.
    pub mean_us: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut rec = LatencyRecorder::default();
        assert_eq!(rec.summary(), LatencySummary::default());
        for us in 1..=1000 {
            rec.record(Duration::from_micros(us));
        }
        let s = rec.summary();
        assert_eq!(rec.len(), 1000);
        assert!((s.p50_us - 500.0).abs() < 1.0, "{s:?}");
        assert!((s.p99_us - 990.0).abs() < 1.0, "{s:?}");
        assert!((s.max_us - 1000.0).abs() < 1.0, "{s:?}");
    }
}
