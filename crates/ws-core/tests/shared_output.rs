//! Large payloads a server sends as shared bytes are queued by reference, not copied: the output is
//! then several runs (header, payload, header, ...) for a vectored write, and the bytes on the wire are
//! the same as if they had been copied.

mod common;

use std::io::IoSlice;

use bytes::{Buf, Bytes};
use common::*;
use ws_core::{Config, Connection, Message};

/// Every run of `conn`'s output, as (address, bytes), without consuming it.
fn runs(conn: &mut Connection) -> Vec<(*const u8, Vec<u8>)> {
    let out = conn.output();
    let mut dst = [IoSlice::new(&[]); 64];
    let n = out.chunks_vectored(&mut dst);
    dst[..n].iter().map(|r| (r.as_ptr(), r.to_vec())).collect()
}

fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 31 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

#[test]
fn a_large_server_payload_is_queued_by_reference_and_arrives_intact() {
    let mut pair = Pair::open();
    let data = payload(64 * 1024);
    pair.server.send(&Message::Binary(data.clone())).unwrap();
    pair.server.send(&Message::from("after")).unwrap();
    let runs = runs(&mut pair.server);
    assert_eq!(runs.len(), 3, "header, shared payload, the next frame");
    assert_eq!(
        runs[1].0,
        data.as_ptr(),
        "the payload run is the message's own bytes"
    );
    assert_eq!(
        pair.server.output().remaining(),
        runs.iter().map(|r| r.1.len()).sum()
    );
    let wire: Vec<u8> = runs.iter().flat_map(|r| r.1.clone()).collect();
    let frames = parse_frames(&wire);
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].opcode, frames[0].fin), (OP_BINARY, true));
    assert_eq!(frames[0].payload, &data[..]);
    assert_eq!(frames[1].payload, b"after");
    pair.s2c();
    let got = messages(&pair.client_events());
    assert_eq!(got, [Message::Binary(data), Message::from("after")]);
    assert!(!pair.server.output().has_remaining() && pair.server.output().remaining() == 0);
}

#[test]
fn a_shared_payload_split_into_frames_references_each_piece() {
    let config = quiet_config().max_send_frame_size(Some(10_000));
    let mut pair = Pair::open_with(quiet_config(), config);
    let text: String = (0..30_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let message = Message::from(text.clone());
    let base = message.as_bytes().as_ptr();
    pair.server.send(&message).unwrap();
    let runs = runs(&mut pair.server);
    assert_eq!(runs.len(), 6, "three headers, three shared pieces");
    for (k, piece) in [1, 3, 5].into_iter().enumerate() {
        assert_eq!(runs[piece].0, base.wrapping_add(k * 10_000));
        assert_eq!(runs[piece].1.len(), 10_000);
    }
    let wire: Vec<u8> = runs.iter().flat_map(|r| r.1.clone()).collect();
    let frames = parse_frames(&wire);
    let shape: Vec<(u8, bool)> = frames.iter().map(|f| (f.opcode, f.fin)).collect();
    assert_eq!(shape, [(OP_TEXT, false), (OP_CONT, false), (OP_CONT, true)]);
    pair.s2c();
    assert_eq!(messages(&pair.client_events()), [Message::from(text)]);
}

#[test]
fn writes_may_stop_anywhere_across_runs() {
    for step in [1, 7, 4096, 10_003, 65_536] {
        let mut pair = Pair::open();
        let data = payload(20_000);
        for _ in 0..3 {
            pair.server.send(&Message::Binary(data.clone())).unwrap();
            pair.server.send(&Message::from(b"small".to_vec())).unwrap();
        }
        let mut wire = Vec::new();
        while pair.server.output().remaining() > 0 {
            let mut out = pair.server.output();
            let mut dst = [IoSlice::new(&[]); 4];
            let n = out.chunks_vectored(&mut dst);
            let mut budget = step;
            let mut wrote = 0;
            for run in &dst[..n] {
                let take = budget.min(run.len());
                wire.extend_from_slice(&run[..take]);
                wrote += take;
                budget -= take;
            }
            out.advance(wrote);
        }
        let frames = parse_frames(&wire);
        assert_eq!(frames.len(), 6, "step {step}");
        for pair_of in frames.chunks(2) {
            assert_eq!(pair_of[0].payload, &data[..], "step {step}");
            assert_eq!(pair_of[1].payload, b"small", "step {step}");
        }
    }
}

#[test]
fn small_payloads_and_client_frames_are_copied_into_one_run() {
    let mut pair = Pair::open();
    pair.server
        .send(&Message::Binary(payload(8 * 1024 - 1)))
        .unwrap();
    pair.server.send(&Message::Binary(payload(100))).unwrap();
    assert_eq!(runs(&mut pair.server).len(), 1, "below 8 KiB: copied");
    // A client masks its frames, so it copies whatever the size.
    let data = payload(64 * 1024);
    pair.client.send(&Message::Binary(data.clone())).unwrap();
    assert_eq!(runs(&mut pair.client).len(), 1);
    pair.c2s();
    assert_eq!(messages(&pair.server_events()), [Message::Binary(data)]);
}

#[test]
fn shared_bytes_count_towards_backpressure_and_go_with_the_connection() {
    let config = quiet_config().limits(Config::default().limits.max_queued_output(100_000));
    let mut pair = Pair::open_with(quiet_config(), config);
    let data = payload(60_000);
    pair.server.send(&Message::Binary(data.clone())).unwrap();
    assert!(!pair.server.is_backpressured());
    pair.server.send(&Message::Binary(data.clone())).unwrap();
    assert!(pair.server.is_backpressured(), "120 KB queued by reference");
    assert!(!data.is_unique(), "the queue holds references");
    drop(pair);
    assert!(data.is_unique(), "no reference outlives the connection");
}
