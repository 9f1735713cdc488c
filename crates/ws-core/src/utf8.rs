//! UTF-8: the validated text wrapper (and, internally, the incremental validator).
//!
//! Text arrives in pieces: frames of a fragmented message, reads that cut a frame, inflated chunks. The
//! core's incremental validator checks each piece as it comes, keeping at most three bytes of an unfinished code point,
//! and fails at the first byte that can start no valid sequence (Autobahn 6.4.x "fail fast"). The bulk work
//! is done by `simdutf8`.

use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// Text known to be valid UTF-8, sharing its bytes with the buffer it was cut from.
///
/// ```
/// use ws_core::Utf8Bytes;
/// let t = Utf8Bytes::from("héllo");
/// assert_eq!(t.as_str(), "héllo");
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

/// The error of [`Utf8Bytes::try_from`]: the bytes are not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl Utf8Bytes {
    /// Wraps bytes the caller has already validated. Crate-internal: the public way in is `TryFrom`.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The bytes were validated on construction; re-checking keeps the crate free of `unsafe` and costs a
        // SIMD pass. `expect` cannot fire: no code path builds a `Utf8Bytes` from unchecked bytes.
        simdutf8::basic::from_utf8(&self.0).expect("Utf8Bytes holds validated UTF-8")
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text as shared bytes.
    pub(crate) fn shared(&self) -> &Bytes {
        &self.0
    }

    /// The underlying shared buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = InvalidUtf8;
    fn try_from(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        simdutf8::basic::from_utf8(&bytes).map_err(|_| InvalidUtf8)?;
        Ok(Utf8Bytes(bytes))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<alloc::string::String> for Utf8Bytes {
    fn from(s: alloc::string::String) -> Self {
        Utf8Bytes(Bytes::from(s.into_bytes()))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(t: Utf8Bytes) -> Bytes {
        t.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

mod validator;
#[cfg(feature = "internals")]
pub use validator::Utf8Validator;
#[cfg(not(feature = "internals"))]
pub(crate) use validator::Utf8Validator;
