//! The orchestrator behind `echo-compare`: it starts each echo server pinned
//! to one CPU, drives it with `loadgen` (and `idlemem`) pinned to another,
//! and renders the results as markdown.
//!
//! * [`matrix`]: the cells to measure;
//! * [`servers`]: the server list, and starting, watching and stopping them;
//! * [`process`]: running the client tools with a time limit;
//! * [`measure`]: one cell or one idle-memory test against one server;
//! * [`results`]: what a run found;
//! * [`table`]: the markdown report;
//! * [`readme`]: replacing the marked section of a README;
//! * [`clock`]: the date in the report's heading.

pub mod clock;
pub mod matrix;
pub mod measure;
pub mod process;
pub mod readme;
pub mod results;
pub mod servers;
pub mod table;
