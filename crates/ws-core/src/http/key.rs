//! Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 sections 1.3 and 4.2.2).

use alloc::string::String;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID appended to the key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key value: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// A Sec-WebSocket-Key value: 16 random bytes in base64.
pub fn encode_key(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// Whether `key` is base64 of exactly 16 bytes (as the server must check).
pub fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|raw| raw.len() == 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_1_3_sample_key() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
    }

    #[test]
    fn rfc6455_4_2_1_key_must_decode_to_16_bytes() {
        assert!(!is_valid_key(b"dGhlIHNhbXBsZQ=="));
        assert!(!is_valid_key(b"not base64 at all!!!!!!!"));
        assert!(is_valid_key(encode_key([7; 16]).as_bytes()));
    }
}
