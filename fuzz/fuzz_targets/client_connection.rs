//! An open client connection fed arbitrary bytes in arbitrary chunks, with arbitrary time steps, local
//! commands and partial writes; every output byte and event is checked, and the events are compared with a
//! reference model of the receive path (see `ws_fuzz::harness`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::harness::Harness;

fuzz_target!(|data: &[u8]| {
    Harness::run_bytes(ws_core::Role::Client, data);
});
