//! Command-line value parsers shared by the tools.

use std::time::Duration;

/// Longest duration any option accepts, so every run stays bounded.
pub const MAX_SECS: f64 = 3600.0;

/// Parses seconds (fractions allowed) between 0 and [`MAX_SECS`].
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=MAX_SECS).contains(&secs) {
        return Err(format!("{secs} s is outside 0..={MAX_SECS} s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a byte size: a plain number or one with a `k`/`KiB` or `m`/`MiB`
/// suffix (binary multiples), e.g. `20`, `1k`, `64KiB`, `1m`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), ""),
    };
    let n: usize = digits.parse().map_err(|_| format!("{s:?} is not a size"))?;
    let mult = match unit.trim() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        other => return Err(format!("{s:?}: unknown unit {other:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Formats a byte size the way [`parse_size`] reads it (`20 B`, `1 KiB`).
pub fn format_size(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip() {
        for (text, n) in [("20", 20), ("1k", 1024), ("64KiB", 65536), ("1m", 1 << 20)] {
            assert_eq!(parse_size(text), Ok(n));
        }
        assert!(parse_size("12q").is_err());
        assert_eq!(format_size(20), "20 B");
        assert_eq!(format_size(65536), "64 KiB");
        assert_eq!(format_size(1500), "1500 B");
    }

    #[test]
    fn seconds_are_bounded() {
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("1e9").is_err());
        assert!(parse_secs("NaN").is_err());
    }
}
