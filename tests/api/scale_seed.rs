//! `cdt-api seed scale`: deterministic for a seed, refuses a database with teams, and what it derives in
//! bulk (report aggregates, sync feed) agrees with the rows it streamed, as the API reports them.

use chrono::NaiveDate;
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query};
use reqwest::Method;
use serde_json::Value;

use cdt_api::{
    auth::password::PasswordHashing,
    config::PasswordHashCost,
    seed::scale::{self, ScaleOptions},
};

use crate::{
    helpers::{TestApp, sql_count as count, test_settings},
    test_db::TestDatabase,
};

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

fn text(conn: &mut PgConnection, query: &str) -> String {
    sql_query(query).get_result::<Text>(conn).unwrap().value
}

/// What identifies the loaded rows, ids included.
fn fingerprint(conn: &mut PgConnection) -> Vec<String> {
    [
        "SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS value FROM training_sessions t",
        "SELECT md5(string_agg(r::text, '|' ORDER BY id)) AS value FROM reach_activities r",
        "SELECT md5(string_agg(concat_ws(',', id, code, org_unit_id, founded_on), '|' ORDER BY id)) AS value FROM teams",
        "SELECT md5(string_agg(concat_ws(',', id, code, path), '|' ORDER BY id)) AS value FROM org_units",
        "SELECT md5(string_agg(concat_ws(',', id, full_name, phone), '|' ORDER BY id)) AS value FROM people",
    ]
    .iter()
    .map(|query| text(conn, query))
    .collect()
}

#[actix_web::test]
async fn seed_scale_is_deterministic_and_its_aggregates_and_feed_match_its_rows() {
    let hashing = PasswordHashing::new(
        PasswordHashCost {
            memory_kib: 1024,
            iterations: 1,
        },
        1,
    )
    .unwrap();
    let options = ScaleOptions {
        teams: 180,
        years: 1,
        provinces: 2,
        seed: 7,
        sessions_per_team_year: 30,
        reach_per_team_year: 40,
        end: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        progress: false,
    };
    let first = TestDatabase::create();
    let second = TestDatabase::create();
    let report = scale::load(&mut first.connect(), &hashing, &options).unwrap();
    scale::load(&mut second.connect(), &hashing, &options).unwrap();
    assert_eq!(report.provinces, 2);
    assert_eq!(report.communes, 75 + 99);
    assert_eq!(report.teams, 180);
    assert!(
        report.sessions > 3_000 && report.reach_activities > 4_000,
        "{report:?}"
    );
    let mut conn = first.connect();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS count FROM training_sessions"),
        i64::try_from(report.sessions).unwrap()
    );
    assert_eq!(fingerprint(&mut conn), fingerprint(&mut second.connect()));
    // Another seed gives other data.
    let third = TestDatabase::create();
    scale::load(
        &mut third.connect(),
        &hashing,
        &ScaleOptions {
            seed: 8,
            ..options.clone()
        },
    )
    .unwrap();
    assert_ne!(fingerprint(&mut conn), fingerprint(&mut third.connect()));

    // A second load into the same database is refused and changes nothing.
    let again = scale::load(&mut conn, &hashing, &options).unwrap_err();
    assert!(format!("{again}").contains("holds 180 teams"), "{again}");
    assert_eq!(count(&mut conn, "SELECT count(*) AS count FROM teams"), 180);

    // Every streamed record entered the sync feed.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS count FROM training_sessions s \
             JOIN changes c ON c.entity = 'training_session' AND c.record_id = s.id"
        ),
        i64::try_from(report.sessions).unwrap()
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS count FROM reach_activities r \
             JOIN changes c ON c.entity = 'reach_activity' AND c.record_id = r.id"
        ),
        i64::try_from(report.reach_activities).unwrap()
    );

    // The API reports what the rows say: Sơn La's sessions over the whole period (rejected ones do not
    // count).
    let sessions_in_son_la = count(
        &mut conn,
        "SELECT count(*) AS count FROM training_sessions s JOIN teams t ON t.id = s.team_id \
         JOIN org_units u ON u.id = t.org_unit_id \
         WHERE u.path LIKE (SELECT path FROM org_units WHERE code = 'son-la') || '%' \
         AND s.status <> 'rejected'",
    );
    drop(conn);
    let settings = test_settings(first.url());
    let app = TestApp::spawn_with(first, &settings).await;
    let response = app
        .login("demo.viewer", cdt_api::seed::demo::DEMO_PASSWORD)
        .await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    let province = app.unit_id("son-la");
    let summary: Value = app
        .request(
            Method::GET,
            &format!(
                "/api/v1/reports/summary?org_unit_id={province}&from=2025-07-01&to=2026-06-30"
            ),
        )
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary["sessions"]["total"], sessions_in_son_la,
        "{summary}"
    );
    assert!(sessions_in_son_la > 0);
}
