//! Campaign editions, reach activities and the reach summary.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, field_errors, problem};

struct World {
    app: TestApp,
    commune: uuid::Uuid,
    village: uuid::Uuid,
    team: uuid::Uuid,
    leader: String,
    officer: String,
    admin: String,
    campaign: String,
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

fn set_households(app: &TestApp, unit: uuid::Uuid, households: i32) {
    use cdt_api::db::schema::org_units;
    diesel::update(org_units::table.find(unit))
        .set(org_units::households.eq(Some(households)))
        .execute(&mut app.database.connect())
        .unwrap();
}

fn add_village(app: &TestApp, commune: uuid::Uuid, code: &str) -> uuid::Uuid {
    let mut conn = app.database.connect();
    let parent = cdt_api::models::org_unit::find(&mut conn, commune).unwrap();
    let village = cdt_api::models::org_unit::NewOrgUnit {
        id: uuid::Uuid::now_v7(),
        code: code.to_owned(),
        name: format!("Bản {code}"),
        level: cdt_api::reference::OrgUnitLevel::Village,
        kind: cdt_api::reference::OrgUnitKind::Ban,
        parent_id: None,
        path: String::new(),
        depth: 0,
        valid_from: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
        valid_to: None,
        households: None,
        population: None,
    }
    .placed_under(Some(&parent));
    cdt_api::models::org_unit::insert(&mut conn, &village)
        .unwrap()
        .id
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let village = add_village(&app, commune, "son-la.xa-van-ho.ban-a");
    let team = app.create_team("TEAM-A", village);
    app.create_team_leader("leader", team);
    app.create_user("officer", "officer", Some(commune));
    app.create_user("admin", "admin", None);
    let (leader, officer, admin) = (
        app.token("leader").await,
        app.token("officer").await,
        app.token("admin").await,
    );
    let mut w = World {
        app,
        commune,
        village,
        team,
        leader,
        officer,
        admin,
        campaign: String::new(),
    };
    let today = chrono::Utc::now().date_naive();
    let body = json!({"code": "anti-fraud-test", "name": "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến",
        "owner": "Sở Khoa học và Công nghệ", "starts_on": (today - chrono::Duration::days(20)).to_string(),
        "ends_on": (today + chrono::Duration::days(20)).to_string(), "skill_groups": ["recognise", "avoid"],
        "fraud_types": ["fake_apps", "impersonating_authorities"], "status": "active"});
    let created: serde_json::Value =
        send(&w, &w.admin, Method::POST, "/api/v1/campaigns", Some(body))
            .await
            .json()
            .await
            .unwrap();
    w.campaign = created["id"].as_str().unwrap().to_owned();
    w
}

fn yesterday() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string()
}

fn meeting(team: uuid::Uuid, households: i32) -> serde_json::Value {
    json!({"team_id": team, "channel": "meeting", "occurred_on": yesterday(), "contacts": 60, "unique_people": 50,
           "households_reached": households, "method": "attendance_sheet", "confidence": "high",
           "skill_groups": ["recognise"], "fraud_types": ["fake_apps"], "materials_distributed": 30})
}

#[actix_web::test]
async fn campaigns_are_created_by_admins_with_valid_dates_and_lists() {
    let w = world().await;
    let bad = json!({"code": "Bad Code", "name": "", "owner": "x", "starts_on": "2025-10-10", "ends_on": "2025-10-01",
                     "skill_groups": ["guess"], "fraud_types": ["not_a_fraud"], "status": "open"});
    let body = problem(
        send(&w, &w.admin, Method::POST, "/api/v1/campaigns", Some(bad)).await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "code",
            "name",
            "ends_on",
            "status",
            "skill_groups[0]",
            "fraud_types[0]"
        ]
    );
    // The stored rule (a code starts with a letter or digit) is checked before the database sees it.
    let leading = json!({"code": "__main__", "name": "Chiến dịch", "owner": "Sở KH&CN", "starts_on": "2025-10-01",
                         "ends_on": "2025-10-31"});
    let body = problem(
        send(
            &w,
            &w.admin,
            Method::POST,
            "/api/v1/campaigns",
            Some(leading),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "code");
    assert_eq!(body["errors"][0]["code"], "invalid_code");
    let valid = json!({"code": "by-officer", "name": "Chiến dịch xã", "owner": "UBND xã", "starts_on": "2025-10-01",
                       "ends_on": "2025-10-31"});
    let officer = send(
        &w,
        &w.officer,
        Method::POST,
        "/api/v1/campaigns",
        Some(valid),
    )
    .await;
    assert_eq!(problem(officer, 403).await["code"], "forbidden");

    let list: serde_json::Value = send(&w, &w.leader, Method::GET, "/api/v1/campaigns", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["code"], "anti-fraud-test");
    let path = format!("/api/v1/campaigns/{}", w.campaign);
    let closed = w
        .app
        .request(Method::PATCH, &path)
        .bearer_auth(&w.admin)
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let denied = send(
        &w,
        &w.officer,
        Method::PATCH,
        &path,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(problem(denied, 403).await["code"], "forbidden");

    // A draft takes no activities yet.
    let draft = send(
        &w,
        &w.admin,
        Method::PATCH,
        &path,
        Some(json!({"status": "draft"})),
    )
    .await;
    assert_eq!(draft.status(), 200);
    let logged = send(
        &w,
        &w.leader,
        Method::POST,
        &format!("{path}/reach-activities"),
        Some(meeting(w.team, 5)),
    )
    .await;
    assert_eq!(
        problem(logged, 422).await["errors"][0]["code"],
        "campaign_not_open"
    );
}

#[actix_web::test]
async fn every_reach_rule_is_reported_and_leaders_stay_in_their_team_and_period() {
    let w = world().await;
    {
        use cdt_api::db::schema::teams;
        diesel::update(teams::table.find(w.team))
            .set((
                teams::zalo_group_members.eq(Some(80)),
                teams::zalo_group_members_as_of.eq(chrono::NaiveDate::from_ymd_opt(2025, 6, 1)),
            ))
            .execute(&mut w.app.database.connect())
            .unwrap();
    }
    let path = format!("/api/v1/campaigns/{}/reach-activities", w.campaign);
    let mut bad = meeting(w.team, 10);
    bad["unique_people"] = json!(70);
    bad["estimated_audience"] = json!(500);
    bad["contacts"] = json!(60);
    bad["fraud_types"] = json!(["lottery_prizes"]);
    bad["skill_groups"] = json!(["protect"]);
    bad["occurred_on"] = json!("2020-01-01");
    bad["households_reached"] = json!(-1);
    let body = problem(
        send(&w, &w.leader, Method::POST, &path, Some(bad)).await,
        422,
    )
    .await;
    let codes = field_errors(&body);
    for expected in [
        ("occurred_on", "outside_campaign"),
        ("households_reached", "negative"),
        ("unique_people", "exceeds_contacts"),
        ("estimated_audience", "not_broadcast"),
        ("skill_groups[0]", "not_in_campaign"),
        ("fraud_types[0]", "not_in_campaign"),
    ] {
        assert!(
            codes.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {codes:?}"
        );
    }
    let zalo = json!({"team_id": w.team, "channel": "zalo_group", "occurred_on": yesterday(), "contacts": 0,
                      "estimated_audience": 120, "method": "group_member_count", "confidence": "medium"});
    let body = problem(
        send(&w, &w.leader, Method::POST, &path, Some(zalo)).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "exceeds_group_size");

    let other_team = w.app.create_team("TEAM-B", w.commune);
    let body = problem(
        send(
            &w,
            &w.leader,
            Method::POST,
            &path,
            Some(meeting(other_team, 5)),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "team_id");

    // Retries with a client id write one row.
    let mut good = meeting(w.team, 10);
    good["id"] = json!(uuid::Uuid::now_v7());
    assert_eq!(
        send(&w, &w.leader, Method::POST, &path, Some(good.clone()))
            .await
            .status(),
        201
    );
    assert_eq!(
        send(&w, &w.leader, Method::POST, &path, Some(good.clone()))
            .await
            .status(),
        200
    );
    good["contacts"] = json!(61);
    assert_eq!(
        problem(
            send(&w, &w.leader, Method::POST, &path, Some(good)).await,
            409
        )
        .await["code"],
        "conflict"
    );
    use cdt_api::db::schema::reach_activities;
    let count: i64 = reach_activities::table
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(count, 1);
}

#[actix_web::test]
async fn coverage_is_capped_per_village_and_groups_add_up() {
    let w = world().await;
    // Village A has 50 households, the commune 200; village B's count is unknown.
    set_households(&w.app, w.village, 50);
    set_households(&w.app, w.commune, 200);
    let village_b = add_village(&w.app, w.commune, "son-la.xa-van-ho.ban-b");
    let commune_team = w.app.create_team("TEAM-XA", w.commune);
    w.app.create_team_leader("leader.xa", commune_team);
    let commune_leader = w.app.token("leader.xa").await;
    let path = format!("/api/v1/campaigns/{}/reach-activities", w.campaign);

    // Two teams both report 40 households in village A: 80 reported, 50 exist.
    assert_eq!(
        send(
            &w,
            &w.leader,
            Method::POST,
            &path,
            Some(meeting(w.team, 40))
        )
        .await
        .status(),
        201
    );
    let mut in_a = meeting(commune_team, 40);
    in_a["org_unit_id"] = json!(w.village);
    assert_eq!(
        send(&w, &commune_leader, Method::POST, &path, Some(in_a))
            .await
            .status(),
        201
    );
    let mut in_b = meeting(commune_team, 30);
    in_b["org_unit_id"] = json!(village_b);
    in_b["channel"] = json!("door_to_door");
    in_b["method"] = json!("headcount");
    in_b["confidence"] = json!("medium");
    assert_eq!(
        send(&w, &commune_leader, Method::POST, &path, Some(in_b))
            .await
            .status(),
        201
    );
    let loudspeaker = json!({"team_id": commune_team, "channel": "loudspeaker", "occurred_on": yesterday(), "contacts": 0,
        "estimated_audience": 900, "method": "coverage_estimate", "confidence": "low"});
    assert_eq!(
        send(&w, &commune_leader, Method::POST, &path, Some(loudspeaker))
            .await
            .status(),
        201
    );

    let summary_path = format!("/api/v1/campaigns/{}/reach-summary", w.campaign);
    let summary: serde_json::Value = send(&w, &w.officer, Method::GET, &summary_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["org_unit"]["code"], "son-la.xa-van-ho");
    assert_eq!(summary["activities"], 4);
    assert_eq!(summary["contacts"], 180);
    assert_eq!(summary["households_reached"], 110);
    assert_eq!(
        summary["households_covered"], 50,
        "village A is capped at its 50 households; B is unknown"
    );
    assert_eq!(summary["households_total"], 200);
    assert_eq!(summary["household_coverage_pct"], 25.0);
    assert_eq!(summary["estimated_audience"], 900);
    assert_eq!(summary["participating_teams"], 2);
    assert_eq!(summary["active_teams"], 2);
    assert_eq!(
        summary["units_without_household_count"][0]["unit"]["code"],
        "son-la.xa-van-ho.ban-b"
    );
    assert_eq!(summary["by_method"]["attendance_sheet"]["contacts"], 120);
    assert_eq!(summary["by_confidence"]["low"]["estimated_audience"], 900);

    // The province: communes without household counts add nothing to the total.
    let admin: serde_json::Value = send(&w, &w.admin, Method::GET, &summary_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin["org_unit"]["code"], "son-la");
    assert_eq!(
        (
            admin["households_covered"].as_i64(),
            admin["households_total"].as_i64()
        ),
        (Some(50), Some(200))
    );

    for group_by in ["channel", "org_unit", "team", "day", "week"] {
        let grouped: serde_json::Value = send(
            &w,
            &w.officer,
            Method::GET,
            &format!("{summary_path}?group_by={group_by}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        let groups = grouped["groups"].as_array().unwrap();
        for figure in [
            "activities",
            "contacts",
            "households_reached",
            "estimated_audience",
            "unique_people_estimate",
        ] {
            let sum: i64 = groups.iter().map(|g| g[figure].as_i64().unwrap()).sum();
            assert_eq!(
                sum,
                summary[figure].as_i64().unwrap(),
                "{group_by} {figure}"
            );
        }
    }
    let by_unit: serde_json::Value = send(
        &w,
        &w.officer,
        Method::GET,
        &format!("{summary_path}?group_by=org_unit"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let village_a = by_unit["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == w.village.to_string())
        .unwrap();
    assert_eq!(
        (
            village_a["households_covered"].as_i64(),
            village_a["households_total"].as_i64()
        ),
        (Some(50), Some(50))
    );

    let csv = w
        .app
        .request(Method::GET, &format!("{summary_path}?group_by=channel"))
        .bearer_auth(&w.officer)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("total,Vân Hồ,4,180"), "{csv}");

    // Verification workflow as for sessions.
    let list: serde_json::Value = send(&w, &w.officer, Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_str().unwrap();
    let verified = send(
        &w,
        &w.officer,
        Method::POST,
        &format!("/api/v1/reach-activities/{id}/verify"),
        None,
    )
    .await;
    assert_eq!(verified.status(), 200);
    let verified_only: serde_json::Value = send(
        &w,
        &w.officer,
        Method::GET,
        &format!("{summary_path}?status=verified"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(verified_only["activities"], 1);
}
