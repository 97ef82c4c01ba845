//! The audit log through the API.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, problem};

async fn events(app: &TestApp, token: &str, query: &str) -> serde_json::Value {
    let response = app
        .request(Method::GET, &format!("/api/v1/audit-events{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

#[actix_web::test]
async fn writes_and_sign_ins_are_recorded_without_secrets_and_officers_see_their_subtree_only() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let inside = app.unit_id("son-la.xa-van-ho");
    let outside = app.unit_id("son-la.phuong-to-hieu");
    app.create_user("admin", "admin", None);
    app.create_user("officer", "officer", Some(inside));
    let admin = app.token("admin").await;
    let officer = app.token("officer").await;
    assert_eq!(
        app.login("admin", "not the password at all").await.status(),
        401
    );

    for unit in [inside, outside] {
        let response = app
            .request(Method::PATCH, &format!("/api/v1/org-units/{unit}"))
            .bearer_auth(&admin)
            .header("X-Request-Id", format!("patch-{unit}"))
            .json(&json!({"households": 100}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = app
        .request(Method::POST, "/api/v1/users")
        .bearer_auth(&officer)
        .json(
            &json!({"username": "nguoi.xem.1", "display_name": "Người xem", "password": PASSWORD,
                      "role": "viewer", "org_unit_id": inside}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let all = events(&app, &admin, "?limit=500").await;
    let actions: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "login_succeeded",
        "login_failed",
        "org_unit_updated",
        "user_created",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(
        !all.to_string().contains(PASSWORD),
        "a password reached the audit log"
    );
    assert!(
        !all.to_string().contains("argon2"),
        "a password hash reached the audit log"
    );

    let updates = events(
        &app,
        &admin,
        &format!("?entity_type=org_unit&entity_id={inside}"),
    )
    .await;
    let update = &updates["items"][0];
    assert_eq!(
        update["changes"]["households"],
        json!({"from": null, "to": 100})
    );
    assert_eq!(update["request_id"], format!("patch-{inside}"));
    assert_eq!(update["actor_username"], "admin");
    assert_eq!(update["client_ip"], "127.0.0.1");

    // The officer sees events of records in the subtree, not the other commune's, nor sign-ins.
    let scoped = events(&app, &officer, "?limit=500").await;
    let ids: Vec<&str> = scoped["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["entity_id"].as_str())
        .collect();
    assert!(ids.contains(&inside.to_string().as_str()));
    assert!(!ids.contains(&outside.to_string().as_str()));
    assert!(
        scoped["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] != "login_failed")
    );

    // Pagination walks the whole log, newest first.
    let first = events(&app, &admin, "?limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = events(&app, &admin, &format!("?limit=2&cursor={cursor}")).await;
    assert!(
        first["items"][1]["at"].as_str().unwrap() >= second["items"][0]["at"].as_str().unwrap()
    );
    assert_ne!(first["items"][1]["id"], second["items"][0]["id"]);

    let bad = app
        .request(Method::GET, "/api/v1/audit-events?cursor=bm90LWEtY3Vyc29y")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(bad, 400).await["code"], "invalid_query");
}
