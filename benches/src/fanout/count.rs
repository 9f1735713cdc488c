//! A subscriber's view of the broadcast: the server's frames turned into whole
//! messages, each checked (binary, the expected length once inflated, a
//! sequence number later than the last one) and counted.

use std::fmt;

use flate2::{Decompress, FlushDecompress, Status};

use super::message;
use crate::handshake;
use crate::wire::{Frame, FrameError, OpCode};

/// What RFC 7692 §7.2.2 has the receiver append before inflating a message.
const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// A message that broke the benchmark's expectations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CountError {
    /// The frame itself is invalid.
    Frame(FrameError),
    /// A data message that is not binary.
    NotBinary,
    /// A message of the wrong length (after inflating).
    Length {
        /// Its length.
        got: usize,
        /// The cell's message size.
        want: usize,
    },
    /// A message whose sequence number is not past the last one's.
    OutOfOrder {
        /// The message's sequence number.
        seq: u64,
        /// The last one seen.
        last: u64,
    },
    /// A continuation frame with no message started, or a new message before
    /// the last one ended.
    Fragments,
    /// A compressed message did not inflate.
    Inflate(String),
    /// The server sent a close frame.
    Closed,
}

impl fmt::Display for CountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "frame: {e}"),
            Self::NotBinary => f.write_str("a text message where binary was sent"),
            Self::Length { got, want } => write!(f, "message of {got} bytes, expected {want}"),
            Self::OutOfOrder { seq, last } => write!(f, "message {seq} after message {last}"),
            Self::Fragments => f.write_str("continuation frames out of place"),
            Self::Inflate(e) => write!(f, "inflate: {e}"),
            Self::Closed => f.write_str("server sent a close frame"),
        }
    }
}

impl std::error::Error for CountError {}

impl From<FrameError> for CountError {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

/// One whole message counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Messages it accounts for: itself and every earlier one not received
    /// (see [`super::pace`]).
    pub accounted: u64,
    /// Of those, the ones this subscriber never received, not counting those
    /// sent before its first message (it may have subscribed after them).
    pub missed: u64,
    /// Whether it arrived compressed (RSV1).
    pub compressed: bool,
}

/// The permessage-deflate receiver of one connection.
struct Inflater {
    decompress: Decompress,
    /// The server keeps its compression context between messages, so this
    /// side must too.
    keeps_context: bool,
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Inflater {
    fn inflate(&mut self, compressed: &[u8], size: usize) -> Result<&[u8], CountError> {
        if !self.keeps_context {
            self.decompress.reset(false);
        }
        self.input.clear();
        self.input.extend_from_slice(compressed);
        self.input.extend_from_slice(&DEFLATE_TAIL);
        self.output.clear();
        self.output.reserve(size + 64);
        let start_in = self.decompress.total_in();
        let consumed = |d: &Decompress| (d.total_in() - start_in) as usize;
        loop {
            if self.output.len() == self.output.capacity() {
                self.output.reserve(self.output.capacity().max(64));
            }
            let (read, written) = (consumed(&self.decompress), self.output.len());
            let status = self
                .decompress
                .decompress_vec(&self.input[read..], &mut self.output, FlushDecompress::Sync)
                .map_err(|e| CountError::Inflate(e.to_string()))?;
            let all_read = consumed(&self.decompress) == self.input.len();
            if status == Status::StreamEnd
                || (all_read && self.output.len() < self.output.capacity())
            {
                break;
            }
            if consumed(&self.decompress) == read && self.output.len() == written {
                if all_read {
                    break;
                }
                return Err(CountError::Inflate("no progress".into()));
            }
        }
        Ok(&self.output)
    }
}

/// Counts the messages one connection receives.
pub struct MessageCounter {
    size: usize,
    inflater: Option<Inflater>,
    /// A fragmented message being received: its bytes so far and RSV1.
    partial: Option<(Vec<u8>, bool)>,
    last_seq: Option<u64>,
}

impl fmt::Debug for MessageCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageCounter")
            .field("size", &self.size)
            .field("deflate", &self.inflater.is_some())
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}

impl MessageCounter {
    /// A counter for messages of `size` bytes; `deflate` is the
    /// permessage-deflate the server accepted, if any.
    pub fn new(size: usize, deflate: Option<&str>) -> Self {
        let inflater = deflate.map(|extension| Inflater {
            decompress: Decompress::new(false),
            keeps_context: handshake::server_keeps_context(extension),
            input: Vec::new(),
            output: Vec::new(),
        });
        Self {
            size,
            inflater,
            partial: None,
            last_seq: None,
        }
    }

    /// Takes the next frame: `Ok(Some(_))` when it completed a message, `Ok(None)`
    /// for a fragment, ping or pong.
    pub fn on_frame(&mut self, frame: Frame<'_>) -> Result<Option<Counted>, CountError> {
        let header = frame.header;
        match header.opcode {
            OpCode::Ping | OpCode::Pong => Ok(None),
            OpCode::Close => Err(CountError::Closed),
            OpCode::Text => Err(CountError::NotBinary),
            OpCode::Binary if header.fin => {
                if self.partial.is_some() {
                    return Err(CountError::Fragments);
                }
                self.message(frame.payload, header.rsv1).map(Some)
            }
            OpCode::Binary => {
                if self.partial.is_some() {
                    return Err(CountError::Fragments);
                }
                self.partial = Some((frame.payload.to_vec(), header.rsv1));
                Ok(None)
            }
            OpCode::Continuation => {
                let (bytes, _) = self.partial.as_mut().ok_or(CountError::Fragments)?;
                bytes.extend_from_slice(frame.payload);
                if !header.fin {
                    return Ok(None);
                }
                let (bytes, compressed) = self.partial.take().expect("checked above");
                self.message(&bytes, compressed).map(Some)
            }
        }
    }

    fn message(&mut self, payload: &[u8], compressed: bool) -> Result<Counted, CountError> {
        let size = self.size;
        let payload = match (&mut self.inflater, compressed) {
            (Some(inflater), true) => inflater.inflate(payload, size)?,
            // RSV1 without deflate is refused by the frame parser already.
            _ => payload,
        };
        if payload.len() != size {
            return Err(CountError::Length {
                got: payload.len(),
                want: size,
            });
        }
        let seq = message::sequence(payload).ok_or(CountError::Length {
            got: payload.len(),
            want: size,
        })?;
        let (accounted, missed) = match self.last_seq {
            None => (seq + 1, 0),
            Some(last) if seq > last => (seq - last, seq - last - 1),
            Some(last) => return Err(CountError::OutOfOrder { seq, last }),
        };
        self.last_seq = Some(seq);
        Ok(Counted {
            accounted,
            missed,
            compressed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FrameBuffer;
    use flate2::{Compress, Compression, FlushCompress};
    use ws_testkit::wire as reference;

    /// Feeds `bytes` (server frames) to a counter; returns what each frame gave.
    fn feed(
        counter: &mut MessageCounter,
        deflate: bool,
        bytes: &[u8],
    ) -> Vec<Result<Option<Counted>, CountError>> {
        let mut frames = FrameBuffer::default();
        if deflate {
            frames.allow_deflate();
        }
        frames.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(frame) = frames.next_frame().unwrap() {
            out.push(counter.on_frame(frame));
        }
        out
    }

    fn binary(seq: u64, size: usize) -> Vec<u8> {
        reference::frame(0x82, &message::payload(seq, size), None)
    }

    /// Compresses one message as a permessage-deflate sender does.
    fn deflate(compress: &mut Compress, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 64);
        compress
            .compress_vec(payload, &mut out, FlushCompress::Sync)
            .unwrap();
        assert!(out.ends_with(&DEFLATE_TAIL));
        out.truncate(out.len() - 4);
        out
    }

    #[test]
    fn counts_whole_messages_and_gaps() {
        let mut c = MessageCounter::new(20, None);
        let mut bytes = binary(3, 20);
        bytes.extend(binary(4, 20));
        bytes.extend(reference::frame(0x89, b"", None));
        bytes.extend(binary(7, 20));
        let got = feed(&mut c, false, &bytes);
        let counted = |accounted, missed| {
            Ok(Some(Counted {
                accounted,
                missed,
                compressed: false,
            }))
        };
        // The first message accounts for everything before it, missing nothing.
        assert_eq!(got, [counted(4, 0), counted(1, 0), Ok(None), counted(3, 2)]);
    }

    #[test]
    fn refuses_wrong_length_order_type_and_close() {
        let mut c = MessageCounter::new(20, None);
        assert_eq!(
            feed(&mut c, false, &binary(1, 21)),
            [Err(CountError::Length { got: 21, want: 20 })]
        );
        let mut bytes = binary(5, 20);
        bytes.extend(binary(5, 20));
        assert_eq!(
            feed(&mut c, false, &bytes)[1],
            Err(CountError::OutOfOrder { seq: 5, last: 5 })
        );
        let text = reference::frame(0x81, &[b'a'; 20], None);
        assert_eq!(feed(&mut c, false, &text), [Err(CountError::NotBinary)]);
        let close = reference::frame(0x88, &1000u16.to_be_bytes(), None);
        assert_eq!(feed(&mut c, false, &close), [Err(CountError::Closed)]);
    }

    #[test]
    fn reassembles_fragments() {
        let mut c = MessageCounter::new(1024, None);
        let p = message::payload(9, 1024);
        let mut bytes = reference::frame(0x02, &p[..100], None);
        bytes.extend(reference::frame(0x00, &p[100..500], None));
        bytes.extend(reference::frame(0x80, &p[500..], None));
        let got = feed(&mut c, false, &bytes);
        assert_eq!(got[..2], [Ok(None), Ok(None)]);
        assert_eq!(got[2].clone().unwrap().unwrap().accounted, 10);
        let stray = reference::frame(0x80, b"x", None);
        assert_eq!(feed(&mut c, false, &stray), [Err(CountError::Fragments)]);
    }

    #[test]
    fn inflates_with_and_without_context_takeover() {
        for (extension, keep) in [
            ("permessage-deflate", true),
            ("permessage-deflate; server_no_context_takeover", false),
        ] {
            let mut c = MessageCounter::new(1024, Some(extension));
            let mut compress = Compress::new(Compression::fast(), false);
            let mut bytes = Vec::new();
            for seq in 0..3 {
                if !keep {
                    compress.reset();
                }
                let z = deflate(&mut compress, &message::payload(seq, 1024));
                assert!(z.len() < 1024);
                bytes.extend(reference::frame(0xC2, &z, None));
            }
            // An uncompressed message is allowed too (RSV1 clear).
            bytes.extend(binary(3, 1024));
            let got = feed(&mut c, true, &bytes);
            let flags: Vec<_> = got
                .iter()
                .map(|r| r.clone().unwrap().unwrap().compressed)
                .collect();
            assert_eq!(flags, [true, true, true, false], "{extension}");
        }
    }

    #[test]
    fn a_bad_compressed_message_is_an_error() {
        let mut c = MessageCounter::new(20, Some("permessage-deflate"));
        let got = feed(&mut c, true, &reference::frame(0xC2, &[0xFF; 8], None));
        assert!(matches!(got[..], [Err(CountError::Inflate(_))]));
        // Inflating to the wrong length.
        let mut c = MessageCounter::new(20, Some("permessage-deflate"));
        let mut compress = Compress::new(Compression::fast(), false);
        let z = deflate(&mut compress, &message::payload(0, 30));
        assert_eq!(
            feed(&mut c, true, &reference::frame(0xC2, &z, None)),
            [Err(CountError::Length { got: 30, want: 20 })]
        );
    }
}
