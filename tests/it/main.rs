//! Integration tests: golden files, oracle round trips, property tests, CLI.

mod arrow;
mod cli;
mod common;
mod compat;
mod corrupt;
mod crash;
mod dataset;
mod frame;
mod golden;
mod maintain;
mod manifests;
mod oracle_blosc1;
mod oracle_chunk;
#[cfg(feature = "polars")]
mod polars_io;
mod roundtrip;
mod schunk_edit;
mod staleness;
mod store;
mod tensor;
