//! Webhooks (issue 19): subscriptions, their signed deliveries and the events they carry.
//!
//! Events are written by database triggers in the transaction of the change (`migrations/…_webhooks`),
//! with a delivery queued for every enabled subscription whose owner may see the record;
//! [`crate::dispatch`] sends them off the request path. The wire format is Standard Webhooks ([`signing`]); where a
//! subscription may point is [`address`].

pub mod address;
pub mod signing;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::OptionalApp,
    auth::{AuthUser, Role},
    domain::{
        reach_activities::ActivityResponse,
        sign_offs,
        training_sessions::TrainingSessionResponse,
        validation::{FieldErrors, double_option},
        version::Precondition,
    },
    error::AppError,
    models::{
        audit::{self, NewAuditEvent},
        webhook::{self as model, Subscription, SubscriptionFields},
    },
    reference::{DeliveryState, Vocabulary, WebhookDisabledReason, WebhookEventType},
};
use address::AllowedHosts;
use signing::{SecretKey, new_salt};

/// Longest URL and description accepted.
use crate::contract::{
    WEBHOOK_DESCRIPTION_MAX as MAX_DESCRIPTION, WEBHOOK_EVENT_TYPES_MAX, WEBHOOK_URL_MAX as MAX_URL,
};

/// What the webhook rules need from the configuration.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `WEBHOOK_SECRET_KEY` (or the key in the data directory).
    pub key: SecretKey,
    /// `WEBHOOK_ALLOWED_HOSTS`.
    pub allowed_hosts: AllowedHosts,
    /// `WEBHOOK_ROTATION_OVERLAP_HOURS`: how long the previous secret also signs after a rotation.
    pub rotation_overlap: chrono::Duration,
}

/// An event type, or `*` for every type (the items of `event_types`).
#[derive(Debug)]
pub struct EventTypeSelector;

impl utoipa::PartialSchema for EventTypeSelector {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut values: Vec<&str> = WebhookEventType::CODES.to_vec();
        values.push("*");
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .description(Some("An event type, or `*` for every type."))
            .into()
    }
}

impl utoipa::ToSchema for EventTypeSelector {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("WebhookEventSelector")
    }
}

impl WebhookSettings {
    /// From the configuration (the key from `WEBHOOK_SECRET_KEY` or the data directory).
    pub fn from_settings(settings: &crate::config::Settings) -> anyhow::Result<Self> {
        Ok(Self {
            key: SecretKey::new(settings.resolve_webhook_key()?),
            allowed_hosts: AllowedHosts::new(&settings.webhooks.allowed_hosts),
            rotation_overlap: delta(settings.webhooks.rotation_overlap),
        })
    }
}

/// A configured duration as a time difference (the configuration bounds every one far below the limit).
pub fn delta(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// A new subscription.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://baocao.sonla.gov.vn/hooks/cdt", "event_types": ["training_session.verified",
    "sign_off.accepted"], "description": "Kho dữ liệu của Sở KH&CN"}))]
pub struct CreateWebhookRequest {
    /// `https` URL the events are POSTed to (http and private addresses only for hosts in
    /// `WEBHOOK_ALLOWED_HOSTS`).
    pub url: String,
    /// Event types to receive, or `["*"]` for all.
    #[schema(value_type = Vec<EventTypeSelector>, example = json!(["training_session.verified"]))]
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// Changes to a subscription (absent fields stay as they are).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<EventTypeSelector>>)]
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `true` re-enables a subscription the dispatcher disabled (and clears its failure run).
    pub enabled: Option<bool>,
}

/// A subscription (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-0000000000a1", "owner_id": "0193a0f4-7b1e-7c53-a8e1-000000000010",
    "url": "https://baocao.sonla.gov.vn/hooks/cdt", "event_types": ["training_session.verified", "sign_off.accepted"],
    "description": "Kho dữ liệu của Sở KH&CN", "enabled": true, "disabled_reason": null, "failing_since": null,
    "previous_secret_expires_at": null, "version": 1, "created_at": "2026-12-07T02:00:00Z",
    "updated_at": "2026-12-07T02:00:00Z"}))]
pub struct WebhookResponse {
    pub id: Uuid,
    /// Who created it; events outside this user's scope are never sent.
    pub owner_id: Uuid,
    pub url: String,
    #[schema(value_type = Vec<EventTypeSelector>)]
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the service disabled it (`null` when enabled, or disabled by hand).
    pub disabled_reason: Option<WebhookDisabledReason>,
    /// Start of the current run of failed attempts.
    pub failing_since: Option<DateTime<Utc>>,
    /// After a rotation, until when the previous secret also signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Subscription> for WebhookResponse {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id,
            owner_id: s.owner_id,
            url: s.url.clone(),
            event_types: s.types(),
            description: s.description.clone(),
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            failing_since: s.failing_since,
            previous_secret_expires_at: s
                .previous_secret_expires_at
                .filter(|until| *until > Utc::now()),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A subscription with its signing secret, shown only when it is created or rotated.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-0000000000a1", "owner_id": "0193a0f4-7b1e-7c53-a8e1-000000000010",
    "url": "https://baocao.sonla.gov.vn/hooks/cdt", "event_types": ["*"], "description": null, "enabled": true,
    "disabled_reason": null, "failing_since": null, "previous_secret_expires_at": null, "version": 1,
    "created_at": "2026-12-07T02:00:00Z", "updated_at": "2026-12-07T02:00:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJUbVj3NbgFs="}))]
pub struct WebhookSecretResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// `whsec_` + base64 key: verify `webhook-signature` with it (Standard Webhooks). Shown once.
    pub secret: String,
}

/// One event as it is POSTed (the body of every delivery).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "5b0f8a3e-8c47-4a77-9b0e-1f0f2a7d9c11", "type": "training_session.verified",
    "occurred_at": "2026-12-07T03:15:00Z", "data": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "status": "verified"}}))]
pub struct WebhookEvent {
    /// The event id, also in `webhook-id`: the same on every retry (deduplicate on it).
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: WebhookEventType,
    /// When the change committed (its transaction's time).
    pub occurred_at: DateTime<Utc>,
    /// The record as its endpoint returns it (`TrainingSessionResponse`, `ActivityResponse`,
    /// `SignOffResponse` without history), `{"id", "deleted": true, "deleted_at", "version"}` for a
    /// deletion, or `{"subscription_id", "message"}` for a `ping`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The `data` of a `*.deleted` event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "deleted": true,
    "deleted_at": "2026-12-07T03:15:00Z", "version": 3}))]
pub struct WebhookTombstone {
    pub id: Uuid,
    /// Always `true`.
    pub deleted: bool,
    pub deleted_at: DateTime<Utc>,
    /// The record's last version.
    pub version: i32,
}

/// The `data` of a `ping`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"subscription_id": "0193a0f4-7b1e-7c53-a8e1-0000000000a1",
    "message": "Thử kết nối từ cdt-api / test event from cdt-api"}))]
pub struct WebhookPing {
    pub subscription_id: Uuid,
    pub message: String,
}

/// The component schema of an event type's `data` in the document.
pub fn data_component(event_type: WebhookEventType) -> &'static str {
    let code = event_type.code();
    if code.ends_with(".deleted") {
        return "WebhookTombstone";
    }
    match code.split('.').next().unwrap_or_default() {
        "training_session" => "TrainingSessionResponse",
        "reach_activity" => "ActivityResponse",
        "sign_off" => "SignOffResponse",
        "team" => "TeamResponse",
        "membership" => "MemberResponse",
        "person" => "PersonResponse",
        "campaign" => "CampaignResponse",
        "target" => "TargetResponse",
        "indicator_value" => "IndicatorValueResponse",
        "org_unit" if event_type == WebhookEventType::OrgUnitReorganized => "OrgUnitDetailResponse",
        "org_unit" => "OrgUnitResponse",
        _ => "WebhookPing",
    }
}

/// One delivery of an event to a subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "6c1e9b4f-9d58-4b88-a01f-2a1f3b8e0d22", "event_id": "5b0f8a3e-8c47-4a77-9b0e-1f0f2a7d9c11",
    "event_type": "training_session.verified", "occurred_at": "2026-12-07T03:15:00Z", "record_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a",
    "state": "pending", "attempts": 2, "next_attempt_at": "2026-12-07T03:16:30Z", "last_attempt_at": "2026-12-07T03:15:31Z",
    "last_status": 503, "last_latency_ms": 48, "last_error": null, "created_at": "2026-12-07T03:15:00Z", "finished_at": null}))]
pub struct DeliveryResponse {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: WebhookEventType,
    pub occurred_at: DateTime<Utc>,
    pub record_id: Option<Uuid>,
    pub state: DeliveryState,
    pub attempts: i32,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status (`null`: no answer, see `last_error`).
    pub last_status: Option<i32>,
    pub last_latency_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl DeliveryResponse {
    pub fn new(delivery: &model::Delivery, event: &model::Event) -> Self {
        Self {
            id: delivery.id,
            event_id: event.id,
            event_type: WebhookEventType::parse(&event.event_type)
                .unwrap_or(WebhookEventType::Ping),
            occurred_at: event.occurred_at,
            record_id: delivery.record_id,
            state: delivery.state,
            attempts: delivery.attempts,
            next_attempt_at: (delivery.state == DeliveryState::Pending)
                .then_some(delivery.next_attempt_at),
            last_attempt_at: delivery.last_attempt_at,
            last_status: delivery.last_status,
            last_latency_ms: delivery.last_latency_ms,
            last_error: delivery.last_error.clone(),
            created_at: delivery.created_at,
            finished_at: delivery.finished_at,
        }
    }
}

/// Replay request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"since": "2026-12-06T00:00:00Z"}))]
pub struct ReplayRequest {
    /// Every event the subscription wants since this moment is queued again (within the events kept).
    pub since: DateTime<Utc>,
}

/// How many deliveries a replay queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"queued": 120}))]
pub struct ReplayResponse {
    pub queued: usize,
}

fn check_fields(
    url: &str,
    event_types: &[String],
    description: Option<&str>,
    allowed: &AllowedHosts,
) -> Result<(String, Vec<Option<String>>), AppError> {
    let mut errors = FieldErrors::new();
    let mut checked_url = String::new();
    if url.chars().count() > MAX_URL {
        errors.check_max_length("url", Some(url), MAX_URL);
    } else {
        match address::parse_url(url, allowed) {
            Ok(parsed) => checked_url = parsed.to_string(),
            Err((code, en, vi)) => errors.add("url", code, en, vi),
        }
    }
    if event_types.len() > WEBHOOK_EVENT_TYPES_MAX {
        errors.add(
            "event_types",
            "too_many",
            format!("at most {WEBHOOK_EVENT_TYPES_MAX} event types"),
            "quá nhiều loại sự kiện",
        );
    }
    if event_types.is_empty() {
        errors.add(
            "event_types",
            "required",
            "name at least one event type, or \"*\" for all",
            "cần ít nhất một loại sự kiện, hoặc \"*\" cho tất cả",
        );
    }
    let mut types: Vec<Option<String>> = Vec::new();
    for (index, name) in event_types.iter().enumerate() {
        if name != "*" && WebhookEventType::parse(name).is_none() {
            errors.add(
                format!("event_types[{index}]"),
                "invalid_choice",
                format!("must be \"*\" or {}", WebhookEventType::choices()),
                "loại sự kiện không hợp lệ",
            );
        } else if !types.iter().flatten().any(|t| t == name) {
            types.push(Some(name.clone()));
        }
    }
    if types.iter().flatten().any(|t| t == "*") {
        types = vec![Some("*".to_owned())];
    }
    errors.check_max_length("description", description, MAX_DESCRIPTION);
    errors.finish()?;
    Ok((checked_url, types))
}

/// Resolves the URL's host now, so a subscription pointing at a private address is refused when it is
/// saved (422), not only when delivering.
pub async fn check_reachable(url: &str, allowed: &AllowedHosts) -> Result<(), AppError> {
    let Ok(parsed) = address::parse_url(url, allowed) else {
        return Ok(()); // reported with the other fields
    };
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    match address::resolve_checked(&host, port, allowed).await {
        Ok(_) => Ok(()),
        Err((code, en, vi)) => {
            let mut errors = FieldErrors::new();
            errors.add("url", code, en, vi);
            errors.finish()
        }
    }
}

/// Only admins and officers hold subscriptions; officers see their own, admins all.
fn visible(actor: &AuthUser, subscription: &Subscription) -> bool {
    actor.role == Role::Admin || subscription.owner_id == actor.id
}

/// A subscription the actor may manage, or 404.
pub fn find_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<Subscription, AppError> {
    model::find(conn, id)
        .optional_app()?
        .filter(|s| visible(actor, s))
        .ok_or_else(|| AppError::not_found("webhook"))
}

/// The actor's subscriptions (all of them for admins).
pub fn list(conn: &mut PgConnection, actor: &AuthUser) -> Result<Vec<Subscription>, AppError> {
    let owner = (actor.role != Role::Admin).then_some(actor.id);
    Ok(model::list(conn, owner)?)
}

fn audit_subscription(
    conn: &mut PgConnection,
    actor: &AuthUser,
    action: &str,
    subscription: &Subscription,
) -> Result<(), AppError> {
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action,
            entity_type: "webhook",
            entity_id: Some(subscription.id),
            org_unit_path: actor.scope_path.clone(),
            changes: serde_json::json!({
                "url": subscription.url,
                "event_types": subscription.types(),
                "enabled": subscription.enabled,
            }),
        },
    )?;
    Ok(())
}

/// Creates a subscription owned by the actor; returns it with its secret.
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    settings: &WebhookSettings,
    request: &CreateWebhookRequest,
) -> Result<WebhookSecretResponse, AppError> {
    let (url, event_types) = check_fields(
        &request.url,
        &request.event_types,
        request.description.as_deref(),
        &settings.allowed_hosts,
    )?;
    let salt = new_salt()?;
    let fields = SubscriptionFields {
        url,
        event_types,
        description: crate::domain::validation::normalized_optional(request.description.as_deref()),
        enabled: request.enabled.unwrap_or(true),
    };
    let created = model::insert(conn, Uuid::now_v7(), actor.id, &fields, &salt)?;
    audit_subscription(conn, actor, "webhook.create", &created)?;
    Ok(WebhookSecretResponse {
        webhook: WebhookResponse::from(&created),
        secret: settings.key.derive(&salt).secret(),
    })
}

/// Changes a subscription (if its version satisfies `expected`).
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    settings: &WebhookSettings,
    id: Uuid,
    expected: &Precondition,
    request: &UpdateWebhookRequest,
) -> Result<Subscription, AppError> {
    let current = find_visible(conn, actor, id)?;
    expected.check(current.version)?;
    let description = match &request.description {
        Some(value) => value.clone(),
        None => current.description.clone(),
    };
    let (url, event_types) = check_fields(
        request.url.as_deref().unwrap_or(&current.url),
        &request
            .event_types
            .clone()
            .unwrap_or_else(|| current.types()),
        description.as_deref(),
        &settings.allowed_hosts,
    )?;
    let fields = SubscriptionFields {
        url,
        event_types,
        description: crate::domain::validation::normalized_optional(description.as_deref()),
        enabled: request.enabled.unwrap_or(current.enabled),
    };
    let Some(updated) = model::update(conn, &current, &fields)? else {
        // Changed by someone else since it was read: 412 like a stale If-Match.
        Precondition::OneOf(Vec::new()).check(current.version)?;
        return Err(AppError::not_found("webhook"));
    };
    if !updated.enabled && current.enabled {
        model::cancel_pending(conn, updated.id)?;
    }
    audit_subscription(conn, actor, "webhook.update", &updated)?;
    Ok(updated)
}

/// Deletes a subscription with its deliveries.
pub fn delete(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
) -> Result<(), AppError> {
    let current = find_visible(conn, actor, id)?;
    expected.check(current.version)?;
    model::delete(conn, id)?;
    audit_subscription(conn, actor, "webhook.delete", &current)?;
    Ok(())
}

/// Issues a new secret; the previous one keeps signing for the configured overlap.
pub fn rotate_secret(
    conn: &mut PgConnection,
    actor: &AuthUser,
    settings: &WebhookSettings,
    id: Uuid,
) -> Result<WebhookSecretResponse, AppError> {
    let current = find_visible(conn, actor, id)?;
    let salt = new_salt()?;
    let rotated = model::rotate(
        conn,
        &current,
        &salt,
        Utc::now() + settings.rotation_overlap,
    )?;
    audit_subscription(conn, actor, "webhook.rotate_secret", &rotated)?;
    Ok(WebhookSecretResponse {
        webhook: WebhookResponse::from(&rotated),
        secret: settings.key.derive(&salt).secret(),
    })
}

/// Queues a `ping` for this subscription; returns the event id.
pub fn ping(conn: &mut PgConnection, actor: &AuthUser, id: Uuid) -> Result<Uuid, AppError> {
    let subscription = find_visible(conn, actor, id)?;
    let data = serde_json::json!({
        "subscription_id": subscription.id,
        "message": "Thử kết nối từ cdt-api / test event from cdt-api",
    });
    Ok(model::ping(conn, subscription.id, &data)?)
}

/// A stored row in `data`, as its model.
fn row<T: serde::de::DeserializeOwned>(
    data: &serde_json::Value,
    name: &str,
) -> Result<T, AppError> {
    serde_json::from_value(data.clone()).map_err(|error| {
        AppError::internal(anyhow::anyhow!(
            "webhook data of {name} does not fit: {error}"
        ))
    })
}

fn json(value: impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(value).map_err(AppError::internal)
}

/// The shape of events that need nothing but their row (sessions, reach activities, tombstones, pings):
/// `None` for the others.
pub fn shape_without_database(
    event_type: WebhookEventType,
    data: &serde_json::Value,
) -> Option<Result<serde_json::Value, AppError>> {
    let deleted = data.get("deleted").and_then(serde_json::Value::as_bool) == Some(true);
    if deleted || event_type == WebhookEventType::Ping {
        return Some(Ok(data.clone()));
    }
    let name = event_type.code();
    match name.split('.').next().unwrap_or_default() {
        "training_session" => Some(row::<TrainingSessionResponse>(data, name).and_then(json)),
        "reach_activity" => Some(row::<ActivityResponse>(data, name).and_then(json)),
        _ => None,
    }
}

/// `data` shaped as the record's endpoint returns it. Subscription owners are admins and officers whose
/// scope holds the record, who see phone numbers in full: a phone sent is recorded in the personal-data
/// read log as read by `reader`.
fn shape(
    conn: &mut PgConnection,
    event_type: WebhookEventType,
    data: &serde_json::Value,
    reader: Uuid,
    sign_off_due_days: u32,
) -> Result<serde_json::Value, AppError> {
    use crate::{
        domain::{
            campaigns::CampaignResponse,
            indicator_values,
            memberships::member_response,
            org_units::{OrgUnitResponse, find_detail},
            people::person_response,
            targets::TargetResponse,
            teams::TeamResponse,
        },
        models::{org_unit, person, team},
    };
    if let Some(shaped) = shape_without_database(event_type, data) {
        return shaped;
    }
    let name = event_type.code();
    let entity = name.split('.').next().unwrap_or_default();
    let log_phone = |conn: &mut PgConnection, person: &person::Person| -> Result<(), AppError> {
        if person.phone.is_some() {
            person::record_reads(conn, reader, &[person.id], None)?;
        }
        Ok(())
    };
    match entity {
        "sign_off" => {
            let stored: crate::models::sign_off::SignOff = row(data, name)?;
            json(sign_offs::event_view(conn, &stored, sign_off_due_days)?)
        }
        "team" => {
            let team: team::Team = row(data, name)?;
            let unit = org_unit::find(conn, team.org_unit_id)?;
            let leader = person::current_leaders(conn, &[team.id])?
                .into_iter()
                .next()
                .and_then(|(_, leader)| leader.full_name);
            json(TeamResponse::new(&team, &unit.name, unit.level, leader))
        }
        "membership" => {
            let membership: person::Membership = row(data, name)?;
            let person = person::find_person(conn, membership.person_id)?;
            let team = team::find(conn, membership.team_id)?;
            let unit = org_unit::find(conn, team.org_unit_id)?;
            log_phone(conn, &person)?;
            let detail = person::MembershipDetail {
                membership,
                person,
                team_code: team.code,
                team_name: team.name,
                unit_path: unit.path,
            };
            json(member_response(&detail, true))
        }
        "person" => {
            let person: person::Person = row(data, name)?;
            log_phone(conn, &person)?;
            json(person_response(&person, true))
        }
        "campaign" => json(CampaignResponse::from(&row::<
            crate::models::campaign::Campaign,
        >(data, name)?)),
        "target" => json(TargetResponse::from(&row::<crate::models::target::Target>(
            data, name,
        )?)),
        "indicator_value" => {
            let value: crate::models::indicator_value::IndicatorValue = row(data, name)?;
            let unit = org_unit::find(conn, value.org_unit_id)?;
            json(indicator_values::response(&value, &unit.code))
        }
        "org_unit" if event_type == WebhookEventType::OrgUnitReorganized => {
            let id: Uuid = row(&data["id"], name)?;
            json(find_detail(conn, id)?)
        }
        "org_unit" => json(OrgUnitResponse::from(&row::<org_unit::OrgUnit>(
            data, name,
        )?)),
        _ => Err(AppError::internal(anyhow::anyhow!(
            "no webhook shape for {name}"
        ))),
    }
}

/// The body of an event as POSTed: `{id, type, occurred_at, data}`.
pub fn render(
    conn: &mut PgConnection,
    event: &model::Claimed,
    reader: Uuid,
    sign_off_due_days: u32,
) -> Result<Vec<u8>, AppError> {
    let event_type = event_type_of(event)?;
    let data = shape(conn, event_type, &event.data, reader, sign_off_due_days)?;
    envelope(event, event_type, data)
}

/// [`render`] for the events [`shape_without_database`] shapes; `None` for the others.
pub fn render_without_database(event: &model::Claimed) -> Option<Result<Vec<u8>, AppError>> {
    let event_type = match event_type_of(event) {
        Ok(event_type) => event_type,
        Err(error) => return Some(Err(error)),
    };
    let data = shape_without_database(event_type, &event.data)?;
    Some(data.and_then(|data| envelope(event, event_type, data)))
}

fn event_type_of(event: &model::Claimed) -> Result<WebhookEventType, AppError> {
    WebhookEventType::parse(&event.event_type).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "unknown webhook event type {}",
            event.event_type
        ))
    })
}

fn envelope(
    event: &model::Claimed,
    event_type: WebhookEventType,
    data: serde_json::Value,
) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(&WebhookEvent {
        id: event.event_id,
        event_type,
        occurred_at: event.occurred_at,
        data,
    })
    .map_err(AppError::internal)
}
