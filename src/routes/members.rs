//! Team members: people and their memberships. Names and phone numbers are personal data: phones are
//! shown in full only to admins, officers in scope and the team's own leader (each such read is
//! recorded), masked to everyone else.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, policy::forbidden},
    db::Db,
    domain::Precondition,
    domain::{
        today_in_vietnam,
        validation::{FieldErrors, normalized},
    },
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit,
        person::{self, MembershipDetail, Person, PersonFields},
        team::Team,
    },
    reference,
    routes::{
        conditional::{double_option, etag, if_match},
        csv_export::{cell, csv_response, to_csv, wants_csv},
        teams::load_visible,
        users::normalize_phone,
    },
};

/// A member of a team: the person and the membership.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "person_id": "0193a0f4-7b1e-7c53-a8e1-000000000002", "full_name": "Lò Văn Minh", "phone": "09******78",
    "phone_masked": true, "gender": "male", "birth_year": 1985, "ethnicity": "thai", "affiliation": "village_head",
    "role": "leader", "joined_on": "2022-09-15", "left_on": null, "version": 1}))]
pub struct MemberResponse {
    /// The membership id.
    pub id: Uuid,
    pub team_id: Uuid,
    pub person_id: Uuid,
    /// `null` once the person's personal data was erased.
    pub full_name: Option<String>,
    /// `+84...` in full, or masked (`09******78`) when `phone_masked`.
    pub phone: Option<String>,
    pub phone_masked: bool,
    /// `female`, `male`, `other`, `unspecified`.
    #[schema(value_type = crate::reference::Gender)]
    pub gender: String,
    pub birth_year: Option<i16>,
    /// Code from `GET /api/v1/reference` (`ethnic_groups`).
    #[schema(value_type = Option<crate::reference::Ethnicity>)]
    pub ethnicity: Option<String>,
    #[schema(value_type = crate::reference::Affiliation)]
    pub affiliation: String,
    /// `leader`, `deputy` or `member`.
    #[schema(value_type = crate::reference::MembershipRole)]
    pub role: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub version: i32,
}

/// `+84912345678` -> `09******78`.
pub fn mask_phone(phone: &str) -> String {
    let national = phone
        .strip_prefix("+84")
        .map_or_else(|| phone.to_owned(), |rest| format!("0{rest}"));
    let chars: Vec<char> = national.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

pub(crate) fn member_response(detail: &MembershipDetail, full_phone: bool) -> MemberResponse {
    let person = &detail.person;
    MemberResponse {
        id: detail.membership.id,
        team_id: detail.membership.team_id,
        person_id: person.id,
        full_name: person.full_name.clone(),
        phone: person.phone.as_deref().map(|phone| {
            if full_phone {
                phone.to_owned()
            } else {
                mask_phone(phone)
            }
        }),
        phone_masked: !full_phone && person.phone.is_some(),
        gender: person.gender.clone(),
        birth_year: person.birth_year,
        ethnicity: person.ethnicity.clone(),
        affiliation: person.affiliation.clone(),
        role: detail.membership.role.clone(),
        joined_on: detail.membership.joined_on,
        left_on: detail.membership.left_on,
        version: detail.membership.version,
    }
}

/// The members as `actor` may see them; full phone numbers shown are recorded in the read log.
pub(crate) fn member_responses(
    conn: &mut PgConnection,
    actor: &AuthUser,
    team: &Team,
    unit_path: &str,
    members: &[MembershipDetail],
) -> Result<Vec<MemberResponse>, AppError> {
    let full = actor.sees_phones_of(team.id, unit_path);
    if full {
        let shown: Vec<Uuid> = members
            .iter()
            .filter(|m| m.person.phone.is_some())
            .map(|m| m.person.id)
            .collect();
        person::record_reads(conn, actor.id, &shown, actor.request_id.as_deref())?;
    }
    Ok(members.iter().map(|m| member_response(m, full)).collect())
}

/// Filters for listing members.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MemberListQuery {
    /// Include memberships that ended (default: current only).
    pub include_past: Option<bool>,
}

/// A list of members.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberListResponse {
    pub items: Vec<MemberResponse>,
}

/// List a team's members.
///
/// Current members (or all with `include_past=true`), leader first. Phone numbers are masked unless you
/// manage the team. `Accept: text/csv` returns the same rows as CSV, in the member import format.
#[utoipa::path(
    tag = "teams",
    operation_id = "list_team_members",
    params(("id" = Uuid, Path, description = "Team id"), MemberListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members (JSON, or CSV with `Accept: text/csv`).",
         content((MemberListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/teams/{id}/members")]
pub async fn list_team_members(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<MemberListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTeamMembers)?;
    let id = id.into_inner();
    let include_past = query.include_past.unwrap_or(false);
    let (team_code, items) = db
        .run(move |conn| {
            let (team, unit) = load_visible(conn, &actor, id)?;
            let members = person::team_memberships(conn, team.id, include_past)?;
            Ok((
                team.code.clone(),
                member_responses(conn, &actor, &team, &unit.path, &members)?,
            ))
        })
        .await?;
    if wants_csv(&req) {
        let body = to_csv(
            &MEMBER_CSV_COLUMNS,
            items.iter().map(|m| {
                vec![
                    team_code.clone(),
                    cell(m.full_name.clone()),
                    cell(m.phone.clone()),
                    m.gender.clone(),
                    cell(m.birth_year),
                    cell(m.ethnicity.clone()),
                    m.affiliation.clone(),
                    m.role.clone(),
                    m.joined_on.to_string(),
                    cell(m.left_on),
                ]
            }),
        )?;
        return Ok(csv_response(
            &format!("members-{team_code}.csv"),
            body,
            None,
        ));
    }
    Ok(HttpResponse::Ok().json(MemberListResponse { items }))
}

/// Columns of the member CSV (export and import share them).
pub const MEMBER_CSV_COLUMNS: [&str; 10] = [
    "team_code",
    "full_name",
    "phone",
    "gender",
    "birth_year",
    "ethnicity",
    "affiliation",
    "role",
    "joined_on",
    "left_on",
];

/// A person's details.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    pub full_name: String,
    /// A Vietnamese mobile number in any common format; stored as `+84...`.
    pub phone: Option<String>,
    /// `female`, `male`, `other` or `unspecified` (default).
    #[schema(value_type = Option<crate::reference::Gender>)]
    pub gender: Option<String>,
    pub birth_year: Option<i16>,
    /// Code from `GET /api/v1/reference` (`ethnic_groups`).
    #[schema(value_type = Option<crate::reference::Ethnicity>)]
    pub ethnicity: Option<String>,
    /// `resident` by default; see `GET /api/v1/reference` (`affiliations`).
    #[schema(value_type = Option<crate::reference::Affiliation>)]
    pub affiliation: Option<String>,
}

/// Checks a person's details into storable fields; errors are named under `prefix`.
pub(crate) fn person_fields(
    request: &PersonRequest,
    prefix: &str,
    errors: &mut FieldErrors,
) -> PersonFields {
    let field = |name: &str| format!("{prefix}{name}");
    let full_name = normalized(&request.full_name);
    if !(1..=200).contains(&full_name.chars().count()) {
        errors.add(
            field("full_name"),
            "length",
            "must be 1 to 200 characters",
            "phải từ 1 đến 200 ký tự",
        );
    }
    let phone = match request
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(raw) => {
            let phone = normalize_phone(raw);
            if phone.is_none() {
                errors.add(
                    field("phone"),
                    "invalid_phone",
                    "must be a Vietnamese mobile number such as 0912345678 or +84912345678",
                    "phải là số di động Việt Nam, ví dụ 0912345678",
                );
            }
            phone
        }
        None => None,
    };
    let gender = request
        .gender
        .clone()
        .unwrap_or_else(|| "unspecified".to_owned());
    if !reference::is_one_of(reference::GENDERS, &gender) {
        errors.add(
            field("gender"),
            "invalid_choice",
            "must be female, male, other or unspecified",
            "giới tính không hợp lệ",
        );
    }
    if let Some(year) = request.birth_year {
        let this_year = i16::try_from(chrono::Datelike::year(&today_in_vietnam())).unwrap_or(2100);
        if !(1900..=this_year).contains(&year) {
            errors.add(
                field("birth_year"),
                "out_of_range",
                "must be from 1900 to this year",
                "năm sinh không hợp lệ",
            );
        }
    }
    if let Some(ethnicity) = &request.ethnicity
        && reference::ethnic_group(ethnicity).is_none()
    {
        errors.add(
            field("ethnicity"),
            "invalid_choice",
            "must be a code from GET /api/v1/reference (ethnic_groups)",
            "phải là mã dân tộc trong GET /api/v1/reference",
        );
    }
    let affiliation = request
        .affiliation
        .clone()
        .unwrap_or_else(|| "resident".to_owned());
    if !reference::is_one_of(reference::AFFILIATIONS, &affiliation) {
        errors.add(
            field("affiliation"),
            "invalid_choice",
            "must be a code from GET /api/v1/reference (affiliations)",
            "phải là mã trong GET /api/v1/reference",
        );
    }
    PersonFields {
        full_name: Some(full_name),
        phone,
        gender,
        birth_year: request.birth_year,
        ethnicity: request.ethnicity.clone(),
        affiliation,
    }
}

/// Finds the person a new membership is for: by id, or by phone (the same person in several teams), or
/// creates them.
pub(crate) fn resolve_person(
    conn: &mut PgConnection,
    fields: &PersonFields,
    field: &str,
) -> Result<Person, AppError> {
    if let Some(phone) = &fields.phone
        && let Some(existing) = person::find_by_phone(conn, phone)?
    {
        let same_name = existing
            .full_name
            .as_deref()
            .zip(fields.full_name.as_deref())
            .is_some_and(|(a, b)| {
                deunicode::deunicode(a).to_lowercase() == deunicode::deunicode(b).to_lowercase()
            });
        if same_name {
            return Ok(existing);
        }
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            format!(
                "{field}: this phone number belongs to another person ({})",
                existing.id
            ),
            format!(
                "{field}: số điện thoại này thuộc về người khác ({})",
                existing.id
            ),
        )));
    }
    Ok(person::insert_person(conn, Uuid::now_v7(), fields)?)
}

const ROLES: [&str; 3] = ["leader", "deputy", "member"];

fn check_role(role: &str, errors: &mut FieldErrors) {
    if !ROLES.contains(&role) {
        errors.add(
            "role",
            "invalid_choice",
            "must be leader, deputy or member",
            "phải là leader, deputy hoặc member",
        );
    }
}

/// A new member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a",
    "person": {"full_name": "Lò Thị Xuân", "phone": "0912 345 678", "gender": "female", "birth_year": 1994,
               "ethnicity": "thai", "affiliation": "youth_union"},
    "role": "deputy", "joined_on": "2025-07-01"}))]
#[derive(Clone)]
pub struct AddMemberRequest {
    /// A client-made membership id (offline phones): sending the same id and content again returns the
    /// stored membership (200); the same id with other content is 409.
    pub id: Option<Uuid>,
    /// An existing person (give this or `person`).
    pub person_id: Option<Uuid>,
    /// A new person (give this or `person_id`). A person with the same phone number and name is reused.
    pub person: Option<PersonRequest>,
    /// `leader`, `deputy` or `member`. A team has at most one current leader.
    #[schema(value_type = crate::reference::MembershipRole)]
    pub role: String,
    /// Default: today.
    pub joined_on: Option<NaiveDate>,
}

fn leader_taken() -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(
        "The team already has a current leader; end that membership or make them deputy first",
        "Tổ đã có tổ trưởng; hãy kết thúc hoặc đổi vai trò tổ trưởng hiện tại trước",
    ))
}

fn load_managed(
    conn: &mut PgConnection,
    actor: &AuthUser,
    team_id: Uuid,
) -> Result<(Team, org_unit::OrgUnit), AppError> {
    let (team, unit) = load_visible(conn, actor, team_id)?;
    if !actor.manages_members_of(team.id, &unit.path) {
        return Err(forbidden());
    }
    if team.status == "dissolved" {
        return Err(AppError::new(ErrorCode::Conflict)
            .with_detail(Text::new("The team is dissolved", "Tổ đã giải thể")));
    }
    Ok((team, unit))
}

/// Adds a member to team `team_id` (call inside a transaction): 201 and the member, or 200 and the stored
/// one when the same client id came with the same content; every rule of the endpoint applies.
pub(crate) fn add_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    team_id: Uuid,
    body: &AddMemberRequest,
) -> Result<(u16, MemberResponse), AppError> {
    let mut errors = FieldErrors::new();
    check_role(&body.role, &mut errors);
    let fields = match (&body.person_id, &body.person) {
        (Some(_), None) => None,
        (None, Some(request)) => Some(person_fields(request, "person.", &mut errors)),
        _ => {
            errors.add(
                "person",
                "exactly_one",
                "give exactly one of person_id and person",
                "chỉ gửi một trong person_id và person",
            );
            None
        }
    };
    let joined_on = body.joined_on.unwrap_or_else(today_in_vietnam);
    if joined_on > today_in_vietnam() {
        errors.add(
            "joined_on",
            "in_future",
            "must not be in the future",
            "không được ở tương lai",
        );
    }
    errors.finish()?;
    let (team, unit) = load_managed(conn, actor, team_id)?;
    if let Some(client_id) = body.id
        && let Some(existing) = person::find_membership(conn, client_id).optional_app()?
    {
        let same = existing.membership.team_id == team_id
            && existing.membership.role == body.role
            && existing.membership.joined_on == joined_on
            && body.person_id.is_none_or(|p| p == existing.person.id);
        if !same {
            return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                "This membership id is already used with other content",
                "Mã thành viên này đã được dùng với nội dung khác",
            )));
        }
        return Ok((
            200,
            member_responses(conn, actor, &team, &unit.path, &[existing])?.remove(0),
        ));
    }
    let person = match (&body.person_id, &fields) {
        (Some(person_id), _) => person::find_person(conn, *person_id)
            .optional_app()?
            .ok_or_else(|| {
                AppError::validation(vec![crate::error::FieldError::new(
                    "person_id",
                    "not_found",
                    Text::new("no such person", "không có người này"),
                )])
            })?,
        (None, Some(fields)) => resolve_person(conn, fields, "person.phone")?,
        (None, None) => return Err(AppError::internal(anyhow::anyhow!("validated above"))),
    };
    let current = person::team_memberships(conn, team_id, false)?;
    if current.iter().any(|m| m.person.id == person.id) {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "This person is already a current member",
            "Người này đã là thành viên",
        )));
    }
    if body.role == "leader" && current.iter().any(|m| m.membership.role == "leader") {
        return Err(leader_taken());
    }
    let membership = person::insert_membership_with_id(
        conn,
        body.id.unwrap_or_else(Uuid::now_v7),
        team_id,
        person.id,
        &body.role,
        joined_on,
    )?;
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "member_added",
            entity_type: "membership",
            entity_id: Some(membership.id),
            org_unit_path: Some(unit.path.clone()),
            changes: serde_json::json!({"team_id": team_id, "person_id": person.id, "role": body.role,
                                        "joined_on": joined_on}),
        },
    )?;
    let detail = person::find_membership(conn, membership.id)?;
    Ok((
        201,
        member_responses(conn, actor, &team, &unit.path, &[detail])?.remove(0),
    ))
}

/// Add a member.
///
/// Adds a person (new or existing) to a team. Admins, officers in scope and the team's own leader.
#[utoipa::path(
    tag = "teams",
    operation_id = "add_team_member",
    params(("id" = Uuid, Path, description = "Team id")),
    security(("bearer" = [])),
    request_body = AddMemberRequest,
    responses(
        (status = 200, description = "Already stored under this client id.", body = MemberResponse),
        (status = 201, description = "Added.", body = MemberResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a leader, already a member, client id reused, or phone of another person.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/teams/{id}/members")]
pub async fn add_team_member(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<AddMemberRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::AddTeamMember)?;
    let team_id = id.into_inner();
    let body = body.into_inner();
    let (status, member) = db
        .run(move |conn| conn.transaction(|conn| add_in(conn, &actor, team_id, &body)))
        .await?;
    let mut response = if status == 201 {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("ETag", etag(member.version)))
        .insert_header((
            "Location",
            format!("/api/v1/teams/{}/members/{}", member.team_id, member.id),
        ))
        .json(member))
}

/// Changes to a membership and its person (fields left out stay as they are).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "leader"}))]
pub struct UpdateMemberRequest {
    #[schema(value_type = Option<crate::reference::MembershipRole>)]
    pub role: Option<String>,
    pub joined_on: Option<NaiveDate>,
    /// The last day in the team; `null` reopens a membership.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub left_on: Option<Option<NaiveDate>>,
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[schema(value_type = Option<crate::reference::Gender>)]
    pub gender: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i16>)]
    pub birth_year: Option<Option<i16>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ethnicity: Option<Option<String>>,
    #[schema(value_type = Option<crate::reference::Affiliation>)]
    pub affiliation: Option<String>,
}

/// Path of a membership.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct MembershipPath {
    /// Team id.
    pub id: Uuid,
    /// Membership id.
    pub membership_id: Uuid,
}

fn load_membership(
    conn: &mut PgConnection,
    actor: &AuthUser,
    path: &MembershipPath,
) -> Result<(Team, org_unit::OrgUnit, MembershipDetail), AppError> {
    let (team, unit) = load_managed(conn, actor, path.id)?;
    let detail = person::find_membership(conn, path.membership_id)
        .optional_app()?
        .filter(|d| d.membership.team_id == team.id)
        .ok_or_else(|| AppError::not_found("membership"))?;
    Ok((team, unit, detail))
}

/// Changes a membership and its person, if it matches `if_match` (`None`: whatever is current), fields left out staying
/// as they are (call inside a transaction); every rule of the endpoint applies.
pub(crate) fn update_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    path: &MembershipPath,
    if_match: &Precondition,
    body: &UpdateMemberRequest,
) -> Result<MemberResponse, AppError> {
    let (team, unit, current) = load_membership(conn, actor, path)?;
    let version = if_match.check(current.membership.version)?;
    let role = body
        .role
        .clone()
        .unwrap_or_else(|| current.membership.role.clone());
    let joined_on = body.joined_on.unwrap_or(current.membership.joined_on);
    let left_on = body.left_on.unwrap_or(current.membership.left_on);
    let person_request = PersonRequest {
        full_name: body
            .full_name
            .clone()
            .or_else(|| current.person.full_name.clone())
            .unwrap_or_default(),
        phone: match &body.phone {
            Some(phone) => phone.clone(),
            None => current.person.phone.clone(),
        },
        gender: Some(
            body.gender
                .clone()
                .unwrap_or_else(|| current.person.gender.clone()),
        ),
        birth_year: body.birth_year.unwrap_or(current.person.birth_year),
        ethnicity: body
            .ethnicity
            .clone()
            .unwrap_or_else(|| current.person.ethnicity.clone()),
        affiliation: Some(
            body.affiliation
                .clone()
                .unwrap_or_else(|| current.person.affiliation.clone()),
        ),
    };
    let mut errors = FieldErrors::new();
    check_role(&role, &mut errors);
    let fields = person_fields(&person_request, "", &mut errors);
    if left_on.is_some_and(|left| left < joined_on) {
        errors.add(
            "left_on",
            "before_joined_on",
            "must not be before joined_on",
            "không được trước ngày tham gia",
        );
    }
    errors.finish()?;
    if role == "leader" && left_on.is_none() && current.membership.role != "leader" {
        let others = person::team_memberships(conn, team.id, false)?;
        if others
            .iter()
            .any(|m| m.membership.role == "leader" && m.membership.id != current.membership.id)
        {
            return Err(leader_taken());
        }
    }
    let person_changed = fields != PersonFields::of(&current.person);
    if person_changed {
        if let Some(phone) = &fields.phone
            && let Some(other) = person::find_by_phone(conn, phone)?
            && other.id != current.person.id
        {
            return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                "phone: this number belongs to another person",
                "phone: số điện thoại này thuộc về người khác",
            )));
        }
        person::update_person(conn, current.person.id, &fields)?;
    }
    person::update_membership(
        conn,
        current.membership.id,
        version,
        &role,
        joined_on,
        left_on,
    )?
    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    let updated = person::find_membership(conn, current.membership.id)?;
    let snapshot =
        |d: &MembershipDetail| serde_json::to_value(member_response(d, true)).unwrap_or_default();
    audit::record_change(
        conn,
        &actor.audit_context(),
        "member_updated",
        "membership",
        updated.membership.id,
        Some(unit.path.clone()),
        Some(&snapshot(&current)),
        &snapshot(&updated),
    )?;
    Ok(member_responses(conn, actor, &team, &unit.path, &[updated])?.remove(0))
}

/// Update a member.
///
/// Changes the role, dates or the person's details. `If-Match` (the membership's `ETag`) makes the change
/// conditional. Making someone leader while another current leader exists is 409.
#[utoipa::path(
    tag = "teams",
    operation_id = "update_team_member",
    params(MembershipPath, ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated.", body = MemberResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such membership in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Leader taken, or team dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/teams/{id}/members/{membership_id}")]
pub async fn update_team_member(
    req: HttpRequest,
    actor: AuthUser,
    path: web::Path<MembershipPath>,
    body: web::Json<UpdateMemberRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTeamMember)?;
    let path = path.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let member = db
        .run(move |conn| conn.transaction(|conn| update_in(conn, &actor, &path, &if_match, &body)))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(member.version)))
        .json(member))
}

/// Ends a membership today (call inside a transaction): false when it had ended already.
pub(crate) fn end_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    path: &MembershipPath,
) -> Result<bool, AppError> {
    let (_, unit, current) = load_membership(conn, actor, path)?;
    if current.membership.left_on.is_some() {
        return Ok(false);
    }
    let today = today_in_vietnam().max(current.membership.joined_on);
    person::update_membership(
        conn,
        current.membership.id,
        current.membership.version,
        &current.membership.role,
        current.membership.joined_on,
        Some(today),
    )?;
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "member_ended",
            entity_type: "membership",
            entity_id: Some(current.membership.id),
            org_unit_path: Some(unit.path),
            changes: serde_json::json!({"left_on": {"from": null, "to": today}}),
        },
    )?;
    Ok(true)
}

/// End a membership.
///
/// The person leaves the team today (the membership is kept as history, not deleted).
#[utoipa::path(
    tag = "teams",
    operation_id = "end_team_member",
    params(MembershipPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended (or already ended)."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such membership in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Team dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/teams/{id}/members/{membership_id}")]
pub async fn end_team_member(
    actor: AuthUser,
    path: web::Path<MembershipPath>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::EndTeamMember)?;
    let path = path.into_inner();
    db.run(move |conn| conn.transaction(|conn| end_in(conn, &actor, &path).map(|_| ())))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
