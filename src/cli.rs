//! The command line: `cdt-api [serve]`, `migrate`, `openapi`, `seed`, `create-admin`, `backup`, `restore`.

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
    Serve {
        /// Load the Sơn La demo data first when the database has none, and print the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document as JSON (the content of openapi/openapi.json).
    Openapi,
    /// Load reference data into the database.
    Seed {
        /// What to load.
        #[command(subcommand)]
        dataset: SeedDataset,
    },
    /// Create an administrator. The password is read from CDT_ADMIN_PASSWORD or the first line of stdin.
    CreateAdmin {
        /// The administrator's username.
        #[arg(long)]
        username: String,
        /// Name shown in the API (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Replace the password (and make the user an active admin) if the username exists.
        #[arg(long)]
        reset: bool,
    },
    /// Take a physical backup of the database into BACKUP_DIR (pg_basebackup with its WAL, a manifest
    /// with per-file SHA-256 and every table's row count and checksum at the backup's point), then
    /// delete backups beyond BACKUP_RETAIN and the archived WAL only they needed.
    Backup {
        /// Instead of taking a backup: restore the newest one (or --name) into a throwaway cluster and
        /// compare every table with what the manifest recorded; exits non-zero naming any table that
        /// differs.
        #[arg(long, conflicts_with = "list")]
        verify: bool,
        /// With --verify: the backup to verify (its directory name under BACKUP_DIR/base).
        #[arg(long, requires = "verify")]
        name: Option<String>,
        /// Instead of taking a backup: list the backups and the WAL archive.
        #[arg(long)]
        list: bool,
    },
    /// Restore the embedded database from a backup in BACKUP_DIR, with the archived WAL: to the newest
    /// state the backup and archive hold, or to a moment (--to). With DATABASE_URL, print the steps to
    /// run on the database host instead.
    Restore {
        /// The backup to start from (default: the newest one before --to).
        #[arg(long)]
        backup: Option<String>,
        /// Recover to this moment: RFC 3339 (2026-12-07T14:03:00+07:00) or `YYYY-MM-DD HH:MM[:SS]` in
        /// Vietnam time. Transactions committed after it are not restored.
        #[arg(long, value_parser = parse_moment)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// Move the existing cluster aside (renamed postgres.before-restore-<time>, never deleted)
        /// instead of refusing to restore over it.
        #[arg(long)]
        replace: bool,
    },
}

/// `--to`: RFC 3339, or a date and time in Vietnam time (UTC+7).
pub fn parse_moment(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(moment) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(moment.with_timezone(&chrono::Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(local) = chrono::NaiveDateTime::parse_from_str(text.trim(), format) {
            return Ok((local - crate::domain::VIETNAM_OFFSET).and_utc());
        }
    }
    Err(
        "expected RFC 3339 (2026-12-07T14:03:00+07:00) or YYYY-MM-DD HH:MM[:SS] (Vietnam time)"
            .to_owned(),
    )
}

/// Data sets `seed` can load.
#[derive(Debug, Subcommand)]
pub enum SeedDataset {
    /// Sơn La province: 12 districts and 200 communes until 2025-06-30, 75 communes and wards from
    /// 2025-07-01, with the 200 -> 75 succession links. Running it twice changes nothing.
    SonLa,
    /// Sơn La plus demo data: villages, exactly 2,448 teams with 3-9 members each, and one user per role
    /// (deterministic; does nothing when the demo is loaded already).
    Demo,
    /// Benchmark data at province or national scale: Sơn La plus up to 33 generated provinces, villages,
    /// teams with members, one campaign per year and every day's sessions and reach activities, streamed
    /// with COPY (deterministic for a seed). Needs a database without teams; creates the demo logins.
    Scale {
        /// Teams in all (Sơn La: 2448; nationally about 80000).
        #[arg(long, default_value_t = 2_448)]
        teams: usize,
        /// Years of activity, ending today.
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Provinces (1 = Sơn La only, 34 = the whole country with 3,321 communes).
        #[arg(long, default_value_t = 1)]
        provinces: usize,
        /// Seed of the pseudo-random sequence: the same seed and day give the same data.
        #[arg(long, default_value_t = 2_448)]
        seed: u64,
        /// Sessions per active team and year, on average.
        #[arg(long, default_value_t = 49)]
        sessions_per_team_year: u32,
        /// Reach activities per active team and year, on average.
        #[arg(long, default_value_t = 122)]
        reach_per_team_year: u32,
        /// Last day with activity (default: today).
        #[arg(long)]
        end: Option<chrono::NaiveDate>,
    },
}
