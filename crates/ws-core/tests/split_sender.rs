//! A connection split into its receiving part and a `Sender` (`Connection::split_sender`): messages,
//! pongs and close frames reach the wire whole and in a valid order, the close handshake works from
//! either half and from the peer, faults stop the sender, and `reunite` gives everything back.

mod common;

use bytes::Buf;
use common::*;
use ws_core::{
    CloseCode, Config, Connection, DataKind, Error, Event, Message, SendError, Sender, State,
    Timeout, Timeouts,
};

/// What the split side writes next: the connection's frames handed to the sender, then all of the
/// sender's output.
fn wire(conn: &mut Connection, sender: &mut Sender) -> Vec<u8> {
    conn.hand_output_to(sender);
    drain_output(&mut sender.output())
}

/// (opcode, payload) of each frame.
fn summary(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    parse_frames(bytes)
        .into_iter()
        .map(|f| (f.opcode, f.payload))
        .collect()
}

fn text(s: &str) -> Message {
    Message::from(s)
}

/// An open pair whose server runs only the given timers.
fn with_server_timeouts(timeouts: Timeouts) -> Pair {
    let server_config = Config::default().timeouts(timeouts);
    Pair::open_with(quiet_config(), server_config)
}

#[test]
fn the_sender_sends_while_the_connection_answers_pings() {
    let mut pair = Pair::open();
    let mut sender = pair.server.split_sender().unwrap();
    sender.send(&text("one")).unwrap();
    pair.client.ping(b"p").unwrap();
    pair.c2s();
    assert!(matches!(pair.server_events().as_slice(), [Event::Ping(p)] if &p[..] == b"p"));
    sender.send(&text("two")).unwrap();

    // The pong waits with the connection until it is handed over, then follows what was queued.
    assert_eq!(pair.server.output().chunk(), &[0x8a, 1, b'p']);
    let bytes = wire(&mut pair.server, &mut sender);
    assert_eq!(
        summary(&bytes),
        [
            (OP_TEXT, b"one".to_vec()),
            (OP_TEXT, b"two".to_vec()),
            (OP_PONG, b"p".to_vec())
        ]
    );
    assert!(!pair.server.output().has_remaining());
    pair.client.receive(&bytes, pair.now);
    let events = drain(&mut pair.client);
    assert_eq!(messages(&events), [text("one"), text("two")]);
    assert!(matches!(events.last(), Some(Event::Pong(p)) if &p[..] == b"p"));
}

#[test]
fn data_goes_through_the_sender_only() {
    let mut pair = Pair::open();
    let mut sender = pair.server.split_sender().unwrap();
    assert_eq!(pair.server.send(&text("x")), Err(SendError::Split));
    assert_eq!(
        pair.server.send(&Message::from(b"x".to_vec())),
        Err(SendError::Split)
    );
    assert_eq!(
        pair.server.send_fragment(DataKind::Text, b"x", true),
        Err(SendError::Split)
    );
    assert_eq!(pair.server.split_sender().unwrap_err(), SendError::Split);
    // Control frames still work on either half.
    pair.server.ping(b"c").unwrap();
    sender.ping(b"s").unwrap();
    let frames = summary(&wire(&mut pair.server, &mut sender));
    assert_eq!(frames, [(OP_PING, b"s".to_vec()), (OP_PING, b"c".to_vec())]);
}

#[test]
fn only_an_open_connection_with_no_fragmented_message_splits() {
    let mut server = Connection::server(quiet_config(), ws_core::Instant::ZERO);
    assert_eq!(server.split_sender().unwrap_err(), SendError::NotOpen);

    let mut pair = Pair::open();
    pair.server
        .send_fragment(DataKind::Binary, b"half", false)
        .unwrap();
    assert_eq!(
        pair.server.split_sender().unwrap_err(),
        SendError::FragmentInProgress
    );
    pair.server
        .send_fragment(DataKind::Binary, b"rest", true)
        .unwrap();
    pair.server.close(CloseCode::NORMAL, "", pair.now).unwrap();
    assert_eq!(pair.server.split_sender().unwrap_err(), SendError::Closed);
}

#[test]
fn output_queued_before_the_split_goes_first() {
    let mut pair = Pair::open();
    pair.server.send(&text("before")).unwrap();
    let mut sender = pair.server.split_sender().unwrap();
    assert!(
        !pair.server.output().has_remaining(),
        "the sender took the queue"
    );
    sender.send(&text("after")).unwrap();
    assert_eq!(
        summary(&wire(&mut pair.server, &mut sender)),
        [(OP_TEXT, b"before".to_vec()), (OP_TEXT, b"after".to_vec())]
    );
}

#[test]
fn a_close_from_the_sender_ends_the_handshake_on_the_connection() {
    let mut pair = Pair::open();
    let mut sender = pair.server.split_sender().unwrap();
    assert_eq!(sender.state(), State::Open);
    sender.send(&text("last")).unwrap();
    sender.close(CloseCode::NORMAL, "bye").unwrap();
    assert_ne!(sender.state(), State::Open);
    assert_eq!(sender.state(), State::Closing);
    assert_eq!(pair.server.state(), State::Closing);
    assert_eq!(sender.send(&text("more")), Err(SendError::Closed));
    assert_eq!(sender.close(CloseCode::NORMAL, ""), Err(SendError::Closed));
    assert_eq!(
        pair.server.close(CloseCode::NORMAL, "", pair.now),
        Err(SendError::Closed)
    );
    assert_eq!(pair.server.ping(b""), Err(SendError::Closed));

    // A ping that arrives now gets no pong: nothing may follow the close frame.
    pair.client.ping(b"late").unwrap();
    pair.c2s();
    assert!(matches!(pair.server_events().as_slice(), [Event::Ping(_)]));
    let bytes = wire(&mut pair.server, &mut sender);
    assert_eq!(
        summary(&bytes),
        [
            (OP_TEXT, b"last".to_vec()),
            (OP_CLOSE, close_payload(1000, b"bye"))
        ]
    );

    // The client answers; the connection ends cleanly and sends no close of its own.
    pair.client.receive(&bytes, pair.now);
    let events = drain(&mut pair.client);
    assert_eq!(messages(&events), [text("last")]);
    assert!(
        matches!(single_terminal(&events), Event::Closed(Some(f)) if f.code == CloseCode::NORMAL)
    );
    pair.c2s();
    let events = pair.server_events();
    assert!(matches!(single_terminal(&events), Event::Closed(Some(f)) if f.reason == "bye"));
    assert!(wire(&mut pair.server, &mut sender).is_empty());
    assert_eq!(pair.server.state(), State::Closed);
    assert_eq!(sender.state(), State::Closed);
    pair.server.hand_output_to(&mut sender);
    assert!(sender.poll_shutdown(), "the server closes TCP first");
    pair.server.receive_eof(pair.now);
    assert!(pair.server.is_finished());
}

#[test]
fn a_pong_still_with_the_connection_when_the_sender_closes_is_dropped() {
    let mut pair = Pair::open();
    let mut sender = pair.server.split_sender().unwrap();
    pair.client.ping(b"early").unwrap();
    pair.c2s();
    assert_eq!(
        pair.server.output().chunk(),
        &[0x8a, 5, b'e', b'a', b'r', b'l', b'y']
    );
    // The other half closes before the pong was handed over: the pong would follow the close.
    sender.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        summary(&wire(&mut pair.server, &mut sender)),
        [(OP_CLOSE, close_payload(1000, b""))]
    );
    assert!(!pair.server.output().has_remaining());
}

#[test]
fn a_close_from_the_sender_starts_the_connections_close_timer() {
    let mut pair = with_server_timeouts(Timeouts::none().close(Some(secs(10))));
    let mut sender = pair.server.split_sender().unwrap();
    // The sender closes; the connection learns of the close at its next step (1 s), and times the
    // wait from then.
    sender.close(CloseCode::NORMAL, "").unwrap();
    pair.server.handle_time(at(secs(1)));
    assert_eq!(pair.server.next_deadline(), Some(at(secs(11))));
    // The close frame is written while the wait runs (once the close timer gives up, what the sender
    // still holds is abandoned with the peer).
    let mut bytes = wire(&mut pair.server, &mut sender);
    pair.server.handle_time(at(secs(10)));
    assert!(drain(&mut pair.server).is_empty());
    pair.server.handle_time(at(secs(11)));
    let events = drain(&mut pair.server);
    assert!(matches!(
        single_terminal(&events),
        Event::Failed(Error::Timeout(Timeout::Close))
    ));
    // Only the sender's close frame went out: the failure owes the peer no second one.
    bytes.extend(wire(&mut pair.server, &mut sender));
    assert_eq!(summary(&bytes), [(OP_CLOSE, close_payload(1000, b""))]);
}

#[test]
fn a_sender_whose_connection_is_gone_gives_up_on_a_peer_that_stopped_reading() {
    let mut pair = with_server_timeouts(Timeouts::none().pong(Some(secs(5))));
    let mut sender = pair.server.split_sender().unwrap();
    sender.send(&text("waits")).unwrap();
    // While the connection lives, its own timers watch the peer: the sender keeps none.
    assert!(sender.handle_time(at(secs(1))).is_ok());
    assert_eq!(sender.next_deadline(), None);
    assert!(sender.handle_time(at(secs(100))).is_ok());

    drop(pair.server);
    // The write waits from 101 s; progress restarts the wait.
    assert!(sender.handle_time(at(secs(101))).is_ok());
    assert_eq!(sender.next_deadline(), Some(at(secs(106))));
    sender.output().advance(1);
    assert_eq!(sender.next_deadline(), None);
    assert!(sender.handle_time(at(secs(103))).is_ok());
    assert_eq!(sender.next_deadline(), Some(at(secs(108))));
    assert!(sender.handle_time(at(secs(107))).is_ok());
    assert_eq!(sender.state(), State::Open);

    assert!(matches!(
        sender.handle_time(at(secs(108))),
        Err(Error::Timeout(Timeout::Pong))
    ));
    assert_eq!(sender.output().remaining(), 0, "what waited is dropped");
    assert_eq!(sender.state(), State::Closed);
    assert_eq!(sender.send(&text("more")), Err(SendError::Closed));
    assert!(
        sender.handle_time(at(secs(200))).is_ok(),
        "it gives up once"
    );
    assert_eq!(sender.next_deadline(), None);
}

#[test]
fn a_sender_with_nothing_to_write_keeps_no_timer() {
    let mut pair = with_server_timeouts(Timeouts::none().pong(Some(secs(5))));
    let mut sender = pair.server.split_sender().unwrap();
    drop(pair.server);
    assert!(sender.handle_time(at(secs(1))).is_ok());
    assert!(sender.handle_time(at(secs(60))).is_ok());
    assert_eq!(sender.next_deadline(), None);
    sender.send(&text("still goes out")).unwrap();
    assert_eq!(sender.state(), State::Open);
}

#[test]
fn a_close_from_the_peer_is_answered_after_the_senders_messages() {
    let mut pair = Pair::open();
    let mut sender = pair.server.split_sender().unwrap();
    sender.send(&text("queued before the close")).unwrap();
    pair.client
        .close(CloseCode::GOING_AWAY, "away", pair.now)
        .unwrap();
    pair.c2s();
    let events = pair.server_events();
    assert!(
        matches!(single_terminal(&events), Event::Closed(Some(f)) if f.code == CloseCode::GOING_AWAY)
    );
    assert_ne!(sender.state(), State::Open);
    assert_eq!(sender.send(&text("too late")), Err(SendError::Closed));
    assert_eq!(sender.close(CloseCode::NORMAL, ""), Err(SendError::Closed));

    // The server shuts down only once the sender's output (with the reply handed to it) is written.
    pair.server.hand_output_to(&mut sender);
    assert!(!sender.poll_shutdown());
    assert_eq!(
        summary(&wire(&mut pair.server, &mut sender)),
        [
            (OP_TEXT, b"queued before the close".to_vec()),
            (OP_CLOSE, close_payload(1001, b"away"))
        ]
    );
    pair.server.hand_output_to(&mut sender);
    assert!(sender.poll_shutdown());
}

#[test]
fn a_peer_fault_fails_the_connection_and_stops_the_sender() {
    let mut pair = Pair::open();
    let mut sender = pair.server.split_sender().unwrap();
    // A client frame without a mask.
    pair.server.receive(&server_frame(0x81, b"x"), pair.now);
    let events = drain(&mut pair.server);
    assert!(matches!(
        single_terminal(&events),
        Event::Failed(Error::Protocol(_))
    ));
    assert_ne!(sender.state(), State::Open);
    assert_eq!(sender.send(&text("x")), Err(SendError::Closed));
    let frames = parse_frames(&wire(&mut pair.server, &mut sender));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1002));
}

#[test]
fn a_client_sender_masks_and_reunite_gives_sending_back() {
    let mut pair = Pair::open();
    let mut sender = pair.client.split_sender().unwrap();
    sender.send(&Message::from([1; 300].to_vec())).unwrap();
    sender.send(&Message::from("hello")).unwrap();
    let bytes = wire(&mut pair.client, &mut sender);
    assert!(parse_frames(&bytes).iter().all(|f| f.masked));
    pair.server.receive(&bytes, pair.now);
    assert_eq!(
        messages(&drain(&mut pair.server)),
        [Message::from(vec![1u8; 300]), text("hello")]
    );

    // A sender split off another connection is given back.
    let mut other = Pair::open();
    let stranger = other.client.split_sender().unwrap();
    let stranger = pair.client.reunite(stranger).unwrap_err();
    other.client.reunite(stranger).unwrap();

    // Reunited: what the sender still held goes first, then the connection sends again.
    sender
        .send_fragment(DataKind::Text, b"frag", false)
        .unwrap();
    pair.client.reunite(sender).unwrap();
    pair.client
        .send_fragment(DataKind::Text, b"ment", true)
        .unwrap();
    pair.client.send(&text("whole")).unwrap();
    pair.c2s();
    assert_eq!(
        messages(&pair.server_events()),
        [text("fragment"), text("whole")]
    );
    // And it can be split again.
    let mut again = pair.client.split_sender().unwrap();
    again.send(&text("again")).unwrap();
    pair.server
        .receive(&wire(&mut pair.client, &mut again), pair.now);
    assert_eq!(messages(&drain(&mut pair.server)), [text("again")]);
}

#[test]
fn halves_can_live_on_different_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Sender>();
    assert_send::<Connection>();
}

#[cfg(feature = "deflate")]
#[test]
fn deflate_keeps_its_context_across_split_and_reunite() {
    let config = Config::default().timeouts(Timeouts::none()).with_deflate();
    let mut pair = Pair::open_with(config.clone(), config);
    // Text that compresses poorly alone, but to almost nothing when it repeats.
    let mut seed = 12345u32;
    let body: String = (0..2000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            char::from(b'a' + (seed >> 16) as u8 % 26)
        })
        .collect();
    let compressed_len = |bytes: &[u8]| {
        let frames = parse_frames(bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].rsv, 0x40, "compressed");
        frames[0].payload.len()
    };

    pair.client.send(&Message::from(body.as_str())).unwrap();
    let first = take_output(&mut pair.client);
    assert!(compressed_len(&first) > 1000);
    pair.server.receive(&first, pair.now);

    let mut sender = pair.client.split_sender().unwrap();
    sender.send(&Message::from(body.as_str())).unwrap();
    let second = wire(&mut pair.client, &mut sender);
    assert!(compressed_len(&second) < 50, "the sender kept the context");
    pair.server.receive(&second, pair.now);

    // The split connection still inflates what arrives.
    let mut server_sender = pair.server.split_sender().unwrap();
    server_sender.send(&Message::from(body.as_str())).unwrap();
    pair.client
        .receive(&wire(&mut pair.server, &mut server_sender), pair.now);
    assert_eq!(messages(&drain(&mut pair.client)), [text(&body)]);

    pair.client.reunite(sender).unwrap();
    pair.client.send(&Message::from(body.as_str())).unwrap();
    let third = take_output(&mut pair.client);
    assert!(compressed_len(&third) < 50, "the context came back");
    pair.server.receive(&third, pair.now);
    assert_eq!(
        messages(&drain(&mut pair.server)),
        [text(&body), text(&body), text(&body)]
    );
}

// ----- random interleavings -----

mod interleavings {
    use super::*;
    use proptest::prelude::*;

    /// One step of a run: something one of the two halves, the peer or the wire does.
    #[derive(Clone, Debug)]
    enum Step {
        /// The sender queues a numbered binary message of this many bytes (at least 4).
        Send(usize),
        SenderClose,
        ConnectionClose,
        /// The connection pings; the peer's pong comes back with the next `PeerWrites`.
        ConnectionPing,
        /// The peer pings, or starts the close handshake; its bytes reach the connection.
        PeerPing,
        PeerClose,
        /// The connection hands its frames to the sender.
        Hand,
        /// Up to this many bytes of the sender's queue reach the peer.
        Write(usize),
        /// Whatever the peer queued reaches the connection.
        PeerWrites,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (4usize..3000).prop_map(Step::Send),
            1 => Just(Step::SenderClose),
            1 => Just(Step::ConnectionClose),
            1 => Just(Step::ConnectionPing),
            2 => Just(Step::PeerPing),
            1 => Just(Step::PeerClose),
            3 => Just(Step::Hand),
            4 => (1usize..5000).prop_map(Step::Write),
            2 => Just(Step::PeerWrites),
        ]
    }

    /// Moves the peer's (the client's) output to the split server.
    fn peer_writes(pair: &mut Pair) {
        let bytes = take_output(&mut pair.client);
        if !bytes.is_empty() {
            pair.server.receive(&bytes, pair.now);
            drain(&mut pair.server);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the order of steps: every message whose send succeeded reaches the peer whole and in
        /// order, ahead of the one close frame the server sends; nothing follows that close frame; the
        /// peer never sees a protocol fault.
        #[test]
        fn the_wire_stays_valid(steps in proptest::collection::vec(step(), 1..60)) {
            let mut pair = Pair::open();
            let mut sender = pair.server.split_sender().unwrap();
            let mut sent = Vec::new();
            let mut wire = Vec::new();
            let mut peer_events = Vec::new();
            let to_peer = |pair: &mut Pair,
                           sender: &mut Sender,
                           limit: usize,
                           wire: &mut Vec<u8>,
                           peer_events: &mut Vec<Event>| {
                let mut moved = 0;
                while moved < limit && sender.output().has_remaining() {
                    let n = sender.output().remaining().min(limit - moved);
                    let piece = take_n(&mut sender.output(), n);
                    pair.client.receive(&piece, pair.now);
                    peer_events.extend(drain(&mut pair.client));
                    wire.extend_from_slice(&piece);
                    moved += n;
                }
            };
            for step in steps {
                match step {
                    Step::Send(len) => {
                        let seq = sent.len() as u32;
                        let mut payload = vec![seq as u8; len];
                        payload[..4].copy_from_slice(&seq.to_be_bytes());
                        if sender.send(&Message::from(payload.to_vec())).is_ok() {
                            sent.push(payload);
                        }
                    }
                    Step::SenderClose => {
                        let _ = sender.close(CloseCode::NORMAL, "sender");
                    }
                    Step::ConnectionClose => {
                        let _ = pair.server.close(CloseCode::GOING_AWAY, "connection", pair.now);
                    }
                    Step::ConnectionPing => {
                        let _ = pair.server.ping(b"c");
                    }
                    Step::PeerPing => {
                        let _ = pair.client.ping(b"p");
                        peer_writes(&mut pair);
                    }
                    Step::PeerClose => {
                        let _ = pair.client.close(CloseCode(4000), "peer", pair.now);
                        peer_writes(&mut pair);
                    }
                    Step::Hand => pair.server.hand_output_to(&mut sender),
                    Step::Write(limit) => {
                        to_peer(&mut pair, &mut sender, limit, &mut wire, &mut peer_events)
                    }
                    Step::PeerWrites => peer_writes(&mut pair),
                }
            }
            // Let everything settle: hand over, write, let the peer answer, a few times.
            for _ in 0..4 {
                pair.server.hand_output_to(&mut sender);
                to_peer(&mut pair, &mut sender, usize::MAX, &mut wire, &mut peer_events);
                peer_writes(&mut pair);
            }

            let frames = parse_frames(&wire);
            let close_at = frames.iter().position(|f| f.opcode == OP_CLOSE);
            if let Some(at) = close_at {
                prop_assert_eq!(at, frames.len() - 1, "frames after the close frame");
            }
            let data: Vec<Vec<u8>> = frames
                .iter()
                .filter(|f| f.opcode == OP_BINARY)
                .map(|f| f.payload.clone())
                .collect();
            prop_assert_eq!(&data, &sent, "messages lost, reordered or invented");
            prop_assert!(frames.iter().all(|f| !f.masked && f.fin));
            peer_events.extend(drain(&mut pair.client));
            prop_assert!(
                !peer_events.iter().any(|e| matches!(e, Event::Failed(_))),
                "the peer saw a fault: {:?}",
                peer_events
            );
            // The server's one close frame is what ended the peer's handshake, if it ended.
            if peer_events.iter().any(|e| matches!(e, Event::Closed(_))) {
                prop_assert!(close_at.is_some());
            }
        }
    }
}
