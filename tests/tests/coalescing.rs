//! Write coalescing, shown with an instrumented transport ([`Tap`]) under `ws_async::accept` /
//! `ws_async::client_handshake`: every `poll_write` that completes is one `write` system call on the socket.
//! Run for each async runtime (tokio through `ws_tokio::TokioIo` and `TokioTimer`, smol, async-std).
//!
//! - a burst of N = 1,000 small messages arriving at an echo loop (`ws_testkit::echo`) is answered with far
//!   fewer than N writes;
//! - `feed` x N then `flush` (on the connection, on a split writer, and through `futures::Sink`) costs a
//!   few writes;
//! - a large message echoed (queued by reference, not copied) leaves in one vectored write with its header;
//! - large messages that have all arrived are read several per read, and each read's echoes leave in one
//!   write;
//! - a connection that has its thread to itself writes the echoes of a read one by one while its reads
//!   bring a few messages (8 or fewer), else the first four one by one and the rest in one write; two
//!   connections served by one task, reading in turn, echo each read in one write;
//! - a peer that writes its messages separately (alone or a few together, nothing to read in between)
//!   has every reply written before the server waits for input: no write mixes replies to separate
//!   arrivals;
//! - a single `send` on an idle connection reaches the peer promptly with no further call on the sender.
//!
//! Run with `--nocapture` to see the counts.

use std::time::{Duration, Instant};

use futures_util::io::Cursor;
use futures_util::{AsyncWriteExt, SinkExt};
use ws_async::{ClientBuilder, Message, PreparedMessage};
use ws_testkit::scripted::Written::{EachAlone, Together};
use ws_testkit::scripted::{
    Arrived, echoes_per_write, expected_writes, handshake_then_small_burst,
    handshake_then_small_bursts,
};
use ws_tests::raw::{self, BINARY, TEXT};
use ws_tests::tap::Tap;
use ws_tests::{Rt, Task, t};

const N: usize = 1_000;

/// A burst of N masked binary frames with 4-byte payloads (their index), as one buffer.
fn burst() -> Vec<u8> {
    (0..N as u32)
        .flat_map(|i| raw::client_frame(true, BINARY, &i.to_be_bytes()))
        .collect()
}

/// An echo server over a [`Tap`], and a raw client connected to it (handshake done).
async fn tapped_echo_server<R: Rt>() -> (R::Tcp, std::sync::Arc<ws_tests::tap::TapStats>, Task<()>)
{
    let (listener, addr) = R::listen().await;
    let (stats_tx, stats_rx) = std::sync::mpsc::channel();
    let server: Task<()> = R::spawn(async move {
        let tcp = R::into_tcp(t!(R::accept_tcp(&listener)).unwrap());
        let (tap, stats) = Tap::new(tcp);
        stats_tx.send(stats).unwrap();
        let ws = t!(ws_async::accept(tap, ws_testkit::echo_config(), R::timer())).unwrap();
        t!(ws_testkit::echo(ws));
    });
    let mut tcp = R::into_tcp(t!(R::connect_tcp(addr)).unwrap());
    t!(raw::client_handshake(&mut tcp, "/", "")).unwrap();
    let stats = stats_rx.recv_timeout(ws_tests::STEP).unwrap();
    (tcp, stats, server)
}

/// N small messages in one burst at an echo loop: the echoes cost far fewer than N writes.
async fn echo_burst_coalesces<R: Rt>() {
    let (mut tcp, stats, server) = tapped_echo_server::<R>().await;
    let (writes0, reads0) = (stats.writes(), stats.reads());
    let burst = burst();
    t!(tcp.write_all(&burst)).unwrap();
    for i in 0..N as u32 {
        let f = t!(raw::read_frame(&mut tcp)).unwrap();
        assert_eq!((f.opcode, &f.payload[..]), (BINARY, &i.to_be_bytes()[..]));
    }
    let (writes, reads) = (stats.writes() - writes0, stats.reads() - reads0);
    eprintln!(
        "[{}] echo burst: {N} messages ({} bytes) in {reads} reads, echoed in {writes} writes",
        R::NAME,
        burst.len()
    );
    assert!(
        writes < N / 10,
        "{writes} writes for {N} echoes: replies are not coalesced"
    );
    drop(tcp);
    t!(server);
}

/// Large messages, echoed one at a time: each echo (header and payload, which the server queues by
/// reference) leaves in one vectored write, not one write for the header and one for the payload.
async fn large_echo_is_one_write<R: Rt>() {
    const ROUNDS: usize = 20;
    let (mut tcp, stats, server) = tapped_echo_server::<R>().await;
    let writes0 = stats.writes();
    for round in 0..ROUNDS {
        let payload: Vec<u8> = (0..12 * 1024).map(|i| (i * 7 + round) as u8).collect();
        t!(tcp.write_all(&raw::client_frame(true, BINARY, &payload))).unwrap();
        let f = t!(raw::read_frame(&mut tcp)).unwrap();
        assert_eq!((f.opcode, &f.payload[..]), (BINARY, &payload[..]));
    }
    let writes = stats.writes() - writes0;
    eprintln!("[{}] {ROUNDS} echoes of 12 KiB in {writes} writes", R::NAME);
    // One write each (header and payload in one `writev`); a write the socket takes only in part (its
    // buffer still holding the previous echo) may add one now and then. Without vectored writes every
    // echo costs two: the header alone, then the payload.
    assert!(
        writes < ROUNDS * 3 / 2,
        "{writes} writes for {ROUNDS} large echoes: header and payload written apart"
    );
    drop(tcp);
    t!(server);
}

/// A connection that has its thread to itself writes replies at once, each on its own (its peer gets to
/// work on them while the rest are made): every reply of a read after reads of a few messages (8 or
/// fewer, as the first read counts), and only the first four when the previous read brought more. The
/// rest of a read's replies leave in one write.
async fn lone_connection_writes_first_replies_at_once<R: Rt>() {
    let (io, writes) = Arrived::new(handshake_then_small_burst(8), false);
    let ws = t!(ws_async::accept(io, ws_testkit::echo_config(), R::timer())).unwrap();
    t!(ws_testkit::echo(ws));
    let per_write = echoes_per_write(&writes);
    eprintln!("[{}] lone connection, 8 echoes: {per_write:?}", R::NAME);
    assert_eq!(
        per_write,
        expected_writes(&[EachAlone(0..8)]),
        "each of the 8 echoes not in a write of its own"
    );

    // A deeper pipeline: reads of 32 messages. The first read's first 8 replies go out at once, the
    // second read's first 4 (its previous read brought more than 8).
    let (io, writes) = Arrived::new(handshake_then_small_bursts(&[32, 32]), false);
    let ws = t!(ws_async::accept(io, ws_testkit::echo_config(), R::timer())).unwrap();
    t!(ws_testkit::echo(ws));
    let per_write = echoes_per_write(&writes);
    eprintln!(
        "[{}] lone connection, 2 reads of 32: {per_write:?}",
        R::NAME
    );
    let expected = [
        EachAlone(0..8),
        Together(8..32),
        EachAlone(32..36),
        Together(36..64),
    ];
    assert_eq!(per_write, expected_writes(&expected));
}

/// A peer that writes its messages separately (some arrive alone, some together, six of them more than
/// the early replies, and the server finds nothing to read between them): every reply is written before the server waits for more input, so no
/// write holds replies to messages of two different arrivals, and none waits behind a later read.
async fn separately_written_messages_are_answered_before_the_server_waits<R: Rt>() {
    let groups: [&[u32]; 6] = [&[0], &[1], &[2, 3], &[4, 5, 6, 7, 8, 9], &[10], &[11]];
    let mut chunks = vec![raw::upgrade_request("/", "").into_bytes()];
    for group in groups {
        chunks.push(
            group
                .iter()
                .flat_map(|i| raw::client_frame(true, BINARY, &i.to_be_bytes()))
                .collect(),
        );
    }
    chunks.push(raw::client_frame(true, raw::CLOSE, &1000u16.to_be_bytes()));
    // `true`: the first read of each chunk is not ready, as when the next message is still on its way.
    let (io, writes) = Arrived::new(chunks, true);
    let ws = t!(ws_async::accept(io, ws_testkit::echo_config(), R::timer())).unwrap();
    t!(ws_testkit::echo(ws));
    let per_write = echoes_per_write(&writes);
    eprintln!("[{}] separate arrivals: {per_write:?}", R::NAME);
    let echoed: Vec<u32> = per_write.iter().flatten().flatten().copied().collect();
    assert_eq!(echoed, (0..12).collect::<Vec<_>>(), "every echo, in order");
    let group_of = |i: u32| groups.iter().position(|g| g.contains(&i));
    for write in &per_write {
        let spans: std::collections::BTreeSet<_> =
            write.iter().flatten().map(|&i| group_of(i)).collect();
        assert!(
            spans.len() <= 1,
            "a write holds replies to messages that arrived separately: {per_write:?}"
        );
    }
}

/// Two connections served by one task read in turn: neither has the thread to itself, and each answers
/// the messages of a read in one write.
async fn connections_sharing_a_thread_coalesce_every_reply<R: Rt>() {
    let (a, writes_a) = Arrived::new(handshake_then_small_burst(8), true);
    let (b, writes_b) = Arrived::new(handshake_then_small_burst(8), true);
    let serve = |io| async move {
        let ws = t!(ws_async::accept(io, ws_testkit::echo_config(), R::timer())).unwrap();
        t!(ws_testkit::echo(ws));
    };
    futures_util::future::join(serve(a), serve(b)).await;
    for writes in [writes_a, writes_b] {
        let per_write = echoes_per_write(&writes);
        eprintln!("[{}] two connections, 8 echoes: {per_write:?}", R::NAME);
        assert_eq!(
            per_write,
            expected_writes(&[Together(0..8)]),
            "8 echoes not in one write"
        );
    }
}

/// Large messages that have all arrived are read several at a time (the read buffer holds more than
/// one 64 KiB message), and the echoes of one read leave in one write: with a read buffer of one
/// message each message costs a read and a write of its own.
async fn large_burst_is_read_and_echoed_in_few_calls<R: Rt>() {
    const COUNT: usize = 16;
    const SIZE: usize = 60 * 1024;
    let (payloads, input) = raw::burst_of_messages(COUNT, SIZE);
    let (arrived, writes) = Arrived::new(vec![input], false);
    let (tap, stats) = Tap::new(arrived);
    let ws = t!(ws_async::accept(tap, ws_testkit::echo_config(), R::timer())).unwrap();
    t!(ws_testkit::echo(ws));

    let mut written = Cursor::new(writes.lock().unwrap().concat());
    let head = t!(raw::read_head(&mut written)).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for payload in &payloads {
        let f = t!(raw::read_frame(&mut written)).unwrap();
        assert_eq!((f.opcode, f.payload.len()), (BINARY, SIZE));
        assert!(f.payload == *payload, "an echo differs from its message");
    }
    let f = t!(raw::read_frame(&mut written)).unwrap();
    assert_eq!(f.opcode, raw::CLOSE);
    let (reads, writes) = (stats.reads(), stats.writes());
    eprintln!(
        "[{}] {COUNT} messages of 60 KiB, all arrived: {reads} reads, {writes} writes",
        R::NAME
    );
    // 960 KiB in 256 KiB reads, plus a read for the rest of each message straddling a read's end
    // (straight into the receive buffer): 10 reads, 8 writes. With 64 KiB reads: 33 reads, 18 writes.
    assert!(
        reads <= COUNT * 3 / 4,
        "{reads} reads for {COUNT} large messages"
    );
    assert!(
        writes <= COUNT / 2,
        "{writes} writes for {COUNT} large echoes"
    );
}

/// A client over a [`Tap`], connected to an echo server of the same runtime.
async fn tapped_client<R: Rt>() -> (
    ws_async::WebSocket<Tap<R::Tcp>, R::Timer>,
    std::sync::Arc<ws_tests::tap::TapStats>,
    Task<()>,
) {
    let (listener, addr) = R::listen().await;
    let server: Task<()> = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).unwrap();
        let ws = t!(R::accept_with(tcp, ws_testkit::echo_config(), |_| async {
            Ok(ws_async::Accept::new())
        }))
        .unwrap();
        t!(ws_testkit::echo(ws));
    });
    let tcp = R::into_tcp(t!(R::connect_tcp(addr)).unwrap());
    let (tap, stats) = Tap::new(tcp);
    let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
    let (ws, _) = t!(ws_async::client_handshake(tap, &builder, R::timer())).unwrap();
    (ws, stats, server)
}

async fn expect_echoes<R: Rt>(ws: &mut ws_async::WebSocket<Tap<R::Tcp>, R::Timer>, tag: &str) {
    for i in 0..N {
        let m = t!(ws.recv()).unwrap().unwrap();
        assert_eq!(m.as_text(), Some(format!("{tag} {i}").as_str()));
    }
}

/// `feed` x N then `flush`: a few writes. The same through `futures::Sink` (`feed` x N, `flush`) and on a
/// split writer. Every message is echoed back in order.
async fn feed_then_flush<R: Rt>() {
    let (mut ws, stats, server) = tapped_client::<R>().await;

    let w0 = stats.writes();
    for i in 0..N {
        t!(ws.feed(format!("fed {i}"))).unwrap();
    }
    assert_eq!(stats.writes(), w0, "feed wrote before flush");
    t!(ws.flush()).unwrap();
    let direct = stats.writes() - w0;
    expect_echoes::<R>(&mut ws, "fed").await;

    let w0 = stats.writes();
    for i in 0..N {
        t!(SinkExt::feed(&mut ws, Message::from(format!("sink {i}")))).unwrap();
    }
    t!(SinkExt::flush(&mut ws)).unwrap();
    let sink = stats.writes() - w0;
    expect_echoes::<R>(&mut ws, "sink").await;

    let (mut reader, mut writer) = ws.split();
    let w0 = stats.writes();
    for i in 0..N {
        t!(writer.feed(format!("split {i}"))).unwrap();
    }
    t!(writer.flush()).unwrap();
    let split = stats.writes() - w0;
    for i in 0..N {
        let m = t!(reader.recv()).unwrap().unwrap();
        assert_eq!(m.as_text(), Some(format!("split {i}").as_str()));
    }
    eprintln!(
        "[{}] feed x {N} + flush: {direct} writes (WebSocket), {sink} (Sink), {split} (split Writer)",
        R::NAME
    );
    for (what, writes) in [("WebSocket", direct), ("Sink", sink), ("Writer", split)] {
        assert!(
            (1..=3).contains(&writes),
            "{what}: {writes} writes for {N} fed messages"
        );
    }
    drop((reader, writer));
    t!(server);
}

/// A broadcast of prepared messages to three server connections (split, as fan-out servers run them): the
/// messages fed to each writer leave in one write per connection, as the prepared frames' bytes.
async fn prepared_broadcasts_leave_in_one_write<R: Rt>() {
    const CONNECTIONS: usize = 3;
    let broadcasts: Vec<PreparedMessage> = (0..20u8)
        .map(|i| match i % 2 {
            0 => PreparedMessage::new(format!("tick {i}")),
            _ => PreparedMessage::new(vec![i; 1024]),
        })
        .collect();
    let (listener, addr) = R::listen().await;
    let sent = broadcasts.clone();
    let server: Task<Vec<usize>> = R::spawn(async move {
        let mut writers = Vec::new();
        for _ in 0..CONNECTIONS {
            let tcp = R::into_tcp(t!(R::accept_tcp(&listener)).unwrap());
            let (tap, stats) = Tap::new(tcp);
            let ws = t!(ws_async::accept(tap, ws_tests::plain_config(), R::timer())).unwrap();
            writers.push((ws.split(), stats));
        }
        let mut writes = Vec::new();
        for ((_reader, writer), stats) in &mut writers {
            let w0 = stats.writes();
            for prepared in &sent {
                t!(writer.feed(prepared)).unwrap();
            }
            t!(writer.flush()).unwrap();
            writes.push(stats.writes() - w0);
        }
        // Dropped now: what was flushed stays readable for the clients.
        writes
    });
    let mut clients = Vec::new();
    // The handshakes complete before the server feeds anything.
    for _ in 0..CONNECTIONS {
        let mut tcp = R::into_tcp(t!(R::connect_tcp(addr)).unwrap());
        t!(raw::client_handshake(&mut tcp, "/", "")).unwrap();
        clients.push(tcp);
    }
    for tcp in &mut clients {
        for prepared in &broadcasts {
            let f = t!(raw::read_frame(tcp)).unwrap();
            let opcode = if prepared.message().is_text() {
                TEXT
            } else {
                BINARY
            };
            assert_eq!((f.opcode, &f.payload[..]), (opcode, prepared.as_bytes()));
        }
        t!(tcp.write_all(&raw::client_frame(true, raw::CLOSE, &1000u16.to_be_bytes()))).unwrap();
    }
    let writes = t!(server);
    eprintln!(
        "[{}] 20 prepared broadcasts x {CONNECTIONS} connections: writes {writes:?}",
        R::NAME
    );
    assert_eq!(writes, vec![1; CONNECTIONS], "one write per connection");
}

/// One `send` on an idle connection reaches the peer within 1 s of being called, with no further call on the
/// sender (whose task then only sleeps, holding the connection); the same for a split writer.
async fn idle_send_is_prompt<R: Rt>() {
    let (listener, addr) = R::listen().await;
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<Instant>();
    let peer: Task<Vec<Duration>> = R::spawn(async move {
        let mut tcp = R::into_tcp(t!(R::accept_tcp(&listener)).unwrap());
        t!(raw::server_handshake(&mut tcp)).unwrap();
        let mut took = Vec::new();
        for expected in ["alone", "alone too"] {
            let f = t!(raw::read_frame(&mut tcp)).unwrap();
            let arrived = Instant::now();
            assert_eq!((f.opcode, &f.payload[..]), (TEXT, expected.as_bytes()));
            let started = sent_rx.recv_timeout(ws_tests::STEP).unwrap();
            took.push(arrived - started);
        }
        took
    });
    let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
    let (ws, _) = t!(R::connect_with(&builder)).unwrap();
    let sender = R::spawn(async move {
        let mut ws = ws;
        let start = Instant::now();
        t!(ws.send("alone")).unwrap();
        sent_tx.send(start).unwrap();
        // Hold the connection without touching it.
        R::sleep(Duration::from_millis(1500)).await;
        let (reader, mut writer) = ws.split();
        let start = Instant::now();
        t!(writer.send("alone too")).unwrap();
        sent_tx.send(start).unwrap();
        R::sleep(Duration::from_millis(1500)).await;
        drop((reader, writer));
    });
    let took = t!(peer);
    eprintln!("[{}] idle sends reached the peer after {took:?}", R::NAME);
    for d in &took {
        assert!(
            *d < Duration::from_secs(1),
            "an idle send took {d:?} to arrive"
        );
    }
    t!(sender);
}

macro_rules! suite {
    ($module:ident, $rt:ty) => {
        mod $module {
            #[test]
            fn echo_burst_coalesces() {
                ws_tests::run::<$rt, _>(super::echo_burst_coalesces::<$rt>);
            }
            #[test]
            fn large_echo_is_one_write() {
                ws_tests::run::<$rt, _>(super::large_echo_is_one_write::<$rt>);
            }
            #[test]
            fn large_burst_is_read_and_echoed_in_few_calls() {
                ws_tests::run::<$rt, _>(super::large_burst_is_read_and_echoed_in_few_calls::<$rt>);
            }
            #[test]
            fn lone_connection_writes_first_replies_at_once() {
                ws_tests::run::<$rt, _>(super::lone_connection_writes_first_replies_at_once::<$rt>);
            }
            #[test]
            fn separately_written_messages_are_answered_before_the_server_waits() {
                ws_tests::run::<$rt, _>(
                    super::separately_written_messages_are_answered_before_the_server_waits::<$rt>,
                );
            }
            #[test]
            fn connections_sharing_a_thread_coalesce_every_reply() {
                ws_tests::run::<$rt, _>(
                    super::connections_sharing_a_thread_coalesce_every_reply::<$rt>,
                );
            }
            #[test]
            fn feed_then_flush() {
                ws_tests::run::<$rt, _>(super::feed_then_flush::<$rt>);
            }
            #[test]
            fn prepared_broadcasts_leave_in_one_write() {
                ws_tests::run::<$rt, _>(super::prepared_broadcasts_leave_in_one_write::<$rt>);
            }
            #[test]
            fn idle_send_is_prompt() {
                ws_tests::run::<$rt, _>(super::idle_send_is_prompt::<$rt>);
            }
        }
    };
}

suite!(tokio, ws_tests::Tokio);
suite!(smol, ws_tests::Smol);
suite!(async_std, ws_tests::AsyncStd);
