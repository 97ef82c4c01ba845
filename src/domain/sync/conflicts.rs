//! The conflict inbox: pushed edits that met a newer server version, kept with both sides until the
//! pusher's team leader, an officer in scope or an admin settles them.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role},
    domain::{
        sync::kinds::{Kind, kind_of},
        validation::FieldErrors,
    },
    error::{AppError, ErrorCode, Text},
    models::sync::{self, Conflict},
    reference::{
        Choice, ConflictResolution, ConflictStatus, ConflictStatusFilter, PushRecordType, SyncOp,
        check_choice,
    },
};

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
    pub entity: PushRecordType,
    pub record_id: Uuid,
    pub op: SyncOp,
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
    pub status: ConflictStatus,
    /// `keep_server`, `take_client` or `merged`.
    pub resolution: Option<ConflictResolution>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Conflict> for ConflictResponse {
    fn from(c: &Conflict) -> Self {
        Self {
            id: c.id,
            entity: c.entity,
            record_id: c.record_id,
            op: c.op,
            team_id: c.team_id,
            pushed_by: c.pushed_by,
            base_version: c.base_version,
            server_version: c.server_version,
            client_data: c.client_data.clone(),
            server_data: c.server_data.clone(),
            status: c.status,
            resolution: c.resolution,
            resolved_by: c.resolved_by,
            resolved_at: c.resolved_at,
            created_at: c.created_at,
        }
    }
}

/// The conflict inbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9b", "type": "training_session",
    "record_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "op": "upsert", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "pushed_by": "0193a0f4-7b1e-7c53-a8e1-000000000002", "base_version": 1, "server_version": 2,
    "client_data": {"participants_total": 40}, "server_data": {"participants_total": 42, "version": 2, "deleted": false},
    "status": "open", "resolution": null, "resolved_by": null, "resolved_at": null,
    "created_at": "2025-10-12T03:00:00Z"}], "next_cursor": null}))]
pub struct ConflictListResponse {
    pub items: Vec<ConflictResponse>,
    /// The cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
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
    #[schema(value_type = ConflictResolution)]
    pub resolution: Choice<ConflictResolution>,
    /// For `merged`: the whole record.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// A settled conflict and the record as it stands now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"conflict": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9b", "type": "training_session",
    "record_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "op": "upsert", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "pushed_by": "0193a0f4-7b1e-7c53-a8e1-000000000002", "base_version": 1, "server_version": 2,
    "client_data": {"participants_total": 40}, "server_data": {"participants_total": 42, "version": 2, "deleted": false},
    "status": "resolved", "resolution": "take_client", "resolved_by": "0193a0f4-7b1e-7c53-a8e1-000000000002",
    "resolved_at": "2025-10-12T04:00:00Z", "created_at": "2025-10-12T03:00:00Z"},
    "record": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "participants_total": 40, "version": 3}}))]
pub struct ResolveConflictResponse {
    pub conflict: ConflictResponse,
    /// The record after the resolution (`null` when deleted).
    #[schema(value_type = Option<Object>)]
    pub record: Option<Value>,
}

/// Which conflicts a list asks for: `open` (default), `resolved` or `all` (`None`); 422 otherwise.
pub fn parse_status_filter(
    status: Option<&Choice<ConflictStatusFilter>>,
) -> Result<Option<ConflictStatus>, AppError> {
    let mut errors = FieldErrors::new();
    let status = check_choice(&mut errors, "status", status);
    errors.finish()?;
    Ok(match status {
        None | Some(ConflictStatusFilter::Open) => Some(ConflictStatus::Open),
        Some(ConflictStatusFilter::Resolved) => Some(ConflictStatus::Resolved),
        Some(ConflictStatusFilter::All) => None,
    })
}

/// A page of the conflicts the actor may see (team leaders their team's, officers their subtree's,
/// admins all), newest first, before the keyset position `after`.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    status: Option<ConflictStatus>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Conflict>, AppError> {
    let leader = actor.role == Role::TeamLeader;
    let team = leader.then(|| actor.team_id.unwrap_or_else(Uuid::nil));
    let path = actor.scope_filter().filter(|_| !leader);
    Ok(sync::list_conflicts(
        conn,
        team,
        path.as_deref(),
        status,
        after,
        limit,
    )?)
}

impl ResolveConflictRequest {
    /// The resolution, checked: `merged` needs `data`.
    pub fn parse(self) -> Result<Self, AppError> {
        let mut errors = FieldErrors::new();
        if self.resolution.check(&mut errors, "resolution") == Some(ConflictResolution::Merged)
            && self.data.is_none()
        {
            errors.add(
                "data",
                "required",
                "a merged resolution needs the whole record",
                "cần có dữ liệu đã gộp",
            );
        }
        errors.finish()?;
        Ok(self)
    }
}

/// Settles conflict `id` (call inside a transaction): `keep_server` drops the phone's edit,
/// `take_client` applies it over the server's current version, `merged` applies `data`. Applying is a
/// normal write, so it can still be refused with the operation's problem.
pub fn resolve(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    body: &ResolveConflictRequest,
    lock_days: u32,
) -> Result<ResolveConflictResponse, AppError> {
    let conflict = sync::find_conflict(conn, id)
        .optional_app()?
        .filter(|c| actor.manages_members_of(c.team_id, &c.unit_path))
        .ok_or_else(|| AppError::not_found("conflict"))?;
    if conflict.status != ConflictStatus::Open {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "This conflict was resolved already",
            "Xung đột này đã được giải quyết",
        )));
    }
    let kind = kind_of(conflict.entity);
    let resolution = body.resolution.checked()?;
    let data = match resolution {
        ConflictResolution::Merged => body.data.clone(),
        ConflictResolution::KeepServer | ConflictResolution::TakeClient => {
            conflict.client_data.clone()
        }
    };
    if resolution != ConflictResolution::KeepServer {
        apply_resolution(conn, actor, kind, &conflict, data, lock_days)?;
    }
    let resolved = sync::resolve_conflict(conn, id, resolution, actor.id)?
        .ok_or_else(|| AppError::new(ErrorCode::Conflict))?;
    let record = kind
        .existing(conn, conflict.record_id)?
        .filter(|e| !e.deleted)
        .map(|e| e.server_data);
    Ok(ResolveConflictResponse {
        conflict: ConflictResponse::from(&resolved),
        record,
    })
}

/// Applies the phone's (or the merged) side of a conflict over the server's current version.
fn apply_resolution(
    conn: &mut PgConnection,
    actor: &AuthUser,
    kind: &dyn Kind,
    conflict: &Conflict,
    data: Option<Value>,
    lock_days: u32,
) -> Result<(), AppError> {
    let deleted = kind
        .existing(conn, conflict.record_id)?
        .is_none_or(|e| e.deleted);
    if deleted {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "The record was deleted on the server; keep the server's side or push it as a new record",
            "Bản ghi đã bị xoá trên máy chủ; hãy giữ bản của máy chủ hoặc gửi thành bản ghi mới",
        )));
    }
    if conflict.op == SyncOp::Delete {
        kind.delete(conn, actor, conflict.record_id, None, lock_days)?;
    } else {
        kind.replace(conn, actor, conflict.record_id, data, None, lock_days)?;
    }
    Ok(())
}
