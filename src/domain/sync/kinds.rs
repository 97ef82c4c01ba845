//! The record types a push carries (training sessions, reach activities, memberships) and what sync
//! needs of each: find the stored record, compare, create, replace, delete, each through the
//! single-record operations of the domain.

use chrono::NaiveDate;
use diesel::PgConnection;
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
        sync::push::{PushItem, rejected},
        training_sessions::{self, CreateSessionRequest, TrainingSessionResponse},
        validation::FieldErrors,
    },
    error::{AppError, FieldError, Text},
    models::{
        person::{self, MembershipDetail, PersonFields},
        reach_activity::{self, ActivityFields},
        team,
        training_session::{self, SessionFields},
    },
    reference::PushRecordType,
};

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
pub(super) fn kind_of(entity: PushRecordType) -> &'static dyn Kind {
    match entity {
        PushRecordType::TrainingSession => &Sessions,
        PushRecordType::ReachActivity => &Activities,
        PushRecordType::Membership => &Memberships,
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
pub(super) struct Sessions;

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
pub(super) struct Activities;

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
pub(super) struct Memberships;

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
    pub role: crate::reference::Choice<crate::reference::MembershipRole>,
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
            && data.role == crate::reference::Choice::Known(m.role)
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
