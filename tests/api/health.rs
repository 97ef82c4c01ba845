use std::time::{Duration, Instant};

use diesel::{RunQueryDsl, sql_query};
use diesel_migrations::MigrationHarness;

use crate::{
    helpers::{TestApp, problem, test_settings},
    test_db::TestDatabase,
};

#[actix_web::test]
async fn healthz_answers_ok_without_touching_the_database() {
    let database = TestDatabase::create();
    let settings = test_settings("postgres://nobody:nothing@127.0.0.1:1/none");
    let app = TestApp::spawn_with(database, &settings).await;

    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[actix_web::test]
async fn readyz_answers_ready_on_a_migrated_database() {
    let app = TestApp::spawn().await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "database": "up", "migrations": "current",
                           // No backup thread in this test server (`serve` starts it): not read yet.
                           "backup": {"status": "unknown", "schedule": "02:00"}})
    );
}

#[actix_web::test]
async fn readyz_is_a_503_problem_with_retry_after_when_the_database_is_unreachable() {
    let database = TestDatabase::create();
    let settings = test_settings("postgres://nobody:nothing@127.0.0.1:1/none");
    let app = TestApp::spawn_with(database, &settings).await;

    let started = Instant::now();
    let response = app.get("/readyz").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(response.headers()["retry-after"], "5");
    let body = problem(response, 503).await;
    assert_eq!(body["code"], "not_ready");
    let text = body.to_string();
    assert!(
        !text.contains("nothing") && !text.contains("127.0.0.1"),
        "no internals: {text}"
    );
}

#[actix_web::test]
async fn readyz_reports_pending_migrations() {
    let app = TestApp::spawn().await;
    app.database
        .connect()
        .revert_last_migration(cdt_api::db::migrations::MIGRATIONS)
        .unwrap();

    let body = problem(app.get("/readyz").await, 503).await;
    assert_eq!(body["code"], "not_ready");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("migrations are pending")
    );
}

#[actix_web::test]
async fn the_service_recovers_by_itself_when_the_database_comes_back() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    // Outage: nobody may connect to the test database, and every open connection is killed.
    let name = app.database.name().to_owned();
    let mut admin = app.database.admin();
    sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .unwrap();
    sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut admin)
    .unwrap();

    for _ in 0..3 {
        let response = app.get("/readyz").await;
        assert!(response.headers().contains_key("retry-after"));
        let body = problem(response, 503).await;
        assert_eq!(body["code"], "not_ready");
    }

    // The database returns: the same server answers normally again, without a restart.
    sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = app.get("/readyz").await.status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} 5 s after the database came back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_request_id_is_generated_or_echoed() {
    let app = TestApp::spawn().await;

    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let echoed = app
        .request(reqwest::Method::GET, "/healthz")
        .header("X-Request-Id", "phone-42.retry_3")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "phone-42.retry_3");

    let replaced = app
        .request(reqwest::Method::GET, "/healthz")
        .header("X-Request-Id", "has spaces and is not acceptable")
        .send()
        .await
        .unwrap();
    assert_ne!(
        replaced.headers()["x-request-id"],
        "has spaces and is not acceptable"
    );
}
