//! Parsing of `Sec-WebSocket-Extensions` header values (RFC 6455 section 9.1).
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-token = registered-token = token
//! extension-param = token [ "=" (token | quoted-string) ]
//!     ; a quoted-string value, once unescaped, MUST conform to `token`
//! ```
//!
//! Whitespace (SP / HTAB) is allowed around `,`, `;` and `=` (the implied
//! `*LWS` of RFC 2616), and empty list elements (`a, , b`) are skipped as RFC
//! 7230 section 7 requires of recipients. Anything else that does not match the
//! grammar is an error. Names are kept exactly as received (case preserved);
//! this module compares them case-sensitively.

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

/// One `extension-param`: a name and an optional value (the value is already
/// unquoted and unescaped if it was sent as a quoted-string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam {
    /// Parameter name (a `token`).
    pub name: String,
    /// Parameter value (a `token`), or `None` when the parameter has no `=`.
    pub value: Option<String>,
}

/// One element of an extension list: an extension name and its parameters in
/// the order received. In a client request each element is an *offer*; in a
/// server response it is an accepted extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension name (a `token`), e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in the order received (duplicates are kept; whether they
    /// are allowed is up to the extension).
    pub params: Vec<ExtensionParam>,
}

/// What went wrong while parsing a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderParseErrorKind {
    /// An extension name or parameter name/value token was expected.
    ExpectedToken,
    /// A character that is not allowed at this position.
    UnexpectedCharacter,
    /// A quoted-string without its closing `"`.
    UnterminatedQuotedString,
    /// A quoted-string whose unescaped content is not a `token`.
    QuotedValueNotToken,
}

/// A `Sec-WebSocket-Extensions` value that does not match the RFC 6455
/// section 9.1 grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderParseError {
    /// Index of the offending value in the list passed to [`parse_extensions`].
    pub value_index: usize,
    /// Byte offset of the problem inside that value.
    pub offset: usize,
    /// What was wrong.
    pub kind: HeaderParseErrorKind,
}

impl fmt::Display for HeaderParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            HeaderParseErrorKind::ExpectedToken => "expected a token",
            HeaderParseErrorKind::UnexpectedCharacter => "unexpected character",
            HeaderParseErrorKind::UnterminatedQuotedString => "unterminated quoted-string",
            HeaderParseErrorKind::QuotedValueNotToken => "quoted value is not a token",
        };
        write!(
            f,
            "invalid Sec-WebSocket-Extensions value #{} at byte {}: {what}",
            self.value_index, self.offset
        )
    }
}

impl std::error::Error for HeaderParseError {}

/// Parses one or more `Sec-WebSocket-Extensions` header values.
///
/// Pass every header line of the message, in order: several lines are
/// equivalent to one line joined with `,`. Returns the extension elements in
/// order (possibly none, e.g. for an empty value).
///
/// Values are taken as bytes so that `&str`, `String` and HTTP header-value
/// types all work; non-ASCII bytes are only valid inside quoted-strings (and
/// even there they make the value fail the `token` rule).
pub fn parse_extensions<I, V>(values: I) -> Result<Vec<Extension>, HeaderParseError>
where
    I: IntoIterator<Item = V>,
    V: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for (value_index, value) in values.into_iter().enumerate() {
        let mut parser = Parser {
            s: value.as_ref(),
            pos: 0,
        };
        parser
            .list(&mut out)
            .map_err(|(offset, kind)| HeaderParseError {
                value_index,
                offset,
                kind,
            })?;
    }
    Ok(out)
}

/// `tchar` of RFC 7230 section 3.2.6.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

type PResult<T> = Result<T, (usize, HeaderParseErrorKind)>;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn err<T>(&self, kind: HeaderParseErrorKind) -> PResult<T> {
        Err((self.pos, kind))
    }

    fn token(&mut self) -> PResult<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if start == self.pos {
            return self.err(HeaderParseErrorKind::ExpectedToken);
        }
        // tchar is ASCII, so this is valid UTF-8.
        Ok(self.s[start..self.pos].iter().map(|&b| b as char).collect())
    }

    fn quoted(&mut self) -> PResult<String> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.pos += 1;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err((start, HeaderParseErrorKind::UnterminatedQuotedString)),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    match self.s.get(self.pos + 1).copied() {
                        Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                            value.push(c);
                            self.pos += 2;
                        }
                        Some(_) => {
                            self.pos += 1;
                            return self.err(HeaderParseErrorKind::UnexpectedCharacter);
                        }
                        None => {
                            return Err((start, HeaderParseErrorKind::UnterminatedQuotedString));
                        }
                    }
                }
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                    value.push(c);
                    self.pos += 1;
                }
                Some(_) => return self.err(HeaderParseErrorKind::UnexpectedCharacter),
            }
        }
        if value.is_empty() || !value.iter().copied().all(is_tchar) {
            return Err((start, HeaderParseErrorKind::QuotedValueNotToken));
        }
        Ok(value.into_iter().map(|b| b as char).collect())
    }

    fn list(&mut self, out: &mut Vec<Extension>) -> PResult<()> {
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => {
                    // Empty list element.
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name = self.token()?;
            let mut params = Vec::new();
            loop {
                self.skip_ows();
                match self.peek() {
                    None => {
                        out.push(Extension { name, params });
                        return Ok(());
                    }
                    Some(b',') => {
                        self.pos += 1;
                        out.push(Extension { name, params });
                        break;
                    }
                    Some(b';') => {
                        self.pos += 1;
                        self.skip_ows();
                        let pname = self.token()?;
                        self.skip_ows();
                        let value = if self.peek() == Some(b'=') {
                            self.pos += 1;
                            self.skip_ows();
                            Some(if self.peek() == Some(b'"') {
                                self.quoted()?
                            } else {
                                self.token()?
                            })
                        } else {
                            None
                        };
                        params.push(ExtensionParam { name: pname, value });
                    }
                    Some(_) => return self.err(HeaderParseErrorKind::UnexpectedCharacter),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: Option<&str>) -> ExtensionParam {
        ExtensionParam {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    fn parse1(s: &str) -> Result<Vec<Extension>, HeaderParseError> {
        parse_extensions([s])
    }

    #[test]
    fn simple_and_params() {
        let v = parse1("permessage-deflate; client_max_window_bits; server_max_window_bits=10")
            .unwrap();
        assert_eq!(
            v,
            vec![Extension {
                name: "permessage-deflate".into(),
                params: vec![
                    p("client_max_window_bits", None),
                    p("server_max_window_bits", Some("10"))
                ],
            }]
        );
    }

    #[test]
    fn whitespace_everywhere() {
        let v =
            parse1(" \tpermessage-deflate \t; \tserver_max_window_bits \t= \t10 \t, x-foo ;a=b\t")
                .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].params, vec![p("server_max_window_bits", Some("10"))]);
        assert_eq!(v[1].name, "x-foo");
        assert_eq!(v[1].params, vec![p("a", Some("b"))]);
    }

    #[test]
    fn quoted_values() {
        let v = parse1(r#"permessage-deflate; server_max_window_bits="10"; x="a\b""#).unwrap();
        assert_eq!(
            v[0].params,
            vec![p("server_max_window_bits", Some("10")), p("x", Some("ab"))]
        );
        // Unescaped content must be a token.
        for bad in [
            r#"e; x="""#,
            r#"e; x="a b""#,
            r#"e; x="a,b""#,
            r#"e; x="a\"""#,
            r#"e; x="a;b""#,
        ] {
            let err = parse1(bad).unwrap_err();
            assert_eq!(err.kind, HeaderParseErrorKind::QuotedValueNotToken, "{bad}");
        }
        assert_eq!(
            parse1(r#"e; x="10"#).unwrap_err().kind,
            HeaderParseErrorKind::UnterminatedQuotedString
        );
        assert_eq!(
            parse1(r#"e; x="10\"#).unwrap_err().kind,
            HeaderParseErrorKind::UnterminatedQuotedString
        );
        // Quoted names are not allowed, only values.
        assert!(parse1(r#"e; "x"=1"#).is_err());
        assert!(parse1(r#""e""#).is_err());
    }

    #[test]
    fn multiple_values_and_empty_elements() {
        let v = parse_extensions(["a, ,b;x", "", " , c"]).unwrap();
        let names: Vec<_> = v.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(parse_extensions(["", " "]).unwrap().is_empty());
        assert!(parse_extensions(Vec::<String>::new()).unwrap().is_empty());
    }

    #[test]
    fn duplicates_are_kept_for_the_extension_to_judge() {
        let v = parse1("e; a; a=1, e").unwrap();
        assert_eq!(v[0].params, vec![p("a", None), p("a", Some("1"))]);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn syntax_errors() {
        let cases = [
            ("e;", HeaderParseErrorKind::ExpectedToken, 2),
            ("e; ", HeaderParseErrorKind::ExpectedToken, 3),
            ("e;=1", HeaderParseErrorKind::ExpectedToken, 2),
            ("e; a=", HeaderParseErrorKind::ExpectedToken, 5),
            ("e; a==1", HeaderParseErrorKind::ExpectedToken, 5),
            ("e; a=1=2", HeaderParseErrorKind::UnexpectedCharacter, 6),
            ("e a", HeaderParseErrorKind::UnexpectedCharacter, 2),
            ("e; a b", HeaderParseErrorKind::UnexpectedCharacter, 5),
            (";a", HeaderParseErrorKind::ExpectedToken, 0),
            ("e;;a", HeaderParseErrorKind::ExpectedToken, 2),
            ("e; a=1 2", HeaderParseErrorKind::UnexpectedCharacter, 7),
            ("e/1", HeaderParseErrorKind::UnexpectedCharacter, 1),
            ("é", HeaderParseErrorKind::ExpectedToken, 0),
            ("e\r\n", HeaderParseErrorKind::UnexpectedCharacter, 1),
            (
                "e; x=\"a\u{1}\"",
                HeaderParseErrorKind::UnexpectedCharacter,
                7,
            ),
        ];
        for (input, kind, offset) in cases {
            let err = parse1(input).unwrap_err();
            assert_eq!((err.kind, err.offset), (kind, offset), "{input:?}");
            assert_eq!(err.value_index, 0);
        }
        let err = parse_extensions(["a", "b c"]).unwrap_err();
        assert_eq!(err.value_index, 1);
        assert!(err.to_string().contains("#1 at byte 2"));
    }
}
