//! Hostile input: every malformed or abusive request gets a 4xx problem naming what is wrong, never a
//! 500, and writes nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, problem};

/// A signed-in admin on a database with Sơn La's units.
async fn admin_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    (app, token)
}

/// What is sent (description, body, content type) and what must come back (status, code, field).
type Case<'a> = (&'a str, Vec<u8>, &'a str, u16, &'a str, Option<&'a str>);

fn team_count(app: &TestApp) -> usize {
    cdt_api::models::team::all(&mut app.database.connect())
        .unwrap()
        .len()
}

async fn post_raw(
    app: &TestApp,
    token: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.request(Method::POST, path)
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn team_body(app: &TestApp, name: &str) -> serde_json::Value {
    json!({"code": "VH-HOSTILE", "name": name, "org_unit_id": app.unit_id("son-la.xa-van-ho"),
           "founded_on": "2025-07-01"})
}

#[actix_web::test]
async fn malformed_bodies_are_4xx_problems_and_write_nothing() {
    let (app, token) = admin_app().await;
    let unit = app.unit_id("son-la.xa-van-ho");
    let json = "application/json";

    // (body, content type, status, code, field named in `errors` when 422)
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_field = format!(
        r#"{{"code": "VH-1", "name": "Tổ", "org_unit_id": "{unit}", "founded_on": "2025-07-01", "notes": {}{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let cases: Vec<Case> = vec![
        // The struct refuses the first `[`; serde_json's depth limit guards the untyped values below.
        ("nested 100,000 deep", deep.into_bytes(), json, 422, "validation_failed", Some("body")),
        ("nested inside a field", deep_field.into_bytes(), json, 422, "validation_failed", Some("body")),
        (
            "a number beyond f64",
            format!(r#"{{"code": "VH-1", "name": "Tổ", "org_unit_id": "{unit}", "founded_on": "2025-07-01", "zalo_group_members": 1e400}}"#).into_bytes(),
            json, 400, "malformed_json", None,
        ),
        (
            "an integer beyond i32",
            format!(r#"{{"code": "VH-1", "name": "Tổ", "org_unit_id": "{unit}", "founded_on": "2025-07-01", "zalo_group_members": 99999999999999999999999}}"#).into_bytes(),
            json, 422, "validation_failed", Some("body"),
        ),
        (
            "invalid UTF-8",
            [&br#"{"code": "VH-1", "name": "T"#[..], &[0xff, 0xfe, 0xfd], &br#"", "org_unit_id": "x"}"#[..]].concat(),
            json, 400, "malformed_json", None,
        ),
        (
            "duplicate keys",
            format!(r#"{{"code": "VH-1", "code": "VH-2", "name": "Tổ", "org_unit_id": "{unit}", "founded_on": "2025-07-01"}}"#).into_bytes(),
            json, 422, "validation_failed", Some("body"),
        ),
        (
            "an overlong name",
            serde_json::to_vec(&team_body(&app, &"Tổ công nghệ số ".repeat(20_000))).unwrap(),
            json, 422, "validation_failed", Some("name"),
        ),
        (
            "a NUL character",
            serde_json::to_vec(&team_body(&app, "Tổ công nghệ số\u{0}bản Bó Nhàng")).unwrap(),
            json, 422, "validation_failed", Some("request"),
        ),
        (
            "a body over 1 MiB",
            serde_json::to_vec(&team_body(&app, &"x".repeat(1_100_000))).unwrap(),
            json, 413, "payload_too_large", None,
        ),
        (
            "a form instead of JSON",
            b"code=VH-1&name=T".to_vec(),
            "application/x-www-form-urlencoded", 415, "unsupported_media_type", None,
        ),
        ("no body at all", Vec::new(), json, 400, "malformed_json", None),
    ];
    for (what, body, content_type, status, code, field) in cases {
        let response = post_raw(&app, &token, "/api/v1/teams", content_type, body).await;
        assert_eq!(response.status(), status, "{what}");
        let body = problem(response, status).await;
        assert_eq!(body["code"], code, "{what}: {body}");
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["field"], field, "{what}: {body}");
        }
        assert_eq!(team_count(&app), 0, "{what} wrote a team");
    }

    // Untyped JSON (an import's rows) is where depth could overflow the stack: serde_json stops at 128.
    let deep_rows = format!(
        r#"[{{"code": {}{}}}]"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let response = post_raw(
        &app,
        &token,
        "/api/v1/imports/teams",
        json,
        deep_rows.into_bytes(),
    )
    .await;
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "malformed_json");
    assert!(
        body["detail"].as_str().unwrap().contains("recursion limit"),
        "{body}"
    );
    assert_eq!(team_count(&app), 0);

    // The server survived all of it.
    let response = post_raw(
        &app,
        &token,
        "/api/v1/teams",
        json,
        serde_json::to_vec(&team_body(&app, "Tổ công nghệ số bản Bó Nhàng")).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(team_count(&app), 1);
}

#[actix_web::test]
async fn hostile_query_strings_are_4xx_problems() {
    let (app, token) = admin_app().await;
    let too_long = "a".repeat(10_000);
    for (path, status, code) in [
        ("/api/v1/teams?q=%00", 422, "validation_failed"),
        (
            "/api/v1/teams?limit=99999999999999999999",
            400,
            "invalid_query",
        ),
        ("/api/v1/teams?limit=-1", 422, "validation_failed"),
        ("/api/v1/teams?org_unit_id=not-a-uuid", 400, "invalid_query"),
        (&format!("/api/v1/teams?q={too_long}"), 400, "invalid_query"),
        (
            "/api/v1/teams?cursor=%27%3B%20DROP%20TABLE%20teams%3B--",
            400,
            "invalid_query",
        ),
    ] {
        let response = app
            .request(Method::GET, path)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let shown: String = path.chars().take(80).collect();
        assert_eq!(response.status(), status, "{shown}");
        let body = problem(response, status).await;
        assert_eq!(body["code"], code, "{shown}: {body}");
    }
}

#[actix_web::test]
async fn csv_imports_with_broken_quoting_write_nothing_and_exports_neutralise_formulas() {
    let (app, token) = admin_app().await;
    let header = "code,name,org_unit_name,org_unit_code,level,status,founded_on,establishment_decision,zalo_group_members,zalo_group_members_as_of,notes\n";
    for (what, csv) in [
        (
            "an unclosed quote",
            format!(
                "{header}VH-001,\"Tổ công nghệ số xã Vân Hồ,Vân Hồ,son-la.xa-van-ho,commune,active,2022-09-15,,,,\n"
            ),
        ),
        (
            "a row with too many cells",
            format!(
                "{header}VH-001,Tổ,Vân Hồ,son-la.xa-van-ho,commune,active,2022-09-15,,,,,,extra\n"
            ),
        ),
        (
            "a NUL inside a cell",
            format!(
                "{header}VH-001,Tổ\u{0}xã,Vân Hồ,son-la.xa-van-ho,commune,active,2022-09-15,,,,\n"
            ),
        ),
    ] {
        let response = post_raw(
            &app,
            &token,
            "/api/v1/imports/teams",
            "text/csv",
            csv.into_bytes(),
        )
        .await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        // Refused outright, or every row reported and nothing committed.
        assert!(
            status == 422 || (status == 200 && body["committed"] == false),
            "{what}: {status} {body}"
        );
        if status == 422 {
            let code = &body["errors"][0]["code"];
            assert!(
                code == "malformed_csv" || code == "nul_character",
                "{what}: {body}"
            );
        }
        assert_eq!(team_count(&app), 0, "{what} wrote a team");
    }

    // A team whose name would run as a spreadsheet formula is exported as text.
    let formula = "=cmd|' /C calc'!A0";
    let response = post_raw(
        &app,
        &token,
        "/api/v1/teams",
        "application/json",
        serde_json::to_vec(&team_body(&app, formula)).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let response = app
        .request(Method::GET, "/api/v1/teams")
        .bearer_auth(&token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert!(csv.contains(&format!("'{formula}")), "{csv}");
    assert!(
        !csv.lines().any(|line| line
            .split(',')
            .any(|cell| cell.trim_matches('"').starts_with('='))),
        "a cell starts with '=': {csv}"
    );
}

#[actix_web::test]
async fn a_method_the_path_lacks_is_405_whatever_else_the_request_carries() {
    let (app, token) = admin_app().await;
    // `/org-units/reorganizations` also matches `/org-units/{id}` (which has PATCH).
    let response = app
        .request(Method::PATCH, "/api/v1/org-units/reorganizations")
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(problem(response, 405).await["code"], "method_not_allowed");

    // Nor with an Idempotency-Key already used for the path's POST.
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let village = app
        .request(Method::POST, "/api/v1/org-units")
        .bearer_auth(&token)
        .json(
            &json!({"code": "son-la.xa-van-ho.ban-cu", "name": "Bản Cũ", "level": "village",
                      "kind": "ban", "parent_id": van_ho, "valid_from": "2025-07-01"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(village.status(), 201);
    let village: serde_json::Value = village.json().await.unwrap();
    let reorganization = json!({"effective_on": "2026-01-01", "predecessor_ids": [village["id"]],
        "successor": {"code": "son-la.xa-van-ho.ban-moi", "name": "Bản Mới", "level": "village",
                      "kind": "ban", "parent_id": van_ho}});
    for method in [Method::POST, Method::PATCH] {
        let response = app
            .request(method.clone(), "/api/v1/org-units/reorganizations")
            .bearer_auth(&token)
            .header("Idempotency-Key", "hostile-405-reorganization")
            .json(&reorganization)
            .send()
            .await
            .unwrap();
        let expected = if method == Method::POST { 201 } else { 405 };
        assert_eq!(response.status(), expected, "{method}");
    }

    // An Idempotency-Key already used for a POST does not turn a PATCH to a POST-only path into 422.
    let body = team_body(&app, "Tổ công nghệ số bản Bó Nhàng");
    for method in [Method::POST, Method::PATCH] {
        let response = app
            .request(method.clone(), "/api/v1/teams")
            .bearer_auth(&token)
            .header("Idempotency-Key", "hostile-405")
            .json(&body)
            .send()
            .await
            .unwrap();
        let expected = if method == Method::POST { 201 } else { 405 };
        assert_eq!(response.status(), expected, "{method}");
    }
}

#[actix_web::test]
async fn references_to_records_that_do_not_exist_are_422_naming_the_field() {
    let (app, token) = admin_app().await;
    let user = app.create_user("canbo.xa", "viewer", Some(app.unit_id("son-la.xa-van-ho")));
    let nobody = uuid::Uuid::now_v7();
    let response = app
        .request(Method::PATCH, &format!("/api/v1/users/{user}"))
        .bearer_auth(&token)
        .json(&json!({"person_id": nobody}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "person_id");
    assert_eq!(body["errors"][0]["code"], "not_found");
    let response = app
        .request(Method::POST, "/api/v1/users")
        .bearer_auth(&token)
        .json(
            &json!({"username": "canbo.moi", "display_name": "Cán bộ mới",
                      "password": "Sương sớm trên đồi chè Mộc Châu", "role": "viewer",
                      "org_unit_id": app.unit_id("son-la.xa-van-ho"), "person_id": nobody}),
        )
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "person_id");
    let stored: i64 = {
        use diesel::{QueryDsl, RunQueryDsl};
        cdt_api::db::schema::users::table
            .count()
            .get_result(&mut app.database.connect())
            .unwrap()
    };
    assert_eq!(stored, 2, "only the admin and canbo.xa exist");
}

/// Every list filter that takes a code of a vocabulary refuses an unknown one with 422
/// `invalid_choice` naming each such field (all at once), before reading anything: an unknown filter is
/// never read as "matches nothing".
#[actix_web::test]
async fn unknown_codes_in_list_filters_are_422_naming_each_field() {
    let (app, token) = admin_app().await;
    let campaign = uuid::Uuid::now_v7();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("/api/v1/campaigns/{campaign}/reach-activities?channel=fax&status=lost"),
            vec!["channel", "status"],
        ),
        (
            format!("/api/v1/campaigns/{campaign}/reach-summary?group_by=moon&status=lost"),
            vec!["group_by", "status"],
        ),
        (
            "/api/v1/training-sessions?kind=party&topic=astrology&status=lost".to_owned(),
            vec!["kind", "topic", "status"],
        ),
        (
            "/api/v1/teams?status=gone&level=hamlet".to_owned(),
            vec!["status", "level"],
        ),
        ("/api/v1/org-units?level=hamlet".to_owned(), vec!["level"]),
        (
            "/api/v1/users?role=king&status=asleep".to_owned(),
            vec!["role", "status"],
        ),
        (
            "/api/v1/targets?indicator=happiness".to_owned(),
            vec!["indicator"],
        ),
        (
            "/api/v1/indicator-values?indicator=happiness".to_owned(),
            vec!["indicator"],
        ),
        (
            "/api/v1/reports/targets?indicator=happiness".to_owned(),
            vec!["indicator"],
        ),
        (
            "/api/v1/reports/breakdown?by=district".to_owned(),
            vec!["by"],
        ),
        (
            "/api/v1/sync/conflicts?status=stale".to_owned(),
            vec!["status"],
        ),
    ];
    for (path, fields) in cases {
        let body = problem(
            app.request(Method::GET, &path)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
            422,
        )
        .await;
        let found = crate::helpers::field_errors(&body);
        let expected: Vec<(String, String)> = fields
            .iter()
            .map(|field| ((*field).to_owned(), "invalid_choice".to_owned()))
            .collect();
        assert_eq!(found, expected, "{path}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("must be "), "{path}: {message}");
    }
}
