//! Opening handshakes done in memory with hand-written peers, so the fuzzed bytes start at the frame layer.

use arbitrary::Arbitrary;
use bytes::Buf;
use ws_core::deflate::{
    DeflateConfig, Negotiated, client_handle_response_header, parse_extensions, server_negotiate,
};
use ws_core::http::key::accept_key;
use ws_core::{Accept, ClientRequest, Config, Connection, Event, Instant};

/// permessage-deflate parameters the hand-written peer asks for (server role: in the client's offer;
/// client role: in the server's response).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// 8..=15 after mapping.
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

fn bits(b: u8) -> u8 {
    8 + b % 8
}

impl DeflateParams {
    /// The header value.
    pub fn header(&self) -> String {
        let mut s = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(b) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={}", bits(b)));
        }
        // Without a value the parameter is left out (in an offer it would mean "any value is fine").
        if let Some(b) = self.client_max_window_bits {
            s.push_str(&format!("; client_max_window_bits={}", bits(b)));
        }
        s
    }
}

pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A valid upgrade request (RFC 6455 section 1.3), with an optional extension offer.
pub fn request(extensions: Option<&str>) -> Vec<u8> {
    let mut r = String::from(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n",
    );
    if let Some(e) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The Sec-WebSocket-Key of a request head the core wrote.
pub fn key_of(request: &[u8]) -> String {
    let text = std::str::from_utf8(request).expect("the core writes ASCII heads");
    text.split("\r\n")
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key")
        .to_string()
}

/// A 101 response to a request carrying `key`.
pub fn response_101(key: &str, extensions: Option<&str>, subprotocol: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        accept_key(key.as_bytes())
    );
    if let Some(p) = subprotocol {
        r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    if let Some(e) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// An open server (its 101 written and drained) and the agreed deflate parameters (`None`: no
/// extension). The request offers `deflate` when given; the server's config decides whether it accepts.
pub fn open_server(
    config: Config,
    deflate: Option<DeflateParams>,
) -> (Connection, Option<Negotiated>) {
    let offer = deflate.map(|d| d.header());
    let accepts = config.extensions.is_some();
    let mut server = Connection::server(config, Instant::ZERO);
    server.receive(&request(offer.as_deref()), Instant::ZERO);
    let Some(Event::Request(req)) = server.poll_event() else {
        panic!("the sample request must be accepted")
    };
    assert_eq!(req.path(), "/chat");
    server
        .accept(Accept::new().subprotocol("chat"), Instant::ZERO)
        .unwrap();
    let Some(Event::Open(opened)) = server.poll_event() else {
        panic!("expected Open")
    };
    assert_eq!(server.poll_event(), None);
    let out = crate::take_output(&mut server);
    let text = std::str::from_utf8(&out).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(text.ends_with("\r\n\r\n"));
    let negotiated = match (&offer, accepts) {
        (Some(offer), true) => {
            let offers = parse_extensions([offer.as_str()]).expect("our offer parses");
            let (header, n) = server_negotiate(&DeflateConfig::default(), &offers)
                .expect("the default server config accepts every valid offer");
            assert_eq!(opened.extensions.as_deref(), Some(header.as_str()));
            Some(n)
        }
        _ => {
            assert_eq!(opened.extensions, None);
            None
        }
    };
    (server, negotiated)
}

/// An open client (request and response done) and the agreed deflate parameters. The hand-written server
/// answers with `deflate` when given and the client offered it.
pub fn open_client(
    config: Config,
    deflate: Option<DeflateParams>,
) -> (Connection, Option<Negotiated>) {
    let offers = config.extensions.is_some();
    let request = ClientRequest::new("server.example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut client = Connection::client(&request, config, [7; 32], Instant::ZERO);
    let req = crate::take_output(&mut client);
    let ext = if offers {
        deflate.map(|d| d.header())
    } else {
        None
    };
    client.receive(
        &response_101(&key_of(&req), ext.as_deref(), Some("superchat")),
        Instant::ZERO,
    );
    let Some(Event::Open(opened)) = client.poll_event() else {
        panic!("expected Open")
    };
    assert_eq!(opened.subprotocol.as_deref(), Some("superchat"));
    assert_eq!(client.poll_event(), None);
    assert_eq!(client.output().remaining(), 0);
    let negotiated = ext.map(|header| {
        let (_, n) = client_handle_response_header(&[DeflateConfig::default()], [header.as_str()])
            .expect("a valid response")
            .expect("deflate agreed");
        n
    });
    assert_eq!(opened.extensions.is_some(), negotiated.is_some());
    (client, negotiated)
}
