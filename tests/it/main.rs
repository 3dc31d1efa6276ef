//! Integration tests: golden files, oracle round trips, property tests, CLI.

mod common;
mod compat;
mod corrupt;
mod frame;
mod golden;
mod oracle_blosc1;
mod oracle_chunk;
mod roundtrip;
mod cli;
