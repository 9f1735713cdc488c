//! The extension seam: how an extension such as permessage-deflate (RFC 7692) plugs into the state machine.
//!
//! An [`ExtensionFactory`] in [`crate::Config::extensions`] negotiates during the handshake and, when the
//! peer agrees, yields an [`Extension`] that owns the RSV1 bit and transforms message payloads: outgoing
//! messages are encoded before framing, incoming frames with RSV1 set are decoded as they arrive, with the
//! message-size limit enforced on the decoded bytes.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::BytesMut;

/// An extension agreed in a handshake: the Sec-WebSocket-Extensions response value and the active
/// extension.
pub(crate) type Agreed = (String, Box<dyn Extension>);

/// Why an extension could not decode a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The decoded message would exceed the limit passed in (close code 1009).
    TooBig,
    /// The data is not valid for the extension (close code 1002).
    Invalid,
}

/// A negotiated extension, active on one connection.
pub trait Extension: Send {
    /// The RSV bits (as in the first header byte, e.g. `0x40` for RSV1) this extension sets on the
    /// first frame of a message it encoded.
    fn rsv_bits(&self) -> u8;

    /// Whether to encode an outgoing message. `len` is the message length when the whole message is known,
    /// `None` for a message sent fragment by fragment.
    fn should_encode(&self, len: Option<usize>) -> bool;

    /// Encodes the next piece of an outgoing message into `out`; `fin` marks its last piece.
    fn encode(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>);

    /// Decodes the next piece of an incoming encoded message, appending to `out`; `fin` marks its last piece.
    /// Fails with [`DecodeError::TooBig`] before `out` would grow past `max_len` bytes in total.
    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), DecodeError>;

    /// Whether one encoding of a whole message can serve many connections: `Some(key)` when encoding a
    /// whole message (one [`Extension::encode`] call with `fin`) neither depends on nor changes this
    /// extension's state, and every extension that returns the same key encodes a message into the same
    /// bytes (permessage-deflate with no context takeover on the sending side: the key names its window
    /// and level). [`crate::PreparedMessage`] then encodes once per message and key and shares the
    /// result. Default `None`: every connection encodes for itself.
    fn shared_encoding_key(&self) -> Option<u64> {
        None
    }

    /// Lends the room encoded payloads are built in (emptied by the caller), kept between messages so
    /// that each does not allocate its own. Default: a new, empty `Vec`.
    fn take_room(&mut self) -> Vec<u8> {
        Vec::new()
    }

    /// Gives back the room lent by [`Extension::take_room`]. Default: drops it.
    fn give_room(&mut self, room: Vec<u8>) {
        drop(room);
    }

    /// Moves the encoding half out into an extension of its own, for a [`crate::Sender`] that sends
    /// while this one goes on decoding (see [`crate::Connection::split_sender`]). Afterwards this one
    /// only decodes (`should_encode` is `false`), and the one returned only encodes. `None` (the
    /// default) if the extension cannot be split; connections using it then cannot be split either.
    fn split_encoder(&mut self) -> Option<Box<dyn Extension>> {
        None
    }
}

/// Negotiates an extension during the opening handshake.
pub trait ExtensionFactory: Send + Sync {
    /// The extension token, e.g. `permessage-deflate`.
    fn name(&self) -> &str;

    /// Client: the Sec-WebSocket-Extensions value to offer.
    fn client_offer(&self) -> String;

    /// Client: checks the server's Sec-WebSocket-Extensions values (all of them; none when absent).
    /// `Ok(None)`: the server declined. `Err(())`: the response is invalid and the connection must fail.
    #[allow(clippy::result_unit_err)]
    fn client_accept(&self, response: &[&[u8]]) -> Result<Option<Box<dyn Extension>>, ()>;

    /// Server: picks from the client's offers (all Sec-WebSocket-Extensions values). Returns the response
    /// value and the active extension, or `None` to decline.
    fn server_accept(&self, offers: &[&[u8]]) -> Option<(String, Box<dyn Extension>)>;

    /// Server: the active extension for `response`, a Sec-WebSocket-Extensions value this factory's
    /// [`ExtensionFactory::server_accept`] returned in an earlier step, or one another HTTP stack agreed to
    /// (see [`crate::Connection::open`]). It must behave as the extension `server_accept` returned with
    /// that value. `None` when the value is not one this factory could have answered. The default returns
    /// `None`: such an extension cannot start on a connection opened elsewhere.
    fn server_agreed(&self, response: &[u8]) -> Option<Box<dyn Extension>> {
        let _ = response;
        None
    }
}
