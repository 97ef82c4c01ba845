//! The response headers each operation sends, described on every response that carries them.

use super::BEARER_SCHEME;

/// Response headers every client may rely on, by name: (description, schema).
const RESPONSE_HEADERS: [(&str, &str, &str); 11] = [
    (
        "X-Request-Id",
        "The request's id (the one sent, or a new UUID v7): quote it to an operator; the service log carries it.",
        "string",
    ),
    (
        "ETag",
        "The record's version as a strong entity tag (`\"3\"`): send it back as `If-Match` to make a change conditional.",
        "string",
    ),
    ("Location", "The address of the record just made.", "string"),
    (
        "Idempotency-Replayed",
        "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
        "string",
    ),
    (
        "Content-Disposition",
        "`attachment` with a file name, on CSV and XLSX answers.",
        "string",
    ),
    (
        "Retry-After",
        "Seconds to wait before trying again.",
        "integer",
    ),
    (
        "RateLimit-Limit",
        "Requests allowed in the window (IETF draft `ratelimit-headers`).",
        "integer",
    ),
    (
        "RateLimit-Remaining",
        "Requests left in the window (0 on a 429).",
        "integer",
    ),
    (
        "RateLimit-Reset",
        "Seconds until the window resets.",
        "integer",
    ),
    (
        "WWW-Authenticate",
        "`Bearer`: how to authenticate (RFC 6750).",
        "string",
    ),
    (
        "Cache-Control",
        "`no-store` unless the answer may be cached (the reference lists).",
        "string",
    ),
];

/// Documents the headers of the contract: the response headers each operation sends (as
/// `components.headers`), `Accept-Language` on every operation, and the `servers` entry.
pub(super) fn describe_headers(document: &mut serde_json::Value) {
    use serde_json::json;
    document["servers"] = json!([{
        "url": "/",
        "description": "The server that serves this document (every path below starts at its root)."
    }]);
    let components = &mut document["components"];
    for (name, description, kind) in RESPONSE_HEADERS {
        components["headers"][name] = json!({"description": description, "schema": {"type": kind}});
    }
    components["parameters"]["Accept-Language"] = json!({
        "name": "Accept-Language",
        "in": "header",
        "required": false,
        "description": "`vi` for Vietnamese problem titles, details and field messages; English otherwise. Files (CSV and XLSX) are Vietnamese unless English is preferred.",
        "schema": {"type": "string", "examples": ["vi", "en"]}
    });
    let versioned: std::collections::BTreeSet<String> = document["components"]["schemas"]
        .as_object()
        .map(|schemas| {
            schemas
                .iter()
                .filter(|(_, schema)| schema["properties"]["version"].is_object())
                .map(|(name, _)| format!("#/components/schemas/{name}"))
                .collect()
        })
        .unwrap_or_default();
    let header = |name: &str| json!({"$ref": format!("#/components/headers/{name}")});
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut().filter_map(|item| item.as_object_mut()) {
        for (method, operation) in item.iter_mut() {
            let writes = matches!(method.as_str(), "post" | "patch");
            let signed_in = operation["security"].to_string().contains(BEARER_SCHEME);
            if let Some(parameters) = operation["parameters"].as_array_mut() {
                parameters.push(json!({"$ref": "#/components/parameters/Accept-Language"}));
            } else {
                operation["parameters"] =
                    json!([{"$ref": "#/components/parameters/Accept-Language"}]);
            }
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let mut headers = response["headers"].as_object().cloned().unwrap_or_default();
                headers.insert("X-Request-Id".to_owned(), header("X-Request-Id"));
                headers.insert("Cache-Control".to_owned(), header("Cache-Control"));
                let content = &response["content"];
                let json_ref = content["application/json"]["schema"]["$ref"].as_str();
                if status.starts_with('2') && json_ref.is_some_and(|r| versioned.contains(r)) {
                    headers.insert("ETag".to_owned(), header("ETag"));
                }
                if status == "201" {
                    headers.insert("Location".to_owned(), header("Location"));
                }
                if status.starts_with('2') && writes && signed_in {
                    headers.insert(
                        "Idempotency-Replayed".to_owned(),
                        header("Idempotency-Replayed"),
                    );
                }
                if content["text/csv"].is_object() {
                    headers.insert(
                        "Content-Disposition".to_owned(),
                        header("Content-Disposition"),
                    );
                }
                if status == "401" {
                    headers.insert("WWW-Authenticate".to_owned(), header("WWW-Authenticate"));
                }
                if status == "429" {
                    headers.insert(
                        "Retry-After".to_owned(),
                        json!({"description": "Seconds to wait before trying again.",
                               "required": true, "schema": {"type": "integer"}}),
                    );
                    for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                        headers.insert(name.to_owned(), header(name));
                    }
                }
                if status == "503" {
                    headers.insert("Retry-After".to_owned(), header("Retry-After"));
                }
                response["headers"] = serde_json::Value::Object(headers);
            }
        }
    }
}
