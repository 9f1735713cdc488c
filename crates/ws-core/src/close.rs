//! Close codes and close frames (RFC 6455 sections 5.5.1 and 7.4).

use crate::utf8::Utf8Bytes;

/// A close status code.
///
/// ```
/// use ws_core::CloseCode;
/// assert!(CloseCode::NORMAL.is_sendable());
/// assert!(!CloseCode(1005).is_sendable()); // reserved for "no status received"
/// assert!(CloseCode(4000).is_sendable()); // private use
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (never sent on the wire).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed without a close frame (never sent on the wire).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data inconsistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: internal error (also used for a keepalive ping that got no pong).
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// Whether this code may appear in a close frame on the wire: 1000-1003, 1007-1011 and 3000-4999.
    /// 1004-1006, 1012-2999 (including 1015) and anything outside 1000-4999 are invalid.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

/// The payload of a close frame: a code and a UTF-8 reason of at most 123 bytes. Exhaustive: that is all
/// RFC 6455 (section 5.5.1) puts in a close frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason; may be empty.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// The longest reason that fits a control frame (125 bytes minus the 2-byte code).
    pub const MAX_REASON_LEN: usize = 123;

    /// A close frame with `code` and `reason`.
    pub fn new(code: CloseCode, reason: &str) -> Self {
        CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        }
    }
}
