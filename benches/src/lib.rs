//! Benchmark tools: see `benches/README.md`.
//!
//! The library half of `ws-benches` holds everything the binaries share:
//!
//! * the client side of the echo benchmark, written against raw TCP so that it
//!   belongs to no WebSocket library: [`target`], [`handshake`], [`wire`],
//!   [`payload`], [`echo_check`], [`client`], [`load`], [`h2load`] (the same
//!   load over HTTP/2, spoken by the plain HTTP/2 crate `h2`), [`idle`];
//! * what the tools report: [`report`], [`latency`];
//! * small system helpers: [`procfs`], [`fdlimit`], [`cli`];
//! * the orchestrator behind `echo-compare`: [`compare`];
//! * the fan-out (broadcast) benchmark behind `fanout`: [`fanout`];
//! * the command line shared by the peer echo servers: [`peer`].

pub mod cli;
pub mod client;
pub mod compare;
pub mod echo_check;
pub mod fanout;
pub mod fdlimit;
pub mod h2load;
pub mod handshake;
pub mod idle;
pub mod latency;
pub mod load;
pub mod payload;
pub mod peer;
pub mod procfs;
pub mod report;
pub mod target;
pub mod wire;
