//! Layer 3 of the tests (docs/architecture.md, "Tests, in layers"): property tests.
//!
//! (a) any message sequence, sent by either role, the byte stream cut anywhere, arrives intact and in order;
//! (b) any byte sequence, in any chunks, with any time steps, never panics, ends with at most one terminal
//!     event (exactly one after EOF) and stays within the limits;
//! (c) random interleavings of commands, partial pumps and time steps on both sides keep the close-handshake
//!     invariants.

mod common;

use bytes::Buf;
use common::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use ws_core::{CloseCode, Config, Connection, DataKind, Event, Instant, Limits, Message, Timeouts};

// ----- (a) messages arrive intact -----

/// A message and how to send it: whole, or as fragments cut at the given points (which may split a
/// character of a text message).
#[derive(Clone, Debug)]
struct Outgoing {
    message: Message,
    cuts: Option<Vec<usize>>,
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        vec(any::<char>(), 0..1200).prop_map(|c| Message::from(c.into_iter().collect::<String>())),
        vec(any::<u8>(), 0..5000).prop_map(Message::from),
        Just(Message::from("")),
        Just(Message::from(Vec::new())),
    ]
}

fn outgoing() -> impl Strategy<Value = Outgoing> {
    (
        message(),
        option::weighted(0.3, vec(any::<prop::sample::Index>(), 0..5)),
    )
        .prop_map(|(message, idx)| {
            let cuts = idx.map(|idx| {
                let mut cuts: Vec<usize> = idx.iter().map(|i| i.index(message.len() + 1)).collect();
                cuts.sort();
                cuts
            });
            Outgoing { message, cuts }
        })
}

fn send(conn: &mut Connection, out: &Outgoing) {
    match &out.cuts {
        None => conn.send(&out.message).unwrap(),
        Some(cuts) => {
            let kind = if out.message.is_text() {
                DataKind::Text
            } else {
                DataKind::Binary
            };
            let bytes = out.message.as_bytes();
            let mut start = 0;
            for &cut in cuts {
                conn.send_fragment(kind, &bytes[start..cut], false).unwrap();
                start = cut;
            }
            conn.send_fragment(kind, &bytes[start..], true).unwrap();
        }
    }
}

/// Read sizes: mostly small (cutting headers and characters), sometimes large.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    vec(prop_oneof![1usize..16, 1usize..7000], 1..16)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// RFC 6455 sections 5.4 and 6: whatever the framing and the read sizes, messages arrive intact and in
    /// order, in both directions at once.
    #[test]
    fn rfc6455_5_4_any_messages_arrive_intact_and_in_order(
        from_client in vec(outgoing(), 0..12),
        from_server in vec(outgoing(), 0..12),
        client_frame_size in option::of(1usize..6000),
        server_frame_size in option::of(1usize..6000),
        read_sizes in cuts(),
        interleave in vec(1usize..4000, 0..8),
    ) {
        let client_config = quiet_config().max_send_frame_size(client_frame_size);
        let server_config = quiet_config().max_send_frame_size(server_frame_size);
        let mut pair = Pair::open_with(client_config, server_config);
        pair.cuts = read_sizes;
        let mut received_by_server = Vec::new();
        let mut received_by_client = Vec::new();
        let longest = from_client.len().max(from_server.len());
        for i in 0..longest {
            if let Some(m) = from_client.get(i) {
                send(&mut pair.client, m);
            }
            if let Some(m) = from_server.get(i) {
                send(&mut pair.server, m);
            }
            // Move part of the bytes now and then, so frames are cut mid-way between sends.
            if let Some(&n) = interleave.get(i) {
                pair.c2s_partial(n);
                pair.s2c_partial(n);
            }
            received_by_server.extend(messages(&pair.server_events()));
            received_by_client.extend(messages(&pair.client_events()));
        }
        pair.pump();
        received_by_server.extend(messages(&pair.server_events()));
        received_by_client.extend(messages(&pair.client_events()));
        let expected_by_server: Vec<Message> = from_client.iter().map(|o| o.message.clone()).collect();
        let expected_by_client: Vec<Message> = from_server.iter().map(|o| o.message.clone()).collect();
        prop_assert_eq!(received_by_server, expected_by_server);
        prop_assert_eq!(received_by_client, expected_by_client);

        // The frames respect max_send_frame_size.
        let (_, client_frames) = split_head(&pair.client_wire);
        for f in parse_frames(client_frames) {
            prop_assert!(f.masked);
            if let Some(max) = client_frame_size {
                prop_assert!(f.payload.len() <= max.max(1));
            }
        }
        let (_, server_frames) = split_head(&pair.server_wire);
        for f in parse_frames(server_frames) {
            prop_assert!(!f.masked);
            if let Some(max) = server_frame_size {
                prop_assert!(f.payload.len() <= max.max(1));
            }
        }
    }
}

// ----- (b) arbitrary input -----

fn small_config() -> Config {
    Config::default()
        .limits(
            Limits::default()
                .max_head_bytes(512)
                .max_headers(16)
                .max_frame_size(300)
                .max_message_size(600)
                .max_fragments(5)
                .max_queued_output(4096),
        )
        .timeouts(
            Timeouts::default()
                .handshake(Some(secs(5)))
                .keepalive_interval(Some(secs(2)))
                .pong(Some(secs(1)))
                .close(Some(secs(1))),
        )
        .max_send_frame_size(None)
        .extensions(None)
}

/// A frame with a random first byte, mostly-plausible length and mask bit, and random payload: deep enough
/// into the state machine to exercise fragmentation, control frames, UTF-8 and limits.
fn soup_frame(masked_mostly: bool) -> impl Strategy<Value = Vec<u8>> {
    let b0 = prop_oneof![
        3 => prop::sample::select(vec![0x00u8, 0x01, 0x02, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8a]),
        1 => any::<u8>(),
    ];
    let payload = prop_oneof![
        4 => vec(any::<u8>(), 0..40),
        2 => vec(any::<char>(), 0..20).prop_map(|c| c.into_iter().collect::<String>().into_bytes()),
        1 => vec(any::<u8>(), 0..400),
    ];
    let close = (
        prop::sample::select(vec![1000u16, 1001, 1005, 1006, 3000, 0, 5000]),
        vec(any::<u8>(), 0..6),
    )
        .prop_map(|(code, reason)| close_payload(code, &reason));
    let masked = if masked_mostly { 0.9 } else { 0.1 };
    (
        b0,
        prop_oneof![4 => payload, 1 => close],
        proptest::bool::weighted(masked),
        any::<[u8; 4]>(),
    )
        .prop_map(|(b0, payload, masked, key)| frame(b0, &payload, masked.then_some(key)))
}

fn soup(masked_mostly: bool) -> impl Strategy<Value = Vec<u8>> {
    vec(soup_frame(masked_mostly), 0..12).prop_map(|frames| frames.concat())
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..2000)
}

/// A valid head with a few bytes changed, then frames or garbage.
fn mutated(head: Vec<u8>, tail: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let len = head.len();
    (vec((0..len, any::<u8>()), 0..3), tail).prop_map(move |(flips, tail)| {
        let mut bytes = head.clone();
        for (i, b) in flips {
            bytes[i] = b;
        }
        bytes.extend_from_slice(&tail);
        bytes
    })
}

/// Feeds `input` to `conn` in `cuts`-sized pieces, moving time by `steps`, writing the output and polling
/// the events now and then (per `drains`: (write, poll)), and checks the invariants; finally delivers EOF and
/// checks that exactly one terminal event happened.
fn feed_arbitrary(
    mut conn: Connection,
    input: &[u8],
    cuts: &[usize],
    steps: &[u64],
    drains: &[(bool, bool)],
) -> Result<(), TestCaseError> {
    let limits = conn.config().limits;
    let mut now = Instant::ZERO; // every connection fed here was made at time zero and fed nothing later
    let mut events = Vec::new();
    let mut fed = 0usize;
    let mut written = 0usize;
    let mut step = 0;
    let mut pieces = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let n = cuts[pieces.len() % cuts.len()].min(input.len() - pos);
        pieces.push(&input[pos..pos + n]);
        pos += n;
    }
    for (i, piece) in pieces.iter().enumerate() {
        conn.receive(piece, now);
        fed += piece.len();
        now = now + ms(steps[i % steps.len()]);
        conn.handle_time(now);
        step += 1;
        let (write, poll) = drains[i % drains.len()];
        if write {
            written += take_output(&mut conn).len();
        }
        if poll {
            events.extend(drain(&mut conn));
        }
        // Output grows with input (a pong per ping, one close frame or HTTP error) and with time (a
        // keepalive ping per step), never beyond.
        let bound = 4 * fed + 1024 + 16 * step;
        prop_assert!(
            conn.output().remaining() + written <= bound,
            "output {} + {} after {} input bytes",
            conn.output().remaining(),
            written,
            fed
        );
    }
    conn.receive_eof(now);
    conn.handle_time(now + secs(60));
    events.extend(drain(&mut conn));
    take_output(&mut conn);
    let _ = conn.poll_shutdown();
    prop_assert!(conn.is_finished(), "finished after EOF: {conn:?}");
    let terminal: Vec<&Event> = events.iter().filter(|e| e.is_terminal()).collect();
    prop_assert_eq!(
        terminal.len(),
        1,
        "exactly one terminal event: {:?}",
        events
    );
    prop_assert!(
        events.last().unwrap().is_terminal(),
        "terminal last: {:?}",
        events
    );
    for event in &events {
        match event {
            Event::Message(m) => prop_assert!(m.len() <= limits.max_message_size),
            Event::Ping(p) | Event::Pong(p) => prop_assert!(p.len() <= 125),
            Event::Closed(Some(f)) => prop_assert!(f.reason.len() <= 123),
            Event::Rejected(r) => prop_assert!(r.body.len() <= limits.max_head_bytes),
            _ => {}
        }
    }
    // Dead after the end: more input changes nothing.
    conn.receive(input, now + secs(60));
    prop_assert!(conn.poll_event().is_none());
    prop_assert!(!conn.output().has_remaining());
    Ok(())
}

fn pieces() -> impl Strategy<Value = Vec<usize>> {
    vec(prop_oneof![1usize..4, 1usize..64, 1usize..3000], 1..10)
}

fn steps() -> impl Strategy<Value = Vec<u64>> {
    vec(prop_oneof![Just(0u64), 0u64..50, 0u64..1500], 1..10)
}

fn drains() -> impl Strategy<Value = Vec<(bool, bool)>> {
    vec(any::<(bool, bool)>(), 1..5)
}

fn client_request_bytes() -> Vec<u8> {
    let mut client = Connection::client(&default_request(), small_config(), [1; 32], Instant::ZERO);
    take_output(&mut client)
}

fn client_pending() -> Connection {
    let mut client = Connection::client(&default_request(), small_config(), [1; 32], Instant::ZERO);
    take_output(&mut client);
    client
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// RFC 6455 section 5.2 (and 10.4, limits): an open server fed anything.
    #[test]
    fn rfc6455_5_2_open_server_survives_any_input(
        input in prop_oneof![soup(true), garbage()],
        cuts in pieces(), steps in steps(), drains in drains(),
    ) {
        feed_arbitrary(open_server(small_config()), &input, &cuts, &steps, &drains)?;
    }

    /// RFC 6455 section 4.2.1: a fresh server fed anything, including slightly broken requests followed
    /// by frames.
    #[test]
    fn rfc6455_4_2_1_new_server_survives_any_input(
        input in prop_oneof![
            garbage(),
            mutated(REQUEST.as_bytes().to_vec(), soup(true)),
            mutated(client_request_bytes(), garbage()),
        ],
        cuts in pieces(), steps in steps(), drains in drains(),
        accept in any::<bool>(),
    ) {
        let mut server = Connection::server(small_config(), Instant::ZERO);
        // Play the application: accept or reject the request as soon as it shows up.
        let mut pos = 0;
        let mut events = Vec::new();
        while pos < input.len() {
            let n = cuts[pos % cuts.len()].min(input.len() - pos);
            server.receive(&input[pos..pos + n], Instant::ZERO);
            pos += n;
            let new = drain(&mut server);
            let request = new.iter().any(|e| matches!(e, Event::Request(_)));
            events.extend(new);
            if request {
                if accept {
                    server.accept(ws_core::Accept::new(), Instant::ZERO).unwrap();
                } else {
                    server.reject(ws_core::http::Response::new(403, "no"), Instant::ZERO).unwrap();
                }
                break;
            }
        }
        let terminated_early = events.iter().any(|e| e.is_terminal());
        prop_assert!(events.iter().filter(|e| e.is_terminal()).count() <= 1);
        let rest = &input[pos..];
        if terminated_early {
            server.receive(rest, Instant::ZERO);
            prop_assert!(server.poll_event().is_none());
        } else {
            feed_arbitrary(server, rest, &cuts, &steps, &drains)?;
        }
    }

    /// RFC 6455 section 5.2: an open client fed anything.
    #[test]
    fn rfc6455_5_2_open_client_survives_any_input(
        input in prop_oneof![soup(false), garbage()],
        cuts in pieces(), steps in steps(), drains in drains(),
    ) {
        feed_arbitrary(open_client(small_config()), &input, &cuts, &steps, &drains)?;
    }

    /// RFC 6455 section 4.1: a client awaiting its response fed anything, including slightly broken
    /// 101 and non-101 responses.
    #[test]
    fn rfc6455_4_1_new_client_survives_any_response(
        input in prop_oneof![
            garbage(),
            mutated(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\n".to_vec(), garbage()),
            mutated(response_101(&client_request_bytes(), "").into_bytes(), soup(false)),
        ],
        cuts in pieces(), steps in steps(), drains in drains(),
    ) {
        feed_arbitrary(client_pending(), &input, &cuts, &steps, &drains)?;
    }
}

// ----- (c) the close handshake under random interleavings -----

#[derive(Clone, Debug)]
enum Op {
    Send {
        client: bool,
        out: Outgoing,
    },
    Fragment {
        client: bool,
        text: bool,
        data: String,
        fin: bool,
    },
    Ping {
        client: bool,
        payload: Vec<u8>,
    },
    Close {
        client: bool,
        code: u16,
        reason: String,
    },
    Pump {
        to_server: bool,
        max: usize,
    },
    Time(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let small_message = prop_oneof![
        vec(any::<char>(), 0..50).prop_map(|c| Message::from(c.into_iter().collect::<String>())),
        vec(any::<u8>(), 0..300).prop_map(Message::from),
    ];
    let small_outgoing = (
        small_message,
        option::weighted(0.2, vec(any::<prop::sample::Index>(), 0..3)),
    )
        .prop_map(|(message, idx)| {
            let cuts = idx.map(|idx| {
                let mut cuts: Vec<usize> = idx.iter().map(|i| i.index(message.len() + 1)).collect();
                cuts.sort();
                cuts
            });
            Outgoing { message, cuts }
        });
    prop_oneof![
        4 => (any::<bool>(), small_outgoing).prop_map(|(client, out)| Op::Send { client, out }),
        2 => (any::<bool>(), any::<bool>(), "[a-zé€]{0,6}", any::<bool>())
            .prop_map(|(client, text, data, fin)| Op::Fragment { client, text, data, fin }),
        1 => (any::<bool>(), vec(any::<u8>(), 0..8)).prop_map(|(client, payload)| Op::Ping { client, payload }),
        1 => (any::<bool>(), prop::sample::select(vec![1000u16, 1001, 1005, 1008, 3000, 4999]), "[a-z]{0,8}")
            .prop_map(|(client, code, reason)| Op::Close { client, code, reason }),
        6 => (any::<bool>(), prop_oneof![1usize..8, 1usize..400]).prop_map(|(to_server, max)| Op::Pump { to_server, max }),
        2 => prop_oneof![0u64..100, 0u64..2500].prop_map(Op::Time),
    ]
}

/// One side's bookkeeping: what it sent successfully, what it received, its events.
#[derive(Default)]
struct Side {
    sent: Vec<Message>,
    fragment: Option<(DataKind, Vec<u8>)>,
    events: Vec<Event>,
    /// Length of the wire when this side shut its write side (nothing may follow).
    wire_at_shutdown: Option<usize>,
    /// It shut down with output left (the close timeout gave up on the peer): the wire may end mid-frame.
    abandoned: bool,
}

impl Side {
    fn record(&mut self, events: Vec<Event>) -> Result<(), TestCaseError> {
        for event in events {
            prop_assert!(
                !self.events.iter().any(|e| e.is_terminal()),
                "event {:?} after a terminal event in {:?}",
                event,
                self.events
            );
            self.events.push(event);
        }
        Ok(())
    }

    fn terminal(&self) -> Option<&Event> {
        self.events.iter().find(|e| e.is_terminal())
    }
}

fn to_message(kind: DataKind, data: Vec<u8>) -> Message {
    match kind {
        DataKind::Text => Message::from(String::from_utf8(data).expect("whole strings were sent")),
        DataKind::Binary => Message::from(data),
    }
}

fn run_ops(ops: &[Op], close_timeout: bool) -> Result<(), TestCaseError> {
    let config = Config::default()
        .timeouts(
            Timeouts::default()
                .handshake(None)
                .keepalive_interval(Some(secs(3)))
                .pong(Some(secs(2)))
                .close(close_timeout.then_some(secs(2))),
        )
        .max_send_frame_size(Some(64));
    let mut pair = Pair::open_with(config.clone(), config);
    let handshake_len = (pair.client_wire.len(), pair.server_wire.len());
    let mut client = Side::default();
    let mut server = Side::default();

    fn settle(pair: &mut Pair, client: &mut Side, server: &mut Side) -> Result<(), TestCaseError> {
        client.record(pair.client_events())?;
        server.record(pair.server_events())?;
        let client_had_output = pair.client.output().has_remaining();
        if client.wire_at_shutdown.is_none() && pair.client.poll_shutdown() {
            client.wire_at_shutdown = Some(pair.client_wire.len());
            client.abandoned = client_had_output;
            pair.server.receive_eof(pair.now);
        }
        let server_had_output = pair.server.output().has_remaining();
        if server.wire_at_shutdown.is_none() && pair.server.poll_shutdown() {
            server.wire_at_shutdown = Some(pair.server_wire.len());
            server.abandoned = server_had_output;
            pair.client.receive_eof(pair.now);
        }
        client.record(pair.client_events())?;
        server.record(pair.server_events())?;
        Ok(())
    }

    for op in ops {
        match op.clone() {
            Op::Send {
                client: is_client,
                out,
            } => {
                let (conn, side) = if is_client {
                    (&mut pair.client, &mut client)
                } else {
                    (&mut pair.server, &mut server)
                };
                let ok = match &out.cuts {
                    None => conn.send(&out.message).is_ok(),
                    Some(_) if side.fragment.is_some() => false,
                    Some(_) => {
                        // All or nothing: the first fragment decides.
                        let can = conn.send_fragment(
                            if out.message.is_text() {
                                DataKind::Text
                            } else {
                                DataKind::Binary
                            },
                            &[],
                            false,
                        );
                        if can.is_ok() {
                            let kind = if out.message.is_text() {
                                DataKind::Text
                            } else {
                                DataKind::Binary
                            };
                            let bytes = out.message.as_bytes();
                            let mut start = 0;
                            for &cut in out.cuts.as_ref().unwrap() {
                                conn.send_fragment(kind, &bytes[start..cut], false).unwrap();
                                start = cut;
                            }
                            conn.send_fragment(kind, &bytes[start..], true).unwrap();
                        }
                        can.is_ok()
                    }
                };
                if ok {
                    side.sent.push(out.message.clone());
                }
            }
            Op::Fragment {
                client: is_client,
                text,
                data,
                fin,
            } => {
                let (conn, side) = if is_client {
                    (&mut pair.client, &mut client)
                } else {
                    (&mut pair.server, &mut server)
                };
                let kind = if text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                if conn.send_fragment(kind, data.as_bytes(), fin).is_ok() {
                    let (k, buf) = side.fragment.get_or_insert((kind, Vec::new()));
                    prop_assert_eq!(*k, kind, "kinds can not change mid-message");
                    buf.extend_from_slice(data.as_bytes());
                    if fin {
                        let (k, buf) = side.fragment.take().unwrap();
                        side.sent.push(to_message(k, buf));
                    }
                }
            }
            Op::Ping {
                client: is_client,
                payload,
            } => {
                let conn = if is_client {
                    &mut pair.client
                } else {
                    &mut pair.server
                };
                let _ = conn.ping(&payload);
            }
            Op::Close {
                client: is_client,
                code,
                reason,
            } => {
                let conn = if is_client {
                    &mut pair.client
                } else {
                    &mut pair.server
                };
                let reason = if code == 1005 { String::new() } else { reason };
                let _ = conn.close(CloseCode(code), &reason, pair.now);
            }
            Op::Pump { to_server, max } => {
                if to_server {
                    pair.c2s_partial(max);
                } else {
                    pair.s2c_partial(max);
                }
            }
            Op::Time(step) => pair.advance(ms(step)),
        }
        settle(&mut pair, &mut client, &mut server)?;
    }

    // Close (if nobody did), then pump to quiescence, letting time pass for the timers.
    let _ = pair.client.close(CloseCode::NORMAL, "end", pair.now);
    for _ in 0..40 {
        pair.pump();
        settle(&mut pair, &mut client, &mut server)?;
        if pair.client.is_finished() && pair.server.is_finished() {
            break;
        }
        if client.terminal().is_some() && server.terminal().is_some() && !close_timeout {
            // Without a close timeout a side may wait for its peer's EOF forever if the peer never shuts
            // down (a client never does after a clean close): give it the EOF a dropped socket would.
            if !pair.client.output().has_remaining() && !pair.server.output().has_remaining() {
                break;
            }
        }
        pair.advance(ms(700));
    }

    // Exactly one terminal event each, and it is the last.
    for (name, side) in [("client", &client), ("server", &server)] {
        let terminals = side.events.iter().filter(|e| e.is_terminal()).count();
        prop_assert_eq!(terminals, 1, "{} events: {:?}", name, side.events);
        prop_assert!(side.events.last().unwrap().is_terminal());
    }

    // The wire: no data frame after a close frame, at most one close frame per side, nothing after the
    // write side was shut.
    let wire_frames = |wire: &[u8], side: &Side| -> Result<Vec<WireFrame>, TestCaseError> {
        let (frames, used) = parse_frames_prefix(wire);
        prop_assert!(
            used == wire.len() || side.abandoned,
            "trailing bytes that are not a whole frame"
        );
        Ok(frames)
    };
    let client_frames = wire_frames(&pair.client_wire[handshake_len.0..], &client)?;
    let server_frames = wire_frames(&pair.server_wire[handshake_len.1..], &server)?;
    for (name, frames, side, wire_len) in [
        ("client", &client_frames, &client, pair.client_wire.len()),
        ("server", &server_frames, &server, pair.server_wire.len()),
    ] {
        let closes: Vec<usize> = (0..frames.len())
            .filter(|&i| frames[i].opcode == OP_CLOSE)
            .collect();
        prop_assert!(
            closes.len() <= 1,
            "{} sent {} close frames",
            name,
            closes.len()
        );
        if let Some(&at) = closes.first() {
            prop_assert!(
                frames[at + 1..].is_empty(),
                "{} sent {:?} after its close frame",
                name,
                &frames[at + 1..]
            );
        }
        if let Some(len) = side.wire_at_shutdown {
            prop_assert_eq!(len, wire_len, "{} wrote after shutting down", name);
        }
    }

    // Messages: each side received a prefix of what the other sent, in order; all of it when the close
    // handshake completed cleanly, and the close frame it reports is the one on the wire.
    for (receiver, sender, sender_frames) in [
        (&server, &client, &client_frames),
        (&client, &server, &server_frames),
    ] {
        let received = messages(&receiver.events);
        prop_assert!(received.len() <= sender.sent.len());
        prop_assert_eq!(&received[..], &sender.sent[..received.len()]);
        if let Some(Event::Closed(frame)) = receiver.terminal() {
            prop_assert_eq!(
                &received,
                &sender.sent,
                "a clean close delivers every message"
            );
            let wire_close = sender_frames.iter().find(|f| f.opcode == OP_CLOSE);
            prop_assert!(wire_close.is_some());
            let wire_close = wire_close.unwrap();
            match frame {
                None => prop_assert!(wire_close.payload.is_empty()),
                Some(f) => {
                    prop_assert_eq!(Some(f.code.0), wire_close.close_code());
                    prop_assert_eq!(f.reason.as_str(), wire_close.close_reason());
                }
            }
        }
    }

    // Pongs answer pings: never more pongs than pings the peer sent.
    let count = |frames: &[WireFrame], op: u8| frames.iter().filter(|f| f.opcode == op).count();
    prop_assert!(count(&server_frames, OP_PONG) <= count(&client_frames, OP_PING));
    prop_assert!(count(&client_frames, OP_PONG) <= count(&server_frames, OP_PING));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// RFC 6455 section 7: random interleavings of sends, pings, closes, partial pumps and time steps on
    /// both sides keep the close handshake's invariants.
    #[test]
    fn rfc6455_7_close_handshake_invariants_hold_under_any_interleaving(
        ops in vec(op(), 0..60),
        close_timeout in any::<bool>(),
    ) {
        run_ops(&ops, close_timeout)?;
    }
}
