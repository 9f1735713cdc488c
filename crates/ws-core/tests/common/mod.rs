//! Shared helpers for the behavioural tests: an in-memory client/server pair with a virtual clock, a wire
//! parser for what a connection wrote, and builders for hand-written frames and requests.
//!
//! No sleeping and no threads: bytes move when a test says so, cut into chunks of the sizes it chooses, and
//! time moves when a test calls `advance`.

#![allow(dead_code)]
// Each test file includes this module privately (`mod common;`), so its `pub` items are crate-visible only;
// spelling them `pub(crate)` is left for when the pumping helpers here have settled (they are being reworked).
#![allow(unreachable_pub)]

use std::time::Duration;

use bytes::Buf;
use ws_core::{
    Accept, ClientRequest, Config, Connection, Event, Instant, Opened, Request, Timeouts,
};

/// A client and a server wired together in memory.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    /// The virtual clock (both sides see the same time).
    pub now: Instant,
    /// Sizes of the pieces bytes are cut into on their way, used in turn (cycled). Empty: whole.
    pub cuts: Vec<usize>,
    cut_index: usize,
    /// Every byte the client wrote (handshake included), in order.
    pub client_wire: Vec<u8>,
    /// Every byte the server wrote (handshake included), in order.
    pub server_wire: Vec<u8>,
    /// Whether the client / server shut its write side (and the peer was told with `receive_eof`).
    pub client_shut: bool,
    pub server_shut: bool,
    /// Events taken from each side as bytes arrive, as a run loop does (see [`Pair::client_events`]).
    client_events: Vec<Event>,
    server_events: Vec<Event>,
}

/// The default request used by [`Pair::new`].
pub fn default_request() -> ClientRequest {
    ClientRequest::new("example.com", "/chat")
}

/// A config with no timers at all.
pub fn quiet_config() -> Config {
    Config::default().timeouts(Timeouts::none())
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

pub fn at(d: Duration) -> Instant {
    Instant::ZERO + d
}

impl Pair {
    /// A client (which has queued its request) and a server, nothing moved yet, at time zero.
    pub fn new(request: &ClientRequest, client_config: Config, server_config: Config) -> Pair {
        Pair {
            client: Connection::client(request, client_config, [7; 32], Instant::ZERO),
            server: Connection::server(server_config, Instant::ZERO),
            now: Instant::ZERO,
            cuts: Vec::new(),
            cut_index: 0,
            client_wire: Vec::new(),
            server_wire: Vec::new(),
            client_shut: false,
            server_shut: false,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Every event the client has emitted since the last call (in order).
    pub fn client_events(&mut self) -> Vec<Event> {
        self.client_events.extend(drain(&mut self.client));
        std::mem::take(&mut self.client_events)
    }

    /// Every event the server has emitted since the last call (in order).
    pub fn server_events(&mut self) -> Vec<Event> {
        self.server_events.extend(drain(&mut self.server));
        std::mem::take(&mut self.server_events)
    }

    /// Runs the opening handshake (the server accepts with `accept`); returns what each side saw.
    /// Events other than `Request` and `Open` fail the test.
    pub fn handshake(&mut self, accept: Accept) -> (Request, Opened) {
        self.c2s();
        let request = match self.server_events().as_slice() {
            [Event::Request(r)] => r.clone(),
            other => panic!("server expected one Request, got {other:?}"),
        };
        self.server.accept(accept, self.now).expect("accept");
        match self.server_events().as_slice() {
            [Event::Open(o)] => assert_eq!(o.headers.len(), 0, "server Opened has no headers"),
            other => panic!("server expected Open, got {other:?}"),
        }
        self.s2c();
        let opened = match self.client_events().as_slice() {
            [Event::Open(o)] => o.clone(),
            other => panic!("client expected Open, got {other:?}"),
        };
        (*request, *opened)
    }

    /// An open pair with the given configs and no subprotocol.
    pub fn open_with(client_config: Config, server_config: Config) -> Pair {
        let mut pair = Pair::new(&default_request(), client_config, server_config);
        pair.handshake(Accept::new());
        pair
    }

    /// An open pair with no timers.
    pub fn open() -> Pair {
        Pair::open_with(quiet_config(), quiet_config())
    }

    /// Cut every transfer into pieces of `n` bytes.
    pub fn chunked(mut self, n: usize) -> Pair {
        self.cuts = vec![n.max(1)];
        self
    }

    fn next_cut(&mut self) -> usize {
        if self.cuts.is_empty() {
            return usize::MAX;
        }
        let n = self.cuts[self.cut_index % self.cuts.len()].max(1);
        self.cut_index += 1;
        n
    }

    /// Moves up to `limit` bytes of `from`'s output into `to`, cut per `cuts`. Returns the bytes moved.
    fn transfer(&mut self, client_to_server: bool, limit: usize) -> usize {
        let mut moved = 0;
        let now = self.now;
        loop {
            let available = if client_to_server {
                self.client.output().remaining()
            } else {
                self.server.output().remaining()
            };
            if available == 0 || moved >= limit {
                return moved;
            }
            let n = self.next_cut().min(available).min(limit - moved);
            let (from, to, wire) = if client_to_server {
                (&mut self.client, &mut self.server, &mut self.client_wire)
            } else {
                (&mut self.server, &mut self.client, &mut self.server_wire)
            };
            let piece = take_n(&mut from.output(), n);
            wire.extend_from_slice(&piece);
            to.receive(&piece, now);
            // Like a run loop, take the events before reading more: the core may parse lazily, one event
            // at a time, and queue replies (pongs, close echoes) only as it goes.
            let events = drain(to);
            if client_to_server {
                self.server_events.extend(events);
            } else {
                self.client_events.extend(events);
            }
            moved += n;
        }
    }

    /// Moves all the client's output to the server.
    pub fn c2s(&mut self) -> usize {
        self.transfer(true, usize::MAX)
    }

    /// Moves all the server's output to the client.
    pub fn s2c(&mut self) -> usize {
        self.transfer(false, usize::MAX)
    }

    /// Moves at most `limit` bytes of the client's output to the server.
    pub fn c2s_partial(&mut self, limit: usize) -> usize {
        self.transfer(true, limit)
    }

    /// Moves at most `limit` bytes of the server's output to the client.
    pub fn s2c_partial(&mut self, limit: usize) -> usize {
        self.transfer(false, limit)
    }

    /// Moves bytes both ways until neither side has output left.
    pub fn pump(&mut self) {
        for _ in 0..1000 {
            if self.c2s() + self.s2c() == 0 {
                return;
            }
        }
        panic!("pump did not settle");
    }

    /// Like [`Pair::pump`], and when a side asks to shut its write side, tells the other with
    /// `receive_eof` (what TCP would do).
    pub fn pump_with_eof(&mut self) {
        for _ in 0..1000 {
            let mut progress = self.c2s() + self.s2c() > 0;
            if !self.client_shut && self.client.poll_shutdown() {
                self.client_shut = true;
                self.server.receive_eof(self.now);
                progress = true;
            }
            if !self.server_shut && self.server.poll_shutdown() {
                self.server_shut = true;
                self.client.receive_eof(self.now);
                progress = true;
            }
            if !progress {
                return;
            }
        }
        panic!("pump did not settle");
    }

    /// Moves the virtual clock forward by `d` and tells both sides.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.client.handle_time(self.now);
        self.server.handle_time(self.now);
    }

    /// Moves the virtual clock to `t` (not backwards) and tells both sides.
    pub fn set_time(&mut self, t: Instant) {
        assert!(t >= self.now, "the test clock never goes back");
        self.now = t;
        self.client.handle_time(self.now);
        self.server.handle_time(self.now);
    }
}

/// Every event the connection has queued.
pub fn drain(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Takes (and marks written) everything the connection has queued to write, every run of it.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    drain_output(&mut conn.output())
}

/// Takes (and marks written) everything in `out`, run by run (`chunk` then `advance`, as a writer does).
pub fn drain_output(out: &mut impl Buf) -> Vec<u8> {
    let n = out.remaining();
    take_n(out, n)
}

/// Takes (and marks written) the first `n` bytes of `out`, across runs (`chunk` then `advance`).
#[track_caller]
pub fn take_n(out: &mut impl Buf, n: usize) -> Vec<u8> {
    assert!(
        n <= out.remaining(),
        "taking {n} of {} bytes",
        out.remaining()
    );
    let mut taken = Vec::with_capacity(n);
    while taken.len() < n {
        let chunk = out.chunk();
        assert!(!chunk.is_empty(), "an empty chunk while bytes remain");
        let step = chunk.len().min(n - taken.len());
        taken.extend_from_slice(&chunk[..step]);
        out.advance(step);
    }
    taken
}

/// The messages among `events`.
pub fn messages(events: &[Event]) -> Vec<ws_core::Message> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Asserts `events` hold exactly one terminal event, and that it is the last; returns it.
#[track_caller]
pub fn single_terminal(events: &[Event]) -> &Event {
    let terminal: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].is_terminal())
        .collect();
    assert_eq!(
        terminal.len(),
        1,
        "expected exactly one terminal event in {events:?}"
    );
    assert_eq!(
        terminal[0],
        events.len() - 1,
        "the terminal event must be the last: {events:?}"
    );
    &events[terminal[0]]
}

// ----- the wire -----

// Frames are encoded and parsed by ws-testkit's reference toolkit (plain bytes, written independently of the
// crate's own codec). Each test file uses some of them.
#[allow(unused_imports)]
pub use ws_testkit::wire::{
    BINARY as OP_BINARY, CLOSE as OP_CLOSE, CONT as OP_CONT, Frame as WireFrame, PING as OP_PING,
    PONG as OP_PONG, TEXT as OP_TEXT, close_payload, frame, header, parse_frames,
    parse_frames_prefix,
};

/// Splits off an HTTP head (through the blank line). Panics when there is none.
#[track_caller]
pub fn split_head(bytes: &[u8]) -> (&str, &[u8]) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head")
        + 4;
    (std::str::from_utf8(&bytes[..end]).unwrap(), &bytes[end..])
}

/// The status code of an HTTP response head.
pub fn status_of(head: &str) -> u16 {
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// A header's value in an HTTP head (case-insensitive name).
pub fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// ----- hand-written input -----

/// A mask key for hand-written client frames.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as the client would send it to the server (masked).
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some(KEY))
}

/// A frame as the server would send it to the client (unmasked).
pub fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, None)
}

/// The RFC 6455 section 1.3 sample key, and a valid request carrying it.
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A server that has accepted [`REQUEST`]; its events and output are drained.
pub fn open_server(config: Config) -> Connection {
    let mut server = Connection::server(config, Instant::ZERO);
    server.receive(REQUEST.as_bytes(), Instant::ZERO);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new(), Instant::ZERO).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    let (head, rest) = {
        let out = take_output(&mut server);
        let (h, r) = split_head(&out);
        (h.to_string(), r.to_vec())
    };
    assert_eq!(status_of(&head), 101);
    assert!(rest.is_empty());
    server
}

/// The 101 response a server owes the request `request_bytes` (found by its Sec-WebSocket-Key).
pub fn response_101(request_bytes: &[u8], extra: &str) -> String {
    let (head, _) = split_head(request_bytes);
    let key = header_of(head, "sec-websocket-key").expect("a key");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key.as_bytes())
    )
}

/// A client that has received a hand-written 101; its events and output are drained.
pub fn open_client(config: Config) -> Connection {
    let mut client = Connection::client(&default_request(), config, [3; 32], Instant::ZERO);
    let request = take_output(&mut client);
    client.receive(response_101(&request, "").as_bytes(), Instant::ZERO);
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    assert!(!client.output().has_remaining());
    client
}

/// The Sec-WebSocket-Accept value for `key` (RFC 6455 section 4.2.2): base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}
