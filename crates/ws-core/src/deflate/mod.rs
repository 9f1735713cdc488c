//! permessage-deflate (RFC 7692) for `ws`: negotiation and per-message
//! compression.
//!
//! # Enabling it
//!
//! Put a [`PerMessageDeflate`] in [`crate::Config::extensions`] (or call
//! [`crate::Config::with_deflate`] for the defaults): a client offers it, a
//! server accepts a client's offer. [`DeflateConfig`] holds the knobs (context
//! takeover, window sizes, compression level and threshold); the negotiated
//! `Sec-WebSocket-Extensions` value is in [`crate::Opened::extensions`].
//! [`crate::SendOptions::compress`] turns compression off for one message.
//!
//! ```
//! use std::sync::Arc;
//! use ws_core::Config;
//! use ws_core::deflate::{DeflateConfig, PerMessageDeflate};
//! let deflate = DeflateConfig::default().compression_level(3).client_no_context_takeover(true);
//! assert_eq!(deflate.validate(), Ok(()));
//! let config = Config::default().extensions(Some(Arc::new(PerMessageDeflate::new(deflate))));
//! assert_eq!(config.extensions.as_ref().map(|e| e.name()), Some("permessage-deflate"));
//! ```
//!
//! The codec, the header parser and the negotiation functions underneath
//! are internal; the `internals` feature exposes them to the project's fuzz
//! targets and benches, without semver guarantees.
//!
//! # Decisions
//!
//! * **Window bits 8.** zlib (and zlib-rs) refuse a 256-byte window for raw
//!   deflate; flate2 accepts only 9..=15. When 8 is negotiated for our
//!   sending direction we compress with 9 bits: zlib never emits a match
//!   farther back than `2^bits − 262` bytes, i.e. 250 for 9 bits, which a
//!   256-byte window decodes (Chromium relies on the same property; the tests
//!   check it with an independent inflater for levels 0..=9). We therefore
//!   accept `server_max_window_bits=8` in offers and `client_max_window_bits=8`
//!   in responses.
//! * **Inflate window.** Always 2^15: zlib-rs allocates 32 KiB for inflate
//!   whatever the window size, and zlib only checks distances against the
//!   history it actually holds, so a smaller window would catch a peer that
//!   overshoots its negotiated window only sometimes. Every conforming stream
//!   (window 8..=15) is accepted; references to data never sent are
//!   invalid data (close code 1002).
//! * **Level** 1 by default ([`DEFAULT_COMPRESSION_LEVEL`]) and **threshold**
//!   0 ([`DEFAULT_COMPRESSION_THRESHOLD`]): every message is compressed, however
//!   small; only messages shorter than a threshold the application sets are
//!   sent uncompressed. The measurements behind both are in the
//!   [`DeflateConfig`] field docs.
//! * **Edge cases on receive:** an empty compressed payload is an empty
//!   message (the LZ77 state is left alone); a DEFLATE block with BFINAL set
//!   ends the zlib stream and the rest of the message, if any, starts a new
//!   one (RFC 7692 7.2.3.4), so a later back-reference across it is invalid.
//!   Truncated DEFLATE data at the end of a message cannot be detected (zlib
//!   keeps waiting for input); it surfaces as invalid data in a later message
//!   or goes unnoticed.
//! * **Decompression limit:** inflate runs in steps of at most 64 KiB and the
//!   output buffer never grows past its length at the start of the message
//!   plus the limit; the first byte beyond the limit fails the connection
//!   with [`crate::Limit::MessageSize`] (close code 1009).
//!
//! # Memory per connection (zlib-rs via flate2, measured on x86-64)
//!
//! Both states are allocated on first use, so a connection that never sends
//! (or never receives) a compressed message does not pay for that side.
//!
//! | window bits | compressor | decompressor |
//! | --- | --- | --- |
//! | 8, 9 | 245 KiB (251,008 B) | 46 KiB (47,552 B) |
//! | 10 | 247 KiB | 46 KiB |
//! | 12 | 259 KiB | 46 KiB |
//! | 14 | 307 KiB | 46 KiB |
//! | 15 | 371 KiB (380,032 B) | 46 KiB |
//!
//! Compressor: `248,960 + 4 · 2^bits` bytes — the sliding window (2 · 2^bits)
//! and its hash chain (2 bytes per window byte), plus a fixed part: a
//! 64 Ki-entry hash table (128 KiB; zlib-rs uses a fixed hash size), a 64 KiB
//! pending buffer and a 48 KiB symbol buffer (flate2 uses memLevel 8 and does
//! not let us lower it). The level does not change it. C zlib's classic
//! estimate `(1 << (bits + 2)) + (1 << (memLevel + 9))` gives 256 KiB for
//! 15/8; zlib-rs needs ~115 KiB more. Decompressor: a 32 KiB window plus
//! ~14 KiB of state, independent of the window size (C zlib:
//! `(1 << bits) + ~7 KiB`). Context takeover does not change these numbers
//! (the state is reset, not freed); the message buffers belong to the caller.
mod codec;
mod factory;
mod header;
mod params;
#[cfg(test)]
mod testutil;

pub use factory::PerMessageDeflate;
pub use params::{
    ConfigError, DEFAULT_COMPRESSION_LEVEL, DEFAULT_COMPRESSION_THRESHOLD, DeflateConfig,
    EXTENSION_NAME, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
};

// Internals: the codec, the header parser and the negotiation functions. Public only with the
// `internals` feature (for the project's fuzz targets and benches; not covered by semver).
#[cfg(feature = "internals")]
pub use codec::{CodecParams, Compressor, Decompressor, InflateError};
#[cfg(not(feature = "internals"))]
pub(crate) use codec::{Compressor, Decompressor, InflateError};
#[cfg(not(feature = "internals"))]
pub(crate) use header::parse_extensions;
#[cfg(feature = "internals")]
pub use header::{
    Extension, ExtensionParam, HeaderParseError, HeaderParseErrorKind, parse_extensions,
};
#[cfg(feature = "internals")]
pub use params::{
    Negotiated, NegotiationError, client_accept_response, client_accept_response_from,
    client_handle_response_header, client_offer, client_offers, server_agreed, server_negotiate,
};
#[cfg(not(feature = "internals"))]
pub(crate) use params::{
    Negotiated, client_handle_response_header, client_offers, server_agreed, server_negotiate,
};

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    #[allow(unused_imports)]
    use std::{
        borrow::ToOwned,
        boxed::Box,
        string::{String, ToString},
        vec::Vec,
    };
    #[allow(unused_imports)]
    use std::{format, vec};

    /// A full client/server handshake followed by messages both ways.
    #[test]
    fn end_to_end() {
        let client_configs = [
            DeflateConfig {
                server_max_window_bits: Some(8),
                client_no_context_takeover: true,
                ..DeflateConfig::default()
            },
            DeflateConfig::default(),
        ];
        let server_config = DeflateConfig {
            client_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        let request_header = client_offers(&client_configs);
        // The request may have been split over two header lines.
        let (first, second) = request_header.split_once(", ").unwrap();
        let offers = parse_extensions([first, second]).unwrap();
        let (response_header, server_side) = server_negotiate(&server_config, &offers).unwrap();
        assert_eq!(
            response_header,
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=8; \
             client_max_window_bits=10"
        );
        let (index, client_side) =
            client_handle_response_header(&client_configs, [&response_header])
                .unwrap()
                .unwrap();
        assert_eq!(index, 0);
        assert_eq!(client_side.server_max_window_bits, 8);
        assert_eq!(client_side.client_max_window_bits, 10);
        assert!(client_side.client_no_context_takeover);
        assert!(!client_side.server_no_context_takeover);

        let mut server_tx = server_side.compressor(true);
        let mut server_rx = server_side.decompressor(true);
        let mut client_tx = client_side.compressor(false);
        let mut client_rx = client_side.decompressor(false);
        let messages: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("{{\"seq\":{i},\"text\":\"{}\"}}", "hello world ".repeat(i)).into())
            .collect();
        for msg in &messages {
            for (tx, rx) in [
                (&mut server_tx, &mut client_rx),
                (&mut client_tx, &mut server_rx),
            ] {
                if !tx.should_compress(msg.len()) {
                    continue;
                }
                let mut out = BytesMut::new();
                let mut payload = Vec::new();
                let chunks: Vec<&[u8]> = msg.chunks(50).collect();
                for (i, chunk) in chunks.iter().enumerate() {
                    let fin = i + 1 == chunks.len();
                    let start = payload.len();
                    tx.compress(chunk, fin, &mut payload);
                    rx.decompress(&payload[start..], fin, &mut out, 1 << 20)
                        .unwrap();
                }
                assert_eq!(&out[..], &msg[..]);
            }
        }
    }
}
