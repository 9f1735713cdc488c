//! Payload masking (RFC 6455 section 5.3).
//!
//! Masking XORs every payload byte with one byte of a 4-byte key, cycling through the key. The loops work
//! on 8 bytes at a time through `u64` words, which the compiler vectorises: with SSE2 (16-byte vectors)
//! on a baseline x86-64 build, and on x86-64 CPUs that have them with AVX2 or AVX-512 (32- or 64-byte
//! vectors) too, chosen once at run time (the `cpufeatures` crate, which works without `std`).
//! [`extend_unmasked`] writes into uninitialised capacity. The crate's `unsafe` is here: that write and
//! the calls into the wider builds of the same loops; each block has its SAFETY argument, and the `mask`
//! fuzz target checks both functions against a byte-by-byte reference.

/// XORs `buf` with `key`, as if `buf` started at byte `offset` of the masked payload.
///
/// `offset` lets a payload that arrives in several reads be unmasked piece by piece. (The RFC 6455
/// section 5.7 example is a unit test below.)
#[inline]
#[allow(unsafe_code)] // Calls the wider builds; see `wide`.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= wide::MIN_LEN {
        match wide::width() {
            // SAFETY: `width` found the CPU and the OS support AVX-512 (F and BW).
            wide::Width::Avx512 => return unsafe { wide::apply_mask_avx512(buf, key, offset) },
            // SAFETY: `width` found the CPU and the OS support AVX2.
            wide::Width::Avx2 => return unsafe { wide::apply_mask_avx2(buf, key, offset) },
            wide::Width::Baseline => {}
        }
    }
    apply_mask_words(buf, key, offset);
}

/// Appends `src` to `dst`, unmasked with `key` as if it started at byte `offset` of the masked
/// payload: the copy and the unmasking in one pass over the payload, written straight into `dst`'s
/// spare capacity. (A copy followed by [`apply_mask`] over it reads and writes it twice; zero-filling
/// the room first and unmasking into it writes it twice: that `memset` was 13% of a 64 KiB echo
/// server's user time, and this function takes 1.4 us for 64 KiB where the zero-filling one took 2.5.)
pub fn extend_unmasked(dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    dst.reserve(src.len());
    let room = &mut dst.spare_capacity_mut()[..src.len()];
    unmask_into_dispatch(room, src, key, offset);
    let len = dst.len() + src.len();
    // SAFETY: `reserve` made room for `src.len()` more bytes, and `unmask_into` initialised all of
    // `room`, which is exactly the `src.len()` bytes after the current length (see its contract).
    #[allow(unsafe_code)]
    unsafe {
        dst.set_len(len)
    };
}

/// [`unmask_into`] in the widest build the CPU runs.
#[inline]
#[allow(unsafe_code)] // Calls the wider builds; see `wide`.
fn unmask_into_dispatch(
    room: &mut [core::mem::MaybeUninit<u8>],
    src: &[u8],
    key: [u8; 4],
    offset: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if src.len() >= wide::MIN_LEN {
        match wide::width() {
            wide::Width::Avx512 => {
                // SAFETY: `width` found the CPU and the OS support AVX-512 (F and BW).
                return unsafe { wide::unmask_into_avx512(room, src, key, offset) };
            }
            // SAFETY: `width` found the CPU and the OS support AVX2.
            wide::Width::Avx2 => return unsafe { wide::unmask_into_avx2(room, src, key, offset) },
            wide::Width::Baseline => {}
        }
    }
    unmask_into(room, src, key, offset);
}

/// [`apply_mask`]'s loop, inlined into each build (baseline, AVX2, AVX-512).
#[inline(always)]
fn apply_mask_words(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let (key, wide) = rotated(key, offset);
    let (chunks, rest) = buf.as_chunks_mut::<8>();
    for chunk in chunks {
        *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    for (byte, k) in rest.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// Writes `src` unmasked into `room`, which must be exactly as long: every element of `room` is
/// initialised when it returns (`room` and `src` split into the same number of 8-byte chunks and the
/// same remainder, and both `zip`s visit every element of `room`'s parts). Inlined into each build.
#[inline(always)]
fn unmask_into(room: &mut [core::mem::MaybeUninit<u8>], src: &[u8], key: [u8; 4], offset: usize) {
    assert_eq!(room.len(), src.len(), "unmask_into: room and source differ");
    let (key, wide) = rotated(key, offset);
    let (out_chunks, out_rest) = room.as_chunks_mut::<8>();
    let (src_chunks, src_rest) = src.as_chunks::<8>();
    for (out, chunk) in out_chunks.iter_mut().zip(src_chunks) {
        let word = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
        for (slot, byte) in out.iter_mut().zip(word) {
            slot.write(byte);
        }
    }
    for ((slot, byte), k) in out_rest.iter_mut().zip(src_rest).zip(key.iter().cycle()) {
        slot.write(byte ^ k);
    }
}

/// The same loops built for AVX2 and AVX-512, and the run-time check that picks one.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // `cpufeatures::new!` expands to the `cpuid` and `xgetbv` calls it needs.
mod wide {
    use core::mem::MaybeUninit;

    /// Below this many bytes the baseline loop is as fast (the check and the call cost more than the
    /// wider vectors save).
    pub(super) const MIN_LEN: usize = 256;

    cpufeatures::new!(has_avx512, "avx512f", "avx512bw");
    cpufeatures::new!(has_avx2, "avx2");

    /// The widest vectors this CPU and its OS support.
    pub(super) enum Width {
        Avx512,
        Avx2,
        Baseline,
    }

    /// Detected once (cached by `cpufeatures`).
    #[inline]
    pub(super) fn width() -> Width {
        if has_avx512::get() {
            Width::Avx512
        } else if has_avx2::get() {
            Width::Avx2
        } else {
            Width::Baseline
        }
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) fn apply_mask_avx512(buf: &mut [u8], key: [u8; 4], offset: usize) {
        apply_mask_aligned(buf, key, offset);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn apply_mask_avx2(buf: &mut [u8], key: [u8; 4], offset: usize) {
        apply_mask_aligned(buf, key, offset);
    }

    /// Bytes up to the next 64-byte boundary of `ptr` (at most `len`): the wide loops start there, so
    /// that no vector store straddles two cache lines.
    #[inline(always)]
    fn head_len<T>(ptr: *const T, len: usize) -> usize {
        ptr.align_offset(64).min(len)
    }

    /// [`super::apply_mask_words`] from a cache-line boundary on.
    #[inline(always)]
    fn apply_mask_aligned(buf: &mut [u8], key: [u8; 4], offset: usize) {
        let (head, body) = buf.split_at_mut(head_len(buf.as_ptr(), buf.len()));
        let skip = head.len();
        super::apply_mask_words(head, key, offset);
        super::apply_mask_words(body, key, offset + skip);
    }

    /// [`super::unmask_into`] with its stores from a cache-line boundary on.
    #[inline(always)]
    fn unmask_into_aligned(room: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4], offset: usize) {
        let skip = head_len(room.as_ptr(), room.len());
        let (room_head, room_body) = room.split_at_mut(skip);
        let (src_head, src_body) = src.split_at(skip.min(src.len()));
        super::unmask_into(room_head, src_head, key, offset);
        super::unmask_into(room_body, src_body, key, offset + skip);
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) fn unmask_into_avx512(
        room: &mut [MaybeUninit<u8>],
        src: &[u8],
        key: [u8; 4],
        offset: usize,
    ) {
        unmask_into_aligned(room, src, key, offset);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn unmask_into_avx2(
        room: &mut [MaybeUninit<u8>],
        src: &[u8],
        key: [u8; 4],
        offset: usize,
    ) {
        unmask_into_aligned(room, src, key, offset);
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

    /// Short lengths (the baseline loop) and lengths around and above the wider builds' threshold.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..40).chain([255, 256, 257, 263, 300, 511, 512, 777, 1031, 4099])
    }

    #[test]
    fn matches_bytewise_masking_at_every_length_and_offset() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in lengths() {
            for offset in 0..8 {
                let original: Vec<u8> = (0..len).map(|b| b as u8).collect();
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
        for len in lengths() {
            for offset in 0..8 {
                let original: Vec<u8> = (0..len).map(|b| (b as u8).wrapping_mul(37)).collect();
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
