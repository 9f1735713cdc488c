//! Handshakes on `http` types (feature `http`) and connections that start open (`Connection::open`):
//! each role and each HTTP version against a peer that did the built-in handshake or the other typed
//! side, permessage-deflate negotiated through the typed path, bytes read past the head, and bad input.

use std::sync::Arc;

use bytes::Buf;
use ws_core::deflate::{DeflateConfig, PerMessageDeflate};
use ws_core::http::{ClientHandshake, ServerHandshake, UpgradeError};
use ws_core::{
    Accept, ClientRequest, CloseCode, Config, Connection, Error, Event, HandshakeError, Instant,
    Limits, Message, Negotiated, Outcome, ProtocolError, Role, SendError,
};

const NOW: Instant = Instant::ZERO;
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn deflate_config() -> Config {
    Config::default().with_deflate()
}

/// Everything queued in `conn`'s output.
fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = conn.output();
    let n = out.remaining();
    out.copy_to_bytes(n).to_vec()
}

/// Every event available now.
fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Splits a raw HTTP/1.1 head off `bytes`: the start line, the headers, and the bytes after the head.
fn split_head(bytes: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head")
        + 4;
    let head = std::str::from_utf8(&bytes[..end - 4]).unwrap();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    (start, headers, bytes[end..].to_vec())
}

/// What an HTTP/1.1 stack makes of a request head: the request's parts, and the bytes read past it.
fn parse_request(bytes: &[u8]) -> (http::request::Parts, Vec<u8>) {
    let (start, headers, rest) = split_head(bytes);
    let mut words = start.split(' ');
    let (method, target) = (words.next().unwrap(), words.next().unwrap());
    assert_eq!(words.next(), Some("HTTP/1.1"));
    let mut builder = http::Request::builder().method(method).uri(target);
    for (n, v) in headers {
        builder = builder.header(n, v);
    }
    (builder.body(()).unwrap().into_parts().0, rest)
}

/// What an HTTP/1.1 stack makes of a response head: the response's parts, and the bytes read past it.
fn parse_response(bytes: &[u8]) -> (http::response::Parts, Vec<u8>) {
    let (start, headers, rest) = split_head(bytes);
    let status: u16 = start.split(' ').nth(1).unwrap().parse().unwrap();
    let mut builder = http::Response::builder().status(status);
    for (n, v) in headers {
        builder = builder.header(n, v);
    }
    (builder.body(()).unwrap().into_parts().0, rest)
}

/// How an HTTP/1.1 stack writes a request head.
fn write_request(request: &http::Request<()>) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method(), request.uri()).into_bytes();
    for (n, v) in request.headers() {
        out.extend_from_slice(format!("{n}: {}\r\n", v.to_str().unwrap()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// How an HTTP/1.1 stack writes a response head.
fn write_response(response: &http::Response<()>) -> Vec<u8> {
    let status = response.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap()
    )
    .into_bytes();
    for (n, v) in response.headers() {
        out.extend_from_slice(format!("{n}: {}\r\n", v.to_str().unwrap()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The first byte of every frame in `wire` (unmasked or masked), with the frames' payload lengths
/// below 126.
fn first_bytes(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        out.push(wire[at]);
        let masked = wire[at + 1] & 0x80 != 0;
        let len = usize::from(wire[at + 1] & 0x7f);
        assert!(len < 126, "short frames only");
        at += 2 + if masked { 4 } else { 0 } + len;
    }
    out
}

fn text(s: &str) -> Event {
    Event::Message(Message::from(s))
}

/// Sends `message` from `from` and returns what `to` makes of it, checking that the frame on the wire
/// was compressed (RSV1) and masked only by a client.
fn exchange(from: &mut Connection, to: &mut Connection, message: &str) -> Vec<Event> {
    from.send(&Message::from(message)).unwrap();
    let wire = drain(from);
    assert_eq!(
        first_bytes(&wire),
        [0xC1],
        "one compressed text frame (RSV1 set)"
    );
    let masked = wire[1] & 0x80 != 0;
    assert_eq!(masked, from.role() == Role::Client, "only a client masks");
    to.receive(&wire, NOW);
    events(to)
}

// ----- HTTP/1.1 -----

#[test]
fn http11_typed_server_with_builtin_client_negotiates_deflate_and_exchanges_messages() {
    let config = deflate_config();
    let request = ClientRequest::new("example.com", "/chat?room=1")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut client = Connection::client(&request, config.clone(), [3; 32], NOW);
    let (parts, past_head) = parse_request(&drain(&mut client));
    assert!(past_head.is_empty());

    let upgrade = ServerHandshake::from_parts(&parts, None).unwrap();
    assert!(!upgrade.is_extended_connect());
    assert_eq!(upgrade.request().path(), "/chat");
    assert_eq!(upgrade.request().query(), Some("room=1"));
    assert_eq!(upgrade.subprotocols(), ["chat", "superchat"]);
    assert!(
        upgrade
            .extension_offers()
            .any(|o| o.starts_with(b"permessage-deflate"))
    );
    let (response, negotiated) = upgrade
        .accept(&Accept::new().subprotocol("superchat"), &config)
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["upgrade"], "websocket");
    assert_eq!(negotiated.subprotocol.as_deref(), Some("superchat"));
    let agreed = negotiated.extensions.clone().expect("deflate agreed");
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    assert_eq!(
        response.headers()["sec-websocket-extensions"],
        agreed.as_str()
    );

    let mut server =
        Connection::open(Role::Server, config.clone(), negotiated, [0; 32], b"", NOW).unwrap();
    assert!(
        matches!(&events(&mut server)[..], [Event::Open(o)] if o.extensions.as_deref() == Some(&*agreed))
    );
    // The server's first message leaves right behind the 101, in the same read of the client.
    server.send(&Message::from("welcome")).unwrap();
    let mut wire = write_response(&response);
    wire.extend_from_slice(&drain(&mut server));
    client.receive(&wire, NOW);
    let got = events(&mut client);
    let [Event::Open(opened), message] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(opened.subprotocol.as_deref(), Some("superchat"));
    assert_eq!(opened.extensions.as_deref(), Some(&*agreed));
    assert_eq!(message, &text("welcome"));

    for i in 0..3 {
        let m = format!("hello hello hello {i}");
        assert_eq!(exchange(&mut client, &mut server, &m), [text(&m)]);
        assert_eq!(exchange(&mut server, &mut client, &m), [text(&m)]);
    }
}

#[test]
fn http11_typed_client_with_builtin_server_and_frames_past_the_head() {
    let config = deflate_config();
    let request = ClientRequest::new("example.com", "/chat")
        .origin("https://example.com")
        .subprotocol("chat")
        .header("Cookie", "id=1");
    let (http_request, handshake) = ClientHandshake::http11(&request, &config, [9; 16]).unwrap();
    assert!(!handshake.is_extended_connect());
    assert_eq!(http_request.version(), http::Version::HTTP_11);
    assert_eq!(http_request.headers()["cookie"], "id=1");

    let mut server = Connection::server(config.clone(), NOW);
    server.receive(&write_request(&http_request), NOW);
    let Some(Event::Request(seen)) = server.poll_event() else {
        panic!("the built-in server accepts the typed client's request")
    };
    assert_eq!(seen.origin(), Some("https://example.com"));
    server
        .accept(Accept::new().subprotocol("chat"), NOW)
        .unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    server.send(&Message::from("first")).unwrap();
    server.send(&Message::from("second")).unwrap();

    // The HTTP stack read the 101 and both frames at once: the frames are handed to the connection.
    let (parts, past_head) = parse_response(&drain(&mut server));
    assert_eq!(first_bytes(&past_head), [0xC1, 0xC1]);
    let negotiated = handshake.verify(&parts, &config).unwrap();
    assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
    assert_eq!(negotiated.extensions.as_deref(), server.extensions());
    let mut client =
        Connection::open(Role::Client, config, negotiated, [4; 32], &past_head, NOW).unwrap();
    let got = events(&mut client);
    assert!(matches!(&got[0], Event::Open(o) if o.headers.get_str("upgrade") == Some("websocket")));
    assert_eq!(got[1..], [text("first"), text("second")]);

    assert_eq!(
        exchange(&mut client, &mut server, "back at you"),
        [text("back at you")]
    );
    // A clean close, as after a built-in handshake.
    client.close(CloseCode::NORMAL, "bye", NOW).unwrap();
    server.receive(&drain(&mut client), NOW);
    assert!(matches!(server.poll_event(), Some(Event::Closed(Some(_)))));
    client.receive(&drain(&mut server), NOW);
    assert!(matches!(client.poll_event(), Some(Event::Closed(Some(_)))));
}

// ----- HTTP/2 extended CONNECT (RFC 8441) -----

/// A typed HTTP/2 client and server: request, response, and both connections opened; the client's
/// first message travels in the bytes the server's stack read past the head.
fn h2_pair(
    client_config: Config,
    server_config: Config,
    request: &ClientRequest,
    accept: &Accept,
) -> (Connection, Connection) {
    let (http_request, handshake) =
        ClientHandshake::http2(request, &client_config, http::uri::Scheme::HTTPS).unwrap();
    assert!(handshake.is_extended_connect());
    assert_eq!(http_request.method(), http::Method::CONNECT);
    assert_eq!(http_request.version(), http::Version::HTTP_2);
    for absent in ["sec-websocket-key", "upgrade", "connection", "host"] {
        assert!(http_request.headers().get(absent).is_none(), "{absent}");
    }
    let (parts, ()) = http_request.into_parts();
    let upgrade = ServerHandshake::from_parts(&parts, Some("websocket")).unwrap();
    assert!(upgrade.is_extended_connect());
    assert_eq!(upgrade.request().host(), Some("example.com"));
    let (response, server_negotiated) = upgrade.accept(accept, &server_config).unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    for absent in ["sec-websocket-accept", "upgrade", "connection"] {
        assert!(response.headers().get(absent).is_none(), "{absent}");
    }
    let client_negotiated = handshake
        .verify(&response.into_parts().0, &client_config)
        .unwrap();
    assert_eq!(client_negotiated.subprotocol, server_negotiated.subprotocol);
    assert_eq!(client_negotiated.extensions, server_negotiated.extensions);

    let mut client = Connection::open(
        Role::Client,
        client_config,
        client_negotiated,
        [5; 32],
        b"",
        NOW,
    )
    .unwrap();
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    client.send(&Message::from("early")).unwrap();
    let early = drain(&mut client);
    let mut server = Connection::open(
        Role::Server,
        server_config,
        server_negotiated,
        [0; 32],
        &early,
        NOW,
    )
    .unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    assert_eq!(server.poll_event(), Some(text("early")));
    (client, server)
}

#[test]
fn h2_typed_client_and_server_negotiate_deflate_and_exchange_messages() {
    let request = ClientRequest::new("example.com", "/chat").subprotocol("chat");
    let (mut client, mut server) = h2_pair(
        deflate_config(),
        deflate_config(),
        &request,
        &Accept::new().subprotocol("chat"),
    );
    assert_eq!(client.subprotocol(), Some("chat"));
    assert!(
        server
            .extensions()
            .is_some_and(|e| e.starts_with("permessage-deflate"))
    );
    for i in 0..3 {
        let m = format!("over HTTP/2, message {i}, message {i}");
        assert_eq!(exchange(&mut client, &mut server, &m), [text(&m)]);
        assert_eq!(exchange(&mut server, &mut client, &m), [text(&m)]);
    }
}

#[test]
fn h2_window_and_context_takeover_parameters_reach_both_connections() {
    // The server resets its compressor after every message, the client keeps its context; the
    // windows differ by direction. The answer carries all of it, and each connection compresses by its
    // own side's parameters: the server's repeated message gives the same bytes again, the client's
    // second one refers back to the first and is shorter. (A connection that took the other role's
    // parameters would do the opposite, and fail to inflate what its peer sent.)
    let server_deflate = DeflateConfig::default()
        .server_no_context_takeover(true)
        .server_max_window_bits(9)
        .client_max_window_bits(10);
    let server_config =
        || Config::default().extensions(Some(Arc::new(PerMessageDeflate::new(server_deflate))));
    let (mut client, mut server) = h2_pair(
        deflate_config(),
        server_config(),
        &ClientRequest::new("example.com", "/"),
        &Accept::new(),
    );
    let agreed = server.extensions().unwrap().to_owned();
    for param in [
        "server_no_context_takeover",
        "server_max_window_bits=9",
        "client_max_window_bits=10",
    ] {
        assert!(agreed.contains(param), "{param} missing from {agreed}");
    }
    assert!(!agreed.contains("client_no_context_takeover"), "{agreed}");
    let m = "the same message, the same message, the same message, once more";
    let twice = |conn: &mut Connection| {
        conn.send(&Message::from(m)).unwrap();
        let first = drain(conn);
        conn.send(&Message::from(m)).unwrap();
        (first, drain(conn))
    };
    let (first, second) = twice(&mut server);
    assert_eq!(first, second, "the server resets its context");
    let (c_first, c_second) = twice(&mut client);
    assert!(
        c_second.len() < c_first.len(),
        "the client keeps its context"
    );
    // What each sent inflates on the other side.
    client.receive(&[first, second].concat(), NOW);
    assert_eq!(events(&mut client), [text(m), text(m)]);
    server.receive(&[c_first, c_second].concat(), NOW);
    assert_eq!(events(&mut server), [text(m), text(m)]);
}

#[test]
fn h2_without_deflate_on_one_side_runs_uncompressed() {
    let (mut client, mut server) = h2_pair(
        deflate_config(),
        Config::default(),
        &ClientRequest::new("example.com", "/"),
        &Accept::new(),
    );
    assert_eq!(server.extensions(), None);
    assert_eq!(client.extensions(), None);
    client.send(&Message::from("plain")).unwrap();
    let wire = drain(&mut client);
    assert_eq!(first_bytes(&wire), [0x81], "no RSV1");
    server.receive(&wire, NOW);
    assert_eq!(events(&mut server), [text("plain")]);
}

// ----- an opened connection is a connection like any other -----

/// The server's frames after a built-in handshake and after `Connection::open` with what the typed
/// handshake agreed are the same bytes: same deflate parameters and contexts, same framing.
#[test]
fn an_opened_server_sends_the_bytes_of_a_built_in_one() {
    let config = deflate_config();
    let request = ClientRequest::new("example.com", "/");
    let mut client = Connection::client(&request, config.clone(), [1; 32], NOW);
    let request_bytes = drain(&mut client);

    let mut builtin = Connection::server(config.clone(), NOW);
    builtin.receive(&request_bytes, NOW);
    assert!(matches!(builtin.poll_event(), Some(Event::Request(_))));
    builtin.accept(Accept::new(), NOW).unwrap();
    let _ = events(&mut builtin);
    let (_, past) = parse_response(&drain(&mut builtin));
    assert!(past.is_empty());

    let (parts, _) = parse_request(&request_bytes);
    let (_, negotiated) = ServerHandshake::from_parts(&parts, None)
        .unwrap()
        .accept(&Accept::new(), &config)
        .unwrap();
    assert_eq!(negotiated.extensions.as_deref(), builtin.extensions());
    let mut opened = Connection::open(Role::Server, config, negotiated, [0; 32], b"", NOW).unwrap();
    let _ = events(&mut opened);

    for i in 0..5 {
        let m = format!("{{\"seq\":{i},\"text\":\"{}\"}}", "abc ".repeat(i * 7));
        builtin.send(&Message::from(m.as_str())).unwrap();
        opened.send(&Message::from(m.as_str())).unwrap();
        assert_eq!(drain(&mut builtin), drain(&mut opened), "message {i}");
    }
}

#[test]
fn an_opened_server_enforces_masking_and_limits() {
    let config = Config::default().limits(Limits::default().max_message_size(16));
    // An unmasked frame from a client: 1002.
    let mut server = Connection::open(
        Role::Server,
        config.clone(),
        Negotiated::new(),
        [0; 32],
        b"",
        NOW,
    )
    .unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    server.receive(&[0x81, 0x02, b'h', b'i'], NOW);
    assert_eq!(
        server.poll_event(),
        Some(Event::Failed(Error::Protocol(ProtocolError::UnmaskedFrame)))
    );
    assert!(matches!(
        server.outcome(),
        Some(Outcome::Failed {
            close_code: Some(CloseCode::PROTOCOL_ERROR),
            ..
        })
    ));

    // A message over the limit, in the bytes read past the head: 1009.
    let mut client = Connection::open(
        Role::Client,
        Config::default(),
        Negotiated::new(),
        [2; 32],
        b"",
        NOW,
    )
    .unwrap();
    let _ = events(&mut client);
    client.send(&Message::from("seventeen bytes!!")).unwrap();
    let wire = drain(&mut client);
    let mut server =
        Connection::open(Role::Server, config, Negotiated::new(), [0; 32], &wire, NOW).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    assert!(matches!(
        server.poll_event(),
        Some(Event::Failed(Error::LimitExceeded(_)))
    ));
    assert!(matches!(
        server.outcome(),
        Some(Outcome::Failed {
            close_code: Some(CloseCode::MESSAGE_TOO_BIG),
            ..
        })
    ));
}

#[test]
fn open_refuses_extensions_the_config_cannot_set_up() {
    let deflate = "permessage-deflate; client_max_window_bits=15";
    for role in [Role::Client, Role::Server] {
        let none = Connection::open(
            role,
            Config::default(),
            Negotiated::new().extensions(deflate),
            [1; 32],
            b"",
            NOW,
        );
        assert_eq!(
            none.unwrap_err(),
            HandshakeError::InvalidExtensions,
            "{role:?}"
        );
        let unknown = Connection::open(
            role,
            deflate_config(),
            Negotiated::new().extensions("x-unknown"),
            [1; 32],
            b"",
            NOW,
        );
        assert_eq!(
            unknown.unwrap_err(),
            HandshakeError::InvalidExtensions,
            "{role:?}"
        );
        let bad_param = Connection::open(
            role,
            deflate_config(),
            Negotiated::new().extensions("permessage-deflate; colour=blue"),
            [1; 32],
            b"",
            NOW,
        );
        assert_eq!(
            bad_param.unwrap_err(),
            HandshakeError::InvalidExtensions,
            "{role:?}"
        );
        assert!(
            Connection::open(
                role,
                deflate_config(),
                Negotiated::new().extensions(deflate),
                [1; 32],
                b"",
                NOW
            )
            .is_ok()
        );
    }
}

// ----- bad requests -----

fn h1_request() -> http::request::Builder {
    http::Request::builder()
        .uri("/chat")
        .header("Host", "example.com")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", KEY)
        .header("Sec-WebSocket-Version", "13")
}

fn h2_request() -> http::request::Builder {
    http::Request::builder()
        .method(http::Method::CONNECT)
        .version(http::Version::HTTP_2)
        .uri("https://example.com/chat")
        .header("Sec-WebSocket-Version", "13")
}

fn refuse(builder: http::request::Builder, protocol: Option<&str>) -> UpgradeError {
    let parts = builder.body(()).unwrap().into_parts().0;
    ServerHandshake::from_parts(&parts, protocol).expect_err("the request must be refused")
}

#[test]
fn connect_without_protocol_is_a_400_that_says_why() {
    let error = refuse(h2_request(), None);
    assert_eq!(error.error(), &HandshakeError::MissingProtocol);
    assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    assert_eq!(error.response().status(), http::StatusCode::BAD_REQUEST);
    let said = error.to_string();
    assert!(said.contains(":protocol") && said.contains("400"), "{said}");
}

#[test]
fn unknown_protocol_is_a_501() {
    let error = refuse(h2_request(), Some("connect-udp"));
    assert_eq!(error.error(), &HandshakeError::UnsupportedProtocol);
    assert_eq!(error.response().status(), http::StatusCode::NOT_IMPLEMENTED);
    // The value is compared as a token: any case.
    let parts = h2_request().body(()).unwrap().into_parts().0;
    assert!(ServerHandshake::from_parts(&parts, Some("WebSocket")).is_ok());
}

#[test]
fn h3_requests_are_extended_connects_too() {
    // RFC 9220: WebSockets over HTTP/3 use the extended CONNECT of RFC 8441.
    let parts = h2_request()
        .version(http::Version::HTTP_3)
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let upgrade = ServerHandshake::from_parts(&parts, Some("websocket")).unwrap();
    assert!(upgrade.is_extended_connect());
    let (response, _) = upgrade.accept(&Accept::new(), &Config::default()).unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_3);
    assert_eq!(
        ServerHandshake::from_parts(&parts, None)
            .unwrap_err()
            .error(),
        &HandshakeError::MissingProtocol
    );
}

#[test]
fn h2_request_with_a_key_is_a_400() {
    let error = refuse(
        h2_request().header("Sec-WebSocket-Key", KEY),
        Some("websocket"),
    );
    assert_eq!(error.error(), &HandshakeError::UnexpectedKey);
    assert_eq!(error.response().status(), http::StatusCode::BAD_REQUEST);
}

#[test]
fn h2_request_that_is_not_connect_is_a_400() {
    let error = refuse(h2_request().method(http::Method::GET), Some("websocket"));
    assert_eq!(error.error(), &HandshakeError::MethodNotConnect);
    assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
}

#[test]
fn wrong_version_is_a_426_naming_13() {
    let h1 = refuse(h1_request().header("Sec-WebSocket-Version", "8"), None);
    let h1 = if h1.error() == &HandshakeError::UnsupportedWebSocketVersion {
        h1
    } else {
        panic!("{h1:?}")
    };
    let response = h1.response();
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert_eq!(response.headers()["upgrade"], "websocket");

    let mut h2 = h2_request();
    h2.headers_mut()
        .unwrap()
        .insert("sec-websocket-version", "7".parse().unwrap());
    let h2 = refuse(h2, Some("websocket"));
    assert_eq!(h2.error(), &HandshakeError::UnsupportedWebSocketVersion);
    let response = h2.response();
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert!(
        response.headers().get("upgrade").is_none(),
        "no Upgrade header over HTTP/2"
    );
}

#[test]
fn http11_requests_keep_the_built_in_rules() {
    let cases = [
        (
            h1_request().method(http::Method::POST),
            HandshakeError::MethodNotGet,
            400,
        ),
        (
            h1_request().version(http::Version::HTTP_10),
            HandshakeError::UnsupportedHttpVersion,
            400,
        ),
        (
            h1_request().header("Sec-WebSocket-Key", "AAAA"),
            HandshakeError::InvalidKey,
            400,
        ),
    ];
    for (builder, expected, status) in cases {
        let error = refuse(builder, None);
        assert_eq!(error.error(), &expected);
        assert_eq!(error.status().as_u16(), status);
    }
    let mut no_upgrade = h1_request();
    no_upgrade.headers_mut().unwrap().remove("upgrade");
    assert_eq!(refuse(no_upgrade, None).status().as_u16(), 426);
    let mut bad_key = h1_request();
    bad_key
        .headers_mut()
        .unwrap()
        .insert("sec-websocket-key", "dGhlIHNhbXBsZQ==".parse().unwrap());
    assert_eq!(refuse(bad_key, None).error(), &HandshakeError::InvalidKey);
}

#[test]
fn accept_checks_the_subprotocol_as_the_built_in_server_does() {
    let parts = h1_request()
        .header("Sec-WebSocket-Protocol", "chat")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let upgrade = ServerHandshake::from_parts(&parts, None).unwrap();
    assert_eq!(
        upgrade
            .accept(&Accept::new().subprotocol("other"), &Config::default())
            .unwrap_err(),
        SendError::SubprotocolNotOffered
    );
    assert_eq!(
        upgrade
            .accept(
                &Accept::new().header("Sec-WebSocket-Accept", "forged"),
                &Config::default()
            )
            .unwrap_err(),
        SendError::InvalidHeader
    );
}

// ----- bad responses, client side -----

fn h1_client(config: &Config) -> (http::request::Parts, ClientHandshake) {
    let request = ClientRequest::new("example.com", "/").subprotocol("chat");
    let (req, handshake) = ClientHandshake::http11(&request, config, [0x42; 16]).unwrap();
    (req.into_parts().0, handshake)
}

/// The 101 a correct server sends to `request` (Sec-WebSocket-Accept of its key), plus `extra` headers.
fn h1_answer(request: &http::request::Parts, extra: &[(&str, &str)]) -> http::response::Parts {
    let upgrade = ServerHandshake::from_parts(request, None).unwrap();
    let (mut response, _) = upgrade.accept(&Accept::new(), &Config::default()).unwrap();
    for (n, v) in extra {
        response.headers_mut().append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    response.into_parts().0
}

#[test]
fn client_refuses_a_subprotocol_it_did_not_offer() {
    let config = Config::default();
    let (request, handshake) = h1_client(&config);
    assert!(handshake.verify(&h1_answer(&request, &[]), &config).is_ok());
    let chosen = h1_answer(&request, &[("Sec-WebSocket-Protocol", "chat")]);
    assert_eq!(
        handshake
            .verify(&chosen, &config)
            .unwrap()
            .subprotocol
            .as_deref(),
        Some("chat")
    );
    for answer in ["superchat", "chat, superchat"] {
        let response = h1_answer(&request, &[("Sec-WebSocket-Protocol", answer)]);
        assert_eq!(
            handshake.verify(&response, &config),
            Err(HandshakeError::UnexpectedSubprotocol),
            "{answer}"
        );
    }
    // Over HTTP/2 too.
    let (_, h2) = ClientHandshake::http2(
        &ClientRequest::new("example.com", "/"),
        &config,
        http::uri::Scheme::HTTP,
    )
    .unwrap();
    let response = http::Response::builder()
        .header("Sec-WebSocket-Protocol", "chat")
        .body(())
        .unwrap();
    let error = h2.verify(&response.into_parts().0, &config).unwrap_err();
    assert_eq!(error, HandshakeError::UnexpectedSubprotocol);
    assert!(error.to_string().contains("not offered"));
}

#[test]
fn client_refuses_extensions_and_parameters_it_did_not_offer() {
    let plain = Config::default();
    let (request, handshake) = h1_client(&plain);
    let response = h1_answer(
        &request,
        &[("Sec-WebSocket-Extensions", "permessage-deflate")],
    );
    assert_eq!(
        handshake.verify(&response, &plain),
        Err(HandshakeError::InvalidExtensions),
        "deflate was not offered"
    );

    // The client asks for a server window of at most 2^10 and offers nothing else.
    let deflate = Config::default().extensions(Some(Arc::new(PerMessageDeflate::new(
        DeflateConfig::default().server_max_window_bits(10),
    ))));
    let (request, handshake) = h1_client(&deflate);
    let offer = request.headers["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(offer.contains("server_max_window_bits=10"), "{offer}");
    let good = "permessage-deflate; server_max_window_bits=10";
    let negotiated = handshake
        .verify(
            &h1_answer(&request, &[("Sec-WebSocket-Extensions", good)]),
            &deflate,
        )
        .unwrap();
    assert_eq!(negotiated.extensions.as_deref(), Some(good));
    for bad in [
        "x-webkit-deflate-frame",
        "permessage-deflate; server_max_window_bits=10, x-custom",
        "permessage-deflate; server_max_window_bits=12",
        "permessage-deflate; server_max_window_bits=10; colour=blue",
        "permessage-deflate",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=10",
    ] {
        let response = h1_answer(&request, &[("Sec-WebSocket-Extensions", bad)]);
        let error = handshake.verify(&response, &deflate).unwrap_err();
        assert_eq!(error, HandshakeError::InvalidExtensions, "{bad}");
        assert!(error.to_string().contains("Extensions"), "{error}");
    }
}

#[test]
fn client_checks_the_status_and_the_accept_value() {
    let config = Config::default();
    let (request, handshake) = h1_client(&config);
    let mut wrong_accept = h1_answer(&request, &[]);
    wrong_accept.headers.insert(
        "sec-websocket-accept",
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".parse().unwrap(),
    );
    assert_eq!(
        handshake.verify(&wrong_accept, &config),
        Err(HandshakeError::InvalidAccept)
    );
    let mut ok_status = h1_answer(&request, &[]);
    ok_status.status = http::StatusCode::OK;
    assert_eq!(
        handshake.verify(&ok_status, &config),
        Err(HandshakeError::UnexpectedStatus(200)),
        "HTTP/1.1 needs a 101"
    );

    let (_, h2) = ClientHandshake::http2(
        &ClientRequest::new("example.com", "/"),
        &config,
        http::uri::Scheme::HTTPS,
    )
    .unwrap();
    let forbidden = http::Response::builder().status(403).body(()).unwrap();
    let error = h2.verify(&forbidden.into_parts().0, &config).unwrap_err();
    assert_eq!(error, HandshakeError::UnexpectedStatus(403));
    assert!(error.to_string().contains("403"));
    let fine = http::Response::builder().status(200).body(()).unwrap();
    assert!(h2.verify(&fine.into_parts().0, &config).is_ok());
}
