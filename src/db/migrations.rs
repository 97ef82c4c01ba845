//! The SQL migrations in `migrations/`, embedded in the binary and applied at startup and by
//! `cdt-api migrate`.

use diesel::{PgConnection, RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration of this build.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory-lock key that serialises migrations when several instances start at once.
const MIGRATION_LOCK: i64 = 0x00cd_7a91;

/// Applies every pending migration, holding an advisory lock so that concurrent instances take turns.
/// Returns the versions applied.
pub fn run_pending(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(conn)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|error| anyhow::anyhow!("applying migrations: {error}"));
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn)?;
    applied
}

/// True when the database lacks a migration this build knows.
pub fn has_pending(conn: &mut PgConnection) -> anyhow::Result<bool> {
    conn.has_pending_migration(MIGRATIONS)
        .map_err(|error| anyhow::anyhow!("reading migration state: {error}"))
}
