//! The command line: `cdt-api [serve]`, `cdt-api migrate`, `cdt-api openapi`.

use clap::{Parser, Subcommand};

/// cdt-api: the API of Sơn La's community digital technology teams.
///
/// Configuration comes from environment variables (see .env.example). Without DATABASE_URL the service
/// starts its own PostgreSQL from the server binaries installed on this machine, with its data in
/// CDT_DATA_DIR.
#[derive(Debug, Parser)]
#[command(name = "cdt-api", version, about, long_about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default): start the database if embedded, apply migrations, listen on
    /// BIND_ADDR until SIGINT/SIGTERM.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document as JSON (the content of openapi/openapi.json).
    Openapi,
}
