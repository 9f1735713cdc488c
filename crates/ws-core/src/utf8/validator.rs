//! The incremental UTF-8 validator: internal (public only with the `internals` feature, for the
//! project's benches; not covered by semver).

use super::InvalidUtf8;

/// Validates UTF-8 that arrives in pieces, failing at the first impossible byte.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Checks the next piece. Fails as soon as the bytes seen so far cannot be the start of valid UTF-8.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = self.partial_len as usize;
            let need = sequence_len(self.partial[0]);
            let take = (need - have).min(data.len());
            self.partial[have..have + take].copy_from_slice(&data[..take]);
            let filled = have + take;
            match simdutf8::compat::from_utf8(&self.partial[..filled]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    self.partial_len = filled as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            data = &data[take..];
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Whether the text seen so far ends on a code point boundary (call at the end of the message).
    pub const fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    /// Forgets any unfinished code point, ready for the next text.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

/// Length of the UTF-8 sequence a lead byte starts (1 for bytes that cannot lead; the validator rejects them).
const fn sequence_len(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn feed_in_pieces(data: &[u8], piece: usize) -> Result<bool, usize> {
        let mut v = Utf8Validator::new();
        for (i, chunk) in data.chunks(piece.max(1)).enumerate() {
            if v.feed(chunk).is_err() {
                return Err(i);
            }
        }
        Ok(v.is_complete())
    }

    #[test]
    fn valid_text_in_every_piece_size() {
        let text = "κόσμε – ünïcödé 🎉 mixed ASCII".as_bytes();
        for piece in 1..text.len() {
            assert_eq!(feed_in_pieces(text, piece), Ok(true), "piece size {piece}");
        }
    }

    #[test]
    fn truncated_sequence_is_incomplete_not_invalid() {
        let euro = "€".as_bytes();
        assert_eq!(feed_in_pieces(&euro[..2], 1), Ok(false));
    }

    #[test]
    fn fails_fast_at_first_impossible_byte() {
        // Autobahn 6.4.1: "κόσμε" then 0xf4 0x90 (beyond U+10FFFF) then more bytes.
        let mut data: Vec<u8> = "κόσμε".as_bytes().to_vec();
        data.extend_from_slice(&[0xf4, 0x90, 0x80, 0x80, 0x65, 0x64]);
        let mut v = Utf8Validator::new();
        assert!(v.feed(&data[..10]).is_ok());
        assert!(
            v.feed(&data[10..11]).is_ok(),
            "0xf4 alone may still start a code point"
        );
        assert!(
            v.feed(&data[11..12]).is_err(),
            "0xf4 0x90 can start no code point"
        );
    }

    #[test]
    fn rejects_overlongs_surrogates_and_stray_bytes() {
        for bad in [
            &[0xc0, 0x80][..],
            &[0xed, 0xa0, 0x80],
            &[0x80],
            &[0xff],
            &[0xf8, 0x88, 0x80, 0x80, 0x80],
        ] {
            assert!(Utf8Validator::new().feed(bad).is_err(), "{bad:02x?}");
            assert!(feed_in_pieces(bad, 1).is_err(), "{bad:02x?} bytewise");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_std_for_any_chunking(data: Vec<u8>, piece in 1usize..9) {
            let std_ok = core::str::from_utf8(&data).is_ok();
            let ours = feed_in_pieces(&data, piece);
            proptest::prop_assert_eq!(std_ok, ours == Ok(true));
        }
    }
}
