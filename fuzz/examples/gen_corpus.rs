//! Writes the seed corpora under `fuzz/corpus/<target>/`: `cargo run --example gen_corpus` (from `fuzz/`).
//!
//! Raw targets get raw bytes. Structured targets get inputs encoded in `arbitrary`'s format by a small
//! encoder below; every encoded seed is decoded again and compared with the value it was made from, so a
//! change in `arbitrary`'s format fails here instead of silently producing meaningless seeds.
//!
//! Sources: RFC 6455 section 1.3 (handshake) and 5.7 (example frames), RFC 7692 section 7.2.3 (compressed
//! "Hello"), and traffic recorded from the core itself in the shapes Autobahn uses (fragmented text with an
//! interleaved ping, close frames with codes and reasons, 16- and 64-bit lengths).

use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use ws_core::{
    Accept, ClientRequest, CloseCode, Config, Connection, DataKind, Event, Instant, Message,
    Timeouts,
};
use ws_fuzz::deflate_knobs::Knobs;
use ws_fuzz::handshake::{DeflateParams, key_of, request, response_101};
use ws_fuzz::harness::{Action, Control, Payload, PeerFrame, SETUP_LEN, Setup};
use ws_fuzz::take_output;
use ws_fuzz::wire::frame;
use ws_fuzz::{differential as diff, inflate};

// ----- an encoder for `arbitrary`'s format -----

trait Enc {
    fn enc(&self, out: &mut Vec<u8>);
}

fn variant(i: u32, count: u32, out: &mut Vec<u8>) {
    // The derive picks variant `(u32 * count) >> 32`.
    let x = ((i as u64) << 32).div_ceil(count as u64) as u32;
    assert_eq!(((x as u64) * count as u64) >> 32, i as u64);
    out.extend_from_slice(&x.to_le_bytes());
}

impl Enc for u8 {
    fn enc(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}
impl Enc for u16 {
    fn enc(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl Enc for bool {
    fn enc(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}
impl<T: Enc> Enc for Option<T> {
    fn enc(&self, out: &mut Vec<u8>) {
        self.is_some().enc(out);
        if let Some(v) = self {
            v.enc(out);
        }
    }
}
impl<T: Enc> Enc for Vec<T> {
    fn enc(&self, out: &mut Vec<u8>) {
        for v in self {
            true.enc(out);
            v.enc(out);
        }
        false.enc(out);
    }
}
impl<const N: usize> Enc for [u8; N] {
    fn enc(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}
impl<A: Enc, B: Enc, C: Enc> Enc for (A, B, C) {
    fn enc(&self, out: &mut Vec<u8>) {
        self.0.enc(out);
        self.1.enc(out);
        self.2.enc(out);
    }
}

impl Enc for DeflateParams {
    fn enc(&self, out: &mut Vec<u8>) {
        self.server_no_context_takeover.enc(out);
        self.client_no_context_takeover.enc(out);
        self.server_max_window_bits.enc(out);
        self.client_max_window_bits.enc(out);
    }
}
impl Enc for Setup {
    fn enc(&self, out: &mut Vec<u8>) {
        self.deflate.enc(out);
        self.max_frame_size.enc(out);
        self.max_message_size.enc(out);
        self.max_fragments.enc(out);
        self.max_send_frame_size.enc(out);
        self.timers.enc(out);
    }
}
impl Enc for Payload {
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Bytes(b) => {
                variant(0, 4, out);
                b.enc(out)
            }
            Payload::Text(b) => {
                variant(1, 4, out);
                b.enc(out)
            }
            Payload::Close(c, r) => {
                variant(2, 4, out);
                c.enc(out);
                r.enc(out)
            }
            Payload::Run(n, b) => {
                variant(3, 4, out);
                n.enc(out);
                b.enc(out)
            }
        }
    }
}
impl Enc for PeerFrame {
    fn enc(&self, out: &mut Vec<u8>) {
        self.b0.enc(out);
        self.mask_ok.enc(out);
        self.key.enc(out);
        self.payload.enc(out);
    }
}
impl Enc for Action {
    fn enc(&self, out: &mut Vec<u8>) {
        const N: u32 = 14;
        match self {
            Action::Bytes(b) => {
                variant(0, N, out);
                b.enc(out)
            }
            Action::Frame(f) => {
                variant(1, N, out);
                f.enc(out)
            }
            Action::Deliver(n) => {
                variant(2, N, out);
                n.enc(out)
            }
            Action::Time(n) => {
                variant(3, N, out);
                n.enc(out)
            }
            Action::Poll(n) => {
                variant(4, N, out);
                n.enc(out)
            }
            Action::Write(n) => {
                variant(5, N, out);
                n.enc(out)
            }
            Action::Send {
                text,
                data,
                compress,
            } => {
                variant(6, N, out);
                text.enc(out);
                data.enc(out);
                compress.enc(out)
            }
            Action::SendText(b) => {
                variant(7, N, out);
                b.enc(out)
            }
            Action::Fragment { text, data, fin } => {
                variant(8, N, out);
                text.enc(out);
                data.enc(out);
                fin.enc(out)
            }
            Action::Ping(b) => {
                variant(9, N, out);
                b.enc(out)
            }
            Action::Pong(b) => {
                variant(10, N, out);
                b.enc(out)
            }
            Action::Close(c, r) => {
                variant(11, N, out);
                c.enc(out);
                r.enc(out)
            }
            Action::Eof => variant(12, N, out),
            Action::SendRun(n, byte) => {
                variant(13, N, out);
                n.enc(out);
                byte.enc(out)
            }
        }
    }
}
/// A connection-target input: the setup padded to `SETUP_LEN`, the actions' length and encoding, the
/// stream. Checked against `arbitrary` like `encoded`.
fn connection_input(control: &Control, stream: &[u8]) -> Vec<u8> {
    let mut setup = Vec::new();
    control.setup.enc(&mut setup);
    assert!(setup.len() <= SETUP_LEN);
    let back = Setup::arbitrary(&mut Unstructured::new(&setup)).unwrap();
    assert_eq!(format!("{back:?}"), format!("{:?}", control.setup));
    setup.resize(SETUP_LEN, 0);
    let actions = encoded(&control.actions);
    [
        &setup[..],
        &(actions.len() as u16).to_le_bytes(),
        &actions,
        stream,
    ]
    .concat()
}

impl Enc for Knobs {
    fn enc(&self, out: &mut Vec<u8>) {
        self.server_no_context_takeover.enc(out);
        self.client_no_context_takeover.enc(out);
        self.server_max_window_bits.enc(out);
        self.client_max_window_bits.enc(out);
        self.threshold.enc(out);
        self.level.enc(out);
    }
}
impl Enc for diff::Deflate {
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            diff::Deflate::Off => variant(0, 3, out),
            diff::Deflate::Default => variant(1, 3, out),
            diff::Deflate::Custom { client, server } => {
                variant(2, 3, out);
                client.enc(out);
                server.enc(out)
            }
        }
    }
}
impl Enc for diff::Body {
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            diff::Body::Text(b) => {
                variant(0, 3, out);
                b.enc(out)
            }
            diff::Body::Binary(b) => {
                variant(1, 3, out);
                b.enc(out)
            }
            diff::Body::Run { text, len, byte } => {
                variant(2, 3, out);
                text.enc(out);
                len.enc(out);
                byte.enc(out)
            }
        }
    }
}
impl Enc for diff::How {
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            diff::How::Whole => variant(0, 3, out),
            diff::How::Uncompressed => variant(1, 3, out),
            diff::How::Fragments(c) => {
                variant(2, 3, out);
                c.enc(out)
            }
        }
    }
}
impl Enc for diff::Op {
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            diff::Op::Send {
                from_client,
                body,
                how,
            } => {
                variant(0, 3, out);
                from_client.enc(out);
                body.enc(out);
                how.enc(out)
            }
            diff::Op::Ping {
                from_client,
                payload,
            } => {
                variant(1, 3, out);
                from_client.enc(out);
                payload.enc(out)
            }
            diff::Op::Pump { c2s, n, piece } => {
                variant(2, 3, out);
                c2s.enc(out);
                n.enc(out);
                piece.enc(out)
            }
        }
    }
}
impl Enc for diff::Input {
    fn enc(&self, out: &mut Vec<u8>) {
        self.deflate.enc(out);
        self.client_frame.enc(out);
        self.server_frame.enc(out);
        self.ops.enc(out);
    }
}

impl Enc for inflate::Op {
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            inflate::Op::Raw { data, fin } => {
                variant(0, 3, out);
                data.enc(out);
                fin.enc(out)
            }
            inflate::Op::Reset => variant(1, 3, out),
            inflate::Op::RoundTrip { data, cuts } => {
                variant(2, 3, out);
                data.enc(out);
                cuts.enc(out)
            }
        }
    }
}
impl Enc for inflate::Input {
    fn enc(&self, out: &mut Vec<u8>) {
        self.client.enc(out);
        self.server.enc(out);
        self.is_server.enc(out);
        self.limit.enc(out);
        self.ops.enc(out);
    }
}

/// Encodes `value` and checks that `arbitrary` decodes the bytes back to it.
fn encoded<T: Enc + for<'a> Arbitrary<'a> + std::fmt::Debug>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.enc(&mut out);
    let back = T::arbitrary_take_rest(Unstructured::new(&out)).expect("decodes");
    assert_eq!(
        format!("{back:?}"),
        format!("{value:?}"),
        "encoder out of step with arbitrary"
    );
    out
}

// ----- the seeds -----

struct Corpus {
    root: PathBuf,
    total: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
        self.total += bytes.len();
    }
}

const HELLO: &[u8] = b"Hello";
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// RFC 7692 7.2.3.1: "Hello" compressed.
const HELLO_DEFLATED: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// 7.2.3.2: the second "Hello" with context takeover.
const HELLO_AGAIN: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];
/// 7.2.3.3: a stored block.
const HELLO_STORED: &[u8] = &[
    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
];
/// 7.2.3.4: a block with BFINAL set.
const HELLO_BFINAL: &[u8] = &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];

fn close(code: u16, reason: &str) -> Vec<u8> {
    [&code.to_be_bytes()[..], reason.as_bytes()].concat()
}

/// Frames as a peer of `to_server` would send them (masked towards a server).
fn peer(to_server: bool, frames: &[(u8, &[u8])]) -> Vec<u8> {
    frames
        .iter()
        .flat_map(|(b0, p)| frame(*b0, p, to_server.then_some(KEY)))
        .collect()
}

/// Traffic recorded from the core: (client wire, server wire) after the handshake, for the given sends.
fn recorded(deflate: bool, script: impl Fn(&mut Connection)) -> (Vec<u8>, Vec<u8>) {
    let config = || {
        let c = Config::default()
            .timeouts(Timeouts::none())
            .max_send_frame_size(Some(1000));
        if deflate { c.with_deflate() } else { c }
    };
    let mut client = Connection::client(
        &ClientRequest::new("example.com", "/"),
        config(),
        [1; 32],
        Instant::ZERO,
    );
    let mut server = Connection::server(config(), Instant::ZERO);
    let head = take_output(&mut client);
    server.receive(&head, Instant::ZERO);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new(), Instant::ZERO).unwrap();
    let head = take_output(&mut server);
    client.receive(&head, Instant::ZERO);
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    script(&mut client);
    script(&mut server);
    (take_output(&mut client), take_output(&mut server))
}

fn autobahn_like(conn: &mut Connection) {
    // Case 5.6-like: fragmented text with a ping in between.
    conn.send_fragment(DataKind::Text, b"fragment1", false)
        .unwrap();
    conn.ping(b"ping payload").unwrap();
    conn.send_fragment(DataKind::Text, b"fragment2", true)
        .unwrap();
    // Case 6.2-like: UTF-8 split across fragments.
    conn.send_fragment(
        DataKind::Text,
        "Hello-µ@ßöä".as_bytes()[..8].as_ref(),
        false,
    )
    .unwrap();
    conn.send_fragment(DataKind::Text, &"Hello-µ@ßöä".as_bytes()[8..], true)
        .unwrap();
    // Cases 1.1.x/1.2.x-like: 16-bit length, then split at max_send_frame_size.
    conn.send(&Message::from(vec![0xfe; 200])).unwrap();
    conn.send(&Message::from("*".repeat(2500))).unwrap();
    conn.pong(b"unsolicited").unwrap();
    // Case 7.x-like: close with a code and reason.
    conn.close(CloseCode(1001), "going away", Instant::ZERO)
        .unwrap();
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut c = Corpus { root, total: 0 };

    // frame_header: RFC 6455 5.7 headers and the classic invalid ones.
    let headers: &[(&str, &[u8])] = &[
        (
            "rfc5.7-text-hello-unmasked",
            &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        ),
        (
            "rfc5.7-text-hello-masked",
            &[
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ],
        ),
        ("rfc5.7-fragment1", &[0x01, 0x03, 0x48, 0x65, 0x6c]),
        ("rfc5.7-fragment2", &[0x80, 0x02, 0x6c, 0x6f]),
        ("rfc5.7-ping", &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
        (
            "rfc5.7-pong-masked",
            &[
                0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ],
        ),
        ("rfc5.7-binary-256", &[0x82, 0x7e, 0x01, 0x00]),
        ("rfc5.7-binary-64k", &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]),
        (
            "binary-64k-masked",
            &[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4],
        ),
        (
            "rfc7692-compressed-hello",
            &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        ),
        ("close-1000", &[0x88, 0x02, 0x03, 0xe8]),
        ("bad-reserved-opcode", &[0x83, 0x00]),
        ("bad-nonminimal-16", &[0x82, 0x7e, 0x00, 0x7d]),
        (
            "bad-nonminimal-64",
            &[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
        ),
        ("bad-top-bit", &[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ("bad-fragmented-ping", &[0x09, 0x00]),
        ("bad-long-ping", &[0x89, 0x7e, 0x00, 0x7e]),
    ];
    for (name, bytes) in headers {
        c.put("frame_header", name, bytes);
    }

    // server_handshake: RFC 6455 1.3 and variations.
    let sample = request(None);
    let text = String::from_utf8(sample.clone()).unwrap();
    c.put("server_handshake", "rfc1.3-request", &sample);
    for (name, offer) in [
        (
            "rfc7692-offer-client-bits",
            "permessage-deflate; client_max_window_bits",
        ),
        (
            "rfc7692-offer-two",
            "permessage-deflate; client_max_window_bits=10, permessage-deflate",
        ),
        (
            "rfc7692-offer-no-context",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
        ),
        (
            "offer-unknown-extension",
            "x-webkit-deflate-frame, permessage-deflate; foo=bar",
        ),
    ] {
        c.put("server_handshake", name, &request(Some(offer)));
    }
    let pipelined = [request(None), peer(true, &[(0x81, HELLO)])].concat();
    c.put(
        "server_handshake",
        "request-with-pipelined-frame",
        &pipelined,
    );
    c.put(
        "server_handshake",
        "bad-version-426",
        text.replace("Version: 13", "Version: 8").as_bytes(),
    );
    c.put(
        "server_handshake",
        "bad-method",
        text.replace("GET", "POST").as_bytes(),
    );
    c.put(
        "server_handshake",
        "bad-no-upgrade",
        text.replace("Upgrade: websocket\r\n", "").as_bytes(),
    );
    c.put(
        "server_handshake",
        "bad-two-hosts",
        text.replace("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n")
            .as_bytes(),
    );
    c.put(
        "server_handshake",
        "bad-key",
        text.replace("dGhlIHNhbXBsZSBub25jZQ==", "abc").as_bytes(),
    );

    // client_handshake: answers to the target's client (seed [7; 32], chat + superchat, deflate).
    let mut client = Connection::client(
        &ClientRequest::new("server.example.com", "/chat")
            .subprotocol("chat")
            .subprotocol("superchat"),
        Config::default().with_deflate(),
        [7; 32],
        Instant::ZERO,
    );
    let key = key_of(&take_output(&mut client));
    c.put("client_handshake", "101", &response_101(&key, None, None));
    c.put(
        "client_handshake",
        "101-subprotocol",
        &response_101(&key, None, Some("chat")),
    );
    c.put(
        "client_handshake",
        "101-deflate",
        &response_101(
            &key,
            Some("permessage-deflate; client_max_window_bits=10"),
            Some("superchat"),
        ),
    );
    c.put(
        "client_handshake",
        "101-deflate-no-context",
        &response_101(
            &key,
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8"),
            None,
        ),
    );
    let with_frames = [
        response_101(&key, Some("permessage-deflate"), None),
        peer(
            false,
            &[
                (0xc1, HELLO_DEFLATED),
                (0x89, b"ping"),
                (0x88, &close(1000, "bye")),
            ],
        ),
    ]
    .concat();
    c.put("client_handshake", "101-then-frames", &with_frames);
    c.put(
        "client_handshake",
        "403-with-body",
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden",
    );
    c.put(
        "client_handshake",
        "302-redirect",
        b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
    );
    c.put(
        "client_handshake",
        "101-wrong-accept",
        &response_101("AAAAAAAAAAAAAAAAAAAAAA==", None, None),
    );
    c.put(
        "client_handshake",
        "101-unoffered-subprotocol",
        &response_101(&key, None, Some("other")),
    );

    // server_connection / client_connection: [N: u16][control][raw stream].
    let raw = |stream: &[u8]| [&[0u8; SETUP_LEN + 2][..], stream].concat();
    let with_control = connection_input;
    let deflate_setup = Setup {
        deflate: Some(DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
        }),
        max_frame_size: 0,
        max_message_size: 0,
        max_fragments: 0,
        max_send_frame_size: None,
        timers: None,
    };
    let deflate_only = Control {
        setup: deflate_setup,
        actions: Vec::new(),
    };
    let (client_wire, server_wire) = recorded(false, autobahn_like);
    let (client_wire_deflate, server_wire_deflate) = recorded(true, autobahn_like);
    for (target, to_server, recorded, recorded_deflate) in [
        (
            "server_connection",
            true,
            &client_wire,
            &client_wire_deflate,
        ),
        (
            "client_connection",
            false,
            &server_wire,
            &server_wire_deflate,
        ),
    ] {
        let p = |frames: &[(u8, &[u8])]| peer(to_server, frames);
        c.put(target, "rfc5.7-hello", &raw(&p(&[(0x81, HELLO)])));
        c.put(
            target,
            "rfc5.7-fragmented-hello",
            &raw(&p(&[(0x01, b"Hel"), (0x80, b"lo")])),
        );
        c.put(
            target,
            "rfc5.7-ping-pong",
            &raw(&p(&[(0x89, HELLO), (0x8a, HELLO)])),
        );
        c.put(
            target,
            "rfc5.7-binary-256",
            &raw(&p(&[(0x82, &[0x5a; 256])])),
        );
        // A 64-bit length (65536) over max_frame_size: only the start of the payload is needed.
        c.put(
            target,
            "binary-64k-truncated",
            &raw(&p(&[(0x82, &vec![0xa5; 65536])])[..200]),
        );
        c.put(
            target,
            "binary-10k",
            &raw(&p(&[(0x82, &vec![0xa5; 10_000])])),
        );
        c.put(
            target,
            "fragmented-text-interleaved-ping-close",
            &raw(&p(&[
                (0x01, b"fragment1"),
                (0x89, b"ping"),
                (0x00, b"fragment2"),
                (0x80, b"end"),
                (0x88, &close(1000, "bye")),
            ])),
        );
        c.put(target, "close-empty", &raw(&p(&[(0x88, b"")])));
        c.put(
            target,
            "close-3000-reason",
            &raw(&p(&[(0x88, &close(3000, "custom reason"))])),
        );
        c.put(
            target,
            "bad-close-1005",
            &raw(&p(&[(0x88, &close(1005, ""))])),
        );
        c.put(
            target,
            "bad-utf8",
            &raw(&p(&[(
                0x81,
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
            )])),
        );
        c.put(target, "bad-continuation", &raw(&p(&[(0x80, b"x")])));
        c.put(target, "autobahn-like-recorded", &raw(recorded));
        c.put(
            target,
            "rfc7692-hello-and-again",
            &with_control(
                &deflate_only,
                &p(&[(0xc1, HELLO_DEFLATED), (0xc1, HELLO_AGAIN)]),
            ),
        );
        c.put(
            target,
            "rfc7692-fragmented-hello",
            &with_control(
                &deflate_only,
                &p(&[(0x41, &HELLO_DEFLATED[..3]), (0x80, &HELLO_DEFLATED[3..])]),
            ),
        );
        c.put(
            target,
            "rfc7692-stored-and-bfinal",
            &with_control(
                &deflate_only,
                &p(&[
                    (0xc1, HELLO_STORED),
                    (0xc1, HELLO_BFINAL),
                    (0xc1, HELLO_DEFLATED),
                ]),
            ),
        );
        c.put(
            target,
            "autobahn-like-recorded-deflate",
            &with_control(&deflate_only, recorded_deflate),
        );
        // A script: small reads, time passing with keepalive on, commands from our side.
        let script = Control {
            setup: Setup {
                timers: Some((0, 1, 0)),
                max_send_frame_size: Some(7),
                ..deflate_setup_clone(&deflate_only.setup)
            },
            actions: vec![
                Action::Deliver(3),
                Action::Poll(0),
                Action::Time(1500),
                Action::SendText(b"Hello from us".to_vec()),
                Action::Fragment {
                    text: true,
                    data: b"frag".to_vec(),
                    fin: false,
                },
                Action::Deliver(5),
                Action::Fragment {
                    text: true,
                    data: b"ment".to_vec(),
                    fin: true,
                },
                Action::Ping(b"are you there".to_vec()),
                Action::Write(10),
                Action::Deliver(0),
                Action::Frame(PeerFrame {
                    b0: 0x8a,
                    mask_ok: true,
                    key: KEY,
                    payload: Payload::Bytes(b"are you there".to_vec()),
                }),
                Action::Deliver(0),
                Action::Poll(0),
                Action::Time(3000),
                Action::Close(1000, b"done".to_vec()),
                Action::Frame(PeerFrame {
                    b0: 0x88,
                    mask_ok: true,
                    key: KEY,
                    payload: Payload::Close(1000, Vec::new()),
                }),
                Action::Poll(0),
                Action::Eof,
            ],
        };
        c.put(
            target,
            "script-keepalive-commands-close",
            &with_control(&script, &p(&[(0x81, HELLO), (0x89, b"ping")])),
        );
    }

    // deflate_inflate.
    let knobs = |snct, cnct, sbits, cbits| Knobs {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
        threshold: 0,
        level: 1,
    };
    let seeds = [
        (
            "rfc7692-examples",
            inflate::Input {
                client: knobs(false, false, None, None),
                server: knobs(false, false, None, None),
                is_server: false,
                limit: 4095,
                ops: vec![
                    inflate::Op::Raw {
                        data: HELLO_DEFLATED.to_vec(),
                        fin: true,
                    },
                    inflate::Op::Raw {
                        data: HELLO_AGAIN.to_vec(),
                        fin: true,
                    },
                    inflate::Op::Raw {
                        data: HELLO_STORED.to_vec(),
                        fin: true,
                    },
                    inflate::Op::Raw {
                        data: HELLO_BFINAL.to_vec(),
                        fin: true,
                    },
                    inflate::Op::Raw {
                        data: HELLO_DEFLATED[..3].to_vec(),
                        fin: false,
                    },
                    inflate::Op::Raw {
                        data: HELLO_DEFLATED[3..].to_vec(),
                        fin: true,
                    },
                    inflate::Op::RoundTrip {
                        data: HELLO.to_vec(),
                        cuts: vec![2],
                    },
                ],
            },
        ),
        (
            "no-context-window-8-bomb",
            inflate::Input {
                client: knobs(true, true, Some(0), Some(0)),
                server: knobs(false, false, None, None),
                is_server: true,
                limit: 100,
                ops: vec![
                    // 1 KiB of zeros compressed: over the 100-byte limit.
                    inflate::Op::Raw {
                        data: deflate_zeros(1024),
                        fin: true,
                    },
                    inflate::Op::Reset,
                    inflate::Op::Raw {
                        data: HELLO_DEFLATED.to_vec(),
                        fin: true,
                    },
                    inflate::Op::RoundTrip {
                        data: b"abcabcabcabc".repeat(50),
                        cuts: vec![10, 300],
                    },
                    inflate::Op::RoundTrip {
                        data: b"abcabcabcabc".repeat(50),
                        cuts: vec![],
                    },
                ],
            },
        ),
    ];
    for (name, input) in &seeds {
        c.put("deflate_inflate", name, &encoded(input));
    }

    // differential.
    let send = |from_client, body, how| diff::Op::Send {
        from_client,
        body,
        how,
    };
    let ops = [
        send(true, diff::Body::Text(HELLO.to_vec()), diff::How::Whole),
        send(
            false,
            diff::Body::Text(HELLO.to_vec()),
            diff::How::Fragments(vec![3]),
        ),
        diff::Op::Ping {
            from_client: true,
            payload: b"ping".to_vec(),
        },
        diff::Op::Pump {
            c2s: true,
            n: 9,
            piece: 2,
        },
        send(
            true,
            diff::Body::Run {
                text: false,
                len: 60_000,
                byte: 7,
            },
            diff::How::Fragments(vec![100, 4000]),
        ),
        send(
            false,
            diff::Body::Binary(vec![1, 2, 3]),
            diff::How::Uncompressed,
        ),
        diff::Op::Pump {
            c2s: false,
            n: 0,
            piece: 1,
        },
        send(
            true,
            diff::Body::Text("Hello-µ@ßöä".as_bytes().to_vec()),
            diff::How::Fragments(vec![7, 8]),
        ),
    ];
    let dk = |snct, cnct, sbits, cbits| Knobs {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
        threshold: 0,
        level: 1,
    };
    for (name, deflate) in [
        ("plain", diff::Deflate::Off),
        ("default-deflate", diff::Deflate::Default),
        (
            "custom-deflate",
            diff::Deflate::Custom {
                client: dk(true, false, Some(2), None),
                server: dk(false, true, None, Some(0)),
            },
        ),
    ] {
        let ops = ops.iter().map(clone_op).collect();
        let input = diff::Input {
            deflate,
            client_frame: Some(125),
            server_frame: None,
            ops,
        };
        c.put("differential", name, &encoded(&input));
    }

    println!("corpus: {} bytes", c.total);
    assert!(c.total < 1 << 20, "keep the corpus under 1 MB");
}

fn deflate_setup_clone(s: &Setup) -> Setup {
    Setup {
        deflate: s.deflate,
        max_frame_size: s.max_frame_size,
        max_message_size: s.max_message_size,
        max_fragments: s.max_fragments,
        max_send_frame_size: s.max_send_frame_size,
        timers: s.timers,
    }
}

fn clone_op(op: &diff::Op) -> diff::Op {
    match op {
        diff::Op::Send {
            from_client,
            body,
            how,
        } => diff::Op::Send {
            from_client: *from_client,
            body: match body {
                diff::Body::Text(b) => diff::Body::Text(b.clone()),
                diff::Body::Binary(b) => diff::Body::Binary(b.clone()),
                diff::Body::Run { text, len, byte } => diff::Body::Run {
                    text: *text,
                    len: *len,
                    byte: *byte,
                },
            },
            how: match how {
                diff::How::Whole => diff::How::Whole,
                diff::How::Uncompressed => diff::How::Uncompressed,
                diff::How::Fragments(c) => diff::How::Fragments(c.clone()),
            },
        },
        diff::Op::Ping {
            from_client,
            payload,
        } => diff::Op::Ping {
            from_client: *from_client,
            payload: payload.clone(),
        },
        diff::Op::Pump { c2s, n, piece } => diff::Op::Pump {
            c2s: *c2s,
            n: *n,
            piece: *piece,
        },
    }
}

/// `n` zero bytes compressed as one permessage-deflate message.
fn deflate_zeros(n: usize) -> Vec<u8> {
    let (client_wire, _) = recorded(true, |conn| {
        if conn.role() == ws_core::Role::Client {
            conn.send(&Message::from(vec![0u8; n])).unwrap();
        }
    });
    let frames = ws_fuzz::wire::parse_valid_frames(&client_wire);
    frames[0].payload.clone()
}
