//! Integration tests: golden files, oracle round trips, property tests, CLI.

mod common;
mod golden;
mod oracle_chunk;
mod corrupt;
mod roundtrip;
mod compat;
mod frame;
