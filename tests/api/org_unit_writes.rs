//! Creating, editing and merging org units through the API.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, problem};

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    app.request(method, path)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_admin_creates_a_village_and_bad_input_names_every_field() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-van-ho");

    let body = json!({"code": "son-la.xa-van-ho.ban-bo-nhang", "name": "  Bản Bó Nhàng ", "level": "village",
                      "kind": "ban", "parent_id": commune, "valid_from": "2025-07-01", "households": 84});
    let response = send(
        &app,
        &token,
        Method::POST,
        "/api/v1/org-units",
        body.clone(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Bản Bó Nhàng");
    assert_eq!(created["path"][1]["code"], "son-la.xa-van-ho");
    let stored = cdt_api::models::org_unit::find_by_code(
        &mut app.database.connect(),
        "son-la.xa-van-ho.ban-bo-nhang",
    )
    .unwrap()
    .unwrap();
    assert_eq!(stored.parent_id, Some(commune));
    assert!(stored.path.ends_with(&format!("{commune}/{}/", stored.id)));

    let duplicate = send(&app, &token, Method::POST, "/api/v1/org-units", body).await;
    assert_eq!(problem(duplicate, 409).await["code"], "conflict");

    let invalid = json!({"code": "Bad Code", "name": "", "level": "village", "kind": "xa", "parent_id": commune,
                         "households": -1});
    let body = problem(
        send(&app, &token, Method::POST, "/api/v1/org-units", invalid).await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "name", "kind", "households"]);

    let province = app.unit_id("son-la");
    let wrong_parent = json!({"code": "x-1", "name": "X", "level": "district", "kind": "huyen", "parent_id": commune});
    let body = problem(
        send(
            &app,
            &token,
            Method::POST,
            "/api/v1/org-units",
            wrong_parent,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "invalid_parent");
    let closed_parent = app.unit_id("son-la.huyen-van-ho");
    let stale = json!({"code": "x-2", "name": "X", "level": "commune", "kind": "xa", "parent_id": closed_parent,
                       "valid_from": "2026-01-01"});
    let body = problem(
        send(&app, &token, Method::POST, "/api/v1/org-units", stale).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "not_in_force");
    let _ = province;
}

#[actix_web::test]
async fn officers_edit_only_figures_of_units_in_their_subtree() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let other = app.unit_id("son-la.phuong-to-hieu");
    app.create_user("officer", "officer", Some(commune));
    let token = app.token("officer").await;
    let path = format!("/api/v1/org-units/{commune}");

    let response = app
        .request(Method::PATCH, &path)
        .bearer_auth(&token)
        .header("If-Match", "\"1\"")
        .json(&json!({"households": 1250, "population": 5480}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["households"], 1250);

    let stale = app
        .request(Method::PATCH, &path)
        .bearer_auth(&token)
        .header("If-Match", "\"1\"")
        .json(&json!({"households": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(stale, 412).await["code"], "precondition_failed");

    let rename = send(
        &app,
        &token,
        Method::PATCH,
        &path,
        json!({"name": "Tên khác"}),
    )
    .await;
    assert_eq!(problem(rename, 403).await["code"], "forbidden");
    let outside = send(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/org-units/{other}"),
        json!({"households": 5}),
    )
    .await;
    assert_eq!(problem(outside, 404).await["code"], "not_found");

    let unit = cdt_api::models::org_unit::find(&mut app.database.connect(), commune).unwrap();
    assert_eq!(
        (unit.households, unit.population, unit.version),
        (Some(1250), Some(5480), 2)
    );
}

#[actix_web::test]
async fn a_reorganization_closes_predecessors_and_links_them_to_the_successor() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-van-ho");

    let mut villages = Vec::new();
    for name in ["Bản Pa Khen 1", "Bản Pa Khen 2"] {
        let body = json!({"code": format!("son-la.xa-van-ho.{}", cdt_api::seed::slug(name)), "name": name,
                          "level": "village", "kind": "ban", "parent_id": commune, "valid_from": "2025-07-01"});
        let created: serde_json::Value =
            send(&app, &token, Method::POST, "/api/v1/org-units", body)
                .await
                .json()
                .await
                .unwrap();
        villages.push(created["id"].as_str().unwrap().to_owned());
    }

    let merge = json!({"effective_on": "2026-01-01", "predecessor_ids": villages,
                       "successor": {"code": "son-la.xa-van-ho.ban-pa-khen", "name": "Bản Pa Khen", "level": "village",
                                     "kind": "ban", "parent_id": commune}});
    let response = send(
        &app,
        &token,
        Method::POST,
        "/api/v1/org-units/reorganizations",
        merge.clone(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let successor: serde_json::Value = response.json().await.unwrap();
    assert_eq!(successor["valid_from"], "2026-01-01");
    assert_eq!(successor["predecessors"].as_array().unwrap().len(), 2);

    for village in &villages {
        let detail: serde_json::Value = app
            .request(Method::GET, &format!("/api/v1/org-units/{village}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(detail["valid_to"], "2025-12-31");
        assert_eq!(
            detail["successors"][0]["unit"]["code"],
            "son-la.xa-van-ho.ban-pa-khen"
        );
    }
    let before: serde_json::Value = app
        .request(
            Method::GET,
            &format!("/api/v1/org-units/{commune}/children?as_of=2025-12-31"),
        )
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["items"].as_array().unwrap().len(), 2);

    // The same predecessors cannot be merged again: they are closed.
    let mut again = merge;
    again["successor"]["code"] = json!("son-la.xa-van-ho.ban-khac");
    let body = problem(
        send(
            &app,
            &token,
            Method::POST,
            "/api/v1/org-units/reorganizations",
            again,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "predecessor_ids[0]");
    assert_eq!(body["errors"][0]["code"], "not_in_force");

    use cdt_api::db::schema::audit_events;
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let closed: i64 = audit_events::table
        .filter(audit_events::action.eq("org_unit_closed"))
        .count()
        .get_result(&mut app.database.connect())
        .unwrap();
    assert_eq!(closed, 2);
}
