//! The messages the load generator sends: a small ring of distinct payloads,
//! each with its masked client frame built once up front.
//!
//! Consecutive messages on a connection use consecutive ring slots, so an echo
//! that comes back out of order, duplicated or from another message differs
//! from what the checker expects (as long as fewer than [`RING_SLOTS`]
//! messages are in flight).

use crate::wire::{OpCode, encode_client_frame};

/// Number of distinct messages in the ring.
pub const RING_SLOTS: usize = 16;

/// Whether messages are sent as text or binary.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Text messages; payloads are printable ASCII, hence valid UTF-8.
    Text,
    /// Binary messages; payloads include bytes that are not valid UTF-8.
    Binary,
}

impl MessageKind {
    /// The opcode of the (single) frame carrying such a message.
    pub fn opcode(self) -> OpCode {
        match self {
            Self::Text => OpCode::Text,
            Self::Binary => OpCode::Binary,
        }
    }

    /// Lower-case name, as used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Binary => "binary",
        }
    }
}

/// The ring of payloads and their pre-built masked frames.
#[derive(Debug)]
pub struct MessageRing {
    kind: MessageKind,
    payloads: Vec<Vec<u8>>,
    frames: Vec<Vec<u8>>,
}

impl MessageRing {
    /// Builds [`RING_SLOTS`] distinct payloads of `size` bytes (distinct when
    /// `size > 0`) and masks a frame for each.
    pub fn new(kind: MessageKind, size: usize) -> Self {
        let payloads: Vec<Vec<u8>> = (0..RING_SLOTS).map(|s| payload(kind, size, s)).collect();
        let frames = payloads
            .iter()
            .enumerate()
            .map(|(slot, p)| {
                let mut frame = Vec::with_capacity(p.len() + 14);
                encode_client_frame(kind.opcode(), p, mask_for(slot), &mut frame);
                frame
            })
            .collect();
        Self {
            kind,
            payloads,
            frames,
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Payload size in bytes.
    pub fn size(&self) -> usize {
        self.payloads[0].len()
    }

    /// The payload in `slot` (taken modulo the ring size).
    pub fn payload(&self, slot: usize) -> &[u8] {
        &self.payloads[slot % RING_SLOTS]
    }

    /// The masked client frame carrying the payload in `slot`.
    pub fn frame(&self, slot: usize) -> &[u8] {
        &self.frames[slot % RING_SLOTS]
    }
}

/// The payload of one ring slot. Byte 0 differs between slots.
fn payload(kind: MessageKind, size: usize, slot: usize) -> Vec<u8> {
    match kind {
        // 3 is coprime with 26, so the first letters of the 16 slots differ.
        MessageKind::Text => (0..size)
            .map(|i| b'a' + ((i * 7 + slot * 3) % 26) as u8)
            .collect(),
        // 97 is odd, so byte 0 differs across 256 slots; 0x80.. is not UTF-8.
        MessageKind::Binary => (0..size)
            .map(|i| (i * 31 + slot * 97 + 0x80) as u8)
            .collect(),
    }
}

/// A fixed, non-zero masking key per slot (xorshift of the slot number).
pub fn mask_for(slot: usize) -> [u8; 4] {
    let mut x = 0x9E37_79B9u32 ^ (slot as u32).wrapping_mul(0x85EB_CA6B);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    let mask = x.to_be_bytes();
    if mask == [0; 4] { [1, 2, 3, 4] } else { mask }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_payloads_are_ascii_and_slots_differ() {
        let ring = MessageRing::new(MessageKind::Text, 20);
        for s in 0..RING_SLOTS {
            assert!(ring.payload(s).is_ascii());
            for t in 0..s {
                assert_ne!(ring.payload(s), ring.payload(t));
            }
        }
    }

    #[test]
    fn binary_payloads_are_not_utf8_and_slots_differ() {
        let ring = MessageRing::new(MessageKind::Binary, 1024);
        assert!(std::str::from_utf8(ring.payload(0)).is_err());
        for s in 0..RING_SLOTS {
            for t in 0..s {
                assert_ne!(ring.payload(s)[0], ring.payload(t)[0]);
            }
        }
        assert_eq!(ring.size(), 1024);
        assert_eq!(ring.frame(3).len(), 1024 + 8);
    }
}
