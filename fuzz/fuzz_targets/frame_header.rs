//! `FrameHeader::decode` on arbitrary bytes, against a reference decoder written from RFC 6455 section 5.2.
//!
//! Invariants: the core and the reference agree (complete / incomplete / invalid, and every field); a
//! decoded header is at most 14 bytes and re-encodes to exactly the bytes it was decoded from (decode
//! rejects non-minimal lengths, so the encoding is unique); every strict prefix of a valid header asks for
//! more bytes; an error stays an error whatever follows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_core::frame::{FrameHeader, MAX_HEADER_LEN};
use ws_fuzz::wire::{HeaderError, decode_header};

fuzz_target!(|data: &[u8]| {
    let core = FrameHeader::decode(data);
    let reference = decode_header(data);
    match (&core, &reference) {
        (Ok(Some((h, len))), Ok(Some(r))) => {
            let len = *len;
            assert!(len <= MAX_HEADER_LEN && len <= data.len() && len >= 2);
            assert_eq!(len, r.header_len);
            assert_eq!(
                (h.fin, h.rsv, h.opcode.bits(), h.mask, h.payload_len),
                (r.fin, r.rsv, r.opcode, r.mask, r.len)
            );
            assert!(h.payload_len >> 63 == 0);
            if h.opcode.is_control() {
                assert!(h.fin && h.payload_len <= 125);
            }
            let mut out = Vec::new();
            h.encode(&mut out);
            assert_eq!(
                &out[..],
                &data[..len],
                "re-encoding differs from the decoded bytes"
            );
            assert_eq!(FrameHeader::decode(&out), Ok(Some((*h, len))));
            for cut in 0..len {
                assert_eq!(
                    FrameHeader::decode(&data[..cut]),
                    Ok(None),
                    "prefix of {cut} bytes"
                );
            }
        }
        (Ok(None), Ok(None)) => assert!(data.len() < MAX_HEADER_LEN),
        (Err(e), Err(r)) => {
            use ws_core::ProtocolError as P;
            let same = matches!(
                (e, r),
                (P::ReservedOpcode(_), HeaderError::ReservedOpcode(_))
                    | (P::NonMinimalLength, HeaderError::NonMinimalLength(_))
                    | (P::LengthTopBitSet, HeaderError::LengthTopBitSet)
                    | (P::FragmentedControlFrame, HeaderError::FragmentedControl)
                    | (P::ControlFrameTooLong, HeaderError::ControlTooLong(_))
            );
            assert!(same, "core {e:?} vs reference {r:?}");
            if let P::ReservedOpcode(op) = e {
                assert_eq!(*op, data[0] & 0x0f);
            }
            // More bytes never repair a bad header.
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0u8; MAX_HEADER_LEN]);
            assert_eq!(FrameHeader::decode(&longer).err(), Some(*e));
        }
        _ => panic!("core {core:?} vs reference {reference:?} for {data:02x?}"),
    }
});
