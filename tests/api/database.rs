//! Migrations, the shared SQL functions and the embedded PostgreSQL launcher.

use cdt_api::db::{
    embedded::{EmbeddedOptions, EmbeddedPostgres},
    migrations::{self, MIGRATIONS},
};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::Text};
use diesel_migrations::MigrationHarness;

use crate::test_db::TestDatabase;

#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = Text)]
    folded: String,
}

#[test]
fn cdt_fold_ignores_case_and_vietnamese_diacritics() {
    let database = TestDatabase::create();
    let mut conn = database.connect();
    let row: Folded = sql_query("SELECT cdt_fold('Chiềng Đông Ủa Mường Sại Phổng Lập') AS folded")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.folded, "chieng dong ua muong sai phong lap");
}

#[test]
fn every_migration_can_be_undone_and_redone() {
    let database = TestDatabase::create();
    let mut conn = database.connect();
    let reverted = conn.revert_all_migrations(MIGRATIONS).unwrap().len();
    assert!(
        sql_query("SELECT cdt_fold('x')")
            .execute(&mut conn)
            .is_err(),
        "down.sql left cdt_fold"
    );
    let mut conn = database.connect();
    let applied = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(applied.len(), reverted);
    assert!(!migrations::has_pending(&mut conn).unwrap());
}

#[test]
fn schema_rs_is_what_diesel_print_schema_generates() {
    let diesel_found = std::process::Command::new("diesel")
        .arg("--version")
        .output()
        .is_ok();
    if !diesel_found {
        assert!(
            std::env::var_os("CI_REQUIRE_DIESEL_CLI").is_none(),
            "diesel_cli is required here: cargo install diesel_cli --no-default-features --features postgres"
        );
        eprintln!("diesel_cli not installed: schema.rs check skipped (CI runs it)");
        return;
    }
    let database = TestDatabase::create();
    let output = std::process::Command::new("diesel")
        .args(["print-schema", "--database-url", database.url()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs");
    let committed = std::fs::read_to_string(path).unwrap();
    if committed != generated && std::env::var_os("CDT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    assert_eq!(
        committed, generated,
        "src/db/schema.rs is out of date; regenerate it with:\n    CDT_UPDATE_SNAPSHOTS=1 cargo test schema_rs"
    );
}

#[test]
fn the_embedded_postgres_keeps_its_data_across_restarts_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        data_dir: dir.path().join("data"),
        database: "cdt".to_owned(),
        bindir: None,
        ephemeral: false,
        archive: None,
    };

    let mut first = EmbeddedPostgres::start(&options).unwrap();
    let mut conn = PgConnection::establish(&first.url_for("cdt")).unwrap();
    sql_query("CREATE TABLE kept (name text)")
        .execute(&mut conn)
        .unwrap();
    sql_query("INSERT INTO kept VALUES ('Vân Hồ')")
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    first.stop().unwrap();
    assert!(
        !first.pgdata().join("postmaster.pid").exists(),
        "server still running after stop"
    );

    let mut second = EmbeddedPostgres::start(&options).unwrap();
    let mut conn = PgConnection::establish(&second.url_for("cdt")).unwrap();
    let row: Folded = sql_query("SELECT name AS folded FROM kept")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.folded, "Vân Hồ");
    drop(conn);
    second.stop().unwrap();
}

#[test]
fn the_embedded_postgres_requires_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = EmbeddedPostgres::start(&EmbeddedOptions {
        data_dir: dir.path().join("data"),
        database: "cdt".to_owned(),
        bindir: None,
        ephemeral: true,
        archive: None,
    })
    .unwrap();
    let wrong = format!("postgres://cdt:wrong@127.0.0.1:{}/cdt", server.port());
    assert!(PgConnection::establish(&wrong).is_err());
    assert!(PgConnection::establish(&server.url_for("cdt")).is_ok());
    server.stop().unwrap();
    assert!(
        !dir.path().join("data").exists(),
        "ephemeral cluster directory left behind"
    );
}

/// How many of this connection's prepared statements contain `needle` (a LIKE pattern).
fn kept_statements(conn: &mut PgConnection, needle: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    sql_query("SELECT count(*) AS count FROM pg_prepared_statements WHERE statement LIKE $1")
        .bind::<Text, _>(needle)
        .get_result::<Count>(conn)
        .unwrap()
        .count
}

#[test]
fn hand_written_and_member_queries_stay_prepared_on_their_connection() {
    use cdt_api::db::prepared::prepared;
    let database = TestDatabase::create();
    let mut conn = database.connect();
    // A bare sql_query is parsed and planned on every call: diesel never keeps it.
    for _ in 0..2 {
        sql_query("SELECT 41 + 1 AS answer")
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(kept_statements(&mut conn, "%41 + 1%"), 0);
    // Wrapped in `prepared`, it is kept once, however often it runs.
    #[derive(QueryableByName)]
    struct Answer {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        answer: i32,
    }
    for value in 0..3 {
        let row: Answer = prepared(
            sql_query("SELECT 40 + $1 AS answer").bind::<diesel::sql_types::Integer, _>(value),
        )
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(row.answer, 40 + value);
    }
    assert_eq!(kept_statements(&mut conn, "%40 + $1%"), 1);
    // The team member list (read on every team read) is a statically typed query: kept as well.
    for include_past in [false, true, false] {
        cdt_api::models::person::team_memberships(&mut conn, uuid::Uuid::nil(), include_past)
            .unwrap();
    }
    assert_eq!(
        kept_statements(&mut conn, "%\"memberships\".\"left_on\" IS NULL%"),
        1
    );
}
