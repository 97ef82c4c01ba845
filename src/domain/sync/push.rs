//! Sync push: records made or changed offline arrive in batches of up to 500, and each item is applied
//! on its own with exactly the permissions, rules, reporting lock and audit of the single-record
//! operations (`training_sessions`, `reach_activities`, `memberships`). An edit based on an older version
//! than the server's is not applied: it is kept in the conflict inbox with both sides.

use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::domain::sync::kinds::SyncMembershipData;
use crate::{
    auth::AuthUser,
    domain::sync::kinds::{Kind, kind_of},
    domain::{
        Stored, reach_activities::CreateActivityRequest, training_sessions::CreateSessionRequest,
        validation::FieldErrors,
    },
    error::{AppError, ErrorCode, FieldError, Lang, Problem, Text, field_error_from_serde},
    models::sync::{self, NewConflict},
    reference::{Choice, PushOutcome, PushRecordType, SyncOp, Vocabulary},
};

/// Items per push.
pub const MAX_PUSH_ITEMS: usize = crate::contract::PUSH_ITEMS.1;

/// Bytes per push (500 records with long notes).
pub const PUSH_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// One record pushed by a phone.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushItem {
    /// `training_session`, `reach_activity` or `membership`.
    #[serde(rename = "type")]
    #[schema(value_type = PushRecordType)]
    pub entity: Choice<PushRecordType>,
    /// `upsert` (create, or replace with `data`) or `delete`.
    #[schema(value_type = SyncOp)]
    pub op: Choice<SyncOp>,
    /// The record's id (made by the phone for new records).
    pub id: Uuid,
    /// The server version the phone's copy was based on (`null` for a record new on the phone).
    pub base_version: Option<i32>,
    /// For upserts: the whole record, as its create endpoint takes it (reach activities add `campaign_id`);
    /// the shape of `type`. Data that breaks that shape (a wrong JSON type, a missing or unknown field)
    /// refuses the whole push with 422 naming `items[i].data.<field>`; the endpoint's rules are checked per
    /// item. A delete carries no `data` (null or absent; anything else refuses the push with 422
    /// `not_allowed`).
    #[schema(schema_with = push_data_schema)]
    pub data: Option<Value>,
    /// Sessions and reach activities (upserts): finished uploads of yours to attach once the record is
    /// stored, as `POST .../attachments` takes them (an offline phone uploads its photos first, then
    /// pushes the record with their upload ids). An upload already attached to this record is left as
    /// it is, so a retried push never duplicates; an attachment that fails rejects the item, record
    /// included, so the phone retries both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::domain::attachments::AttachRequest>,
}

/// A reach activity as a push carries it: the body of `POST /campaigns/{id}/reach-activities` plus the
/// campaign's id.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SyncReachActivityData {
    /// The campaign the activity belongs to.
    pub campaign_id: Uuid,
    #[serde(flatten)]
    pub activity: CreateActivityRequest,
}

/// The component of a record type's `data`, named by the Rust type `check_batch` reads it as: the
/// document ties the two with a `oneOf` on `PushItem` (`crate::openapi`), so a client cannot send one type
/// with another's data.
pub fn data_component(entity: PushRecordType) -> std::borrow::Cow<'static, str> {
    match entity {
        PushRecordType::TrainingSession => CreateSessionRequest::name(),
        PushRecordType::ReachActivity => SyncReachActivityData::name(),
        PushRecordType::Membership => SyncMembershipData::name(),
    }
}

/// `data` is the record in the shape of its `type`, or `null` for a delete.
fn push_data_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::schema::{AnyOfBuilder, Ref, Type};
    let mut schema = AnyOfBuilder::new();
    let mut description = Vec::new();
    for entity in PushRecordType::ALL {
        let component = data_component(*entity);
        schema = schema.item(Ref::from_schema_name(component.clone()));
        description.push(format!("`{entity}`: `{component}`"));
    }
    schema
        .item(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(format!(
            "{}; `null` for a delete.",
            description.join("; ")
        )))
}

fn kind_of_json(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every shape error of the batch's data at once (wrong JSON types, missing or unknown fields), named
/// `items[i].data.<path>`: such a push contradicts the document and is refused whole, before anything is
/// applied. The endpoints' own rules are left to each item.
fn check_shapes(items: &[PushItem]) -> Result<(), AppError> {
    fn shape<T: serde::de::DeserializeOwned>(data: &Value) -> Result<(), (String, String)> {
        if !data.is_object() {
            // serde would take an array for a struct's fields in order; the document says object.
            return Err((
                String::new(),
                format!("invalid type: {}, expected an object", kind_of_json(data)),
            ));
        }
        serde_path_to_error::deserialize::<_, T>(data)
            .map(drop)
            .map_err(|error| (error.path().to_string(), error.inner().to_string()))
    }
    let mut choices = FieldErrors::new();
    for (index, item) in items.iter().enumerate() {
        item.entity
            .check(&mut choices, format!("items[{index}].type"));
        item.op.check(&mut choices, format!("items[{index}].op"));
    }
    let mut errors = choices.into_errors();
    for (index, item) in items.iter().enumerate() {
        let attachable = item.op == Choice::Known(SyncOp::Upsert)
            && matches!(
                item.entity.known(),
                Some(PushRecordType::TrainingSession | PushRecordType::ReachActivity)
            );
        if !item.attachments.is_empty() && !attachable {
            errors.push(crate::error::FieldError::new(
                format!("items[{index}].attachments"),
                "not_allowed",
                crate::error::Text::new(
                    "only upserts of sessions and reach activities carry attachments",
                    "chỉ buổi sinh hoạt và hoạt động tuyên truyền (khi lưu) mới kèm tệp",
                ),
            ));
        }
        let Some(data) = item.data.as_ref() else {
            continue;
        };
        // A delete carries no record (the document says `data` is null then); an upsert's has the shape
        // of its type.
        if item.op == Choice::Known(SyncOp::Delete) {
            errors.push(crate::error::FieldError::new(
                format!("items[{index}].data"),
                "not_allowed",
                crate::error::Text::new(
                    "must be null for a delete",
                    "phải để trống (null) khi xoá",
                ),
            ));
            continue;
        }
        let Some(entity) = item.entity.known() else {
            continue;
        };
        let outcome = match entity {
            PushRecordType::TrainingSession => shape::<CreateSessionRequest>(data),
            PushRecordType::ReachActivity => {
                let mut data = data.clone();
                let campaign = data.as_object_mut().map(|o| o.remove("campaign_id"));
                match campaign {
                    Some(Some(campaign))
                        if campaign
                            .as_str()
                            .and_then(|c| c.parse::<Uuid>().ok())
                            .is_none() =>
                    {
                        Err((
                            "campaign_id".to_owned(),
                            "invalid type: expected a UUID string".to_owned(),
                        ))
                    }
                    _ => shape::<CreateActivityRequest>(&data),
                }
            }
            PushRecordType::Membership => shape::<SyncMembershipData>(data),
        };
        if let Err((path, message)) = outcome {
            let at = match path.as_str() {
                "" | "." => format!("items[{index}].data"),
                path => format!("items[{index}].data.{path}"),
            };
            errors.push(field_error_from_serde(Some(&at), &message));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
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
    pub entity: PushRecordType,
    pub id: Uuid,
    pub op: SyncOp,
    /// `created`, `updated` (also for an applied delete), `unchanged` (the server already holds exactly this,
    /// e.g. a retry), `conflict` (the server's version moved since `base_version`: kept in the conflict inbox,
    /// not applied), `rejected` (see `problem`, the same as the single-record endpoint answers) or `forbidden`.
    pub status: PushOutcome,
    /// The record's version on the server after this item.
    pub version: Option<i32>,
    /// For `conflict`: the inbox entry.
    pub conflict_id: Option<Uuid>,
    /// For `rejected` and `forbidden`: the problem, with every field error.
    pub problem: Option<Problem>,
}

/// The results of a push, one per item, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"results": [
    {"index": 0, "type": "training_session", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "op": "upsert",
     "status": "created", "version": 1, "conflict_id": null, "problem": null},
    {"index": 1, "type": "training_session", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9b", "op": "upsert",
     "status": "conflict", "version": 3, "conflict_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2c01", "problem": null},
    {"index": 2, "type": "reach_activity", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9c", "op": "upsert",
     "status": "rejected", "version": null, "conflict_id": null,
     "problem": {"type": "/problems/validation_failed", "title": "Request body is invalid", "status": 422,
                 "code": "validation_failed", "errors": [{"field": "contacts", "code": "negative",
                 "message": "must not be negative"}]}}]}))]
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

pub(super) fn rejected(
    field: &'static str,
    code: &'static str,
    en: &'static str,
    vi: &'static str,
) -> AppError {
    AppError::validation(vec![FieldError::new(field, code, Text::new(en, vi))])
}

/// Applies one item inside its own transaction.
fn push_one(
    conn: &mut PgConnection,
    actor: &AuthUser,
    kind: &dyn Kind,
    (entity, op): (PushRecordType, SyncOp),
    item: &PushItem,
    lock_days: u32,
) -> Result<Outcome, AppError> {
    let Some(existing) = kind.existing(conn, item.id)? else {
        return match op {
            // Nothing to delete: the server never had it.
            SyncOp::Delete => Ok(Outcome::Unchanged(None)),
            SyncOp::Upsert => {
                kind.create(conn, actor, item, lock_days)
                    .map(|stored| match stored {
                        Stored::Created(version) => Outcome::Created(version),
                        Stored::AlreadyStored(version) => Outcome::Unchanged(Some(version)),
                    })
            }
        };
    };
    if !actor.manages_members_of(existing.team_id, &existing.unit_path) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let current = Some(existing.version);
    let apply = match op {
        SyncOp::Delete if existing.ended => return Ok(Outcome::Unchanged(current)),
        SyncOp::Delete => item.base_version == current,
        SyncOp::Upsert => {
            if !existing.deleted && kind.same(conn, item)? {
                return Ok(Outcome::Unchanged(current));
            }
            !existing.deleted && item.base_version == current
        }
    };
    if !apply {
        let stored = sync::record_conflict(
            conn,
            &NewConflict {
                id: Uuid::now_v7(),
                entity,
                record_id: item.id,
                op,
                team_id: existing.team_id,
                unit_path: existing.unit_path,
                pushed_by: actor.id,
                base_version: item.base_version,
                server_version: existing.version,
                client_data: item.data.clone(),
                server_data: existing.server_data,
            },
        )?;
        return Ok(Outcome::Conflict(stored.id, existing.version));
    }
    let version = match op {
        SyncOp::Delete => kind.delete(conn, actor, item.id, item.base_version, lock_days)?,
        SyncOp::Upsert => kind.replace(
            conn,
            actor,
            item.id,
            item.data.clone(),
            item.base_version,
            lock_days,
        )?,
    };
    Ok(Outcome::Updated(version))
}

/// Attaches the uploads an item carries to its (stored) record.
fn attach_pushed(
    conn: &mut PgConnection,
    actor: &AuthUser,
    entity: PushRecordType,
    item: &PushItem,
    per_record: u32,
    lock_days: u32,
) -> Result<(), AppError> {
    use crate::models::attachment::Owner;
    let owner = match entity {
        PushRecordType::TrainingSession => Owner::Session(item.id),
        PushRecordType::ReachActivity => Owner::Activity(item.id),
        PushRecordType::Membership => return Ok(()),
    };
    for request in &item.attachments {
        crate::domain::attachments::attach(conn, actor, owner, request, per_record, lock_days)?;
    }
    Ok(())
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

/// Checks a batch before anything is applied: 1-500 items, and every item's data in the documented
/// shape of its type (422 for the whole push otherwise).
pub fn check_batch(items: &[PushItem]) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if items.is_empty() || items.len() > MAX_PUSH_ITEMS {
        errors.add(
            "items",
            "count",
            format!("must hold 1 to {MAX_PUSH_ITEMS} items"),
            format!("phải có từ 1 đến {MAX_PUSH_ITEMS} mục"),
        );
    }
    errors.finish()?;
    check_shapes(items)
}

/// Applies a checked batch, each item in its own transaction with the single-record operations, and
/// returns one result per item, in order; a rejected item carries its problem in `lang`. A database
/// failure fails the whole push (a retry finds the applied items `unchanged`).
pub fn push(
    conn: &mut PgConnection,
    actor: &AuthUser,
    items: &[PushItem],
    (lock_days, per_record): (u32, u32),
    lang: Lang,
) -> Result<Vec<PushResult>, AppError> {
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        // `check_batch` refused unknown types and operations for the whole push.
        let (entity, op) = (item.entity.checked()?, item.op.checked()?);
        let outcome = conn.transaction(|conn| {
            let outcome = push_one(conn, actor, kind_of(entity), (entity, op), item, lock_days)?;
            if !matches!(outcome, Outcome::Conflict(..)) {
                attach_pushed(conn, actor, entity, item, per_record, lock_days)?;
            }
            Ok::<_, AppError>(outcome)
        });
        let (status, version, conflict_id, problem) = match outcome {
            Ok(Outcome::Created(v)) => (PushOutcome::Created, Some(v), None, None),
            Ok(Outcome::Updated(v)) => (PushOutcome::Updated, Some(v), None, None),
            Ok(Outcome::Unchanged(v)) => (PushOutcome::Unchanged, v, None, None),
            Ok(Outcome::Conflict(id, v)) => (PushOutcome::Conflict, Some(v), Some(id), None),
            // The database failing is not the item's fault: the whole push answers 503, and a
            // retry finds the items already applied `unchanged`.
            Err(error) if error.is_server_error() => return Err(error),
            Err(error) if is_forbidden(&error) => {
                let forbidden = AppError::new(ErrorCode::Forbidden).with_detail(Text::new(
                    "This record is outside your teams",
                    "Bản ghi này không thuộc tổ của bạn",
                ));
                (
                    PushOutcome::Forbidden,
                    None,
                    None,
                    Some(forbidden.problem(lang, actor.request_id.as_deref())),
                )
            }
            Err(error) => (
                PushOutcome::Rejected,
                None,
                None,
                Some(error.problem(lang, actor.request_id.as_deref())),
            ),
        };
        results.push(PushResult {
            index,
            entity,
            id: item.id,
            op,
            status,
            version,
            conflict_id,
            problem,
        });
    }
    Ok(results)
}
