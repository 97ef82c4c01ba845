//! The integration tests: the real server over HTTP on a real PostgreSQL. One binary, one database per
//! test (see `test_db`), tests run in parallel.
#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test support code (outside #[test] functions) fails loudly with a message"
)]
mod audit_events;
mod auth;
mod authorization;
mod backups;
mod binary;
mod campaigns;
mod database;
mod demo;
mod docs;
mod errors;
mod health;
mod helpers;
mod hostile_input;
mod idempotency;
mod imports;
mod layers;
mod openapi;
mod org_unit_writes;
mod org_units;
mod replica;
mod report_figures;
mod reports;
mod resilience;
mod scale_seed;
mod search;
mod security;
mod sign_offs;
mod spreadsheets;
mod storage;
mod sync;
mod targets;
mod teams;
mod test_db;
mod training_sessions;
mod uploads;
mod webhooks;
