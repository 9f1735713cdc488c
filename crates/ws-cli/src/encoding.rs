//! Binary payloads as text: hex and base64, for printing received messages and reading `/binary`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::BinaryFormat;

/// Encodes `data` in `format`.
pub(crate) fn encode(format: BinaryFormat, data: &[u8]) -> String {
    match format {
        BinaryFormat::Hex => {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            let mut out = String::with_capacity(data.len() * 2);
            for &b in data {
                out.push(DIGITS[usize::from(b >> 4)] as char);
                out.push(DIGITS[usize::from(b & 15)] as char);
            }
            out
        }
        BinaryFormat::Base64 => STANDARD.encode(data),
    }
}

/// Decodes `text` in `format`. ASCII whitespace is ignored, so hex may be grouped (`de ad be ef`).
pub(crate) fn decode(format: BinaryFormat, text: &str) -> Result<Vec<u8>, String> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    match format {
        BinaryFormat::Hex => {
            if !compact.len().is_multiple_of(2) {
                return Err("hex data has an odd number of digits".into());
            }
            compact
                .chunks_exact(2)
                .map(|pair| Ok((nibble(pair[0])? << 4) | nibble(pair[1])?))
                .collect()
        }
        BinaryFormat::Base64 => STANDARD
            .decode(&compact)
            .map_err(|e| format!("bad base64 data: {e}")),
    }
}

fn nibble(digit: u8) -> Result<u8, String> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(format!("bad hex digit {:?}", digit as char)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let data = [0u8, 1, 0x7f, 0x80, 0xde, 0xad, 0xbe, 0xef, 0xff];
        let text = encode(BinaryFormat::Hex, &data);
        assert_eq!(text, "00017f80deadbeefff");
        assert_eq!(decode(BinaryFormat::Hex, &text).unwrap(), data);
        assert_eq!(
            decode(BinaryFormat::Hex, "DE ad\tBE ef").unwrap(),
            [0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(decode(BinaryFormat::Hex, "").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_hex_is_an_error() {
        assert!(decode(BinaryFormat::Hex, "abc").is_err());
        assert!(decode(BinaryFormat::Hex, "zz").is_err());
    }

    #[test]
    fn base64_round_trips() {
        let data = b"hello\x00\xff";
        let text = encode(BinaryFormat::Base64, data);
        assert_eq!(text, "aGVsbG8A/w==");
        assert_eq!(decode(BinaryFormat::Base64, &text).unwrap(), data);
        assert!(decode(BinaryFormat::Base64, "!!!").is_err());
    }
}
