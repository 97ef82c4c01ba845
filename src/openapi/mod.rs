//! The OpenAPI 3.1 document, generated from the route table ([`crate::routes::configure`]) so the two
//! cannot disagree. `cdt-api openapi` prints it; `openapi/openapi.json` is the committed copy, and a test
//! fails when that copy drifts from the code.

mod links;

use std::collections::BTreeMap;

use actix_web::App;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, OpenApi as OpenApiDocument, Ref, RefOr, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_actix_web::AppExt;

use crate::error::{PROBLEM_JSON, Problem, ProblemFieldError};

/// Name of the bearer-token security scheme referenced by protected operations.
pub const BEARER_SCHEME: &str = "bearer";

/// The name of the metrics token's security scheme.
pub const METRICS_SCHEME: &str = "metrics_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cdt-api",
        description = include_str!("../../openapi/description.md"),
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(
        Problem,
        ProblemFieldError,
        crate::domain::sync::push::SyncReachActivityData,
        crate::domain::sync::push::SyncMembershipData,
    )),
    tags(
        (name = "operations", description = "Health, readiness and this document: for operators and load balancers."),
        (name = "meta", description = "What this API is and where its documentation lives."),
        (name = "auth", description = "Sign in with a username and password; rotate and revoke refresh tokens."),
        (name = "me", description = "The signed-in user's own account."),
        (name = "org-units", description = "Sơn La's administrative tree with its 2025 reorganisation, readable at any date."),
        (name = "audit", description = "The audit log: every write, sign-in and security event."),
        (name = "reference", description = "Enumerations with Vietnamese and English labels, cacheable by ETag."),
        (name = "teams", description = "The 2,448 community digital technology teams, their members and leaders."),
        (name = "people", description = "Team members across teams; personal data with masking, a read log and erasure."),
        (name = "imports", description = "Bulk loading of teams and members from spreadsheets (CSV) or JSON arrays."),
        (name = "training-sessions", description = "Training and outreach sessions: logged by teams, verified by officers, locked after the reporting period."),
        (name = "campaigns", description = "Anti-fraud campaign editions, their reach activities and what they reached."),
        (name = "targets", description = "Targets (chỉ tiêu) assigned down the hierarchy, and indicator values from national systems."),
        (name = "reports", description = "What officials read: reports scoped to the caller, all with CSV."),
        (name = "sync", description = "Offline phones: the change feed to catch up in one exchange."),
        (name = "users", description = "Accounts: admins manage everyone, officers team leaders and viewers in their subtree."),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from `POST /api/v1/auth/login`, sent as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            METRICS_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator's `METRICS_TOKEN`, sent as `Authorization: Bearer <token>` (only `GET /metrics`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The generated document.
pub fn document() -> OpenApiDocument {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    let components = document.components.get_or_insert_with(Default::default);
    for (name, schema) in crate::reference::schemas() {
        components.schemas.entry(name).or_insert(schema);
    }
    add_idempotency_key(&mut document);
    add_common_responses(&mut document);
    document
}

/// Every signed-in POST and PATCH accepts `Idempotency-Key` (see `crate::idempotency`).
fn add_idempotency_key(document: &mut OpenApiDocument) {
    use utoipa::openapi::{
        ObjectBuilder, Required, Type,
        path::{ParameterBuilder, ParameterIn},
    };
    for item in document.paths.paths.values_mut() {
        for (method, operation) in operations_mut(item) {
            if !matches!(method, "POST" | "PATCH") || !requires_token(operation) {
                continue;
            }
            let parameter = ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes the request safe to retry: the same key with the same body within 24 hours replays \
                     the first successful response (with `Idempotency-Replayed: true`) instead of writing again. \
                     1-255 visible ASCII characters; a fresh UUID per logical request is a good choice.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]{1,255}$")),
                ))
                .build();
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(parameter.into());
            let responses = &mut operation.responses.responses;
            for (status, text) in [
                (
                    "409",
                    "A request with this `Idempotency-Key` is still running (`idempotency_in_progress`), or a state conflict.",
                ),
                (
                    "422",
                    "Invalid input, or the `Idempotency-Key` was used with another body (`idempotency_key_reused`).",
                ),
            ] {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem_response(text));
            }
        }
    }
}

/// Paths that never touch the database (so never answer 503).
const WITHOUT_DATABASE: [&str; 5] = [
    "/healthz",
    "/metrics",
    "/openapi.json",
    "/api/v1",
    "/problems/{code}",
];

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// The statuses any operation can answer besides its own, added to every operation so that the
/// document lists every status explicitly (no `default` catch-all; the contract tests check each
/// status against this list): 500 always; 503 when it uses the database; 401 and 429 when it needs a
/// token; 400 and 422 when it reads a query string or a body; 400 and 404 for path parameters; 413 and
/// 415 for a body.
fn add_common_responses(document: &mut OpenApiDocument) {
    use utoipa::openapi::path::ParameterIn;
    for (path, item) in document.paths.paths.iter_mut() {
        let uses_database = !WITHOUT_DATABASE.contains(&path.as_str());
        for operation in operations_mut(item).into_values() {
            let signed_in = requires_token(operation);
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let has_parameter_in = |place: ParameterIn| {
                parameters.iter().any(|parameter| {
                    matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == place)
                })
            };
            let has_query = has_parameter_in(ParameterIn::Query);
            let has_path = has_parameter_in(ParameterIn::Path);
            let has_body = operation.request_body.is_some();
            let mut common: Vec<(&str, &str)> = Vec::new();
            if has_query || has_body || has_path {
                common.push((
                    "400",
                    "The query string, a path parameter or the body does not parse (`invalid_query`, `invalid_path`, `malformed_json`, `invalid_body`).",
                ));
            }
            if signed_in {
                common.push((
                    "401",
                    "No valid access token (`unauthorized`): missing, expired, or its session has ended.",
                ));
            }
            if has_path {
                common.push((
                    "404",
                    "No such record, or it is outside your scope (`not_found`).",
                ));
            }
            if has_body {
                common.push((
                    "413",
                    "The body is larger than this operation accepts (`payload_too_large`).",
                ));
                common.push((
                    "415",
                    "The body's `Content-Type` is not one this operation accepts (`unsupported_media_type`).",
                ));
            }
            if has_query || has_body {
                common.push((
                    "422",
                    "Well-formed but invalid input (`validation_failed`); `errors` names each field and rule.",
                ));
            }
            if signed_in {
                common.push((
                    "429",
                    "Too many requests from this user (`rate_limited`); wait `Retry-After` seconds.",
                ));
            }
            common.push((
                "500",
                "An unexpected failure (`internal_error`); the body carries only the `request_id` to quote.",
            ));
            if uses_database {
                common.push((
                    "503",
                    "The database is unavailable or busy (`database_unavailable`); retry after `Retry-After` seconds.",
                ));
            }
            for (status, text) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem_response(text));
            }
        }
    }
}

/// True when the operation's only security requirement is the bearer token.
fn requires_token(operation: &utoipa::openapi::path::Operation) -> bool {
    serde_json::to_value(&operation.security)
        .map(|security| security.to_string().contains(BEARER_SCHEME))
        .unwrap_or(false)
}

fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> BTreeMap<&'static str, &mut utoipa::openapi::path::Operation> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("OPTIONS", item.options.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|op| (method, op)))
    .collect()
}

/// States the limits of [`crate::contract`] on the schemas and query parameters they govern.
/// A sync push item's `data` has the shape of its `type`: one `oneOf` branch per record type (the types
/// differ, so exactly one branch holds), each narrowing `data` to its component or `null`.
fn tie_push_data_to_its_type(document: &mut serde_json::Value) {
    use serde_json::json;
    let branches: Vec<serde_json::Value> = crate::domain::sync::push::DATA_SHAPES
        .iter()
        .map(|(entity, component)| {
            json!({
                "required": ["type"],
                "properties": {
                    "type": {"const": entity},
                    "data": {"anyOf": [
                        {"$ref": format!("#/components/schemas/{component}")},
                        {"type": "null"}
                    ]}
                }
            })
        })
        .collect();
    if let Some(item) = document
        .pointer_mut("/components/schemas/PushItem")
        .and_then(|item| item.as_object_mut())
    {
        item.insert("oneOf".to_owned(), serde_json::Value::Array(branches));
    }
}

/// Narrows a vocabulary property to `values` with a sibling `enum` (JSON Schema 2020-12 applies both it
/// and the `$ref`), keeping `null` when the property is nullable.
fn state_choices(property: &mut serde_json::Value, values: &[&str]) {
    let nullable = property["oneOf"]
        .as_array()
        .is_some_and(|branches| branches.iter().any(|b| b["type"] == "null"));
    let mut choices: Vec<serde_json::Value> = values.iter().map(|v| serde_json::json!(v)).collect();
    if nullable {
        choices.push(serde_json::Value::Null);
    }
    if let Some(object) = property.as_object_mut() {
        object.insert("enum".to_owned(), serde_json::Value::Array(choices));
    }
}

fn apply_rules(document: &mut serde_json::Value) {
    use crate::contract::{Rule, parameter_rule, schema_rules};
    for (schema, property, rule) in schema_rules() {
        if let Rule::Choices(values) = rule {
            if let Some(target) = document.pointer_mut(&format!(
                "/components/schemas/{schema}/properties/{property}"
            )) {
                state_choices(target, values);
            }
            continue;
        }
        if let Some(target) = document
            .pointer_mut(&format!(
                "/components/schemas/{schema}/properties/{property}"
            ))
            .and_then(constrainable)
        {
            state_rule(target, rule);
        }
    }
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut().filter_map(|item| item.as_object_mut()) {
        for operation in item.values_mut() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(|p| p.as_array_mut())
            else {
                continue;
            };
            for parameter in parameters {
                if parameter["in"] != "query" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                if let Some(rule) = parameter_rule(&id, &name)
                    && let Some(target) = parameter.get_mut("schema").and_then(constrainable)
                {
                    state_rule(target, rule);
                }
            }
        }
    }
}

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
        "`attachment` with a file name, on CSV answers.",
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
fn describe_headers(document: &mut serde_json::Value) {
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
        "description": "`vi` for Vietnamese problem titles, details and field messages; English otherwise.",
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

/// The inline schema a rule goes on: the schema itself, or the non-null branch of `oneOf`.
fn constrainable(schema: &mut serde_json::Value) -> Option<&mut serde_json::Value> {
    if schema.get("oneOf").is_some() {
        return schema["oneOf"]
            .as_array_mut()?
            .iter_mut()
            .find(|branch| branch["type"] != "null" && branch.get("$ref").is_none());
    }
    schema.get("type").is_some().then_some(schema)
}

fn state_rule(schema: &mut serde_json::Value, rule: crate::contract::Rule) {
    use crate::contract::Rule;
    use serde_json::json;
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    match rule {
        Rule::Integer(min, max) => {
            object.insert("minimum".to_owned(), json!(min));
            if let Some(max) = max {
                object.insert("maximum".to_owned(), json!(max));
            }
        }
        Rule::Length(min, max) => {
            if min > 0 {
                object.insert("minLength".to_owned(), json!(min));
            }
            object.insert("maxLength".to_owned(), json!(max));
        }
        Rule::Items(min, max) => {
            object.insert("minItems".to_owned(), json!(min));
            object.insert("maxItems".to_owned(), json!(max));
        }
        Rule::Unique => {
            object.insert("uniqueItems".to_owned(), json!(true));
        }
        Rule::AtLeast(min) => {
            object.insert("minimum".to_owned(), json!(min));
        }
        Rule::Code(code) => {
            object.insert("pattern".to_owned(), json!(code.pattern()));
            object.insert("minLength".to_owned(), json!(code.min));
            object.insert("maxLength".to_owned(), json!(code.max));
        }
        Rule::Pattern(pattern) => {
            object.insert("pattern".to_owned(), json!(pattern()));
        }
        Rule::Matches(pattern) => {
            object.insert("pattern".to_owned(), json!(pattern));
        }
        Rule::Choices(values) => {
            object.insert("enum".to_owned(), json!(values));
        }
    }
}

/// The document, serialised once at startup, plus the methods of each path (for `405` and `Allow`).
#[derive(Debug, Clone)]
pub struct ApiSpec {
    json: String,
    methods_by_path: BTreeMap<String, Vec<&'static str>>,
}

impl ApiSpec {
    /// Generates and serialises the document.
    pub fn build() -> Self {
        let mut document = document();
        let methods_by_path = document
            .paths
            .paths
            .iter_mut()
            .map(|(path, item)| (path.clone(), operations_mut(item).into_keys().collect()))
            .collect();
        let mut value = serde_json::to_value(&document).unwrap_or_default();
        apply_rules(&mut value);
        describe_headers(&mut value);
        links::add_links(&mut value);
        tie_push_data_to_its_type(&mut value);
        // The committed file's exact form: pretty-printed with a final newline.
        let mut json = serde_json::to_string_pretty(&value).unwrap_or_default();
        json.push('\n');
        Self {
            json,
            methods_by_path,
        }
    }

    /// The document as JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The methods a documented path pattern (`/api/v1/teams/{id}`) supports.
    pub fn methods_for(&self, pattern: &str) -> Option<&[&'static str]> {
        self.methods_by_path.get(pattern).map(Vec::as_slice)
    }

    /// The methods of the documented path a request for `path` is about: `path` itself when it is a
    /// documented literal path, otherwise the route `pattern` it matched. The literal wins because
    /// `/org-units/reorganizations` also matches `/org-units/{id}`.
    pub fn methods_at(&self, path: &str, pattern: Option<&str>) -> Option<&[&'static str]> {
        self.methods_for(path)
            .or_else(|| pattern.and_then(|pattern| self.methods_for(pattern)))
    }
}
