//! Teams: the registry every session, reach activity, target and report refers to.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role, policy::forbidden},
    contract,
    db::Db,
    domain::validation::double_option,
    domain::{
        memberships::{MemberResponse, member_responses},
        teams as teams_domain,
    },
    domain::{
        today_in_vietnam,
        validation::{FieldErrors, normalized},
    },
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit, person,
        team::{self, Team, TeamFields, TeamFilter},
    },
    routes::{
        conditional::{decode_cursor, etag, if_match, next_cursor, page_limit},
        csv_export::{cell, csv_response, to_csv, wants_csv},
        org_units::OrgUnitRef,
    },
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
    #[schema(value_type = crate::reference::OrgUnitLevel)]
    pub level: String,
    /// `active`, `inactive` or `dissolved`.
    #[schema(value_type = crate::reference::TeamStatus)]
    pub status: String,
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
    pub fn new(team: &Team, unit_name: &str, level: &str, leader_name: Option<String>) -> Self {
        Self {
            id: team.id,
            code: team.code.clone(),
            name: team.name.clone(),
            org_unit_id: team.org_unit_id,
            org_unit_name: unit_name.to_owned(),
            level: level.to_owned(),
            status: team.status.clone(),
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

/// A page of teams.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamListResponse {
    pub items: Vec<TeamResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing teams.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TeamListQuery {
    /// Teams of this unit and its whole subtree.
    pub org_unit_id: Option<Uuid>,
    /// `commune` or `village`.
    #[param(value_type = Option<crate::reference::OrgUnitLevel>)]
    pub level: Option<String>,
    /// `active`, `inactive` or `dissolved`.
    #[param(value_type = Option<crate::reference::TeamStatus>)]
    pub status: Option<String>,
    /// Only teams with (`true`) or without (`false`) a current leader.
    pub has_leader: Option<bool>,
    /// Matches team name, unit name and leader name, ignoring case and Vietnamese diacritics.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

const STATUSES: [&str; 3] = ["active", "inactive", "dissolved"];

/// List teams.
///
/// Teams in your scope (admins: all; officers and viewers: their subtree; team leaders: their team),
/// ordered by code with keyset pagination. `Accept: text/csv` returns the same rows as CSV.
#[utoipa::path(
    tag = "teams",
    operation_id = "list_teams",
    params(TeamListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of teams (JSON, or CSV with `Accept: text/csv`).",
         content((TeamListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/teams")]
pub async fn list_teams(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<TeamListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTeams)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = decode_cursor(query.cursor.as_deref())?;
    let mut errors = FieldErrors::new();
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        errors.add(
            "status",
            "invalid_choice",
            "must be active, inactive or dissolved",
            "phải là active, inactive hoặc dissolved",
        );
    }
    if let Some(level) = &query.level
        && org_unit::level_rank(level).is_none()
    {
        errors.add(
            "level",
            "invalid_choice",
            "must be province, district, commune or village",
            "cấp không hợp lệ",
        );
    }
    errors.finish()?;
    let mut filter = TeamFilter {
        within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        only_team: None,
        level: query.level,
        status: query.status,
        has_leader: query.has_leader,
        query: query.q,
    };
    if actor.role == Role::TeamLeader {
        filter.only_team = Some(actor.team_id.unwrap_or_else(Uuid::nil));
    }
    let root = query.org_unit_id;
    let rows = db
        .read(actor.id, move |conn| {
            if let Some(root) = root {
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
            team::list(conn, &filter, after.as_deref(), limit).map_err(Into::into)
        })
        .await?;
    let next = next_cursor(&rows, limit, |row| row.team.code.clone());
    if wants_csv(&req) {
        let body = to_csv(
            &TEAM_CSV_COLUMNS,
            rows.iter().map(|row| {
                let t = &row.team;
                vec![
                    t.code.clone(),
                    t.name.clone(),
                    row.unit_name.clone(),
                    row.unit_code.clone(),
                    row.unit_level.clone(),
                    t.status.clone(),
                    cell(t.founded_on),
                    cell(t.dissolved_on),
                    cell(t.establishment_decision.clone()),
                    cell(t.zalo_group_members),
                    cell(t.zalo_group_members_as_of),
                    cell(row.leader_name.clone()),
                    cell(t.notes.clone()),
                ]
            }),
        )?;
        return Ok(csv_response("teams.csv", body, next.as_deref()));
    }
    Ok(HttpResponse::Ok().json(TeamListResponse {
        items: rows
            .iter()
            .map(|row| {
                TeamResponse::new(
                    &row.team,
                    &row.unit_name,
                    &row.unit_level,
                    row.leader_name.clone(),
                )
            })
            .collect(),
        next_cursor: next,
    }))
}

/// Columns of the team CSV (export and import share them).
pub const TEAM_CSV_COLUMNS: [&str; 13] = [
    "code",
    "name",
    "org_unit_name",
    "org_unit_code",
    "level",
    "status",
    "founded_on",
    "dissolved_on",
    "establishment_decision",
    "zalo_group_members",
    "zalo_group_members_as_of",
    "leader_name",
    "notes",
];

/// The detail of a team the actor may see.
pub(crate) fn load_detail(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<TeamDetailResponse, AppError> {
    let (team, unit) = teams_domain::find_visible(conn, actor, id)?;
    let mut path: Vec<OrgUnitRef> = org_unit::ancestors(conn, &unit)?
        .iter()
        .map(OrgUnitRef::from)
        .collect();
    path.push(OrgUnitRef::from(&unit));
    let members = person::team_memberships(conn, team.id, false)?;
    let leader_name = members
        .iter()
        .find(|m| m.membership.role == "leader")
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
        team: TeamResponse::new(&team, &unit.name, &unit.level, leader_name),
        unit_path: path,
        members,
        unit_history,
    })
}

/// Find a team.
///
/// One team with its current members (phone numbers masked unless you manage the team), its unit's path
/// and its unit history, with `ETag`.
#[utoipa::path(
    tag = "teams",
    operation_id = "find_team",
    params(("id" = Uuid, Path, description = "Team id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The team.", body = TeamDetailResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/teams/{id}")]
pub async fn find_team(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindTeam)?;
    let id = id.into_inner();
    let detail = db.run(move |conn| load_detail(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.team.version)))
        .json(detail))
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
    #[schema(value_type = Option<crate::reference::TeamStatus>)]
    pub status: Option<String>,
    pub founded_on: Option<NaiveDate>,
    pub establishment_decision: Option<String>,
    /// Give with `zalo_group_members_as_of`.
    pub zalo_group_members: Option<i32>,
    pub zalo_group_members_as_of: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// Checks a team's fields; every problem at once.
pub(crate) fn validate_team(fields: &TeamFields, errors: &mut FieldErrors) {
    if !crate::domain::validation::is_code(&fields.code, 100, false) {
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
    if !matches!(fields.status.as_str(), "active" | "inactive") {
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
        200,
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
pub(crate) fn check_team_unit(
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
        Some(unit) if !matches!(unit.level.as_str(), "commune" | "village") => errors.add(
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

pub(crate) fn team_snapshot(team: &Team) -> serde_json::Value {
    serde_json::to_value(TeamFields::of(team)).unwrap_or_default()
}

/// Create a team.
///
/// Registers a team serving a commune or village (admins anywhere, officers in their subtree).
#[utoipa::path(
    tag = "teams",
    operation_id = "create_team",
    security(("bearer" = [])),
    request_body = CreateTeamRequest,
    responses(
        (status = 201, description = "Created.", body = TeamDetailResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed here.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/teams")]
pub async fn create_team(
    actor: AuthUser,
    body: web::Json<CreateTeamRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateTeam)?;
    let body = body.into_inner();
    let fields = TeamFields {
        code: body.code.trim().to_owned(),
        name: normalized(&body.name),
        org_unit_id: body.org_unit_id,
        status: body.status.unwrap_or_else(|| "active".to_owned()),
        founded_on: body.founded_on,
        establishment_decision: body
            .establishment_decision
            .as_deref()
            .map(normalized)
            .filter(|d| !d.is_empty()),
        zalo_group_members: body.zalo_group_members,
        zalo_group_members_as_of: body.zalo_group_members_as_of,
        notes: body
            .notes
            .as_deref()
            .map(normalized)
            .filter(|n| !n.is_empty()),
    };
    let mut errors = FieldErrors::new();
    validate_team(&fields, &mut errors);
    errors.finish()?;
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let unit = check_team_unit(conn, &actor, fields.org_unit_id)?;
                if team::find_by_code(conn, &fields.code)?.is_some() {
                    return Err(code_taken(&fields.code));
                }
                let since = fields.founded_on.unwrap_or_else(today_in_vietnam);
                let created = team::insert(conn, Uuid::now_v7(), &fields, since)?;
                audit::record_change(
                    conn,
                    &actor.audit_context(),
                    "team_created",
                    "team",
                    created.id,
                    Some(unit.path),
                    None,
                    &team_snapshot(&created),
                )?;
                load_detail(conn, &actor, created.id)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(detail.team.version)))
        .insert_header(("Location", format!("/api/v1/teams/{}", detail.team.id)))
        .json(detail))
}

pub(crate) fn code_taken(code: &str) -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(
        format!("The team code {code} is taken"),
        format!("Mã tổ {code} đã được dùng"),
    ))
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
    #[schema(value_type = Option<crate::reference::TeamStatus>)]
    pub status: Option<String>,
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

/// Update a team.
///
/// Admins and officers in scope. `If-Match` makes the change conditional (412 when stale). A dissolved
/// team cannot be changed (409).
#[utoipa::path(
    tag = "teams",
    operation_id = "update_team",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Team id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = UpdateTeamRequest,
    responses(
        (status = 200, description = "Updated.", body = TeamDetailResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken or team dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/teams/{id}")]
pub async fn update_team(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateTeamRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTeam)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let (current, unit) = teams_domain::find_visible(conn, &actor, id)?;
                let version = if_match.check(current.version)?;
                if current.status == "dissolved" {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        "A dissolved team cannot be changed",
                        "Không thể sửa tổ đã giải thể",
                    )));
                }
                let mut fields = TeamFields::of(&current);
                if let Some(code) = body.code {
                    fields.code = code.trim().to_owned();
                }
                if let Some(name) = body.name {
                    fields.name = normalized(&name);
                }
                if let Some(unit_id) = body.org_unit_id {
                    fields.org_unit_id = unit_id;
                }
                if let Some(status) = body.status {
                    fields.status = status;
                }
                if let Some(founded_on) = body.founded_on {
                    fields.founded_on = founded_on;
                }
                if let Some(decision) = body.establishment_decision {
                    fields.establishment_decision = decision
                        .as_deref()
                        .map(normalized)
                        .filter(|d| !d.is_empty());
                }
                if let Some(members) = body.zalo_group_members {
                    fields.zalo_group_members = members;
                }
                if let Some(as_of) = body.zalo_group_members_as_of {
                    fields.zalo_group_members_as_of = as_of;
                }
                if let Some(notes) = body.notes {
                    fields.notes = notes.as_deref().map(normalized).filter(|n| !n.is_empty());
                }
                let mut errors = FieldErrors::new();
                validate_team(&fields, &mut errors);
                errors.finish()?;
                let unit = if fields.org_unit_id == current.org_unit_id {
                    unit
                } else {
                    check_team_unit(conn, &actor, fields.org_unit_id)?
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
                    Some(&team_snapshot(&current)),
                    &team_snapshot(&updated),
                )?;
                load_detail(conn, &actor, id)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.team.version)))
        .json(detail))
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

/// Dissolve a team.
///
/// Ends the team and every current membership on `dissolved_on`. Nothing is deleted: the team and its
/// history stay readable and keep reporting for the time it existed.
#[utoipa::path(
    tag = "teams",
    operation_id = "dissolve_team",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Team id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = DissolveTeamRequest,
    responses(
        (status = 200, description = "Dissolved.", body = TeamDetailResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/teams/{id}/dissolve")]
pub async fn dissolve_team(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<DissolveTeamRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DissolveTeam)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let reason = normalized(&body.reason);
    let mut errors = FieldErrors::new();
    errors.check_length(
        "reason",
        &reason,
        contract::REASON_LENGTH.0,
        contract::REASON_LENGTH.1,
    );
    if body.dissolved_on > today_in_vietnam() {
        errors.add(
            "dissolved_on",
            "in_future",
            "must not be in the future",
            "không được ở tương lai",
        );
    }
    errors.finish()?;
    let if_match = if_match(&req);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let (current, unit) = teams_domain::find_visible(conn, &actor, id)?;
                let version = if_match.check(current.version)?;
                if current.status == "dissolved" {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        "The team is already dissolved",
                        "Tổ đã giải thể",
                    )));
                }
                if current.founded_on.is_some_and(|f| f > body.dissolved_on) {
                    return Err(AppError::validation(vec![crate::error::FieldError::new(
                        "dissolved_on",
                        "before_founded_on",
                        Text::new(
                            "must not be before founded_on",
                            "không được trước ngày thành lập",
                        ),
                    )]));
                }
                let updated = team::dissolve(conn, id, version, body.dissolved_on, &reason)?
                    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                let ended = person::end_team_memberships(conn, id, body.dissolved_on)?;
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
                            "dissolved_on": body.dissolved_on,
                            "reason": reason,
                            "memberships_ended": ended,
                        }),
                    },
                )?;
                load_detail(conn, &actor, id)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.team.version)))
        .json(detail))
}
