//! `mask::extend_unmasked` (it writes into uninitialised capacity) and `mask::apply_mask` against a
//! byte-by-byte reference written from RFC 6455 section 5.3: the core's `unsafe` code, including the
//! AVX2 / AVX-512 builds of both loops that payloads of 256 bytes or more take on CPUs that have them.
//!
//! Input: `[4 bytes key][1 byte offset][1 byte kept prefix][1 byte spare capacity][1 byte cut][payload]`.
//! Invariants: appending behind a kept prefix leaves the prefix alone and appends exactly the reference's
//! unmasked payload, whatever the buffer's spare capacity (none, some, more than enough); appending in two
//! pieces, the second continuing at the first's offset, gives the same bytes; `apply_mask` in place agrees.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ws_core::mask::{apply_mask, extend_unmasked};

fn reference(payload: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[(offset + i) % 4])
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((head, payload)) = data.split_first_chunk::<8>() else {
        return;
    };
    let key = [head[0], head[1], head[2], head[3]];
    let offset = usize::from(head[4]);
    let prefix: Vec<u8> = (0..head[5]).collect();
    let spare = usize::from(head[6]) * 37;
    let cut = usize::from(head[7]).min(payload.len());
    let expected = reference(payload, key, offset);

    let mut whole = BytesMut::with_capacity(prefix.len() + spare);
    whole.extend_from_slice(&prefix);
    extend_unmasked(&mut whole, payload, key, offset);
    assert_eq!(&whole[..prefix.len()], &prefix[..]);
    assert_eq!(&whole[prefix.len()..], &expected[..]);

    let mut pieces = BytesMut::with_capacity(spare);
    pieces.extend_from_slice(&prefix);
    extend_unmasked(&mut pieces, &payload[..cut], key, offset);
    extend_unmasked(&mut pieces, &payload[cut..], key, offset + cut);
    assert_eq!(pieces, whole);

    let mut in_place = payload.to_vec();
    apply_mask(&mut in_place, key, offset);
    assert_eq!(in_place, expected);
});
