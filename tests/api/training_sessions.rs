//! Training and outreach sessions: logging, rules, safe retries, workflow, reporting lock, tombstones.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, field_errors, problem};

struct World {
    app: TestApp,
    team: uuid::Uuid,
    leader: String,
    officer: String,
    admin: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("TEAM-S", commune);
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

fn yesterday() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string()
}

fn session_body(team: uuid::Uuid) -> serde_json::Value {
    json!({"team_id": team, "kind": "training", "held_on": yesterday(), "start_time": "08:00:00", "duration_minutes": 120,
           "format": "in_person", "venue": "Nhà văn hoá bản Bó Nhàng", "topics": ["vneid", "fraud_prevention"],
           "participants_total": 42, "participants_female": 23, "participants_ethnic_minority": 39,
           "participants_elderly": 6, "households_reached": 30, "vneid_activations": 12, "apps_installed": 15})
}

async fn send(
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

fn rows(w: &World) -> i64 {
    use cdt_api::db::schema::training_sessions;
    training_sessions::table
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap()
}

#[actix_web::test]
async fn a_team_leader_logs_a_session_and_reads_it_back() {
    let w = world().await;
    let response = send(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(session_body(w.team)),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["topics"], json!(["vneid", "fraud_prevention"]));
    let team_unit = cdt_api::models::team::find(&mut w.app.database.connect(), w.team)
        .unwrap()
        .org_unit_id;
    assert_eq!(created["org_unit_id"], team_unit.to_string());

    let id = created["id"].as_str().unwrap();
    let found: serde_json::Value = send(
        &w,
        &w.officer,
        Method::GET,
        &format!("/api/v1/training-sessions/{id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(found, created);

    let list: serde_json::Value = send(
        &w,
        &w.leader,
        Method::GET,
        "/api/v1/training-sessions?topic=vneid&kind=training",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let none: serde_json::Value = send(
        &w,
        &w.leader,
        Method::GET,
        "/api/v1/training-sessions?topic=online_shopping",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    let csv = w
        .app
        .request(Method::GET, "/api/v1/training-sessions")
        .bearer_auth(&w.officer)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("Nhà văn hoá bản Bó Nhàng"), "{csv}");
    assert!(csv.contains("vneid;fraud_prevention"));
}

#[actix_web::test]
async fn every_rule_is_reported_at_once() {
    let w = world().await;
    let future = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let body = json!({"team_id": w.team, "kind": "party", "held_on": future, "duration_minutes": 0, "format": "radio",
        "topics": ["vneid", "astrology", "vneid"], "participants_total": 10, "participants_female": 11,
        "participants_ethnic_minority": 12, "participants_elderly": -1, "households_reached": 40,
        "vneid_activations": 11, "trainers": [uuid::Uuid::now_v7()],
        "org_unit_id": w.app.unit_id("son-la.phuong-to-hieu")});
    let response = send(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(body),
    )
    .await;
    let body = problem(response, 422).await;
    let errors = field_errors(&body);
    for expected in [
        ("kind", "invalid_choice"),
        ("format", "invalid_choice"),
        ("duration_minutes", "out_of_range"),
        ("held_on", "in_future"),
        ("topics[1]", "invalid_choice"),
        ("topics", "duplicate"),
        ("participants_elderly", "negative"),
        ("participants_female", "exceeds_total"),
        ("participants_ethnic_minority", "exceeds_total"),
        ("households_reached", "implausible"),
        ("vneid_activations", "implausible"),
        ("org_unit_id", "outside_team_commune"),
        ("trainers[0]", "not_a_member"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {errors:?}"
        );
    }
    assert_eq!(rows(&w), 0);

    let mut early = session_body(w.team);
    early["held_on"] = json!("2025-01-01");
    let response = send(
        &w,
        &w.officer,
        Method::POST,
        "/api/v1/training-sessions",
        Some(early),
    )
    .await;
    assert_eq!(
        problem(response, 422).await["errors"][0]["code"],
        "before_team_founded"
    );
}

#[actix_web::test]
async fn retries_write_one_row_and_conflicting_reuse_is_refused() {
    let w = world().await;
    let mut body = session_body(w.team);
    let id = uuid::Uuid::now_v7();
    body["id"] = json!(id);

    // The same client id, sent by six phones' retries at once: one row.
    let requests = (0..6).map(|_| {
        send(
            &w,
            &w.leader,
            Method::POST,
            "/api/v1/training-sessions",
            Some(body.clone()),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 200),
        "{statuses:?}"
    );
    assert_eq!(rows(&w), 1);

    // The same id with other content.
    let mut other = body.clone();
    other["participants_total"] = json!(43);
    let response = send(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(other),
    )
    .await;
    assert_eq!(problem(response, 409).await["code"], "conflict");

    // The same Idempotency-Key without a client id: one row, the first response replayed.
    let plain = session_body(w.team);
    let mut responses = Vec::new();
    for _ in 0..2 {
        let response = w
            .app
            .request(Method::POST, "/api/v1/training-sessions")
            .bearer_auth(&w.leader)
            .header("Idempotency-Key", "phone-7-session-12")
            .json(&plain)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        responses.push(response.json::<serde_json::Value>().await.unwrap());
    }
    assert_eq!(responses[0]["id"], responses[1]["id"]);
    assert_eq!(rows(&w), 2);
}

#[actix_web::test]
async fn officers_verify_or_reject_and_verified_sessions_are_frozen() {
    let w = world().await;
    let created: serde_json::Value = send(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(session_body(w.team)),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!(
        "/api/v1/training-sessions/{}",
        created["id"].as_str().unwrap()
    );

    assert_eq!(
        problem(
            send(&w, &w.leader, Method::POST, &format!("{path}/verify"), None).await,
            403
        )
        .await["code"],
        "forbidden"
    );
    let rejected: serde_json::Value = send(
        &w,
        &w.officer,
        Method::POST,
        &format!("{path}/reject"),
        Some(json!({"reason": "Thiếu danh sách điểm danh"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejection_reason"], "Thiếu danh sách điểm danh");

    // The leader corrects it: back to submitted.
    let fixed: serde_json::Value = send(
        &w,
        &w.leader,
        Method::PATCH,
        &path,
        Some(json!({"participants_total": 45})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            fixed["status"].as_str(),
            fixed["participants_total"].as_i64()
        ),
        (Some("submitted"), Some(45))
    );

    let verified: serde_json::Value = send(
        &w,
        &w.officer,
        Method::POST,
        &format!("{path}/verify"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(verified["status"], "verified");
    assert!(verified["reviewed_by"].is_string());
    let frozen = send(
        &w,
        &w.leader,
        Method::PATCH,
        &path,
        Some(json!({"participants_total": 50})),
    )
    .await;
    assert_eq!(problem(frozen, 409).await["code"], "session_verified");
    let frozen = send(&w, &w.officer, Method::DELETE, &path, None).await;
    assert_eq!(problem(frozen, 409).await["code"], "session_verified");

    // An admin may still correct it; the change is audited.
    let corrected = send(
        &w,
        &w.admin,
        Method::PATCH,
        &path,
        Some(json!({"participants_total": 44})),
    )
    .await;
    assert_eq!(corrected.status(), 200);
    use cdt_api::db::schema::audit_events;
    let actions: Vec<String> = audit_events::table
        .filter(audit_events::entity_type.eq("training_session"))
        .order(audit_events::at.asc())
        .select(audit_events::action)
        .load(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(
        actions,
        [
            "training_session_created",
            "training_session_rejected",
            "training_session_updated",
            "training_session_verified",
            "training_session_updated"
        ]
    );
}

#[actix_web::test]
async fn closed_months_are_locked_for_team_leaders_but_not_officers() {
    let w = world().await;
    let mut old = session_body(w.team);
    let today = chrono::Utc::now().date_naive();
    let months_ago = today - chrono::Duration::days(100);
    old["held_on"] = json!(months_ago.to_string());
    let locked = send(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(old.clone()),
    )
    .await;
    assert_eq!(problem(locked, 409).await["code"], "period_locked");
    assert_eq!(rows(&w), 0);
    let by_officer = send(
        &w,
        &w.officer,
        Method::POST,
        "/api/v1/training-sessions",
        Some(old),
    )
    .await;
    assert_eq!(by_officer.status(), 201);
    let id = by_officer.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edit = send(
        &w,
        &w.leader,
        Method::PATCH,
        &format!("/api/v1/training-sessions/{id}"),
        Some(json!({"notes": "x"})),
    )
    .await;
    assert_eq!(problem(edit, 409).await["code"], "period_locked");

    assert_eq!(
        cdt_api::domain::workflow::lock_date(
            chrono::NaiveDate::from_ymd_opt(2025, 12, 10).unwrap(),
            45
        ),
        chrono::NaiveDate::from_ymd_opt(2026, 2, 14).unwrap()
    );
}

#[actix_web::test]
async fn a_deleted_session_leaves_a_tombstone() {
    let w = world().await;
    let created: serde_json::Value = send(
        &w,
        &w.leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(session_body(w.team)),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/training-sessions/{id}");
    let stale = w
        .app
        .request(Method::DELETE, &path)
        .bearer_auth(&w.leader)
        .header("If-Match", "\"7\"")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
    assert_eq!(
        send(&w, &w.leader, Method::DELETE, &path, None)
            .await
            .status(),
        204
    );
    assert_eq!(
        problem(send(&w, &w.leader, Method::GET, &path, None).await, 404).await["code"],
        "not_found"
    );
    let list: serde_json::Value = send(
        &w,
        &w.officer,
        Method::GET,
        "/api/v1/training-sessions",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let stored = cdt_api::models::training_session::find(
        &mut w.app.database.connect(),
        uuid::Uuid::parse_str(id).unwrap(),
    )
    .unwrap();
    assert!(stored.session.deleted_at.is_some());
    assert_eq!(stored.session.version, 2);
}
