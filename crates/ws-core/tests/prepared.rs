//! Prepared messages: framed once, queued by reference or copy on many connections, compressed once where
//! the negotiated parameters allow it, and received as the same messages as plain sends.

mod common;

use bytes::{Buf, Bytes};
use common::{Pair, take_output};
use ws_core::{Config, Event, Message, Outgoing, PreparedMessage, SendOptions};

fn binary(len: usize) -> Message {
    Message::Binary((0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>().into())
}

fn received(pair: &mut Pair) -> Vec<Message> {
    pair.s2c();
    pair.client_events()
        .into_iter()
        .filter_map(Event::into_message)
        .collect()
}

#[test]
fn a_server_sends_the_prepared_frame_as_built() {
    for message in [
        Message::from("hello"),
        Message::from(""),
        binary(61),
        binary(62),
        binary(70_000),
    ] {
        let prepared = PreparedMessage::new(message.clone());
        let mut pair = Pair::open_with(Config::default(), Config::default());
        pair.server.send(&prepared).unwrap();
        assert_eq!(take_output(&mut pair.server), prepared.frame());
        // The same bytes a plain send makes.
        pair.server.send(&message).unwrap();
        assert_eq!(take_output(&mut pair.server), prepared.frame());
        pair.server.send(&prepared).unwrap();
        assert_eq!(received(&mut pair), vec![message]);
    }
}

#[test]
fn long_frames_are_queued_by_reference_short_ones_copied() {
    let long = PreparedMessage::new(binary(62));
    let short = PreparedMessage::new(binary(61));
    let mut a = Pair::open_with(Config::default(), Config::default());
    let mut b = Pair::open_with(Config::default(), Config::default());
    for pair in [&mut a, &mut b] {
        pair.server.send(&long).unwrap();
        // The queued bytes are the prepared frame's own: no copy.
        assert_eq!(pair.server.output().chunk().as_ptr(), long.frame().as_ptr());
        take_output(&mut pair.server);
        pair.server.send(&short).unwrap();
        assert_ne!(
            pair.server.output().chunk().as_ptr(),
            short.frame().as_ptr()
        );
        assert_eq!(take_output(&mut pair.server), short.frame());
    }
}

#[test]
fn several_prepared_messages_and_plain_ones_leave_in_order() {
    let mut pair = Pair::open_with(Config::default(), Config::default());
    let sent = [
        Message::from("one"),
        binary(1000),
        Message::from("three"),
        binary(20),
        binary(9000),
    ];
    for (i, message) in sent.iter().enumerate() {
        if i % 2 == 0 {
            pair.server
                .send(&PreparedMessage::new(message.clone()))
                .unwrap();
        } else {
            pair.server.send(message).unwrap();
        }
    }
    assert_eq!(received(&mut pair), sent);
}

#[test]
fn a_small_frame_limit_splits_the_prepared_message_per_connection() {
    let config = Config::default().max_send_frame_size(100);
    let message = binary(1000);
    let mut pair = Pair::open_with(Config::default(), config);
    pair.server
        .send(&PreparedMessage::new(message.clone()))
        .unwrap();
    let wire = take_output(&mut pair.server);
    assert_eq!(wire[0], 0x02, "first frame: binary without FIN");
    assert_eq!(wire.len(), 1000 + 10 * 2, "ten frames of 100 bytes");
    pair.server
        .send(&PreparedMessage::new(message.clone()))
        .unwrap();
    assert_eq!(received(&mut pair), vec![message]);
}

#[test]
fn a_client_masks_a_prepared_message_like_any_other() {
    let message = Message::from("from the client");
    let prepared = PreparedMessage::new(message.clone());
    let mut pair = Pair::open_with(Config::default(), Config::default());
    pair.client.send(&prepared).unwrap();
    let wire = pair.client.output().chunk().to_vec();
    assert_eq!(wire[1] & 0x80, 0x80, "masked");
    pair.c2s();
    let got: Vec<_> = pair
        .server_events()
        .into_iter()
        .filter_map(Event::into_message)
        .collect();
    assert_eq!(got, vec![message]);
}

#[test]
fn a_split_sender_and_outgoing_take_prepared_messages() {
    let mut pair = Pair::open_with(Config::default(), Config::default());
    let mut sender = pair.server.split_sender().unwrap();
    let prepared = PreparedMessage::new("split");
    sender.send(&prepared).unwrap();
    sender.send(&Outgoing::from(&prepared)).unwrap();
    sender
        .send_with(&Outgoing::from("plain"), SendOptions::default())
        .unwrap();
    let mut out = sender.output();
    let wire = out.copy_to_bytes(out.remaining());
    let mut expected = prepared.frame().repeat(2);
    expected.extend_from_slice(&[0x81, 5]);
    expected.extend_from_slice(b"plain");
    assert_eq!(wire, Bytes::from(expected));
}

#[cfg(feature = "deflate")]
mod deflate {
    use std::sync::Arc;

    use super::*;
    use ws_core::deflate::{DeflateConfig, PerMessageDeflate};

    fn deflate(config: DeflateConfig) -> Config {
        Config::default().extensions(Some(Arc::new(PerMessageDeflate::new(config))))
    }

    fn server_no_takeover() -> Config {
        deflate(DeflateConfig::default().server_no_context_takeover(true))
    }

    fn text(len: usize) -> Message {
        let words = ["price ", "tick ", "chat ", "hello ", "world "];
        let mut s = String::new();
        let mut i = 0;
        while s.len() < len {
            s.push_str(words[i * 7 % 5]);
            s.push_str(&i.to_string());
            i += 1;
        }
        s.truncate(len);
        Message::from(s)
    }

    #[test]
    fn without_context_takeover_the_message_is_compressed_once_for_all() {
        let message = text(4000);
        let prepared = PreparedMessage::new(message.clone());
        let mut pairs: Vec<Pair> = (0..3)
            .map(|_| Pair::open_with(Config::default().with_deflate(), server_no_takeover()))
            .collect();
        let mut first = None;
        for pair in &mut pairs {
            pair.server.send(&prepared).unwrap();
            let out = pair.server.output();
            let chunk = out.chunk();
            assert_eq!(chunk[0], 0xc1, "text, FIN, RSV1");
            assert!(chunk.len() < 2000, "compressed: {} bytes", chunk.len());
            // Every connection queues the one compressed frame, by reference.
            let ptr = chunk.as_ptr();
            assert_eq!(*first.get_or_insert(ptr), ptr);
        }
        for pair in &mut pairs {
            pair.server.send(&prepared).unwrap();
            pair.server.send(&message).unwrap();
            assert_eq!(received(pair), vec![message.clone(); 3]);
        }
    }

    #[test]
    fn with_context_takeover_each_connection_compresses_and_the_peer_keeps_up() {
        // Our compressor's history must match the peer's: prepared and plain messages interleave.
        let mut pairs: Vec<Pair> = (0..2)
            .map(|_| {
                Pair::open_with(
                    Config::default().with_deflate(),
                    Config::default().with_deflate(),
                )
            })
            .collect();
        let sent: Vec<Message> = (0..6).map(|i| text(200 + i * 300)).collect();
        let prepared: Vec<PreparedMessage> =
            sent.iter().cloned().map(PreparedMessage::new).collect();
        for pair in &mut pairs {
            for (i, message) in sent.iter().enumerate() {
                if i % 2 == 0 {
                    pair.server.send(&prepared[i]).unwrap();
                } else {
                    pair.server.send(message).unwrap();
                }
            }
        }
        // Each connection's frames are its own (compressed with its own history).
        let take_wire = |pair: &mut Pair| {
            let mut out = pair.server.output();
            out.copy_to_bytes(out.remaining())
        };
        let a = take_wire(&mut pairs[0]);
        let b = take_wire(&mut pairs[1]);
        assert_ne!(a.as_ptr(), b.as_ptr());
        for (pair, wire) in pairs.iter_mut().zip([a, b]) {
            pair.client.receive(&wire, pair.now);
            let got: Vec<_> = pair
                .client_events()
                .into_iter()
                .filter_map(Event::into_message)
                .collect();
            assert_eq!(got, sent);
        }
    }

    #[test]
    fn a_connection_with_other_parameters_compresses_for_itself() {
        let message = text(3000);
        let prepared = PreparedMessage::new(message.clone());
        let mut wide = Pair::open_with(Config::default().with_deflate(), server_no_takeover());
        let narrow_client = deflate(DeflateConfig::default().server_max_window_bits(9));
        let mut narrow = Pair::open_with(narrow_client, server_no_takeover());
        wide.server.send(&prepared).unwrap();
        narrow.server.send(&prepared).unwrap();
        assert_ne!(
            wide.server.output().chunk().as_ptr(),
            narrow.server.output().chunk().as_ptr()
        );
        // The narrow connection's frame is what its own compressor makes of the message.
        let narrow_prepared = take_output(&mut narrow.server);
        narrow.server.send(&message).unwrap();
        assert_eq!(take_output(&mut narrow.server), narrow_prepared);
        narrow.server.send(&prepared).unwrap();
        assert_eq!(received(&mut narrow), vec![message.clone()]);
        assert_eq!(received(&mut wide), vec![message]);
    }

    #[test]
    fn compression_off_for_the_message_sends_the_plain_frame() {
        let prepared = PreparedMessage::new(text(500));
        let mut pair = Pair::open_with(Config::default().with_deflate(), server_no_takeover());
        pair.server
            .send_with(&prepared, SendOptions::default().compress(false))
            .unwrap();
        assert_eq!(
            pair.server.output().chunk().as_ptr(),
            prepared.frame().as_ptr()
        );
    }
}

mod equivalence {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            vec(any::<char>(), 0..600)
                .prop_map(|c| Message::from(c.into_iter().collect::<String>())),
            vec(any::<u8>(), 0..3000).prop_map(Message::from),
        ]
    }

    fn config(deflate: bool, max_frame: Option<usize>) -> Config {
        let config = Config::default().max_send_frame_size(max_frame);
        #[cfg(feature = "deflate")]
        if deflate {
            use ws_core::deflate::{DeflateConfig, PerMessageDeflate};
            let deflate = DeflateConfig::default().server_no_context_takeover(true);
            return config.extensions(Some(std::sync::Arc::new(PerMessageDeflate::new(deflate))));
        }
        let _ = deflate;
        config
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// A prepared message puts on the wire exactly what the same message sent plain does (deflate
        /// without server context takeover included: its compressed frame is the one each connection
        /// would make), and the client receives the messages in order.
        #[test]
        fn prepared_and_plain_sends_put_the_same_bytes_on_the_wire(
            messages in vec(message(), 1..8),
            deflate in any::<bool>(),
            max_frame in proptest::option::of(1usize..2000),
        ) {
            let client_config = || config(deflate, None);
            let mut plain = Pair::open_with(client_config(), config(deflate, max_frame));
            let mut prepared = Pair::open_with(client_config(), config(deflate, max_frame));
            for message in &messages {
                plain.server.send(message).unwrap();
                prepared.server.send(&PreparedMessage::new(message.clone())).unwrap();
                prop_assert_eq!(take_output(&mut plain.server), {
                    let wire = take_output(&mut prepared.server);
                    prepared.client.receive(&wire, prepared.now);
                    wire
                });
            }
            let got: Vec<Message> = prepared
                .client_events()
                .into_iter()
                .filter_map(Event::into_message)
                .collect();
            prop_assert_eq!(got, messages);
        }
    }
}
