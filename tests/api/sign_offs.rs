//! Monthly sign-off through the HTTP API: the full cycle with its history and audit, the completeness
//! refusal with the lists it links, and the freeze of submitted and accepted months for each role and for
//! sync push.

use chrono::{Datelike, Duration, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, session_fields, sql_count};

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The month before this one (Vietnam time) and a day in it.
fn last_month() -> (String, NaiveDate) {
    let today = cdt_api::domain::today_in_vietnam();
    let day = today.with_day(1).unwrap() - Duration::days(20);
    (format!("{:04}-{:02}", day.year(), day.month()), day)
}

fn insert_session(app: &TestApp, team: Uuid, day: NaiveDate, by: Uuid) -> Uuid {
    let mut conn = app.database.connect();
    let unit = cdt_api::models::team::find(&mut conn, team)
        .unwrap()
        .org_unit_id;
    cdt_api::models::training_session::insert(
        &mut conn,
        Uuid::now_v7(),
        &session_fields(team, unit, day),
        by,
    )
    .unwrap()
    .unwrap()
    .id
}

#[actix_web::test]
async fn a_month_goes_round_the_full_cycle_and_is_frozen_while_signed_off() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let province = app.unit_id("son-la");
    let team = app.create_team("TEAM-VH", commune);
    let leader_id = app.create_team_leader("leader", team);
    app.create_user("officer", "officer", Some(commune));
    app.create_user("province", "officer", Some(province));
    app.create_user("admin", "admin", None);
    let (leader, officer, province_officer, admin) = (
        app.token("leader").await,
        app.token("officer").await,
        app.token("province").await,
        app.token("admin").await,
    );
    let (period, day) = last_month();
    let first = insert_session(&app, team, day, leader_id);
    let second = insert_session(&app, team, day + Duration::days(1), leader_id);
    let base = format!("/api/v1/sign-offs/{commune}/{period}");

    // Open: nothing written yet; the month's figures now.
    let (status, open) = send(&app, &officer, Method::GET, &base, None).await;
    assert_eq!(status, 200, "{open}");
    assert_eq!(
        (open["state"].as_str(), open["version"].as_i64()),
        (Some("open"), Some(0))
    );
    assert_eq!(open["figures"]["records_pending"], 2);
    assert_eq!(open["period"], period.as_str());

    // Submitting is refused while records await verification, naming them and linking their lists.
    let (status, refused) = send(
        &app,
        &officer,
        Method::POST,
        &format!("{base}/submit"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "sign_off_incomplete");
    assert_eq!(refused["pending"]["training_sessions"], 2);
    assert_eq!(refused["pending"]["reach_activities"], 0);
    let link = refused["pending"]["links"]["training_sessions"]
        .as_str()
        .unwrap();
    let (status, listed) = send(&app, &officer, Method::GET, link, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let reach_link = refused["pending"]["links"]["reach_activities"]
        .as_str()
        .unwrap();
    assert_eq!(
        send(&app, &officer, Method::GET, reach_link, None).await.0,
        200
    );
    // The current month cannot be submitted before it ends.
    let this_month = cdt_api::domain::today_in_vietnam();
    let (status, early) = send(
        &app,
        &officer,
        Method::POST,
        &format!(
            "/api/v1/sign-offs/{commune}/{:04}-{:02}/submit",
            this_month.year(),
            this_month.month()
        ),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, early["errors"][0]["code"].as_str()),
        (422, Some("not_ended"))
    );

    // Verified and rejected records complete the month; the commune submits it.
    let verify = format!("/api/v1/training-sessions/{first}/verify");
    assert_eq!(
        send(&app, &officer, Method::POST, &verify, None).await.0,
        200
    );
    let reject = format!("/api/v1/training-sessions/{second}/reject");
    assert_eq!(
        send(
            &app,
            &officer,
            Method::POST,
            &reject,
            Some(json!({"reason": "Trùng buổi"}))
        )
        .await
        .0,
        200
    );
    let (status, submitted) = send(
        &app,
        &officer,
        Method::POST,
        &format!("{base}/submit"),
        Some(json!({"note": "Đủ số liệu"})),
    )
    .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["state"], "submitted");
    assert_eq!(submitted["note"], "Đủ số liệu");
    assert_eq!(submitted["submitted_by"]["username"], "officer");
    assert_eq!(
        (
            submitted["figures"]["sessions"].as_i64(),
            submitted["figures"]["records_verified"].as_i64(),
            submitted["figures"]["records_rejected"].as_i64(),
            submitted["figures"]["participants_total"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(20))
    );

    // Submitted: frozen for the team leader, not for the officer; the commune cannot accept its own month.
    let (status, frozen) = send(
        &app,
        &leader,
        Method::POST,
        "/api/v1/training-sessions",
        Some(json!({"team_id": team, "kind": "training", "held_on": day, "duration_minutes": 60,
                    "format": "in_person", "topics": ["vneid"], "participants_total": 10,
                    "participants_female": 5, "participants_ethnic_minority": 5, "participants_elderly": 1,
                    "households_reached": 5})),
    )
    .await;
    assert_eq!(
        (status, frozen["code"].as_str()),
        (409, Some("period_signed_off")),
        "{frozen}"
    );
    let (status, _) = send(
        &app,
        &officer,
        Method::POST,
        &format!("{base}/accept"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403, "the commune does not accept its own month");

    // The province returns it with a reason; the commune submits again; the province accepts.
    let (status, returned) = send(
        &app,
        &province_officer,
        Method::POST,
        &format!("{base}/return"),
        Some(json!({"reason": "Bổ sung danh sách ký"})),
    )
    .await;
    assert_eq!(
        (status, returned["state"].as_str()),
        (200, Some("returned")),
        "{returned}"
    );
    assert_eq!(returned["reason"], "Bổ sung danh sách ký");
    let (status, again) = send(
        &app,
        &officer,
        Method::POST,
        &format!("{base}/submit"),
        Some(json!({})),
    )
    .await;
    assert_eq!((status, again["state"].as_str()), (200, Some("submitted")));
    // A stale If-Match is refused; the current one goes through.
    let stale = app
        .request(Method::POST, &format!("{base}/accept"))
        .bearer_auth(&province_officer)
        .header("If-Match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let accepted = app
        .request(Method::POST, &format!("{base}/accept"))
        .bearer_auth(&province_officer)
        .header("If-Match", format!("\"{}\"", again["version"]))
        .json(&json!({"note": "Đạt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["state"], "accepted");
    assert_eq!(accepted["decided_by"]["username"], "province");

    // Accepted: frozen for everyone, admins included, and for sync push.
    let (status, body) = send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/training-sessions/{first}"),
        Some(json!({"participants_total": 21})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("period_signed_off")),
        "{body}"
    );
    let (status, body) = send(
        &app,
        &officer,
        Method::POST,
        &reject,
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("period_signed_off"))
    );
    let (status, pushed) = send(
        &app,
        &leader,
        Method::POST,
        "/api/v1/sync/push",
        Some(json!({"items": [{"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
            "data": {"team_id": team, "kind": "training", "held_on": day, "duration_minutes": 60,
                     "format": "in_person", "topics": ["vneid"], "participants_total": 10,
                     "participants_female": 5, "participants_ethnic_minority": 5, "participants_elderly": 1,
                     "households_reached": 5}}]})),
    )
    .await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(pushed["results"][0]["status"], "rejected", "{pushed}");
    assert_eq!(pushed["results"][0]["problem"]["code"], "period_signed_off");
    // The phone learns it from its pull: its commune's month is a `sign_off` item, and no other unit's is.
    let other = app.unit_id("son-la.phuong-to-hieu");
    for action in ["submit", "accept"] {
        let (status, _) = send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/sign-offs/{other}/{period}/{action}"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, 200);
    }
    let feed = app.get_json(&leader, "/api/v1/sync/pull?limit=1000").await;
    assert_eq!(feed["has_more"], false);
    let months: Vec<&Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "sign_off")
        .collect();
    assert_eq!(months.len(), 1, "{months:?}");
    assert_eq!(months[0]["op"], "upsert");
    assert_eq!(months[0]["data"]["org_unit"]["id"], commune.to_string());
    assert_eq!(months[0]["data"]["period"], period.as_str());
    assert_eq!(months[0]["data"]["state"], "accepted");
    assert_eq!(months[0]["version"], months[0]["data"]["version"]);
    let cursor = feed["next_cursor"].as_str().unwrap().to_owned();

    // Only an admin reopens, and only with a reason; then the records change again.
    let reopen = format!("{base}/reopen");
    assert_eq!(
        send(
            &app,
            &province_officer,
            Method::POST,
            &reopen,
            Some(json!({"reason": "Sửa"}))
        )
        .await
        .0,
        403
    );
    let (status, body) = send(
        &app,
        &admin,
        Method::POST,
        &reopen,
        Some(json!({"reason": " "})),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, reopened) = send(
        &app,
        &admin,
        Method::POST,
        &reopen,
        Some(json!({"reason": "Bổ sung số liệu VNeID"})),
    )
    .await;
    assert_eq!(
        (status, reopened["state"].as_str()),
        (200, Some("open")),
        "{reopened}"
    );
    // The next pull from the phone's cursor brings the reopened month.
    let feed = app
        .get_json(&leader, &format!("/api/v1/sync/pull?cursor={cursor}"))
        .await;
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{feed}");
    assert_eq!(
        (
            items[0]["type"].as_str(),
            items[0]["data"]["state"].as_str()
        ),
        (Some("sign_off"), Some("open"))
    );
    let (status, _) = send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/training-sessions/{first}"),
        Some(json!({"participants_total": 21})),
    )
    .await;
    assert_eq!(status, 200);

    // The history: every transition with who, why and the figures then; the same in the audit log.
    let (_, read) = send(&app, &officer, Method::GET, &base, None).await;
    let history = read["history"].as_array().unwrap();
    let steps: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|t| {
            (
                t["action"].as_str().unwrap(),
                t["by"]["username"].as_str().unwrap(),
                t["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("submit", "officer", "submitted"),
            ("return", "province", "returned"),
            ("submit", "officer", "submitted"),
            ("accept", "province", "accepted"),
            ("reopen", "admin", "open"),
        ]
    );
    assert_eq!(history[1]["comment"], "Bổ sung danh sách ký");
    assert!(history.iter().all(|t| t["figures"]["sessions"] == 1));
    assert_eq!(
        sql_count(
            &mut app.database.connect(),
            &format!(
                "SELECT count(*) FROM audit_events WHERE entity_type = 'sign_off' AND entity_id IN \
                 (SELECT id FROM sign_offs WHERE org_unit_id = '{commune}')"
            )
        ),
        5
    );

    // The list: every commune-level unit of the province in the month, this one open again (Tô Hiệu's was
    // accepted above).
    let (status, page) = send(
        &app,
        &province_officer,
        Method::GET,
        &format!("/api/v1/sign-offs?from={period}&to={period}&limit=500"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 75, "Sơn La's 75 communes and wards");
    assert!(items.iter().all(|s| s["state"]
        == if s["org_unit"]["id"] == other.to_string() {
            "accepted"
        } else {
            "open"
        }));
    let (_, commune_only) = send(
        &app,
        &officer,
        Method::GET,
        &format!("/api/v1/sign-offs?from={period}&to={period}"),
        None,
    )
    .await;
    assert_eq!(commune_only["items"].as_array().unwrap().len(), 1);
    let (_, led) = send(
        &app,
        &leader,
        Method::GET,
        &format!("/api/v1/sign-offs?from={period}&to={period}"),
        None,
    )
    .await;
    assert_eq!(
        led["items"][0]["org_unit"]["id"],
        commune.to_string(),
        "a leader sees the commune's months"
    );
}

#[actix_web::test]
async fn bulk_review_and_bulk_sign_off_answer_per_item() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let other = app.unit_id("son-la.phuong-to-hieu");
    let province = app.unit_id("son-la");
    let team = app.create_team("TEAM-VH", commune);
    let team_other = app.create_team("TEAM-TH", other);
    let leader_id = app.create_team_leader("leader", team);
    app.create_user("officer", "officer", Some(commune));
    app.create_user("province", "officer", Some(province));
    app.create_user("admin", "admin", None);
    let (leader, officer, province_officer, admin) = (
        app.token("leader").await,
        app.token("officer").await,
        app.token("province").await,
        app.token("admin").await,
    );
    let (period, day) = last_month();
    let inside: Vec<Uuid> = (0..4)
        .map(|i| insert_session(&app, team, day + Duration::days(i), leader_id))
        .collect();
    let outside = insert_session(&app, team_other, day, leader_id);
    let review = "/api/v1/training-sessions/review";

    // Rejecting needs a reason: a missing one is `required`, a blank one breaks the stated length.
    for (body, code) in [
        (
            json!({"decision": "reject", "ids": [inside[0]]}),
            "required",
        ),
        (
            json!({"decision": "reject", "reason": null, "ids": [inside[0]]}),
            "required",
        ),
        (
            json!({"decision": "reject", "reason": " ", "ids": [inside[0]]}),
            "length",
        ),
    ] {
        let (status, refused) = send(&app, &officer, Method::POST, review, Some(body)).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["errors"][0]["field"], "reason", "{refused}");
        assert_eq!(refused["errors"][0]["code"], code, "{refused}");
    }

    // By ids: repeats count once; records outside the scope or missing are refused, the rest applied.
    let missing = Uuid::now_v7();
    let (status, verified) = send(
        &app,
        &officer,
        Method::POST,
        review,
        Some(json!({"decision": "verify", "ids": [inside[0], inside[1], outside, missing, inside[0]]})),
    )
    .await;
    assert_eq!(status, 200, "{verified}");
    let outcomes: Vec<(&str, Option<&str>)> = verified["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["status"].as_str().or(r["problem"]["code"].as_str()),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("applied", Some("verified")),
            ("applied", Some("verified")),
            ("refused", Some("not_found")),
            ("refused", Some("not_found")),
        ]
    );
    assert_eq!(
        (verified["applied"].as_i64(), verified["refused"].as_i64()),
        (Some(2), Some(2))
    );
    // Each write audited with what changed; deciding again what a record already is writes nothing; a
    // verified record changes only by an admin.
    let audited = |app: &TestApp| {
        sql_count(
            &mut app.database.connect(),
            "SELECT count(*) FROM audit_events WHERE action = 'training_session_verified' \
             AND changes -> 'status' ->> 'to' = 'verified' AND org_unit_path IS NOT NULL",
        )
    };
    assert_eq!(audited(&app), 2);
    let (status, again) = send(
        &app,
        &officer,
        Method::POST,
        review,
        Some(json!({"decision": "verify", "ids": [inside[0]]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            again["results"][0]["outcome"].as_str(),
            again["results"][0]["version"].clone()
        ),
        (Some("applied"), verified["results"][0]["version"].clone())
    );
    assert_eq!(audited(&app), 2);
    let (_, refused) = send(
        &app,
        &officer,
        Method::POST,
        review,
        Some(json!({"decision": "reject", "reason": "Sai", "ids": [inside[1]]})),
    )
    .await;
    assert_eq!(refused["results"][0]["problem"]["code"], "session_verified");
    // By unit and month: the records still awaiting verification.
    let filter = json!({"org_unit_id": commune, "period": period});
    let (status, rejected) = send(
        &app,
        &officer,
        Method::POST,
        review,
        Some(json!({"decision": "reject", "reason": "Thiếu danh sách ký", "filter": filter})),
    )
    .await;
    assert_eq!(status, 200);
    let mut ids: Vec<&str> = rejected["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = [inside[2].to_string(), inside[3].to_string()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(
        rejected["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "rejected")
    );
    assert_eq!(
        sql_count(
            &mut app.database.connect(),
            &format!(
                "SELECT count(*) FROM training_sessions WHERE team_id = '{team}' AND status = 'submitted'"
            )
        ),
        0
    );
    // Whole-request rules: a reason to reject, exactly one of ids and filter, officers only.
    let (status, body) = send(
        &app,
        &officer,
        Method::POST,
        review,
        Some(json!({"decision": "reject", "ids": [inside[0]]})),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, body) = send(
        &app,
        &officer,
        Method::POST,
        review,
        Some(json!({"decision": "verify", "ids": [inside[0]], "filter": filter})),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("exactly_one"))
    );
    assert_eq!(
        send(
            &app,
            &leader,
            Method::POST,
            review,
            Some(json!({"decision": "verify", "ids": [inside[0]]}))
        )
        .await
        .0,
        403
    );
    let (status, reach) = send(
        &app,
        &officer,
        Method::POST,
        "/api/v1/reach-activities/review",
        Some(json!({"decision": "verify", "filter": filter})),
    )
    .await;
    assert_eq!(
        (status, reach["results"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    // Bulk sign-off: the admin submits two communes' month; the one with a pending record is refused.
    let bulk = "/api/v1/sign-offs/bulk";
    let (status, submitted) = send(
        &app,
        &admin,
        Method::POST,
        bulk,
        Some(json!({"action": "submit", "items": [
            {"org_unit_id": commune, "period": period}, {"org_unit_id": other, "period": period}]})),
    )
    .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["results"][0]["state"], "submitted");
    assert_eq!(submitted["results"][1]["outcome"], "refused");
    assert_eq!(
        submitted["results"][1]["problem"]["code"],
        "sign_off_incomplete"
    );
    // The province accepts every submitted month of the province at once; a month that is open is refused.
    let (status, accepted) = send(
        &app,
        &province_officer,
        Method::POST,
        bulk,
        Some(json!({"action": "accept", "filter": {"from": period, "to": period, "state": "submitted"}})),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["applied"], 1);
    assert_eq!(accepted["results"][0]["org_unit_id"], commune.to_string());
    assert_eq!(accepted["results"][0]["state"], "accepted");
    let (_, open) = send(
        &app,
        &province_officer,
        Method::POST,
        bulk,
        Some(json!({"action": "accept", "items": [{"org_unit_id": other, "period": period}]})),
    )
    .await;
    assert_eq!(open["results"][0]["problem"]["code"], "conflict");
    // The commune's officer cannot accept, and the bulk request says so per item.
    let (_, own) = send(
        &app,
        &officer,
        Method::POST,
        bulk,
        Some(json!({"action": "return", "reason": "x", "items": [{"org_unit_id": commune, "period": period}]})),
    )
    .await;
    assert_eq!(own["results"][0]["problem"]["code"], "forbidden");
    let (status, body) = send(
        &app,
        &admin,
        Method::POST,
        bulk,
        Some(json!({"action": "accept"})),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("exactly_one"))
    );
}

#[actix_web::test]
async fn signed_off_only_reports_count_exactly_the_accepted_months_under_either_structure() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let a = app.unit_id("son-la.xa-van-ho");
    let b = app.unit_id("son-la.phuong-to-hieu");
    let team_a = app.create_team("TEAM-A", a);
    let team_b = app.create_team("TEAM-B", b);
    let leader_id = app.create_team_leader("leader", team_a);
    app.create_user("admin", "admin", None);
    app.create_user("viewer", "viewer", Some(app.unit_id("son-la")));
    let (admin, viewer) = (app.token("admin").await, app.token("viewer").await);
    let (last, last_day) = last_month();
    let earlier_day = last_day.with_day(1).unwrap() - Duration::days(10);
    let earlier = format!("{:04}-{:02}", earlier_day.year(), earlier_day.month());
    for (team, count) in [(team_a, 3), (team_b, 2)] {
        for day in [earlier_day, last_day] {
            for i in 0..count {
                insert_session(&app, team, day + Duration::days(i), leader_id);
            }
        }
    }
    let mut conn = app.database.connect();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE training_sessions SET status = 'verified', reviewed_at = now()"),
        &mut conn,
    )
    .unwrap();
    // A's earlier month and B's last month are accepted; the other two stay open.
    for (unit, period) in [(a, &earlier), (b, &last)] {
        for action in ["submit", "accept"] {
            let (status, body) = send(
                &app,
                &admin,
                Method::POST,
                &format!("/api/v1/sign-offs/{unit}/{period}/{action}"),
                Some(json!({})),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let from = earlier_day.with_day(1).unwrap();
    let to = last_day.with_day(1).unwrap() + chrono::Months::new(1) - Duration::days(1);
    let raw = |figure: &str, conn: &mut diesel::PgConnection| {
        sql_count(
            conn,
            &format!(
                "SELECT ({figure})::bigint AS count FROM training_sessions s WHERE s.status <> 'rejected' \
                 AND s.deleted_at IS NULL AND ((s.team_id = '{team_a}' AND date_trunc('month', s.held_on) = '{from}') \
                 OR (s.team_id = '{team_b}' AND date_trunc('month', s.held_on) = date_trunc('month', DATE '{to}')))"
            ),
        )
    };
    let (official_sessions, official_participants) = (
        raw("count(*)", &mut conn),
        raw("sum(s.participants_total)", &mut conn),
    );
    assert_eq!((official_sessions, official_participants), (3 + 2, 100));
    for as_of in ["", "&as_of=2025-06-30"] {
        let summary = app
            .get_json(
                &viewer,
                &format!("/api/v1/reports/summary?from={from}&to={to}&signed_off_only=true{as_of}"),
            )
            .await;
        assert_eq!(summary["signed_off_only"], true);
        assert_eq!(
            summary["sessions"]["total"], official_sessions,
            "{as_of}: {summary}"
        );
        assert_eq!(
            summary["participants"]["total"], official_participants,
            "{as_of}"
        );
        let all = app
            .get_json(
                &viewer,
                &format!("/api/v1/reports/summary?from={from}&to={to}{as_of}"),
            )
            .await;
        assert_eq!(all["sessions"]["total"], 10, "{as_of}");
    }
    // Every report says how many of its unit-months are in each state: 75 communes x 2 months.
    let summary = app
        .get_json(
            &viewer,
            &format!("/api/v1/reports/summary?from={from}&to={to}"),
        )
        .await;
    assert_eq!(
        summary["sign_offs"],
        json!({"accepted": 2, "submitted": 0, "returned": 0, "open": 148})
    );
    let breakdown = app
        .get_json(
            &viewer,
            &format!(
                "/api/v1/reports/breakdown?by=child_unit&from={from}&to={to}&signed_off_only=true"
            ),
        )
        .await;
    assert_eq!(breakdown["totals"]["sessions"], official_sessions);
    assert_eq!(breakdown["sign_offs"]["accepted"], 2);
    // Targets: the actual of A's year counts its accepted month only.
    let (status, target) = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/targets",
        Some(json!({"org_unit_id": a, "indicator": "sessions_held", "period_start": from, "period_end": to, "value": 10})),
    )
    .await;
    assert_eq!(status, 201, "{target}");
    let targets = app
        .get_json(
            &viewer,
            &format!("/api/v1/reports/targets?from={from}&to={to}&signed_off_only=true"),
        )
        .await;
    assert_eq!(targets["items"][0]["actual"], 3.0, "{targets}");
    let targets = app
        .get_json(
            &viewer,
            &format!("/api/v1/reports/targets?from={from}&to={to}"),
        )
        .await;
    assert_eq!(targets["items"][0]["actual"], 6.0);
}

#[actix_web::test]
async fn a_merged_commune_counts_a_month_as_signed_off_only_when_every_contributing_unit_did() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    // Chiềng Sơn (2025) was formed from Chiềng Sơn of Mộc Châu and Chiềng Xuân of Vân Hồ.
    let chieng_son = app.unit_id("son-la.xa-chieng-son");
    let old_son = app.unit_id("son-la.thi-xa-moc-chau.xa-chieng-son");
    let old_xuan = app.unit_id("son-la.huyen-van-ho.xa-chieng-xuan");
    let team_son = app.create_team_with_history("HIST-SON", old_son, chieng_son);
    let team_xuan = app.create_team_with_history("HIST-XUAN", old_xuan, chieng_son);
    app.create_user("admin", "admin", None);
    app.create_user("viewer", "viewer", Some(app.unit_id("son-la")));
    let (admin, viewer) = (app.token("admin").await, app.token("viewer").await);
    let admin_id = app.create_user("recorder", "admin", None);
    let june = NaiveDate::from_ymd_opt(2025, 6, 10).unwrap();
    let august = NaiveDate::from_ymd_opt(2025, 8, 10).unwrap();
    let mut conn = app.database.connect();
    // June under the old units (3 + 2 sessions), August under the successor (1 + 1).
    for (team, unit, day, count) in [
        (team_son, old_son, june, 3),
        (team_xuan, old_xuan, june, 2),
        (team_son, chieng_son, august, 1),
        (team_xuan, chieng_son, august, 1),
    ] {
        for i in 0..count {
            cdt_api::models::training_session::insert(
                &mut conn,
                Uuid::now_v7(),
                &session_fields(team, unit, day + Duration::days(i)),
                admin_id,
            )
            .unwrap()
            .unwrap();
        }
    }
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE training_sessions SET status = 'verified', reviewed_at = now()"),
        &mut conn,
    )
    .unwrap();
    let sign_off = |unit: Uuid, period: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            for action in ["submit", "accept"] {
                let (status, body) = send(
                    app,
                    &admin,
                    Method::POST,
                    &format!("/api/v1/sign-offs/{unit}/{period}/{action}"),
                    Some(json!({})),
                )
                .await;
                assert_eq!(status, 200, "{unit} {period} {action}: {body}");
            }
        }
    };
    // A month belongs to the unit in force in it: the predecessors sign off June, the successor August.
    for (unit, period) in [(chieng_son, "2025-06"), (old_son, "2025-08")] {
        let (status, body) = send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/sign-offs/{unit}/{period}/submit"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, 422, "{unit} {period}: {body}");
    }
    sign_off(old_son, "2025-06").await;
    sign_off(chieng_son, "2025-08").await;
    let official = |as_of: &'static str| {
        let app = &app;
        let viewer = viewer.clone();
        async move {
            let summary = app
                .get_json(
                    &viewer,
                    &format!(
                        "/api/v1/reports/summary?from=2025-06-01&to=2025-08-31&signed_off_only=true{as_of}"
                    ),
                )
                .await;
            summary["sessions"]["total"].as_i64().unwrap()
        }
    };
    // Today's structure: Chiềng Sơn's June needs both predecessors' Junes, so only August counts (2).
    // The old structure: old Chiềng Sơn's June is its own (3); its August comes from the successor (2) and
    // Chiềng Xuân's June is still open.
    assert_eq!(official("").await, 2);
    assert_eq!(official("&as_of=2025-06-30").await, 5);
    sign_off(old_xuan, "2025-06").await;
    assert_eq!(official("").await, 7);
    assert_eq!(official("&as_of=2025-06-30").await, 7);
    // The sign-off counts are of the real unit-months: 75 communes in July and August, 200 in June.
    let summary = app
        .get_json(
            &viewer,
            "/api/v1/reports/summary?from=2025-06-01&to=2025-08-31",
        )
        .await;
    assert_eq!(
        summary["sign_offs"],
        json!({"accepted": 3, "submitted": 0, "returned": 0, "open": 200 + 75 + 75 - 3})
    );
}
