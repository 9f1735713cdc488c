//! Arbitrary permessage-deflate settings for one side of a connection, shared by the targets that
//! negotiate from them (`differential`, `inflate`).

use arbitrary::Arbitrary;
use ws_core::deflate::DeflateConfig;

/// One side's permessage-deflate settings, drawn from the fuzzer's bytes.
#[derive(Arbitrary, Debug)]
pub struct Knobs {
    /// Ask for (or grant) server_no_context_takeover.
    pub server_no_context_takeover: bool,
    /// Ask for (or grant) client_no_context_takeover.
    pub client_no_context_takeover: bool,
    /// server_max_window_bits, mapped to 8-15.
    pub server_max_window_bits: Option<u8>,
    /// client_max_window_bits, mapped to 8-15.
    pub client_max_window_bits: Option<u8>,
    /// Messages shorter than this are sent uncompressed.
    pub threshold: u8,
    /// zlib level, mapped to 0-9.
    pub level: u8,
}

impl Knobs {
    /// The settings as a `DeflateConfig`.
    pub fn config(&self) -> DeflateConfig {
        let mut c = DeflateConfig::default();
        c.server_no_context_takeover = self.server_no_context_takeover;
        c.client_no_context_takeover = self.client_no_context_takeover;
        c.server_max_window_bits = self.server_max_window_bits.map(|b| 8 + b % 8);
        c.client_max_window_bits = self.client_max_window_bits.map(|b| 8 + b % 8);
        c.compression_threshold = self.threshold as usize;
        c.compression_level = (self.level % 10) as u32;
        c
    }
}
