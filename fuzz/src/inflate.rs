//! permessage-deflate's codec on its own: parameters negotiated from arbitrary client and server settings
//! (window bits 8-15, context takeover on or off), then
//! - a `Decompressor` fed arbitrary data in arbitrary fragments with a small limit: never panics, the output
//!   never grows past the message's start plus the limit, errors are `TooBig` or `Invalid`, and a failed
//!   decompressor keeps failing until `reset`;
//! - a `Compressor` / peer `Decompressor` pair: arbitrary messages, cut into arbitrary fragments, come back
//!   intact; without context takeover every message also inflates on its own.

use crate::deflate_knobs::Knobs;
use arbitrary::Arbitrary;
use bytes::BytesMut;
use ws_core::deflate::{
    Decompressor, InflateError, Negotiated, client_handle_response_header, client_offer,
    parse_extensions, server_negotiate,
};

#[derive(Arbitrary, Debug)]
pub enum Op {
    /// A fragment of a compressed message from the peer (arbitrary bytes).
    Raw {
        data: Vec<u8>,
        fin: bool,
    },
    Reset,
    /// A message compressed by us, cut at these points, inflated by the peer.
    RoundTrip {
        data: Vec<u8>,
        cuts: Vec<u16>,
    },
}

#[derive(Arbitrary, Debug)]
pub struct Input {
    pub client: Knobs,
    pub server: Knobs,
    /// Which side's decompressor gets the raw data.
    pub is_server: bool,
    pub limit: u16,
    pub ops: Vec<Op>,
}

fn negotiate(input: &Input) -> Option<Negotiated> {
    let client = input.client.config();
    let server = input.server.config();
    let offer = client_offer(&client);
    let offers = parse_extensions([offer.as_str()]).expect("our own offer parses");
    let (response, server_view) = server_negotiate(&server, &offers)?;
    let (_, client_view) = client_handle_response_header(&[client], [response.as_str()])
        .expect("the client accepts the server's answer to its own offer")
        .expect("deflate agreed");
    // Both ends agree on what each direction uses.
    for is_server in [false, true] {
        assert_eq!(
            server_view.compressor_params(is_server),
            client_view.compressor_params(is_server),
            "client and server disagree on {response}"
        );
    }
    for p in [
        server_view.compressor_params(true),
        server_view.compressor_params(false),
    ] {
        assert!((8..=15).contains(&p.max_window_bits));
    }
    if input.client.server_no_context_takeover || input.server.server_no_context_takeover {
        assert!(server_view.server_no_context_takeover);
    }
    if input.client.client_no_context_takeover || input.server.client_no_context_takeover {
        assert!(server_view.client_no_context_takeover);
    }
    Some(server_view)
}

/// Runs one input.
pub fn run(input: &Input) {
    let Some(negotiated) = negotiate(input) else {
        panic!("a valid offer was declined")
    };
    let limit = input.limit as usize % 4096;
    let mut raw = negotiated.decompressor(input.is_server);
    let mut raw_out = BytesMut::new();
    let mut failed = false;

    let sender_is_server = !input.is_server;
    let mut tx = negotiated.compressor(sender_is_server);
    let mut rx = negotiated.decompressor(!sender_is_server);
    let independent = negotiated
        .compressor_params(sender_is_server)
        .no_context_takeover;

    for op in input.ops.iter().take(64) {
        match op {
            Op::Raw { data, fin } => {
                let result = raw.decompress(data, *fin, &mut raw_out, limit);
                assert!(
                    raw_out.len() <= limit,
                    "{} bytes out, limit {limit}",
                    raw_out.len()
                );
                match result {
                    Ok(()) => assert!(!failed, "a failed decompressor recovered without reset"),
                    Err(InflateError::TooBig) => assert!(!failed, "TooBig after a failure"),
                    Err(InflateError::Invalid) => {}
                    Err(e) => panic!("unexpected error {e:?}"),
                }
                if result.is_err() {
                    failed = true;
                }
                if *fin {
                    raw_out.clear();
                }
            }
            Op::Reset => {
                raw.reset();
                raw_out.clear();
                failed = false;
            }
            Op::RoundTrip { data, cuts } => {
                let data = &data[..data.len().min(8192)];
                let mut points: Vec<usize> = cuts
                    .iter()
                    .take(8)
                    .map(|&c| c as usize % (data.len() + 1))
                    .collect();
                points.sort_unstable();
                points.push(data.len());
                let mut out = BytesMut::new();
                let mut whole = Vec::new();
                let mut start = 0;
                for (i, &end) in points.iter().enumerate() {
                    let fin = i + 1 == points.len();
                    let mut payload = Vec::new();
                    tx.compress(&data[start..end], fin, &mut payload);
                    assert!(!fin || !payload.is_empty(), "an empty final payload");
                    rx.decompress(&payload, fin, &mut out, usize::MAX)
                        .expect("our own data inflates");
                    whole.extend_from_slice(&payload);
                    start = end;
                }
                assert_eq!(&out[..], data, "round trip through deflate");
                if independent {
                    let mut fresh =
                        Decompressor::new(negotiated.decompressor_params(!sender_is_server));
                    let mut out = BytesMut::new();
                    fresh
                        .decompress(&whole, true, &mut out, usize::MAX)
                        .expect("without context takeover a message inflates on its own");
                    assert_eq!(&out[..], data);
                }
            }
        }
    }
}
