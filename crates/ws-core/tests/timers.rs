//! Layer 2 of the tests (docs/architecture.md, "Tests, in layers"): the core's timers, driven by a
//! virtual clock (no sleeping).

mod common;

use bytes::Buf;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use ws_core::{
    Accept, CloseCode, CloseFrame, Config, Connection, Error, Event, Instant, Message,
    ReadInterest, SendError, State, Timeout, Timeouts,
};

fn timers(
    handshake: Option<Duration>,
    keepalive: Option<Duration>,
    pong: Option<Duration>,
    close: Option<Duration>,
) -> Config {
    Config::default().timeouts(
        Timeouts::default()
            .handshake(handshake)
            .keepalive_interval(keepalive)
            .pong(pong)
            .close(close),
    )
}

// ----- the opening handshake timeout -----

#[test]
fn rfc6455_4_1_client_handshake_timeout() {
    let config = timers(Some(secs(5)), None, None, None);
    let mut pair = Pair::new(&default_request(), config, quiet_config());
    assert_eq!(pair.client.next_deadline(), Some(at(secs(5))));
    pair.set_time(at(ms(4999)));
    assert!(pair.client_events().is_empty());
    assert_eq!(pair.client.state(), State::Connecting);
    pair.set_time(at(secs(5)));
    assert_eq!(
        pair.client_events(),
        [Event::Failed(Error::Timeout(Timeout::Handshake))]
    );
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(pair.client.next_deadline(), None);
    take_output(&mut pair.client);
    assert!(pair.client.poll_shutdown());
    assert!(pair.client.is_finished());
    // A late answer is ignored.
    let mut late = Pair::new(&default_request(), quiet_config(), quiet_config());
    late.handshake(Accept::new());
    pair.client.receive(&late.server_wire, pair.now);
    pair.client.handle_time(at(secs(100)));
    assert!(pair.client_events().is_empty());
    assert!(!pair.client.output().has_remaining());
}

#[test]
fn rfc6455_4_2_server_handshake_timeout_without_a_request() {
    let config = timers(Some(secs(5)), None, None, None);
    let mut server = Connection::server(config, Instant::ZERO);
    assert_eq!(server.next_deadline(), Some(at(secs(5))));
    // Half a request arrives, then nothing.
    server.receive(&REQUEST.as_bytes()[..20], Instant::ZERO);
    server.handle_time(at(ms(4999)));
    assert!(server.poll_event().is_none());
    server.handle_time(at(secs(5)));
    assert_eq!(
        drain(&mut server),
        [Event::Failed(Error::Timeout(Timeout::Handshake))]
    );
    take_output(&mut server);
    assert!(server.poll_shutdown());
    assert!(server.is_finished());
    // The rest of the request comes too late.
    server.receive(&REQUEST.as_bytes()[20..], at(secs(5)));
    assert!(server.poll_event().is_none());
    assert!(!server.output().has_remaining());
}

#[test]
fn rfc6455_4_2_server_handshake_timeout_while_the_application_decides() {
    let config = timers(Some(secs(5)), None, None, None);
    let mut pair = Pair::new(&default_request(), quiet_config(), config);
    pair.c2s();
    assert!(matches!(
        pair.server_events().as_slice(),
        [Event::Request(_)]
    ));
    pair.set_time(at(secs(5)));
    assert_eq!(
        pair.server_events(),
        [Event::Failed(Error::Timeout(Timeout::Handshake))]
    );
    assert_eq!(
        pair.server.accept(Accept::new(), pair.now),
        Err(SendError::NoPendingRequest)
    );
    assert!(
        !pair.server.output().has_remaining(),
        "no 101 after the timeout"
    );
    assert!(pair.server.poll_shutdown());
}

#[test]
fn rfc6455_4_1_completed_handshake_stops_the_handshake_timer() {
    let config = timers(Some(secs(5)), None, None, None);
    let mut pair = Pair::new(&default_request(), config.clone(), config);
    pair.set_time(at(secs(4)));
    pair.handshake(Accept::new());
    assert_eq!(pair.client.next_deadline(), None);
    assert_eq!(pair.server.next_deadline(), None);
    pair.set_time(at(secs(1000)));
    assert!(pair.client_events().is_empty());
    assert!(pair.server_events().is_empty());
    assert_eq!(
        (pair.client.state(), pair.server.state()),
        (State::Open, State::Open)
    );
}

// ----- keepalive: ping at the interval, pong clears the pong timer -----

#[test]
fn rfc6455_5_5_2_keepalive_ping_at_the_interval_and_pong_clears_it() {
    let config = timers(None, Some(secs(10)), Some(secs(5)), None);
    let mut pair = Pair::open_with(config, quiet_config());
    assert_eq!(pair.client.next_deadline(), Some(at(secs(10))));
    assert_eq!(pair.server.next_deadline(), None);
    pair.set_time(at(ms(9999)));
    assert!(
        !pair.client.output().has_remaining(),
        "no ping before the interval"
    );
    pair.set_time(at(secs(10)));
    let pings = parse_frames(pair.client.output().chunk());
    assert_eq!(pings.len(), 1);
    assert_eq!((pings[0].opcode, pings[0].masked), (OP_PING, true));
    let first_payload = pings[0].payload.clone();
    // Next: the pong deadline (15 s) comes before the next ping (20 s).
    assert_eq!(pair.client.next_deadline(), Some(at(secs(15))));
    pair.c2s();
    assert_eq!(
        pair.server_events(),
        [Event::Ping(Bytes::from(first_payload.clone()))]
    );
    pair.s2c();
    assert_eq!(
        pair.client_events(),
        [Event::Pong(Bytes::from(first_payload.clone()))]
    );
    assert_eq!(
        pair.client.next_deadline(),
        Some(at(secs(20))),
        "the pong cleared the pong timer"
    );
    pair.set_time(at(secs(15)));
    assert!(pair.client_events().is_empty(), "no pong timeout");
    assert!(!pair.client.output().has_remaining());
    pair.set_time(at(secs(20)));
    let pings = parse_frames(pair.client.output().chunk());
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].opcode, OP_PING);
    assert_ne!(pings[0].payload, first_payload, "each ping is distinct");
    assert_eq!(pair.client.next_deadline(), Some(at(secs(25))));
    pair.pump();
    assert_eq!(pair.client.next_deadline(), Some(at(secs(30))));
    assert_eq!(pair.client.state(), State::Open);
}

#[test]
fn rfc6455_5_5_2_server_keepalive_is_answered_by_the_client() {
    let config = timers(None, Some(secs(30)), Some(secs(10)), None);
    let mut pair = Pair::open_with(quiet_config(), config);
    for round in 1..=5u64 {
        pair.set_time(at(secs(30 * round)));
        let pings = parse_frames(pair.server.output().chunk());
        assert_eq!(pings.len(), 1, "round {round}");
        assert_eq!((pings[0].opcode, pings[0].masked), (OP_PING, false));
        pair.pump();
        assert!(matches!(pair.server_events().as_slice(), [Event::Pong(_)]));
        assert!(matches!(pair.client_events().as_slice(), [Event::Ping(_)]));
    }
    assert_eq!(pair.server.state(), State::Open);
}

#[test]
fn rfc6455_5_5_2_pong_timeout_sends_close_1011_and_fails() {
    let config = timers(None, Some(secs(10)), Some(secs(5)), Some(secs(3)));
    let mut pair = Pair::open_with(config, quiet_config());
    pair.set_time(at(secs(10)));
    pair.c2s();
    // The server's pong is lost.
    assert!(!take_output(&mut pair.server).is_empty());
    pair.server_events();
    pair.set_time(at(ms(14999)));
    assert!(pair.client_events().is_empty());
    pair.set_time(at(secs(15)));
    assert_eq!(
        pair.client_events(),
        [Event::Failed(Error::Timeout(Timeout::Pong))]
    );
    let close = parse_frames(pair.client.output().chunk());
    assert_eq!(close.len(), 1);
    assert_eq!(close[0].opcode, OP_CLOSE);
    assert_eq!(close[0].close_code(), Some(1011));
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(
        pair.client.send(&Message::from("x")),
        Err(SendError::Closed),
        "failure is sticky"
    );
    pair.c2s();
    let events = pair.server_events();
    match events.as_slice() {
        [Event::Closed(Some(frame))] => assert_eq!(frame.code, CloseCode::INTERNAL_ERROR),
        other => panic!("{other:?}"),
    }
    assert!(pair.client.poll_shutdown());
    // The server's echo is ignored by the failed client.
    pair.s2c();
    assert!(pair.client_events().is_empty());
    assert!(!pair.client.output().has_remaining());
}

#[test]
fn rfc6455_5_5_2_pong_timer_is_not_pushed_back_by_later_pings() {
    // The pong timeout is longer than the interval: pings keep going out, but the first unanswered one still
    // fails the connection on time.
    let config = timers(None, Some(secs(10)), Some(secs(25)), None);
    let mut pair = Pair::open_with(config, quiet_config());
    for t in [10, 20, 30] {
        pair.set_time(at(secs(t)));
        assert_eq!(parse_frames(&take_output(&mut pair.client)).len(), 1);
        assert!(pair.client_events().is_empty());
    }
    assert_eq!(pair.client.next_deadline(), Some(at(secs(35))));
    pair.set_time(at(secs(35)));
    assert_eq!(
        pair.client_events(),
        [Event::Failed(Error::Timeout(Timeout::Pong))]
    );
    let close = parse_frames(&take_output(&mut pair.client));
    assert_eq!(close.len(), 1, "a close frame and no further ping");
    assert_eq!(close[0].close_code(), Some(1011));
}

#[test]
fn rfc6455_7_1_1_keepalive_stops_once_closing() {
    let config = timers(None, Some(secs(10)), Some(secs(5)), None);
    let mut pair = Pair::open_with(config, quiet_config());
    pair.set_time(at(secs(1)));
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    take_output(&mut pair.client);
    assert_eq!(pair.client.next_deadline(), None);
    pair.set_time(at(secs(100)));
    assert!(
        !pair.client.output().has_remaining(),
        "no ping after our close"
    );
    assert!(pair.client_events().is_empty());
}

// ----- the close handshake timeout and the client's linger -----

fn side(pair: &mut Pair, client: bool) -> &mut Connection {
    if client {
        &mut pair.client
    } else {
        &mut pair.server
    }
}

#[test]
fn rfc6455_7_1_1_close_timeout_when_the_peer_never_answers() {
    for client_closes in [true, false] {
        let config = timers(None, None, None, Some(secs(3)));
        let mut pair = Pair::open_with(config.clone(), config);
        pair.set_time(at(secs(1)));
        let closer = side(&mut pair, client_closes);
        closer.close(CloseCode::NORMAL, "bye", at(secs(1))).unwrap();
        assert_eq!(closer.next_deadline(), Some(at(secs(4))));
        // The close frame is lost: the peer never answers.
        take_output(closer);
        pair.set_time(at(ms(3999)));
        let closer = side(&mut pair, client_closes);
        assert!(closer.poll_event().is_none());
        assert!(!closer.poll_shutdown());
        pair.set_time(at(secs(4)));
        let closer = side(&mut pair, client_closes);
        assert_eq!(
            drain(closer),
            [Event::Failed(Error::Timeout(Timeout::Close))]
        );
        assert!(!closer.output().has_remaining(), "no second close frame");
        assert!(closer.poll_shutdown());
        assert!(closer.is_finished());
        assert!(closer.read_interest() != ReadInterest::Read);
        assert_eq!(
            closer.next_deadline(),
            None,
            "nothing is left to wait for once finished"
        );
    }
}

#[test]
fn rfc6455_7_1_1_client_lingers_until_the_server_closes_tcp() {
    let config = timers(None, None, None, Some(secs(4)));
    let mut pair = Pair::open_with(config.clone(), config);
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    pair.set_time(at(secs(1)));
    pair.pump();
    assert_eq!(
        pair.client_events(),
        [Event::Closed(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
    );
    assert!(pair.server.poll_shutdown(), "the server closes TCP first");
    assert!(!pair.client.poll_shutdown(), "the client waits for it");
    assert!(!pair.client.is_finished());
    assert!(pair.client.read_interest() == ReadInterest::Read);
    assert_eq!(pair.client.next_deadline(), Some(at(secs(5))));
    pair.set_time(at(secs(2)));
    pair.client.receive_eof(pair.now);
    assert!(pair.client.poll_shutdown(), "then closes its own side");
    assert!(pair.client.is_finished());
    assert!(
        pair.client_events().is_empty(),
        "EOF after the close is clean"
    );
}

#[test]
fn rfc6455_7_1_1_client_shuts_down_itself_when_the_server_does_not_close_tcp() {
    let config = timers(None, None, None, Some(secs(4)));
    let mut pair = Pair::open_with(config.clone(), config);
    pair.set_time(at(secs(1)));
    pair.server
        .close(CloseCode::GOING_AWAY, "", pair.now)
        .unwrap();
    pair.pump();
    assert!(matches!(
        pair.client_events().as_slice(),
        [Event::Closed(Some(_))]
    ));
    assert!(matches!(
        pair.server_events().as_slice(),
        [Event::Closed(Some(_))]
    ));
    assert!(pair.server.poll_shutdown());
    // The server's FIN never arrives.
    assert_eq!(pair.client.next_deadline(), Some(at(secs(5))));
    pair.set_time(at(ms(4999)));
    assert!(!pair.client.poll_shutdown());
    assert!(!pair.client.is_finished());
    pair.set_time(at(secs(5)));
    assert!(pair.client.poll_shutdown(), "the client gives up waiting");
    assert!(pair.client.is_finished());
    assert!(pair.client.read_interest() != ReadInterest::Read);
    assert!(
        pair.client_events().is_empty(),
        "still exactly one terminal event"
    );
}

#[test]
fn rfc6455_7_1_1_server_waits_for_the_clients_tcp_close_up_to_the_close_timeout() {
    let config = timers(None, None, None, Some(secs(4)));
    let mut pair = Pair::open_with(config.clone(), config);
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    pair.pump();
    assert!(pair.server.poll_shutdown());
    assert!(!pair.server.is_finished());
    assert_eq!(pair.server.next_deadline(), Some(at(secs(4))));
    assert!(matches!(
        pair.server_events().as_slice(),
        [Event::Closed(Some(_))]
    ));
    assert!(!pair.server.is_finished());
    pair.set_time(at(secs(4)));
    assert!(pair.server.is_finished());
    assert!(pair.server.read_interest() != ReadInterest::Read);
    assert_eq!(pair.server.next_deadline(), None);
    assert!(pair.server_events().is_empty());
}

// ----- next_deadline is exactly what the config says -----

#[test]
fn next_deadline_follows_the_config_through_the_connection_life() {
    let mut pair = Pair::new(&default_request(), Config::default(), Config::default());
    // Defaults: handshake 10 s, keepalive 20 s, pong 20 s, close 10 s.
    assert_eq!(pair.client.next_deadline(), Some(at(secs(10))));
    assert_eq!(pair.server.next_deadline(), Some(at(secs(10))));
    pair.set_time(at(secs(3)));
    pair.handshake(Accept::new());
    assert_eq!(pair.client.next_deadline(), Some(at(secs(23))));
    assert_eq!(pair.server.next_deadline(), Some(at(secs(23))));
    pair.set_time(at(secs(23)));
    // Both pinged: the next ping and the pong deadline coincide at 43 s.
    assert_eq!(pair.client.next_deadline(), Some(at(secs(43))));
    pair.set_time(at(secs(24)));
    pair.pump();
    assert_eq!(pair.client.next_deadline(), Some(at(secs(43))));
    pair.set_time(at(secs(30)));
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    assert_eq!(
        pair.client.next_deadline(),
        Some(at(secs(40))),
        "close timer only"
    );
    pair.set_time(at(secs(31)));
    pair.pump();
    // After the handshake: both linger for the TCP close, from the time the close completed.
    assert_eq!(pair.server.next_deadline(), Some(at(secs(41))));
    assert_eq!(pair.client.next_deadline(), Some(at(secs(41))));

    let custom = timers(Some(ms(1500)), Some(ms(700)), Some(ms(300)), Some(ms(900)));
    let mut pair = Pair::new(&default_request(), custom.clone(), custom);
    assert_eq!(pair.client.next_deadline(), Some(at(ms(1500))));
    pair.set_time(at(ms(100)));
    pair.handshake(Accept::new());
    assert_eq!(pair.client.next_deadline(), Some(at(ms(800))));
    pair.set_time(at(ms(800)));
    assert_eq!(pair.client.next_deadline(), Some(at(ms(1100))));
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    assert_eq!(pair.client.next_deadline(), Some(at(ms(1700))));

    let mut pair = Pair::new(&default_request(), quiet_config(), quiet_config());
    assert_eq!(pair.client.next_deadline(), None);
    assert_eq!(pair.server.next_deadline(), None);
    pair.handshake(Accept::new());
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    assert_eq!(pair.client.next_deadline(), None);
    pair.pump();
    assert_eq!(pair.client.next_deadline(), None);
    assert_eq!(pair.server.next_deadline(), None);
}

#[test]
fn time_never_goes_backwards() {
    let config = timers(Some(secs(5)), None, None, None);
    let mut pair = Pair::new(&default_request(), config, quiet_config());
    pair.client.handle_time(at(secs(4)));
    pair.client.handle_time(at(secs(1)));
    assert!(pair.client_events().is_empty());
    pair.client.handle_time(at(secs(5)));
    assert!(matches!(
        pair.client_events().as_slice(),
        [Event::Failed(_)]
    ));

    // Inputs and commands that carry an earlier time do not move the clock back either: the timers
    // they start count from the latest time seen (4 s here).
    let config = timers(None, Some(secs(10)), None, Some(secs(3)));
    let mut server = Connection::server(config, Instant::ZERO);
    server.handle_time(at(secs(4)));
    server.handle_time(at(secs(1)));
    server.receive(REQUEST.as_bytes(), at(secs(1)));
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new(), at(secs(2))).unwrap();
    assert_eq!(
        server.next_deadline(),
        Some(at(secs(14))),
        "the keepalive counts from 4 s"
    );
    server.close(CloseCode::NORMAL, "", at(secs(3))).unwrap();
    assert_eq!(
        server.next_deadline(),
        Some(at(secs(7))),
        "the close timer counts from 4 s"
    );
}

#[test]
fn timers_fire_when_time_jumps_far_past_several_deadlines() {
    // One late handle_time call: the connection fails once, with the earliest due timer's reason.
    let config = timers(None, Some(secs(10)), Some(secs(5)), Some(secs(3)));
    let mut pair = Pair::open_with(config, quiet_config());
    pair.set_time(at(secs(10)));
    take_output(&mut pair.client); // the ping is lost
    pair.set_time(at(secs(1000)));
    let events = pair.client_events();
    assert_eq!(events, [Event::Failed(Error::Timeout(Timeout::Pong))]);
}
