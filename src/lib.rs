//! # cdt-api
//!
//! The REST API of Sơn La's 2,448 community digital technology teams (Tổ công nghệ số cộng đồng).
//!
//! ## Map
//! - [`config`]: typed settings from the environment, read once.
//! - [`telemetry`]: `tracing` output (pretty or JSON).
//! - [`startup`]: database (embedded or configured), migrations, middleware, HTTP server; used by `main`
//!   and by the tests.
//! - [`request_context`]: request id, request span and log line, final problem+json rendering.
//! - [`idempotency`]: `Idempotency-Key` replay for writes, stored in PostgreSQL.
//! - [`negotiation`]: 406 for an `Accept` that admits none of the operation's documented media types.
//! - [`error`]: the one error type, [`error::AppError`], and RFC 9457 problem details.
//! - [`routes`]: THE route table and one file per resource; handlers extract, validate, call
//!   [`db::Db::run`], map to DTOs.
//! - [`auth`]: password hashing, tokens, the `AuthUser` extractor, throttling, and THE policy.
//! - [`domain`]: the rules and operations between routes and models (validation, the review workflow,
//!   version preconditions); no HTTP types.
//! - [`models`]: one file per table with its query functions.
//! - [`seed`]: Sơn La's real administrative units.
//! - [`openapi`]: the OpenAPI 3.1 document generated from the route table.
//! - [`reference`]: the closed vocabularies (enums with labels) of rows, JSON, the document and
//!   `GET /api/v1/reference`.
//! - [`tabular`]: lists and reports as CSV and XLSX files (columns, writers, spooling); no HTTP types.
//! - [`contract`]: every limit the server enforces, one constant for the check and the document.
//! - [`db`]: pool, the blocking-pool helper, embedded migrations, `schema.rs` (generated), and the
//!   embedded PostgreSQL launcher.
//!
//! Dependencies point one way: `routes -> domain -> models -> db::schema`; `error`, `config`,
//! `reference` and `contract` are leaves.

pub mod auth;
pub mod backup;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contract;
pub mod db;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod evidence;
pub mod idempotency;
pub mod media;
pub mod metrics;
pub mod models;
pub mod negotiation;
pub mod openapi;
pub mod reference;
pub mod request_context;
pub mod routes;
pub mod secret_file;
pub mod seed;
pub mod startup;
pub mod storage;
pub mod tabular;
pub mod telemetry;
