//! A client and a server wired together in memory: arbitrary messages (text or binary, up to 8 KiB, whole,
//! fragmented at arbitrary points, or uncompressed on a compressed connection) and pings, sent by either
//! role, with arbitrary `max_send_frame_size` on each side and optionally permessage-deflate (the default
//! offer, or arbitrary settings on both sides). The byte streams are cut into arbitrary pieces.
//!
//! Invariants: each side receives exactly the messages the other sent, in order, and a Ping event with the
//! payload of every ping (answered by a pong with the same payload); nothing fails; a final close
//! handshake completes on both sides with the right code.

use std::sync::Arc;

use crate::deflate_knobs::Knobs;
use arbitrary::Arbitrary;
use bytes::Buf;
use ws_core::deflate::{DeflateConfig, PerMessageDeflate};
use ws_core::{
    Accept, ClientRequest, CloseCode, Config, Connection, DataKind, Event, Instant, Message,
    SendOptions, Timeouts,
};

#[derive(Arbitrary, Debug)]
pub enum Deflate {
    Off,
    Default,
    Custom { client: Knobs, server: Knobs },
}

#[derive(Arbitrary, Debug)]
pub enum Body {
    /// Made valid UTF-8 (lossily).
    Text(Vec<u8>),
    Binary(Vec<u8>),
    /// A long, compressible message.
    Run {
        text: bool,
        len: u16,
        byte: u8,
    },
}

#[derive(Arbitrary, Debug)]
pub enum How {
    Whole,
    Uncompressed,
    Fragments(Vec<u16>),
}

#[derive(Arbitrary, Debug)]
pub enum Op {
    Send {
        from_client: bool,
        body: Body,
        how: How,
    },
    Ping {
        from_client: bool,
        payload: Vec<u8>,
    },
    /// Move up to `n` bytes (0: all) one way, in pieces of `piece` bytes (0: whole).
    Pump {
        c2s: bool,
        n: u16,
        piece: u8,
    },
}

#[derive(Arbitrary, Debug)]
pub struct Input {
    pub deflate: Deflate,
    pub client_frame: Option<u16>,
    pub server_frame: Option<u16>,
    pub ops: Vec<Op>,
}

struct Side {
    conn: Connection,
    /// Messages / pings the peer sent that this side must receive, in order.
    expect_messages: Vec<Message>,
    expect_pings: Vec<Vec<u8>>,
    messages: Vec<Message>,
    pings: Vec<Vec<u8>>,
    pongs: Vec<Vec<u8>>,
    closed: Option<Option<u16>>,
}

impl Side {
    fn new(conn: Connection) -> Side {
        Side {
            conn,
            expect_messages: Vec::new(),
            expect_pings: Vec::new(),
            messages: Vec::new(),
            pings: Vec::new(),
            pongs: Vec::new(),
            closed: None,
        }
    }

    fn drain(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            assert!(self.closed.is_none(), "event after Closed: {event:?}");
            match event {
                Event::Message(m) => self.messages.push(m),
                Event::Ping(p) => self.pings.push(p.to_vec()),
                Event::Pong(p) => self.pongs.push(p.to_vec()),
                Event::Closed(frame) => self.closed = Some(frame.map(|f| f.code.0)),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
}

fn config(deflate: Option<DeflateConfig>, frame: Option<u16>) -> Config {
    Config::default()
        .timeouts(Timeouts::none())
        .max_send_frame_size(frame.map(|n| n as usize % 4096))
        .extensions(deflate.map(|d| {
            Arc::new(PerMessageDeflate::new(d)) as Arc<dyn ws_core::extension::ExtensionFactory>
        }))
}

/// Moves up to `n` bytes from `from` to `to` in pieces of `piece` bytes.
fn pump(from: &mut Side, to: &mut Side, n: usize, piece: usize) -> usize {
    let mut moved = 0;
    while moved < n && from.conn.output().has_remaining() {
        let mut out = from.conn.output();
        let k = out.remaining().min(piece).min(n - moved);
        let bytes = out.copy_to_bytes(k);
        to.conn.receive(&bytes, Instant::ZERO);
        to.drain();
        moved += k;
    }
    moved
}

fn pump_all(client: &mut Side, server: &mut Side) {
    for _ in 0..1000 {
        let moved = pump(client, server, usize::MAX, usize::MAX)
            + pump(server, client, usize::MAX, usize::MAX);
        if moved == 0 {
            return;
        }
    }
    panic!("pumping did not settle");
}

fn body(b: &Body) -> Message {
    match b {
        Body::Text(b) => {
            let s = String::from_utf8_lossy(b);
            Message::from(&s[..floor(&s, 8192)])
        }
        Body::Binary(v) => Message::from(v[..v.len().min(8192)].to_vec()),
        Body::Run { text, len, byte } => {
            let len = *len as usize % 8192;
            if *text {
                Message::from(String::from(char::from(b'a' + byte % 26)).repeat(len))
            } else {
                Message::from(vec![*byte; len])
            }
        }
    }
}

fn floor(s: &str, max: usize) -> usize {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

fn send(conn: &mut Connection, message: &Message, how: &How) {
    match how {
        How::Whole => conn.send(message).unwrap(),
        How::Uncompressed => conn
            .send_with(message, SendOptions::default().compress(false))
            .unwrap(),
        How::Fragments(cuts) => {
            let bytes = message.as_bytes();
            let kind = if message.is_text() {
                DataKind::Text
            } else {
                DataKind::Binary
            };
            let mut points: Vec<usize> = cuts
                .iter()
                .take(8)
                .map(|&c| c as usize % (bytes.len() + 1))
                .collect();
            points.sort_unstable();
            let mut start = 0;
            for p in points {
                conn.send_fragment(kind, &bytes[start..p], false).unwrap();
                start = p;
            }
            conn.send_fragment(kind, &bytes[start..], true).unwrap();
        }
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let (client_deflate, server_deflate) = match &input.deflate {
        Deflate::Off => (None, None),
        Deflate::Default => (
            Some(DeflateConfig::default()),
            Some(DeflateConfig::default()),
        ),
        Deflate::Custom { client, server } => (Some(client.config()), Some(server.config())),
    };
    let request = ClientRequest::new("example.com", "/chat");
    let client = Connection::client(
        &request,
        config(client_deflate, input.client_frame),
        [7; 32],
        Instant::ZERO,
    );
    let server = Connection::server(config(server_deflate, input.server_frame), Instant::ZERO);
    let (mut client, mut server) = (Side::new(client), Side::new(server));

    // Handshake.
    let head = crate::take_output(&mut client.conn);
    server.conn.receive(&head, Instant::ZERO);
    let Some(Event::Request(_)) = server.conn.poll_event() else {
        panic!("no request")
    };
    server.conn.accept(Accept::new(), Instant::ZERO).unwrap();
    let Some(Event::Open(server_open)) = server.conn.poll_event() else {
        panic!("server not open")
    };
    let head = crate::take_output(&mut server.conn);
    client.conn.receive(&head, Instant::ZERO);
    let Some(Event::Open(client_open)) = client.conn.poll_event() else {
        panic!("client not open")
    };
    assert_eq!(
        server_open.extensions.is_some(),
        client_open.extensions.is_some()
    );
    if matches!(input.deflate, Deflate::Default) {
        assert!(
            client_open.extensions.is_some(),
            "the default offer must be accepted"
        );
    }

    for op in input.ops.iter().take(64) {
        match op {
            Op::Send {
                from_client,
                body: b,
                how,
            } => {
                let message = body(b);
                let (from, to) = if *from_client {
                    (&mut client, &mut server)
                } else {
                    (&mut server, &mut client)
                };
                send(&mut from.conn, &message, how);
                to.expect_messages.push(message);
            }
            Op::Ping {
                from_client,
                payload,
            } => {
                let payload = &payload[..payload.len().min(125)];
                let (from, to) = if *from_client {
                    (&mut client, &mut server)
                } else {
                    (&mut server, &mut client)
                };
                from.conn.ping(payload).unwrap();
                to.expect_pings.push(payload.to_vec());
            }
            Op::Pump { c2s, n, piece } => {
                let n = if *n == 0 { usize::MAX } else { *n as usize };
                let piece = if *piece == 0 {
                    usize::MAX
                } else {
                    *piece as usize
                };
                if *c2s {
                    pump(&mut client, &mut server, n, piece);
                } else {
                    pump(&mut server, &mut client, n, piece);
                }
            }
        }
        // What has arrived so far is a prefix of what was sent.
        for side in [&client, &server] {
            assert!(
                side.expect_messages.starts_with(&side.messages),
                "messages differ"
            );
            assert!(side.expect_pings.starts_with(&side.pings), "pings differ");
        }
    }
    pump_all(&mut client, &mut server);
    for (name, side, peer) in [("server", &server, &client), ("client", &client, &server)] {
        assert_eq!(
            side.messages.len(),
            side.expect_messages.len(),
            "{name} message count"
        );
        assert!(
            side.messages == side.expect_messages,
            "{name} received different messages"
        );
        assert_eq!(side.pings, side.expect_pings, "{name} pings");
        assert_eq!(peer.pongs, side.expect_pings, "pongs to the {name}'s pings");
    }

    // The close handshake completes.
    client
        .conn
        .close(CloseCode::NORMAL, "bye", Instant::ZERO)
        .unwrap();
    pump_all(&mut client, &mut server);
    assert_eq!(server.closed, Some(Some(1000)));
    assert_eq!(client.closed, Some(Some(1000)));
    assert!(server.conn.poll_shutdown());
}
