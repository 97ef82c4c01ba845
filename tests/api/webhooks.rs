//! Webhooks through the HTTP API against a real receiver: signed Standard Webhooks deliveries of exactly
//! the committed changes, retries until the receiver is back, 410, rotation overlap, replay, SSRF refusals.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, Ordering},
    },
    time::Duration,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, field_errors, test_settings};
use crate::test_db::TestDatabase;

/// One POST the receiver got: `webhook-id`, `webhook-timestamp`, `webhook-signature` and the body.
type Delivered = (String, String, String, Vec<u8>);

/// What the receiver got.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Delivered>>>);

impl Received {
    fn events(&self) -> Vec<(String, serde_json::Value, String, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(id, ts, sig, body)| {
                (
                    id.clone(),
                    serde_json::from_slice(body).unwrap(),
                    ts.clone(),
                    sig.clone(),
                )
            })
            .collect()
    }
}

struct Receiver {
    url: String,
    received: Received,
    status: Arc<AtomicU16>,
    /// `Location` sent with a 3xx status.
    location: Arc<Mutex<String>>,
    server: actix_web::dev::ServerHandle,
}

async fn receiver() -> Receiver {
    let received = Received::default();
    let status = Arc::new(AtomicU16::new(200));
    let location = Arc::new(Mutex::new(String::new()));
    let (r, s, l) = (received.clone(), status.clone(), location.clone());
    let server = HttpServer::new(move || {
        let (r, s, l) = (r.clone(), s.clone(), l.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (r, s, l) = (r.clone(), s.clone(), l.clone());
            async move {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let code = s.load(Ordering::SeqCst);
                if code == 200 {
                    r.0.lock().unwrap().push((
                        header("webhook-id"),
                        header("webhook-timestamp"),
                        header("webhook-signature"),
                        body.to_vec(),
                    ));
                }
                let mut response =
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap());
                if (300..400).contains(&code) {
                    response.insert_header(("Location", l.lock().unwrap().clone()));
                }
                if code == 503 || code == 429 {
                    response.insert_header(("Retry-After", "2"));
                }
                response.finish()
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Receiver {
        url: format!("http://127.0.0.1:{port}/hooks"),
        received,
        status,
        location,
        server: handle,
    }
}

/// Standard Webhooks verification, written from the specification (not the server's code).
fn verify(secret: &str, id: &str, timestamp: &str, signatures: &str, body: &[u8]) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    signatures.split(' ').any(|s| s == expected)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

struct World {
    app: TestApp,
    team: uuid::Uuid,
    leader: String,
    officer: String,
    admin: String,
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(tweak: impl FnOnce(&mut cdt_api::config::Settings)) -> World {
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.webhooks.allowed_hosts = vec!["127.0.0.1".to_owned()];
    settings.webhooks.poll = Duration::from_millis(50);
    settings.webhooks.retry_base = Duration::from_millis(100);
    tweak(&mut settings);
    let app = TestApp::spawn_with(database, &settings).await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("TEAM-W", commune);
    app.create_team_leader("leader", team);
    app.create_user("officer", "officer", Some(commune));
    app.create_user("admin", "admin", None);
    let (leader, officer, admin) = (
        app.token("leader").await,
        app.token("officer").await,
        app.token("admin").await,
    );
    World {
        app,
        team,
        leader,
        officer,
        admin,
    }
}

async fn call(
    w: &World,
    token: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = w.app.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn session_body(team: uuid::Uuid) -> serde_json::Value {
    let day = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    json!({"team_id": team, "kind": "training", "held_on": day, "duration_minutes": 90, "format": "in_person",
           "topics": ["vneid"], "participants_total": 20, "participants_female": 10,
           "participants_ethnic_minority": 15, "participants_elderly": 2, "households_reached": 12})
}

/// Logs a session as the team leader; returns it as created.
async fn log_session(w: &World) -> serde_json::Value {
    let response = call(
        w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(session_body(w.team)),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn subscribe(
    w: &World,
    token: &str,
    url: &str,
    types: serde_json::Value,
) -> serde_json::Value {
    let response = call(
        w,
        token,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": url, "event_types": types, "description": "kho dữ liệu"})),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[actix_web::test]
async fn committed_changes_arrive_signed_once_in_order_and_rollbacks_send_nothing() {
    let w = world().await;
    let hook = receiver().await;
    let created = subscribe(&w, &w.admin, &hook.url, json!(["*"])).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_owned();
    // The secret is never shown again.
    let found: serde_json::Value = call(
        &w,
        &w.admin,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(found.get("secret").is_none());
    assert_eq!(found["event_types"], json!(["*"]));

    // A rolled-back write (refused with 422) emits nothing.
    let mut bad = session_body(w.team);
    bad["participants_female"] = json!(99);
    let refused = call(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(bad),
    )
    .await;
    assert_eq!(refused.status(), 422);

    // A write rolled back after its triggers ran (here the transaction is abandoned) leaves no event.
    {
        use diesel::{Connection, QueryDsl, RunQueryDsl};
        let mut conn = w.app.database.connect();
        let team = cdt_api::models::team::find(&mut conn, w.team).unwrap();
        let leader = cdt_api::models::user::find_by_username(&mut conn, "leader")
            .unwrap()
            .unwrap()
            .id;
        let fields = crate::helpers::session_fields(
            w.team,
            team.org_unit_id,
            chrono::Utc::now().date_naive() - chrono::Duration::days(2),
        );
        let rolled_back = conn.transaction::<(), diesel::result::Error, _>(|conn| {
            cdt_api::models::training_session::insert(conn, uuid::Uuid::now_v7(), &fields, leader)?;
            let written: i64 = cdt_api::db::schema::webhook_events::table
                .count()
                .get_result(conn)?;
            assert_eq!(
                written, 1,
                "the trigger wrote the event inside the transaction"
            );
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(rolled_back.is_err());
        let kept: i64 = cdt_api::db::schema::webhook_events::table
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(kept, 0);
    }

    let session = log_session(&w).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    let verified = call(
        &w,
        &w.officer,
        Method::POST,
        &format!("/api/v1/training-sessions/{session_id}/verify"),
        Some(json!({})),
    )
    .await;
    assert_eq!(verified.status(), 200);
    let read: serde_json::Value = call(
        &w,
        &w.admin,
        Method::GET,
        &format!("/api/v1/training-sessions/{session_id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();

    wait_for("two events", || hook.received.events().len() >= 2).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let events = hook.received.events();
    assert_eq!(events.len(), 2, "{events:?}");
    let raw = hook.received.0.lock().unwrap().clone();
    for (webhook_id, timestamp, signature, body) in &raw {
        assert!(
            verify(&secret, webhook_id, timestamp, signature, body),
            "bad signature"
        );
        let event: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(&event["id"], webhook_id);
    }
    assert_eq!(events[0].1["type"], "training_session.created");
    assert_eq!(events[1].1["type"], "training_session.verified");
    assert_eq!(events[0].1["data"]["id"], session_id.as_str());
    assert_eq!(events[0].1["data"]["status"], "submitted");
    // The data is the record exactly as its endpoint shows it.
    assert_eq!(events[1].1["data"], read);

    // The deliveries log says what happened; ping goes to this subscription.
    let ping = call(
        &w,
        &w.admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        None,
    )
    .await;
    assert_eq!(ping.status(), 202);
    wait_for("the ping", || hook.received.events().len() >= 3).await;
    assert_eq!(hook.received.events()[2].1["type"], "ping");
    // The receiver has the ping before the dispatcher records its answer: read the log until it has.
    let mut log = serde_json::Value::Null;
    for _ in 0..100 {
        log = call(
            &w,
            &w.admin,
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if log["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|d| d["state"] != "pending"))
        {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|d| d["state"] == "succeeded" && d["last_status"] == 200),
        "{log}"
    );

    // Replay sends the same events again, with their ids.
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let replay = call(
        &w,
        &w.admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/replay"),
        Some(json!({"since": since})),
    )
    .await;
    assert_eq!(replay.status(), 202);
    assert_eq!(
        replay.json::<serde_json::Value>().await.unwrap()["queued"],
        2
    );
    wait_for("the replay", || hook.received.events().len() >= 5).await;
    let again = hook.received.events();
    assert_eq!(again[3].0, events[0].0);
    assert_eq!(again[4].0, events[1].0);

    // Retrying one delivery sends its event again, with the same id.
    let first_delivery = items
        .iter()
        .find(|d| d["event_id"] == events[0].0.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let retried = call(
        &w,
        &w.admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/deliveries/{first_delivery}/retry"),
        None,
    )
    .await;
    assert_eq!(retried.status(), 202);
    assert_eq!(
        retried.json::<serde_json::Value>().await.unwrap()["state"],
        "pending"
    );
    wait_for("the retried delivery", || hook.received.events().len() >= 6).await;
    assert_eq!(hook.received.events()[5].0, events[0].0);
    let missing = call(
        &w,
        &w.admin,
        Method::POST,
        &format!(
            "/api/v1/webhooks/{id}/deliveries/{}/retry",
            uuid::Uuid::now_v7()
        ),
        None,
    )
    .await;
    assert_eq!(missing.status(), 404);

    // The attempts are counted in /metrics.
    let metrics = w
        .app
        .request(Method::GET, "/metrics")
        .bearer_auth(crate::helpers::METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let succeeded = metrics
        .lines()
        .find(|l| l.starts_with("cdt_webhook_deliveries_total{result=\"succeeded\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert!(succeeded.is_some_and(|n| n >= 6.0), "{metrics}");
    hook.server.stop(false).await;
}

#[actix_web::test]
async fn a_receiver_down_gets_everything_when_back_and_410_disables() {
    let w = world().await;
    let hook = receiver().await;
    let created = subscribe(
        &w,
        &w.officer,
        &hook.url,
        json!(["training_session.created", "training_session.updated"]),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    hook.status.store(503, Ordering::SeqCst);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(log_session(&w).await["id"].as_str().unwrap().to_owned());
    }
    let patched = call(
        &w,
        &w.leader,
        Method::PATCH,
        &format!("/api/v1/training-sessions/{}", ids[0]),
        Some(json!({"participants_total": 25})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let log: serde_json::Value = call(
        &w,
        &w.officer,
        Method::GET,
        &format!("/api/v1/webhooks/{id}/deliveries?state=pending"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(log["items"].as_array().unwrap().len(), 4);
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["last_status"] == 503)
    );
    hook.status.store(200, Ordering::SeqCst);
    wait_for("all four events", || hook.received.events().len() >= 4).await;
    let events = hook.received.events();
    let first_record: Vec<_> = events
        .iter()
        .filter(|e| e.1["data"]["id"] == ids[0].as_str())
        .map(|e| e.1["type"].clone())
        .collect();
    assert_eq!(
        first_record,
        vec![
            json!("training_session.created"),
            json!("training_session.updated")
        ]
    );

    // 410 Gone disables the subscription and cancels the rest.
    hook.status.store(410, Ordering::SeqCst);
    log_session(&w).await;
    let mut disabled = serde_json::Value::Null;
    for _ in 0..100 {
        disabled = call(
            &w,
            &w.officer,
            Method::GET,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if disabled["enabled"] == false {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["disabled_reason"], "gone");
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let audited: i64 = cdt_api::db::schema::audit_events::table
        .filter(cdt_api::db::schema::audit_events::action.eq("webhook.disabled"))
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(audited, 1);
    hook.server.stop(false).await;
}

#[actix_web::test]
async fn subscriptions_refuse_private_addresses_plain_http_and_unknown_types() {
    let w = world().await;
    for (url, code) in [
        ("https://10.0.0.7/hook", "private_address"),
        ("https://169.254.169.254/latest", "private_address"),
        ("http://example.org/hook", "https_required"),
        ("https://user:pw@example.org/hook", "credentials_in_url"),
        // A name that resolves to a private address (only 127.0.0.1 is allowed here, not localhost).
        ("https://localhost/hook", "private_address"),
    ] {
        let response = call(
            &w,
            &w.admin,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": url, "event_types": ["*"]})),
        )
        .await;
        assert_eq!(response.status(), 422, "{url}");
        let errors = field_errors(&response.json().await.unwrap());
        assert!(
            errors.iter().any(|(field, c)| field == "url" && c == code),
            "{url}: {errors:?}"
        );
    }
    let response = call(
        &w,
        &w.admin,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/x", "event_types": ["session.made"]})),
    )
    .await;
    assert_eq!(response.status(), 422);
    let errors = field_errors(&response.json().await.unwrap());
    assert!(
        errors
            .iter()
            .any(|(field, c)| field == "event_types[0]" && c == "invalid_choice")
    );
    // Team leaders and viewers hold no webhooks; officers see only their own.
    let leader = call(&w, &w.leader, Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(leader.status(), 403);
    let mine = subscribe(&w, &w.admin, "http://127.0.0.1:9/x", json!(["ping"])).await;
    let other = call(
        &w,
        &w.officer,
        Method::GET,
        &format!("/api/v1/webhooks/{}", mine["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(other.status(), 404);
}

/// Waits until `hook` has an event of `event_type` about `id`, and returns its data.
async fn event_about(hook: &Receiver, event_type: &str, id: &str) -> serde_json::Value {
    let mut found = None;
    wait_for(event_type, || {
        found = hook
            .received
            .events()
            .into_iter()
            .find(|e| e.1["type"] == event_type && e.1["data"]["id"] == id)
            .map(|e| e.1["data"].clone());
        found.is_some()
    })
    .await;
    found.unwrap()
}

#[actix_web::test]
async fn every_kind_of_record_arrives_shaped_like_its_endpoint_and_only_inside_the_owners_scope() {
    let w = world().await;
    let officer_hook = receiver().await;
    let admin_hook = receiver().await;
    subscribe(&w, &w.officer, &officer_hook.url, json!(["*"])).await;
    subscribe(&w, &w.admin, &admin_hook.url, json!(["*"])).await;
    let inside = w.app.unit_id("son-la.xa-van-ho");
    let outside = w.app.unit_id("son-la.phuong-to-hieu");

    // Teams: one inside the officer's commune, one outside it.
    let mut teams = Vec::new();
    for (code, unit) in [("HOOK-IN", inside), ("HOOK-OUT", outside)] {
        let response = call(
            &w,
            &w.admin,
            Method::POST,
            "/api/v1/teams",
            Some(json!({"code": code, "name": "Tổ công nghệ số", "org_unit_id": unit})),
        )
        .await;
        assert_eq!(response.status(), 201);
        teams.push(response.json::<serde_json::Value>().await.unwrap());
    }
    let team_in = teams[0]["id"].as_str().unwrap().to_owned();
    let team_out = teams[1]["id"].as_str().unwrap().to_owned();
    let data = event_about(&officer_hook, "team.created", &team_in).await;
    let read: serde_json::Value = call(
        &w,
        &w.officer,
        Method::GET,
        &format!("/api/v1/teams/{team_in}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    for (field, value) in data.as_object().unwrap() {
        assert_eq!(&read[field], value, "team field {field}");
    }
    event_about(&admin_hook, "team.created", &team_out).await;

    // A member with a phone: the membership as the members list shows it, the phone in full for its
    // owner, and that read in the personal-data log.
    let response = call(&w, &w.officer, Method::POST, &format!("/api/v1/teams/{team_in}/members"),
        Some(json!({"person": {"full_name": "Lò Thị Hoa", "phone": "0912345678"}, "role": "member", "joined_on": "2025-08-01"}))).await;
    assert_eq!(response.status(), 201);
    let member: serde_json::Value = response.json().await.unwrap();
    let membership = member["id"].as_str().unwrap().to_owned();
    let person = member["person_id"].as_str().unwrap().to_owned();
    let data = event_about(&officer_hook, "membership.created", &membership).await;
    assert_eq!(data["full_name"], "Lò Thị Hoa");
    assert_eq!(data["phone"], "+84912345678");
    assert_eq!(data["phone_masked"], false);
    let listed: serde_json::Value = call(
        &w,
        &w.officer,
        Method::GET,
        &format!("/api/v1/teams/{team_in}/members"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let shown = listed["items"]
        .as_array()
        .or(listed.as_array())
        .unwrap()
        .iter()
        .find(|m| m["id"] == membership.as_str())
        .unwrap()
        .clone();
    assert_eq!(data, shown);
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let officer_id =
        cdt_api::models::user::find_by_username(&mut w.app.database.connect(), "officer")
            .unwrap()
            .unwrap()
            .id;
    let logged: i64 = cdt_api::db::schema::personal_data_reads::table
        .filter(cdt_api::db::schema::personal_data_reads::reader_id.eq(officer_id))
        .filter(
            cdt_api::db::schema::personal_data_reads::person_id
                .eq(person.parse::<uuid::Uuid>().unwrap()),
        )
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert!(logged >= 1);

    // The member leaves, then the person's data is erased: its own event type.
    let ended = call(
        &w,
        &w.officer,
        Method::DELETE,
        &format!("/api/v1/teams/{team_in}/members/{membership}"),
        None,
    )
    .await;
    assert!(ended.status().is_success(), "{}", ended.status());
    event_about(&officer_hook, "membership.updated", &membership).await;
    let erased = call(
        &w,
        &w.admin,
        Method::DELETE,
        &format!("/api/v1/people/{person}/personal-data"),
        None,
    )
    .await;
    assert!(erased.status().is_success(), "{}", erased.status());
    let data = event_about(&officer_hook, "person.erased", &person).await;
    assert_eq!(data["erased"], true);
    assert_eq!(data["full_name"], serde_json::Value::Null);
    assert_eq!(data["phone"], serde_json::Value::Null);

    // Campaigns are everyone's; targets are their unit's and have tombstones.
    let response = call(&w, &w.admin, Method::POST, "/api/v1/campaigns", Some(json!({"code": "hook-campaign",
        "name": "Chiến dịch", "owner": "Sở KH&CN", "starts_on": "2025-01-01", "ends_on": "2030-12-31"}))).await;
    assert_eq!(response.status(), 201);
    let campaign: serde_json::Value = response.json().await.unwrap();
    let data = event_about(
        &officer_hook,
        "campaign.created",
        campaign["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(data, campaign);
    let response = call(&w, &w.admin, Method::POST, "/api/v1/targets", Some(json!({"team_id": team_in,
        "indicator": "people_trained", "period_start": "2031-01-01", "period_end": "2031-12-31", "value": 100}))).await;
    assert_eq!(response.status(), 201);
    let mut target: serde_json::Value = response.json().await.unwrap();
    target.as_object_mut().unwrap().remove("warnings");
    let target_id = target["id"].as_str().unwrap().to_owned();
    let data = event_about(&officer_hook, "target.created", &target_id).await;
    assert_eq!(data, target);
    let removed = call(
        &w,
        &w.admin,
        Method::DELETE,
        &format!("/api/v1/targets/{target_id}"),
        None,
    )
    .await;
    assert_eq!(removed.status(), 204);
    let data = event_about(&officer_hook, "target.deleted", &target_id).await;
    assert_eq!(data["deleted"], true);

    // Nothing of the team outside the officer's scope ever reached the officer.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let leaked: Vec<_> = officer_hook
        .received
        .events()
        .into_iter()
        .filter(|e| {
            e.1["data"]["id"] == team_out.as_str() || e.1["data"]["team_id"] == team_out.as_str()
        })
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    // And every delivery verified by its own receiver's secret is covered by the first test.
    officer_hook.server.stop(false).await;
    admin_hook.server.stop(false).await;
}

#[actix_web::test]
async fn a_dead_endpoint_does_not_delay_another_and_redirects_are_not_followed() {
    let w = world().await;
    let hook = receiver().await;
    // Accepts connections and never answers: every attempt waits for its 10 s timeout.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!(
        "http://127.0.0.1:{}/hooks",
        dead.local_addr().unwrap().port()
    );
    subscribe(&w, &w.admin, &dead_url, json!(["*"])).await;
    subscribe(&w, &w.admin, &hook.url, json!(["*"])).await;
    let started = std::time::Instant::now();
    for _ in 0..5 {
        log_session(&w).await;
    }
    wait_for("five events at the live receiver", || {
        hook.received.events().len() >= 5
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    // A redirect is an answer, not an instruction: the target gets nothing, the delivery waits.
    let target = receiver().await;
    *hook.location.lock().unwrap() = target.url.clone();
    hook.status.store(307, Ordering::SeqCst);
    let session = log_session(&w).await["id"].as_str().unwrap().to_owned();
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let mut statuses = Vec::new();
    for _ in 0..100 {
        statuses = cdt_api::db::schema::webhook_deliveries::table
            .filter(
                cdt_api::db::schema::webhook_deliveries::record_id
                    .eq(session.parse::<uuid::Uuid>().unwrap()),
            )
            .select(cdt_api::db::schema::webhook_deliveries::last_status)
            .load::<Option<i32>>(&mut w.app.database.connect())
            .unwrap();
        if statuses.contains(&Some(307)) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(statuses.contains(&Some(307)), "{statuses:?}");
    assert!(target.received.events().is_empty());

    // Checked again when sending: a stored URL that now points inside (here written behind the API's
    // back) is refused without a connection.
    hook.status.store(200, Ordering::SeqCst);
    let inside = subscribe(&w, &w.admin, &hook.url, json!(["training_session.created"])).await;
    let inside_id: uuid::Uuid = inside["id"].as_str().unwrap().parse().unwrap();
    diesel::update(cdt_api::db::schema::webhook_subscriptions::table.find(inside_id))
        .set(cdt_api::db::schema::webhook_subscriptions::url.eq("https://10.20.30.40/hooks"))
        .execute(&mut w.app.database.connect())
        .unwrap();
    let session = log_session(&w).await["id"].as_str().unwrap().to_owned();
    let mut refused = None;
    for _ in 0..100 {
        refused = cdt_api::db::schema::webhook_deliveries::table
            .filter(cdt_api::db::schema::webhook_deliveries::subscription_id.eq(inside_id))
            .filter(
                cdt_api::db::schema::webhook_deliveries::record_id
                    .eq(session.parse::<uuid::Uuid>().unwrap()),
            )
            .select(cdt_api::db::schema::webhook_deliveries::last_error)
            .first::<Option<String>>(&mut w.app.database.connect())
            .ok()
            .flatten();
        if refused.is_some() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("10.20.30.40")),
        "{refused:?}"
    );
    drop(dead);
    hook.server.stop(false).await;
    target.server.stop(false).await;
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends() {
    let w = world().await;
    let hook = receiver().await;
    let created = subscribe(&w, &w.admin, &hook.url, json!(["training_session.created"])).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    let rotated: serde_json::Value = call(
        &w,
        &w.admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_expires_at"].is_string());
    log_session(&w).await;
    wait_for("the first event", || !hook.received.events().is_empty()).await;
    let (webhook_id, timestamp, signature, body) = hook.received.0.lock().unwrap()[0].clone();
    assert_eq!(signature.split(' ').count(), 2);
    assert!(verify(&old, &webhook_id, &timestamp, &signature, &body));
    assert!(verify(&new, &webhook_id, &timestamp, &signature, &body));

    // The overlap over, only the new secret signs.
    use diesel::{ExpressionMethods, RunQueryDsl};
    diesel::update(cdt_api::db::schema::webhook_subscriptions::table)
        .set(
            cdt_api::db::schema::webhook_subscriptions::previous_secret_expires_at
                .eq(Some(chrono::Utc::now() - chrono::Duration::seconds(1))),
        )
        .execute(&mut w.app.database.connect())
        .unwrap();
    log_session(&w).await;
    wait_for("the second event", || hook.received.events().len() >= 2).await;
    let (webhook_id, timestamp, signature, body) = hook.received.0.lock().unwrap()[1].clone();
    assert_eq!(signature.split(' ').count(), 1);
    assert!(!verify(&old, &webhook_id, &timestamp, &signature, &body));
    assert!(verify(&new, &webhook_id, &timestamp, &signature, &body));
    hook.server.stop(false).await;
}

#[actix_web::test]
async fn retry_after_is_honoured_and_a_long_run_of_failures_disables_the_subscription() {
    let w = world_with(|settings| {
        settings.webhooks.disable_after = Duration::from_secs(3);
    })
    .await;
    let hook = receiver().await;
    let created = subscribe(&w, &w.admin, &hook.url, json!(["training_session.created"])).await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    // 503 with Retry-After: 2 puts the next attempt about 2 s later, not the 100 ms backoff.
    hook.status.store(503, Ordering::SeqCst);
    let session: uuid::Uuid = log_session(&w).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let attempt = || {
        cdt_api::db::schema::webhook_deliveries::table
            .filter(cdt_api::db::schema::webhook_deliveries::record_id.eq(session))
            .select((
                cdt_api::db::schema::webhook_deliveries::last_attempt_at,
                cdt_api::db::schema::webhook_deliveries::next_attempt_at,
                cdt_api::db::schema::webhook_deliveries::last_status,
            ))
            .first::<(
                Option<chrono::DateTime<chrono::Utc>>,
                chrono::DateTime<chrono::Utc>,
                Option<i32>,
            )>(&mut w.app.database.connect())
            .ok()
    };
    let mut seen = None;
    for _ in 0..100 {
        seen = attempt().filter(|(_, _, status)| *status == Some(503));
        if seen.is_some() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let (last, next, _) = seen.expect("a 503 attempt");
    let wait = (next - last.unwrap()).num_milliseconds();
    assert!(
        (1_500..=3_000).contains(&wait),
        "next attempt {wait} ms after the last"
    );

    // Failing (500) for longer than WEBHOOK_DISABLE_AFTER_HOURS (3 s here) disables it, audited.
    hook.status.store(500, Ordering::SeqCst);
    let mut found = serde_json::Value::Null;
    for _ in 0..200 {
        found = call(
            &w,
            &w.admin,
            Method::GET,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if found["enabled"] == false {
            break;
        }
        // Keep it failing: each new event is attempted at once.
        log_session(&w).await;
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(found["enabled"], false, "{found}");
    assert_eq!(found["disabled_reason"], "failing");
    assert!(found["failing_since"].is_string());
    let audited: i64 = cdt_api::db::schema::audit_events::table
        .filter(cdt_api::db::schema::audit_events::action.eq("webhook.disabled"))
        .filter(cdt_api::db::schema::audit_events::entity_id.eq(id))
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(audited, 1);
    // Nothing of it is pending any more; re-enabling clears the failure run.
    let pending: i64 = cdt_api::db::schema::webhook_deliveries::table
        .filter(cdt_api::db::schema::webhook_deliveries::subscription_id.eq(id))
        .filter(cdt_api::db::schema::webhook_deliveries::state.eq("pending"))
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(pending, 0);
    let enabled: serde_json::Value = call(
        &w,
        &w.admin,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({"enabled": true})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["failing_since"], serde_json::Value::Null);
    assert_eq!(enabled["disabled_reason"], serde_json::Value::Null);
    hook.server.stop(false).await;
}
