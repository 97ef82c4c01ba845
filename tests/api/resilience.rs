//! Faults under load: the database stopping for ten seconds, every connection busy, slow statements.

use std::{
    cell::RefCell,
    collections::HashSet,
    rc::Rc,
    time::{Duration, Instant},
};

use cdt_api::db::{
    embedded::{EmbeddedOptions, EmbeddedPostgres},
    migrations,
};
use diesel::{Connection, PgConnection};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::{
    helpers::{METRICS_TOKEN, TableLock, TestApp, metric_sample, metrics_text, test_settings},
    test_db::TestDatabase,
};

/// What one client saw.
#[derive(Debug, Default)]
struct Tally {
    /// Session ids whose POST got a 2xx.
    acknowledged: HashSet<uuid::Uuid>,
    /// Every 503: how long it took, and whether it carried `Retry-After` and a problem document.
    unavailable: Vec<(Duration, bool)>,
    /// Anything else unexpected.
    errors: Vec<String>,
    /// Requests answered 2xx.
    ok: usize,
}

fn session_body(team: uuid::Uuid, id: uuid::Uuid) -> serde_json::Value {
    let yesterday = cdt_api::domain::today_in_vietnam() - chrono::Duration::days(1);
    json!({"id": id, "team_id": team, "kind": "training", "held_on": yesterday, "duration_minutes": 90,
           "format": "in_person", "topics": ["vneid"], "participants_total": 20,
           "participants_female": 9, "participants_ethnic_minority": 18, "participants_elderly": 2,
           "households_reached": 15})
}

fn is_problem_503(response: &reqwest::Response) -> bool {
    response.status() == 503
        && response.headers().contains_key("retry-after")
        && response.headers()["content-type"] == "application/problem+json"
}

/// Logs sessions until `stop`: each with a client id and an `Idempotency-Key`, retried with both
/// unchanged after a 503 until acknowledged (as the phone app does).
async fn writer(
    app: Rc<TestApp>,
    token: String,
    team: uuid::Uuid,
    stop: Rc<RefCell<bool>>,
    tally: Rc<RefCell<Tally>>,
) {
    while !*stop.borrow() {
        let id = uuid::Uuid::now_v7();
        let key = uuid::Uuid::new_v4().to_string();
        let first_attempt = Instant::now();
        loop {
            if first_attempt.elapsed() > Duration::from_secs(20) {
                tally
                    .borrow_mut()
                    .errors
                    .push(format!("session {id} still not acknowledged after 20 s"));
                break;
            }
            let started = Instant::now();
            let response = app
                .request(Method::POST, "/api/v1/training-sessions")
                .bearer_auth(&token)
                .header("Idempotency-Key", &key)
                .json(&session_body(team, id))
                .send()
                .await;
            let elapsed = started.elapsed();
            let acknowledged = {
                let mut tally = tally.borrow_mut();
                match response {
                    Ok(response) if response.status().is_success() => {
                        tally.ok += 1;
                        tally.acknowledged.insert(id);
                        true
                    }
                    Ok(response) if response.status() == 503 => {
                        tally.unavailable.push((elapsed, is_problem_503(&response)));
                        false
                    }
                    // A retry that arrives while the first attempt still holds its key.
                    Ok(response) if response.status() == 409 => false,
                    Ok(response) => {
                        tally
                            .errors
                            .push(format!("POST answered {}", response.status()));
                        false
                    }
                    Err(error) => {
                        tally.errors.push(format!("POST failed: {error}"));
                        false
                    }
                }
            };
            if acknowledged {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Reads a team until `stop`.
async fn reader(
    app: Rc<TestApp>,
    token: String,
    team: uuid::Uuid,
    stop: Rc<RefCell<bool>>,
    tally: Rc<RefCell<Tally>>,
) {
    while !*stop.borrow() {
        let started = Instant::now();
        let response = app
            .request(Method::GET, &format!("/api/v1/teams/{team}"))
            .bearer_auth(&token)
            .send()
            .await;
        let elapsed = started.elapsed();
        {
            let mut tally = tally.borrow_mut();
            match response {
                Ok(response) if response.status() == 200 => tally.ok += 1,
                Ok(response) if response.status() == 503 => {
                    tally.unavailable.push((elapsed, is_problem_503(&response)));
                }
                Ok(response) => tally
                    .errors
                    .push(format!("GET answered {}", response.status())),
                Err(error) => tally.errors.push(format!("GET failed: {error}")),
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a blocking step (pg_ctl) off the test's single-threaded runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver.await.unwrap()
}

#[actix_web::test]
async fn a_ten_second_database_outage_under_load_answers_503_quickly_and_loses_nothing() {
    let dir = tempfile::Builder::new()
        .prefix("cdt-api-outage-")
        .tempdir()
        .unwrap()
        .keep();
    let server = EmbeddedPostgres::start(&EmbeddedOptions {
        data_dir: dir.join("cluster"),
        database: "cdt".to_owned(),
        bindir: None,
        ephemeral: true,
        archive: None,
    })
    .expect("cluster");
    let url = server.database_url().expose_secret().to_owned();
    migrations::run_pending(&mut PgConnection::establish(&url).unwrap()).unwrap();
    let server = std::sync::Arc::new(std::sync::Mutex::new(server));

    let mut settings = test_settings(&url);
    // Clients retry every 100 ms: more than a person's per-minute allowance.
    settings.rate_limit_per_minute = 1_000_000;
    let app = Rc::new(TestApp::spawn_with(TestDatabase::existing(url.clone()), &settings).await);
    app.seed_son_la();
    let team = app.create_team("T-OUTAGE", app.unit_id("son-la.xa-van-ho"));
    app.create_team_leader("leader.outage", team);
    app.create_user("officer.outage", "officer", Some(app.unit_id("son-la")));
    let leader = app.token("leader.outage").await;
    let officer = app.token("officer.outage").await;

    let stop = Rc::new(RefCell::new(false));
    let writes = Rc::new(RefCell::new(Tally::default()));
    let reads = Rc::new(RefCell::new(Tally::default()));
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(actix_web::rt::spawn(writer(
            app.clone(),
            leader.clone(),
            team,
            stop.clone(),
            writes.clone(),
        )));
        clients.push(actix_web::rt::spawn(reader(
            app.clone(),
            officer.clone(),
            team,
            stop.clone(),
            reads.clone(),
        )));
    }
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let before_outage = writes.borrow().acknowledged.len();
    assert!(before_outage > 0, "no write went through before the outage");

    // The outage: PostgreSQL stops (open sessions cut) for ten seconds.
    let cluster = server.clone();
    blocking(move || cluster.lock().unwrap().interrupt().unwrap()).await;
    let outage_started = Instant::now();
    let mut readyz_down = false;
    while outage_started.elapsed() < Duration::from_secs(10) {
        let started = Instant::now();
        let response = app.get("/readyz").await;
        assert!(started.elapsed() < Duration::from_secs(2));
        if response.status() == 503 && response.headers().contains_key("retry-after") {
            readyz_down = true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    let cluster = server.clone();
    blocking(move || cluster.lock().unwrap().resume().unwrap()).await;
    let back = Instant::now();

    // Back to normal without a restart within 5 s of the database's return.
    let ok_before = reads.borrow().ok;
    loop {
        if app.get("/readyz").await.status() == 200 && reads.borrow().ok > ok_before {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not serving 5 s after the database came back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered_after = back.elapsed();
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    *stop.borrow_mut() = true;
    for client in clients {
        client.await.unwrap();
    }

    assert!(readyz_down, "/readyz never said 503 during the outage");
    for (name, tally) in [("writes", &writes), ("reads", &reads)] {
        let tally = tally.borrow();
        assert!(tally.errors.is_empty(), "{name}: {:?}", tally.errors);
        assert!(
            !tally.unavailable.is_empty(),
            "{name}: no request met the outage"
        );
        let slowest = tally.unavailable.iter().map(|(d, _)| *d).max().unwrap();
        assert!(
            slowest < Duration::from_secs(2),
            "{name}: a 503 took {slowest:?}"
        );
        assert!(
            tally.unavailable.iter().all(|(_, problem)| *problem),
            "{name}: a 503 without Retry-After or problem+json"
        );
    }

    // Every acknowledged write is stored, once; retries added nothing.
    let acknowledged = writes.borrow().acknowledged.clone();
    assert!(
        acknowledged.len() > before_outage,
        "no write after the outage"
    );
    let stored: Vec<uuid::Uuid> = {
        use cdt_api::db::schema::training_sessions::dsl::{id, training_sessions};
        use diesel::{QueryDsl, RunQueryDsl};
        training_sessions
            .select(id)
            .load(&mut PgConnection::establish(&url).unwrap())
            .unwrap()
    };
    let stored_set: HashSet<_> = stored.iter().copied().collect();
    assert_eq!(stored.len(), stored_set.len());
    assert!(
        acknowledged.is_subset(&stored_set),
        "acknowledged writes missing: {:?}",
        acknowledged.difference(&stored_set).collect::<Vec<_>>()
    );
    assert_eq!(
        stored_set.len(),
        acknowledged.len(),
        "a write that was never acknowledged (or a duplicate) is stored"
    );
    let slowest = |tally: &Rc<RefCell<Tally>>| {
        tally
            .borrow()
            .unavailable
            .iter()
            .map(|(took, _)| *took)
            .max()
            .unwrap_or_default()
    };
    eprintln!(
        "outage: {} writes and {} reads ok; {} writes and {} reads answered 503 (slowest {:?} and {:?}); \
         recovered {recovered_after:?} after the database returned",
        writes.borrow().ok,
        reads.borrow().ok,
        writes.borrow().unavailable.len(),
        reads.borrow().unavailable.len(),
        slowest(&writes),
        slowest(&reads),
    );
    let cluster = server.clone();
    blocking(move || cluster.lock().unwrap().stop().unwrap()).await;
}

#[actix_web::test]
async fn with_every_connection_busy_requests_get_503_after_the_pool_timeout_then_service_recovers()
{
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.db_pool_size = 2;
    settings.db_pool_timeout = Duration::from_millis(300);
    settings.db_statement_timeout = Duration::from_millis(2000);
    let app = Rc::new(TestApp::spawn_with(database, &settings).await);
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;

    // Another client holds a lock every session list needs.
    let lock = TableLock::take(app.database.url(), "training_sessions").await;

    // Two slow requests take both connections...
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            let token = token.clone();
            actix_web::rt::spawn(async move {
                let started = Instant::now();
                let response = app
                    .request(Method::GET, "/api/v1/training-sessions")
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), started.elapsed())
            })
        })
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;

    // ...so the next waits DB_POOL_TIMEOUT_MS for one, then gets 503, instead of queueing.
    let started = Instant::now();
    let response = app
        .request(Method::GET, "/api/v1/teams")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable");
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500),
        "waited {waited:?}"
    );

    // The slow statements end at statement_timeout with a retryable 503.
    for request in slow {
        let (status, took) = request.await.unwrap();
        assert_eq!(status, 503);
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
            "took {took:?}"
        );
    }
    lock.release();

    // Load gone: normal service, and the metrics saw it.
    for path in ["/api/v1/training-sessions", "/api/v1/teams"] {
        let response = app
            .request(Method::GET, path)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let metrics = metrics_text(&app, METRICS_TOKEN).await;
    let unavailable = metric_sample(&metrics, r#"cdt_db_errors_total{kind="unavailable"}"#);
    assert!(unavailable >= 3.0, "{metrics}");
}
