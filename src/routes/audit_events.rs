//! Reading the audit log.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    error::{AppError, Problem, Text},
    models::audit::{self, AuditEvent, AuditFilter},
    routes::{
        conditional::{decode_keyset, next_cursor, page_limit},
        export::{self, Answer},
    },
    tabular::sheets,
};

/// One recorded action.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "at": "2025-07-02T03:00:00Z",
    "actor_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "actor_username": "quantri", "action": "org_unit_updated",
    "entity_type": "org_unit", "entity_id": "0193a0f4-7b1e-7c53-a8e1-000000000002",
    "changes": {"households": {"from": null, "to": 1250}}, "request_id": "0193a0f4-7b1e-7c53-a8e1-000000000003",
    "client_ip": "203.0.113.7"}))]
pub struct AuditEventResponse {
    pub id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (`null` for anonymous attempts such as a failed login of an unknown name).
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    /// What happened, e.g. `login_failed`, `user_updated`, `org_units_reorganized`.
    pub action: String,
    /// `user`, `org_unit`, ...
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    /// Changed fields as `{"field": {"from": ..., "to": ...}}`, or details of the action. Never secrets.
    pub changes: serde_json::Value,
    /// The request that did it (matches the `X-Request-Id` and the service log).
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.id,
            at: event.at,
            actor_id: event.actor_id,
            actor_username: event.actor_username,
            action: event.action,
            entity_type: event.entity_type,
            entity_id: event.entity_id,
            changes: event.changes,
            request_id: event.request_id,
            client_ip: event.client_ip,
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventListResponse {
    pub items: Vec<AuditEventResponse>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditEventListQuery {
    /// `user`, `org_unit`, ...
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// List audit events.
///
/// Who did what, when and from where, newest first. Admins read everything; officers read the events of
/// records inside their subtree.
#[utoipa::path(
    tag = "audit",
    operation_id = "list_audit_events",
    params(AuditEventListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events, or the whole list as a file.", body = AuditEventListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and officers only.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<AuditEventListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListAuditEvents)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let filter = AuditFilter {
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        actor_id: query.actor_id,
        from: query.from,
        to: query.to,
        within_path: actor.scope_filter(),
    };
    let page = move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
        let before = decode_keyset::<DateTime<Utc>>(cursor.as_deref())?;
        let events = audit::list(conn, &filter, before, limit)?;
        let next = next_cursor(&events, limit, |e| {
            format!("{}|{}", e.at.to_rfc3339(), e.id)
        });
        Ok((events, next))
    };
    if answer.is_file() {
        return export::list(
            &req,
            &db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new("Audit log", "Nhật ký hệ thống"),
                name: "audit-events",
                sheet: &sheets::AUDIT_EVENTS,
                row: |e: &AuditEvent| {
                    cells![
                        e.at,
                        e.actor_username.as_ref(),
                        &e.action,
                        &e.entity_type,
                        e.entity_id.map(|id| id.to_string()),
                        e.request_id.as_ref(),
                        e.client_ip.as_ref(),
                        e.changes.to_string(),
                    ]
                },
                on_primary: true,
                read_whole: false,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (events, next_cursor) = db.run(move |conn| page(conn, query.cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(AuditEventListResponse {
        items: events.into_iter().map(AuditEventResponse::from).collect(),
        next_cursor,
    }))
}
