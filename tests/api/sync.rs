//! Offline sync: the change feed.

use std::collections::HashSet;

use chrono::Duration;
use diesel::{Connection, RunQueryDsl};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use cdt_api::{domain::today_in_vietnam, models::training_session};

use crate::helpers::{TestApp, field_errors, problem, session_fields};

async fn pull(app: &TestApp, token: &str, cursor: &str, limit: u32) -> Value {
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1/sync/pull?cursor={cursor}&limit={limit}"),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// Every page from `cursor` to the end: (items, last cursor).
async fn pull_all(app: &TestApp, token: &str, cursor: &str, limit: u32) -> (Vec<Value>, String) {
    let mut cursor = cursor.to_owned();
    let mut items = Vec::new();
    loop {
        let page = pull(app, token, &cursor, limit).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            return (items, cursor);
        }
    }
}

fn ids_of(items: &[Value], kind: &str) -> HashSet<String> {
    items
        .iter()
        .filter(|i| i["type"] == kind)
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn insert_session(conn: &mut diesel::PgConnection, team: Uuid, by: Uuid) -> Uuid {
    let unit = cdt_api::models::team::find(conn, team).unwrap().org_unit_id;
    training_session::insert(
        conn,
        Uuid::now_v7(),
        &session_fields(team, unit, today_in_vietnam() - Duration::days(1)),
        by,
    )
    .unwrap()
    .unwrap()
    .id
}

#[actix_web::test]
async fn a_team_leader_bootstraps_then_gets_exactly_the_changes_since_the_cursor() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let to_hieu = app.unit_id("son-la.phuong-to-hieu");
    let province = app.unit_id("son-la");
    let team = app.create_team("VH-1", van_ho);
    let other = app.create_team("TH-1", to_hieu);
    let (membership, _) = app.add_member(team, "Lò Thị Xuân", Some("+84912345678"), "leader");
    app.add_member(other, "Cầm Văn Đức", Some("+84987654321"), "leader");
    let admin_id = app.create_user("admin", "admin", None);
    app.create_user("officer", "officer", Some(van_ho));
    let leader_id = app.create_team_leader("leader", team);
    let mut conn = app.database.connect();
    let mine: Vec<Uuid> = (0..5)
        .map(|_| insert_session(&mut conn, team, leader_id))
        .collect();
    let theirs = insert_session(&mut conn, other, admin_id);
    let leader = app.token("leader").await;
    let officer = app.token("officer").await;
    let admin = app.token("admin").await;

    // The bootstrap: their team, its members and sessions, the units above and inside their commune.
    let (items, cursor) = pull_all(&app, &leader, "", 1000).await;
    assert_eq!(ids_of(&items, "team"), HashSet::from([team.to_string()]));
    assert_eq!(
        ids_of(&items, "membership"),
        HashSet::from([membership.to_string()])
    );
    let sessions = ids_of(&items, "training_session");
    assert_eq!(sessions.len(), 5);
    assert!(!sessions.contains(&theirs.to_string()));
    let units = ids_of(&items, "org_unit");
    assert!(units.contains(&province.to_string()) && units.contains(&van_ho.to_string()));
    assert!(!units.contains(&to_hieu.to_string()));
    // Their own team's phone numbers in full.
    let member = items.iter().find(|i| i["type"] == "membership").unwrap();
    assert_eq!(member["data"]["phone"], "+84912345678");
    assert_eq!(member["op"], "upsert");
    assert_eq!(member["version"], 1);

    // Paging returns the same items in the same order.
    let (paged, paged_cursor) = pull_all(&app, &leader, "", 3).await;
    assert_eq!(paged, items);
    assert_eq!(paged_cursor, cursor);

    // Nothing new: nothing returned, same cursor.
    let quiet = pull(&app, &leader, &cursor, 100).await;
    assert_eq!(quiet["items"], serde_json::json!([]));
    assert_eq!(quiet["next_cursor"], cursor);
    assert_eq!(quiet["has_more"], false);

    // An officer edits one session, an admin deletes another, another team logs one.
    let edited = app
        .request(
            Method::PATCH,
            &format!("/api/v1/training-sessions/{}", mine[0]),
        )
        .bearer_auth(&officer)
        .header("If-Match", "\"1\"")
        .json(&serde_json::json!({"participants_total": 30, "participants_female": 12}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/v1/training-sessions/{}", mine[1]),
        )
        .bearer_auth(&admin)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    insert_session(&mut conn, other, admin_id);

    let (changes, _) = pull_all(&app, &leader, &cursor, 100).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["id"], mine[0].to_string());
    assert_eq!(changes[0]["op"], "upsert");
    assert_eq!(changes[0]["version"], 2);
    assert_eq!(changes[0]["data"]["participants_total"], 30);
    assert_eq!(changes[1]["id"], mine[1].to_string());
    assert_eq!(changes[1]["op"], "delete");
    assert!(changes[1]["data"].is_null());

    // A bad cursor or limit is refused with the rule named.
    problem(
        app.request(Method::GET, "/api/v1/sync/pull?cursor=!!!")
            .bearer_auth(&leader)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    let body = problem(
        app.request(Method::GET, "/api/v1/sync/pull?limit=0")
            .bearer_auth(&leader)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "limit");
}

#[actix_web::test]
async fn a_pull_never_skips_a_transaction_that_began_earlier_and_commits_later() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("VH-1", van_ho);
    let leader_id = app.create_team_leader("leader", team);
    let leader = app.token("leader").await;
    let (_, cursor) = pull_all(&app, &leader, "", 1000).await;

    // A slow transaction writes first and commits last; a quick one (a new member: it touches none of the
    // rows the slow one holds) commits in between.
    let mut slow = app.database.connect();
    diesel::sql_query("BEGIN").execute(&mut slow).unwrap();
    let late = insert_session(&mut slow, team, leader_id);
    let (early, _) = app.add_member(team, "Lò Văn Nhanh", None, "member");

    // The quick one's change waits behind the running one: nothing is handed out yet.
    let waiting = pull(&app, &leader, &cursor, 100).await;
    assert_eq!(
        waiting["items"],
        serde_json::json!([]),
        "withheld while the slow transaction runs"
    );
    let cursor_while_waiting = waiting["next_cursor"].as_str().unwrap().to_owned();

    diesel::sql_query("COMMIT").execute(&mut slow).unwrap();
    let (after, _) = pull_all(&app, &leader, &cursor_while_waiting, 100).await;
    assert_eq!(
        ids_of(&after, "training_session"),
        HashSet::from([late.to_string()])
    );
    assert_eq!(
        ids_of(&after, "membership"),
        HashSet::from([early.to_string()])
    );
}

#[actix_web::test]
async fn a_team_leaders_five_year_bootstrap_is_small_when_compressed() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("VH-1", van_ho);
    for (i, name) in [
        "Lò Văn Minh",
        "Quàng Thị Hoa",
        "Cầm Văn Sơn",
        "Lường Thị Mai",
        "Tòng Văn Bình",
    ]
    .iter()
    .enumerate()
    {
        let role = if i == 0 { "leader" } else { "member" };
        app.add_member(team, name, Some(&format!("+8491234567{i}")), role);
    }
    let leader_id = app.create_team_leader("leader", team);
    // Five years of a busy village team: ~250 sessions and ~600 reach activities.
    let today = today_in_vietnam();
    let campaign = {
        let fields = cdt_api::models::campaign::CampaignFields {
            code: "campaign-5y".to_owned(),
            name: "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến".to_owned(),
            name_en: None,
            owner: "Sở KH&CN".to_owned(),
            starts_on: today - Duration::days(5 * 365),
            ends_on: today,
            description: None,
            skill_groups: Vec::new(),
            fraud_types: Vec::new(),
            status: cdt_api::reference::Choice::from_code("active"),
        };
        cdt_api::models::campaign::insert(&mut app.database.connect(), Uuid::now_v7(), &fields)
            .unwrap()
            .id
    };
    let mut conn = app.database.connect();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for i in 0..250 {
            let mut fields = session_fields(team, van_ho, today - Duration::days(i * 7));
            fields.notes = Some(format!(
                "Buổi {i}: hướng dẫn cài đặt VNeID mức 2 cho bà con trong bản"
            ));
            training_session::insert(conn, Uuid::now_v7(), &fields, leader_id)?;
        }
        for i in 0..600 {
            let fields = cdt_api::models::reach_activity::ActivityFields {
                campaign_id: campaign,
                team_id: team,
                org_unit_id: van_ho,
                channel: cdt_api::reference::Choice::from_code("zalo_group"),
                occurred_on: today - Duration::days(i * 3),
                contacts: 40 + (i % 30) as i32,
                unique_people: Some(35),
                households_reached: 20,
                estimated_audience: None,
                method: cdt_api::reference::Choice::from_code("group_member_count"),
                confidence: cdt_api::reference::Choice::from_code("medium"),
                skill_groups: Vec::new(),
                fraud_types: Vec::new(),
                materials_distributed: 0,
                session_id: None,
                notes: None,
                recorded_at: None,
            };
            cdt_api::models::reach_activity::insert(conn, Uuid::now_v7(), &fields, leader_id)?;
        }
        Ok(())
    })
    .unwrap();
    let leader = app.token("leader").await;
    let (mut cursor, mut compressed, mut items) = (String::new(), 0usize, 0usize);
    loop {
        let response = app
            .request(
                Method::GET,
                &format!("/api/v1/sync/pull?cursor={cursor}&limit=1000"),
            )
            .bearer_auth(&leader)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let bytes = response.bytes().await.unwrap();
        compressed += bytes.len();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        let page: Value = serde_json::from_str(&text).unwrap();
        items += page["items"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    eprintln!("team leader bootstrap: {items} items, {compressed} bytes gzip-compressed");
    assert!(items >= 850, "{items} items");
    assert!(
        compressed < 200 * 1024,
        "bootstrap is {compressed} bytes compressed"
    );
}

fn session_data(team: Uuid, day: chrono::NaiveDate, participants: i32) -> Value {
    serde_json::json!({
        "team_id": team, "kind": "training", "held_on": day, "duration_minutes": 90, "format": "in_person",
        "topics": ["vneid"], "participants_total": participants, "participants_female": participants / 2,
        "participants_ethnic_minority": participants / 2, "participants_elderly": 1, "households_reached": 5
    })
}

async fn push(app: &TestApp, token: &str, items: &Value) -> Value {
    let response = app
        .request(Method::POST, "/api/v1/sync/push")
        .bearer_auth(token)
        .json(&serde_json::json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn statuses(results: &Value) -> Vec<String> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

fn count_sessions(app: &TestApp, team: Uuid) -> i64 {
    diesel::sql_query("SELECT 1 FROM training_sessions WHERE team_id = $1 AND deleted_at IS NULL")
        .bind::<diesel::sql_types::Uuid, _>(team)
        .execute(&mut app.database.connect())
        .unwrap() as i64
}

#[actix_web::test]
async fn a_phone_a_week_offline_pushes_retries_conflicts_resolves_and_catches_up() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let to_hieu = app.unit_id("son-la.phuong-to-hieu");
    let team = app.create_team("VH-1", van_ho);
    let other = app.create_team("TH-1", to_hieu);
    let admin_id = app.create_user("admin", "admin", None);
    app.create_user("officer", "officer", Some(van_ho));
    app.create_team_leader("leader", team);
    let theirs = insert_session(&mut app.database.connect(), other, admin_id);
    let leader = app.token("leader").await;
    let officer = app.token("officer").await;
    let today = today_in_vietnam();

    // A week offline: 200 sessions made on the phone, pushed in one batch.
    let made: Vec<Uuid> = (0..200).map(|_| Uuid::now_v7()).collect();
    let batch: Value = made
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({"type": "training_session", "op": "upsert", "id": id, "base_version": null,
                "data": session_data(team, today - Duration::days(1 + (i as i64 % 7)), 10 + i as i32 % 20)})
        })
        .collect();
    let first = push(&app, &leader, &batch).await;
    assert!(statuses(&first).iter().all(|s| s == "created"), "{first}");
    assert_eq!(first["results"][199]["index"], 199);
    assert_eq!(first["results"][0]["version"], 1);
    assert_eq!(count_sessions(&app, team), 200);
    // The reply was lost: the same batch again changes nothing.
    let again = push(&app, &leader, &batch).await;
    assert!(statuses(&again).iter().all(|s| s == "unchanged"), "{again}");
    assert_eq!(count_sessions(&app, team), 200);
    let (_, cursor) = pull_all(&app, &leader, "", 1000).await;

    // The officer corrects one session while the phone, still on version 1, edits it too.
    let contested = made[0];
    let corrected = app
        .request(
            Method::PATCH,
            &format!("/api/v1/training-sessions/{contested}"),
        )
        .bearer_auth(&officer)
        .header("If-Match", "\"1\"")
        .json(&serde_json::json!({"participants_total": 25, "participants_female": 12}))
        .send()
        .await
        .unwrap();
    assert_eq!(corrected.status(), 200);
    let phone_edit = serde_json::json!([{"type": "training_session", "op": "upsert", "id": contested,
        "base_version": 1, "data": session_data(team, today - Duration::days(1), 33)}]);
    let conflicted = push(&app, &leader, &phone_edit).await;
    assert_eq!(statuses(&conflicted), ["conflict"]);
    assert_eq!(conflicted["results"][0]["version"], 2);
    let conflict_id = conflicted["results"][0]["conflict_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = get_session(&app, &officer, contested).await;
    assert_eq!(
        stored["participants_total"], 25,
        "a conflicting edit is not applied"
    );
    // Pushed again (another timeout): the same conflict, not a second one.
    let repeated = push(&app, &leader, &phone_edit).await;
    assert_eq!(repeated["results"][0]["conflict_id"], conflict_id.as_str());

    // The inbox shows both sides to the leader and to the officer.
    for token in [&leader, &officer] {
        let inbox = app
            .request(Method::GET, "/api/v1/sync/conflicts")
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
        assert_eq!(inbox["items"][0]["id"], conflict_id.as_str());
        assert_eq!(inbox["items"][0]["client_data"]["participants_total"], 33);
        assert_eq!(inbox["items"][0]["server_data"]["participants_total"], 25);
        assert_eq!(inbox["items"][0]["base_version"], 1);
        assert_eq!(inbox["items"][0]["server_version"], 2);
    }
    // The leader takes the phone's version: applied as a normal write.
    let resolved = app
        .request(
            Method::POST,
            &format!("/api/v1/sync/conflicts/{conflict_id}/resolve"),
        )
        .bearer_auth(&leader)
        .json(&serde_json::json!({"resolution": "take_client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    let resolved: Value = resolved.json().await.unwrap();
    assert_eq!(resolved["conflict"]["status"], "resolved");
    assert_eq!(resolved["conflict"]["resolution"], "take_client");
    assert_eq!(resolved["record"]["participants_total"], 33);
    assert_eq!(resolved["record"]["version"], 3);
    problem(
        app.request(
            Method::POST,
            &format!("/api/v1/sync/conflicts/{conflict_id}/resolve"),
        )
        .bearer_auth(&leader)
        .json(&serde_json::json!({"resolution": "keep_server"}))
        .send()
        .await
        .unwrap(),
        409,
    )
    .await;

    // A deletion from the phone, and one item per kind of refusal in the same batch.
    let mixed = serde_json::json!([
        {"type": "training_session", "op": "delete", "id": made[1], "base_version": 1},
        {"type": "training_session", "op": "upsert", "id": theirs, "base_version": 1,
         "data": session_data(other, today - Duration::days(1), 10)},
        {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
         "data": session_data(other, today - Duration::days(1), 10)},
        {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
         "data": {"team_id": team, "kind": "training", "held_on": today - Duration::days(1),
                  "duration_minutes": 90, "format": "in_person", "topics": ["vneid"], "participants_total": 5,
                  "participants_female": 9, "participants_ethnic_minority": 1, "participants_elderly": 0,
                  "households_reached": 2}},
        {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
         "data": session_data(team, today - Duration::days(400), 10)}
    ]);
    let outcome = push(&app, &leader, &mixed).await;
    assert_eq!(
        statuses(&outcome),
        ["updated", "forbidden", "forbidden", "rejected", "rejected"]
    );
    assert_eq!(outcome["results"][0]["version"], 2);
    assert_eq!(
        outcome["results"][3]["problem"]["errors"][0]["field"],
        "participants_female"
    );
    assert_eq!(
        outcome["results"][3]["problem"]["errors"][0]["code"],
        "exceeds_total"
    );
    assert_eq!(outcome["results"][4]["problem"]["code"], "period_locked");
    // A type or operation the document does not list breaks the push's shape: the whole push is 422
    // naming the item's field, and nothing of it is applied.
    let unknown = serde_json::json!([
        {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
         "data": session_data(team, today - Duration::days(1), 10)},
        {"type": "poster", "op": "upsert", "id": Uuid::now_v7(), "base_version": null, "data": {}},
        {"type": "training_session", "op": "merge", "id": Uuid::now_v7(), "base_version": null}
    ]);
    let refused = problem(
        app.request(Method::POST, "/api/v1/sync/push")
            .bearer_auth(&leader)
            .json(&serde_json::json!({ "items": unknown }))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(
        field_errors(&refused),
        [
            ("items[1].type".to_owned(), "invalid_choice".to_owned()),
            ("items[2].op".to_owned(), "invalid_choice".to_owned())
        ]
    );
    assert_eq!(
        count_sessions(&app, team),
        199,
        "one deleted, nothing half-written"
    );
    assert_eq!(count_sessions(&app, other), 1);

    // Catching up: exactly the officer's correction (resolved) and the deletion since the last cursor.
    let (changes, _) = pull_all(&app, &leader, &cursor, 100).await;
    let got: Vec<(String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["op"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (contested.to_string(), "upsert".to_owned()),
            (made[1].to_string(), "delete".to_owned())
        ]
    );
    assert_eq!(changes[0]["version"], 3);
}

async fn get_session(app: &TestApp, token: &str, id: Uuid) -> Value {
    app.request(Method::GET, &format!("/api/v1/training-sessions/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn two_phones_of_one_team_pushing_at_once_store_each_record_once() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("VH-1", van_ho);
    app.create_team_leader("leader", team);
    app.create_user("officer", "officer", Some(van_ho));
    let leader = app.token("leader").await;
    let officer = app.token("officer").await;
    let today = today_in_vietnam();
    let shared: Vec<Uuid> = (0..30).map(|_| Uuid::now_v7()).collect();
    let item = |id: &Uuid, i: usize| {
        serde_json::json!({"type": "training_session", "op": "upsert", "id": id, "base_version": null,
            "data": session_data(team, today - Duration::days(1 + (i as i64 % 5)), 12)})
    };
    let mut first: Vec<Value> = shared
        .iter()
        .enumerate()
        .map(|(i, id)| item(id, i))
        .collect();
    let mut second = first.clone();
    first.extend((0..20).map(|i| item(&Uuid::now_v7(), i)));
    second.extend((0..25).map(|i| item(&Uuid::now_v7(), i)));
    second.reverse();
    let (a, b) = futures_util::future::join(
        push(&app, &leader, &Value::Array(first)),
        push(&app, &officer, &Value::Array(second)),
    )
    .await;
    let created = statuses(&a)
        .iter()
        .chain(statuses(&b).iter())
        .filter(|s| *s == "created")
        .count();
    let unchanged = statuses(&a)
        .iter()
        .chain(statuses(&b).iter())
        .filter(|s| *s == "unchanged")
        .count();
    assert_eq!(created, 30 + 20 + 25, "{a} {b}");
    assert_eq!(unchanged, 30);
    assert_eq!(count_sessions(&app, team), 75);
}

#[actix_web::test]
async fn reach_activities_push_like_sessions_with_their_campaign() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("VH-1", van_ho);
    app.create_team_leader("leader", team);
    app.create_user("officer", "officer", Some(van_ho));
    let leader = app.token("leader").await;
    let officer = app.token("officer").await;
    let today = today_in_vietnam();
    let campaign = {
        let fields = cdt_api::models::campaign::CampaignFields {
            code: "campaign-now".to_owned(),
            name: "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến".to_owned(),
            name_en: None,
            owner: "Sở KH&CN".to_owned(),
            starts_on: today - Duration::days(30),
            ends_on: today + Duration::days(30),
            description: None,
            skill_groups: Vec::new(),
            fraud_types: Vec::new(),
            status: cdt_api::reference::Choice::from_code("active"),
        };
        cdt_api::models::campaign::insert(&mut app.database.connect(), Uuid::now_v7(), &fields)
            .unwrap()
            .id
    };
    let id = Uuid::now_v7();
    let data = |contacts: i32| {
        serde_json::json!({"campaign_id": campaign, "team_id": team, "channel": "meeting",
            "occurred_on": today - Duration::days(2), "contacts": contacts, "unique_people": contacts - 2,
            "households_reached": 10, "method": "headcount", "confidence": "high"})
    };
    let created = push(
        &app,
        &leader,
        &serde_json::json!([{"type": "reach_activity", "op": "upsert", "id": id, "base_version": null,
            "data": data(40)}]),
    )
    .await;
    assert_eq!(statuses(&created), ["created"]);
    let retried = push(
        &app,
        &leader,
        &serde_json::json!([{"type": "reach_activity", "op": "upsert", "id": id, "base_version": null,
            "data": data(40)}]),
    )
    .await;
    assert_eq!(statuses(&retried), ["unchanged"]);
    // An edit on the current version applies; one on a stale version waits in the inbox.
    let edited = push(
        &app,
        &leader,
        &serde_json::json!([{"type": "reach_activity", "op": "upsert", "id": id, "base_version": 1,
            "data": data(45)}]),
    )
    .await;
    assert_eq!(statuses(&edited), ["updated"]);
    assert_eq!(edited["results"][0]["version"], 2);
    let stale = push(
        &app,
        &leader,
        &serde_json::json!([{"type": "reach_activity", "op": "upsert", "id": id, "base_version": 1,
            "data": data(50)}]),
    )
    .await;
    assert_eq!(statuses(&stale), ["conflict"]);
    // The officer merges both sides.
    let conflict = stale["results"][0]["conflict_id"].as_str().unwrap();
    let merged = app
        .request(
            Method::POST,
            &format!("/api/v1/sync/conflicts/{conflict}/resolve"),
        )
        .bearer_auth(&officer)
        .json(&serde_json::json!({"resolution": "merged", "data": data(48)}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
    let merged: Value = merged.json().await.unwrap();
    assert_eq!(merged["record"]["contacts"], 48);
    assert_eq!(merged["conflict"]["resolution"], "merged");
    // A missing campaign or a changed one is refused; a delete on the current version applies.
    let mut without = data(40);
    without.as_object_mut().unwrap().remove("campaign_id");
    let refused = push(
        &app,
        &leader,
        &serde_json::json!([
            {"type": "reach_activity", "op": "upsert", "id": Uuid::now_v7(), "base_version": null, "data": without},
            {"type": "reach_activity", "op": "delete", "id": id, "base_version": 3}
        ]),
    )
    .await;
    assert_eq!(statuses(&refused), ["rejected", "updated"]);
    assert_eq!(
        refused["results"][0]["problem"]["errors"][0]["field"],
        "data.campaign_id"
    );
    let live: i64 = diesel::sql_query("SELECT 1 FROM reach_activities WHERE deleted_at IS NULL")
        .execute(&mut app.database.connect())
        .unwrap() as i64;
    assert_eq!(live, 0);
}

#[actix_web::test]
async fn memberships_push_create_change_and_end_with_the_member_rules() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let to_hieu = app.unit_id("son-la.phuong-to-hieu");
    let team = app.create_team("VH-1", van_ho);
    let other = app.create_team("TH-1", to_hieu);
    app.add_member(team, "Lò Văn Minh", Some("+84912345670"), "leader");
    let (theirs, _) = app.add_member(other, "Cầm Văn Đức", Some("+84987654321"), "member");
    app.create_team_leader("leader", team);
    let leader = app.token("leader").await;
    let id = Uuid::now_v7();
    let data = |role: &str| {
        serde_json::json!({"team_id": team, "role": role, "joined_on": "2025-08-01",
            "person": {"full_name": "Quàng Thị Hoa", "phone": "0912 345 671", "gender": "female",
                       "birth_year": 1995, "ethnicity": "thai", "affiliation": "youth_union"}})
    };
    let item = |op: &str, base: Option<i32>, data: Option<Value>| serde_json::json!([{"type": "membership", "op": op, "id": id, "base_version": base, "data": data}]);
    assert_eq!(
        statuses(&push(&app, &leader, &item("upsert", None, Some(data("member")))).await),
        ["created"]
    );
    assert_eq!(
        statuses(&push(&app, &leader, &item("upsert", None, Some(data("member")))).await),
        ["unchanged"]
    );
    let changed = push(
        &app,
        &leader,
        &item("upsert", Some(1), Some(data("deputy"))),
    )
    .await;
    assert_eq!(statuses(&changed), ["updated"]);
    assert_eq!(changed["results"][0]["version"], 2);
    // A second current leader breaks the team's rule: refused with the endpoint's problem.
    let second_leader = push(
        &app,
        &leader,
        &item("upsert", Some(2), Some(data("leader"))),
    )
    .await;
    assert_eq!(statuses(&second_leader), ["rejected"]);
    assert_eq!(second_leader["results"][0]["problem"]["status"], 409);
    // Ending it, twice: the second time there is nothing left to end.
    assert_eq!(
        statuses(&push(&app, &leader, &item("delete", Some(2), None)).await),
        ["updated"]
    );
    assert_eq!(
        statuses(&push(&app, &leader, &item("delete", Some(3), None)).await),
        ["unchanged"]
    );
    // Another team's member is out of reach.
    let foreign = push(
        &app,
        &leader,
        &serde_json::json!([{"type": "membership", "op": "delete", "id": theirs, "base_version": 1}]),
    )
    .await;
    assert_eq!(statuses(&foreign), ["forbidden"]);
    // The pull shows the ended membership with the full number (their own team).
    let (items, _) = pull_all(&app, &leader, "", 1000).await;
    let pulled = items.iter().find(|i| i["id"] == id.to_string()).unwrap();
    assert_eq!(pulled["data"]["role"], "deputy");
    assert!(pulled["data"]["left_on"].is_string());
    assert_eq!(pulled["data"]["phone"], "+84912345671");
    assert!(
        ids_of(&items, "membership").len() == 2,
        "leader and the new member only"
    );
}

#[actix_web::test]
async fn a_full_batch_with_long_notes_fits_and_more_is_refused() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("VH-1", van_ho);
    app.create_team_leader("leader", team);
    let leader = app.token("leader").await;
    let today = today_in_vietnam();
    let notes = "Hướng dẫn bà con cài đặt ứng dụng, kích hoạt định danh mức hai. ".repeat(30);
    let batch = |count: usize, notes: &str| -> Value {
        (0..count)
            .map(|i| {
                let mut data = session_data(team, today - Duration::days(1 + i as i64 % 5), 10);
                data["notes"] = Value::String(notes.chars().take(2000).collect());
                serde_json::json!({"type": "training_session", "op": "upsert", "id": Uuid::now_v7(),
                    "base_version": null, "data": data})
            })
            .collect()
    };
    let full = batch(500, &notes);
    // Larger than the 1 MiB other endpoints accept.
    assert!(serde_json::to_vec(&full).unwrap().len() > 1024 * 1024);
    let pushed = push(&app, &leader, &full).await;
    assert!(statuses(&pushed).iter().all(|s| s == "created"));
    assert_eq!(count_sessions(&app, team), 500);
    // 501 items: refused as a whole, naming the rule.
    let body = problem(
        app.request(Method::POST, "/api/v1/sync/push")
            .bearer_auth(&leader)
            .json(&serde_json::json!({"items": batch(501, "")}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "items");
    // Past 8 MiB: 413 before anything is read into records.
    let huge = "x".repeat(9 * 1024 * 1024);
    problem(
        app.request(Method::POST, "/api/v1/sync/push")
            .bearer_auth(&leader)
            .header("Content-Type", "application/json")
            .body(format!("{{\"items\": [], \"pad\": \"{huge}\"}}"))
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    assert_eq!(count_sessions(&app, team), 500);
}

#[actix_web::test]
async fn a_push_whose_data_breaks_the_documented_shape_is_refused_whole() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let team = app.create_team("VH-1", app.unit_id("son-la.xa-van-ho"));
    app.create_team_leader("leader", team);
    let leader = app.token("leader").await;
    let today = today_in_vietnam();
    let mut wrong_type = session_data(team, today - Duration::days(1), 10);
    wrong_type["participants_total"] = serde_json::json!("ten");
    let mut unknown = session_data(team, today - Duration::days(1), 10);
    unknown["colour"] = serde_json::json!("blue");
    let response = app
        .request(Method::POST, "/api/v1/sync/push")
        .bearer_auth(&leader)
        .json(&serde_json::json!({"items": [
            {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
             "data": session_data(team, today - Duration::days(1), 10)},
            {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
             "data": wrong_type},
            {"type": "training_session", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
             "data": unknown},
            {"type": "membership", "op": "upsert", "id": Uuid::now_v7(), "base_version": null,
             "data": [1, 2]},
            {"type": "reach_activity", "op": "delete", "id": Uuid::now_v7(), "base_version": 1,
             "data": {"households_reached": false}},
        ]}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    let errors = field_errors(&body);
    assert_eq!(
        errors,
        [
            (
                "items[1].data.participants_total".to_owned(),
                "invalid_type".to_owned()
            ),
            (
                "items[2].data.colour".to_owned(),
                "unknown_field".to_owned()
            ),
            ("items[3].data".to_owned(), "invalid_type".to_owned()),
            ("items[4].data".to_owned(), "not_allowed".to_owned()),
        ]
    );
    assert_eq!(
        count_sessions(&app, team),
        0,
        "nothing of the batch applied"
    );
}
