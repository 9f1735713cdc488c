//! permessage-deflate parameter negotiation (RFC 7692 sections 5 and 7.1).
//!
//! The four extension parameters and how each side treats them:
//!
//! | parameter | in a client offer | in a server response |
//! | --- | --- | --- |
//! | `server_no_context_takeover` | asks the server to reset its compressor after every message; the server must echo it to accept | the server will reset (allowed even if not asked) |
//! | `client_no_context_takeover` | hint: the client will reset its compressor anyway | the client must reset its compressor |
//! | `server_max_window_bits=N` | asks for a server window of at most 2^N; the response must carry a value ≤ N | the server's window is at most 2^N |
//! | `client_max_window_bits[=N]` | the client can honour a limit in the response (the value is a hint that it uses ≤ 2^N) | the client must use at most 2^N; only allowed if offered; ≤ the offered value |
//!
//! Parsing is strict: an unknown parameter, a duplicate parameter, a value on
//! a no-value parameter, a missing or malformed window size (only `8`..=`15`,
//! decimal, no leading zero or sign; quoted-string form accepted) makes the
//! element invalid. A server declines such an offer (and tries the next one);
//! a client fails the connection on such a response.

#[allow(unused_imports)]
use std::{
    borrow::ToOwned,
    boxed::Box,
    string::{String, ToString},
    vec::Vec,
};
#[allow(unused_imports)]
use std::{format, vec};

use core::fmt;

use super::codec::{CodecParams, Compressor, Decompressor};
use super::header::{Extension, ExtensionParam, HeaderParseError, parse_extensions};

/// Registered name of the extension.
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// Smallest LZ77 window size (base-2 logarithm) RFC 7692 allows.
pub const MIN_WINDOW_BITS: u8 = 8;
/// Largest LZ77 window size (base-2 logarithm) RFC 7692 allows; also the
/// window assumed when none was negotiated.
pub const MAX_WINDOW_BITS: u8 = 15;

/// Default [`DeflateConfig::compression_threshold`].
pub const DEFAULT_COMPRESSION_THRESHOLD: usize = 0;
/// Default [`DeflateConfig::compression_level`].
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 1;

/// Local permessage-deflate settings, used to build a client offer or to
/// answer client offers as a server.
///
/// The meaning of each negotiation field depends on the role; see the field
/// docs. Window sizes are base-2 logarithms in `8..=15`; use
/// [`DeflateConfig::validate`] when accepting a configuration: the functions
/// of this module clamp out-of-range values rather than fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Client: ask the server to reset its compression context after every
    /// message (smaller decompressor state is *not* implied, but the server's
    /// messages become independent). A response without it is then rejected.
    ///
    /// Server: always reset our compressor after every message and say so in
    /// the response (even when the client did not ask).
    pub server_no_context_takeover: bool,
    /// Client: reset our compressor after every message, and tell the server
    /// (hint) in the offer.
    ///
    /// Server: require the client to reset its compressor after every message
    /// (always put in the response). A server also echoes the client's hint
    /// when it is offered, so that it may reset its decompressor too.
    pub client_no_context_takeover: bool,
    /// Client: `Some(n)` asks the server to use a window of at most 2^n bytes;
    /// a response without a value ≤ n is rejected. `None`: no request.
    ///
    /// Server: `Some(n)` never compress with a window above 2^n (the response
    /// carries `min(n, offered)`); `None`: use what the client asks, else 2^15.
    pub server_max_window_bits: Option<u8>,
    /// Client: `Some(n)` offers `client_max_window_bits=n` (we will compress
    /// with at most 2^n); `None` offers `client_max_window_bits` without a
    /// value (any value the server picks is fine). The parameter is always
    /// offered because this implementation honours every window size.
    ///
    /// Server: `Some(n)` asks the client to use at most 2^n (only possible if
    /// the client offered `client_max_window_bits`; otherwise the offer is
    /// still accepted and the client may use 2^15). `None`: no limit, but a
    /// value offered by the client is echoed.
    pub client_max_window_bits: Option<u8>,
    /// Messages shorter than this many bytes are sent uncompressed (RSV1
    /// clear). Default
    /// [`DEFAULT_COMPRESSION_THRESHOLD`] (0: every message is compressed, as
    /// browsers and python-websockets do; some peers mishandle uncompressed
    /// messages on a compressed connection, kosoku 0.1.0 among them). With
    /// context takeover even 16-byte chat messages shrink by ~5 bytes at
    /// level 1. Without context takeover, messages of up to ~64 bytes grow
    /// or break even; consider 128 when `*_no_context_takeover` applies to
    /// our side.
    pub compression_threshold: usize,
    /// zlib compression level 0..=9 (clamped to 9). Default
    /// [`DEFAULT_COMPRESSION_LEVEL`] (1). Measured with zlib-rs on chat-like
    /// JSON (context takeover, 1 KiB messages, one core of a shared 2-core
    /// VM): level 1 compresses at ~170–270 MB/s to 41 % of the input, level 3
    /// at ~80 MB/s to 33 %, level 6 at ~45 MB/s to 31 %. Every connection compresses its own copy of a
    /// broadcast message, so CPU is usually the scarcer resource (nginx's
    /// `gzip_comp_level` defaults to 1 for the same reason); pick 3–6 when
    /// bandwidth matters more. The level does not change memory use.
    pub compression_level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig::new()
    }
}

/// A [`DeflateConfig`] field out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A window size outside `8..=15`.
    WindowBits {
        /// `"server_max_window_bits"` or `"client_max_window_bits"`.
        param: &'static str,
        /// The configured value.
        value: u8,
    },
    /// A compression level above 9.
    Level(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::WindowBits { param, value } => {
                write!(f, "{param} must be within 8..=15, got {value}")
            }
            ConfigError::Level(l) => write!(f, "compression level must be within 0..=9, got {l}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl DeflateConfig {
    /// The defaults (the same as [`DeflateConfig::default`]).
    pub const fn new() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            compression_threshold: DEFAULT_COMPRESSION_THRESHOLD,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }

    /// Sets [`DeflateConfig::server_no_context_takeover`](#structfield.server_no_context_takeover).
    #[must_use]
    pub const fn server_no_context_takeover(mut self, yes: bool) -> Self {
        self.server_no_context_takeover = yes;
        self
    }

    /// Sets [`DeflateConfig::client_no_context_takeover`](#structfield.client_no_context_takeover).
    #[must_use]
    pub const fn client_no_context_takeover(mut self, yes: bool) -> Self {
        self.client_no_context_takeover = yes;
        self
    }

    /// Sets [`DeflateConfig::server_max_window_bits`](#structfield.server_max_window_bits): bits in
    /// `8..=15`, or `None`.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: impl Into<Option<u8>>) -> Self {
        self.server_max_window_bits = bits.into();
        self
    }

    /// Sets [`DeflateConfig::client_max_window_bits`](#structfield.client_max_window_bits): bits in
    /// `8..=15`, or `None`.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: impl Into<Option<u8>>) -> Self {
        self.client_max_window_bits = bits.into();
        self
    }

    /// Sets [`DeflateConfig::compression_threshold`](#structfield.compression_threshold).
    #[must_use]
    pub const fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression_threshold = bytes;
        self
    }

    /// Sets [`DeflateConfig::compression_level`](#structfield.compression_level).
    #[must_use]
    pub const fn compression_level(mut self, level: u32) -> Self {
        self.compression_level = level;
        self
    }

    /// Checks that window sizes are within `8..=15` and the level within
    /// `0..=9`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (param, bits) in [
            (SERVER_MAX_WINDOW_BITS, self.server_max_window_bits),
            (CLIENT_MAX_WINDOW_BITS, self.client_max_window_bits),
        ] {
            if let Some(value) = bits
                && !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&value)
            {
                return Err(ConfigError::WindowBits { param, value });
            }
        }
        if self.compression_level > 9 {
            return Err(ConfigError::Level(self.compression_level));
        }
        Ok(())
    }

    fn server_bits(&self) -> Option<u8> {
        self.server_max_window_bits.map(clamp_bits)
    }

    fn client_bits(&self) -> Option<u8> {
        self.client_max_window_bits.map(clamp_bits)
    }
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// Why a permessage-deflate response (client side) or element is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The `Sec-WebSocket-Extensions` header does not parse.
    Header(HeaderParseError),
    /// The response accepts an extension that was not offered.
    UnexpectedExtension(String),
    /// The response accepts permessage-deflate more than once.
    DuplicateExtension,
    /// A parameter this extension does not define.
    UnknownParameter(String),
    /// The same parameter twice in one element.
    DuplicateParameter(&'static str),
    /// A parameter value that is missing, present where none is allowed, or
    /// not a window size in `8..=15`.
    InvalidValue {
        /// Parameter name.
        param: &'static str,
        /// The received value (`None`: no value was given).
        value: Option<String>,
    },
    /// The response lacks a parameter that the offer requires it to echo
    /// (`server_no_context_takeover`, `server_max_window_bits`).
    MissingParameter(&'static str),
    /// `client_max_window_bits` in a response to an offer without it.
    UnsolicitedParameter(&'static str),
    /// A window size in the response larger than the offered one.
    WindowBitsTooLarge {
        /// Parameter name.
        param: &'static str,
        /// Value in the offer.
        offered: u8,
        /// Value in the response.
        received: u8,
    },
    /// Several offers were made and the response is valid for none of them.
    NoMatchingOffer,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::Header(e) => e.fmt(f),
            NegotiationError::UnexpectedExtension(name) => {
                write!(f, "server accepted extension {name:?} that was not offered")
            }
            NegotiationError::DuplicateExtension => {
                write!(f, "server accepted {EXTENSION_NAME} more than once")
            }
            NegotiationError::UnknownParameter(name) => {
                write!(f, "unknown {EXTENSION_NAME} parameter {name:?}")
            }
            NegotiationError::DuplicateParameter(name) => {
                write!(f, "duplicate {EXTENSION_NAME} parameter {name}")
            }
            NegotiationError::InvalidValue { param, value: None } => {
                write!(f, "{param} requires a value")
            }
            NegotiationError::InvalidValue {
                param,
                value: Some(v),
            } => write!(f, "invalid value {v:?} for {param}"),
            NegotiationError::MissingParameter(name) => {
                write!(f, "response lacks {name}, which the offer requires")
            }
            NegotiationError::UnsolicitedParameter(name) => {
                write!(f, "response contains {name}, which was not offered")
            }
            NegotiationError::WindowBitsTooLarge {
                param,
                offered,
                received,
            } => write!(f, "{param}={received} exceeds the offered {offered}"),
            NegotiationError::NoMatchingOffer => {
                write!(
                    f,
                    "the {EXTENSION_NAME} response matches none of the offers"
                )
            }
        }
    }
}

impl std::error::Error for NegotiationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NegotiationError::Header(e) => Some(e),
            _ => None,
        }
    }
}

impl From<HeaderParseError> for NegotiationError {
    fn from(e: HeaderParseError) -> Self {
        NegotiationError::Header(e)
    }
}

/// The parameters agreed for a connection, for both directions.
///
/// Window sizes are the effective maxima (`15` when not negotiated). A window
/// of `8` is honoured by compressing with zlib's 9-bit window, whose matches
/// never reach back more than 2^9 − 262 = 250 bytes (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// Maximum server window (base-2 logarithm, 8..=15).
    pub server_max_window_bits: u8,
    /// Maximum client window (base-2 logarithm, 8..=15).
    pub client_max_window_bits: u8,
    /// Copied from the local [`DeflateConfig::compression_threshold`].
    pub compression_threshold: usize,
    /// Copied from the local [`DeflateConfig::compression_level`].
    pub compression_level: u32,
}

impl Negotiated {
    /// Parameters for the local compressor (what we send). `is_server` is our
    /// role.
    pub fn compressor_params(&self, is_server: bool) -> CodecParams {
        if is_server {
            CodecParams {
                no_context_takeover: self.server_no_context_takeover,
                max_window_bits: self.server_max_window_bits,
            }
        } else {
            CodecParams {
                no_context_takeover: self.client_no_context_takeover,
                max_window_bits: self.client_max_window_bits,
            }
        }
    }

    /// Parameters for the local decompressor (what the peer sends).
    /// `is_server` is our role.
    pub fn decompressor_params(&self, is_server: bool) -> CodecParams {
        self.compressor_params(!is_server)
    }

    /// A compressor for our outgoing messages.
    pub fn compressor(&self, is_server: bool) -> Compressor {
        Compressor::new(
            self.compressor_params(is_server),
            self.compression_level,
            self.compression_threshold,
        )
    }

    /// A decompressor for the peer's messages.
    pub fn decompressor(&self, is_server: bool) -> Decompressor {
        Decompressor::new(self.decompressor_params(is_server))
    }
}

/// The four parameters as found in one element, after strict validation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `None`: absent; `Some(None)`: present without a value (offers only).
    client_max_window_bits: Option<Option<u8>>,
}

fn parse_window_bits(param: &'static str, value: Option<&str>) -> Result<u8, NegotiationError> {
    // "decimal integer value without leading zeroes between 8 and 15".
    let bits = match value {
        Some("8") => 8,
        Some("9") => 9,
        Some("10") => 10,
        Some("11") => 11,
        Some("12") => 12,
        Some("13") => 13,
        Some("14") => 14,
        Some("15") => 15,
        other => {
            return Err(NegotiationError::InvalidValue {
                param,
                value: other.map(Into::into),
            });
        }
    };
    Ok(bits)
}

/// Validates the parameters of one permessage-deflate element. `is_offer`
/// allows `client_max_window_bits` without a value.
fn parse_params(params: &[ExtensionParam], is_offer: bool) -> Result<Params, NegotiationError> {
    let mut out = Params::default();
    let mut seen = [false; 4];
    for param in params {
        let (index, name) = match param.name.as_str() {
            SERVER_NO_CONTEXT_TAKEOVER => (0, SERVER_NO_CONTEXT_TAKEOVER),
            CLIENT_NO_CONTEXT_TAKEOVER => (1, CLIENT_NO_CONTEXT_TAKEOVER),
            SERVER_MAX_WINDOW_BITS => (2, SERVER_MAX_WINDOW_BITS),
            CLIENT_MAX_WINDOW_BITS => (3, CLIENT_MAX_WINDOW_BITS),
            other => return Err(NegotiationError::UnknownParameter(other.into())),
        };
        if core::mem::replace(&mut seen[index], true) {
            return Err(NegotiationError::DuplicateParameter(name));
        }
        let value = param.value.as_deref();
        match index {
            0 | 1 => {
                if let Some(v) = value {
                    return Err(NegotiationError::InvalidValue {
                        param: name,
                        value: Some(v.into()),
                    });
                }
                if index == 0 {
                    out.server_no_context_takeover = true;
                } else {
                    out.client_no_context_takeover = true;
                }
            }
            2 => out.server_max_window_bits = Some(parse_window_bits(name, value)?),
            _ => {
                out.client_max_window_bits = Some(match value {
                    None if is_offer => None,
                    v => Some(parse_window_bits(name, v)?),
                });
            }
        }
    }
    Ok(out)
}

fn render(p: &Params) -> String {
    let mut s = String::from(EXTENSION_NAME);
    if p.server_no_context_takeover {
        s.push_str("; ");
        s.push_str(SERVER_NO_CONTEXT_TAKEOVER);
    }
    if p.client_no_context_takeover {
        s.push_str("; ");
        s.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
    }
    if let Some(bits) = p.server_max_window_bits {
        s.push_str("; ");
        s.push_str(SERVER_MAX_WINDOW_BITS);
        s.push('=');
        s.push_str(&bits.to_string());
    }
    if let Some(bits) = p.client_max_window_bits {
        s.push_str("; ");
        s.push_str(CLIENT_MAX_WINDOW_BITS);
        if let Some(bits) = bits {
            s.push('=');
            s.push_str(&bits.to_string());
        }
    }
    s
}

fn offer_params(config: &DeflateConfig) -> Params {
    Params {
        server_no_context_takeover: config.server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: config.server_bits(),
        client_max_window_bits: Some(config.client_bits()),
    }
}

/// Builds the `Sec-WebSocket-Extensions` value of a single client offer, e.g.
/// `permessage-deflate; client_max_window_bits`.
pub fn client_offer(config: &DeflateConfig) -> String {
    render(&offer_params(config))
}

/// Builds a `Sec-WebSocket-Extensions` value carrying several offers, most
/// preferred first, separated by `, `. Empty for an empty slice (then send no
/// header). Match the response with [`client_accept_response_from`].
pub fn client_offers(configs: &[DeflateConfig]) -> String {
    configs
        .iter()
        .map(client_offer)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validates the parameters of the server's permessage-deflate response
/// against our single offer built from `config` (RFC 7692 section 7.1), and
/// returns the agreed parameters. Any error means the client must fail the
/// WebSocket connection.
pub fn client_accept_response(
    config: &DeflateConfig,
    response_params: &[ExtensionParam],
) -> Result<Negotiated, NegotiationError> {
    accept_response(config, &offer_params(config), response_params)
}

/// RFC 7692 7.1 checks of a response against the offer `offer` (separate
/// from [`client_accept_response`] so that offers this crate never sends,
/// e.g. without `client_max_window_bits`, can be tested too).
fn accept_response(
    config: &DeflateConfig,
    offer: &Params,
    response_params: &[ExtensionParam],
) -> Result<Negotiated, NegotiationError> {
    let resp = parse_params(response_params, false)?;

    // server_no_context_takeover: must be echoed if offered; may be added.
    if offer.server_no_context_takeover && !resp.server_no_context_takeover {
        return Err(NegotiationError::MissingParameter(
            SERVER_NO_CONTEXT_TAKEOVER,
        ));
    }

    // server_max_window_bits: must be echoed with a value <= the offered one;
    // may be added with any value when not offered.
    let server_bits = match (offer.server_max_window_bits, resp.server_max_window_bits) {
        (Some(_), None) => {
            return Err(NegotiationError::MissingParameter(SERVER_MAX_WINDOW_BITS));
        }
        (Some(offered), Some(received)) if received > offered => {
            return Err(NegotiationError::WindowBitsTooLarge {
                param: SERVER_MAX_WINDOW_BITS,
                offered,
                received,
            });
        }
        (_, Some(received)) => received,
        (None, None) => MAX_WINDOW_BITS,
    };

    // client_max_window_bits: only if offered; value <= the offered one. If
    // absent we still honour our own offered value.
    let client_bits = match (offer.client_max_window_bits, resp.client_max_window_bits) {
        (None, Some(_)) => {
            return Err(NegotiationError::UnsolicitedParameter(
                CLIENT_MAX_WINDOW_BITS,
            ));
        }
        (Some(Some(offered)), Some(Some(received))) if received > offered => {
            return Err(NegotiationError::WindowBitsTooLarge {
                param: CLIENT_MAX_WINDOW_BITS,
                offered,
                received,
            });
        }
        (_, Some(Some(received))) => received,
        (Some(Some(offered)), None) => offered,
        // A response value is mandatory; `parse_params` already rejected
        // `Some(None)`, so this arm only covers "absent everywhere".
        _ => MAX_WINDOW_BITS,
    };

    Ok(Negotiated {
        server_no_context_takeover: resp.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || resp.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
        compression_threshold: config.compression_threshold,
        compression_level: config.compression_level.min(9),
    })
}

/// Like [`client_accept_response`] for a request built with
/// [`client_offers`]: returns the index of the first (most preferred) offer
/// the response is valid for, with the agreed parameters.
///
/// With a single offer the specific validation error is returned; with
/// several, [`NegotiationError::NoMatchingOffer`].
pub fn client_accept_response_from(
    configs: &[DeflateConfig],
    response_params: &[ExtensionParam],
) -> Result<(usize, Negotiated), NegotiationError> {
    let mut last_err = None;
    for (i, config) in configs.iter().enumerate() {
        match client_accept_response(config, response_params) {
            Ok(n) => return Ok((i, n)),
            Err(e) => last_err = Some(e),
        }
    }
    match (configs.len(), last_err) {
        (1, Some(e)) => Err(e),
        (0, _) => Err(NegotiationError::UnexpectedExtension(EXTENSION_NAME.into())),
        _ => Err(NegotiationError::NoMatchingOffer),
    }
}

/// Client side, all in one: parses the response's `Sec-WebSocket-Extensions`
/// header lines (pass none if the header is absent) when the request offered
/// only permessage-deflate (built by [`client_offers`] from `configs`).
///
/// Returns `Ok(None)` when the server accepted no extension, `Ok(Some((index,
/// negotiated)))` when it accepted offer `index`, and an error (fail the
/// connection) for a malformed header, an extension that was not offered,
/// permessage-deflate accepted twice, or invalid parameters.
pub fn client_handle_response_header<I, V>(
    configs: &[DeflateConfig],
    header_values: I,
) -> Result<Option<(usize, Negotiated)>, NegotiationError>
where
    I: IntoIterator<Item = V>,
    V: AsRef<[u8]>,
{
    let extensions = parse_extensions(header_values)?;
    let mut accepted = None;
    for ext in &extensions {
        if ext.name != EXTENSION_NAME || configs.is_empty() {
            return Err(NegotiationError::UnexpectedExtension(ext.name.clone()));
        }
        if accepted.is_some() {
            return Err(NegotiationError::DuplicateExtension);
        }
        accepted = Some(ext);
    }
    accepted
        .map(|ext| client_accept_response_from(configs, &ext.params))
        .transpose()
}

/// Server side: walks the client's offers in order (elements with another
/// name are skipped), declines those with invalid parameters, and accepts the
/// first valid permessage-deflate offer. Returns the response element for the
/// `Sec-WebSocket-Extensions` header and the agreed parameters, or `None` if
/// no offer is acceptable (then do not enable compression).
///
/// Every valid offer can be honoured: `server_max_window_bits=8` is served
/// with zlib's 9-bit window (matches stay within 250 bytes). If the client did
/// not offer `client_max_window_bits`, a configured client limit cannot be
/// requested and the client may use a 2^15 window.
pub fn server_negotiate(
    config: &DeflateConfig,
    offers: &[Extension],
) -> Option<(String, Negotiated)> {
    offers
        .iter()
        .filter(|ext| ext.name == EXTENSION_NAME)
        .find_map(|ext| {
            let offer = parse_params(&ext.params, true).ok()?;
            let resp = server_response(config, &offer);
            Some((render(&resp), server_view(config, &resp)))
        })
}

/// Server side, for a handshake answered earlier (or by another HTTP stack): the agreed parameters of
/// `response`, the permessage-deflate element the server sent, as [`server_negotiate`] computed them
/// when it built that element. `None` unless `response` is exactly one valid permessage-deflate
/// element. The level and threshold come from `config`.
pub fn server_agreed(config: &DeflateConfig, response: &[Extension]) -> Option<Negotiated> {
    let [ext] = response else {
        return None;
    };
    if ext.name != EXTENSION_NAME {
        return None;
    }
    let resp = parse_params(&ext.params, false).ok()?;
    Some(server_view(config, &resp))
}

/// What a server's response element means for both directions (absent window sizes are 2^15).
fn server_view(config: &DeflateConfig, resp: &Params) -> Negotiated {
    Negotiated {
        server_no_context_takeover: resp.server_no_context_takeover,
        client_no_context_takeover: resp.client_no_context_takeover,
        server_max_window_bits: resp.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits: resp
            .client_max_window_bits
            .flatten()
            .unwrap_or(MAX_WINDOW_BITS),
        compression_threshold: config.compression_threshold,
        compression_level: config.compression_level.min(9),
    }
}

fn server_response(config: &DeflateConfig, offer: &Params) -> Params {
    let min_opt = |a: Option<u8>, b: Option<u8>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let client_max_window_bits = match offer.client_max_window_bits {
        // Not offered: the response must not contain it.
        None => None,
        Some(offered) => min_opt(config.client_bits(), offered).map(Some),
    };
    Params {
        server_no_context_takeover: config.server_no_context_takeover
            || offer.server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover
            || offer.client_no_context_takeover,
        server_max_window_bits: min_opt(config.server_bits(), offer.server_max_window_bits),
        client_max_window_bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Vec<ExtensionParam> {
        let mut v = parse_extensions([format!("{EXTENSION_NAME}{s}")]).unwrap();
        assert_eq!(v.len(), 1);
        v.pop().unwrap().params
    }

    fn offers(s: &str) -> Vec<Extension> {
        parse_extensions([s]).unwrap()
    }

    fn neg(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> Negotiated {
        Negotiated {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
            compression_threshold: DEFAULT_COMPRESSION_THRESHOLD,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }

    fn cfg(snct: bool, cnct: bool, sbits: Option<u8>, cbits: Option<u8>) -> DeflateConfig {
        DeflateConfig {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
            ..DeflateConfig::default()
        }
    }

    // ---- offers -------------------------------------------------------

    #[test]
    fn offer_rendering() {
        assert_eq!(
            client_offer(&DeflateConfig::default()),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(
            client_offer(&cfg(true, true, Some(10), Some(12))),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=12"
        );
        assert_eq!(
            client_offers(&[cfg(false, false, Some(9), None), DeflateConfig::default()]),
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits, \
             permessage-deflate; client_max_window_bits"
        );
        assert_eq!(client_offers(&[]), "");
        // Out-of-range config values are clamped in the offer.
        assert_eq!(
            client_offer(&cfg(false, false, Some(3), Some(99))),
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=15"
        );
    }

    #[test]
    fn offers_round_trip_through_the_parser_and_server() {
        for sbits in [None, Some(8), Some(12), Some(15)] {
            for cbits in [None, Some(8), Some(11), Some(15)] {
                for (snct, cnct) in [(false, false), (true, false), (false, true), (true, true)] {
                    let c = cfg(snct, cnct, sbits, cbits);
                    let header = client_offer(&c);
                    let parsed = offers(&header);
                    assert_eq!(
                        parse_params(&parsed[0].params, true).unwrap(),
                        offer_params(&c)
                    );
                    // A default server accepts every offer and the client
                    // accepts the response with identical agreed parameters.
                    let (resp, server_side) =
                        server_negotiate(&DeflateConfig::default(), &parsed).unwrap();
                    let resp = offers(&resp);
                    let client_side = client_accept_response(&c, &resp[0].params).unwrap();
                    assert_eq!(client_side, server_side, "{header}");
                }
            }
        }
    }

    #[test]
    fn config_validation() {
        assert!(DeflateConfig::default().validate().is_ok());
        assert!(cfg(false, false, Some(8), Some(15)).validate().is_ok());
        assert_eq!(
            cfg(false, false, Some(7), None).validate(),
            Err(ConfigError::WindowBits {
                param: "server_max_window_bits",
                value: 7
            })
        );
        assert!(cfg(false, false, None, Some(16)).validate().is_err());
        let c = DeflateConfig {
            compression_level: 10,
            ..DeflateConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Level(10)));
    }

    // ---- strict parameter parsing --------------------------------------

    #[test]
    fn parameter_values() {
        for ok in ["8", "9", "10", "15", "\"12\""] {
            let p = params(&format!("; server_max_window_bits={ok}"));
            assert!(parse_params(&p, true).is_ok(), "{ok}");
            assert!(parse_params(&p, false).is_ok(), "{ok}");
        }
        for bad in [
            "7",
            "16",
            "0",
            "08",
            "010",
            "+9",
            "-9",
            "9.0",
            "a",
            "1e1",
            "\"\\31\\30x\"",
        ] {
            let p = params(&format!("; server_max_window_bits={bad}"));
            assert!(
                matches!(
                    parse_params(&p, true),
                    Err(NegotiationError::InvalidValue { .. })
                ),
                "{bad}"
            );
            let p = params(&format!("; client_max_window_bits={bad}"));
            assert!(
                matches!(
                    parse_params(&p, true),
                    Err(NegotiationError::InvalidValue { .. })
                ),
                "{bad}"
            );
        }
        // Escaped digits in a quoted-string are fine once unescaped.
        let p = params("; server_max_window_bits=\"1\\0\"");
        assert_eq!(
            parse_params(&p, false).unwrap().server_max_window_bits,
            Some(10)
        );
        // server_max_window_bits always needs a value.
        let p = params("; server_max_window_bits");
        assert_eq!(
            parse_params(&p, true),
            Err(NegotiationError::InvalidValue {
                param: "server_max_window_bits",
                value: None
            })
        );
        // client_max_window_bits without a value: offers only.
        let p = params("; client_max_window_bits");
        assert_eq!(
            parse_params(&p, true).unwrap().client_max_window_bits,
            Some(None)
        );
        assert!(matches!(
            parse_params(&p, false),
            Err(NegotiationError::InvalidValue { value: None, .. })
        ));
        // No-value parameters must not have one.
        for bad in [
            "; server_no_context_takeover=1",
            "; client_no_context_takeover=\"x\"",
        ] {
            assert!(
                matches!(
                    parse_params(&params(bad), true),
                    Err(NegotiationError::InvalidValue { value: Some(_), .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn duplicates_and_unknown_parameters() {
        for dup in [
            "; server_no_context_takeover; server_no_context_takeover",
            "; client_no_context_takeover; client_no_context_takeover",
            "; server_max_window_bits=10; server_max_window_bits=10",
            "; client_max_window_bits; client_max_window_bits=10",
        ] {
            assert!(
                matches!(
                    parse_params(&params(dup), true),
                    Err(NegotiationError::DuplicateParameter(_))
                ),
                "{dup}"
            );
        }
        for unknown in [
            "; x",
            "; Server_No_Context_Takeover",
            "; server_max_window_bit=9",
        ] {
            assert!(
                matches!(
                    parse_params(&params(unknown), true),
                    Err(NegotiationError::UnknownParameter(_))
                ),
                "{unknown}"
            );
        }
    }

    // ---- client: validating the response (RFC 7692 7.1) ----------------

    #[test]
    fn client_accepts_valid_responses() {
        let d = DeflateConfig::default();
        assert_eq!(
            client_accept_response(&d, &params("")).unwrap(),
            neg(false, false, 15, 15)
        );
        // The server may add server_no_context_takeover, client_no_context_takeover,
        // server_max_window_bits (any value) and client_max_window_bits (offered without value).
        assert_eq!(
            client_accept_response(
                &d,
                &params(
                    "; server_no_context_takeover; client_no_context_takeover; \
                     server_max_window_bits=8; client_max_window_bits=9"
                )
            )
            .unwrap(),
            neg(true, true, 8, 9)
        );
        // Requested values echoed or lowered.
        let c = cfg(true, false, Some(12), Some(11));
        assert_eq!(
            client_accept_response(
                &c,
                &params("; server_no_context_takeover; server_max_window_bits=12")
            )
            .unwrap(),
            neg(true, false, 12, 11)
        );
        assert_eq!(
            client_accept_response(
                &c,
                &params(
                    "; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8"
                )
            )
            .unwrap(),
            neg(true, false, 9, 8)
        );
        // Our own client_no_context_takeover hint binds us even if not echoed.
        let c = cfg(false, true, None, None);
        assert_eq!(
            client_accept_response(&c, &params("")).unwrap(),
            neg(false, true, 15, 15)
        );
        // Threshold and level come from the config.
        let c = DeflateConfig {
            compression_threshold: 100,
            compression_level: 1,
            ..DeflateConfig::default()
        };
        let n = client_accept_response(&c, &params("")).unwrap();
        assert_eq!((n.compression_threshold, n.compression_level), (100, 1));
    }

    #[test]
    fn client_rejects_invalid_responses() {
        let d = DeflateConfig::default();
        let err = |c: &DeflateConfig, s: &str| client_accept_response(c, &params(s)).unwrap_err();
        // Requested server_no_context_takeover not echoed.
        assert_eq!(
            err(&cfg(true, false, None, None), ""),
            NegotiationError::MissingParameter("server_no_context_takeover")
        );
        // Requested server_max_window_bits not echoed / larger.
        assert_eq!(
            err(&cfg(false, false, Some(10), None), ""),
            NegotiationError::MissingParameter("server_max_window_bits")
        );
        assert_eq!(
            err(
                &cfg(false, false, Some(10), None),
                "; server_max_window_bits=11"
            ),
            NegotiationError::WindowBitsTooLarge {
                param: "server_max_window_bits",
                offered: 10,
                received: 11
            }
        );
        // client_max_window_bits larger than offered / without value.
        assert_eq!(
            err(
                &cfg(false, false, None, Some(10)),
                "; client_max_window_bits=11"
            ),
            NegotiationError::WindowBitsTooLarge {
                param: "client_max_window_bits",
                offered: 10,
                received: 11
            }
        );
        assert!(matches!(
            err(&d, "; client_max_window_bits"),
            NegotiationError::InvalidValue { value: None, .. }
        ));
        // Out-of-range values, duplicates, unknown parameters.
        assert!(matches!(
            err(&d, "; server_max_window_bits=16"),
            NegotiationError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&d, "; client_max_window_bits=7"),
            NegotiationError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(
                &d,
                "; server_no_context_takeover; server_no_context_takeover"
            ),
            NegotiationError::DuplicateParameter(_)
        ));
        assert!(matches!(
            err(&d, "; foo=bar"),
            NegotiationError::UnknownParameter(_)
        ));
    }

    #[test]
    fn client_rejects_unsolicited_client_max_window_bits() {
        // Our offers always carry client_max_window_bits; check the rule with
        // an offer that lacks it.
        let d = DeflateConfig::default();
        let offer = Params::default();
        assert_eq!(
            accept_response(&d, &offer, &params("; client_max_window_bits=10")),
            Err(NegotiationError::UnsolicitedParameter(
                "client_max_window_bits"
            ))
        );
        assert_eq!(
            accept_response(&d, &offer, &params("")),
            Ok(neg(false, false, 15, 15))
        );
    }

    #[test]
    fn client_multiple_offers() {
        let configs = [
            cfg(true, false, Some(10), Some(10)),
            cfg(false, false, None, None),
        ];
        assert_eq!(
            client_offers(&configs),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=10, permessage-deflate; client_max_window_bits"
        );
        // Valid for the first offer.
        let (i, n) = client_accept_response_from(
            &configs,
            &params("; server_no_context_takeover; server_max_window_bits=10"),
        )
        .unwrap();
        assert_eq!((i, n), (0, neg(true, false, 10, 10)));
        // Only valid for the second offer.
        let (i, n) = client_accept_response_from(&configs, &params("")).unwrap();
        assert_eq!((i, n), (1, neg(false, false, 15, 15)));
        let (i, n) =
            client_accept_response_from(&configs, &params("; client_max_window_bits=12")).unwrap();
        assert_eq!((i, n), (1, neg(false, false, 15, 12)));
        // Valid for none.
        assert_eq!(
            client_accept_response_from(&configs, &params("; x")),
            Err(NegotiationError::NoMatchingOffer)
        );
        // Single offer: the specific error.
        assert_eq!(
            client_accept_response_from(&configs[..1], &params("")),
            Err(NegotiationError::MissingParameter(
                "server_no_context_takeover"
            ))
        );
    }

    #[test]
    fn client_response_header_handling() {
        let configs = [DeflateConfig::default()];
        assert_eq!(
            client_handle_response_header(&configs, Vec::<&str>::new()),
            Ok(None)
        );
        assert_eq!(client_handle_response_header(&configs, [""]), Ok(None));
        assert_eq!(
            client_handle_response_header(
                &configs,
                ["permessage-deflate; server_max_window_bits=\"10\""]
            ),
            Ok(Some((0, neg(false, false, 10, 15))))
        );
        assert_eq!(
            client_handle_response_header(&configs, ["permessage-deflate", "permessage-deflate"]),
            Err(NegotiationError::DuplicateExtension)
        );
        assert_eq!(
            client_handle_response_header(&configs, ["x-webkit-deflate-frame"]),
            Err(NegotiationError::UnexpectedExtension(
                "x-webkit-deflate-frame".into()
            ))
        );
        assert_eq!(
            client_handle_response_header(&[], ["permessage-deflate"]),
            Err(NegotiationError::UnexpectedExtension(
                "permessage-deflate".into()
            ))
        );
        assert!(matches!(
            client_handle_response_header(&configs, ["permessage-deflate;"]),
            Err(NegotiationError::Header(_))
        ));
        assert!(matches!(
            client_handle_response_header(&configs, ["permessage-deflate; client_max_window_bits"]),
            Err(NegotiationError::InvalidValue { .. })
        ));
    }

    // ---- server: answering offers ---------------------------------------

    fn server(c: &DeflateConfig, header: &str) -> Option<(String, Negotiated)> {
        server_negotiate(c, &offers(header))
    }

    #[test]
    fn server_default_config() {
        let d = DeflateConfig::default();
        assert_eq!(
            server(&d, "permessage-deflate"),
            Some(("permessage-deflate".into(), neg(false, false, 15, 15)))
        );
        assert_eq!(
            server(&d, "permessage-deflate; client_max_window_bits"),
            Some(("permessage-deflate".into(), neg(false, false, 15, 15)))
        );
        // Requests are honoured and echoed; the client's hints are echoed too.
        assert_eq!(
            server(
                &d,
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=10"
            ),
            Some((
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=10"
                    .into(),
                neg(true, true, 8, 10)
            ))
        );
    }

    #[test]
    fn server_config_limits() {
        let c = cfg(true, true, Some(10), Some(9));
        // Added even when not offered (except client_max_window_bits).
        assert_eq!(
            server(&c, "permessage-deflate"),
            Some((
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10"
                    .into(),
                neg(true, true, 10, 15)
            ))
        );
        // client_max_window_bits only when offered; min of both sides.
        assert_eq!(
            server(&c, "permessage-deflate; client_max_window_bits")
                .unwrap()
                .1,
            neg(true, true, 10, 9)
        );
        assert_eq!(
            server(
                &c,
                "permessage-deflate; client_max_window_bits=8; server_max_window_bits=12"
            )
            .unwrap(),
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits=8"
                    .into(),
                neg(true, true, 10, 8)
            )
        );
        assert_eq!(
            server(&c, "permessage-deflate; server_max_window_bits=9")
                .unwrap()
                .1,
            neg(true, true, 9, 15)
        );
    }

    #[test]
    fn server_declines_invalid_offers_and_takes_the_next() {
        let d = DeflateConfig::default();
        let header = "x-foo; a=1, permessage-deflate; unknown, \
                      permessage-deflate; server_max_window_bits=7, \
                      permessage-deflate; server_no_context_takeover; server_no_context_takeover, \
                      permessage-deflate; client_no_context_takeover=1, \
                      permessage-deflate; server_max_window_bits, \
                      permessage-deflate; server_max_window_bits=11, \
                      permessage-deflate";
        assert_eq!(
            server(&d, header),
            Some((
                "permessage-deflate; server_max_window_bits=11".into(),
                neg(false, false, 11, 15)
            ))
        );
        assert_eq!(server(&d, "permessage-deflate; x"), None);
        assert_eq!(server(&d, "x-webkit-deflate-frame"), None);
        assert_eq!(server(&d, "PerMessage-Deflate"), None);
        assert_eq!(server_negotiate(&d, &[]), None);
    }

    #[test]
    fn server_response_is_accepted_by_client_for_all_combinations() {
        let bits = [None, Some(8), Some(9), Some(12), Some(15)];
        let flags = [(false, false), (true, false), (false, true), (true, true)];
        for &(sn, cn) in &flags {
            for &sb in &bits {
                for &cb in &bits {
                    let client = cfg(sn, cn, sb, cb);
                    for &(ssn, scn) in &flags {
                        for &ssb in &bits {
                            for &scb in &bits {
                                let srv = cfg(ssn, scn, ssb, scb);
                                let (resp, s) =
                                    server_negotiate(&srv, &offers(&client_offer(&client)))
                                        .expect("every valid offer is accepted");
                                let c = client_accept_response(&client, &offers(&resp)[0].params)
                                    .unwrap_or_else(|e| panic!("{resp}: {e}"));
                                // A server that set up its side later from the answer it sent (a
                                // handshake done by another HTTP stack) agrees with itself.
                                assert_eq!(server_agreed(&srv, &offers(&resp)), Some(s), "{resp}");
                                assert_eq!(
                                    (c.server_no_context_takeover, c.server_max_window_bits),
                                    (s.server_no_context_takeover, s.server_max_window_bits)
                                );
                                // The client may be stricter with itself than
                                // the server assumes, never looser.
                                assert!(c.client_max_window_bits <= s.client_max_window_bits);
                                assert!(
                                    c.client_no_context_takeover >= s.client_no_context_takeover
                                );
                                // Both sides honour their configured limits.
                                if let Some(b) = ssb {
                                    assert!(s.server_max_window_bits <= b);
                                }
                                if let Some(b) = scb {
                                    assert!(s.client_max_window_bits <= b);
                                }
                                if let Some(b) = sb {
                                    assert!(c.server_max_window_bits <= b);
                                }
                                if let Some(b) = cb {
                                    assert!(c.client_max_window_bits <= b);
                                }
                                assert!(!sn || c.server_no_context_takeover);
                                assert!(!ssn || s.server_no_context_takeover);
                                assert!(!scn || c.client_no_context_takeover);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn role_views() {
        let n = neg(true, false, 9, 12);
        assert_eq!(
            n.compressor_params(true),
            CodecParams {
                no_context_takeover: true,
                max_window_bits: 9
            }
        );
        assert_eq!(n.decompressor_params(false), n.compressor_params(true));
        assert_eq!(
            n.compressor_params(false),
            CodecParams {
                no_context_takeover: false,
                max_window_bits: 12
            }
        );
        assert_eq!(n.decompressor_params(true), n.compressor_params(false));
    }

    #[test]
    fn server_agreed_takes_one_valid_permessage_deflate_element_only() {
        let config = DeflateConfig::default();
        for bad in [
            "x-other",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; colour=blue",
            "permessage-deflate, permessage-deflate",
        ] {
            assert_eq!(server_agreed(&config, &offers(bad)), None, "{bad}");
        }
        let n = server_agreed(
            &config,
            &offers("permessage-deflate; server_max_window_bits=9"),
        )
        .unwrap();
        assert_eq!(
            (n.server_max_window_bits, n.client_max_window_bits),
            (9, 15)
        );
    }
}
