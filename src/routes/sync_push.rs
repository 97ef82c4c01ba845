//! Offline sync, the other way: batch upload with one result per item, and the conflict inbox. The HTTP
//! face; the rules and operations are `domain::sync`.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use crate::domain::sync::{
    conflicts::{
        ConflictListResponse, ConflictResponse, ResolveConflictRequest, ResolveConflictResponse,
    },
    push::{
        MAX_PUSH_ITEMS, PUSH_BODY_LIMIT, PushItem, PushRequest, PushResponse, PushResult,
        SyncMembershipData, SyncReachActivityData,
    },
};
use crate::{
    auth::{AuthUser, Operation},
    config::Settings,
    db::Db,
    domain::{
        sync::{conflicts, push},
        validation::FieldErrors,
    },
    error::{AppError, Lang, Problem},
    routes::conditional::{decode_keyset, next_cursor},
};

/// The language of problem documents inside the answer.
fn lang_of(req: &HttpRequest) -> Lang {
    Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Push changes.
///
/// Up to 500 records made or changed offline (`training_session`, `reach_activity`, `membership`), each `{type, op: upsert|delete, id,
/// base_version, data}`. The batch is not all-or-nothing: every item is applied on its own, with exactly the
/// permissions, rules, reporting lock and audit of the single-record endpoints, and gets one result, in
/// order: `created`, `updated`, `unchanged` (the server already holds this: pushing the same batch again
/// changes nothing), `conflict` (someone changed the record since `base_version`; kept in the conflict inbox
/// with both versions, not applied), `rejected` (with the problem the single-record endpoint would answer) or
/// `forbidden`. The body may be up to 8 MiB.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_push",
    security(("bearer" = [])),
    request_body = PushRequest,
    responses(
        (status = 200, description = "One result per item.", body = PushResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not push.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No items, more than 500, or an item whose `data` breaks the shape of its `type` (`items[i].data.<field>`); nothing was applied.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/push")]
pub async fn sync_push(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Json<PushRequest>,
    settings: web::Data<Settings>,
    evidence: web::Data<crate::evidence::Evidence>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::SyncPush)?;
    let items = body.into_inner().items;
    push::check_batch(&items)?;
    let limits = (settings.reporting_lock_days, evidence.config.per_record);
    let lang = lang_of(&req);
    let results = db
        .run(move |conn| push::push(conn, &actor, &items, limits, lang))
        .await?;
    Ok(HttpResponse::Ok().json(PushResponse { results }))
}

/// Filters of the conflict inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictListQuery {
    /// `open` (default), `resolved` or `all`.
    #[param(value_type = Option<crate::reference::ConflictStatusFilter>)]
    pub status: Option<crate::reference::Choice<crate::reference::ConflictStatusFilter>>,
    /// At most this many, newest first (1-500, default 100).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// List conflicts.
///
/// Pushed edits that met a newer server version, with both versions: team leaders see their team's,
/// officers their subtree's, admins all.
#[utoipa::path(
    tag = "sync",
    operation_id = "list_sync_conflicts",
    params(ConflictListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The conflicts, newest first.", body = ConflictListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not see conflicts.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/conflicts")]
pub async fn list_sync_conflicts(
    actor: AuthUser,
    query: web::Query<ConflictListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListSyncConflicts)?;
    let query = query.into_inner();
    let status = conflicts::parse_status_filter(query.status.as_ref())?;
    let limit = query.limit.unwrap_or(100);
    let mut errors = FieldErrors::new();
    if !(1..=crate::contract::PAGE_LIMIT_MAX).contains(&limit) {
        errors.add(
            "limit",
            "out_of_range",
            format!("must be from 1 to {}", crate::contract::PAGE_LIMIT_MAX),
            format!("phải từ 1 đến {}", crate::contract::PAGE_LIMIT_MAX),
        );
    }
    errors.finish()?;
    let after = decode_keyset::<DateTime<Utc>>(query.cursor.as_deref())?;
    let found = db
        .run(move |conn| conflicts::list(conn, &actor, status, after, limit))
        .await?;
    let next_cursor = next_cursor(&found, limit, |last| {
        let at = last
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        format!("{at}|{}", last.id)
    });
    Ok(HttpResponse::Ok().json(ConflictListResponse {
        items: found.iter().map(ConflictResponse::from).collect(),
        next_cursor,
    }))
}

/// Resolve a conflict.
///
/// Settles a conflict: `keep_server` drops the phone's edit; `take_client` applies it over the server's
/// current version; `merged` applies the `data` sent now. Applying is a normal write (permissions, rules,
/// reporting lock, audit), so it can still be refused with the endpoint's problem. The pusher's team leader,
/// officers in scope and admins may resolve.
#[utoipa::path(
    tag = "sync",
    operation_id = "resolve_sync_conflict",
    params(("id" = Uuid, Path, description = "Conflict id")),
    security(("bearer" = [])),
    request_body = ResolveConflictRequest,
    responses(
        (status = 200, description = "Resolved.", body = ResolveConflictResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not resolve conflicts.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conflict in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Resolved already, the record was deleted meanwhile, or the period is locked or signed off.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid resolution or data.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conflicts/{id}/resolve")]
pub async fn resolve_sync_conflict(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ResolveConflictRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ResolveSyncConflict)?;
    let id = id.into_inner();
    let body = body.into_inner().parse()?;
    let lock_days = settings.reporting_lock_days;
    let response = db
        .run(move |conn| {
            conn.transaction(|conn| conflicts::resolve(conn, &actor, id, &body, lock_days))
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
