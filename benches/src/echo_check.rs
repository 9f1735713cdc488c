//! Byte-for-byte verification of echoed messages.
//!
//! [`EchoChecker`] consumes the server's frames in order and compares every
//! data frame against the payload that must come back next, so a single
//! flipped, missing or extra byte, a wrong message type or a reordered message
//! is reported as an [`EchoError`]. Fragmented echoes are accepted and checked
//! fragment by fragment.

use std::fmt;
use std::sync::Arc;

use crate::payload::MessageRing;
use crate::wire::{Frame, FrameError, OpCode};

/// What one server frame amounted to, once it passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Echo {
    /// A whole message came back identical to the one sent.
    Complete,
    /// A correct fragment of a message that is not finished yet.
    Fragment,
    /// The server pinged; the payload must be ponged back.
    Ping(Vec<u8>),
    /// An unsolicited pong (ignored).
    Pong,
    /// The server sent a close frame with this status code (if any).
    Close(Option<u16>),
}

/// Why an echo was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EchoError {
    /// The frame itself breaks RFC 6455.
    Frame(FrameError),
    /// A message came back as text when binary was sent, or the reverse.
    WrongType {
        /// Opcode that was expected.
        expected: OpCode,
        /// Opcode that arrived.
        got: OpCode,
    },
    /// A byte differs from the one sent.
    Mismatch {
        /// Offset of the first differing byte within the message.
        offset: usize,
    },
    /// The echoed message is longer or shorter than the one sent.
    WrongLength {
        /// Length that was sent.
        expected: usize,
        /// Length received (so far, when too long).
        got: usize,
    },
    /// A continuation frame with no message in progress, or a new message
    /// starting before the previous one finished.
    BadFragmentation,
    /// A close frame whose payload is a lone byte (§5.5.1 forbids it).
    BadClosePayload,
}

impl fmt::Display for EchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "bad frame: {e}"),
            Self::WrongType { expected, got } => {
                write!(f, "echo has opcode {got:?}, sent {expected:?}")
            }
            Self::Mismatch { offset } => write!(f, "echo differs at byte {offset}"),
            Self::WrongLength { expected, got } => {
                write!(f, "echo is {got} bytes, sent {expected}")
            }
            Self::BadFragmentation => f.write_str("continuation frame out of sequence"),
            Self::BadClosePayload => f.write_str("close frame with a 1-byte payload"),
        }
    }
}

impl std::error::Error for EchoError {}

impl From<FrameError> for EchoError {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

/// Checks the echoes of one connection, in the order the messages were sent.
#[derive(Debug)]
pub struct EchoChecker {
    ring: Arc<MessageRing>,
    /// Ring slot of the message whose echo comes next.
    next_slot: usize,
    /// Bytes of the current message verified so far, while fragmented.
    in_progress: Option<usize>,
}

impl EchoChecker {
    /// A checker expecting the echo of ring slot `first_slot` first.
    pub fn new(ring: Arc<MessageRing>, first_slot: usize) -> Self {
        Self {
            ring,
            next_slot: first_slot,
            in_progress: None,
        }
    }

    /// Checks one server frame.
    pub fn check(&mut self, frame: Frame<'_>) -> Result<Echo, EchoError> {
        let Frame { header, payload } = frame;
        let verified = match header.opcode {
            OpCode::Ping => return Ok(Echo::Ping(payload.to_vec())),
            OpCode::Pong => return Ok(Echo::Pong),
            OpCode::Close => return close_code(payload).map(Echo::Close),
            OpCode::Continuation => self.in_progress.ok_or(EchoError::BadFragmentation)?,
            data => {
                let expected = self.ring.kind().opcode();
                if self.in_progress.is_some() {
                    return Err(EchoError::BadFragmentation);
                }
                if data != expected {
                    return Err(EchoError::WrongType {
                        expected,
                        got: data,
                    });
                }
                0
            }
        };
        let expected = self.ring.payload(self.next_slot);
        let end = verified + payload.len();
        let Some(want) = expected.get(verified..end) else {
            return Err(EchoError::WrongLength {
                expected: expected.len(),
                got: end,
            });
        };
        if want != payload {
            let offset = want.iter().zip(payload).position(|(a, b)| a != b);
            return Err(EchoError::Mismatch {
                offset: verified + offset.unwrap_or(0),
            });
        }
        if !header.fin {
            self.in_progress = Some(end);
            return Ok(Echo::Fragment);
        }
        if end != expected.len() {
            return Err(EchoError::WrongLength {
                expected: expected.len(),
                got: end,
            });
        }
        self.in_progress = None;
        self.next_slot += 1;
        Ok(Echo::Complete)
    }
}

/// The status code of a close frame's payload.
fn close_code(payload: &[u8]) -> Result<Option<u16>, EchoError> {
    match payload {
        [] => Ok(None),
        [_] => Err(EchoError::BadClosePayload),
        [hi, lo, ..] => Ok(Some(u16::from_be_bytes([*hi, *lo]))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::MessageKind;
    use crate::wire::FrameBuffer;

    /// Unmasked server frame bytes.
    fn server_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | opcode.bits()];
        match payload.len() {
            len @ 0..=125 => out.push(len as u8),
            len @ 126..=0xFFFF => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    /// Runs the checker over a byte stream, returning every outcome.
    fn check_stream(ring: &Arc<MessageRing>, bytes: &[u8]) -> Vec<Result<Echo, EchoError>> {
        let mut fb = FrameBuffer::default();
        fb.extend_from_slice(bytes);
        let mut checker = EchoChecker::new(ring.clone(), 0);
        let mut out = Vec::new();
        loop {
            match fb.next_frame() {
                Ok(Some(frame)) => out.push(checker.check(frame)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.into()));
                    break;
                }
            }
        }
        out
    }

    fn ring(kind: MessageKind, size: usize) -> Arc<MessageRing> {
        Arc::new(MessageRing::new(kind, size))
    }

    #[test]
    fn accepts_faithful_echoes_in_order() {
        for size in [0, 20, 1024, 65536, 70_000] {
            let ring = ring(MessageKind::Binary, size);
            let mut bytes = Vec::new();
            for slot in 0..40 {
                bytes.extend(server_frame(true, OpCode::Binary, ring.payload(slot)));
            }
            let results = check_stream(&ring, &bytes);
            assert_eq!(results, vec![Ok(Echo::Complete); 40], "size {size}");
        }
    }

    #[test]
    fn catches_every_single_flipped_bit() {
        let ring = ring(MessageKind::Text, 20);
        let good = server_frame(true, OpCode::Text, ring.payload(0));
        let header = 2;
        for i in header..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                let results = check_stream(&ring, &bad);
                assert_eq!(
                    results,
                    vec![Err(EchoError::Mismatch { offset: i - header })],
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn catches_corruption_in_a_large_message() {
        let ring = ring(MessageKind::Binary, 65536);
        let mut payload = ring.payload(0).to_vec();
        payload[65000] ^= 0x40;
        let results = check_stream(&ring, &server_frame(true, OpCode::Binary, &payload));
        assert_eq!(results, vec![Err(EchoError::Mismatch { offset: 65000 })]);
    }

    #[test]
    fn catches_truncated_and_extended_echoes() {
        let ring = ring(MessageKind::Binary, 100);
        let short = server_frame(true, OpCode::Binary, &ring.payload(0)[..99]);
        assert_eq!(
            check_stream(&ring, &short),
            vec![Err(EchoError::WrongLength {
                expected: 100,
                got: 99
            })]
        );
        let mut long = ring.payload(0).to_vec();
        long.push(0);
        assert_eq!(
            check_stream(&ring, &server_frame(true, OpCode::Binary, &long)),
            vec![Err(EchoError::WrongLength {
                expected: 100,
                got: 101
            })]
        );
    }

    #[test]
    fn catches_wrong_type_and_reordering() {
        let ring = ring(MessageKind::Text, 20);
        let as_binary = server_frame(true, OpCode::Binary, ring.payload(0));
        assert_eq!(
            check_stream(&ring, &as_binary),
            vec![Err(EchoError::WrongType {
                expected: OpCode::Text,
                got: OpCode::Binary
            })]
        );
        // Slot 1's echo arriving before slot 0's.
        let swapped = server_frame(true, OpCode::Text, ring.payload(1));
        assert_eq!(
            check_stream(&ring, &swapped),
            vec![Err(EchoError::Mismatch { offset: 0 })]
        );
        // The same echo twice.
        let mut twice = server_frame(true, OpCode::Text, ring.payload(0));
        twice.extend(server_frame(true, OpCode::Text, ring.payload(0)));
        let results = check_stream(&ring, &twice);
        assert_eq!(results[0], Ok(Echo::Complete));
        assert!(matches!(results[1], Err(EchoError::Mismatch { .. })));
    }

    #[test]
    fn reassembles_fragmented_echoes_with_interleaved_control() {
        let ring = ring(MessageKind::Binary, 1000);
        let p = ring.payload(0);
        let mut bytes = server_frame(false, OpCode::Binary, &p[..10]);
        bytes.extend(server_frame(true, OpCode::Ping, b"hi"));
        bytes.extend(server_frame(false, OpCode::Continuation, &p[10..500]));
        bytes.extend(server_frame(true, OpCode::Continuation, &p[500..]));
        bytes.extend(server_frame(true, OpCode::Binary, ring.payload(1)));
        bytes.extend(server_frame(true, OpCode::Close, &1000u16.to_be_bytes()));
        assert_eq!(
            check_stream(&ring, &bytes),
            vec![
                Ok(Echo::Fragment),
                Ok(Echo::Ping(b"hi".to_vec())),
                Ok(Echo::Fragment),
                Ok(Echo::Complete),
                Ok(Echo::Complete),
                Ok(Echo::Close(Some(1000))),
            ]
        );
    }

    #[test]
    fn catches_corruption_and_bad_sequencing_in_fragments() {
        let ring = ring(MessageKind::Binary, 1000);
        let p = ring.payload(0);
        let mut corrupt = p[500..].to_vec();
        corrupt[10] ^= 1;
        let mut bytes = server_frame(false, OpCode::Binary, &p[..500]);
        bytes.extend(server_frame(true, OpCode::Continuation, &corrupt));
        assert_eq!(
            check_stream(&ring, &bytes)[1],
            Err(EchoError::Mismatch { offset: 510 })
        );

        let stray = server_frame(true, OpCode::Continuation, p);
        assert_eq!(
            check_stream(&ring, &stray),
            vec![Err(EchoError::BadFragmentation)]
        );

        let mut restarted = server_frame(false, OpCode::Binary, &p[..500]);
        restarted.extend(server_frame(true, OpCode::Binary, p));
        assert_eq!(
            check_stream(&ring, &restarted)[1],
            Err(EchoError::BadFragmentation)
        );
    }

    #[test]
    fn reports_masked_server_frames() {
        let ring = ring(MessageKind::Binary, 4);
        let masked = [0x82, 0x84, 1, 2, 3, 4, 0, 0, 0, 0];
        assert_eq!(
            check_stream(&ring, &masked),
            vec![Err(EchoError::Frame(FrameError::Masked))]
        );
    }
}
