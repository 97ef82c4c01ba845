//! Offline sync, the other way: batch upload with one result per item, and the conflict inbox.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    config::Settings,
    db::Db,
    error::{AppError, ErrorCode, FieldError, Lang, Problem, Text},
    models::{
        sync::{self, Conflict, NewConflict},
        team,
        training_session::{self, SessionFields},
    },
    routes::{
        training_sessions::{self, CreateSessionRequest, SessionResponse},
        validation::FieldErrors,
    },
};

/// Items per push.
pub const MAX_PUSH_ITEMS: usize = 500;

/// One record pushed by a phone.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushItem {
    /// `training_session`.
    #[serde(rename = "type")]
    pub entity: String,
    /// `upsert` (create, or replace with `data`) or `delete`.
    pub op: String,
    /// The record's id (made by the phone for new records).
    pub id: Uuid,
    /// The server version the phone's copy was based on (`null` for a record new on the phone).
    pub base_version: Option<i32>,
    /// For upserts: the whole record, as its create endpoint takes it.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// A batch of pushed records.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"type": "training_session", "op": "upsert",
    "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "base_version": null,
    "data": {"team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "kind": "training", "held_on": "2025-10-10",
             "duration_minutes": 120, "format": "in_person", "topics": ["vneid"], "participants_total": 42,
             "participants_female": 23, "participants_ethnic_minority": 39, "participants_elderly": 6,
             "households_reached": 30}}]}))]
pub struct PushRequest {
    /// 1 to 500 items, applied in order, each on its own.
    pub items: Vec<PushItem>,
}

/// What happened to one item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushResult {
    /// The item's position in the batch.
    pub index: usize,
    #[serde(rename = "type")]
    pub entity: String,
    pub id: Uuid,
    pub op: String,
    /// `created`, `updated` (also for an applied delete), `unchanged` (the server already holds exactly this,
    /// e.g. a retry), `conflict` (the server's version moved since `base_version`: kept in the conflict inbox,
    /// not applied), `rejected` (see `problem`, the same as the single-record endpoint answers) or `forbidden`.
    pub status: String,
    /// The record's version on the server after this item.
    pub version: Option<i32>,
    /// For `conflict`: the inbox entry.
    pub conflict_id: Option<Uuid>,
    /// For `rejected` and `forbidden`: the problem, with every field error.
    pub problem: Option<Problem>,
}

/// The results of a push, one per item, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
}

/// The outcome of an item that was not refused.
enum Outcome {
    Created(i32),
    Updated(i32),
    Unchanged(Option<i32>),
    Conflict(Uuid, i32),
}

fn rejected(
    field: &'static str,
    code: &'static str,
    en: &'static str,
    vi: &'static str,
) -> AppError {
    AppError::validation(vec![FieldError::new(field, code, Text::new(en, vi))])
}

/// The session a pushed `data` describes (same shape and rules as `POST /training-sessions`).
fn session_request(item: &PushItem) -> Result<CreateSessionRequest, AppError> {
    let data = item
        .data
        .clone()
        .ok_or_else(|| rejected("data", "required", "an upsert needs data", "cần có dữ liệu"))?;
    let request: CreateSessionRequest = serde_json::from_value(data).map_err(|error| {
        AppError::validation(vec![FieldError::new(
            "data",
            "invalid",
            Text::new(error.to_string(), error.to_string()),
        )])
    })?;
    if request.id.is_some_and(|id| id != item.id) {
        return Err(rejected(
            "data.id",
            "mismatch",
            "must be the item's id",
            "phải trùng với id của mục",
        ));
    }
    Ok(request)
}

fn server_copy(session: &training_session::TrainingSession) -> Value {
    let mut value = serde_json::to_value(SessionResponse::from(session)).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "deleted".to_owned(),
            Value::Bool(session.deleted_at.is_some()),
        );
    }
    value
}

/// Applies one session item inside its own transaction.
fn push_session(
    conn: &mut PgConnection,
    actor: &AuthUser,
    item: &PushItem,
    lock_days: u32,
) -> Result<Outcome, AppError> {
    let found = training_session::find(conn, item.id).optional_app()?;
    let Some(found) = found else {
        return match item.op.as_str() {
            // Nothing to delete: the server never had it.
            "delete" => Ok(Outcome::Unchanged(None)),
            _ => {
                let request = session_request(item)?;
                let (status, session) =
                    training_sessions::create_in(conn, actor, item.id, &request, lock_days)?;
                Ok(if status == 201 {
                    Outcome::Created(session.version)
                } else {
                    Outcome::Unchanged(Some(session.version))
                })
            }
        };
    };
    let session = &found.session;
    if !actor.manages_members_of(session.team_id, &found.team_unit_path) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let deleted = session.deleted_at.is_some();
    let conflict = |conn: &mut PgConnection| -> Result<Outcome, AppError> {
        let stored = sync::record_conflict(
            conn,
            &NewConflict {
                id: Uuid::now_v7(),
                entity: item.entity.clone(),
                record_id: item.id,
                op: item.op.clone(),
                team_id: session.team_id,
                unit_path: found.team_unit_path.clone(),
                pushed_by: actor.id,
                base_version: item.base_version,
                server_version: session.version,
                client_data: item.data.clone(),
                server_data: server_copy(session),
            },
        )?;
        Ok(Outcome::Conflict(stored.id, session.version))
    };
    match item.op.as_str() {
        "delete" => {
            if deleted {
                Ok(Outcome::Unchanged(Some(session.version)))
            } else if item.base_version == Some(session.version) {
                let gone = training_sessions::delete_in(
                    conn,
                    actor,
                    item.id,
                    item.base_version,
                    lock_days,
                )?;
                Ok(Outcome::Updated(gone.version))
            } else {
                conflict(conn)
            }
        }
        _ => {
            let request = session_request(item)?;
            let team = team::find(conn, session.team_id)?;
            let fields: SessionFields = request.fields(team.org_unit_id);
            if !deleted && SessionFields::of(session) == fields {
                return Ok(Outcome::Unchanged(Some(session.version)));
            }
            if request.team_id != session.team_id {
                return Err(rejected(
                    "data.team_id",
                    "immutable",
                    "a session cannot move to another team",
                    "không thể chuyển buổi sang tổ khác",
                ));
            }
            if deleted || item.base_version != Some(session.version) {
                return conflict(conn);
            }
            let updated = training_sessions::update_in(
                conn,
                actor,
                item.id,
                item.base_version,
                |_| fields,
                lock_days,
            )?;
            Ok(Outcome::Updated(updated.version))
        }
    }
}

/// True when an error only says the team or record is outside the caller's reach.
fn is_forbidden(error: &AppError) -> bool {
    match error.code() {
        ErrorCode::Forbidden | ErrorCode::NotFound => true,
        ErrorCode::ValidationFailed => {
            let errors = error.field_errors();
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|e| e.field == "team_id" && e.code == "not_found")
        }
        _ => false,
    }
}

fn lang_of(req: &HttpRequest) -> Lang {
    Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Push changes.
///
/// Up to 500 records made or changed offline (`training_session`), each `{type, op: upsert|delete, id,
/// base_version, data}`. The batch is not all-or-nothing: every item is applied on its own, with exactly the
/// permissions, rules, reporting lock and audit of the single-record endpoints, and gets one result, in
/// order: `created`, `updated`, `unchanged` (the server already holds this: pushing the same batch again
/// changes nothing), `conflict` (someone changed the record since `base_version`; kept in the conflict inbox
/// with both versions, not applied), `rejected` (with the problem the single-record endpoint would answer) or
/// `forbidden`.
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
        (status = 422, description = "No items, or more than 500.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sync/push")]
pub async fn sync_push(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Json<PushRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::SyncPush)?;
    let items = body.into_inner().items;
    let mut errors = FieldErrors::new();
    if items.is_empty() || items.len() > MAX_PUSH_ITEMS {
        errors.add(
            "items",
            "count",
            "must hold 1 to 500 items",
            "phải có từ 1 đến 500 mục",
        );
    }
    errors.finish()?;
    let lock_days = settings.reporting_lock_days;
    let lang = lang_of(&req);
    let results = db
        .run(move |conn| {
            let mut results = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let outcome = match (item.entity.as_str(), item.op.as_str()) {
                    (_, op) if op != "upsert" && op != "delete" => Err(rejected(
                        "op",
                        "invalid_choice",
                        "must be upsert or delete",
                        "phải là upsert hoặc delete",
                    )),
                    ("training_session", _) => {
                        conn.transaction(|conn| push_session(conn, &actor, item, lock_days))
                    }
                    _ => Err(rejected(
                        "type",
                        "invalid_choice",
                        "must be training_session",
                        "loại bản ghi không hợp lệ",
                    )),
                };
                let (status, version, conflict_id, problem) = match outcome {
                    Ok(Outcome::Created(v)) => ("created", Some(v), None, None),
                    Ok(Outcome::Updated(v)) => ("updated", Some(v), None, None),
                    Ok(Outcome::Unchanged(v)) => ("unchanged", v, None, None),
                    Ok(Outcome::Conflict(id, v)) => ("conflict", Some(v), Some(id), None),
                    // The database failing is not the item's fault: the whole push answers 503, and a
                    // retry finds the items already applied `unchanged`.
                    Err(error) if error.is_server_error() => return Err(error),
                    Err(error) if is_forbidden(&error) => {
                        let forbidden = AppError::new(ErrorCode::Forbidden).with_detail(Text::new(
                            "This record is outside your teams",
                            "Bản ghi này không thuộc tổ của bạn",
                        ));
                        (
                            "forbidden",
                            None,
                            None,
                            Some(forbidden.problem(lang, actor.request_id.as_deref())),
                        )
                    }
                    Err(error) => (
                        "rejected",
                        None,
                        None,
                        Some(error.problem(lang, actor.request_id.as_deref())),
                    ),
                };
                results.push(PushResult {
                    index,
                    entity: item.entity.clone(),
                    id: item.id,
                    op: item.op.clone(),
                    status: status.to_owned(),
                    version,
                    conflict_id,
                    problem,
                });
            }
            Ok(results)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PushResponse { results }))
}

/// An entry of the conflict inbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9b", "type": "training_session",
    "record_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "op": "upsert", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "pushed_by": "0193a0f4-7b1e-7c53-a8e1-000000000002", "base_version": 1, "server_version": 2,
    "client_data": {"participants_total": 40}, "server_data": {"participants_total": 42, "version": 2},
    "status": "open", "resolution": null, "resolved_by": null, "resolved_at": null,
    "created_at": "2025-10-12T03:00:00Z"}))]
pub struct ConflictResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub entity: String,
    pub record_id: Uuid,
    pub op: String,
    pub team_id: Uuid,
    pub pushed_by: Uuid,
    /// The version the phone's edit was based on.
    pub base_version: Option<i32>,
    /// The server's version when the edit arrived.
    pub server_version: i32,
    /// What the phone sent (`null` for a delete).
    #[schema(value_type = Option<Object>)]
    pub client_data: Option<Value>,
    /// The server's record when the edit arrived (`deleted: true` if it had been deleted).
    #[schema(value_type = Object)]
    pub server_data: Value,
    /// `open` or `resolved`.
    pub status: String,
    /// `keep_server`, `take_client` or `merged`.
    pub resolution: Option<String>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Conflict> for ConflictResponse {
    fn from(c: &Conflict) -> Self {
        Self {
            id: c.id,
            entity: c.entity.clone(),
            record_id: c.record_id,
            op: c.op.clone(),
            team_id: c.team_id,
            pushed_by: c.pushed_by,
            base_version: c.base_version,
            server_version: c.server_version,
            client_data: c.client_data.clone(),
            server_data: c.server_data.clone(),
            status: c.status.clone(),
            resolution: c.resolution.clone(),
            resolved_by: c.resolved_by,
            resolved_at: c.resolved_at,
            created_at: c.created_at,
        }
    }
}

/// Filters of the conflict inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictListQuery {
    /// `open` (default), `resolved` or `all`.
    pub status: Option<String>,
    /// At most this many, newest first (1-500, default 100).
    pub limit: Option<i64>,
}

/// The conflict inbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConflictListResponse {
    pub items: Vec<ConflictResponse>,
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
#[get("/sync/conflicts")]
pub async fn list_sync_conflicts(
    actor: AuthUser,
    query: web::Query<ConflictListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListSyncConflicts)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::new();
    let status = match query.status.as_deref() {
        None | Some("open") => Some("open"),
        Some("resolved") => Some("resolved"),
        Some("all") => None,
        Some(_) => {
            errors.add(
                "status",
                "invalid_choice",
                "must be open, resolved or all",
                "trạng thái không hợp lệ",
            );
            None
        }
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        errors.add(
            "limit",
            "out_of_range",
            "must be from 1 to 500",
            "phải từ 1 đến 500",
        );
    }
    errors.finish()?;
    let items = db
        .run(move |conn| {
            let team =
                (actor.role == Role::TeamLeader).then(|| actor.team_id.unwrap_or_else(Uuid::nil));
            let path = actor
                .scope_filter()
                .filter(|_| actor.role != Role::TeamLeader);
            Ok(
                sync::list_conflicts(conn, team, path.as_deref(), status, limit)?
                    .iter()
                    .map(ConflictResponse::from)
                    .collect(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(ConflictListResponse { items }))
}

/// How to settle a conflict.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolution": "merged", "data": {"team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "kind": "training", "held_on": "2025-10-10", "duration_minutes": 120, "format": "in_person", "topics": ["vneid"],
    "participants_total": 42, "participants_female": 23, "participants_ethnic_minority": 39, "participants_elderly": 6,
    "households_reached": 30}}))]
pub struct ResolveConflictRequest {
    /// `keep_server` (drop the phone's edit), `take_client` (apply it over the server's version) or `merged`
    /// (apply `data`).
    pub resolution: String,
    /// For `merged`: the whole record.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// A settled conflict and the record as it stands now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResolveConflictResponse {
    pub conflict: ConflictResponse,
    /// The record after the resolution (`null` when deleted).
    #[schema(value_type = Option<Object>)]
    pub record: Option<Value>,
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
        (status = 409, description = "Resolved already, the record was deleted meanwhile, or the period is locked.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid resolution or data.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sync/conflicts/{id}/resolve")]
pub async fn resolve_sync_conflict(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ResolveConflictRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ResolveSyncConflict)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let mut errors = FieldErrors::new();
    match body.resolution.as_str() {
        "keep_server" | "take_client" => {}
        "merged" if body.data.is_some() => {}
        "merged" => errors.add(
            "data",
            "required",
            "a merged resolution needs the whole record",
            "cần có dữ liệu đã gộp",
        ),
        _ => errors.add(
            "resolution",
            "invalid_choice",
            "must be keep_server, take_client or merged",
            "cách giải quyết không hợp lệ",
        ),
    }
    errors.finish()?;
    let lock_days = settings.reporting_lock_days;
    let response = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let conflict = sync::find_conflict(conn, id)
                    .optional_app()?
                    .filter(|c| actor.manages_members_of(c.team_id, &c.unit_path))
                    .ok_or_else(|| AppError::not_found("conflict"))?;
                if conflict.status != "open" {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        "This conflict was resolved already",
                        "Xung đột này đã được giải quyết",
                    )));
                }
                let data = match body.resolution.as_str() {
                    "merged" => body.data.clone(),
                    _ => conflict.client_data.clone(),
                };
                if body.resolution != "keep_server" {
                    apply_resolution(conn, &actor, &conflict, data, lock_days)?;
                }
                let resolved = sync::resolve_conflict(conn, id, &body.resolution, actor.id)?
                    .ok_or_else(|| AppError::new(ErrorCode::Conflict))?;
                let record = training_session::find(conn, conflict.record_id)
                    .optional_app()?
                    .filter(|found| found.session.deleted_at.is_none())
                    .map(|found| serde_json::to_value(SessionResponse::from(&found.session)))
                    .transpose()
                    .map_err(AppError::internal)?;
                Ok(ResolveConflictResponse {
                    conflict: ConflictResponse::from(&resolved),
                    record,
                })
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Applies the phone's (or the merged) side of a conflict over the server's current version.
fn apply_resolution(
    conn: &mut PgConnection,
    actor: &AuthUser,
    conflict: &Conflict,
    data: Option<Value>,
    lock_days: u32,
) -> Result<(), AppError> {
    let current = training_session::find(conn, conflict.record_id)?;
    if current.session.deleted_at.is_some() {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "The record was deleted on the server; keep the server's side or push it as a new record",
            "Bản ghi đã bị xoá trên máy chủ; hãy giữ bản của máy chủ hoặc gửi thành bản ghi mới",
        )));
    }
    if conflict.op == "delete" {
        training_sessions::delete_in(conn, actor, conflict.record_id, None, lock_days)?;
        return Ok(());
    }
    let item = PushItem {
        entity: conflict.entity.clone(),
        op: conflict.op.clone(),
        id: conflict.record_id,
        base_version: None,
        data,
    };
    let request = session_request(&item)?;
    if request.team_id != current.session.team_id {
        return Err(rejected(
            "data.team_id",
            "immutable",
            "a session cannot move to another team",
            "không thể chuyển buổi sang tổ khác",
        ));
    }
    let team = team::find(conn, current.session.team_id)?;
    let fields = request.fields(team.org_unit_id);
    training_sessions::update_in(conn, actor, conflict.record_id, None, |_| fields, lock_days)?;
    Ok(())
}
