//! Hardening: hostile peers, load and faults, with nothing lost.
//!
//! Every test asserts the bound it claims (bytes, seconds, counts). Peers that must misbehave are raw
//! `tokio::net::TcpStream`s writing hand-made bytes (see `hostile/mod.rs`); servers are built with
//! `ws_tokio::accept`/`accept_with`/`serve_until` and short timeouts, so nothing waits long. No sleep is
//! used to synchronise: the only timed waits are the behaviour under test (a slowloris's pace) and the
//! `timeout`s that bound every await. Memory is read from `/proc/self/status` (`VmRSS`, and `VmHWM` reset
//! through `/proc/self/clear_refs` for peaks), so the tests run one at a time (`SERIAL`). Measured figures
//! are printed on stderr (`cargo test -- --nocapture` shows them).

mod hostile;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use ws_core::{Limit, Timeout};
use ws_testkit::raw::{self, BINARY, CONT, TEXT};
use ws_tokio::{
    Accept, ClientBuilder, CloseCode, Config, Error, Limits, Message, Response, Shutdown, Timeouts,
    WebSocket,
};

use hostile::{PeakRss, frame, handshake, header, mib, read_close, read_to_eof, rss};

/// The bound on every await that is not itself the point of a test.
const LIMIT: Duration = Duration::from_secs(10);

/// The tests measure the whole process's memory and time, so they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Short timeouts so the tests are fast: handshake 500 ms, close 500 ms, no keepalive.
fn short_timeouts() -> Timeouts {
    Timeouts::default()
        .handshake(Some(ms(500)))
        .keepalive_interval(None)
        .pong(None)
        .close(Some(ms(500)))
}

/// A server configuration without extensions.
fn config(limits: Limits, timeouts: Timeouts) -> Config {
    Config::default().limits(limits).timeouts(timeouts)
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Accepts one TCP connection and runs the server handshake on it.
async fn accept_one(listener: &TcpListener, config: Config) -> ws_tokio::Result<WebSocket> {
    let (tcp, _) = listener.accept().await?;
    ws_tokio::accept(tcp, config).await
}

/// A server WebSocket and a hostile raw peer that has completed the handshake (with `extra` request header
/// lines); also returns the 101 response head.
async fn hostile_pair(config: Config, extra: &str) -> (WebSocket, TcpStream, String) {
    let (listener, addr) = bind().await;
    let mut peer = TcpStream::connect(addr).await.unwrap();
    let (ws, head) = timeout(LIMIT, async {
        tokio::join!(accept_one(&listener, config), handshake(&mut peer, extra))
    })
    .await
    .expect("handshake in time");
    (
        ws.expect("server handshake"),
        peer,
        head.expect("peer handshake"),
    )
}

/// A server WebSocket and a `ws_tokio` client connected to it.
async fn ws_pair(server: Config) -> (WebSocket, WebSocket) {
    let (listener, addr) = bind().await;
    let url = format!("ws://{addr}/");
    let (server, client) = timeout(LIMIT, async {
        tokio::join!(accept_one(&listener, server), ws_tokio::connect(&url))
    })
    .await
    .expect("handshake in time");
    (
        server.expect("server handshake"),
        client.expect("client handshake").0,
    )
}

fn is_failure(result: &Option<ws_tokio::Result<Message>>, expected: ws_core::Error) -> bool {
    matches!(result, Some(Err(Error::Failed(e))) if *e == expected)
}

/// The memory probe the bounds below rely on sees a peak that is already gone.
#[test]
fn the_peak_rss_probe_sees_a_freed_allocation() {
    let _serial = SERIAL.blocking_lock();
    let probe = PeakRss::start();
    let buffer = std::hint::black_box(vec![1u8; 32 << 20]); // written, so resident
    drop(buffer);
    let growth = probe.peak_growth();
    assert!(
        (30 << 20..48 << 20).contains(&growth),
        "a freed 32 MiB buffer showed as {:.1} MiB",
        mib(growth)
    );
}

// ----- 1. slowloris -----

#[tokio::test]
async fn slowloris_is_cut_at_the_handshake_timeout() {
    let _serial = SERIAL.lock().await;
    let timeouts = short_timeouts();
    let (handshake_timeout, close_timeout) = (timeouts.handshake.unwrap(), timeouts.close.unwrap());
    let (listener, addr) = bind().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let started = Instant::now();
        let result = ws_tokio::accept(tcp, config(Limits::default(), timeouts)).await;
        (result.map(drop), started.elapsed())
    });

    let mut peer = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let request = hostile::request("").into_bytes();
    let mut tick = tokio::time::interval(ms(100));
    let mut dribbled = 0;
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    // One byte every 100 ms (the whole request would take ~15 s) while watching for the server's end.
    let eof_after = timeout(LIMIT, async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    peer.write_all(&request[dribbled..=dribbled]).await.expect("the server cut before its FIN");
                    dribbled += 1;
                }
                read = tokio::io::AsyncReadExt::read(&mut peer, &mut buf) => match read {
                    Ok(0) | Err(_) => return started.elapsed(),
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
        }
    })
    .await
    .expect("the server never closed the slowloris connection");
    assert!(dribbled < request.len());
    assert!(
        eof_after >= handshake_timeout && eof_after < handshake_timeout + ms(500),
        "the peer saw the end of the stream after {eof_after:?} (handshake timeout {handshake_timeout:?})"
    );
    let answer = String::from_utf8_lossy(&received).into_owned();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "unexpected answer {answer:?}"
    );

    // A real slowloris ignores the FIN and goes on: the socket is then closed for good (reset).
    let write_failed_after = timeout(LIMIT, async {
        loop {
            tick.tick().await;
            if peer.write_all(b"X").await.is_err() {
                return started.elapsed();
            }
        }
    })
    .await
    .expect("the server never closed the socket");

    let (result, accept_took) = timeout(LIMIT, server).await.unwrap().unwrap();
    match result {
        Err(Error::Failed(ws_core::Error::Timeout(Timeout::Handshake))) => {}
        other => panic!("accept ended with {other:?}, not a handshake timeout"),
    }
    assert!(
        accept_took >= handshake_timeout
            && accept_took < handshake_timeout + close_timeout + ms(500),
        "accept returned after {accept_took:?}"
    );
    eprintln!(
        "slowloris: {dribbled} bytes dribbled; peer saw EOF after {eof_after:?} ({:?}); accept returned \
         Timeout(Handshake) after {accept_took:?}; peer's writes failed after {write_failed_after:?}",
        answer.lines().next().unwrap_or("no response")
    );
}

// ----- 2. a peer that stops reading -----

#[tokio::test]
async fn a_peer_that_stops_reading_makes_send_wait_with_bounded_memory() {
    let _serial = SERIAL.lock().await;
    const QUEUE: usize = 64 << 10;
    const MESSAGE: usize = 1 << 20;
    const TOTAL: usize = 256 << 20;
    const MEMORY_BOUND: u64 = 32 << 20;
    let limits = Limits::default().max_queued_output(QUEUE);
    let (mut ws, peer, _) = hostile_pair(config(limits, short_timeouts()), "").await;
    let message = Message::from(vec![0x5A; MESSAGE]);

    let probe = PeakRss::start();
    let started = Instant::now();
    let mut sent = 0;
    while sent < TOTAL / MESSAGE {
        // A send that has not completed after a second is waiting for the peer to read.
        match timeout(Duration::from_secs(1), ws.send(message.clone())).await {
            Ok(result) => {
                result.expect("send");
                sent += 1;
            }
            Err(_) => break,
        }
    }
    let stalled_after = started.elapsed();
    let queued = ws.connection().queued_output();
    // The send that timed out was flushing its message. If what it left is below the high-water mark,
    // the next send may queue one more message (and then wait to write it); above the mark, it waits
    // without queueing. Either way the send after that queues nothing: sends wait, the queue stays put.
    let again = timeout(ms(500), ws.send(message.clone())).await;
    assert!(again.is_err(), "a second send completed: {again:?}");
    let after_second = ws.connection().queued_output();
    let frame_len = MESSAGE + 10;
    if queued < QUEUE {
        assert!(
            after_second > queued && after_second <= queued + frame_len,
            "below the mark ({queued} bytes) the second send queues its message once: {after_second}"
        );
    } else {
        assert!(
            after_second <= queued,
            "a send waiting on a full queue queued more: {queued} -> {after_second}"
        );
    }
    let third = timeout(ms(300), ws.send(message.clone())).await;
    assert!(third.is_err(), "a third send completed: {third:?}");
    let after_third = ws.connection().queued_output();
    assert!(
        after_third <= after_second,
        "a send waiting on a full queue queued more: {after_second} -> {after_third}"
    );
    let queued = after_second;
    let growth = probe.peak_growth();
    assert!(
        sent < TOTAL / MESSAGE,
        "all of {} MiB went to a peer that reads nothing",
        TOTAL >> 20
    );
    assert!(
        sent * MESSAGE < MEMORY_BOUND as usize,
        "{sent} MiB accepted before send waited"
    );
    assert!(
        queued < QUEUE + MESSAGE + 14,
        "{queued} bytes queued in the connection"
    );
    assert!(growth < MEMORY_BOUND, "RSS grew by {:.1} MiB", mib(growth));
    eprintln!(
        "stalled peer: send waited after {sent} x 1 MiB went into the socket buffers ({stalled_after:?}, the last \
         second waiting), {queued} bytes queued in the connection while waiting, peak RSS growth {:.1} MiB while \
         trying to send {} MiB",
        mib(growth),
        TOTAL >> 20
    );
    drop(peer);
}

// ----- 3. a peer that vanishes or resets -----

#[tokio::test]
async fn a_peer_that_vanishes_mid_frame_ends_recv_with_an_error() {
    let _serial = SERIAL.lock().await;
    let (mut ws, mut peer, _) = hostile_pair(config(Limits::default(), short_timeouts()), "").await;
    let whole = frame(true, 0, BINARY, &[7; 1000]);
    peer.write_all(&whole[..whole.len() - 500]).await.unwrap();
    peer.shutdown().await.unwrap();
    drop(peer);
    let started = Instant::now();
    let result = timeout(LIMIT, ws.recv())
        .await
        .expect("recv hung on a vanished peer");
    let took = started.elapsed();
    assert!(
        is_failure(&result, ws_core::Error::UnexpectedEof),
        "recv gave {result:?}"
    );
    assert!(took < ms(500), "recv took {took:?}");
    assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
    eprintln!("vanished mid-frame: recv failed with UnexpectedEof after {took:?}");
}

#[tokio::test]
async fn a_peer_that_resets_mid_frame_ends_recv_with_an_error() {
    let _serial = SERIAL.lock().await;
    let (mut ws, mut peer, _) = hostile_pair(config(Limits::default(), short_timeouts()), "").await;
    let whole = frame(true, 0, BINARY, &[7; 1000]);
    peer.write_all(&whole[..whole.len() - 500]).await.unwrap();
    peer.set_zero_linger().unwrap();
    drop(peer); // SO_LINGER 0: a reset
    let started = Instant::now();
    let result = timeout(LIMIT, ws.recv())
        .await
        .expect("recv hung on a reset peer");
    let took = started.elapsed();
    let kind = match &result {
        Some(Err(Error::Io(e))) => format!("Io({:?})", e.kind()),
        Some(Err(Error::Failed(ws_core::Error::UnexpectedEof))) => "UnexpectedEof".to_string(),
        other => panic!("recv gave {other:?}"),
    };
    assert!(took < ms(500), "recv took {took:?}");
    assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
    eprintln!("reset mid-frame: recv failed with {kind} after {took:?}");
}

// ----- 4. flood of empty continuation frames -----

#[tokio::test]
async fn a_flood_of_empty_continuations_is_closed_with_1009_at_max_fragments() {
    let _serial = SERIAL.lock().await;
    const FRAGMENTS: usize = 1_000;
    const FLOOD: usize = 200_000;
    let limits = Limits::default().max_fragments(FRAGMENTS);
    let (mut ws, peer, _) = hostile_pair(config(limits, short_timeouts()), "").await;
    let mut flood = frame(false, 0, TEXT, b"a");
    let empty = frame(false, 0, CONT, &[]);
    for _ in 0..FLOOD {
        flood.extend_from_slice(&empty);
    }
    let (mut rd, mut wr) = peer.into_split();
    let writer = tokio::spawn(async move {
        // The server stops reading at the limit and resets the connection later: errors are expected.
        let _ = wr.write_all(&flood).await;
        wr
    });
    let started = Instant::now();
    let (result, close) = tokio::join!(timeout(LIMIT, ws.recv()), async {
        let close = timeout(LIMIT, read_close(&mut rd))
            .await
            .expect("close frame in time");
        let took = started.elapsed();
        let end = timeout(LIMIT, read_to_eof(&mut rd))
            .await
            .expect("end of stream in time");
        (close, took, end)
    });
    let result = result.expect("recv ended");
    let (close, close_after, end) = close;
    let close = close.expect("a close frame");
    assert_eq!(close.close_code(), Some(1009), "close frame {close:?}");
    assert!(
        is_failure(&result, ws_core::Error::LimitExceeded(Limit::Fragments)),
        "recv gave {result:?}"
    );
    assert!(
        close_after < Duration::from_secs(2),
        "close after {close_after:?}"
    );
    let _ = end;
    drop(timeout(LIMIT, writer).await);
    eprintln!(
        "continuation flood: close {} ({:?}) after {close_after:?}",
        close.close_code().unwrap(),
        String::from_utf8_lossy(&close.payload[2..])
    );
}

/// The lingering close: a peer that goes on writing after the server failed the connection (it only
/// reads once it has written everything) still reads the 1009 close frame, then a clean end of stream.
/// Small socket buffers make the flood wait on the server's reads: without the lingering, the server
/// drops the socket while the peer is still writing, the kernel answers with a reset, and the peer's
/// write fails before it ever reads the close frame.
#[tokio::test]
async fn a_peer_still_writing_after_the_failure_reads_the_1009_close_frame() {
    let _serial = SERIAL.lock().await;
    const FRAGMENTS: usize = 1_000;
    const FLOOD: usize = 100_000; // 600 KB of empty masked continuation frames, under the 1 MiB bound
    const BUFFER: u32 = 16 * 1024;
    let limits = Limits::default().max_fragments(FRAGMENTS);
    let timeouts = short_timeouts().close(Some(Duration::from_secs(5)));
    // Accepted sockets take the listener's receive buffer; the peer's send buffer is set before connecting.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(16).unwrap();
    let client = tokio::net::TcpSocket::new_v4().unwrap();
    client.set_send_buffer_size(BUFFER).unwrap();
    let mut peer = client.connect(addr).await.unwrap();
    let (ws, head) = timeout(LIMIT, async {
        tokio::join!(
            accept_one(&listener, config(limits, timeouts)),
            handshake(&mut peer, "")
        )
    })
    .await
    .expect("handshake in time");
    head.expect("peer handshake");
    let mut ws = ws.expect("server handshake");
    let server = tokio::spawn(async move { timeout(LIMIT, ws.recv()).await });
    let mut flood = frame(false, 0, TEXT, b"a");
    let empty = frame(false, 0, CONT, &[]);
    for _ in 0..FLOOD {
        flood.extend_from_slice(&empty);
    }
    // Everything is written before the peer reads anything: the server reads and discards it.
    timeout(LIMIT, peer.write_all(&flood))
        .await
        .expect("flood written in time")
        .expect("the whole flood is taken, no reset");
    let close = timeout(LIMIT, read_close(&mut peer))
        .await
        .expect("close frame in time")
        .expect("a close frame, not a reset");
    assert_eq!(close.close_code(), Some(1009), "close frame {close:?}");
    peer.shutdown().await.unwrap();
    let rest = timeout(LIMIT, read_to_eof(&mut peer))
        .await
        .expect("end of stream in time")
        .expect("a clean end of stream, not a reset");
    assert_eq!(rest, 0, "nothing after the close frame");
    let result = server.await.unwrap().expect("recv ended in time");
    assert!(
        is_failure(&result, ws_core::Error::LimitExceeded(Limit::Fragments)),
        "recv gave {result:?}"
    );
}

// ----- 5. huge declared length -----

#[tokio::test]
async fn a_huge_declared_length_is_closed_with_1009_without_allocating() {
    let _serial = SERIAL.lock().await;
    const MEMORY_BOUND: u64 = 8 << 20;
    let (mut ws, mut peer, _) = hostile_pair(config(Limits::default(), short_timeouts()), "").await;
    let probe = PeakRss::start();
    let started = Instant::now();
    let (result, close) = tokio::join!(timeout(LIMIT, ws.recv()), async {
        peer.write_all(&header(true, BINARY, 1 << 62))
            .await
            .unwrap();
        let close = timeout(LIMIT, read_close(&mut peer))
            .await
            .expect("close frame in time");
        let took = started.elapsed();
        let end = timeout(LIMIT, read_to_eof(&mut peer))
            .await
            .expect("end of stream in time");
        drop(peer);
        (close, took, end)
    });
    let growth = probe.peak_growth();
    let result = result.expect("recv ended");
    let (close, close_after, end) = close;
    let close = close.expect("a close frame");
    assert_eq!(close.close_code(), Some(1009));
    assert!(
        is_failure(&result, ws_core::Error::LimitExceeded(Limit::FrameSize)),
        "recv gave {result:?}"
    );
    assert!(
        end.is_ok(),
        "the stream ends with a FIN after the close frame: {end:?}"
    );
    assert!(close_after < ms(500), "close after {close_after:?}");
    assert!(growth < MEMORY_BOUND, "RSS grew by {:.1} MiB", mib(growth));
    eprintln!(
        "2^62-byte frame header: close 1009 after {close_after:?}, peak RSS growth {} KiB",
        growth >> 10
    );
}

// ----- 6. decompression bomb -----

/// A raw DEFLATE stream of `mib` MiB of zeros: one sync-flushed MiB compressed at level 9, repeated (each
/// copy only refers back into itself, so the copies chain), without the final 00 00 FF FF (RFC 7692).
fn deflate_bomb(mib: usize) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    encoder.flush().unwrap();
    let chunk = encoder.get_ref().clone();
    assert!(chunk.ends_with(&[0, 0, 0xFF, 0xFF]));
    let mut bomb = chunk.repeat(mib);
    bomb.truncate(bomb.len() - 4);
    bomb
}

#[test]
fn the_deflate_bomb_really_inflates_to_a_gibibyte() {
    let _serial = SERIAL.blocking_lock();
    let bomb = deflate_bomb(1024);
    let mut inflater = flate2::Decompress::new(false);
    let mut out = vec![0u8; 1 << 20];
    let mut input = &bomb[..];
    let mut total = 0u64;
    loop {
        let before = (inflater.total_in(), inflater.total_out());
        inflater
            .decompress(input, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        let consumed = (inflater.total_in() - before.0) as usize;
        let produced = inflater.total_out() - before.1;
        assert!(out[..produced as usize].iter().all(|&b| b == 0));
        input = &input[consumed..];
        total += produced;
        if consumed == 0 && produced == 0 {
            break;
        }
    }
    assert_eq!(total, 1 << 30, "{} compressed bytes", bomb.len());
}

#[tokio::test]
async fn a_deflate_bomb_is_closed_with_1009_with_bounded_memory() {
    let _serial = SERIAL.lock().await;
    const MAX_MESSAGE: usize = 1 << 20;
    const MEMORY_BOUND: u64 = 16 << 20;
    let server_config = ws_tokio::default_config()
        .limits(Limits::default().max_message_size(MAX_MESSAGE))
        .timeouts(short_timeouts());
    let (mut ws, peer, head) = hostile_pair(
        server_config,
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    )
    .await;
    let negotiated = raw::header_value(&head, "sec-websocket-extensions").unwrap_or("");
    assert!(
        negotiated.starts_with("permessage-deflate"),
        "not negotiated: {head}"
    );
    assert_eq!(ws.extensions(), Some(negotiated));
    let bomb = frame(true, raw::RSV1, BINARY, &deflate_bomb(1024)); // 1 GiB of zeros, compressed
    let compressed = bomb.len();

    let probe = PeakRss::start();
    let started = Instant::now();
    let (mut rd, mut wr) = peer.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&bomb).await; // the server stops reading: errors are expected
        wr
    });
    let (result, close) = tokio::join!(timeout(LIMIT, ws.recv()), async {
        let close = timeout(LIMIT, read_close(&mut rd))
            .await
            .expect("close frame in time");
        (close, started.elapsed())
    });
    let growth = probe.peak_growth();
    let result = result.expect("recv ended");
    let (close, close_after) = close;
    let close = close.expect("a close frame");
    assert_eq!(close.close_code(), Some(1009));
    assert!(
        is_failure(&result, ws_core::Error::LimitExceeded(Limit::MessageSize)),
        "recv gave {result:?}"
    );
    assert!(
        close_after < Duration::from_secs(2),
        "close after {close_after:?}"
    );
    assert!(growth < MEMORY_BOUND, "RSS grew by {:.1} MiB", mib(growth));
    drop(timeout(LIMIT, writer).await);
    eprintln!(
        "deflate bomb ({compressed} bytes inflating to 1 GiB, limit 1 MiB): close 1009 after {close_after:?}, \
         peak RSS growth {:.1} MiB",
        mib(growth)
    );
}

// ----- 8. no data loss -----

const NUMBERED: usize = 10_000;

/// Receives with `$recv` (an expression giving a `recv()` future) until the stream ends, checking the
/// messages are 0, 1, 2, ... in order; evaluates to how many came.
macro_rules! count_in_order {
    ($recv:expr) => {{
        let mut n = 0usize;
        while let Some(message) = $recv.await {
            let message = message.unwrap_or_else(|e| panic!("after {n} messages: {e}"));
            assert_eq!(
                message.as_text(),
                Some(n.to_string().as_str()),
                "message {n} out of order"
            );
            n += 1;
        }
        n
    }};
}

#[tokio::test]
async fn no_loss_when_the_client_sends_then_closes_at_once() {
    let _serial = SERIAL.lock().await;
    for queue_only in [false, true] {
        let (mut server, mut client) = ws_pair(ws_tokio::default_config()).await;
        let (received, ()) = timeout(LIMIT, async {
            tokio::join!(async { count_in_order!(server.recv()) }, async {
                for i in 0..NUMBERED {
                    if queue_only {
                        client.feed(i.to_string()).await.unwrap(); // queued, not written
                    } else {
                        client.send(i.to_string()).await.unwrap();
                    }
                }
                client.close(CloseCode::NORMAL, "").await.unwrap();
            })
        })
        .await
        .expect("in time");
        assert_eq!(received, NUMBERED, "feed only: {queue_only}");
        assert_eq!(
            server.close_frame().map(|f| f.code),
            Some(CloseCode::NORMAL)
        );
        assert_eq!(
            client.close_frame().map(|f| f.code),
            Some(CloseCode::NORMAL)
        );
    }
}

#[tokio::test]
async fn no_loss_when_the_server_sends_then_closes_at_once() {
    let _serial = SERIAL.lock().await;
    for queue_only in [false, true] {
        let (mut server, mut client) = ws_pair(ws_tokio::default_config()).await;
        let ((), received) = timeout(LIMIT, async {
            tokio::join!(
                async {
                    for i in 0..NUMBERED {
                        if queue_only {
                            server.feed(i.to_string()).await.unwrap();
                        } else {
                            server.send(i.to_string()).await.unwrap();
                        }
                    }
                    server.close(CloseCode::NORMAL, "").await.unwrap();
                },
                async { count_in_order!(client.recv()) }
            )
        })
        .await
        .expect("in time");
        assert_eq!(received, NUMBERED, "feed only: {queue_only}");
        assert_eq!(
            client.close_frame().map(|f| f.code),
            Some(CloseCode::NORMAL)
        );
    }
}

/// Both ends split; each writer task sends numbered messages as fast as it can while its reader receives
/// the other's. Once the server's reader is mid-stream, a third task closes the server's writer, racing
/// its sending task (the two share the writer through a mutex, so "before the close" is well defined).
/// Every send that returned `Ok`, on either side, arrives, in order; none returns `Ok` after the close.
#[tokio::test]
async fn no_loss_when_close_races_sends_from_a_split_writer() {
    let _serial = SERIAL.lock().await;
    const MID_STREAM: usize = 500;
    const BOUND: usize = 1_000_000;
    let (server, client) = ws_pair(ws_tokio::default_config()).await;
    let (mut server_rd, server_wr) = server.split();
    let (mut client_rd, mut client_wr) = client.split();
    let server_wr = Arc::new(tokio::sync::Mutex::new(server_wr));
    let server_ok = Arc::new(AtomicUsize::new(0));

    let sender = tokio::spawn({
        let (server_wr, server_ok) = (server_wr.clone(), server_ok.clone());
        async move {
            for i in 0..BOUND {
                let result = server_wr.lock().await.send(i.to_string()).await;
                match result {
                    Ok(()) => server_ok.store(i + 1, Ordering::SeqCst),
                    Err(Error::Send(ws_core::SendError::Closed)) => return i,
                    Err(e) => panic!("server send {i}: {e}"),
                }
            }
            panic!("{BOUND} messages sent and still no close");
        }
    });
    let (mid_stream_tx, mid_stream_rx) = tokio::sync::oneshot::channel::<()>();
    let closer = tokio::spawn({
        let (server_wr, server_ok) = (server_wr.clone(), server_ok.clone());
        async move {
            mid_stream_rx.await.unwrap();
            let mut writer = server_wr.lock().await;
            let ok_before_close = server_ok.load(Ordering::SeqCst);
            writer.close(CloseCode::NORMAL, "").await.unwrap();
            ok_before_close
        }
    });
    let server_reader = tokio::spawn(async move {
        let mut mid_stream_tx = Some(mid_stream_tx);
        let mut n = 0;
        while let Some(message) = server_rd.recv().await {
            let message = message.unwrap_or_else(|e| panic!("server recv after {n}: {e}"));
            assert_eq!(message.as_text(), Some(n.to_string().as_str()));
            n += 1;
            if n == MID_STREAM {
                mid_stream_tx.take().unwrap().send(()).unwrap();
            }
        }
        (n, server_rd.close_frame())
    });
    let client_sender = tokio::spawn(async move {
        for i in 0..BOUND {
            match client_wr.send(i.to_string()).await {
                Ok(()) => {}
                Err(Error::Send(ws_core::SendError::Closed)) => return i,
                Err(e) => panic!("client send {i}: {e}"),
            }
        }
        panic!("{BOUND} messages sent and still no close");
    });
    let client_reader = tokio::spawn(async move {
        let n = count_in_order!(client_rd.recv());
        (n, client_rd.close_frame())
    });

    let all = timeout(LIMIT, async {
        tokio::join!(sender, closer, server_reader, client_sender, client_reader)
    })
    .await
    .expect("everything ended in time");
    let server_sent = all.0.unwrap();
    let ok_before_close = all.1.unwrap();
    let (server_received, server_close) = all.2.unwrap();
    let client_sent = all.3.unwrap();
    let (client_received, client_close) = all.4.unwrap();
    assert_eq!(
        server_sent, ok_before_close,
        "no server send returned Ok after the close"
    );
    assert_eq!(client_received, server_sent, "every Ok server send arrived");
    assert_eq!(server_received, client_sent, "every Ok client send arrived");
    assert!(server_received >= MID_STREAM);
    assert_eq!(client_close.map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(server_close.map(|f| f.code), Some(CloseCode::NORMAL));
    eprintln!(
        "close racing sends: server sent {server_sent} (all Ok before the close) and the client got them all; \
         client sent {client_sent} and the server got them all"
    );
}

// ----- 9. graceful shutdown under load -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_closes_every_connection_with_1001() {
    let _serial = SERIAL.lock().await;
    const CLIENTS: usize = 200;
    const WARM_UP: usize = 3;
    let grace = Duration::from_secs(5);
    let (listener, addr) = bind().await;
    let shutdown = Shutdown::new();
    let server = tokio::spawn(ws_tokio::serve_until(
        listener,
        ws_tokio::default_config(),
        shutdown.clone(),
        grace,
        ws_testkit::echo,
    ));
    let url = format!("ws://{addr}/");
    let warm = Arc::new(tokio::sync::Barrier::new(CLIENTS + 1));
    let mut clients = tokio::task::JoinSet::new();
    for id in 0..CLIENTS {
        let (url, warm) = (url.clone(), warm.clone());
        clients.spawn(async move {
            let (mut ws, _) = ws_tokio::connect(&url).await.expect("connect");
            let mut echoes = 0;
            loop {
                let text = format!("{id}:{echoes}");
                ws.send(text.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("client {id} send: {e}"));
                match ws.recv().await {
                    Some(Ok(echo)) => assert_eq!(echo.as_text(), Some(text.as_str())),
                    Some(Err(e)) => panic!("client {id} after {echoes} echoes: {e}"),
                    None => break,
                }
                echoes += 1;
                if echoes == WARM_UP {
                    warm.wait().await;
                }
            }
            (echoes, ws.close_frame().map(|f| f.code))
        });
    }
    timeout(LIMIT, warm.wait())
        .await
        .expect("every client echoing");
    assert_eq!(shutdown.active(), CLIENTS);
    let started = Instant::now();
    shutdown.trigger();
    let mut echoes = 0;
    while let Some(joined) = timeout(LIMIT, clients.join_next())
        .await
        .expect("clients end in time")
    {
        let (n, code) = joined.expect("client task");
        assert_eq!(code, Some(CloseCode::GOING_AWAY));
        echoes += n;
    }
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    let took = started.elapsed();
    assert!(
        took < grace,
        "serve_until returned after {took:?}, grace {grace:?}"
    );
    assert_eq!(shutdown.active(), 0);
    eprintln!(
        "shutdown under load: {CLIENTS} clients, {echoes} echoes, all closed 1001; serve_until returned after {took:?}"
    );
}

// ----- 10. Origin check -----

#[tokio::test]
async fn a_foreign_origin_is_rejected_with_403_and_the_same_host_accepted() {
    let _serial = SERIAL.lock().await;
    let (listener, addr) = bind().await;
    let server = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for _ in 0..2 {
            let (tcp, _) = listener.accept().await.unwrap();
            let result =
                ws_tokio::accept_with(tcp, ws_tokio::default_config(), |request| async move {
                    if request.origin_allowed(&[]) {
                        Ok(Accept::new())
                    } else {
                        Err(Response::new(403, "origin not allowed"))
                    }
                })
                .await;
            match result {
                Ok(ws) => {
                    ws_testkit::echo(ws).await;
                    outcomes.push(None)
                }
                Err(e) => outcomes.push(e.rejected_status()),
            }
        }
        outcomes
    });
    let url = format!("ws://{addr}/");
    let evil = ClientBuilder::new(&url)
        .unwrap()
        .origin("http://evil.example");
    let rejected = timeout(LIMIT, ws_tokio::connect_with(&evil)).await.unwrap();
    match rejected {
        Err(e @ Error::Rejected(_)) => assert_eq!(e.rejected_status(), Some(403)),
        Err(e) => panic!("a foreign Origin failed with {e}, not a 403"),
        Ok(_) => panic!("a foreign Origin was accepted"),
    }
    let same = ClientBuilder::new(&url)
        .unwrap()
        .origin(&format!("http://{addr}"));
    let (mut ws, _) = timeout(LIMIT, ws_tokio::connect_with(&same))
        .await
        .unwrap()
        .expect("same-host Origin");
    ws.send("hi").await.unwrap();
    assert_eq!(
        timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap(),
        Message::from("hi")
    );
    timeout(LIMIT, ws.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    let outcomes = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(outcomes, [Some(403), None]);
}

// ----- 7. 10,000 concurrent connections -----

const CONNECTIONS: usize = 10_000;
const ROUND_TRIPS: usize = 3;
/// Set in the child process that runs the clients (its value is the server's address).
const CLIENTS_ENV: &str = "WS_HARDENING_CLIENTS_FOR";

/// Raises the soft limit on open files to the hard limit and returns it. Fails (rather than testing fewer
/// connections) when the hard limit is below 20,000.
fn raise_nofile_limit() -> u64 {
    let (_, hard) = rlimit::Resource::NOFILE.get().expect("getrlimit");
    assert!(
        hard >= 20_000,
        "the hard limit on open files is {hard}: this test needs at least 20,000 (run `ulimit -Hn 20000` as root)"
    );
    let soft = rlimit::increase_nofile_limit(hard).expect("raise RLIMIT_NOFILE");
    assert!(
        soft >= (CONNECTIONS + 1_000) as u64,
        "could only raise RLIMIT_NOFILE to {soft}"
    );
    soft
}

/// 10,000 connections need 20,000 sockets plus the process's own files, more than a 20,000 hard limit
/// allows one process: the clients run in a child process (this test binary again, with `CLIENTS_ENV`
/// set), which also keeps their memory out of the server's figures.
#[test]
fn ten_thousand_concurrent_connections() {
    if let Ok(addr) = std::env::var(CLIENTS_ENV) {
        return clients_process(&addr);
    }
    let _serial = SERIAL.blocking_lock();
    raise_nofile_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (listener, addr) = bind().await;
        let shutdown = Shutdown::new();
        let server = tokio::spawn(ws_tokio::serve_until(
            listener,
            config(Limits::default(), Timeouts::default()),
            shutdown.clone(),
            Duration::from_secs(5),
            ws_testkit::echo,
        ));
        let before = rss();
        let started = Instant::now();
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "ten_thousand_concurrent_connections", "--nocapture", "--test-threads", "1"])
            .env(CLIENTS_ENV, addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the clients' process");
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut expect_line = async |prefix: &str| -> String {
            while let Some(line) = lines.next_line().await.expect("read the clients' output") {
                // libtest may have printed `test NAME ... ` on the same line.
                if let Some((_, rest)) = line.split_once(prefix) {
                    return rest.to_string();
                }
            }
            panic!("the clients' process ended without a {prefix:?} line");
        };

        let budget = Duration::from_secs(20);
        let ready = timeout(budget, expect_line("READY ")).await.expect("10,000 connections in 20 s");
        let open_after = started.elapsed();
        let after = rss();
        let active = shutdown.active();
        eprintln!("clients ready after {open_after:?}: {ready}");
        assert!(ready.starts_with("errors=0 "), "clients: {ready}");
        assert_eq!(active, CONNECTIONS, "connections open on the server");
        let per_connection = after.saturating_sub(before) / CONNECTIONS as u64;

        stdin.write_all(b"GO\n").await.unwrap();
        stdin.flush().await.unwrap();
        let remaining = budget.saturating_sub(started.elapsed());
        let done = timeout(remaining, expect_line("DONE ")).await.expect("closed in the 20 s budget");
        assert!(done.starts_with("errors=0 "), "clients: {done}");
        let status = timeout(LIMIT, child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "the clients' process failed: {status}");
        timeout(LIMIT, shutdown.idle()).await.expect("every server connection ended");
        let total = started.elapsed();
        assert!(total <= budget, "took {total:?}");
        assert!(per_connection < 64 << 10, "{per_connection} bytes of RSS per idle connection");
        shutdown.trigger();
        timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
        eprintln!(
            "{CONNECTIONS} connections x {ROUND_TRIPS} echoes: all open after {open_after:?} ({ready}); closed \
             ({done}); total {total:?}; server RSS {:.1} -> {:.1} MiB = {per_connection} B ({:.1} KiB) per idle \
             connection",
            mib(before),
            mib(after),
            per_connection as f64 / 1024.0
        );
    });
}

/// The clients of `ten_thousand_concurrent_connections`, in their own process: connects 10,000 clients
/// (at most 256 handshakes at once), each echoes `ROUND_TRIPS` messages, prints `READY errors=N ...` once
/// all are open, waits for `GO` on stdin, closes them all with 1000 and prints `DONE errors=N ...`.
fn clients_process(addr: &str) {
    raise_nofile_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = format!("ws://{addr}/");
        let gate = Arc::new(tokio::sync::Semaphore::new(256));
        let (go_tx, go_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
        let mut tasks = tokio::task::JoinSet::new();
        let started = Instant::now();
        for id in 0..CONNECTIONS {
            let (url, gate, ready_tx, mut go_rx) =
                (url.clone(), gate.clone(), ready_tx.clone(), go_rx.clone());
            tasks.spawn(async move {
                let permit = gate.acquire_owned().await.unwrap();
                let opened = timeout(LIMIT, async {
                    let (mut ws, _) = ws_tokio::connect(&url)
                        .await
                        .map_err(|e| format!("connect: {e}"))?;
                    for k in 0..ROUND_TRIPS {
                        let text = format!("{id}:{k}");
                        ws.send(text.as_str())
                            .await
                            .map_err(|e| format!("send: {e}"))?;
                        match ws.recv().await {
                            Some(Ok(echo)) if echo.as_text() == Some(text.as_str()) => {}
                            other => return Err(format!("echo of {text}: {other:?}")),
                        }
                    }
                    Ok(ws)
                })
                .await
                .unwrap_or_else(|_| Err("connect and echo took over 10 s".into()));
                drop(permit);
                let mut ws = match opened {
                    Ok(ws) => ws,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let _ = go_rx.wait_for(|go| *go).await;
                match timeout(LIMIT, ws.close(CloseCode::NORMAL, "")).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("close: {e}")),
                    Err(_) => Err("close took over 10 s".into()),
                }
            });
        }
        drop(ready_tx);
        let mut errors = Vec::new();
        for _ in 0..CONNECTIONS {
            match timeout(Duration::from_secs(30), ready_rx.recv()).await {
                Ok(Some(Ok(()))) => {}
                Ok(Some(Err(e))) => errors.push(e),
                Ok(None) | Err(_) => {
                    errors.push("a client never reported".into());
                    break;
                }
            }
        }
        println!(
            "READY errors={} open={} in {:?}, client process RSS {:.1} MiB, first error: {:?}",
            errors.len(),
            CONNECTIONS - errors.len(),
            started.elapsed(),
            mib(rss()),
            errors.first()
        );
        std::io::stdout().flush().unwrap();
        let go = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        });
        let go = timeout(Duration::from_secs(60), go)
            .await
            .expect("GO in time")
            .unwrap()
            .unwrap();
        assert_eq!(go.trim(), "GO");
        go_tx.send(true).unwrap();
        let mut close_errors = Vec::new();
        let mut closed = 0;
        while let Some(joined) = timeout(Duration::from_secs(30), tasks.join_next())
            .await
            .expect("closes in time")
        {
            match joined.expect("client task") {
                Ok(()) => closed += 1,
                Err(e) => close_errors.push(e),
            }
        }
        println!(
            "DONE errors={} closed={closed}, first error: {:?}",
            close_errors.len(),
            close_errors.first()
        );
        std::io::stdout().flush().unwrap();
        drop(go_rx);
    });
}

// ----- 2b. a peer that stops reading: the keepalive must end the connection -----

fn keepalive_timeouts() -> Timeouts {
    Timeouts::default()
        .handshake(Some(ms(500)))
        .keepalive_interval(Some(ms(200)))
        .pong(Some(ms(300)))
        .close(Some(ms(300)))
}

/// Keepalive 200 ms + pong 300 ms + close 300 ms, plus a second of margin.
const KEEPALIVE_BOUND: Duration = Duration::from_millis(1_800);

#[tokio::test]
async fn a_peer_that_stops_reading_is_dropped_by_the_pong_timeout() {
    let _serial = SERIAL.lock().await;
    let limits = Limits::default().max_queued_output(64 << 10);
    let (mut ws, mut peer, _) = hostile_pair(config(limits, keepalive_timeouts()), "").await;
    let message = Message::from(vec![0x5A; 1 << 20]);
    let started = Instant::now();
    let mut sent = 0;
    let error = timeout(KEEPALIVE_BOUND, async {
        loop {
            match ws.send(message.clone()).await {
                Ok(()) => sent += 1,
                Err(e) => return e,
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("send still waiting on a peer that reads nothing after {KEEPALIVE_BOUND:?} ({sent} MiB sent)")
    });
    let ended_after = started.elapsed();
    // The socket is closed: the peer, reading at last, reaches the end after what the kernel buffered.
    let drained = timeout(LIMIT, read_to_eof(&mut peer))
        .await
        .expect("the socket was closed");
    eprintln!(
        "stalled peer with keepalive: send failed with {error} after {ended_after:?}; peer drained {drained:?}"
    );
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_dropped_by_the_pong_timeout_when_split() {
    let _serial = SERIAL.lock().await;
    let limits = Limits::default().max_queued_output(64 << 10);
    let (ws, mut peer, _) = hostile_pair(config(limits, keepalive_timeouts()), "").await;
    let (mut reader, mut writer) = ws.split();
    let message = Message::from(vec![0x5A; 1 << 20]);
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        loop {
            if let Err(e) = writer.send(message.clone()).await {
                return (e.to_string(), started.elapsed());
            }
        }
    });
    let received = timeout(KEEPALIVE_BOUND, reader.recv())
        .await
        .expect("recv still waiting on a peer that reads nothing");
    assert!(matches!(received, Some(Err(_))), "recv gave {received:?}");
    let (error, writer_after) = timeout(ms(500), writer)
        .await
        .expect("send ended too")
        .unwrap();
    let drained = timeout(LIMIT, read_to_eof(&mut peer))
        .await
        .expect("the socket was closed");
    eprintln!(
        "stalled peer with keepalive, split: recv gave {received:?} after {:?}; send failed with {error} after \
         {writer_after:?}; peer drained {drained:?}",
        started.elapsed()
    );
}

// ----- close after an idle spell -----

/// Idle for longer than the close timeout, then close: the close handshake must still get its full close
/// timeout (the core's clock must not be stale when the close timer starts).
#[tokio::test]
async fn close_after_an_idle_spell_waits_for_the_peer() {
    let _serial = SERIAL.lock().await;
    let timeouts = short_timeouts().close(Some(ms(300)));
    let (listener, addr) = bind().await;
    let server = tokio::spawn(async move {
        let mut ws = accept_one(&listener, config(Limits::default(), timeouts))
            .await
            .unwrap();
        let received = ws.recv().await;
        (
            received.map(|r| r.map_err(|e| e.to_string())),
            ws.close_frame().map(|f| f.code),
        )
    });
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .timeouts(timeouts);
    let (mut client, _) = timeout(LIMIT, ws_tokio::connect_with(&builder))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(ms(400)).await; // the condition under test: idle for longer than the close timeout
    let closed = timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap();
    assert!(closed.is_ok(), "close after an idle spell: {closed:?}");
    assert_eq!(
        client.close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );
    let (received, code) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(received.is_none(), "server recv gave {received:?}");
    assert_eq!(code, Some(CloseCode::NORMAL));
}

/// The same on the server side: an idle connection closed by a graceful shutdown (1001) must wait for the
/// client's close frame, not fail at once with a close timeout.
#[tokio::test]
async fn shutdown_after_an_idle_spell_completes_the_close_handshake() {
    let _serial = SERIAL.lock().await;
    let timeouts = short_timeouts().close(Some(ms(300)));
    let (listener, addr) = bind().await;
    let shutdown = Shutdown::new();
    let (outcome_tx, mut outcome_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(ws_tokio::serve_until(
        listener,
        config(Limits::default(), timeouts),
        shutdown.clone(),
        Duration::from_secs(5),
        move |mut ws: WebSocket| {
            let outcome_tx = outcome_tx.clone();
            async move {
                let received = ws.recv().await;
                let _ = outcome_tx.send(received.map(|r| r.map_err(|e| e.to_string())));
            }
        },
    ));
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .timeouts(timeouts);
    let (mut client, _) = timeout(LIMIT, ws_tokio::connect_with(&builder))
        .await
        .unwrap()
        .unwrap();
    let registered = async {
        while shutdown.active() == 0 {
            tokio::task::yield_now().await;
        }
    };
    timeout(LIMIT, registered).await.unwrap();
    tokio::time::sleep(ms(400)).await; // the condition under test: idle for longer than the close timeout
    shutdown.trigger();
    let received = timeout(LIMIT, client.recv()).await.unwrap();
    assert!(received.is_none(), "client recv gave {received:?}");
    assert_eq!(
        client.close_frame().map(|f| f.code),
        Some(CloseCode::GOING_AWAY)
    );
    let outcome = timeout(LIMIT, outcome_rx.recv()).await.unwrap().unwrap();
    assert!(
        outcome.is_none(),
        "the server's recv ended with {outcome:?}, not a clean close"
    );
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
}
