//! Layer 2 of the tests (docs/architecture.md, "Tests, in layers"): a client core and a server core
//! wired together in memory.
//!
//! Every test is named after the RFC 6455 section whose behaviour it checks.

mod common;

use bytes::Buf;
use bytes::Bytes;
use common::*;
use ws_core::http::Response;
use ws_core::{
    Accept, ClientRequest, CloseCode, CloseFrame, DataKind, Event, Message, ReadInterest,
    SendError, State,
};

// ----- section 4: the opening handshake -----

#[test]
fn rfc6455_4_2_2_server_chooses_one_of_the_offered_subprotocols() {
    let request = ClientRequest::new("example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut pair = Pair::new(&request, quiet_config(), quiet_config());
    let (req, opened) = pair.handshake(Accept::new().subprotocol("superchat"));
    assert_eq!(req.subprotocols, ["chat", "superchat"]);
    assert!(req.offers_subprotocol("chat") && !req.offers_subprotocol("other"));
    assert_eq!(opened.subprotocol.as_deref(), Some("superchat"));
    assert_eq!(pair.client.subprotocol(), Some("superchat"));
    assert_eq!(pair.server.subprotocol(), Some("superchat"));
    let (head, rest) = split_head(&pair.server_wire);
    assert_eq!(status_of(head), 101);
    assert_eq!(header_of(head, "sec-websocket-protocol"), Some("superchat"));
    assert!(rest.is_empty());
    assert_eq!(
        (pair.client.state(), pair.server.state()),
        (State::Open, State::Open)
    );
}

#[test]
fn rfc6455_4_1_no_subprotocol_offered_none_negotiated() {
    let mut pair = Pair::new(&default_request(), quiet_config(), quiet_config());
    let (req, opened) = pair.handshake(Accept::new());
    assert!(req.subprotocols.is_empty());
    let (request_head, _) = split_head(&pair.client_wire);
    assert_eq!(header_of(request_head, "sec-websocket-protocol"), None);
    assert_eq!(opened.subprotocol, None);
    assert_eq!(pair.client.subprotocol(), None);
    assert_eq!(pair.server.subprotocol(), None);
}

#[test]
fn rfc6455_4_2_2_client_offers_but_server_picks_none() {
    let request = ClientRequest::new("example.com", "/").subprotocol("chat");
    let mut pair = Pair::new(&request, quiet_config(), quiet_config());
    let (req, opened) = pair.handshake(Accept::new());
    assert_eq!(req.subprotocols, ["chat"]);
    let (head, _) = split_head(&pair.server_wire);
    assert_eq!(header_of(head, "sec-websocket-protocol"), None);
    assert_eq!(opened.subprotocol, None);
    assert_eq!(pair.client.subprotocol(), None);
    assert_eq!(pair.server.subprotocol(), None);
    // The connection works.
    pair.client.send(&Message::from("hi")).unwrap();
    pair.c2s();
    assert_eq!(messages(&pair.server_events()), [Message::from("hi")]);
}

#[test]
fn rfc6455_4_2_2_server_may_not_choose_a_subprotocol_not_offered() {
    let request = ClientRequest::new("example.com", "/").subprotocol("chat");
    let mut pair = Pair::new(&request, quiet_config(), quiet_config());
    pair.c2s();
    assert!(matches!(
        pair.server_events().as_slice(),
        [Event::Request(_)]
    ));
    assert_eq!(
        pair.server
            .accept(Accept::new().subprotocol("other"), pair.now),
        Err(SendError::SubprotocolNotOffered)
    );
    assert!(!pair.server.output().has_remaining(), "nothing written");
    // The decision is still pending; a valid accept works.
    pair.server
        .accept(Accept::new().subprotocol("chat"), pair.now)
        .unwrap();
    assert!(matches!(pair.server_events().as_slice(), [Event::Open(_)]));
}

#[test]
fn rfc6455_4_1_origin_and_extra_headers_reach_the_server_request() {
    let request = ClientRequest::new("server.example.com:8080", "/chat?room=1")
        .origin("http://example.com")
        .header("Cookie", "session=abc")
        .header("Authorization", "Bearer t0k3n");
    let mut pair = Pair::new(&request, quiet_config(), quiet_config());
    let (req, opened) = pair.handshake(Accept::new().header("Set-Cookie", "id=1"));
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=1"));
    assert_eq!(req.host(), Some("server.example.com:8080"));
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.headers.get_str("cookie"), Some("session=abc"));
    assert_eq!(req.headers.get_str("AUTHORIZATION"), Some("Bearer t0k3n"));
    // And the accept's extra header reaches the client.
    assert_eq!(opened.headers.get_str("set-cookie"), Some("id=1"));
}

#[test]
fn rfc6455_4_2_2_reject_with_403_reaches_the_client_with_status_headers_and_body() {
    for chunk in [usize::MAX, 1, 7] {
        let mut pair = Pair::new(
            &default_request().origin("http://evil.example"),
            quiet_config(),
            quiet_config(),
        )
        .chunked(chunk);
        pair.c2s();
        let req = match pair.server_events().as_slice() {
            [Event::Request(r)] => r.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(req.origin(), Some("http://evil.example"));
        let response = Response::new(403, "forbidden origin").header("X-Reason", "origin");
        pair.server.reject(response.clone(), pair.now).unwrap();
        let server_events = pair.server_events();
        assert_eq!(server_events, [Event::Rejected(Box::new(response.clone()))]);
        assert_eq!(pair.server.state(), State::Closed);
        assert!(!pair.server.poll_shutdown(), "output still queued");
        pair.s2c();
        assert!(
            pair.server.poll_shutdown(),
            "server shuts after the response"
        );
        assert!(!pair.server.poll_shutdown(), "only once");

        let (head, body) = split_head(&pair.server_wire);
        assert_eq!(status_of(head), 403);
        assert_eq!(header_of(head, "content-length"), Some("16"));
        assert_eq!(body, b"forbidden origin");

        let events = pair.client_events();
        let Event::Rejected(got) = single_terminal(&events) else {
            panic!("client expected Rejected, got {events:?}")
        };
        assert_eq!(events.len(), 1, "chunk {chunk}");
        assert_eq!(got.status, 403);
        assert_eq!(got.reason, "Forbidden");
        assert_eq!(got.headers.get_str("x-reason"), Some("origin"));
        assert_eq!(
            got.headers.get_str("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(got.body, Bytes::from_static(b"forbidden origin"));
        assert_eq!(pair.client.state(), State::Closed);
        assert!(pair.client.poll_shutdown());
        assert_eq!(
            pair.client.send(&Message::from("x")),
            Err(SendError::Closed)
        );
        // Either side ignores later input.
        pair.client.receive(b"more bytes", pair.now);
        assert!(pair.client_events().is_empty());
    }
}

#[test]
fn rfc6455_4_1_client_can_not_send_before_the_handshake_completes() {
    let mut pair = Pair::new(&default_request(), quiet_config(), quiet_config());
    assert_eq!(
        pair.client.send(&Message::from("early")),
        Err(SendError::NotOpen)
    );
    assert_eq!(pair.client.ping(b""), Err(SendError::NotOpen));
    assert_eq!(
        pair.client.close(CloseCode::NORMAL, "", pair.now),
        Err(SendError::NotOpen)
    );
    assert_eq!(
        pair.server.send(&Message::from("early")),
        Err(SendError::NotOpen)
    );
    assert_eq!(
        pair.server.accept(Accept::new(), pair.now),
        Err(SendError::NoPendingRequest)
    );
    assert_eq!(pair.client.state(), State::Connecting);
}

// ----- sections 5.6 and 6: data messages -----

fn exchange(pair: &mut Pair, msgs: &[Message]) {
    for m in msgs {
        pair.client.send(m).unwrap();
    }
    pair.c2s();
    assert_eq!(messages(&pair.server_events()), msgs);
    for m in msgs {
        pair.server.send(m).unwrap();
    }
    pair.s2c();
    assert_eq!(messages(&pair.client_events()), msgs);
}

fn sample_messages() -> Vec<Message> {
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 31 % 251) as u8).collect();
    let big_text: String = "κόσμε🎉".repeat((1 << 20) / 14);
    vec![
        Message::from("Hello"),
        Message::from(vec![0u8, 1, 2, 255]),
        Message::from(""),
        Message::Binary(Bytes::new()),
        Message::from("ünïcödé"),
        Message::from(big),
        Message::from(big_text),
        Message::from(vec![7u8; 126]),
        Message::from(vec![8u8; 65535]),
        Message::from(vec![9u8; 65536]),
    ]
}

#[test]
fn rfc6455_6_1_messages_flow_both_ways_text_binary_empty_and_1_mib() {
    let mut pair = Pair::open();
    exchange(&mut pair, &sample_messages());
    // Client frames are masked, server frames are not (section 5.1).
    let (_, client_frames) = split_head(&pair.client_wire);
    let (_, server_frames) = split_head(&pair.server_wire);
    let client_frames = parse_frames(client_frames);
    let server_frames = parse_frames(server_frames);
    assert_eq!(client_frames.len(), sample_messages().len());
    assert!(client_frames.iter().all(|f| f.masked && f.fin));
    assert!(server_frames.iter().all(|f| !f.masked && f.fin));
    assert_eq!(client_frames[0].opcode, OP_TEXT);
    assert_eq!(client_frames[1].opcode, OP_BINARY);
}

#[test]
fn rfc6455_5_3_client_mask_keys_vary_between_frames() {
    let mut pair = Pair::open();
    for _ in 0..8 {
        pair.client.send(&Message::from([0; 8].to_vec())).unwrap();
    }
    let out = take_output(&mut pair.client);
    // An all-zero payload shows the mask key itself.
    let mut keys: Vec<&[u8]> = out.chunks(14).map(|f| &f[2..6]).collect();
    keys.sort();
    keys.dedup();
    assert!(
        keys.len() > 1,
        "mask keys must not repeat frame after frame"
    );
}

#[test]
fn rfc6455_5_4_send_fragment_text_split_inside_a_multibyte_character() {
    let mut pair = Pair::open();
    let text = "h€llo wörld";
    let bytes = text.as_bytes();
    // '€' is bytes 1..4: cut after its first byte, and again inside 'ö'.
    let ouml = text.find('ö').unwrap();
    pair.client
        .send_fragment(DataKind::Text, &bytes[..2], false)
        .unwrap();
    pair.client
        .send_fragment(DataKind::Text, &bytes[2..ouml + 1], false)
        .unwrap();
    pair.client
        .send_fragment(DataKind::Text, &bytes[ouml + 1..], true)
        .unwrap();
    let wire = take_output(&mut pair.client);
    let frames = parse_frames(&wire);
    let shape: Vec<(u8, bool)> = frames.iter().map(|f| (f.opcode, f.fin)).collect();
    assert_eq!(shape, [(OP_TEXT, false), (OP_CONT, false), (OP_CONT, true)]);
    pair.server.receive(&wire, pair.now);
    assert_eq!(pair.server_events(), [Event::Message(Message::from(text))]);

    // The server sends one too, fragment by fragment, byte by byte.
    for (i, b) in bytes.iter().enumerate() {
        pair.server
            .send_fragment(DataKind::Text, &[*b], i == bytes.len() - 1)
            .unwrap();
    }
    pair.s2c();
    assert_eq!(pair.client_events(), [Event::Message(Message::from(text))]);
}

#[test]
fn rfc6455_5_4_fragment_kinds_must_not_change_mid_message() {
    let mut pair = Pair::open();
    pair.client
        .send_fragment(DataKind::Binary, b"abc", false)
        .unwrap();
    let queued = pair.client.output().remaining();
    assert_eq!(
        pair.client.send_fragment(DataKind::Text, b"def", true),
        Err(SendError::FragmentInProgress)
    );
    assert_eq!(
        pair.client.send(&Message::from("whole")),
        Err(SendError::FragmentInProgress)
    );
    assert_eq!(
        pair.client.send(&Message::from(b"whole".to_vec())),
        Err(SendError::FragmentInProgress)
    );
    assert_eq!(
        pair.client.output().remaining(),
        queued,
        "nothing was queued"
    );
    // Control frames may be interleaved (section 5.4).
    pair.client.ping(b"mid").unwrap();
    pair.client
        .send_fragment(DataKind::Binary, b"def", true)
        .unwrap();
    pair.client.send(&Message::from("after")).unwrap();
    pair.c2s();
    assert_eq!(
        pair.server_events(),
        [
            Event::Ping(Bytes::from_static(b"mid")),
            Event::Message(Message::from(b"abcdef".to_vec())),
            Event::Message(Message::from("after")),
        ]
    );
}

#[test]
fn rfc6455_8_1_send_fragment_refuses_text_that_can_not_be_utf8() {
    let mut pair = Pair::open();
    pair.client
        .send_fragment(DataKind::Text, "€".as_bytes()[..1].as_ref(), false)
        .unwrap();
    let queued = pair.client.output().remaining();
    // 0xe2 followed by 'a' is impossible.
    assert_eq!(
        pair.client.send_fragment(DataKind::Text, b"a", true),
        Err(SendError::InvalidUtf8)
    );
    // An unfinished character at the end is refused as well.
    assert_eq!(
        pair.client
            .send_fragment(DataKind::Text, &"€".as_bytes()[1..2], true),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(
        pair.client.output().remaining(),
        queued,
        "nothing was queued"
    );
    pair.client
        .send_fragment(DataKind::Text, &"€".as_bytes()[1..], true)
        .unwrap();
    pair.c2s();
    assert_eq!(pair.server_events(), [Event::Message(Message::from("€"))]);
}

#[test]
fn rfc6455_5_4_max_send_frame_size_fragments_automatically() {
    let config = quiet_config().max_send_frame_size(Some(10));
    let mut pair = Pair::open_with(config.clone(), config);
    let text = "0123456789abcdefghij€€€"; // 29 bytes: frames of 10, 10, 9
    pair.client.send(&Message::from(text)).unwrap();
    pair.server.send(&Message::from([5; 20].to_vec())).unwrap(); // exactly two frames
    pair.server.send(&Message::from([6; 10].to_vec())).unwrap(); // one frame
    pair.server.send(&Message::from([].to_vec())).unwrap(); // one empty frame
    let client_out = take_output(&mut pair.client);
    let server_out = take_output(&mut pair.server);
    let frames = parse_frames(&client_out);
    let shape: Vec<(u8, bool, usize)> = frames
        .iter()
        .map(|f| (f.opcode, f.fin, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (OP_TEXT, false, 10),
            (OP_CONT, false, 10),
            (OP_CONT, true, 9)
        ]
    );
    let frames = parse_frames(&server_out);
    let shape: Vec<(u8, bool, usize)> = frames
        .iter()
        .map(|f| (f.opcode, f.fin, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (OP_BINARY, false, 10),
            (OP_CONT, true, 10),
            (OP_BINARY, true, 10),
            (OP_BINARY, true, 0),
        ]
    );
    pair.server.receive(&client_out, pair.now);
    pair.client.receive(&server_out, pair.now);
    assert_eq!(pair.server_events(), [Event::Message(Message::from(text))]);
    assert_eq!(
        messages(&pair.client_events()),
        [
            Message::from(vec![5u8; 20]),
            Message::from(vec![6u8; 10]),
            Message::from(Vec::new()),
        ]
    );
}

#[test]
fn rfc6455_5_4_max_send_frame_size_applies_to_each_fragment() {
    let config = quiet_config().max_send_frame_size(Some(4));
    let mut pair = Pair::open_with(config, quiet_config());
    pair.client
        .send_fragment(DataKind::Binary, b"abcdefghij", false)
        .unwrap();
    pair.client
        .send_fragment(DataKind::Binary, b"klm", true)
        .unwrap();
    let out = take_output(&mut pair.client);
    let shape: Vec<(u8, bool, usize)> = parse_frames(&out)
        .iter()
        .map(|f| (f.opcode, f.fin, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (OP_BINARY, false, 4),
            (OP_CONT, false, 4),
            (OP_CONT, false, 2),
            (OP_CONT, true, 3),
        ]
    );
    pair.server.receive(&out, pair.now);
    assert_eq!(
        messages(&pair.server_events()),
        [Message::from(b"abcdefghijklm".to_vec())]
    );
}

// ----- section 5.5.2 and 5.5.3: ping and pong -----

#[test]
fn rfc6455_5_5_2_ping_is_answered_by_a_pong_with_the_same_payload() {
    let mut pair = Pair::open();
    pair.client.ping(b"are you there").unwrap();
    pair.c2s();
    assert_eq!(
        pair.server_events(),
        [Event::Ping(Bytes::from_static(b"are you there"))]
    );
    // The pong was queued before the application saw the ping.
    let pong = parse_frames(pair.server.output().chunk());
    assert_eq!(pong.len(), 1);
    assert_eq!(
        (pong[0].opcode, pong[0].fin, pong[0].masked),
        (OP_PONG, true, false)
    );
    assert_eq!(pong[0].payload, b"are you there");
    pair.s2c();
    assert_eq!(
        pair.client_events(),
        [Event::Pong(Bytes::from_static(b"are you there"))]
    );

    // The other way, with an empty and a maximal payload.
    pair.server.ping(b"").unwrap();
    pair.server.ping(&[b'x'; 125]).unwrap();
    pair.s2c();
    assert_eq!(
        pair.client_events(),
        [
            Event::Ping(Bytes::new()),
            Event::Ping(Bytes::from(vec![b'x'; 125]))
        ]
    );
    let pongs = parse_frames(pair.client.output().chunk());
    assert_eq!(pongs.len(), 2);
    assert!(pongs.iter().all(|f| f.opcode == OP_PONG && f.masked));
    pair.c2s();
    assert_eq!(
        pair.server_events(),
        [
            Event::Pong(Bytes::new()),
            Event::Pong(Bytes::from(vec![b'x'; 125]))
        ]
    );
}

#[test]
fn rfc6455_5_5_control_payload_over_125_bytes_is_refused() {
    let mut pair = Pair::open();
    assert_eq!(
        pair.client.ping(&[0; 126]),
        Err(SendError::ControlPayloadTooLong)
    );
    assert_eq!(
        pair.client.pong(&[0; 126]),
        Err(SendError::ControlPayloadTooLong)
    );
    assert_eq!(
        pair.client
            .close(CloseCode::NORMAL, &"r".repeat(124), pair.now),
        Err(SendError::ControlPayloadTooLong)
    );
    assert_eq!(
        pair.client.close(CloseCode(1005), "reason", pair.now),
        Err(SendError::ControlPayloadTooLong)
    );
    assert_eq!(
        pair.client.close(CloseCode(1006), "", pair.now),
        Err(SendError::InvalidCloseCode)
    );
    assert!(!pair.client.output().has_remaining());
    assert_eq!(pair.client.state(), State::Open);
    // A 123-byte reason fits.
    pair.client
        .close(CloseCode::NORMAL, &"r".repeat(123), pair.now)
        .unwrap();
    pair.c2s();
    let events = pair.server_events();
    assert_eq!(
        events,
        [Event::Closed(Some(CloseFrame::new(
            CloseCode::NORMAL,
            &"r".repeat(123)
        )))]
    );
}

#[test]
fn rfc6455_5_5_3_unsolicited_pong_is_delivered_and_not_answered() {
    let mut pair = Pair::open();
    pair.server.pong(b"heartbeat").unwrap();
    pair.s2c();
    assert_eq!(
        pair.client_events(),
        [Event::Pong(Bytes::from_static(b"heartbeat"))]
    );
    assert!(!pair.client.output().has_remaining());
}

// ----- section 7: closing -----

#[test]
fn rfc6455_7_1_2_client_starts_the_close_and_the_server_echoes_it() {
    let mut pair = Pair::open();
    pair.client.send(&Message::from("last words")).unwrap();
    pair.client
        .close(CloseCode::GOING_AWAY, "page navigated away", pair.now)
        .unwrap();
    assert_eq!(pair.client.state(), State::Closing);
    pair.c2s();
    let events = pair.server_events();
    assert_eq!(
        events,
        [
            Event::Message(Message::from("last words")),
            Event::Closed(Some(CloseFrame::new(
                CloseCode::GOING_AWAY,
                "page navigated away"
            ))),
        ]
    );
    assert_eq!(pair.server.state(), State::Closed);
    let echo = parse_frames(pair.server.output().chunk());
    assert_eq!(echo.len(), 1);
    assert_eq!(
        echo[0].close_code(),
        Some(1001),
        "the echo carries the code"
    );
    assert!(
        !pair.server.poll_shutdown(),
        "not before the echo is written"
    );
    pair.s2c();
    assert!(
        pair.server.poll_shutdown(),
        "the server closes TCP first (7.1.1)"
    );
    assert!(!pair.server.poll_shutdown());

    let events = pair.client_events();
    assert_eq!(
        events,
        [Event::Closed(Some(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "page navigated away"
        )))]
    );
    assert_eq!(pair.client.state(), State::Closed);
    assert!(
        !pair.client.output().has_remaining(),
        "no second close frame"
    );
    assert!(
        !pair.client.poll_shutdown(),
        "the client waits for the server"
    );
    assert!(!pair.client.is_finished());
    assert!(pair.client.read_interest() == ReadInterest::Read);
    pair.client.receive_eof(pair.now);
    assert!(!pair.client.is_finished(), "the client closes its side too");
    assert!(pair.client.poll_shutdown());
    assert!(pair.client.is_finished());
    assert!(
        pair.client_events().is_empty(),
        "EOF after close is no error"
    );
    pair.server.receive_eof(pair.now);
    assert!(pair.server.is_finished());
}

#[test]
fn rfc6455_7_1_2_server_starts_the_close_and_the_client_echoes_it() {
    let mut pair = Pair::open();
    pair.server
        .close(CloseCode(4000), "application shutdown", pair.now)
        .unwrap();
    pair.s2c();
    assert_eq!(
        pair.client_events(),
        [Event::Closed(Some(CloseFrame::new(
            CloseCode(4000),
            "application shutdown"
        )))]
    );
    let echo = parse_frames(pair.client.output().chunk());
    assert_eq!(echo.len(), 1);
    assert!(echo[0].masked);
    assert_eq!(echo[0].close_code(), Some(4000));
    assert!(!pair.server.poll_shutdown(), "no shutdown before the echo");
    pair.c2s();
    assert_eq!(
        pair.server_events(),
        [Event::Closed(Some(CloseFrame::new(
            CloseCode(4000),
            "application shutdown"
        )))]
    );
    assert!(pair.server.poll_shutdown());
    assert!(!pair.client.poll_shutdown());
    assert!(!pair.client.is_finished());
    pair.client.receive_eof(pair.now);
    assert!(
        pair.client.poll_shutdown(),
        "the client answers EOF with its own"
    );
    assert!(pair.client.is_finished());
    assert!(pair.client_events().is_empty());
}

#[test]
fn rfc6455_7_1_5_close_without_status_is_closed_none_and_echoed_empty() {
    let mut pair = Pair::open();
    pair.client
        .close(CloseCode::NO_STATUS, "", pair.now)
        .unwrap();
    let wire = parse_frames(pair.client.output().chunk());
    assert!(wire[0].payload.is_empty());
    pair.c2s();
    assert_eq!(pair.server_events(), [Event::Closed(None)]);
    let echo = parse_frames(pair.server.output().chunk());
    assert_eq!(echo.len(), 1);
    assert!(echo[0].payload.is_empty(), "1005 is never sent on the wire");
    pair.s2c();
    assert_eq!(pair.client_events(), [Event::Closed(None)]);
}

#[test]
fn rfc6455_7_1_3_simultaneous_close_both_sides_closed_no_extra_echo() {
    for chunk in [usize::MAX, 1] {
        let mut pair = Pair::open().chunked(chunk);
        pair.client
            .close(CloseCode::NORMAL, "client", pair.now)
            .unwrap();
        pair.server
            .close(CloseCode::GOING_AWAY, "server", pair.now)
            .unwrap();
        pair.pump_with_eof();
        assert_eq!(
            pair.server_events(),
            [Event::Closed(Some(CloseFrame::new(
                CloseCode::NORMAL,
                "client"
            )))]
        );
        assert_eq!(
            pair.client_events(),
            [Event::Closed(Some(CloseFrame::new(
                CloseCode::GOING_AWAY,
                "server"
            )))]
        );
        let (_, client_frames) = split_head(&pair.client_wire);
        let (_, server_frames) = split_head(&pair.server_wire);
        assert_eq!(parse_frames(client_frames).len(), 1, "one close each");
        assert_eq!(parse_frames(server_frames).len(), 1, "one close each");
        assert!(pair.server_shut, "the server shut down its side");
        assert!(pair.client.is_finished() && pair.server.is_finished());
    }
}

#[test]
fn rfc6455_7_1_4_messages_keep_arriving_after_our_close_until_the_peers() {
    let mut pair = Pair::open();
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    // The server sends before it sees the client's close.
    pair.server.send(&Message::from("in flight")).unwrap();
    pair.server.ping(b"p").unwrap();
    pair.s2c();
    assert_eq!(
        pair.client_events(),
        [
            Event::Message(Message::from("in flight")),
            Event::Ping(Bytes::from_static(b"p")),
        ]
    );
    let out = parse_frames(pair.client.output().chunk());
    assert_eq!(
        out.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        [OP_CLOSE],
        "no pong after our close frame"
    );
    pair.pump();
    assert!(matches!(
        pair.client_events().as_slice(),
        [Event::Closed(Some(_))]
    ));
}

#[test]
fn rfc6455_7_1_1_sending_after_close_is_refused() {
    let mut pair = Pair::open();
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    let queued = pair.client.output().remaining();
    assert_eq!(
        pair.client.send(&Message::from("x")),
        Err(SendError::Closed)
    );
    assert_eq!(
        pair.client.send(&Message::from(b"x".to_vec())),
        Err(SendError::Closed)
    );
    assert_eq!(
        pair.client.send(&Message::from("x")),
        Err(SendError::Closed)
    );
    assert_eq!(
        pair.client.send_fragment(DataKind::Text, b"x", true),
        Err(SendError::Closed)
    );
    assert_eq!(pair.client.ping(b""), Err(SendError::Closed));
    assert_eq!(pair.client.pong(b""), Err(SendError::Closed));
    assert_eq!(
        pair.client.close(CloseCode::NORMAL, "", pair.now),
        Err(SendError::Closed)
    );
    assert_eq!(
        pair.client.output().remaining(),
        queued,
        "nothing was queued"
    );
    pair.c2s();
    // The server has received the close and echoed it: it can not send either.
    assert_eq!(
        pair.server.send(&Message::from("x")),
        Err(SendError::Closed)
    );
    assert_eq!(
        pair.server.close(CloseCode::NORMAL, "", pair.now),
        Err(SendError::Closed)
    );
    pair.s2c();
    assert_eq!(
        pair.client.send(&Message::from("x")),
        Err(SendError::Closed)
    );
}

#[test]
fn rfc6455_7_1_4_close_during_a_fragmented_send_stops_it() {
    let mut pair = Pair::open();
    pair.client
        .send_fragment(DataKind::Text, b"part", false)
        .unwrap();
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    assert_eq!(
        pair.client.send_fragment(DataKind::Text, b"rest", true),
        Err(SendError::Closed)
    );
    pair.pump();
    // The unfinished message is never delivered.
    assert_eq!(
        pair.server_events(),
        [Event::Closed(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
    );
}

// ----- pipelining and chunking -----

#[test]
fn rfc6455_4_2_1_frames_pipelined_after_the_request_are_delivered_after_accept() {
    // A real client produces the request and its first frames; a first server answers it so the client
    // opens, and a second server receives request and frames in one read.
    let mut client = ws_core::Connection::client(
        &default_request().subprotocol("chat"),
        quiet_config(),
        [9; 32],
        ws_core::Instant::ZERO,
    );
    let request = take_output(&mut client);
    let mut answering = ws_core::Connection::server(quiet_config(), ws_core::Instant::ZERO);
    answering.receive(&request, ws_core::Instant::ZERO);
    answering
        .accept(Accept::new(), ws_core::Instant::ZERO)
        .unwrap();
    client.receive(&take_output(&mut answering), ws_core::Instant::ZERO);
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    client.send(&Message::from("early bird")).unwrap();
    client.ping(b"early ping").unwrap();
    client.send(&Message::from([1, 2, 3].to_vec())).unwrap();
    let frames = take_output(&mut client);

    for chunk in [usize::MAX, 1, 5] {
        let mut bytes = request.clone();
        bytes.extend_from_slice(&frames);
        let mut server = ws_core::Connection::server(quiet_config(), ws_core::Instant::ZERO);
        for piece in bytes.chunks(chunk.min(bytes.len())) {
            server.receive(piece, ws_core::Instant::ZERO);
        }
        let events = drain(&mut server);
        assert!(
            matches!(events.as_slice(), [Event::Request(_)]),
            "frames wait for the decision: {events:?}"
        );
        assert!(!server.output().has_remaining(), "no pong before the 101");
        server
            .accept(Accept::new().subprotocol("chat"), ws_core::Instant::ZERO)
            .unwrap();
        let events = drain(&mut server);
        assert!(matches!(events[0], Event::Open(_)));
        assert_eq!(
            events[1..],
            [
                Event::Message(Message::from("early bird")),
                Event::Ping(Bytes::from_static(b"early ping")),
                Event::Message(Message::from(vec![1u8, 2, 3])),
            ]
        );
        // The 101 comes before the pong.
        let out = take_output(&mut server);
        let (head, rest) = split_head(&out);
        assert_eq!(status_of(head), 101);
        let pong = parse_frames(rest);
        assert_eq!(
            (pong.len(), pong[0].opcode, pong[0].payload.as_slice()),
            (1, OP_PONG, &b"early ping"[..])
        );
    }
}

#[test]
fn rfc6455_4_2_2_frames_right_after_the_101_are_not_lost() {
    let mut pair = Pair::new(&default_request(), quiet_config(), quiet_config());
    pair.c2s();
    pair.server_events();
    pair.server.accept(Accept::new(), pair.now).unwrap();
    pair.server.send(&Message::from("welcome")).unwrap();
    // The 101 and the first frame reach the client in one read.
    pair.s2c();
    let events = pair.client_events();
    assert!(matches!(events[0], Event::Open(_)));
    assert_eq!(events[1..], [Event::Message(Message::from("welcome"))]);
}

/// A whole conversation; `chunk` is the largest piece any read returns.
fn conversation(chunk: usize) {
    let request = ClientRequest::new("example.com", "/c")
        .subprotocol("a")
        .subprotocol("b");
    let config = quiet_config().max_send_frame_size(Some(3));
    let mut pair = Pair::new(&request, config, quiet_config()).chunked(chunk);
    let (_, opened) = pair.handshake(Accept::new().subprotocol("b"));
    assert_eq!(opened.subprotocol.as_deref(), Some("b"));
    let msgs = [
        Message::from("héllo wörld"),
        Message::from(vec![0u8; 300]),
        Message::from(""),
        Message::from((0..70000u32).map(|i| i as u8).collect::<Vec<u8>>()),
    ];
    for m in &msgs {
        pair.client.send(m).unwrap();
        pair.server.send(m).unwrap();
    }
    pair.client
        .send_fragment(DataKind::Text, "€".as_bytes()[..1].as_ref(), false)
        .unwrap();
    pair.client.ping(b"ping").unwrap();
    pair.client
        .send_fragment(DataKind::Text, &"€".as_bytes()[1..], true)
        .unwrap();
    pair.pump();
    let server_events = pair.server_events();
    let mut expected: Vec<Message> = msgs.to_vec();
    expected.push(Message::from("€"));
    assert_eq!(messages(&server_events), expected, "chunk {chunk}");
    assert!(server_events.contains(&Event::Ping(Bytes::from_static(b"ping"))));
    let client_events = pair.client_events();
    assert_eq!(messages(&client_events), msgs, "chunk {chunk}");
    assert!(client_events.contains(&Event::Pong(Bytes::from_static(b"ping"))));

    pair.client
        .close(CloseCode::NORMAL, "done", pair.now)
        .unwrap();
    pair.pump_with_eof();
    assert_eq!(
        pair.server_events(),
        [Event::Closed(Some(CloseFrame::new(
            CloseCode::NORMAL,
            "done"
        )))]
    );
    assert_eq!(
        pair.client_events(),
        [Event::Closed(Some(CloseFrame::new(
            CloseCode::NORMAL,
            "done"
        )))]
    );
    assert!(pair.server_shut, "the server closes TCP first");
    assert!(
        pair.client_shut,
        "the client answers the server's EOF with its own"
    );
    assert!(pair.client.is_finished(), "chunk {chunk}");
    // With no close timeout configured the server does not wait for the client's EOF.
    assert!(pair.server.is_finished(), "chunk {chunk}");
}

#[test]
fn rfc6455_5_2_bytes_delivered_one_at_a_time_everywhere() {
    conversation(1);
}

#[test]
fn rfc6455_5_2_any_read_size_gives_the_same_conversation() {
    for chunk in [2, 3, 4, 5, 13, 126, 4096, usize::MAX] {
        conversation(chunk);
    }
}

#[test]
fn rfc6455_7_1_1_frames_received_before_eof_are_not_lost() {
    // The server writes its last message and its close frame, then closes TCP; the client reads all of it
    // and the EOF before the application looks at any event.
    let mut pair = Pair::open();
    pair.server.send(&Message::from("last")).unwrap();
    pair.server.ping(b"p").unwrap();
    pair.server
        .close(CloseCode::NORMAL, "bye", pair.now)
        .unwrap();
    let bytes = take_output(&mut pair.server);
    pair.client.receive(&bytes, pair.now);
    pair.client.receive_eof(pair.now);
    assert_eq!(
        drain(&mut pair.client),
        [
            Event::Message(Message::from("last")),
            Event::Ping(Bytes::from_static(b"p")),
            Event::Closed(Some(CloseFrame::new(CloseCode::NORMAL, "bye"))),
        ]
    );
    let echo = parse_frames(&take_output(&mut pair.client));
    assert_eq!(
        echo.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        [OP_PONG, OP_CLOSE]
    );
    assert!(pair.client.is_finished());

    // The same for a server whose client sent a message and vanished without a close frame: the message
    // is delivered, then the abnormal closure.
    let mut pair = Pair::open();
    pair.client.send(&Message::from("one")).unwrap();
    pair.client.send(&Message::from("two")).unwrap();
    let bytes = take_output(&mut pair.client);
    pair.server.receive(&bytes, pair.now);
    pair.server.receive_eof(pair.now);
    assert_eq!(
        drain(&mut pair.server),
        [
            Event::Message(Message::from("one")),
            Event::Message(Message::from("two")),
            Event::Failed(ws_core::Error::UnexpectedEof),
        ]
    );
}
