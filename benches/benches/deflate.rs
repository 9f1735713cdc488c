//! Criterion benches of permessage-deflate (RFC 7692): compressing and decompressing chat-like JSON
//! messages of 1 KiB and 64 KiB with the default `DeflateConfig` (level 1, context takeover both ways),
//! negotiated the way a real handshake does it.
//!
//! Throughput counts *uncompressed* bytes, for both directions. Each size cycles through enough distinct
//! messages (256 KiB worth at least) that a message never finds its own earlier copy in the 32 KiB LZ77
//! window, so context takeover helps only as much as it does between different chat messages. The
//! compression ratio of each size is printed once on stderr. Each chat object carries a random 16-hex-digit
//! client id, as real chat payloads do, so that the text is not unrealistically compressible.

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ws_core::deflate::{
    Compressor, Decompressor, DeflateConfig, client_offer, parse_extensions, server_negotiate,
};

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];

/// Each size cycles through at least this many bytes of distinct messages.
const CYCLE_BYTES: usize = 256 * 1024;

/// The decompression limit passed per message (far above the message sizes).
const MAX_MESSAGE: usize = 16 << 20;

/// A small deterministic PRNG (xorshift64*), so that every run compresses the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Chat-like JSON: an array of message objects, padded with whitespace to exactly `size` bytes.
fn chat_json(rng: &mut Rng, seq: &mut u64, ts: &mut u64, size: usize) -> Vec<u8> {
    const USERS: [&str; 12] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "oscar",
    ];
    const ROOMS: [&str; 5] = ["#general", "#random", "#dev", "#ops", "#design"];
    const WORDS: [&str; 48] = [
        "the", "a", "to", "and", "is", "it", "on", "for", "we", "you", "that", "this", "build",
        "deploy", "release", "test", "fails", "passes", "again", "today", "tomorrow", "meeting",
        "lunch", "coffee", "review", "merge", "branch", "main", "prod", "staging", "latency",
        "error", "fixed", "thanks", "please", "sure", "ok", "lgtm", "why", "how", "when", "ticket",
        "customer", "server", "client", "cache", "query", "slow",
    ];
    let mut out = String::from("[");
    loop {
        *seq += 1 + rng.next() % 3;
        *ts += rng.next() % 5000;
        let words = 3 + rng.next() % 20;
        let mut text = String::new();
        for i in 0..words {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(rng.pick(&WORDS));
        }
        let object = format!(
            "{{\"type\":\"message\",\"id\":{seq},\"room\":\"{room}\",\"user\":\"{user}\",\
             \"ts\":{ts},\"cid\":\"{cid:016x}\",\"text\":\"{text}\",\"reactions\":{reactions}}}",
            seq = *seq,
            cid = rng.next(),
            room = rng.pick(&ROOMS),
            user = rng.pick(&USERS),
            ts = *ts,
            reactions = rng.next() % 4,
        );
        let separator = usize::from(out.len() > 1);
        // Room for the object, its comma and the closing bracket.
        if out.len() + separator + object.len() + 1 > size {
            break;
        }
        if separator == 1 {
            out.push(',');
        }
        out.push_str(&object);
    }
    while out.len() + 1 < size {
        out.push(' ');
    }
    out.push(']');
    assert_eq!(out.len(), size);
    out.into_bytes()
}

fn messages(size: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ size as u64);
    let (mut seq, mut ts) = (1_000_000, 1_700_000_000_000);
    let count = (CYCLE_BYTES / size).max(4);
    (0..count)
        .map(|_| chat_json(&mut rng, &mut seq, &mut ts, size))
        .collect()
}

/// The server's compressor and the client's decompressor of one negotiated agreement.
fn codecs() -> (Compressor, Decompressor) {
    let config = DeflateConfig::default();
    let offers = parse_extensions([client_offer(&config)]).expect("offer parses");
    let (_response, negotiated) = server_negotiate(&config, &offers).expect("offer accepted");
    assert!(!negotiated.server_no_context_takeover && !negotiated.client_no_context_takeover);
    (negotiated.compressor(true), negotiated.decompressor(false))
}

fn deflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);

    for (size, label) in SIZES {
        let plain = messages(size);
        let (mut compressor, mut decompressor) = codecs();

        // One pass from a fresh compressor: the stream the decompress bench replays.
        let compressed: Vec<Vec<u8>> = plain
            .iter()
            .map(|m| {
                let mut out = Vec::new();
                compressor.compress(m, true, &mut out);
                out
            })
            .collect();
        // Replaying the cycle again and again is a valid stream: message i only refers back to messages
        // 0..i of its cycle, which precede it again on every pass. Check two passes.
        let mut out = BytesMut::new();
        for _ in 0..2 {
            for (packed, original) in compressed.iter().zip(&plain) {
                out.clear();
                decompressor
                    .decompress(packed, true, &mut out, MAX_MESSAGE)
                    .expect("inflates");
                assert_eq!(&out[..], &original[..]);
            }
        }
        // The ratio in steady state: a second pass, with the previous cycle in the window.
        let mut scratch = Vec::new();
        let steady: usize = plain
            .iter()
            .map(|m| {
                scratch.clear();
                compressor.compress(m, true, &mut scratch);
                scratch.len()
            })
            .sum();
        let total = size * plain.len();
        eprintln!(
            "deflate {label}: {} messages, {total} B -> {steady} B: {:.1} % of the input ({:.2}:1), \
             level {}, context takeover",
            plain.len(),
            100.0 * steady as f64 / total as f64,
            total as f64 / steady as f64,
            DeflateConfig::default().compression_level,
        );

        group.throughput(Throughput::Bytes(size as u64));
        let mut next = 0;
        group.bench_function(BenchmarkId::new("compress", label), |b| {
            b.iter(|| {
                scratch.clear();
                compressor.compress(black_box(&plain[next]), true, &mut scratch);
                next = (next + 1) % plain.len();
                black_box(&scratch);
            })
        });

        let mut next = 0;
        group.bench_function(BenchmarkId::new("decompress", label), |b| {
            b.iter(|| {
                out.clear();
                decompressor
                    .decompress(black_box(&compressed[next]), true, &mut out, MAX_MESSAGE)
                    .expect("inflates");
                next = (next + 1) % compressed.len();
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, deflate);
criterion_main!(benches);
