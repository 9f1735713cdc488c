//! The publisher's messages: binary, `size` bytes, the first eight the
//! message's sequence number (little-endian), the rest a fixed, somewhat
//! compressible text (so that permessage-deflate has something to do, as it
//! would on JSON).

/// Smallest message: the sequence number alone.
pub const MIN_SIZE: usize = 8;

/// The filler repeated after the sequence number.
const FILLER: &[u8] = b"{\"room\":\"lobby\",\"user\":\"fan-out\",\"text\":\"hello everyone\"} ";

/// The payload of message `seq`, `size` bytes (at least [`MIN_SIZE`]).
pub fn payload(seq: u64, size: usize) -> Vec<u8> {
    assert!(size >= MIN_SIZE, "messages carry an 8-byte sequence number");
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend(FILLER.iter().copied().cycle().take(size - MIN_SIZE));
    out
}

/// The sequence number at the start of a payload, if it is long enough.
pub fn sequence(payload: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(
        payload.get(..MIN_SIZE)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_carries_its_sequence_and_size() {
        for size in [8, 20, 1024] {
            let p = payload(0x0102_0304_0506_0708, size);
            assert_eq!(p.len(), size);
            assert_eq!(sequence(&p), Some(0x0102_0304_0506_0708));
        }
        assert_eq!(&payload(1, 20)[8..], b"{\"room\":\"lob");
        assert_eq!(sequence(b"short"), None);
    }
}
