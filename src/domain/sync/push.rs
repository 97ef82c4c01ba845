//! Sync push: records made or changed offline arrive in batches of up to 500, and each item is applied
//! on its own with exactly the permissions, rules, reporting lock and audit of the single-record
//! operations (`training_sessions`, `reach_activities`, `memberships`). An edit based on an older version
//! than the server's is not applied: it is kept in the conflict inbox with both sides.

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp},
    domain::{
        Precondition, Stored,
        memberships::{
            self, AddMemberRequest, MembershipOf, PersonRequest, UpdateMemberRequest,
            member_response, person_fields,
        },
        reach_activities::{self, ActivityResponse, CreateActivityRequest},
        training_sessions::{self, CreateSessionRequest, TrainingSessionResponse},
        validation::FieldErrors,
    },
    error::{AppError, ErrorCode, FieldError, Lang, Problem, Text, field_error_from_serde},
    models::{
        person::{self, MembershipDetail, PersonFields},
        reach_activity::{self, ActivityFields},
        sync::{self, NewConflict},
        team,
        training_session::{self, SessionFields},
    },
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
    #[schema(value_type = crate::reference::PushRecordType)]
    pub entity: String,
    /// `upsert` (create, or replace with `data`) or `delete`.
    #[schema(value_type = crate::reference::SyncOp)]
    pub op: String,
    /// The record's id (made by the phone for new records).
    pub id: Uuid,
    /// The server version the phone's copy was based on (`null` for a record new on the phone).
    pub base_version: Option<i32>,
    /// For upserts: the whole record, as its create endpoint takes it (reach activities add `campaign_id`);
    /// the shape of `type`. Data that breaks that shape (a wrong JSON type, a missing or unknown field)
    /// refuses the whole push with 422 naming `items[i].data.<field>`; the endpoint's rules are checked per
    /// item.
    #[schema(schema_with = push_data_schema)]
    pub data: Option<Value>,
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

/// `data` is the record in the shape of its `type`, or `null` for a delete.
fn push_data_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::schema::{AnyOfBuilder, Ref, Type};
    AnyOfBuilder::new()
        .item(Ref::from_schema_name("CreateSessionRequest"))
        .item(Ref::from_schema_name("SyncReachActivityData"))
        .item(Ref::from_schema_name("SyncMembershipData"))
        .item(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "`training_session`: `CreateSessionRequest`; `reach_activity`: `SyncReachActivityData`; \
             `membership`: `SyncMembershipData`; `null` for a delete.",
        ))
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
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(data) = item.data.as_ref().filter(|_| item.op == "upsert") else {
            continue;
        };
        let outcome = match item.entity.as_str() {
            "training_session" => shape::<CreateSessionRequest>(data),
            "reach_activity" => {
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
            "membership" => shape::<SyncMembershipData>(data),
            _ => Ok(()),
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
    #[schema(value_type = crate::reference::PushRecordType)]
    pub entity: String,
    pub id: Uuid,
    #[schema(value_type = crate::reference::SyncOp)]
    pub op: String,
    /// `created`, `updated` (also for an applied delete), `unchanged` (the server already holds exactly this,
    /// e.g. a retry), `conflict` (the server's version moved since `base_version`: kept in the conflict inbox,
    /// not applied), `rejected` (see `problem`, the same as the single-record endpoint answers) or `forbidden`.
    #[schema(value_type = crate::reference::PushOutcome)]
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

fn rejected(
    field: &'static str,
    code: &'static str,
    en: &'static str,
    vi: &'static str,
) -> AppError {
    AppError::validation(vec![FieldError::new(field, code, Text::new(en, vi))])
}

/// A stored record a push item meets.
pub(super) struct Existing {
    pub(super) team_id: Uuid,
    pub(super) unit_path: String,
    pub(super) version: i32,
    /// A tombstone: upserts conflict with it.
    pub(super) deleted: bool,
    /// Nothing left to delete (deleted, or a membership that ended).
    pub(super) ended: bool,
    /// The record as its endpoint returns it, with `deleted`.
    pub(super) server_data: Value,
}

/// What sync needs of a record type: the single-record endpoints' own operations.
pub(super) trait Kind: Sync {
    fn existing(&self, conn: &mut PgConnection, id: Uuid) -> Result<Option<Existing>, AppError>;
    /// True when `data` describes exactly the stored record (an error: the data is invalid).
    fn same(&self, conn: &mut PgConnection, item: &PushItem) -> Result<bool, AppError>;
    /// Creates the record: its version, new or already stored (a replay).
    fn create(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        item: &PushItem,
        lock_days: u32,
    ) -> Result<Stored<i32>, AppError>;
    /// Replaces the record with `data` at `version` (`None`: the current one).
    fn replace(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        data: Option<Value>,
        version: Option<i32>,
        lock_days: u32,
    ) -> Result<i32, AppError>;
    fn delete(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        version: Option<i32>,
        lock_days: u32,
    ) -> Result<i32, AppError>;
}

/// The operations of a record type, by its name.
pub(super) fn kind_of(entity: &str) -> Option<&'static dyn Kind> {
    match entity {
        "training_session" => Some(&Sessions),
        "reach_activity" => Some(&Activities),
        "membership" => Some(&Memberships),
        _ => None,
    }
}

/// The record as its endpoint returns it, with `deleted`.
fn with_deleted(value: impl Serialize, deleted: bool) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("deleted".to_owned(), Value::Bool(deleted));
    }
    value
}

/// 422 on `data` when an upsert has none.
fn required_data(data: Option<Value>) -> Result<Value, AppError> {
    data.ok_or_else(|| rejected("data", "required", "an upsert needs data", "cần có dữ liệu"))
}

/// 422 on `data` that does not parse as its type.
fn invalid_data(error: &serde_json::Error) -> AppError {
    AppError::validation(vec![FieldError::new(
        "data",
        "invalid",
        Text::new(error.to_string(), error.to_string()),
    )])
}

/// 422 when `data.id` names another record than the item.
fn check_id(id: Option<Uuid>, item_id: Uuid) -> Result<(), AppError> {
    if id.is_some_and(|id| id != item_id) {
        return Err(rejected(
            "data.id",
            "mismatch",
            "must be the item's id",
            "phải trùng với id của mục",
        ));
    }
    Ok(())
}

/// 422: this field of a stored record cannot change.
fn immutable(field: &'static str) -> AppError {
    rejected(
        field,
        "immutable",
        "cannot change once recorded",
        "không thể thay đổi sau khi đã ghi",
    )
}

/// Sessions (`POST /training-sessions` shape).
struct Sessions;

fn session_request(id: Uuid, data: Option<Value>) -> Result<CreateSessionRequest, AppError> {
    let request: CreateSessionRequest =
        serde_json::from_value(required_data(data)?).map_err(|e| invalid_data(&e))?;
    check_id(request.id, id)?;
    Ok(request)
}

impl Sessions {
    /// The fields `data` makes for the stored session `id`.
    fn fields_for(
        conn: &mut PgConnection,
        id: Uuid,
        data: Option<Value>,
    ) -> Result<SessionFields, AppError> {
        let stored = training_session::find(conn, id)?.session;
        let request = session_request(id, data)?;
        if request.team_id != stored.team_id {
            return Err(immutable("data.team_id"));
        }
        let team = team::find(conn, stored.team_id)?;
        Ok(request.fields(team.org_unit_id))
    }
}

impl Kind for Sessions {
    fn existing(&self, conn: &mut PgConnection, id: Uuid) -> Result<Option<Existing>, AppError> {
        Ok(training_session::find(conn, id)
            .optional_app()?
            .map(|found| Existing {
                team_id: found.session.team_id,
                version: found.session.version,
                deleted: found.session.deleted_at.is_some(),
                ended: found.session.deleted_at.is_some(),
                server_data: with_deleted(
                    TrainingSessionResponse::from(&found.session),
                    found.session.deleted_at.is_some(),
                ),
                unit_path: found.team_unit_path,
            }))
    }

    fn same(&self, conn: &mut PgConnection, item: &PushItem) -> Result<bool, AppError> {
        let stored = training_session::find(conn, item.id)?.session;
        let fields = Self::fields_for(conn, item.id, item.data.clone())?;
        Ok(SessionFields::of(&stored) == fields)
    }

    fn create(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        item: &PushItem,
        lock_days: u32,
    ) -> Result<Stored<i32>, AppError> {
        let request = session_request(item.id, item.data.clone())?;
        training_sessions::create(conn, actor, item.id, &request, lock_days)
            .map(|stored| stored.map(|session| session.version))
    }

    fn replace(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        data: Option<Value>,
        version: Option<i32>,
        lock_days: u32,
    ) -> Result<i32, AppError> {
        let fields = Self::fields_for(conn, id, data)?;
        training_sessions::update(
            conn,
            actor,
            id,
            &Precondition::from(version),
            |_| fields,
            lock_days,
        )
        .map(|session| session.version)
    }

    fn delete(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        version: Option<i32>,
        lock_days: u32,
    ) -> Result<i32, AppError> {
        training_sessions::delete(conn, actor, id, &Precondition::from(version), lock_days)
            .map(|s| s.version)
    }
}

/// Reach activities (`POST /campaigns/{id}/reach-activities` shape, plus `campaign_id`).
struct Activities;

fn activity_request(
    id: Uuid,
    data: Option<Value>,
) -> Result<(Uuid, CreateActivityRequest), AppError> {
    let mut data = required_data(data)?;
    let campaign = data
        .as_object_mut()
        .and_then(|object| object.remove("campaign_id"))
        .and_then(|value| value.as_str().and_then(|text| text.parse::<Uuid>().ok()))
        .ok_or_else(|| {
            rejected(
                "data.campaign_id",
                "required",
                "the campaign's id is required",
                "cần id của chiến dịch",
            )
        })?;
    let request: CreateActivityRequest =
        serde_json::from_value(data).map_err(|e| invalid_data(&e))?;
    check_id(request.id, id)?;
    Ok((campaign, request))
}

impl Activities {
    /// The fields `data` makes for the stored activity `id`.
    fn fields_for(
        conn: &mut PgConnection,
        id: Uuid,
        data: Option<Value>,
    ) -> Result<ActivityFields, AppError> {
        let stored = reach_activity::find(conn, id)?.activity;
        let (campaign, request) = activity_request(id, data)?;
        if campaign != stored.campaign_id {
            return Err(immutable("data.campaign_id"));
        }
        if request.team_id != stored.team_id {
            return Err(immutable("data.team_id"));
        }
        let team = team::find(conn, stored.team_id)?;
        Ok(request.fields(campaign, team.org_unit_id))
    }
}

impl Kind for Activities {
    fn existing(&self, conn: &mut PgConnection, id: Uuid) -> Result<Option<Existing>, AppError> {
        Ok(reach_activity::find(conn, id)
            .optional_app()?
            .map(|found| Existing {
                team_id: found.activity.team_id,
                version: found.activity.version,
                deleted: found.activity.deleted_at.is_some(),
                ended: found.activity.deleted_at.is_some(),
                server_data: with_deleted(
                    ActivityResponse::from(&found.activity),
                    found.activity.deleted_at.is_some(),
                ),
                unit_path: found.team_unit_path,
            }))
    }

    fn same(&self, conn: &mut PgConnection, item: &PushItem) -> Result<bool, AppError> {
        let stored = reach_activity::find(conn, item.id)?.activity;
        let fields = Self::fields_for(conn, item.id, item.data.clone())?;
        Ok(ActivityFields::of(&stored) == fields)
    }

    fn create(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        item: &PushItem,
        lock_days: u32,
    ) -> Result<Stored<i32>, AppError> {
        let (campaign, request) = activity_request(item.id, item.data.clone())?;
        reach_activities::create(conn, actor, campaign, item.id, &request, lock_days)
            .map(|stored| stored.map(|activity| activity.version))
    }

    fn replace(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        data: Option<Value>,
        version: Option<i32>,
        lock_days: u32,
    ) -> Result<i32, AppError> {
        let fields = Self::fields_for(conn, id, data)?;
        reach_activities::update(
            conn,
            actor,
            id,
            &Precondition::from(version),
            |_| fields,
            lock_days,
        )
        .map(|activity| activity.version)
    }

    fn delete(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        version: Option<i32>,
        lock_days: u32,
    ) -> Result<i32, AppError> {
        reach_activities::delete(conn, actor, id, &Precondition::from(version), lock_days)
            .map(|a| a.version)
    }
}

/// Memberships: the team, the role and dates, and the person (`person_id` of someone known, or `person`
/// with their details, as `POST /teams/{id}/members` takes them); `delete` ends the membership. Members
/// have no reporting lock.
struct Memberships;

/// A membership as a push carries it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncMembershipData {
    /// The team (cannot change).
    pub team_id: Uuid,
    /// The item's id again (optional).
    pub id: Option<Uuid>,
    /// Someone already known; or `person` with their details.
    pub person_id: Option<Uuid>,
    pub person: Option<PersonRequest>,
    /// `leader`, `deputy` or `member`.
    #[schema(value_type = crate::reference::MembershipRole)]
    pub role: String,
    pub joined_on: Option<NaiveDate>,
    /// Set when the member left (ends the membership).
    pub left_on: Option<NaiveDate>,
}

fn membership_data(id: Uuid, data: Option<Value>) -> Result<SyncMembershipData, AppError> {
    let parsed: SyncMembershipData =
        serde_json::from_value(required_data(data)?).map_err(|e| invalid_data(&e))?;
    check_id(parsed.id, id)?;
    Ok(parsed)
}

impl Memberships {
    /// The stored membership, checked against what the data may not change.
    fn stored(
        conn: &mut PgConnection,
        id: Uuid,
        data: &SyncMembershipData,
    ) -> Result<MembershipDetail, AppError> {
        let detail = person::find_membership(conn, id)?;
        if data.team_id != detail.membership.team_id {
            return Err(immutable("data.team_id"));
        }
        if data.person_id.is_some_and(|p| p != detail.person.id) {
            return Err(immutable("data.person_id"));
        }
        Ok(detail)
    }
}

impl Kind for Memberships {
    fn existing(&self, conn: &mut PgConnection, id: Uuid) -> Result<Option<Existing>, AppError> {
        Ok(person::find_membership(conn, id)
            .optional_app()?
            .map(|detail| Existing {
                team_id: detail.membership.team_id,
                version: detail.membership.version,
                deleted: false,
                ended: detail.membership.left_on.is_some(),
                server_data: with_deleted(member_response(&detail, true), false),
                unit_path: detail.unit_path,
            }))
    }

    fn same(&self, conn: &mut PgConnection, item: &PushItem) -> Result<bool, AppError> {
        let data = membership_data(item.id, item.data.clone())?;
        let detail = Self::stored(conn, item.id, &data)?;
        let m = &detail.membership;
        let person_same = match &data.person {
            Some(request) => {
                let mut ignored = FieldErrors::new();
                person_fields(request, "", &mut ignored) == PersonFields::of(&detail.person)
            }
            None => true,
        };
        Ok(person_same
            && data.role == m.role
            && data.joined_on.is_none_or(|d| d == m.joined_on)
            && data.left_on == m.left_on)
    }

    fn create(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        item: &PushItem,
        _lock_days: u32,
    ) -> Result<Stored<i32>, AppError> {
        let data = membership_data(item.id, item.data.clone())?;
        let request = AddMemberRequest {
            id: Some(item.id),
            person_id: data.person_id,
            person: data.person.clone(),
            role: data.role.clone(),
            joined_on: data.joined_on,
        };
        let stored = memberships::add(conn, actor, data.team_id, &request)?;
        if stored.is_created() && data.left_on.is_some() {
            // Joined and left while offline.
            let ended = memberships::update(
                conn,
                actor,
                MembershipOf {
                    team_id: data.team_id,
                    id: item.id,
                },
                &Precondition::Any,
                &UpdateMemberRequest {
                    left_on: Some(data.left_on),
                    ..UpdateMemberRequest::default()
                },
            )?;
            return Ok(Stored::Created(ended.version));
        }
        Ok(stored.map(|member| member.version))
    }

    fn replace(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        data: Option<Value>,
        version: Option<i32>,
        _lock_days: u32,
    ) -> Result<i32, AppError> {
        let data = membership_data(id, data)?;
        Self::stored(conn, id, &data)?;
        let person = data.person.clone();
        let request = UpdateMemberRequest {
            role: Some(data.role.clone()),
            joined_on: data.joined_on,
            left_on: Some(data.left_on),
            full_name: person.as_ref().map(|p| p.full_name.clone()),
            phone: person.as_ref().map(|p| p.phone.clone()),
            gender: person.as_ref().and_then(|p| p.gender.clone()),
            birth_year: person.as_ref().map(|p| p.birth_year),
            ethnicity: person.as_ref().map(|p| p.ethnicity.clone()),
            affiliation: person.as_ref().and_then(|p| p.affiliation.clone()),
        };
        let membership = MembershipOf {
            team_id: data.team_id,
            id,
        };
        memberships::update(
            conn,
            actor,
            membership,
            &Precondition::from(version),
            &request,
        )
        .map(|m| m.version)
    }

    fn delete(
        &self,
        conn: &mut PgConnection,
        actor: &AuthUser,
        id: Uuid,
        version: Option<i32>,
        _lock_days: u32,
    ) -> Result<i32, AppError> {
        let detail = person::find_membership(conn, id)?;
        Precondition::from(version).check(detail.membership.version)?;
        let membership = MembershipOf {
            team_id: detail.membership.team_id,
            id,
        };
        memberships::end(conn, actor, membership)?;
        Ok(person::find_membership(conn, id)?.membership.version)
    }
}

/// Applies one item inside its own transaction.
fn push_one(
    conn: &mut PgConnection,
    actor: &AuthUser,
    kind: &dyn Kind,
    item: &PushItem,
    lock_days: u32,
) -> Result<Outcome, AppError> {
    let Some(existing) = kind.existing(conn, item.id)? else {
        return match item.op.as_str() {
            // Nothing to delete: the server never had it.
            "delete" => Ok(Outcome::Unchanged(None)),
            _ => kind
                .create(conn, actor, item, lock_days)
                .map(|stored| match stored {
                    Stored::Created(version) => Outcome::Created(version),
                    Stored::AlreadyStored(version) => Outcome::Unchanged(Some(version)),
                }),
        };
    };
    if !actor.manages_members_of(existing.team_id, &existing.unit_path) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let current = Some(existing.version);
    let apply = match item.op.as_str() {
        "delete" if existing.ended => return Ok(Outcome::Unchanged(current)),
        "delete" => item.base_version == current,
        _ => {
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
                entity: item.entity.clone(),
                record_id: item.id,
                op: item.op.clone(),
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
    let version = match item.op.as_str() {
        "delete" => kind.delete(conn, actor, item.id, item.base_version, lock_days)?,
        _ => kind.replace(
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
    lock_days: u32,
    lang: Lang,
) -> Result<Vec<PushResult>, AppError> {
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let outcome = match (kind_of(&item.entity), item.op.as_str()) {
            (_, op) if op != "upsert" && op != "delete" => Err(rejected(
                "op",
                "invalid_choice",
                "must be upsert or delete",
                "phải là upsert hoặc delete",
            )),
            (Some(kind), _) => {
                conn.transaction(|conn| push_one(conn, actor, kind, item, lock_days))
            }
            (None, _) => Err(rejected(
                "type",
                "invalid_choice",
                "must be training_session, reach_activity or membership",
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
}
