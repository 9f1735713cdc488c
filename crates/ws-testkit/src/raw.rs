//! A WebSocket peer written by hand (RFC 6455 sections 4 and 5), independent of `ws-core`'s framing, for the
//! tests where the peer must misbehave or be slow in a controlled way: frames with any bits and any declared
//! length, the handshake's bytes, and readers for what comes back. The frames are [`crate::wire`]'s; only
//! the accept-key derivation is borrowed from `ws-core` (it is checked against the RFC's own vector there).
//! The readers take a futures-io stream; tokio tests wrap theirs in `ws_tokio::TokioIo`.

use std::io;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt};

use crate::wire::{self, first_byte};
pub use crate::wire::{BINARY, CLOSE, CONT, Frame, PING, PONG, RSV1, TEXT};

/// A fixed client key and the accept value the server must answer with (RFC 6455 section 1.3).
pub const CLIENT_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The answer to [`CLIENT_KEY`].
pub const CLIENT_KEY_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A frame header (RFC 6455 section 5.2) declaring `len` payload bytes, which need not follow. `rsv` holds
/// the RSV1..3 bits as in the first byte (`0x40` is RSV1); `mask` is the client's masking key (clients must
/// mask, servers must not). See [`wire::header`].
pub fn header(fin: bool, rsv: u8, opcode: u8, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    wire::header(first_byte(fin, rsv, opcode), len, mask)
}

/// Encodes one frame (see [`header`] for `rsv` and `mask`).
pub fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    wire::frame(first_byte(fin, rsv, opcode), payload, mask)
}

/// A masked client frame with a mask key that varies with the payload length.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    frame(
        fin,
        0,
        opcode,
        payload,
        Some((0x3A5C_96E1 ^ n).to_be_bytes()),
    )
}

/// An unmasked server frame.
pub fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, payload, None)
}

/// The largest frame [`read_frame`] takes: a larger declared length is an error rather than an allocation.
pub const MAX_READ_FRAME: u64 = 64 << 20;

/// Reads one frame (at most [`MAX_READ_FRAME`] bytes of payload).
pub async fn read_frame<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<Frame> {
    let mut head = vec![0u8; 2];
    io.read_exact(&mut head).await?;
    head.resize(wire::header_len(head[1]), 0);
    io.read_exact(&mut head[2..]).await?;
    let header = wire::peek_header(&head).expect("a whole header");
    if header.len > MAX_READ_FRAME {
        return Err(io::Error::other(format!("a frame of {} bytes", header.len)));
    }
    let mut payload = vec![0u8; header.len as usize];
    io.read_exact(&mut payload).await?;
    if let Some(key) = header.mask {
        wire::apply_mask(&mut payload, key, 0);
    }
    Ok(Frame {
        fin: header.fin,
        rsv: header.rsv,
        opcode: header.opcode,
        masked: header.mask.is_some(),
        payload,
    })
}

/// Reads frames until a data frame, a close or the end of the stream, skipping pings and pongs.
pub async fn read_data_frame<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<Frame> {
    loop {
        let f = read_frame(io).await?;
        if f.opcode != PING && f.opcode != PONG {
            return Ok(f);
        }
    }
}

/// Reads frames until a close frame (skipping everything else); returns it.
pub async fn read_close<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<Frame> {
    loop {
        let f = read_frame(io).await?;
        if f.opcode == CLOSE {
            return Ok(f);
        }
    }
}

/// Reads an HTTP head (up to and including the blank line), one byte at a time so nothing after it is
/// consumed.
pub async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        if io.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return Err(io::Error::other("HTTP head over 64 KiB"));
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

/// Server side: reads the upgrade request and answers 101 (no subprotocol, no extension). Returns the
/// request head.
pub async fn server_handshake<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S) -> io::Result<String> {
    let head = read_head(io).await?;
    let key = header_value(&head, "sec-websocket-key")
        .ok_or_else(|| io::Error::other("request without Sec-WebSocket-Key"))?;
    let accept = accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    io.write_all(response.as_bytes()).await?;
    io.flush().await?;
    Ok(head)
}

/// The upgrade request [`client_handshake`] sends (key [`CLIENT_KEY`]); `extra` holds more header lines,
/// each ending in CRLF.
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {CLIENT_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// What a client that sent everything at once put on the wire: its upgrade request, `count` binary
/// messages of `size` bytes (each with its own content) and a close frame. Returns the payloads and the
/// bytes.
pub fn burst_of_messages(count: usize, size: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
    let payloads: Vec<Vec<u8>> = (0..count)
        .map(|m| (0..size).map(|i| (i * 31 + m) as u8).collect())
        .collect();
    let mut input = upgrade_request("/", "").into_bytes();
    for payload in &payloads {
        input.extend(client_frame(true, BINARY, payload));
    }
    input.extend(client_frame(true, CLOSE, &1000u16.to_be_bytes()));
    (payloads, input)
}

/// Client side: sends an upgrade request for `path` (with [`CLIENT_KEY`] and `extra` header lines, each
/// ending in CRLF) and reads the response head, checking for a 101 with the right accept value.
pub async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    path: &str,
    extra: &str,
) -> io::Result<String> {
    io.write_all(upgrade_request(path, extra).as_bytes())
        .await?;
    io.flush().await?;
    let head = read_head(io).await?;
    if !head.starts_with("HTTP/1.1 101") {
        return Err(io::Error::other(format!("not a 101: {head}")));
    }
    if header_value(&head, "sec-websocket-accept") != Some(CLIENT_KEY_ACCEPT) {
        return Err(io::Error::other(format!("bad accept value: {head}")));
    }
    Ok(head)
}

/// Reads until the stream ends: `Ok(n)` with the bytes drained when the peer closed it (a read returned
/// 0), `Err` when it failed (e.g. was reset).
pub async fn read_to_eof<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<usize> {
    let mut total = 0;
    read_until_end(io, &mut total).await.map(|()| total)
}

/// Reads until the peer closes the stream; returns how many bytes came (errors count as the end).
pub async fn drain_to_eof<S: AsyncRead + Unpin>(io: &mut S) -> usize {
    let mut total = 0;
    let _ = read_until_end(io, &mut total).await;
    total
}

async fn read_until_end<S: AsyncRead + Unpin>(io: &mut S, total: &mut usize) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match io.read(&mut buf).await? {
            0 => return Ok(()),
            n => *total += n,
        }
    }
}

/// The Sec-WebSocket-Accept value for `key` (RFC 6455 section 4.2.2): base64(SHA-1(key + GUID)).
fn accept_key(key: &[u8]) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}
