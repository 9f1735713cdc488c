//! Criterion micro benches of the ws-core hot paths, next to a `memcpy` baseline of the same size.
//!
//! Every bench of the `core` group reports `Throughput::Bytes` of *payload*, so its GB/s can be set
//! against `memcpy` of the same size (`benches/criterion_table.py` prints the ratio):
//!
//! * `memcpy`: `copy_from_slice` of the payload into a preallocated buffer.
//! * `parse_unmask_validate_text` / `..._binary`: an open server `Connection` receives pre-built masked
//!   client frames and the events are drained with `poll_event()`. This is the whole receive path: the copy
//!   into the receive buffer (`receive` appends to it, unmasking as it copies the payload of a frame of
//!   4 KiB or more that starts the read or continues a frame in progress), header parsing and checks,
//!   unmasking in place (the other frames), UTF-8 validation (text only), splitting the payload off and
//!   delivering `Event::Message`. Small payloads are
//!   sent as a batch of frames worth about 64 KiB per iteration so that the per-call cost is amortised
//!   (the throughput counts every payload byte of the batch).
//! * `unmask`: `ws_core::mask::apply_mask` in place.
//! * `utf8`: `Utf8Validator::feed` (simdutf8's `compat` API, which the receive path uses) on the text
//!   payload; `utf8_basic`: `Utf8Bytes::try_from` (simdutf8's faster `basic` API, no error position) on
//!   the same bytes; `utf8_core_str`: `core::str::from_utf8`, which is what simdutf8 falls back to
//!   without its `std` feature on a baseline x86-64 target (see `benches/README.md`).
//! * `receive_reads_shared` / `receive_reads_direct` (1 MiB): one frame arriving in 64 KiB reads, each read
//!   a copy out of a "socket" buffer (standing in for the kernel's copy): into a shared read buffer and
//!   then `receive` (the adapters' path for small frames), or straight into the core's receive buffer
//!   with `receive_direct` (their path while a large frame arrives).
//! * `encode_server`: `send_binary` on an open server connection, then `advance_output` of everything
//!   (framing and the copy into the output buffer); `encode_client`: the same on a client (plus masking);
//!   `encode_server_shared`: `send` of a `Message` holding shared `Bytes` on the server, which queues
//!   payloads of 8 KiB or more by reference (framing only; the copy is left to the vectored write).

use std::hint::black_box;
use std::time::Duration;

use bytes::Buf;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ws_core::mask::apply_mask;
use ws_core::utf8::Utf8Validator;
use ws_core::{
    Accept, ClientRequest, Config, Connection, Event, Instant, Limits, Message, Timeouts, Utf8Bytes,
};

/// Payload sizes, with the labels used as criterion parameters (and by `criterion_table.py`).
const SIZES: [(usize, &str); 4] = [
    (20, "20B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];

/// Receive batches hold at least this many payload bytes (one frame when the payload is larger).
const BATCH_BYTES: usize = 64 * 1024;

fn config() -> Config {
    Config::default()
        .limits(
            Limits::default()
                .max_frame_size(16 << 20)
                .max_message_size(64 << 20)
                .max_queued_output(64 << 20),
        )
        .timeouts(Timeouts::none())
}

/// A client and a server connection with the handshake done and no output pending.
fn open_pair() -> (Connection, Connection) {
    let now = Instant::ZERO;
    let request = ClientRequest::new("bench.invalid", "/");
    let mut client = Connection::client(&request, config(), [42; 32], now);
    let mut server = Connection::server(config(), now);
    pump(&mut client, &mut server);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new(), now).expect("accept");
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    pump(&mut server, &mut client);
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    assert!(!client.output().has_remaining() && !server.output().has_remaining());
    (client, server)
}

fn pump(from: &mut Connection, to: &mut Connection) {
    let mut out = from.output();
    let n = out.chunk().len();
    to.receive(out.chunk(), Instant::ZERO);
    out.advance(n);
}

/// Deterministic chat-like text of exactly `size` bytes: mostly ASCII, with some 2-, 3- and 4-byte
/// characters (about 3 % of the bytes), so that UTF-8 validation leaves its ASCII fast path now and then.
fn text_payload(size: usize) -> String {
    const WORDS: [&str; 24] = [
        "hello",
        "world",
        "the",
        "build",
        "is",
        "green",
        "again",
        "café",
        "naïve",
        "größer",
        "deploy",
        "on",
        "friday",
        "日本語",
        "ok",
        "👍",
        "let's",
        "ship",
        "it",
        "tomorrow",
        "review",
        "please",
        "thanks",
        "🎉",
    ];
    let mut state: u32 = 0x9e37_79b9;
    let mut text = String::with_capacity(size + 16);
    while text.len() < size {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        text.push_str(WORDS[state as usize % WORDS.len()]);
        text.push(if state.is_multiple_of(11) { '\n' } else { ' ' });
    }
    let mut cut = size;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    while text.len() < size {
        text.push(' ');
    }
    text
}

fn binary_payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect()
}

/// The receive bench: a server connection and a batch of masked client frames.
struct Receive {
    server: Connection,
    batch: Vec<u8>,
    frames: usize,
}

impl Receive {
    fn new(payload: &[u8], text: bool) -> Self {
        let (mut client, server) = open_pair();
        let frames = (BATCH_BYTES / payload.len()).max(1);
        for _ in 0..frames {
            if text {
                let text = std::str::from_utf8(payload).expect("text payload");
                client.send(text).expect("send");
            } else {
                client.send(payload).expect("send");
            }
        }
        let batch = client.output().chunk().to_vec();
        let mut bench = Receive {
            server,
            batch,
            frames,
        };
        // Check once that every frame comes out as the expected message and nothing else happens.
        let mut got = 0;
        bench.server.receive(&bench.batch, Instant::ZERO);
        while let Some(event) = bench.server.poll_event() {
            match event {
                Event::Message(message) => {
                    assert_eq!(message.is_text(), text);
                    assert_eq!(message.as_bytes(), payload);
                    got += 1;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        assert_eq!(got, frames);
        assert!(
            !bench.server.output().has_remaining(),
            "no replies expected"
        );
        bench
    }

    /// One iteration: the whole batch in, every message out.
    #[inline]
    fn run(&mut self) -> usize {
        self.server.receive(black_box(&self.batch), Instant::ZERO);
        let mut got = 0;
        while let Some(event) = self.server.poll_event() {
            if let Event::Message(message) = event {
                black_box::<&Message>(&message);
                got += 1;
            }
        }
        got
    }
}

/// A large frame arriving in reads of [`READ_SIZE`]: each read is a copy out of the "socket" (the
/// kernel's copy), into the adapter's shared read buffer then `receive` (which copies it again), or
/// straight into the core's buffer with `receive_direct` where it offers room.
struct Reads {
    server: Connection,
    wire: Vec<u8>,
    read_buf: Vec<u8>,
}

/// The adapters' read size.
const READ_SIZE: usize = 64 * 1024;

impl Reads {
    fn new(payload: &[u8]) -> Self {
        let (mut client, server) = open_pair();
        client.send(payload).expect("send");
        let wire = client.output().chunk().to_vec();
        Reads {
            server,
            wire,
            read_buf: vec![0; READ_SIZE],
        }
    }

    fn run(&mut self, direct: bool) -> usize {
        let mut pos = 0;
        let mut got = 0;
        while pos < self.wire.len() {
            let rest = &self.wire[pos..];
            let read = |room: &mut [u8]| {
                let n = room.len().min(rest.len());
                room[..n].copy_from_slice(&rest[..n]);
                (n, n)
            };
            let offered = if direct {
                self.server
                    .receive_direct(READ_SIZE, || Instant::ZERO, read)
            } else {
                None
            };
            pos += match offered {
                Some(n) => n,
                None => {
                    let (n, _) = read(&mut self.read_buf);
                    self.server.receive(&self.read_buf[..n], Instant::ZERO);
                    n
                }
            };
            while let Some(event) = self.server.poll_event() {
                black_box(&event);
                got += 1;
            }
        }
        assert_eq!(got, 1);
        got
    }
}

fn core(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);

    for (size, label) in SIZES {
        let text = text_payload(size);
        let binary = binary_payload(size);
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_function(BenchmarkId::new("memcpy", label), |b| {
            let src = binary.clone();
            let mut dst = vec![0u8; size];
            b.iter(|| {
                dst.copy_from_slice(black_box(&src));
                black_box(&mut dst);
            })
        });

        for (name, is_text, payload) in [
            ("parse_unmask_validate_text", true, text.as_bytes()),
            ("parse_unmask_validate_binary", false, &binary[..]),
        ] {
            let mut receive = Receive::new(payload, is_text);
            let frames = receive.frames;
            group.throughput(Throughput::Bytes((size * frames) as u64));
            group.bench_function(BenchmarkId::new(name, label), |b| b.iter(|| receive.run()));
            assert_eq!(receive.run(), frames);
            assert!(!receive.server.output().has_remaining());
            group.throughput(Throughput::Bytes(size as u64));
        }

        group.bench_function(BenchmarkId::new("unmask", label), |b| {
            let mut buf = binary.clone();
            b.iter(|| apply_mask(black_box(&mut buf), [0x37, 0xfa, 0x21, 0x3d], 0))
        });

        group.bench_function(BenchmarkId::new("utf8", label), |b| {
            b.iter(|| {
                Utf8Validator::new()
                    .feed(black_box(text.as_bytes()))
                    .is_ok()
            })
        });

        let shared = bytes::Bytes::from(text.clone());
        group.bench_function(BenchmarkId::new("utf8_basic", label), |b| {
            b.iter(|| Utf8Bytes::try_from(black_box(&shared).clone()).is_ok())
        });

        group.bench_function(BenchmarkId::new("utf8_core_str", label), |b| {
            b.iter(|| std::str::from_utf8(black_box(text.as_bytes())).is_ok())
        });

        let (mut client, mut server) = open_pair();
        for (name, conn) in [
            ("encode_server", &mut server),
            ("encode_client", &mut client),
        ] {
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| {
                    conn.send(black_box(&binary)).expect("send");
                    let mut out = conn.output();
                    let n = out.chunk().len();
                    black_box(out.chunk());
                    out.advance(n);
                })
            });
            assert!(!conn.output().has_remaining());
        }

        if size >= 1024 * 1024 {
            let mut reads = Reads::new(&binary);
            group.bench_function(BenchmarkId::new("receive_reads_shared", label), |b| {
                b.iter(|| reads.run(false))
            });
            group.bench_function(BenchmarkId::new("receive_reads_direct", label), |b| {
                b.iter(|| reads.run(true))
            });
        }

        let message = Message::Binary(bytes::Bytes::from(binary.clone()));
        group.bench_function(BenchmarkId::new("encode_server_shared", label), |b| {
            b.iter(|| {
                server.send(black_box(&message)).expect("send");
                let mut out = server.output();
                let mut runs = [std::io::IoSlice::new(&[]); 4];
                black_box(out.chunks_vectored(&mut runs));
                let n = out.remaining();
                out.advance(n);
            })
        });
        assert_eq!(server.output().remaining(), 0);
    }
    group.finish();
}

criterion_group!(benches, core);
criterion_main!(benches);
