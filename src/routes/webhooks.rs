//! Webhook subscriptions (issue 19): the HTTP face. The rules are `domain::webhooks`; delivery runs in
//! `domain::webhooks::dispatch`, off the request path.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::webhooks::{
    CreateWebhookRequest, DeliveryResponse, ReplayRequest, ReplayResponse, UpdateWebhookRequest,
    WebhookEvent, WebhookResponse, WebhookSecretResponse,
};
use crate::{
    auth::{AuthUser, Operation, OptionalApp},
    db::Db,
    domain::webhooks::{self, WebhookSettings},
    error::{AppError, ErrorCode, Problem, Text},
    models::webhook as model,
    reference::DeliveryState,
    routes::conditional::{decode_cursor, encode_cursor, etag, if_match, keyset_page, page_limit},
};

/// A page of subscriptions, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookListResponse {
    pub items: Vec<WebhookResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Paging of the subscriptions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WebhookListQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryListResponse {
    pub items: Vec<DeliveryResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for a subscription's deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryListQuery {
    /// Only deliveries in this state.
    #[param(value_type = Option<DeliveryState>)]
    pub state: Option<DeliveryState>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// The queued `ping`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"event_id": "5b0f8a3e-8c47-4a77-9b0e-1f0f2a7d9c11"}))]
pub struct PingResponse {
    /// Its id (`webhook-id`); follow it in the deliveries list.
    pub event_id: Uuid,
}

/// List webhook subscriptions.
///
/// Officers see their own subscriptions, admins everyone's. Secrets are never listed.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhooks",
    params(WebhookListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of subscriptions.", body = WebhookListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    actor: AuthUser,
    query: web::Query<WebhookListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListWebhooks)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let found = db.run(move |conn| webhooks::list(conn, &actor)).await?;
    // Newest first, then by id.
    let (page, next_cursor) = keyset_page(found, query.cursor.as_deref(), limit, |s| {
        (-s.created_at.timestamp_micros(), s.id)
    })?;
    Ok(HttpResponse::Ok().json(WebhookListResponse {
        items: page.iter().map(WebhookResponse::from).collect(),
        next_cursor,
    }))
}

/// Subscribe to events.
///
/// Events are POSTed to `url` signed with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret). The secret
/// is in this response only. An officer receives only events of records in their subtree. The URL must be
/// `https` and resolve to public addresses (except hosts in `WEBHOOK_ALLOWED_HOSTS`).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook",
    security(("bearer" = [])),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Subscribed; the secret is shown this once.", body = WebhookSecretResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: a URL that is not https, resolves to a private address or carries credentials; an unknown event type.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    actor: AuthUser,
    body: web::Json<CreateWebhookRequest>,
    settings: web::Data<WebhookSettings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateWebhook)?;
    let request = body.into_inner();
    webhooks::check_reachable(&request.url, &settings.allowed_hosts).await?;
    let settings = settings.into_inner();
    let created = db
        .run(move |conn| {
            conn.transaction(|conn| webhooks::create(conn, &actor, &settings, &request))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(created.webhook.version)))
        .insert_header((
            "Location",
            format!("/api/v1/webhooks/{}", created.webhook.id),
        ))
        .json(created))
}

/// Find a webhook subscription.
///
/// One subscription with `ETag` (never its secret).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "find_webhook",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription.", body = WebhookResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}")]
pub async fn find_webhook(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindWebhook)?;
    let id = id.into_inner();
    let found = db
        .run(move |conn| webhooks::find_visible(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.version)))
        .json(WebhookResponse::from(&found)))
}

/// Change a webhook subscription.
///
/// Its URL, event types, description, or `enabled` (re-enabling one the service disabled clears its
/// failure run; disabling cancels what it has pending). `If-Match` makes the change conditional.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook",
    params(("id" = Uuid, Path, description = "Subscription id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "Changed.", body = WebhookResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateWebhookRequest>,
    settings: web::Data<WebhookSettings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateWebhook)?;
    let id = id.into_inner();
    let request = body.into_inner();
    if let Some(url) = &request.url {
        webhooks::check_reachable(url, &settings.allowed_hosts).await?;
    }
    let expected = if_match(&req);
    let settings = settings.into_inner();
    let updated = db
        .run(move |conn| {
            conn.transaction(|conn| {
                webhooks::update(conn, &actor, &settings, id, &expected, &request)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(WebhookResponse::from(&updated)))
}

/// Delete a webhook subscription.
///
/// With its delivery log; nothing more is sent to it.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = Uuid, Path, description = "Subscription id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteWebhook)?;
    let id = id.into_inner();
    let expected = if_match(&req);
    db.run(move |conn| conn.transaction(|conn| webhooks::delete(conn, &actor, id, &expected)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook's secret.
///
/// Returns the new secret (shown once). For `WEBHOOK_ROTATION_OVERLAP_HOURS` (24 h by default) every
/// delivery is signed with both the new and the previous secret (two `v1,` signatures in
/// `webhook-signature`), so the receiver can switch without losing a delivery.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rotated; the new secret is shown this once.", body = WebhookSecretResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    actor: AuthUser,
    id: web::Path<Uuid>,
    settings: web::Data<WebhookSettings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::RotateWebhookSecret)?;
    let id = id.into_inner();
    let settings = settings.into_inner();
    let rotated = db
        .run(move |conn| {
            conn.transaction(|conn| webhooks::rotate_secret(conn, &actor, &settings, id))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(rotated.webhook.version)))
        .json(rotated))
}

/// Send a test event.
///
/// Queues a `ping` event for this subscription only; follow it in its deliveries.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "test_webhook",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued.", body = PingResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/test")]
pub async fn test_webhook(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::TestWebhook)?;
    let id = id.into_inner();
    let event_id = db
        .run(move |conn| conn.transaction(|conn| webhooks::ping(conn, &actor, id)))
        .await?;
    Ok(HttpResponse::Accepted().json(PingResponse { event_id }))
}

/// List a webhook's deliveries.
///
/// Newest first: each event's attempts, last status and latency, next attempt and final state.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path, description = "Subscription id"), DeliveryListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveryListResponse),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<DeliveryListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListWebhookDeliveries)?;
    let id = id.into_inner();
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let state = query.state;
    let cursor = match decode_cursor(query.cursor.as_deref())? {
        Some(position) => Some(position.parse::<Uuid>().map_err(|_| {
            AppError::new(ErrorCode::InvalidQuery)
                .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ"))
        })?),
        None => None,
    };
    let mut found = db
        .run(move |conn| {
            let subscription = webhooks::find_visible(conn, &actor, id)?;
            Ok(model::deliveries(
                conn,
                subscription.id,
                state,
                cursor,
                limit + 1,
            )?)
        })
        .await?;
    let more = found.len() as i64 > limit;
    found.truncate(usize::try_from(limit).unwrap_or(50));
    let next_cursor = more
        .then(|| found.last().map(|(d, _)| encode_cursor(&d.id.to_string())))
        .flatten();
    Ok(HttpResponse::Ok().json(DeliveryListResponse {
        items: found
            .iter()
            .map(|(delivery, event)| DeliveryResponse::new(delivery, event))
            .collect(),
        next_cursor,
    }))
}

/// Retry a delivery.
///
/// Sends it again as soon as the dispatcher gets to it, whatever its state (a `failed` or `cancelled`
/// one included), with the same event id.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    params(("id" = Uuid, Path, description = "Subscription id"),
           ("delivery_id" = Uuid, Path, description = "Delivery id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again.", body = DeliveryResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours, or no such delivery of it.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_webhook_delivery(
    actor: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::RetryWebhookDelivery)?;
    let (id, delivery_id) = path.into_inner();
    let (delivery, event) = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let subscription = webhooks::find_visible(conn, &actor, id)?;
                model::find_delivery(conn, subscription.id, delivery_id)
                    .optional_app()?
                    .ok_or_else(|| AppError::not_found("delivery"))?;
                model::retry(conn, delivery_id)?;
                Ok(model::find_delivery(conn, subscription.id, delivery_id)?)
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::new(&delivery, &event)))
}

/// Replay events.
///
/// Queues again every event since `since` that the (enabled) subscription wants and its owner may see, with their
/// original ids, in commit order per record. Events are kept while any subscription exists.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "replay_webhook",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    request_body = ReplayRequest,
    responses(
        (status = 202, description = "Queued.", body = ReplayResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and officers hold webhooks.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/replay")]
pub async fn replay_webhook(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ReplayRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReplayWebhook)?;
    let id = id.into_inner();
    let since = body.into_inner().since;
    let queued = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let subscription = webhooks::find_visible(conn, &actor, id)?;
                Ok(model::replay(conn, subscription.id, since)?)
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(ReplayResponse { queued }))
}
