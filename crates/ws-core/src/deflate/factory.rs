//! permessage-deflate on the core's extension seam: an [`ExtensionFactory`] that negotiates, and the
//! active [`Extension`] that compresses and inflates messages.

use std::vec;
#[allow(unused_imports)]
use std::{
    borrow::ToOwned,
    boxed::Box,
    string::{String, ToString},
    vec::Vec,
};

use bytes::BytesMut;

use super::{
    Compressor, Decompressor, DeflateConfig, InflateError, Negotiated,
    client_handle_response_header,
};
use crate::extension::{DecodeError, Extension, ExtensionFactory};
use crate::frame::RSV1;

/// permessage-deflate for [`crate::Config::extensions`].
///
/// A client offers each configuration in order (most preferred first); a server accepts the first client
/// offer it can honour under its first configuration, and declines otherwise.
///
/// ```
/// use std::sync::Arc;
/// use ws_core::deflate::{DeflateConfig, PerMessageDeflate};
/// let config = ws_core::Config::default()
///     .extensions(Some(Arc::new(PerMessageDeflate::new(DeflateConfig::default()))));
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct PerMessageDeflate {
    configs: Vec<DeflateConfig>,
}

impl PerMessageDeflate {
    /// One configuration.
    pub fn new(config: DeflateConfig) -> Self {
        PerMessageDeflate {
            configs: vec![config],
        }
    }

    /// Several client offers in preference order (a server uses the first).
    pub fn with_offers(configs: Vec<DeflateConfig>) -> Self {
        let configs = if configs.is_empty() {
            vec![DeflateConfig::default()]
        } else {
            configs
        };
        PerMessageDeflate { configs }
    }
}

impl Default for PerMessageDeflate {
    /// The default configuration. A client makes two offers: context takeover (the better compression),
    /// then, for servers that prefer to save memory, one with `client_no_context_takeover`.
    fn default() -> Self {
        let no_takeover = DeflateConfig {
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        PerMessageDeflate::with_offers(vec![DeflateConfig::default(), no_takeover])
    }
}

impl ExtensionFactory for PerMessageDeflate {
    fn name(&self) -> &str {
        super::EXTENSION_NAME
    }

    fn client_offer(&self) -> String {
        super::client_offers(&self.configs)
    }

    fn client_accept(&self, response: &[&[u8]]) -> Result<Option<Box<dyn Extension>>, ()> {
        match client_handle_response_header(&self.configs, response.iter().copied()) {
            Ok(Some((_, negotiated))) => Ok(Some(Box::new(Deflate::new(&negotiated, false)))),
            Ok(None) => Ok(None),
            Err(_) => Err(()),
        }
    }

    fn server_accept(&self, offers: &[&[u8]]) -> Option<(String, Box<dyn Extension>)> {
        let offers = super::parse_extensions(offers.iter().copied()).ok()?;
        let (header, negotiated) = super::server_negotiate(&self.configs[0], &offers)?;
        Some((header, Box::new(Deflate::new(&negotiated, true))))
    }

    fn server_agreed(&self, response: &[u8]) -> Option<Box<dyn Extension>> {
        let response = super::parse_extensions([response]).ok()?;
        let negotiated = super::server_agreed(&self.configs[0], &response)?;
        Some(Box::new(Deflate::new(&negotiated, true)))
    }
}

/// The active extension on one connection: both halves until a split moves the compressor into an
/// extension of its own.
struct Deflate {
    compressor: Option<Compressor>,
    decompressor: Option<Decompressor>,
    /// Room for compressed messages, kept between them.
    room: Vec<u8>,
}

impl Deflate {
    fn new(negotiated: &Negotiated, is_server: bool) -> Self {
        Deflate {
            compressor: Some(negotiated.compressor(is_server)),
            decompressor: Some(negotiated.decompressor(is_server)),
            room: Vec::new(),
        }
    }
}

impl Extension for Deflate {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }

    fn should_encode(&self, len: Option<usize>) -> bool {
        self.compressor
            .as_ref()
            .is_some_and(|c| len.is_none_or(|n| c.should_compress(n)))
    }

    fn shared_encoding_key(&self) -> Option<u64> {
        self.compressor.as_ref()?.shared_key()
    }

    fn encode(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        if let Some(compressor) = self.compressor.as_mut() {
            compressor.compress(input, fin, out);
        }
    }

    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), DecodeError> {
        let Some(decompressor) = self.decompressor.as_mut() else {
            return Err(DecodeError::Invalid);
        };
        decompressor
            .decompress(input, fin, out, max_len)
            .map_err(|e| match e {
                InflateError::TooBig => DecodeError::TooBig,
                _ => DecodeError::Invalid,
            })
    }

    fn take_room(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.room)
    }

    fn give_room(&mut self, room: Vec<u8>) {
        self.room = room;
    }

    fn split_encoder(&mut self) -> Option<Box<dyn Extension>> {
        let compressor = self.compressor.take()?;
        Some(Box::new(Deflate {
            compressor: Some(compressor),
            decompressor: None,
            room: core::mem::take(&mut self.room),
        }))
    }
}
