//! The OpenAPI 3.1 document, generated from the route table ([`crate::routes::configure`]) so the two
//! cannot disagree. `cdt-api openapi` prints it; `openapi/openapi.json` is the committed copy, and a test
//! fails when that copy drifts from the code.

mod files;
mod headers;
mod links;
mod rules;

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
        (name = "sign-offs", description = "Monthly sign-off up the tree: communes submit their month, the province accepts or returns it, accepted months are frozen."),
        (name = "webhooks", description = "Signed webhooks (Standard Webhooks): subscriptions, their deliveries, retries and replays. Events are written with the change they describe and delivered off the request path."),
        (name = "sync", description = "Offline phones: the change feed to catch up in one exchange."),
        (name = "uploads", description = "Resumable uploads with the tus 1.0 protocol (core, creation, creation-with-upload, termination, expiration, checksum `sha256`): `POST` with `Upload-Length`, then `PATCH` bytes from `Upload-Offset`; after a dropped connection `HEAD` says where to continue. Any tus client works (tus-js-client, TUSKit, tus-android-client, tuspy)."),
        (name = "attachments", description = "Evidence on sessions and reach activities: signed attendance sheets, photos, documents. The type is recognised from the bytes, image metadata (GPS positions, device serials) removed, a small thumbnail made; bytes are shown only to those who see the team's full personal data, and every download of an original is logged."),
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
    for (name, schema) in [
        (
            "WebhookEvent",
            <crate::domain::webhooks::WebhookEvent as utoipa::PartialSchema>::schema(),
        ),
        (
            "WebhookTombstone",
            <crate::domain::webhooks::WebhookTombstone as utoipa::PartialSchema>::schema(),
        ),
        (
            "WebhookPing",
            <crate::domain::webhooks::WebhookPing as utoipa::PartialSchema>::schema(),
        ),
        (
            "WebhookEventSelector",
            <crate::domain::webhooks::EventTypeSelector as utoipa::PartialSchema>::schema(),
        ),
    ] {
        components.schemas.entry(name.to_owned()).or_insert(schema);
    }
    add_idempotency_key(&mut document);
    add_common_responses(&mut document);
    document
}

/// The events webhooks send (OpenAPI 3.1 `webhooks`): one POST per event type, its body the event with
/// `data` of that type's schema, and the signature headers a receiver verifies.
fn add_webhooks(document: &mut serde_json::Value) {
    use crate::reference::{Vocabulary, WebhookEventType};
    use serde_json::json;
    let header = |name: &str, description: &str, example: &str| {
        json!({"name": name, "in": "header", "required": true, "description": description,
               "schema": {"type": "string"}, "example": example})
    };
    let mut webhooks = serde_json::Map::new();
    for event_type in WebhookEventType::ALL {
        let code = event_type.code();
        let label = event_type.label();
        let component = crate::domain::webhooks::data_component(*event_type);
        let data_example = document
            .pointer(&format!("/components/schemas/{component}/example"))
            .cloned()
            .unwrap_or(json!({}));
        webhooks.insert(code.to_owned(), json!({"post": {
            "operationId": format!("webhook_{}", code.replace('.', "_")),
            "tags": ["webhooks"],
            "summary": label.name_en,
            "description": format!(
                "{} ({}). Sent to every enabled subscription that lists `{code}` (or `*`) and whose owner \
                 may see the record. Verify `webhook-signature` before trusting the body (see the webhooks \
                 section of the introduction); answer any 2xx within 10 s to acknowledge, `410` to end the \
                 subscription; anything else is retried with backoff for up to 3 days.",
                label.name_en, label.name_vi),
            "security": [],
            "parameters": [
                header("webhook-id", "The event id: the same on every retry; deduplicate on it.",
                       "5b0f8a3e-8c47-4a77-9b0e-1f0f2a7d9c11"),
                header("webhook-timestamp", "Unix seconds when this attempt was signed; refuse ones more \
                       than 5 minutes from your clock.", "1765077300"),
                header("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` \
                       under each secret in force (two during a rotation's overlap).",
                       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            ],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": {"allOf": [
                    {"$ref": "#/components/schemas/WebhookEvent"},
                    {"type": "object", "properties": {
                        "type": {"const": code},
                        "data": {"$ref": format!("#/components/schemas/{component}")}
                    }}
                ]},
                "example": {"id": "5b0f8a3e-8c47-4a77-9b0e-1f0f2a7d9c11", "type": code,
                            "occurred_at": "2026-12-07T03:15:00Z", "data": data_example}
            }}},
            "responses": {
                "200": {"description": "Acknowledged (any 2xx does)."},
                "410": {"description": "Gone: the subscription is disabled and nothing more is sent."}
            }
        }}));
    }
    if let Some(object) = document.as_object_mut() {
        object.insert("webhooks".to_owned(), serde_json::Value::Object(webhooks));
    }
}

/// Every signed-in POST and PATCH accepts `Idempotency-Key` (see `crate::idempotency`).
fn add_idempotency_key(document: &mut OpenApiDocument) {
    use utoipa::openapi::{
        ObjectBuilder, Required, Type,
        path::{ParameterBuilder, ParameterIn},
    };
    for (path, item) in document.paths.paths.iter_mut() {
        // tus uploads are made safe to retry by their own protocol (`Upload-Offset`).
        if path.starts_with(crate::routes::uploads::UPLOADS_PATH) {
            continue;
        }
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
/// status against this list): 406 and 500 always; 503 when it uses the database; 401 and 429 when it needs a
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
            let mut common: Vec<(&str, &str)> = vec![(
                "406",
                "`Accept` admits none of the media types this operation answers with (`not_acceptable`).",
            )];
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

/// A sync push item's `data` has the shape of its `type`: one `oneOf` branch per record type (the types
/// differ, so exactly one branch holds), each narrowing `data` to its component or `null`.
fn tie_push_data_to_its_type(document: &mut serde_json::Value) {
    use crate::reference::{PushRecordType, Vocabulary};
    use serde_json::json;
    let branches: Vec<serde_json::Value> = PushRecordType::ALL
        .iter()
        .map(|entity| {
            let component = crate::domain::sync::push::data_component(*entity);
            json!({
                "required": ["type"],
                "properties": {
                    "type": {"const": entity.code()},
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
        // A delete carries no record.
        item.insert(
            "if".to_owned(),
            json!({"required": ["op"], "properties": {"op": {"const": "delete"}}}),
        );
        item.insert(
            "then".to_owned(),
            json!({"properties": {"data": {"type": "null"}}}),
        );
    }
}

/// The document, serialised once at startup, plus what the middleware asks of it per request: the
/// methods of each path (for `405` and `Allow`) and the media types each operation answers with (for
/// `406`, [`crate::negotiation`]), both read from the one document.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    json: String,
    paths: BTreeMap<String, PathOperations>,
}

/// The documented operations of one path.
#[derive(Debug, Clone, Default)]
struct PathOperations {
    methods: Vec<&'static str>,
    /// By method, the media types of the success responses; operations with a success response
    /// without a body (204) are left out, since any `Accept` suits them.
    produces: BTreeMap<&'static str, Vec<actix_web::mime::Mime>>,
}

/// The media types the success responses of `operation` (serialised) carry, or `None` when one of them
/// has no body.
fn produced_media_types(operation: &serde_json::Value) -> Option<Vec<actix_web::mime::Mime>> {
    let successes: Vec<&serde_json::Value> = operation["responses"]
        .as_object()?
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .map(|(_, response)| response)
        .collect();
    let mut types = Vec::new();
    for response in successes {
        for media in response.get("content")?.as_object()?.keys() {
            if let Ok(media) = media.parse::<actix_web::mime::Mime>()
                && !types.contains(&media)
            {
                types.push(media);
            }
        }
    }
    (!types.is_empty()).then_some(types)
}

impl ApiSpec {
    /// Generates and serialises the document.
    pub fn build() -> Self {
        let document = document();
        let mut value = serde_json::to_value(&document).unwrap_or_default();
        rules::apply_rules(&mut value);
        headers::describe_headers(&mut value);
        files::describe_files(&mut value);
        links::add_links(&mut value);
        tie_push_data_to_its_type(&mut value);
        add_webhooks(&mut value);
        const METHODS: [&str; 7] = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"];
        let mut paths = BTreeMap::new();
        for (path, item) in value["paths"].as_object().into_iter().flatten() {
            let mut operations = PathOperations::default();
            for method in METHODS {
                let Some(operation) = item.get(method.to_lowercase()) else {
                    continue;
                };
                operations.methods.push(method);
                if let Some(types) = produced_media_types(operation) {
                    operations.produces.insert(method, types);
                }
            }
            // `Allow` lists them in a stable (alphabetical) order.
            operations.methods.sort_unstable();
            paths.insert(path.clone(), operations);
        }
        // The committed file's exact form: pretty-printed with a final newline.
        let mut json = serde_json::to_string_pretty(&value).unwrap_or_default();
        json.push('\n');
        Self { json, paths }
    }

    /// The documented path a request for `path` is about: `path` itself when it is a documented literal
    /// path, otherwise the route `pattern` it matched. The literal wins because
    /// `/org-units/reorganizations` also matches `/org-units/{id}`.
    fn path_at(&self, path: &str, pattern: Option<&str>) -> Option<&PathOperations> {
        self.paths
            .get(path)
            .or_else(|| pattern.and_then(|pattern| self.paths.get(pattern)))
    }

    /// The media types `method` on the documented path of a request for `path` answers with (found as
    /// [`Self::methods_at`] finds it); `None` for undocumented operations and bodiless answers.
    pub fn produces_at(
        &self,
        path: &str,
        pattern: Option<&str>,
        method: &str,
    ) -> Option<&[actix_web::mime::Mime]> {
        self.path_at(path, pattern)?
            .produces
            .get(method)
            .map(Vec::as_slice)
    }

    /// The document as JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The methods a documented path pattern (`/api/v1/teams/{id}`) supports.
    pub fn methods_for(&self, pattern: &str) -> Option<&[&'static str]> {
        self.paths.get(pattern).map(|path| path.methods.as_slice())
    }

    /// The methods of the documented path a request for `path` is about (see [`Self::path_at`]).
    pub fn methods_at(&self, path: &str, pattern: Option<&str>) -> Option<&[&'static str]> {
        self.path_at(path, pattern)
            .map(|path| path.methods.as_slice())
    }
}
