//! The committed OpenAPI document is exactly what the code generates, and it is complete.

use cdt_api::openapi::ApiSpec;

use crate::helpers::TestApp;

const REGENERATE: &str =
    "cargo run -- openapi > openapi/openapi.json   (or: CDT_UPDATE_SNAPSHOTS=1 cargo test openapi)";

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = ApiSpec::build().json().to_owned();
    if committed != generated && std::env::var_os("CDT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "openapi/openapi.json is out of date (first difference at line {line}); regenerate it with:\n    {REGENERATE}"
        );
    }
}

#[test]
fn every_operation_is_documented_for_integrators() {
    let document: serde_json::Value = serde_json::from_str(ApiSpec::build().json()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["info"]["description"].as_str().unwrap().len() > 200);
    assert_eq!(document["info"]["license"]["identifier"], "MIT");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let tags: Vec<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();

    let paths = document["paths"].as_object().unwrap();
    assert!(
        paths.contains_key("/healthz")
            && paths.contains_key("/readyz")
            && paths.contains_key("/api/v1")
    );
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            for field in ["summary", "description", "operationId"] {
                assert!(
                    operation[field].as_str().is_some_and(|s| !s.is_empty()),
                    "{name} lacks {field}"
                );
            }
            assert!(
                operation["security"].is_array(),
                "{name} lacks a security requirement"
            );
            let operation_tags = operation["tags"].as_array().expect("tags");
            assert!(
                operation_tags
                    .iter()
                    .all(|t| tags.contains(&t.as_str().unwrap())),
                "{name} uses an undeclared tag"
            );
            let responses = operation["responses"].as_object().unwrap();
            // Every status is listed explicitly: no catch-all `default`, and 500 everywhere.
            assert!(
                !responses.contains_key("default") && responses.contains_key("500"),
                "{name} must list its statuses explicitly, 500 included"
            );
            if operation["security"].to_string().contains("bearer") {
                for status in ["401", "429"] {
                    assert!(
                        responses.contains_key(status),
                        "{name} needs a token but does not document {status}"
                    );
                }
            }
            for (status, response) in responses {
                assert!(
                    response["description"].as_str().is_some(),
                    "{name} {status} lacks a description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{name} {status} is not problem+json"
                    );
                }
            }
        }
    }
}

#[actix_web::test]
async fn the_server_serves_the_same_document() {
    let app = TestApp::spawn().await;

    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), ApiSpec::build().json());
}
