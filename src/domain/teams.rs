//! Teams: the registry every session, reach activity, target and report refers to. Who may see a team,
//! the rules a team's fields obey, and the operations on teams (register, change, dissolve), shared by the
//! HTTP routes and the imports. A team is never deleted: a dissolved team keeps its history.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role, policy::forbidden},
    contract,
    domain::{
        Precondition,
        memberships::{MemberResponse, member_responses},
        org_units::OrgUnitRef,
        today_in_vietnam,
        validation::{FieldErrors, double_option, normalized, normalized_optional},
    },
    error::{AppError, ErrorCode, FieldError, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit, person,
        team::{self, Team, TeamFields, TeamFilter, TeamListed},
    },
    reference::{Choice, OrgUnitLevel, TeamStatus, check_choice},
};

/// A team.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "code": "SL-VANHO-001",
    "name": "Tổ công nghệ số cộng đồng bản Bó Nhàng", "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "org_unit_name": "Bản Bó Nhàng", "level": "village", "status": "active", "founded_on": "2022-09-15",
    "dissolved_on": null, "dissolution_reason": null, "establishment_decision": "125/QĐ-UBND",
    "zalo_group_members": 86, "zalo_group_members_as_of": "2025-06-01", "notes": null,
    "leader_name": "Lò Văn Minh", "version": 1, "created_at": "2025-07-01T00:00:00Z", "updated_at": "2025-07-01T00:00:00Z"}))]
pub struct TeamResponse {
    pub id: Uuid,
    /// Unique, stable code for integrators.
    pub code: String,
    pub name: String,
    /// The commune or village the team serves.
    pub org_unit_id: Uuid,
    pub org_unit_name: String,
    /// `commune` or `village` (from the unit).
    pub level: OrgUnitLevel,
    /// `active`, `inactive` or `dissolved`.
    pub status: TeamStatus,
    pub founded_on: Option<NaiveDate>,
    pub dissolved_on: Option<NaiveDate>,
    pub dissolution_reason: Option<String>,
    /// Number of the commune's establishing decision.
    pub establishment_decision: Option<String>,
    /// Members of the team's Zalo group (its audience), as of `zalo_group_members_as_of`.
    pub zalo_group_members: Option<i32>,
    pub zalo_group_members_as_of: Option<NaiveDate>,
    pub notes: Option<String>,
    /// The current leader's name (`null` without a leader).
    pub leader_name: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TeamResponse {
    pub fn new(
        team: &Team,
        unit_name: &str,
        level: OrgUnitLevel,
        leader_name: Option<String>,
    ) -> Self {
        Self {
            id: team.id,
            code: team.code.clone(),
            name: team.name.clone(),
            org_unit_id: team.org_unit_id,
            org_unit_name: unit_name.to_owned(),
            level,
            status: team.status,
            founded_on: team.founded_on,
            dissolved_on: team.dissolved_on,
            dissolution_reason: team.dissolution_reason.clone(),
            establishment_decision: team.establishment_decision.clone(),
            zalo_group_members: team.zalo_group_members,
            zalo_group_members_as_of: team.zalo_group_members_as_of,
            notes: team.notes.clone(),
            leader_name,
            version: team.version,
            created_at: team.created_at,
            updated_at: team.updated_at,
        }
    }
}

/// A period of the team's unit history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamUnitPeriod {
    pub org_unit_id: Uuid,
    pub code: String,
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// A team with its members, its unit's path and the units it served over time.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamDetailResponse {
    #[serde(flatten)]
    pub team: TeamResponse,
    /// The unit's ancestors and the unit itself, root first.
    pub unit_path: Vec<OrgUnitRef>,
    /// Current members, leader first. Phone numbers are masked unless you manage the team.
    pub members: Vec<MemberResponse>,
    /// Which unit the team served when (a reorganisation moves teams to the successor).
    pub unit_history: Vec<TeamUnitPeriod>,
}

/// Loads a team the actor may see, with its unit, or 404.
pub fn find_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<(Team, org_unit::OrgUnit), AppError> {
    let team = team::find(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("team"))?;
    let unit = org_unit::find(conn, team.org_unit_id)?;
    if actor.sees_team(team.id, &unit.path) {
        Ok((team, unit))
    } else {
        Err(AppError::not_found("team"))
    }
}

/// The detail of a team the actor may see (404 otherwise).
pub fn find_detail(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<TeamDetailResponse, AppError> {
    let (team, unit) = find_visible(conn, actor, id)?;
    let mut path: Vec<OrgUnitRef> = org_unit::ancestors(conn, &unit)?
        .iter()
        .map(OrgUnitRef::from)
        .collect();
    path.push(OrgUnitRef::from(&unit));
    let members = person::team_memberships(conn, team.id, false)?;
    let leader_name = members
        .iter()
        .find(|m| m.membership.role == crate::reference::MembershipRole::Leader)
        .and_then(|m| m.person.full_name.clone());
    let members = member_responses(conn, actor, &team, &unit.path, &members)?;
    let unit_history = team::unit_history(conn, team.id)?
        .into_iter()
        .map(|p| TeamUnitPeriod {
            org_unit_id: p.org_unit_id,
            code: p.code,
            name: p.name,
            valid_from: p.valid_from,
            valid_to: p.valid_to,
        })
        .collect();
    Ok(TeamDetailResponse {
        team: TeamResponse::new(&team, &unit.name, unit.level, leader_name),
        unit_path: path,
        members,
        unit_history,
    })
}

/// A new team.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "SL-VANHO-001", "name": "Tổ công nghệ số cộng đồng bản Bó Nhàng",
    "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "founded_on": "2022-09-15",
    "establishment_decision": "125/QĐ-UBND", "zalo_group_members": 86, "zalo_group_members_as_of": "2025-06-01"}))]
pub struct CreateTeamRequest {
    /// Unique code (letters, digits, `.`, `_`, `-`; 1-100), compared ignoring case.
    pub code: String,
    pub name: String,
    /// The commune or village the team serves (in your scope).
    pub org_unit_id: Uuid,
    /// `active` (default) or `inactive`; dissolve with `POST /teams/{id}/dissolve`.
    #[schema(value_type = Option<TeamStatus>)]
    pub status: Option<Choice<TeamStatus>>,
    pub founded_on: Option<NaiveDate>,
    pub establishment_decision: Option<String>,
    /// Give with `zalo_group_members_as_of`.
    pub zalo_group_members: Option<i32>,
    pub zalo_group_members_as_of: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// Checks a team's fields; every problem at once.
pub fn validate(fields: &TeamFields, errors: &mut FieldErrors) {
    if !contract::TEAM_CODE.accepts(&fields.code) {
        errors.add(
            "code",
            "invalid_code",
            "must be 1-100 letters, digits, '.', '_' or '-'",
            "mã không hợp lệ",
        );
    }
    errors.check_length(
        "name",
        &fields.name,
        contract::NAME_LENGTH.0,
        contract::NAME_LENGTH.1,
    );
    if !contract::SETTABLE_TEAM_STATUSES.contains(&fields.status.as_str()) {
        errors.add(
            "status",
            "invalid_choice",
            "must be active or inactive (dissolve with POST /teams/{id}/dissolve)",
            "phải là active hoặc inactive (giải thể bằng POST /teams/{id}/dissolve)",
        );
    }
    errors.check_max_length(
        "establishment_decision",
        fields.establishment_decision.as_deref(),
        contract::DECISION_MAX,
    );
    errors.check_max_length("notes", fields.notes.as_deref(), contract::NOTES_MAX);
    errors.check_not_negative("zalo_group_members", fields.zalo_group_members);
    if fields.zalo_group_members.is_some() != fields.zalo_group_members_as_of.is_some() {
        errors.add(
            "zalo_group_members_as_of",
            "required_together",
            "zalo_group_members and zalo_group_members_as_of go together",
            "zalo_group_members và zalo_group_members_as_of phải đi cùng nhau",
        );
    }
    if fields.founded_on.is_some_and(|d| d > today_in_vietnam()) {
        errors.add(
            "founded_on",
            "in_future",
            "must not be in the future",
            "không được ở tương lai",
        );
    }
}

/// The unit a team may serve: an existing commune or village, in force, inside the actor's scope.
pub fn check_unit(
    conn: &mut PgConnection,
    actor: &AuthUser,
    unit_id: Uuid,
) -> Result<org_unit::OrgUnit, AppError> {
    let unit = org_unit::find(conn, unit_id).optional_app()?;
    let mut errors = FieldErrors::new();
    match &unit {
        None => errors.add(
            "org_unit_id",
            "not_found",
            "no such org unit",
            "không có đơn vị này",
        ),
        Some(unit) if !unit.level.serves_teams() => errors.add(
            "org_unit_id",
            "invalid_level",
            "must be a commune or a village",
            "phải là xã/phường hoặc thôn/bản",
        ),
        Some(unit) if unit.valid_to.is_some_and(|to| to < today_in_vietnam()) => errors.add(
            "org_unit_id",
            "not_in_force",
            "is no longer in force; use its successor",
            "đơn vị đã hết hiệu lực; hãy dùng đơn vị kế thừa",
        ),
        Some(_) => {}
    }
    errors.finish()?;
    let unit = unit.ok_or_else(|| AppError::not_found("org unit"))?;
    if !actor.sees_path(&unit.path) {
        return Err(forbidden());
    }
    Ok(unit)
}

/// Changes to a team (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"zalo_group_members": 112, "zalo_group_members_as_of": "2025-10-01"}))]
pub struct UpdateTeamRequest {
    pub code: Option<String>,
    pub name: Option<String>,
    /// Moving a team to another unit records it in the unit history from today.
    pub org_unit_id: Option<Uuid>,
    /// `active` or `inactive`.
    #[schema(value_type = Option<TeamStatus>)]
    pub status: Option<Choice<TeamStatus>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub founded_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub establishment_decision: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub zalo_group_members: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub zalo_group_members_as_of: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// A dissolution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"dissolved_on": "2025-06-30", "reason": "Merged into the commune team after the reorganisation"}))]
pub struct DissolveTeamRequest {
    /// The last day of the team (not in the future).
    pub dissolved_on: NaiveDate,
    /// Why (1-500 characters).
    pub reason: String,
}

/// The team's fields in the audit log.
fn snapshot(team: &Team) -> serde_json::Value {
    serde_json::to_value(TeamFields::of(team)).unwrap_or_default()
}

/// 409: another team has this code.
pub fn code_taken(code: &str) -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(
        format!("The team code {code} is taken"),
        format!("Mã tổ {code} đã được dùng"),
    ))
}

/// 409: a dissolved team is history.
fn dissolved(en: &'static str, vi: &'static str) -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(en, vi))
}

impl CreateTeamRequest {
    /// The new team's fields, normalised and checked (every invalid field at once).
    pub fn parse(self) -> Result<TeamFields, AppError> {
        let fields = TeamFields {
            code: self.code.trim().to_owned(),
            name: normalized(&self.name),
            org_unit_id: self.org_unit_id,
            status: self.status.unwrap_or(Choice::Known(TeamStatus::Active)),
            founded_on: self.founded_on,
            establishment_decision: normalized_optional(self.establishment_decision.as_deref()),
            zalo_group_members: self.zalo_group_members,
            zalo_group_members_as_of: self.zalo_group_members_as_of,
            notes: normalized_optional(self.notes.as_deref()),
        };
        let mut errors = FieldErrors::new();
        validate(&fields, &mut errors);
        errors.finish()?;
        Ok(fields)
    }
}

impl UpdateTeamRequest {
    /// The stored fields with these changes applied (not yet checked).
    fn apply(self, mut fields: TeamFields) -> TeamFields {
        if let Some(code) = self.code {
            fields.code = code.trim().to_owned();
        }
        if let Some(name) = self.name {
            fields.name = normalized(&name);
        }
        if let Some(unit_id) = self.org_unit_id {
            fields.org_unit_id = unit_id;
        }
        if let Some(status) = self.status {
            fields.status = status;
        }
        if let Some(founded_on) = self.founded_on {
            fields.founded_on = founded_on;
        }
        if let Some(decision) = self.establishment_decision {
            fields.establishment_decision = normalized_optional(decision.as_deref());
        }
        if let Some(members) = self.zalo_group_members {
            fields.zalo_group_members = members;
        }
        if let Some(as_of) = self.zalo_group_members_as_of {
            fields.zalo_group_members_as_of = as_of;
        }
        if let Some(notes) = self.notes {
            fields.notes = normalized_optional(notes.as_deref());
        }
        fields
    }
}

/// A checked dissolution.
#[derive(Debug, Clone)]
pub struct Dissolution {
    dissolved_on: NaiveDate,
    reason: String,
}

impl DissolveTeamRequest {
    /// The dissolution, checked (every invalid field at once).
    pub fn parse(self) -> Result<Dissolution, AppError> {
        let reason = normalized(&self.reason);
        let mut errors = FieldErrors::new();
        errors.check_length(
            "reason",
            &reason,
            contract::REASON_LENGTH.0,
            contract::REASON_LENGTH.1,
        );
        if self.dissolved_on > today_in_vietnam() {
            errors.add(
                "dissolved_on",
                "in_future",
                "must not be in the future",
                "không được ở tương lai",
            );
        }
        errors.finish()?;
        Ok(Dissolution {
            dissolved_on: self.dissolved_on,
            reason,
        })
    }
}

/// Registers a team with checked `fields` (call inside a transaction): in a commune or village in force
/// inside the actor's scope, under a code no other team has. Its unit history starts on its founding day.
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    fields: &TeamFields,
) -> Result<TeamDetailResponse, AppError> {
    let unit = check_unit(conn, actor, fields.org_unit_id)?;
    if team::find_by_code(conn, &fields.code)?.is_some() {
        return Err(code_taken(&fields.code));
    }
    let since = fields.founded_on.unwrap_or_else(today_in_vietnam);
    let created = team::insert(conn, Uuid::now_v7(), fields, since)?;
    audit::record_change(
        conn,
        &actor.audit_context(),
        "team_created",
        "team",
        created.id,
        Some(unit.path),
        None,
        &snapshot(&created),
    )?;
    find_detail(conn, actor, created.id)
}

/// Changes team `id`, if its version satisfies `expected`, as `changes` say (call inside a
/// transaction). A dissolved team cannot change (409); moving it to another unit records the move in
/// its unit history from today.
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
    changes: UpdateTeamRequest,
) -> Result<TeamDetailResponse, AppError> {
    let (current, unit) = find_visible(conn, actor, id)?;
    let version = expected.check(current.version)?;
    if current.status == TeamStatus::Dissolved {
        return Err(dissolved(
            "A dissolved team cannot be changed",
            "Không thể sửa tổ đã giải thể",
        ));
    }
    let fields = changes.apply(TeamFields::of(&current));
    let mut errors = FieldErrors::new();
    validate(&fields, &mut errors);
    errors.finish()?;
    let unit = if fields.org_unit_id == current.org_unit_id {
        unit
    } else {
        check_unit(conn, actor, fields.org_unit_id)?
    };
    if fields.code.to_lowercase() != current.code.to_lowercase()
        && team::find_by_code(conn, &fields.code)?.is_some()
    {
        return Err(code_taken(&fields.code));
    }
    let updated = team::update(conn, &current, version, &fields, today_in_vietnam())?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    audit::record_change(
        conn,
        &actor.audit_context(),
        "team_updated",
        "team",
        updated.id,
        Some(unit.path),
        Some(&snapshot(&current)),
        &snapshot(&updated),
    )?;
    find_detail(conn, actor, id)
}

/// Dissolves team `id`, if its version satisfies `expected` (call inside a transaction): the team and
/// every current membership end on the dissolution day; nothing is deleted.
pub fn dissolve(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
    dissolution: &Dissolution,
) -> Result<TeamDetailResponse, AppError> {
    let (current, unit) = find_visible(conn, actor, id)?;
    let version = expected.check(current.version)?;
    if current.status == TeamStatus::Dissolved {
        return Err(dissolved("The team is already dissolved", "Tổ đã giải thể"));
    }
    let day = dissolution.dissolved_on;
    if current.founded_on.is_some_and(|founded| founded > day) {
        return Err(AppError::validation(vec![FieldError::new(
            "dissolved_on",
            "before_founded_on",
            Text::new(
                "must not be before founded_on",
                "không được trước ngày thành lập",
            ),
        )]));
    }
    let updated = team::dissolve(conn, id, version, day, &dissolution.reason)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    let ended = person::end_team_memberships(conn, id, day)?;
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "team_dissolved",
            entity_type: "team",
            entity_id: Some(id),
            org_unit_path: Some(unit.path),
            changes: serde_json::json!({
                "status": {"from": current.status, "to": updated.status},
                "dissolved_on": day,
                "reason": dissolution.reason,
                "memberships_ended": ended,
            }),
        },
    )?;
    find_detail(conn, actor, id)
}

/// What a list of teams asks for (every field optional).
#[derive(Debug, Clone, Default)]
pub struct TeamQuery {
    /// Teams of this unit's subtree (404 when there is no such unit).
    pub org_unit_id: Option<Uuid>,
    pub level: Option<Choice<OrgUnitLevel>>,
    pub status: Option<Choice<TeamStatus>>,
    pub has_leader: Option<bool>,
    /// A search term, folded.
    pub q: Option<String>,
}

/// A page of the teams the actor may see that match `query`, ordered by code after `after`: admins
/// all, officers and viewers their subtree, team leaders their own team.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    query: TeamQuery,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<TeamListed>, AppError> {
    let mut errors = FieldErrors::new();
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    let level = check_choice(&mut errors, "level", query.level.as_ref());
    errors.finish()?;
    let leader = actor.role == Role::TeamLeader;
    let mut filter = TeamFilter {
        within_path: actor.scope_filter().filter(|_| !leader),
        only_team: leader.then(|| actor.team_id.unwrap_or_else(Uuid::nil)),
        level,
        status,
        has_leader: query.has_leader,
        query: query.q,
    };
    if let Some(root) = query.org_unit_id {
        let unit = org_unit::find(conn, root)
            .optional_app()?
            .ok_or_else(|| AppError::not_found("org unit"))?;
        // Narrow to the requested subtree, inside the caller's own scope.
        let narrower = match &filter.within_path {
            Some(scope)
                if !unit.path.starts_with(scope.as_str())
                    && !scope.starts_with(unit.path.as_str()) =>
            {
                "-".to_owned()
            }
            Some(scope) if scope.len() > unit.path.len() => scope.clone(),
            _ => unit.path,
        };
        filter.within_path = Some(narrower);
    }
    Ok(team::list(conn, &filter, after, limit)?)
}
