//! Reading process and machine facts from `/proc` (Linux only).

use std::fs;

/// Clock ticks per second used by `/proc/PID/stat`.
fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions; it only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
///
/// `pid` of `None` means this process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    cpu_times(pid).map(|t| t.total())
}

/// CPU time a process has used, split into user and system time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTimes {
    /// Seconds in user mode (`utime`).
    pub user: f64,
    /// Seconds in the kernel on the process's behalf (`stime`).
    pub system: f64,
}

impl CpuTimes {
    /// User plus system seconds.
    pub fn total(self) -> f64 {
        self.user + self.system
    }

    /// The time used between `earlier` and this sample.
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// User and system CPU seconds of a process, from `/proc/PID/stat`.
///
/// `pid` of `None` means this process.
pub fn cpu_times(pid: Option<u32>) -> Option<CpuTimes> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = fs::read_to_string(path).ok()?;
    let (utime, stime) = parse_cpu_ticks(&stat)?;
    let hz = clock_ticks_per_sec();
    Some(CpuTimes {
        user: utime as f64 / hz,
        system: stime as f64 / hz,
    })
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line.
fn parse_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    // The command name (field 2) is parenthesised and may hold spaces.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// Resident set size in bytes (`VmRSS` of `/proc/PID/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_bytes(pid, "VmRSS")
}

/// Peak resident set size in bytes (`VmHWM` of `/proc/PID/status`).
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    status_bytes(pid, "VmHWM")
}

/// A `kB` field of `/proc/PID/status`, in bytes.
fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, field)
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The CPU model name from `/proc/cpuinfo`, or `"unknown CPU"`.
pub fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The 1-minute load average (`/proc/loadavg`), showing whether other work
/// competed for the CPUs.
pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Number of CPUs this process may run on.
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_comm() {
        let stat = "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 17 0 0 20 0 1 0 12345 1000000 200 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some((250, 17)));
    }

    #[test]
    fn parses_vm_rss_and_hwm() {
        let status =
            "Name:\tx\nVmPeak:\t  9999 kB\nVmHWM:\t    6144 kB\nVmRSS:\t    5120 kB\nThreads:\t1\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(5120 * 1024));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(6144 * 1024));
        assert_eq!(parse_status_kib(status, "Vm"), None);
    }

    #[test]
    fn reads_own_process() {
        assert!(cpu_seconds(None).is_some());
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
        assert!(peak_rss_bytes(std::process::id()).unwrap() > 0);
        let t = cpu_times(None).unwrap();
        assert!((t.total() - cpu_seconds(None).unwrap()).abs() < 0.05);
        assert!(nproc() >= 1);
        assert!(load_average().is_some());
    }
}
