//! Targets and external indicator values.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, problem};

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn target(unit: uuid::Uuid, value: f64) -> serde_json::Value {
    json!({"org_unit_id": unit, "indicator": "people_trained", "period_start": "2026-01-01", "period_end": "2026-12-31", "value": value})
}

#[actix_web::test]
async fn officers_set_targets_below_their_root_and_learn_when_children_exceed_the_parent() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let mut villages = Vec::new();
    for code in ["son-la.xa-van-ho.ban-x", "son-la.xa-van-ho.ban-y"] {
        let mut conn = app.database.connect();
        let parent = cdt_api::models::org_unit::find(&mut conn, commune).unwrap();
        let village = cdt_api::models::org_unit::NewOrgUnit {
            id: uuid::Uuid::now_v7(),
            code: code.to_owned(),
            name: code.to_owned(),
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
        villages.push(
            cdt_api::models::org_unit::insert(&mut conn, &village)
                .unwrap()
                .id,
        );
    }
    app.create_user("admin", "admin", None);
    app.create_user("officer", "officer", Some(commune));
    let admin = app.token("admin").await;
    let officer = app.token("officer").await;

    // The officer may not set their own root's target; the admin may.
    let own = send(
        &app,
        &officer,
        Method::POST,
        "/api/v1/targets",
        Some(target(commune, 100.0)),
    )
    .await;
    assert_eq!(problem(own, 403).await["code"], "forbidden");
    let parent = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/targets",
        Some(target(commune, 100.0)),
    )
    .await;
    assert_eq!(parent.status(), 201);

    let first: serde_json::Value = send(
        &app,
        &officer,
        Method::POST,
        "/api/v1/targets",
        Some(target(villages[0], 60.0)),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["warnings"], json!([]));
    let second = send(
        &app,
        &officer,
        Method::POST,
        "/api/v1/targets",
        Some(target(villages[1], 50.0)),
    )
    .await;
    assert_eq!(second.status(), 201);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["warnings"][0]["code"], "children_exceed_parent");
    assert!(
        second["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("110")
    );

    let duplicate = send(
        &app,
        &officer,
        Method::POST,
        "/api/v1/targets",
        Some(target(villages[1], 40.0)),
    )
    .await;
    assert_eq!(problem(duplicate, 409).await["code"], "conflict");
    let mut bad = target(villages[1], 120.0);
    bad["indicator"] = json!("campaign_household_coverage_pct");
    bad["period_end"] = json!("2025-01-01");
    let body = problem(
        send(&app, &officer, Method::POST, "/api/v1/targets", Some(bad)).await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["period_end", "value"]);

    // Lowering the second village clears the warning; If-Match guards the change.
    let path = format!("/api/v1/targets/{}", second["id"].as_str().unwrap());
    let stale = app
        .request(Method::PATCH, &path)
        .bearer_auth(&officer)
        .header("If-Match", "\"9\"")
        .json(&json!({"value": 40}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
    let lowered: serde_json::Value = send(
        &app,
        &officer,
        Method::PATCH,
        &path,
        Some(json!({"value": 40})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            lowered["value"].as_f64(),
            lowered["warnings"].as_array().map(Vec::len)
        ),
        (Some(40.0), Some(0))
    );

    let listed: serde_json::Value = send(
        &app,
        &officer,
        Method::GET,
        &format!("/api/v1/targets?org_unit_id={commune}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        send(&app, &officer, Method::DELETE, &path, None)
            .await
            .status(),
        204
    );
    use cdt_api::db::schema::audit_events;
    let actions: Vec<String> = audit_events::table
        .filter(audit_events::entity_type.eq("target"))
        .order(audit_events::at.asc())
        .select(audit_events::action)
        .load(&mut app.database.connect())
        .unwrap();
    assert_eq!(
        actions,
        [
            "target_set",
            "target_set",
            "target_set",
            "target_changed",
            "target_removed"
        ]
    );
}

#[actix_web::test]
async fn indicator_values_are_imported_replaced_and_audited() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let csv = "org_unit_code;indicator;period_start;period_end;value;source;as_of\n\
               son-la.xa-van-ho;online_dossier_rate_pct;2025-07-01;2025-09-30;72,5;Cổng dịch vụ công quốc gia;2025-10-05\n\
               son-la.phuong-to-hieu;dti_score;2025-01-01;2025-12-31;0.61;Bộ KH&CN;2026-03-01\n";
    let post = |body: &'static str, query: &'static str| {
        app.request(Method::POST, &format!("/api/v1/indicator-values{query}"))
            .bearer_auth(&admin)
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };
    let dry: serde_json::Value = post(csv, "?dry_run=true")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (dry["created"].as_u64(), dry["committed"].as_bool()),
        (Some(2), Some(false))
    );
    let done: serde_json::Value = post(csv, "").await.unwrap().json().await.unwrap();
    assert_eq!(
        (done["created"].as_u64(), done["committed"].as_bool()),
        (Some(2), Some(true))
    );
    let again: serde_json::Value = post(csv, "").await.unwrap().json().await.unwrap();
    assert_eq!(again["unchanged"], 2);
    let revised = "org_unit_code;indicator;period_start;period_end;value;source;as_of\n\
                   son-la.xa-van-ho;online_dossier_rate_pct;2025-07-01;2025-09-30;80;Cổng dịch vụ công quốc gia;2025-10-20\n";
    let replaced: serde_json::Value = post(revised, "").await.unwrap().json().await.unwrap();
    assert_eq!(replaced["updated"], 1);
    let bad = "org_unit_code;indicator;period_start;period_end;value;source;as_of\nkhong-co;dti;2025-13-01;2025-01-01;-1;;\n";
    let rejected: serde_json::Value = post(bad, "").await.unwrap().json().await.unwrap();
    let columns: Vec<&str> = rejected["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["column"].as_str().unwrap())
        .collect();
    for column in [
        "org_unit_code",
        "indicator",
        "period_start",
        "value",
        "source",
        "as_of",
    ] {
        assert!(columns.contains(&column), "{column} not in {columns:?}");
    }

    let listed: serde_json::Value = send(
        &app,
        &admin,
        Method::GET,
        "/api/v1/indicator-values?indicator=online_dossier_rate_pct",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["value"], 80.0);
    assert_eq!(listed["items"][0]["version"], 2);
    use cdt_api::db::schema::audit_events;
    let replaced_events: i64 = audit_events::table
        .filter(audit_events::action.eq("indicator_value_replaced"))
        .count()
        .get_result(&mut app.database.connect())
        .unwrap();
    assert_eq!(replaced_events, 1);
    let exported = app
        .request(Method::GET, "/api/v1/indicator-values")
        .bearer_auth(&admin)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(exported.contains("son-la.xa-van-ho,online_dossier_rate_pct,2025-07-01,2025-09-30,80,Cổng dịch vụ công quốc gia,2025-10-20"), "{exported}");
}

/// Every page of `path` (which has a `?`) with `limit`, following `next_cursor`: the items' ids in
/// order, and how many pages it took.
async fn walk(app: &TestApp, token: &str, path: &str, limit: usize) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut url = format!("{path}&limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: serde_json::Value = send(app, token, Method::GET, &url, None)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (ids, pages),
        }
    }
}

#[actix_web::test]
async fn target_member_and_indicator_value_lists_page_with_cursors_like_every_list() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-van-ho");
    for (start, end) in [
        ("2024-01-01", "2024-12-31"),
        ("2026-01-01", "2026-06-30"),
        ("2025-01-01", "2025-12-31"),
    ] {
        let body = json!({"org_unit_id": commune, "indicator": "sessions_held", "period_start": start,
                          "period_end": end, "value": 12});
        assert_eq!(
            send(&app, &admin, Method::POST, "/api/v1/targets", Some(body))
                .await
                .status(),
            201
        );
    }
    let all: serde_json::Value = send(&app, &admin, Method::GET, "/api/v1/targets", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(all["next_cursor"].is_null());
    let starts: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["period_start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["2026-01-01", "2025-01-01", "2024-01-01"],
        "latest period first"
    );
    let every: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        walk(&app, &admin, "/api/v1/targets?indicator=sessions_held", 2).await,
        (every, 2)
    );

    let team = app.create_team("VH-PAGES", commune);
    for (name, role) in [
        ("Lò Văn A", "member"),
        ("Lò Văn B", "leader"),
        ("Lò Thị C", "deputy"),
    ] {
        let body = json!({"person": {"full_name": name}, "role": role, "joined_on": "2025-07-01"});
        let added = send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/teams/{team}/members"),
            Some(body),
        )
        .await;
        assert_eq!(added.status(), 201);
    }
    let members = format!("/api/v1/teams/{team}/members?include_past=false");
    let (ids, pages) = walk(&app, &admin, &members, 1).await;
    assert_eq!((ids.len(), pages), (3, 3));
    let first: serde_json::Value = send(
        &app,
        &admin,
        Method::GET,
        &format!("{members}&limit=1"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["items"][0]["role"], "leader", "leader first");

    let csv = "org_unit_code;indicator;period_start;period_end;value;source;as_of\n\
               son-la.xa-van-ho;online_dossier_rate_pct;2025-07-01;2025-09-30;72,5;Cổng dịch vụ công quốc gia;2025-10-05\n\
               son-la.xa-van-ho;online_dossier_rate_pct;2025-10-01;2025-12-31;75;Cổng dịch vụ công quốc gia;2026-01-05\n\
               son-la.phuong-to-hieu;dti_score;2025-01-01;2025-12-31;0.61;Bộ KH&CN;2026-03-01\n";
    let imported = app
        .request(Method::POST, "/api/v1/indicator-values")
        .bearer_auth(&admin)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200);
    let (values, pages) = walk(&app, &admin, "/api/v1/indicator-values?source=C%E1%BB%95ng%20d%E1%BB%8Bch%20v%E1%BB%A5%20c%C3%B4ng%20qu%E1%BB%91c%20gia", 1).await;
    assert_eq!((values.len(), pages), (2, 2));
    let bad = send(
        &app,
        &admin,
        Method::GET,
        "/api/v1/targets?cursor=bm90LWpzb24",
        None,
    )
    .await;
    assert_eq!(problem(bad, 400).await["code"], "invalid_query");
    for list in [
        "/api/v1/targets?indicator=",
        "/api/v1/indicator-values?indicator=nope",
    ] {
        let unknown = send(&app, &admin, Method::GET, list, None).await;
        assert_eq!(
            problem(unknown, 422).await["errors"][0]["field"],
            "indicator",
            "{list}"
        );
    }
}
