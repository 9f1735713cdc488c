//! A hand-written hostile WebSocket client (RFC 6455 sections 4 and 5) for the hardening tests: raw
//! `tokio::net::TcpStream` bytes, independent of `ws-core`'s framing, so a peer can misbehave exactly as a
//! test needs. Also the process-memory probes the tests measure their bounds with.

#![allow(dead_code)]

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Continuation opcode.
pub const CONT: u8 = 0x0;
/// Text opcode.
pub const TEXT: u8 = 0x1;
/// Binary opcode.
pub const BINARY: u8 = 0x2;
/// Close opcode.
pub const CLOSE: u8 = 0x8;
/// Ping opcode.
pub const PING: u8 = 0x9;
/// Pong opcode.
pub const PONG: u8 = 0xA;

/// The sample key of RFC 6455 section 1.3 and the accept value a server must answer it with.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The answer to [`KEY`].
pub const KEY_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The masking key every hostile frame uses (clients must mask; the value does not matter).
pub const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A complete upgrade request with `extra` header lines (each ending in CRLF).
pub fn request(extra: &str) -> String {
    format!(
        "GET /hostile HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A frame header as a client sends it (masked), declaring `len` payload bytes that may never follow.
pub fn header(fin: bool, rsv1: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.push(if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 } | opcode);
    match len {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out
}

/// A complete masked client frame.
pub fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = header(fin, rsv1, opcode, payload.len() as u64);
    out.reserve(payload.len());
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// Sends the upgrade request (with `extra` header lines) and reads the response head, which must be a 101
/// with the right accept value. Returns the head.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    extra: &str,
) -> io::Result<String> {
    io.write_all(request(extra).as_bytes()).await?;
    let head = read_head(io).await?;
    if !head.starts_with("HTTP/1.1 101") {
        return Err(io::Error::other(format!("not a 101: {head}")));
    }
    if header_value(&head, "sec-websocket-accept") != Some(KEY_ACCEPT) {
        return Err(io::Error::other(format!("bad accept value: {head}")));
    }
    Ok(head)
}

/// Reads an HTTP head up to and including the blank line, one byte at a time (nothing after it is consumed).
pub async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(io.read_u8().await?);
        if head.len() > 16 * 1024 {
            return Err(io::Error::other("HTTP head over 16 KiB"));
        }
    }
    String::from_utf8(head).map_err(|_| io::Error::other("HTTP head is not UTF-8"))
}

/// The value of header `name` in an HTTP head.
pub fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// One frame from the server (which must not mask).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// FIN bit.
    pub fin: bool,
    /// Opcode.
    pub opcode: u8,
    /// Payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The code of a close frame (`None` for an empty close payload or another opcode).
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Reads one server frame. Server frames are small in these tests: a declared length over 16 MiB is an error
/// rather than an allocation.
pub async fn read_frame<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<Frame> {
    let mut head = [0u8; 2];
    io.read_exact(&mut head).await?;
    if head[1] & 0x80 != 0 {
        return Err(io::Error::other("masked frame from the server"));
    }
    let len = match head[1] & 0x7F {
        126 => u64::from(io.read_u16().await?),
        127 => io.read_u64().await?,
        n => u64::from(n),
    };
    if len > 16 << 20 {
        return Err(io::Error::other(format!("server frame of {len} bytes")));
    }
    let mut payload = vec![0u8; len as usize];
    io.read_exact(&mut payload).await?;
    Ok(Frame {
        fin: head[0] & 0x80 != 0,
        opcode: head[0] & 0x0F,
        payload,
    })
}

/// Reads frames until the server's close frame (skipping data, pings and pongs); returns it.
pub async fn read_close<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<Frame> {
    loop {
        let frame = read_frame(io).await?;
        if frame.opcode == CLOSE {
            return Ok(frame);
        }
    }
}

/// Reads until the stream ends: `Ok(n)` with the bytes drained when the peer closed (read returned 0),
/// `Err` when it was reset.
pub async fn read_to_eof<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<usize> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        match io.read(&mut buf).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`, ...).
pub fn status_bytes(field: &str) -> u64 {
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
pub fn rss() -> u64 {
    status_bytes("VmRSS")
}

/// Measures the peak growth of the process's resident set over a stretch of code: `start` hands free heap
/// memory back to the OS (so later allocations cannot hide in pages that are already resident), resets the
/// high-water mark (`VmHWM`, through `/proc/self/clear_refs`) and records the current RSS; `peak_growth` is
/// the high-water mark since then minus that RSS. Tests that use it run one at a time (see `SERIAL`).
pub struct PeakRss {
    base: u64,
}

impl PeakRss {
    /// Trims the heap, resets the high-water mark and records the baseline.
    pub fn start() -> Self {
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
    pub fn peak_growth(&self) -> u64 {
        status_bytes("VmHWM").saturating_sub(self.base)
    }
}

/// Bytes as MiB, for messages.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
