//! The hostile peers of the hardening tests: `ws_testkit::raw`'s hand-written frames and readers over a
//! `tokio::net::TcpStream` (wrapped in `ws_tokio::TokioIo`), and the process-memory probes the tests measure
//! their bounds with.

#![allow(dead_code)]

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};
use ws_testkit::raw;
use ws_tokio::TokioIo;

/// The masking key of every hostile frame (clients must mask; the value does not matter).
pub(crate) const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A masked client frame with the RSV bits `rsv`.
pub(crate) fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw::frame(fin, rsv, opcode, payload, Some(MASK))
}

/// A masked client frame header declaring `len` payload bytes that may never follow.
pub(crate) fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    raw::header(fin, 0, opcode, len, Some(MASK))
}

/// The upgrade request of a hostile client, with `extra` header lines (each ending in CRLF).
pub(crate) fn request(extra: &str) -> String {
    raw::upgrade_request("/hostile", extra)
}

/// Sends the upgrade request and reads the response head, which must be a 101 with the right accept value.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    extra: &str,
) -> io::Result<String> {
    raw::client_handshake(&mut TokioIo::new(io), "/hostile", extra).await
}

/// Reads one frame from the server, which must not mask it.
pub(crate) async fn read_frame<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<raw::Frame> {
    unmasked(raw::read_frame(&mut TokioIo::new(io)).await?)
}

/// Reads frames until the server's close frame (which must not be masked); returns it.
pub(crate) async fn read_close<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<raw::Frame> {
    unmasked(raw::read_close(&mut TokioIo::new(io)).await?)
}

fn unmasked(frame: raw::Frame) -> io::Result<raw::Frame> {
    if frame.masked {
        return Err(io::Error::other("masked frame from the server"));
    }
    Ok(frame)
}

/// Reads until the stream ends: the bytes drained when the server closed it, `Err` when it was reset.
pub(crate) async fn read_to_eof<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<usize> {
    raw::read_to_eof(&mut TokioIo::new(io)).await
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`, ...).
pub(crate) fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number of kB");
    kib * 1024
}

/// The process's resident set size now, in bytes.
pub(crate) fn rss() -> u64 {
    status_bytes("VmRSS")
}

/// Measures the peak growth of the process's resident set over a stretch of code: `start` hands free heap
/// memory back to the OS (so later allocations cannot hide in pages that are already resident), resets the
/// high-water mark (`VmHWM`, through `/proc/self/clear_refs`) and records the current RSS; `peak_growth` is
/// the high-water mark since then minus that RSS. Tests that use it run one at a time (see `SERIAL`).
pub(crate) struct PeakRss {
    base: u64,
}

impl PeakRss {
    /// Trims the heap, resets the high-water mark and records the baseline.
    pub(crate) fn start() -> Self {
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim only returns free memory to the OS; it touches no live allocation.
        unsafe {
            libc::malloc_trim(0);
        }
        std::fs::write("/proc/self/clear_refs", "5")
            .expect("reset VmHWM through /proc/self/clear_refs");
        PeakRss { base: rss() }
    }

    /// The highest RSS since `start`, minus the baseline, in bytes.
    pub(crate) fn peak_growth(&self) -> u64 {
        status_bytes("VmHWM").saturating_sub(self.base)
    }
}

/// Bytes as MiB, for messages.
pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
