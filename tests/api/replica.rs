//! `READ_DATABASE_URL` against a real streaming replica (`pg_basebackup -R` of a primary started for this
//! test, on another loopback port): reports and lists come from the replica, a user who just wrote reads
//! their own writes from the primary, sync pull stays on the primary, and reads fall back to the primary
//! when the replica is down.

use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use cdt_api::db::{
    embedded::{EmbeddedOptions, EmbeddedPostgres},
    migrations,
};

use crate::{
    helpers::{TestApp, test_settings},
    test_db::TestDatabase,
};

/// Waits until the standby has replayed everything the primary has written so far: up to the WAL *insert*
/// position, which includes commits still in the WAL buffers (asynchronous commits, for up to
/// `wal_writer_delay`), where the write position `pg_current_wal_lsn()` would not.
fn wait_for_replay(primary: &mut PgConnection, standby: &mut PgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Caught {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        caught: bool,
    }
    let target: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "pg_current_wal_insert_lsn()::text",
    ))
    .get_result(primary)
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let caught: Caught = sql_query(format!(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= '{target}'::pg_lsn, false) AS caught"
        ))
        .get_result(standby)
        .unwrap();
        if caught.caught {
            return;
        }
        assert!(Instant::now() < deadline, "the standby did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[actix_web::test]
async fn reports_and_lists_read_from_the_replica_while_writers_and_sync_read_the_primary() {
    let dir = tempfile::Builder::new()
        .prefix("cdt-api-replica-")
        .tempdir()
        .unwrap()
        .keep();
    let mut primary = EmbeddedPostgres::start(&EmbeddedOptions {
        data_dir: dir.join("primary"),
        database: "cdt".to_owned(),
        bindir: None,
        ephemeral: true,
        archive: None,
    })
    .expect("primary");
    let primary_url = primary.database_url().expose_secret().to_owned();
    let mut primary_conn = PgConnection::establish(&primary_url).unwrap();
    migrations::run_pending(&mut primary_conn).unwrap();
    let mut standby = primary
        .start_standby(&dir.join("standby"))
        .expect("standby");
    let standby_url = standby.database_url();
    let mut standby_conn = PgConnection::establish(standby_url.expose_secret()).unwrap();

    let mut settings = test_settings(&primary_url);
    settings.read_database_url = Some(standby_url.clone());
    settings.read_your_writes = Duration::from_secs(30);
    let app = TestApp::spawn_with(TestDatabase::existing(primary_url.clone()), &settings).await;
    app.seed_son_la();
    let province = app.unit_id("son-la");
    let commune = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("T-REPLICA", commune);
    app.create_user("viewer.replica", "viewer", Some(province));
    app.create_team_leader("leader.replica", team);
    let viewer = app.token("viewer.replica").await;
    let leader = app.token("leader.replica").await;
    wait_for_replay(&mut primary_conn, &mut standby_conn);

    // The replica stops replaying: whatever is written now exists only on the primary.
    sql_query("SELECT pg_wal_replay_pause()")
        .execute(&mut standby_conn)
        .unwrap();
    let yesterday = cdt_api::domain::today_in_vietnam() - chrono::Duration::days(1);
    let created = app
        .request(Method::POST, "/api/v1/training-sessions")
        .bearer_auth(&leader)
        .json(&json!({"team_id": team, "kind": "training", "held_on": yesterday, "duration_minutes": 90,
                      "format": "in_person", "topics": ["vneid"], "participants_total": 20,
                      "participants_female": 9, "participants_ethnic_minority": 18, "participants_elderly": 2,
                      "households_reached": 15}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let session: Value = created.json().await.unwrap();

    // The writer reads their own write (primary) ...
    let own = app
        .get_json(
            &leader,
            &format!("/api/v1/training-sessions?team_id={team}"),
        )
        .await;
    assert_eq!(own["items"][0]["id"], session["id"], "{own}");
    let own_report = app.get_json(&leader, "/api/v1/reports/summary").await;
    assert_eq!(own_report["sessions"]["total"], 1, "{own_report}");
    // ... and so does their phone's sync pull, which always reads the primary.
    let pull = app.get_json(&leader, "/api/v1/sync/pull").await;
    assert!(
        pull["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["id"] == session["id"]),
        "{pull}"
    );
    // Another user's report and list come from the paused replica: not there yet.
    let path = format!("/api/v1/reports/summary?org_unit_id={province}");
    let stale = app.get_json(&viewer, &path).await;
    assert_eq!(stale["sessions"]["total"], 0, "{stale}");
    let stale_list = app.get_json(&viewer, "/api/v1/training-sessions").await;
    assert_eq!(stale_list["items"], json!([]), "{stale_list}");

    // Replay resumes: the replica catches up and the viewer sees the session.
    sql_query("SELECT pg_wal_replay_resume()")
        .execute(&mut standby_conn)
        .unwrap();
    wait_for_replay(&mut primary_conn, &mut standby_conn);
    let fresh = app.get_json(&viewer, &path).await;
    assert_eq!(fresh["sessions"]["total"], 1, "{fresh}");

    // Without the replica, reads fall back to the primary.
    drop(standby_conn);
    standby.stop().unwrap();
    let fallback = app.get_json(&viewer, "/api/v1/training-sessions").await;
    assert_eq!(fallback["items"][0]["id"], session["id"], "{fallback}");
    drop(primary_conn);
    primary.stop().unwrap();
}
