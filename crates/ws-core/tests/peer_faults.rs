//! Layer 2 of the tests (docs/architecture.md, "Tests, in layers"): hand-written faulty input fed to a
//! server and to a client.
//!
//! For every rule the checks are the same: the right close code (or HTTP status) is in the output bytes,
//! exactly one terminal event is emitted, later input is ignored, and `poll_shutdown()` is true.

mod common;

use bytes::Buf;
use common::*;
use ws_core::{
    CloseCode, CloseFrame, Config, Connection, Error, Event, HandshakeError, Instant, Limit,
    Limits, Message, ProtocolError, SendError, State,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Faults fed to a server (so frames are masked unless the test says otherwise).
    Server,
    /// Faults fed to a client (frames unmasked).
    Client,
}

const BOTH: [Side; 2] = [Side::Server, Side::Client];

impl Side {
    fn open(self, config: Config) -> Connection {
        match self {
            Side::Server => open_server(config),
            Side::Client => open_client(config),
        }
    }

    /// A frame as this side's peer sends it (masked towards a server).
    fn frame(self, b0: u8, payload: &[u8]) -> Vec<u8> {
        match self {
            Side::Server => client_frame(b0, payload),
            Side::Client => server_frame(b0, payload),
        }
    }

    /// A frame header as this side's peer sends it, with a declared length and no payload.
    fn header(self, b0: u8, len: u64) -> Vec<u8> {
        header(b0, len, (self == Side::Server).then_some(KEY))
    }
}

fn limits(f: impl FnOnce(&mut Limits)) -> Config {
    let mut config = quiet_config();
    f(&mut config.limits);
    config
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Feeds `input` to a freshly opened `side` (whole, then one byte at a time) and checks the failure.
#[track_caller]
fn check_fault(side: Side, config: &Config, input: &[u8], expected: Error) {
    check_fault_with(side, config, input, expected.clone(), |conn| {
        side.open(conn.clone())
    });
}

#[track_caller]
fn check_fault_with(
    side: Side,
    config: &Config,
    input: &[u8],
    expected: Error,
    open: impl Fn(&Config) -> Connection,
) {
    let code = expected.close_code().0;
    for chunk in [input.len().max(1), 1] {
        let mut conn = open(config);
        for piece in input.chunks(chunk) {
            conn.receive(piece, Instant::ZERO);
        }
        let context = format!("{side:?}, chunk {chunk}, input {input:02x?}");
        let events = drain(&mut conn);
        assert_eq!(
            single_terminal(&events),
            &Event::Failed(expected.clone()),
            "{context}"
        );
        assert_eq!(conn.state(), State::Closed, "{context}");

        // The close frame with the right code is the last thing on the wire, and the only close frame.
        let out = take_output(&mut conn);
        let frames = parse_frames(&out);
        let closes: Vec<&WireFrame> = frames.iter().filter(|f| f.opcode == OP_CLOSE).collect();
        assert_eq!(closes.len(), 1, "{context}: {frames:?}");
        let close = frames.last().unwrap();
        assert_eq!(close.opcode, OP_CLOSE, "{context}");
        assert_eq!(close.close_code(), Some(code), "{context}");
        assert!(close.payload.len() <= 125);
        assert_eq!(close.masked, side == Side::Client, "{context}");
        assert!(std::str::from_utf8(&close.payload[2..]).is_ok());

        // Later input is ignored: no event, no reply (not even to a ping).
        conn.receive(&side.frame(0x81, b"late"), Instant::ZERO);
        conn.receive(&side.frame(0x89, b"ping"), Instant::ZERO);
        conn.receive(&side.frame(0x88, &close_payload(1000, b"")), Instant::ZERO);
        conn.receive_eof(Instant::ZERO);
        assert!(conn.poll_event().is_none(), "{context}");
        assert!(!conn.output().has_remaining(), "{context}");
        assert!(conn.poll_shutdown(), "{context}");
        assert!(!conn.poll_shutdown(), "{context}: once");
        assert_eq!(conn.send(&Message::from("x")), Err(SendError::Closed));
        assert!(conn.is_finished(), "{context}");
    }
}

fn protocol(e: ProtocolError) -> Error {
    Error::Protocol(e)
}

// ----- section 5.2: base framing -----

#[test]
fn rfc6455_5_2_reserved_opcodes_fail_with_1002() {
    for side in BOTH {
        for op in [0x3u8, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            check_fault(
                side,
                &quiet_config(),
                &side.frame(0x80 | op, b"x"),
                protocol(ProtocolError::ReservedOpcode(op)),
            );
        }
    }
}

#[test]
fn rfc6455_5_2_rsv_bits_without_an_extension_fail_with_1002() {
    for side in BOTH {
        for rsv in [0x40u8, 0x20, 0x10, 0x70] {
            for op in [0x1u8, 0x2, 0x9] {
                check_fault(
                    side,
                    &quiet_config(),
                    &side.frame(0x80 | rsv | op, b"abc"),
                    protocol(ProtocolError::ReservedBits),
                );
            }
        }
    }
}

#[test]
fn rfc6455_5_1_server_fails_on_an_unmasked_client_frame() {
    for b0 in [0x81u8, 0x82, 0x89, 0x88] {
        check_fault(
            Side::Server,
            &quiet_config(),
            &server_frame(b0, b""),
            protocol(ProtocolError::UnmaskedFrame),
        );
    }
}

#[test]
fn rfc6455_5_1_client_fails_on_a_masked_server_frame() {
    for b0 in [0x81u8, 0x82, 0x89, 0x8a] {
        check_fault(
            Side::Client,
            &quiet_config(),
            &client_frame(b0, b"hi"),
            protocol(ProtocolError::MaskedFrame),
        );
    }
}

#[test]
fn rfc6455_5_2_length_must_be_minimal_and_64_bit_top_bit_clear() {
    for side in BOTH {
        let mask_bit = if side == Side::Server { 0x80 } else { 0 };
        let mut non_minimal = vec![0x82, mask_bit | 126, 0, 5];
        if side == Side::Server {
            non_minimal.extend_from_slice(&KEY);
        }
        check_fault(
            side,
            &quiet_config(),
            &non_minimal,
            protocol(ProtocolError::NonMinimalLength),
        );
        let mut top_bit = vec![0x82, mask_bit | 127];
        top_bit.extend_from_slice(&(1u64 << 63).to_be_bytes());
        check_fault(
            side,
            &quiet_config(),
            &top_bit,
            protocol(ProtocolError::LengthTopBitSet),
        );
    }
}

// ----- section 5.4 and 5.5: fragmentation and control frames -----

#[test]
fn rfc6455_5_5_fragmented_control_frames_fail_with_1002() {
    for side in BOTH {
        for op in [0x8u8, 0x9, 0xa] {
            check_fault(
                side,
                &quiet_config(),
                &side.frame(op, b""),
                protocol(ProtocolError::FragmentedControlFrame),
            );
        }
    }
}

#[test]
fn rfc6455_5_5_control_frames_over_125_bytes_fail_on_the_header_alone() {
    for side in BOTH {
        for op in [0x88u8, 0x89, 0x8a] {
            check_fault(
                side,
                &quiet_config(),
                &side.header(op, 126),
                protocol(ProtocolError::ControlFrameTooLong),
            );
        }
    }
}

#[test]
fn rfc6455_5_4_continuation_without_a_message_in_progress_fails() {
    for side in BOTH {
        for b0 in [0x80u8, 0x00] {
            check_fault(
                side,
                &quiet_config(),
                &side.frame(b0, b"x"),
                protocol(ProtocolError::UnexpectedContinuation),
            );
        }
        // Also after a complete message.
        let input = cat(&[&side.frame(0x81, b"done"), &side.frame(0x80, b"x")]);
        check_fault(
            side,
            &quiet_config(),
            &input,
            protocol(ProtocolError::UnexpectedContinuation),
        );
    }
}

#[test]
fn rfc6455_5_4_new_data_frame_inside_a_fragmented_message_fails() {
    for side in BOTH {
        for (first, second) in [(0x01u8, 0x81u8), (0x02, 0x82), (0x01, 0x02), (0x02, 0x01)] {
            let input = cat(&[
                &side.frame(first, b"part"),
                &side.frame(0x89, b"interleaved ping is fine"),
                &side.frame(second, b"new"),
            ]);
            check_fault(
                side,
                &quiet_config(),
                &input,
                protocol(ProtocolError::ExpectedContinuation),
            );
        }
    }
}

#[test]
fn rfc6455_5_5_2_ping_before_a_fault_is_answered_before_the_close() {
    let side = Side::Server;
    let mut conn = side.open(quiet_config());
    conn.receive(
        &cat(&[&side.frame(0x89, b"first"), &side.frame(0x83, b"")]),
        Instant::ZERO,
    );
    let events = drain(&mut conn);
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], Event::Ping(p) if p.as_ref() == b"first"));
    let frames = parse_frames(&take_output(&mut conn));
    assert_eq!(
        frames.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        [OP_PONG, OP_CLOSE]
    );
    assert_eq!(frames[1].close_code(), Some(1002));
}

// ----- section 5.5.1 and 7.4: close frames -----

#[test]
fn rfc6455_5_5_1_close_payload_of_one_byte_fails() {
    for side in BOTH {
        check_fault(
            side,
            &quiet_config(),
            &side.frame(0x88, &[0x03]),
            protocol(ProtocolError::CloseFrameTooShort),
        );
    }
}

#[test]
fn rfc6455_7_4_invalid_close_codes_fail_with_1002() {
    for side in BOTH {
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            check_fault(
                side,
                &quiet_config(),
                &side.frame(0x88, &close_payload(code, b"")),
                protocol(ProtocolError::InvalidCloseCode(code)),
            );
        }
    }
}

#[test]
fn rfc6455_7_4_valid_close_codes_are_accepted_and_echoed() {
    for side in BOTH {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            let mut conn = side.open(quiet_config());
            conn.receive(
                &side.frame(0x88, &close_payload(code, "réason".as_bytes())),
                Instant::ZERO,
            );
            let events = drain(&mut conn);
            assert_eq!(
                events,
                [Event::Closed(Some(CloseFrame::new(
                    CloseCode(code),
                    "réason"
                )))],
                "{side:?} {code}"
            );
            let echo = parse_frames(&take_output(&mut conn));
            assert_eq!(echo.len(), 1);
            assert_eq!(echo[0].close_code(), Some(code));
            assert_eq!(conn.poll_shutdown(), side == Side::Server, "{side:?}");
            conn.receive(&side.frame(0x81, b"late"), Instant::ZERO);
            assert!(conn.poll_event().is_none());
            assert!(!conn.output().has_remaining());
        }
    }
}

#[test]
fn rfc6455_7_1_6_close_reason_that_is_not_utf8_fails_with_1007() {
    for side in BOTH {
        for reason in [&[0xffu8][..], &[0xce], &[b'o', b'k', 0xed, 0xa0, 0x80]] {
            check_fault(
                side,
                &quiet_config(),
                &side.frame(0x88, &close_payload(1000, reason)),
                Error::InvalidUtf8,
            );
        }
    }
}

#[test]
fn rfc6455_7_1_7_fault_after_our_close_sends_no_second_close() {
    for side in BOTH {
        let mut conn = side.open(quiet_config());
        conn.close(CloseCode::NORMAL, "", Instant::ZERO).unwrap();
        let ours = take_output(&mut conn);
        conn.receive(&side.frame(0x83, b""), Instant::ZERO);
        assert_eq!(
            drain(&mut conn),
            [Event::Failed(protocol(ProtocolError::ReservedOpcode(3)))]
        );
        assert!(
            !conn.output().has_remaining(),
            "our close frame was already sent"
        );
        assert_eq!(parse_frames(&ours).len(), 1);
        assert!(conn.poll_shutdown());
    }
}

// ----- section 8.1: UTF-8 in text messages -----

#[test]
fn rfc6455_8_1_invalid_utf8_in_a_single_text_frame_fails_with_1007() {
    for side in BOTH {
        for payload in [
            &[0xffu8][..],
            b"hello \xc0\x80",   // overlong
            b"\xed\xa0\x80",     // surrogate
            b"\xf4\x90\x80\x80", // beyond U+10FFFF
            b"ok \xce",          // truncated at the end of the message
            b"\x80 stray continuation",
        ] {
            check_fault(
                side,
                &quiet_config(),
                &side.frame(0x81, payload),
                Error::InvalidUtf8,
            );
        }
    }
}

#[test]
fn rfc6455_8_1_invalid_utf8_across_fragments_fails_with_1007() {
    for side in BOTH {
        let kappa = "κ".as_bytes();
        // A character cut by the fragment boundary, continued by a byte that can not continue it.
        let input = cat(&[
            &side.frame(0x01, &kappa[..1]),
            &side.frame(0x89, b"ping between fragments"),
            &side.frame(0x80, b"A"),
        ]);
        check_fault(side, &quiet_config(), &input, Error::InvalidUtf8);
        // A message that ends in the middle of a character.
        let input = cat(&[&side.frame(0x01, b"abc"), &side.frame(0x80, &kappa[..1])]);
        check_fault(side, &quiet_config(), &input, Error::InvalidUtf8);
        // An invalid byte in a later fragment.
        let input = cat(&[
            &side.frame(0x01, b"valid "),
            &side.frame(0x00, b"still valid "),
            &side.frame(0x80, b"\xff"),
        ]);
        check_fault(side, &quiet_config(), &input, Error::InvalidUtf8);
    }
}

#[test]
fn rfc6455_8_1_valid_utf8_split_across_fragments_and_reads_is_accepted() {
    for side in BOTH {
        let text = "κόσμε 🎉 ünïcödé";
        let bytes = text.as_bytes();
        for cut in 1..bytes.len() {
            let input = cat(&[
                &side.frame(0x01, &bytes[..cut]),
                &side.frame(0x80, &bytes[cut..]),
            ]);
            let mut conn = side.open(quiet_config());
            for b in &input {
                conn.receive(std::slice::from_ref(b), Instant::ZERO);
            }
            assert_eq!(
                messages(&drain(&mut conn)),
                [ws_core::Message::from(text)],
                "{side:?} cut {cut}"
            );
        }
    }
}

#[test]
fn rfc6455_8_1_invalid_utf8_fails_fast_before_the_frame_is_complete() {
    for side in BOTH {
        // Autobahn 6.4.x: the frame declares 100 bytes; the 10 that arrive already can not be UTF-8.
        let mut input = side.header(0x81, 100);
        let mut payload = "κόσμε".as_bytes().to_vec(); // 10 bytes
        payload.extend_from_slice(&[0xf4, 0x90]); // can start no code point
        let mut masked = payload.clone();
        if side == Side::Server {
            ws_testkit::wire::apply_mask(&mut masked, KEY, 0);
        }
        input.extend_from_slice(&masked);
        check_fault(side, &quiet_config(), &input, Error::InvalidUtf8);

        // The close is queued as soon as the bad byte arrives, not one byte later.
        let mut conn = side.open(quiet_config());
        let header_len = side.header(0x81, 100).len();
        conn.receive(&input[..header_len + payload.len() - 1], Instant::ZERO);
        assert!(conn.poll_event().is_none(), "0xf4 alone may still be valid");
        assert!(!conn.output().has_remaining());
        conn.receive(&input[header_len + payload.len() - 1..], Instant::ZERO);
        assert_eq!(drain(&mut conn), [Event::Failed(Error::InvalidUtf8)]);
        assert_eq!(
            parse_frames(conn.output().chunk())[0].close_code(),
            Some(1007)
        );

        // The same inside a continuation frame of a fragmented message.
        let mut conn = side.open(quiet_config());
        conn.receive(&side.frame(0x01, b"start "), Instant::ZERO);
        conn.receive(&side.header(0x80, 50), Instant::ZERO);
        let bad = if side == Side::Server {
            vec![b'x' ^ KEY[0], 0xff ^ KEY[1]]
        } else {
            vec![b'x', 0xff]
        };
        conn.receive(&bad, Instant::ZERO);
        assert_eq!(drain(&mut conn), [Event::Failed(Error::InvalidUtf8)]);
        assert_eq!(
            parse_frames(conn.output().chunk())[0].close_code(),
            Some(1007)
        );
    }
}

#[test]
fn rfc6455_8_1_binary_messages_are_not_checked_for_utf8() {
    for side in BOTH {
        let mut conn = side.open(quiet_config());
        conn.receive(&side.frame(0x82, b"\xff\xfe\xc0\x80"), Instant::ZERO);
        assert_eq!(
            messages(&drain(&mut conn)),
            [ws_core::Message::from(b"\xff\xfe\xc0\x80".to_vec())]
        );
    }
}

// ----- limits: 1009 -----

#[test]
fn rfc6455_7_4_1_message_over_max_message_size_fails_on_the_declared_length() {
    let config = limits(|l| l.max_message_size = 100);
    for side in BOTH {
        // Just the header: no payload is needed to know.
        check_fault(
            side,
            &config,
            &side.header(0x82, 101),
            Error::LimitExceeded(Limit::MessageSize),
        );
        check_fault(
            side,
            &config,
            &side.header(0x81, 70_000),
            Error::LimitExceeded(Limit::MessageSize),
        );
        // Across fragments: 60 bytes, then a frame declaring 41 more.
        let input = cat(&[&side.frame(0x02, &[0; 60]), &side.header(0x80, 41)]);
        check_fault(
            side,
            &config,
            &input,
            Error::LimitExceeded(Limit::MessageSize),
        );
        // Exactly at the limit is fine.
        let mut conn = side.open(config.clone());
        conn.receive(
            &cat(&[&side.frame(0x02, &[0; 60]), &side.frame(0x80, &[0; 40])]),
            Instant::ZERO,
        );
        assert_eq!(messages(&drain(&mut conn))[0].len(), 100);
    }
}

#[test]
fn rfc6455_7_4_1_frame_over_max_frame_size_fails_on_the_declared_length() {
    let config = limits(|l| l.max_frame_size = 50);
    for side in BOTH {
        check_fault(
            side,
            &config,
            &side.header(0x82, 51),
            Error::LimitExceeded(Limit::FrameSize),
        );
        check_fault(
            side,
            &config,
            &cat(&[&side.frame(0x01, b"a"), &side.header(0x80, 51)]),
            Error::LimitExceeded(Limit::FrameSize),
        );
        // Frames at the limit, in a message above it, are fine.
        let mut conn = side.open(config.clone());
        conn.receive(
            &cat(&[&side.frame(0x02, &[1; 50]), &side.frame(0x80, &[2; 50])]),
            Instant::ZERO,
        );
        assert_eq!(messages(&drain(&mut conn))[0].len(), 100);
    }
    // With the default limits, a 1 TiB frame header alone fails.
    for side in BOTH {
        check_fault(
            side,
            &quiet_config(),
            &side.header(0x82, 1 << 40),
            Error::LimitExceeded(Limit::FrameSize),
        );
    }
}

#[test]
fn rfc6455_7_4_1_too_many_fragments_fails_with_1009() {
    let config = limits(|l| l.max_fragments = 3);
    for side in BOTH {
        let three = cat(&[
            &side.frame(0x01, b"a"),
            &side.frame(0x00, b"b"),
            &side.frame(0x80, b"c"),
        ]);
        let mut conn = side.open(config.clone());
        conn.receive(&three, Instant::ZERO);
        assert_eq!(messages(&drain(&mut conn)), [ws_core::Message::from("abc")]);

        let four = cat(&[
            &side.frame(0x01, b"a"),
            &side.frame(0x00, b"b"),
            &side.frame(0x00, b"c"),
            &side.header(0x80, 1),
        ]);
        check_fault(side, &config, &four, Error::LimitExceeded(Limit::Fragments));
        // Empty fragments count too.
        let empty = cat(&[
            &side.frame(0x02, b""),
            &side.frame(0x00, b""),
            &side.frame(0x00, b""),
            &side.frame(0x00, b""),
        ]);
        check_fault(
            side,
            &config,
            &empty,
            Error::LimitExceeded(Limit::Fragments),
        );
    }
}

// ----- section 4.2.1: the server's handshake checks -----

/// Feeds `request` to a new server (whole, then byte by byte) and checks the HTTP error response.
#[track_caller]
fn check_bad_request(config: &Config, request: &[u8], expected: Error, status: u16) {
    for chunk in [request.len().max(1), 1] {
        let mut server = Connection::server(config.clone(), Instant::ZERO);
        for piece in request.chunks(chunk) {
            server.receive(piece, Instant::ZERO);
        }
        let events = drain(&mut server);
        assert_eq!(
            single_terminal(&events),
            &Event::Failed(expected.clone()),
            "chunk {chunk}"
        );
        assert_eq!(events.len(), 1, "no Request event for a bad request");
        let out = take_output(&mut server);
        let (head, body) = split_head(&out);
        assert_eq!(status_of(head), status, "{head}");
        assert!(head.starts_with("HTTP/1.1 "));
        assert_eq!(
            header_of(head, "content-length"),
            Some(body.len().to_string().as_str())
        );
        assert_eq!(header_of(head, "connection"), Some("close"));
        if status == 426 {
            // RFC 6455 section 4.4, and RFC 7231 section 6.5.15 (a 426 names the protocol).
            assert_eq!(header_of(head, "sec-websocket-version"), Some("13"));
            assert_eq!(header_of(head, "upgrade"), Some("websocket"));
        }
        // Later input is ignored; the server shuts its side.
        server.receive(REQUEST.as_bytes(), Instant::ZERO);
        server.receive_eof(Instant::ZERO);
        assert!(server.poll_event().is_none());
        assert!(!server.output().has_remaining());
        assert!(server.poll_shutdown());
        assert!(!server.poll_shutdown());
        assert_eq!(server.state(), State::Closed);
        assert!(server.is_finished());
    }
}

fn replaced(from: &str, to: &str) -> Vec<u8> {
    assert!(REQUEST.contains(from), "{from}");
    REQUEST.replacen(from, to, 1).into_bytes()
}

#[test]
fn rfc6455_4_2_1_bad_requests_get_400() {
    let cases = [
        (replaced("GET", "POST"), HandshakeError::MethodNotGet),
        (
            replaced("HTTP/1.1", "HTTP/1.0"),
            HandshakeError::UnsupportedHttpVersion,
        ),
        (
            replaced("Host: server.example.com\r\n", ""),
            HandshakeError::InvalidHost,
        ),
        (
            replaced(
                "Host: server.example.com\r\n",
                "Host: a.example\r\nHost: b.example\r\n",
            ),
            HandshakeError::InvalidHost,
        ),
        (
            replaced("Connection: Upgrade", "Connection: keep-alive"),
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            replaced(SAMPLE_KEY, "dGhlIHNhbXBsZQ=="),
            HandshakeError::InvalidKey,
        ),
        (
            replaced(&format!("Sec-WebSocket-Key: {SAMPLE_KEY}\r\n"), ""),
            HandshakeError::InvalidKey,
        ),
        (
            b"this is not HTTP at all\r\n\r\n".to_vec(),
            HandshakeError::Malformed,
        ),
    ];
    for (request, expected) in cases {
        check_bad_request(&quiet_config(), &request, Error::Handshake(expected), 400);
    }
}

#[test]
fn rfc6455_4_2_2_missing_upgrade_or_wrong_version_gets_426_with_version_13() {
    let cases = [
        (
            replaced("Upgrade: websocket", "Upgrade: h2c"),
            HandshakeError::NotWebSocketUpgrade,
        ),
        (
            replaced("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"),
            HandshakeError::UnsupportedWebSocketVersion,
        ),
        (
            replaced("Sec-WebSocket-Version: 13\r\n", ""),
            HandshakeError::UnsupportedWebSocketVersion,
        ),
    ];
    for (request, expected) in cases {
        check_bad_request(&quiet_config(), &request, Error::Handshake(expected), 426);
    }
}

#[test]
fn rfc6455_4_2_1_oversize_http_head_gets_431() {
    let config = limits(|l| l.max_head_bytes = 256);
    // A complete head that is too big.
    let big = replaced(
        "Upgrade:",
        &format!("X-Filler: {}\r\nUpgrade:", "f".repeat(200)),
    );
    check_bad_request(&config, &big, Error::LimitExceeded(Limit::HeadBytes), 431);
    // A head that never ends fails as soon as it passes the limit.
    let endless = vec![b'a'; 257];
    check_bad_request(
        &config,
        &endless,
        Error::LimitExceeded(Limit::HeadBytes),
        431,
    );
    let mut server = Connection::server(config.clone(), Instant::ZERO);
    server.receive(&[b'a'; 256], Instant::ZERO);
    assert!(server.poll_event().is_none(), "at the limit it still waits");
    // Too many header lines.
    let few = limits(|l| l.max_headers = 4);
    check_bad_request(
        &few,
        REQUEST.as_bytes(),
        Error::LimitExceeded(Limit::Headers),
        431,
    );
}

// ----- section 4.1: the client's checks of the server's response -----

#[track_caller]
fn check_bad_response(config: &Config, response: impl Fn(&[u8]) -> Vec<u8>, expected: Error) {
    for chunk in [usize::MAX, 1] {
        let mut client = Connection::client(
            &default_request().subprotocol("chat"),
            config.clone(),
            [5; 32],
            Instant::ZERO,
        );
        let request = take_output(&mut client);
        let bytes = response(&request);
        for piece in bytes.chunks(chunk.min(bytes.len()).max(1)) {
            client.receive(piece, Instant::ZERO);
        }
        let events = drain(&mut client);
        assert_eq!(events, [Event::Failed(expected.clone())], "chunk {chunk}");
        assert!(!client.output().has_remaining(), "a client owes no answer");
        assert!(client.poll_shutdown());
        client.receive(&server_frame(0x81, b"late"), Instant::ZERO);
        assert!(client.poll_event().is_none());
        assert_eq!(client.send(&Message::from("x")), Err(SendError::Closed));
    }
}

#[test]
fn rfc6455_4_1_client_fails_on_a_bad_101() {
    let wrong_accept = |_: &[u8]| {
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
            .to_vec()
    };
    check_bad_response(
        &quiet_config(),
        wrong_accept,
        Error::Handshake(HandshakeError::InvalidAccept),
    );
    check_bad_response(
        &quiet_config(),
        |req: &[u8]| response_101(req, "Sec-WebSocket-Protocol: other\r\n").into_bytes(),
        Error::Handshake(HandshakeError::UnexpectedSubprotocol),
    );
    check_bad_response(
        &quiet_config(),
        |req: &[u8]| {
            response_101(req, "Sec-WebSocket-Extensions: permessage-deflate\r\n").into_bytes()
        },
        Error::Handshake(HandshakeError::InvalidExtensions),
    );
    check_bad_response(
        &quiet_config(),
        |req: &[u8]| {
            response_101(req, "")
                .replace("Upgrade: websocket\r\n", "")
                .into_bytes()
        },
        Error::Handshake(HandshakeError::NotWebSocketUpgrade),
    );
    check_bad_response(
        &quiet_config(),
        |_: &[u8]| b"SMTP ready\r\n\r\n".to_vec(),
        Error::Handshake(HandshakeError::Malformed),
    );
    let small = limits(|l| l.max_head_bytes = 100);
    check_bad_response(
        &small,
        |req: &[u8]| response_101(req, &format!("X-Filler: {}\r\n", "f".repeat(100))).into_bytes(),
        Error::LimitExceeded(Limit::HeadBytes),
    );
}

#[test]
fn rfc6455_4_1_client_accepts_a_good_101_with_the_chosen_subprotocol() {
    let mut client = Connection::client(
        &default_request().subprotocol("chat"),
        quiet_config(),
        [5; 32],
        Instant::ZERO,
    );
    let request = take_output(&mut client);
    client.receive(
        response_101(&request, "Sec-WebSocket-Protocol: chat\r\n").as_bytes(),
        Instant::ZERO,
    );
    match drain(&mut client).as_slice() {
        [Event::Open(o)] => assert_eq!(o.subprotocol.as_deref(), Some("chat")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc6455_4_1_non_101_without_body_is_rejected_at_once() {
    let mut client = open_client_pending();
    client.receive(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        Instant::ZERO,
    );
    match drain(&mut client).as_slice() {
        [Event::Rejected(r)] => {
            assert_eq!((r.status, r.body.len()), (404, 0));
        }
        other => panic!("{other:?}"),
    }
    assert!(client.poll_shutdown());
    // A body cut short by EOF is handed over as it is.
    let mut client = open_client_pending();
    client.receive(
        b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 10\r\n\r\nabc",
        Instant::ZERO,
    );
    assert!(client.poll_event().is_none(), "waiting for the body");
    client.receive_eof(Instant::ZERO);
    match drain(&mut client).as_slice() {
        [Event::Rejected(r)] => {
            assert_eq!(r.status, 302);
            assert_eq!(r.headers.get_str("location"), Some("/x"));
            assert_eq!(r.body.as_ref(), b"abc");
        }
        other => panic!("{other:?}"),
    }
}

fn open_client_pending() -> Connection {
    let mut client = Connection::client(&default_request(), quiet_config(), [1; 32], Instant::ZERO);
    take_output(&mut client);
    client
}

#[test]
fn rfc6455_7_1_5_eof_without_close_is_an_abnormal_closure() {
    for side in BOTH {
        let mut conn = side.open(quiet_config());
        conn.receive(&side.frame(0x01, b"half a mess"), Instant::ZERO);
        conn.receive_eof(Instant::ZERO);
        let events = drain(&mut conn);
        assert_eq!(events, [Event::Failed(Error::UnexpectedEof)]);
        assert_eq!(Error::UnexpectedEof.close_code(), CloseCode::ABNORMAL);
        assert!(!conn.output().has_remaining(), "1006 is never sent");
        assert!(conn.poll_shutdown());
        assert!(conn.is_finished());
        conn.receive_eof(Instant::ZERO);
        assert!(conn.poll_event().is_none());
    }
}
