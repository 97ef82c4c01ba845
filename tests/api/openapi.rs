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

/// Every type that derives `ToSchema` under `src/`, as (component name, file).
fn schema_types() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut derives_schema = false;
            let mut renamed: Option<String> = None;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[derive(") && line.contains("ToSchema") {
                    derives_schema = true;
                } else if derives_schema && line.starts_with("#[schema(as = ") {
                    renamed = line
                        .trim_start_matches("#[schema(as = ")
                        .split([')', ','])
                        .next()
                        .map(str::to_owned);
                } else if derives_schema
                    && let Some(rest) = ["pub struct ", "pub enum ", "struct ", "enum "]
                        .iter()
                        .find_map(|prefix| line.strip_prefix(prefix))
                {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    found.push((renamed.take().unwrap_or(name), path.display().to_string()));
                    derives_schema = false;
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut found,
    );
    found
}

#[test]
fn every_reference_resolves_and_every_vocabulary_is_an_enum() {
    let text = ApiSpec::build().json().to_owned();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "$ref to missing component {name}"
        );
    }
    // The vocabularies and the reference endpoint come from one definition.
    let kind = &schemas["SessionKind"];
    assert_eq!(kind["enum"], serde_json::json!(["training", "outreach"]));
    assert!(
        kind["description"]
            .as_str()
            .unwrap()
            .contains("`outreach`: Outreach (Tuyên truyền)")
    );
    assert_eq!(schemas["Ethnicity"]["enum"].as_array().unwrap().len(), 54);
    let enums = schemas.values().filter(|s| s["enum"].is_array()).count();
    assert!(enums >= 30, "only {enums} enum schemas");
    let session = &schemas["TrainingSessionResponse"]["properties"];
    assert_eq!(session["kind"]["$ref"], "#/components/schemas/SessionKind");
    assert_eq!(
        session["topics"]["items"]["$ref"],
        "#/components/schemas/SessionTopic"
    );
}

#[test]
fn no_two_rust_types_register_the_same_component_name() {
    let types = schema_types();
    assert!(types.len() > 50, "found only {types:?}");
    let mut seen = std::collections::BTreeMap::<&str, &str>::new();
    for (name, file) in &types {
        if let Some(other) = seen.insert(name, file) {
            panic!("two types are both the component `{name}`: in {other} and {file}; rename one");
        }
    }
    // And the document's components are exactly those types that are referenced, with one meaning each:
    // the sign-in answer is not a training session.
    let document: serde_json::Value = serde_json::from_str(ApiSpec::build().json()).unwrap();
    let login = &document["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(login, "#/components/schemas/SignInResponse");
    let sign_in = &document["components"]["schemas"]["SignInResponse"]["properties"];
    assert!(sign_in["access_token"].is_object() && sign_in["apps_installed"].is_null());
}

#[test]
fn every_limit_of_the_contract_table_is_stated_where_it_applies() {
    use cdt_api::contract::{PARAMETER_RULES, schema_rules};
    let document: serde_json::Value = serde_json::from_str(ApiSpec::build().json()).unwrap();
    let schemas = &document["components"]["schemas"];
    for (schema, property, _) in schema_rules() {
        assert!(
            schemas[schema]["properties"][property].is_object(),
            "the rule for {schema}.{property} names no property of the document"
        );
    }
    let text = document.to_string();
    for (operation, parameter, _) in PARAMETER_RULES {
        assert!(
            *operation == "*" || text.contains(&format!("\"operationId\":\"{operation}\"")),
            "the rule for {operation}.{parameter} names no operation"
        );
    }
    let duration = &schemas["CreateSessionRequest"]["properties"]["duration_minutes"];
    assert_eq!(
        (duration["minimum"].as_i64(), duration["maximum"].as_i64()),
        (Some(1), Some(600))
    );
    let reason = &schemas["RejectSessionRequest"]["properties"]["reason"];
    assert_eq!(
        (reason["minLength"].as_i64(), reason["maxLength"].as_i64()),
        (Some(1), Some(500))
    );
    let items = &schemas["PushRequest"]["properties"]["items"];
    assert_eq!(
        (items["minItems"].as_i64(), items["maxItems"].as_i64()),
        (Some(1), Some(500))
    );
    // Codes, phones, passwords and ranges are stated as the checks enforce them.
    let code = &schemas["CreateCampaignRequest"]["properties"]["code"];
    assert_eq!(code["pattern"], "^[a-z0-9][a-z0-9._-]{0,63}$");
    assert_eq!(code["maxLength"], 64);
    let team_code = &schemas["UpdateTeamRequest"]["properties"]["code"];
    assert_eq!(team_code["pattern"], "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$");
    let username = &schemas["CreateUserRequest"]["properties"]["username"];
    assert_eq!(
        (
            username["minLength"].as_i64(),
            username["maxLength"].as_i64()
        ),
        (Some(3), Some(64))
    );
    let phone = schemas["CreateUserRequest"]["properties"]["phone"]["pattern"]
        .as_str()
        .unwrap();
    assert!(phone.contains("[35789]"), "{phone}");
    let password = &schemas["ResetPasswordRequest"]["properties"]["new_password"];
    assert_eq!(
        (
            password["minLength"].as_i64(),
            password["maxLength"].as_i64()
        ),
        (Some(10), Some(128))
    );
    let birth_year = &schemas["PersonRequest"]["properties"]["birth_year"];
    assert_eq!(
        (
            birth_year["minimum"].as_i64(),
            birth_year["maximum"].as_i64()
        ),
        (Some(1900), Some(32767))
    );
    let predecessors = &schemas["ReorganizationRequest"]["properties"]["predecessor_ids"];
    assert_eq!(
        (
            predecessors["minItems"].as_i64(),
            predecessors["maxItems"].as_i64()
        ),
        (Some(1), Some(50))
    );
    assert_eq!(
        schemas["CreateOrgUnitRequest"]["properties"]["households"]["minimum"],
        0
    );
    assert_eq!(
        schemas["CreateTargetRequest"]["properties"]["value"]["minimum"],
        0.0
    );
    assert!(
        schemas["UpdateMemberRequest"]["properties"]["ethnicity"]
            .to_string()
            .contains("Ethnicity")
    );
    // Every `limit` of every list states its range; the sync feed's is larger.
    let mut limits = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "limit" {
                    let schema = &parameter["schema"];
                    let schema = schema["oneOf"]
                        .as_array()
                        .and_then(|branches| branches.iter().find(|b| b["type"] != "null"))
                        .unwrap_or(schema);
                    let max = if path == "/api/v1/sync/pull" {
                        1000
                    } else {
                        500
                    };
                    assert_eq!(schema["minimum"], 1, "{path}");
                    assert_eq!(schema["maximum"], max, "{path}");
                    limits += 1;
                }
            }
        }
    }
    assert!(limits >= 10, "{limits} list operations");
}

#[test]
fn links_lead_from_each_made_record_to_the_operations_on_it() {
    let document: serde_json::Value = serde_json::from_str(ApiSpec::build().json()).unwrap();
    let mut operations = std::collections::BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            if let Some(id) = operation["operationId"].as_str() {
                operations.insert(id.to_owned(), path.clone());
            }
        }
    }
    let mut links = 0;
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for response in operation["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
            {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flat_map(|l| l.values())
                {
                    links += 1;
                    let target = link["operationId"].as_str().unwrap();
                    let path = operations
                        .get(target)
                        .unwrap_or_else(|| panic!("no operation {target}"));
                    let wanted: std::collections::BTreeSet<&str> = path
                        .split('{')
                        .skip(1)
                        .map(|rest| rest.split('}').next().unwrap())
                        .collect();
                    let given: std::collections::BTreeSet<&str> = link["parameters"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(String::as_str)
                        .collect();
                    assert_eq!(wanted, given, "the link to {target} fills {given:?}");
                }
            }
        }
    }
    assert!(links >= 40, "only {links} links");
    let session =
        &document["paths"]["/api/v1/training-sessions"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        session["verify_training_session"]["parameters"]["id"],
        "$response.body#/id"
    );
}

#[test]
fn every_list_answers_items_and_next_cursor() {
    let document: serde_json::Value = serde_json::from_str(ApiSpec::build().json()).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let lists: Vec<&String> = schemas
        .keys()
        .filter(|name| name.ends_with("ListResponse"))
        .collect();
    assert!(lists.len() >= 13, "{lists:?}");
    for name in lists {
        let properties = &schemas[name.as_str()]["properties"];
        assert!(
            properties["items"].is_object() && properties["next_cursor"].is_object(),
            "{name} is not {{items, next_cursor}}"
        );
    }
}
