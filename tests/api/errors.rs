//! Every framework error is problem+json with a stable code.

use reqwest::Method;

use crate::helpers::{TestApp, problem};

#[actix_web::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;

    let body = problem(app.get("/api/v1/no-such-thing").await, 404).await;
    assert_eq!(body["code"], "route_not_found");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/no-such-thing")
    );
}

#[actix_web::test]
async fn a_wrong_method_is_a_405_problem_listing_the_allowed_methods() {
    let app = TestApp::spawn().await;

    let response = app.request(Method::DELETE, "/readyz").send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    let body = problem(response, 405).await;
    assert_eq!(body["code"], "method_not_allowed");

    let response = app
        .request(Method::POST, "/docs/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response, 405).await["code"], "method_not_allowed");
}

/// `Accept` is honoured as RFC 9110 12.5.1 says: what an operation answers with comes from the
/// document; an `Accept` that admits none of it is 406, anything that admits one (or no `Accept`) is
/// served.
#[actix_web::test]
async fn an_accept_admitting_nothing_the_operation_answers_with_is_a_406_problem() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let send = |path: &'static str, accept: &'static str| {
        app.request(Method::GET, path)
            .bearer_auth(&token)
            .header("Accept", accept)
            .send()
    };
    for (path, accept) in [
        ("/healthz", "text/csv"),
        ("/readyz", "image/png"),
        ("/openapi.json", "text/html"),
        ("/api/v1", "application/xml"),
        ("/api/v1/reference", "application/json;q=0, text/plain"),
        ("/api/v1/me", "text/csv"),
    ] {
        let body = problem(send(path, accept).await.unwrap(), 406).await;
        assert_eq!(body["code"], "not_acceptable", "{path}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{path}: the detail names what is offered"
        );
    }
    for (path, accept, content_type) in [
        ("/healthz", "*/*", "application/json"),
        (
            "/healthz",
            "text/html, application/*;q=0.5",
            "application/json",
        ),
        ("/api/v1/teams", "text/csv", "text/csv"),
        ("/api/v1/teams", "application/json", "application/json"),
        (
            "/api/v1/teams?limit=1",
            "text/csv, application/json;q=0.1",
            "text/csv",
        ),
    ] {
        let response = send(path, accept).await.unwrap();
        assert_eq!(response.status(), 200, "{path} with {accept}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path} with {accept}"
        );
    }
    // Without Accept every operation answers as before.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/__probe/json")
        .header("content-type", "application/json")
        .body(r#"{"name": "Chiềng Mung", "count": "#)
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "malformed_json");
}

#[actix_web::test]
async fn an_unknown_field_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/__probe/json")
        .json(&serde_json::json!({"name": "Tổ 1", "count": 3, "is_admin": true}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(body["errors"][0]["field"], "is_admin");
    assert_eq!(body["errors"][0]["code"], "unknown_field");
}

#[actix_web::test]
async fn a_missing_field_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/__probe/json")
        .json(&serde_json::json!({"name": "Tổ 1"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "count");
    assert_eq!(body["errors"][0]["code"], "required");
}

#[actix_web::test]
async fn a_well_formed_body_reaches_the_handler() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/__probe/json")
        .json(&serde_json::json!({"name": "Bản Mòng", "count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Bản Mòng");
}

#[actix_web::test]
async fn a_wrong_content_type_is_a_415_problem() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/__probe/json")
        .header("content-type", "text/plain")
        .body(r#"{"name": "x", "count": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 415).await["code"],
        "unsupported_media_type"
    );
}

#[actix_web::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = TestApp::spawn().await;

    let big = format!(
        r#"{{"name": "{}", "count": 1}}"#,
        "a".repeat(1024 * 1024 + 10)
    );
    let response = app
        .request(Method::POST, "/__probe/json")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response, 413).await["code"], "payload_too_large");
}

#[actix_web::test]
async fn a_bad_query_parameter_is_a_400_problem() {
    let app = TestApp::spawn().await;

    let body = problem(app.get("/__probe/query?limit=many").await, 400).await;
    assert_eq!(body["code"], "invalid_query");
    assert_eq!(app.get("/__probe/query?limit=5").await.status(), 200);
}

#[actix_web::test]
async fn a_bad_path_parameter_is_a_400_problem() {
    let app = TestApp::spawn().await;

    let body = problem(app.get("/__probe/path/not-a-uuid").await, 400).await;
    assert_eq!(body["code"], "invalid_path");
}

#[actix_web::test]
async fn a_500_carries_no_internals_but_the_request_id() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/__probe/internal")
        .header("X-Request-Id", "trace-me-1")
        .send()
        .await
        .unwrap();
    let body = problem(response, 500).await;
    assert_eq!(body["code"], "internal_error");
    assert_eq!(body["request_id"], "trace-me-1");
    let text = body.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("postgres://"),
        "{text}"
    );
}

#[actix_web::test]
async fn problems_speak_vietnamese_when_asked() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/api/v1/khong-co")
        .header("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let body = problem(response, 404).await;
    assert_eq!(body["title"], "Không có địa chỉ này");
    assert_eq!(body["code"], "route_not_found");
}

#[actix_web::test]
async fn responses_are_gzip_compressed_when_the_client_asks() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/openapi.json")
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");

    let plain = app.get("/openapi.json").await;
    assert!(!plain.headers().contains_key("content-encoding"));
}

#[actix_web::test]
async fn every_problem_type_uri_resolves_to_its_description() {
    let app = TestApp::spawn().await;

    // The `type` of a real error body resolves.
    let error = problem(app.get("/api/v1/no-such-thing").await, 404).await;
    let described = app.get(error["type"].as_str().unwrap()).await;
    assert_eq!(described.status(), 200);
    let described: serde_json::Value = described.json().await.unwrap();
    assert_eq!(described["code"], "route_not_found");
    assert_eq!(described["status"], 404);
    assert_eq!(described["type"], error["type"]);
    assert_eq!(described["title"], error["title"]);

    // So does every code of the catalogue, in both languages.
    for code in cdt_api::error::ErrorCode::ALL {
        let response = app.get(&format!("/problems/{}", code.as_str())).await;
        assert_eq!(response.status(), 200, "{code}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], code.status().as_u16(), "{code}");
        assert!(!body["description"].as_str().unwrap().is_empty());
        assert!(!body["description_vi"].as_str().unwrap().is_empty());
    }
    let unknown = problem(app.get("/problems/no_such_problem").await, 404).await;
    assert_eq!(unknown["code"], "not_found");
}
