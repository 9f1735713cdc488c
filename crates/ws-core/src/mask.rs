//! Payload masking (RFC 6455 section 5.3).
//!
//! Masking XORs every payload byte with one byte of a 4-byte key, cycling through the key. The loop works on
//! 8 bytes at a time through `u64` words, which the compiler vectorises, in safe code.

/// XORs `buf` with `key`, as if `buf` started at byte `offset` of the masked payload.
///
/// `offset` lets a payload that arrives in several reads be unmasked piece by piece. (The RFC 6455
/// section 5.7 example is a unit test below.)
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let (key, wide) = rotated(key, offset);
    let (chunks, rest) = buf.as_chunks_mut::<8>();
    for chunk in chunks {
        *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    for (byte, k) in rest.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// Appends `src` to `dst`, unmasked with `key` as if it started at byte `offset` of the masked
/// payload: the copy and the unmasking in one pass over the payload (a copy followed by
/// [`apply_mask`] over it reads and writes it twice).
pub fn extend_unmasked(dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    let start = dst.len();
    dst.resize(start + src.len(), 0);
    let (key, wide) = rotated(key, offset);
    let (out_chunks, out_rest) = dst[start..].as_chunks_mut::<8>();
    let (src_chunks, src_rest) = src.as_chunks::<8>();
    for (out, chunk) in out_chunks.iter_mut().zip(src_chunks) {
        *out = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    for ((out, byte), k) in out_rest.iter_mut().zip(src_rest).zip(key.iter().cycle()) {
        *out = byte ^ k;
    }
}

/// The key as seen from byte `offset` of the payload, and repeated over a `u64`.
#[inline]
fn rotated(key: [u8; 4], offset: usize) -> ([u8; 4], u64) {
    let shift = offset % 4;
    let key = [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ];
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    (key, wide)
}

#[cfg(test)]
mod tests {
    use super::{apply_mask, extend_unmasked};
    use alloc::vec::Vec;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc6455_5_7_masked_hello() {
        let mut data = *b"Hello";
        apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn matches_bytewise_masking_at_every_length_and_offset() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..40 {
            for offset in 0..8 {
                let original: Vec<u8> = (0..len as u8).collect();
                let mut fast = original.clone();
                let mut slow = original.clone();
                apply_mask(&mut fast, key, offset);
                naive(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn piecewise_unmasking_equals_whole() {
        let key = [9, 8, 7, 6];
        let original: Vec<u8> = (0..100u8).collect();
        let mut whole = original.clone();
        apply_mask(&mut whole, key, 0);
        let mut parts = original.clone();
        let (a, b) = parts.split_at_mut(13);
        apply_mask(a, key, 0);
        apply_mask(b, key, 13);
        assert_eq!(whole, parts);
    }

    #[test]
    fn extend_unmasked_matches_bytewise_masking_behind_existing_bytes() {
        let key = [0xa1, 0xb2, 0xc3, 0xd4];
        for len in 0..40 {
            for offset in 0..8 {
                let original: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
                let mut slow = original.clone();
                naive(&mut slow, key, offset);
                let mut buf = bytes::BytesMut::from(&b"kept"[..]);
                extend_unmasked(&mut buf, &original, key, offset);
                assert_eq!(&buf[..4], b"kept");
                assert_eq!(&buf[4..], &slow[..], "len {len} offset {offset}");
            }
        }
    }
}
