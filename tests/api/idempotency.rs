//! `Idempotency-Key`: replay, mismatch, concurrent duplicates, per-user scope, release on error.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, problem};

fn village(app: &TestApp, code: &str) -> serde_json::Value {
    json!({"code": code, "name": "Bản Nà Bai", "level": "village", "kind": "ban",
           "parent_id": app.unit_id("son-la.xa-van-ho"), "valid_from": "2025-07-01"})
}

async fn create(
    app: &TestApp,
    token: &str,
    key: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/org-units")
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn count_code(app: &TestApp, code: &str) -> i64 {
    use cdt_api::db::schema::org_units;
    org_units::table
        .filter(org_units::code.eq(code))
        .count()
        .get_result(&mut app.database.connect())
        .unwrap()
}

#[actix_web::test]
async fn a_retried_request_replays_the_first_response_and_writes_once() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let body = village(&app, "ban-na-bai");

    let first = create(&app, &token, "9b1f6c1e-retry-1", &body).await;
    assert_eq!(first.status(), 201);
    assert!(!first.headers().contains_key("idempotency-replayed"));
    let location = first.headers()["location"].clone();
    let first: serde_json::Value = first.json().await.unwrap();

    let again = create(&app, &token, "9b1f6c1e-retry-1", &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["content-type"], "application/json");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(count_code(&app, "ban-na-bai"), 1);

    // Same key, other body: refused.
    let other = create(&app, &token, "9b1f6c1e-retry-1", &village(&app, "ban-khac")).await;
    assert_eq!(problem(other, 422).await["code"], "idempotency_key_reused");
    assert_eq!(count_code(&app, "ban-khac"), 0);
}

#[actix_web::test]
async fn concurrent_duplicates_write_once() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let body = village(&app, "ban-dong-thoi");

    let requests = (0..6).map(|_| create(&app, &token, "same-key-at-once", &body));
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");
    assert_eq!(count_code(&app, "ban-dong-thoi"), 1);
    // Once the first has finished, every retry replays it.
    assert_eq!(
        create(&app, &token, "same-key-at-once", &body)
            .await
            .status(),
        201
    );
    assert_eq!(count_code(&app, "ban-dong-thoi"), 1);
}

#[actix_web::test]
async fn keys_belong_to_one_user_and_failed_requests_release_them() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    app.create_user("admin2", "admin", None);
    let first = app.token("admin").await;
    let second = app.token("admin2").await;

    // A rejected request does not consume the key: the corrected retry runs.
    let mut invalid = village(&app, "ban-sua-lai");
    invalid["kind"] = json!("xa");
    assert_eq!(create(&app, &first, "key-1", &invalid).await.status(), 422);
    assert_eq!(
        create(&app, &first, "key-1", &village(&app, "ban-sua-lai"))
            .await
            .status(),
        201
    );

    // Another user's identical key is another key.
    let response = create(&app, &second, "key-1", &village(&app, "ban-nguoi-khac")).await;
    assert_eq!(response.status(), 201);
    assert!(!response.headers().contains_key("idempotency-replayed"));

    let bad_key = create(&app, &first, "has spaces", &village(&app, "x-y")).await;
    assert_eq!(
        problem(bad_key, 422).await["errors"][0]["field"],
        "Idempotency-Key"
    );
}

#[actix_web::test]
async fn keys_older_than_a_day_are_deleted_by_the_server() {
    let database = crate::test_db::TestDatabase::create();
    let settings = crate::helpers::test_settings(database.url());
    let mut conn = database.connect();
    diesel::sql_query(
        "INSERT INTO users (id, username, display_name, password_hash, role) \
         VALUES ('00000000-0000-7000-8000-000000000001', 'nguoi.cu', 'Cũ', 'x', 'admin')",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at) VALUES \
         ('00000000-0000-7000-8000-000000000001', 'old', '\\x00', 'completed', now() - interval '25 hours'), \
         ('00000000-0000-7000-8000-000000000001', 'new', '\\x00', 'completed', now() - interval '1 hour')",
    )
    .execute(&mut conn)
    .unwrap();
    let app = TestApp::spawn_with(database, &settings).await;

    use cdt_api::db::schema::idempotency_keys;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let keys: Vec<String> = idempotency_keys::table
            .select(idempotency_keys::key)
            .load(&mut app.database.connect())
            .unwrap();
        if keys == ["new"] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {keys:?}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
