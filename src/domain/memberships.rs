//! Team members: people and their memberships, and the operations on them (add, change, end) shared by
//! the HTTP routes, sync push and imports. Names and phone numbers are personal data: phones are shown in
//! full only to admins, officers in scope and the team's own leader (each such read is recorded), masked
//! to everyone else.

use chrono::NaiveDate;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, policy::forbidden},
    contract,
    domain::{
        Precondition, Stored, teams, today_in_vietnam,
        validation::{FieldErrors, double_option, normalize_phone, normalized},
    },
    error::{AppError, ErrorCode, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit,
        person::{self, MembershipDetail, Person, PersonFields},
        team::Team,
    },
    reference::{Affiliation, Choice, Ethnicity, Gender, MembershipRole, TeamStatus},
};

/// Which membership of which team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipOf {
    pub team_id: Uuid,
    /// The membership's id.
    pub id: Uuid,
}

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
    pub gender: Gender,
    pub birth_year: Option<i16>,
    /// Code from `GET /api/v1/reference` (`ethnic_groups`).
    pub ethnicity: Option<Ethnicity>,
    pub affiliation: Affiliation,
    /// `leader`, `deputy` or `member`.
    pub role: MembershipRole,
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

/// A phone as a reader sees it: in full for those who manage the person's team, masked otherwise.
pub fn shown_phone(phone: Option<&str>, full: bool) -> Option<String> {
    phone.map(|phone| {
        if full {
            phone.to_owned()
        } else {
            mask_phone(phone)
        }
    })
}

/// A membership as `member_responses` shows it; the phone in full only when `full_phone`.
pub fn member_response(detail: &MembershipDetail, full_phone: bool) -> MemberResponse {
    let person = &detail.person;
    MemberResponse {
        id: detail.membership.id,
        team_id: detail.membership.team_id,
        person_id: person.id,
        full_name: person.full_name.clone(),
        phone: shown_phone(person.phone.as_deref(), full_phone),
        phone_masked: !full_phone && person.phone.is_some(),
        gender: person.gender,
        birth_year: person.birth_year,
        ethnicity: person.ethnicity,
        affiliation: person.affiliation,
        role: detail.membership.role,
        joined_on: detail.membership.joined_on,
        left_on: detail.membership.left_on,
        version: detail.membership.version,
    }
}

/// The members as `actor` may see them; full phone numbers shown are recorded in the read log.
pub fn member_responses(
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

/// A person's details.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    pub full_name: String,
    /// A Vietnamese mobile number in any common format; stored as `+84...`.
    pub phone: Option<String>,
    /// `female`, `male`, `other` or `unspecified` (default).
    #[schema(value_type = Option<Gender>)]
    pub gender: Option<Choice<Gender>>,
    pub birth_year: Option<i16>,
    /// Code from `GET /api/v1/reference` (`ethnic_groups`).
    #[schema(value_type = Option<Ethnicity>)]
    pub ethnicity: Option<Choice<Ethnicity>>,
    /// `resident` by default; see `GET /api/v1/reference` (`affiliations`).
    #[schema(value_type = Option<Affiliation>)]
    pub affiliation: Option<Choice<Affiliation>>,
}

/// Checks a person's details into storable fields; errors are named under `prefix`.
pub fn person_fields(
    request: &PersonRequest,
    prefix: &str,
    errors: &mut FieldErrors,
) -> PersonFields {
    checked_person(Some(&request.full_name), request, prefix, errors)
}

/// [`person_fields`] with the name apart: `None` for a person whose personal data was erased and who
/// stays erased (no name is asked for or stored; `request.full_name` is not read).
fn checked_person(
    full_name: Option<&str>,
    request: &PersonRequest,
    prefix: &str,
    errors: &mut FieldErrors,
) -> PersonFields {
    let field = |name: &str| format!("{prefix}{name}");
    let full_name = full_name.map(normalized);
    if full_name.as_ref().is_some_and(|name| {
        !(contract::NAME_LENGTH.0..=contract::NAME_LENGTH.1).contains(&name.chars().count())
    }) {
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
        .unwrap_or(Choice::Known(Gender::Unspecified));
    gender.check(errors, field("gender"));
    if let Some(year) = request.birth_year {
        let this_year = i16::try_from(chrono::Datelike::year(&today_in_vietnam())).unwrap_or(2100);
        if !(contract::BIRTH_YEAR_MIN..=i64::from(this_year)).contains(&i64::from(year)) {
            errors.add(
                field("birth_year"),
                "out_of_range",
                "must be from 1900 to this year",
                "năm sinh không hợp lệ",
            );
        }
    }
    if let Some(ethnicity) = &request.ethnicity {
        ethnicity.check(errors, field("ethnicity"));
    }
    let affiliation = request
        .affiliation
        .clone()
        .unwrap_or(Choice::Known(Affiliation::Resident));
    affiliation.check(errors, field("affiliation"));
    PersonFields {
        full_name,
        phone,
        gender,
        birth_year: request.birth_year,
        ethnicity: request.ethnicity.clone(),
        affiliation,
    }
}

/// Finds the person a new membership is for: by id, or by phone (the same person in several teams), or
/// creates them.
pub fn resolve_person(
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
    #[schema(value_type = MembershipRole)]
    pub role: Choice<MembershipRole>,
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
    let (team, unit) = teams::find_visible(conn, actor, team_id)?;
    if !actor.manages_members_of(team.id, &unit.path) {
        return Err(forbidden());
    }
    if team.status == TeamStatus::Dissolved {
        return Err(AppError::new(ErrorCode::Conflict)
            .with_detail(Text::new("The team is dissolved", "Tổ đã giải thể")));
    }
    Ok((team, unit))
}

/// Adds a member to team `team_id` (call inside a transaction): the new member, or the stored one when the
/// same client id came with the same content (409 with other content); every rule applies.
pub fn add(
    conn: &mut PgConnection,
    actor: &AuthUser,
    team_id: Uuid,
    body: &AddMemberRequest,
) -> Result<Stored<MemberResponse>, AppError> {
    let mut errors = FieldErrors::new();
    body.role.check(&mut errors, "role");
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
    let role = body.role.checked()?;
    let (team, unit) = load_managed(conn, actor, team_id)?;
    if let Some(client_id) = body.id
        && let Some(existing) = person::find_membership(conn, client_id).optional_app()?
    {
        let same = existing.membership.team_id == team_id
            && existing.membership.role == role
            && existing.membership.joined_on == joined_on
            && body.person_id.is_none_or(|p| p == existing.person.id);
        if !same {
            return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                "This membership id is already used with other content",
                "Mã thành viên này đã được dùng với nội dung khác",
            )));
        }
        return Ok(Stored::AlreadyStored(
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
    if role == MembershipRole::Leader
        && current
            .iter()
            .any(|m| m.membership.role == MembershipRole::Leader)
    {
        return Err(leader_taken());
    }
    let membership = person::insert_membership_with_id(
        conn,
        body.id.unwrap_or_else(Uuid::now_v7),
        team_id,
        person.id,
        role,
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
            changes: serde_json::json!({"team_id": team_id, "person_id": person.id, "role": role,
                                        "joined_on": joined_on}),
        },
    )?;
    let detail = person::find_membership(conn, membership.id)?;
    Ok(Stored::Created(
        member_responses(conn, actor, &team, &unit.path, &[detail])?.remove(0),
    ))
}

/// Changes to a membership and its person (fields left out stay as they are).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "leader"}))]
pub struct UpdateMemberRequest {
    #[schema(value_type = Option<MembershipRole>)]
    pub role: Option<Choice<MembershipRole>>,
    pub joined_on: Option<NaiveDate>,
    /// The last day in the team; `null` reopens a membership.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub left_on: Option<Option<NaiveDate>>,
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[schema(value_type = Option<Gender>)]
    pub gender: Option<Choice<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i16>)]
    pub birth_year: Option<Option<i16>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Ethnicity>)]
    pub ethnicity: Option<Option<Choice<Ethnicity>>>,
    #[schema(value_type = Option<Affiliation>)]
    pub affiliation: Option<Choice<Affiliation>>,
}

fn load_membership(
    conn: &mut PgConnection,
    actor: &AuthUser,
    membership: MembershipOf,
) -> Result<(Team, org_unit::OrgUnit, MembershipDetail), AppError> {
    let (team, unit) = load_managed(conn, actor, membership.team_id)?;
    let detail = person::find_membership(conn, membership.id)
        .optional_app()?
        .filter(|d| d.membership.team_id == team.id)
        .ok_or_else(|| AppError::not_found("membership"))?;
    Ok((team, unit, detail))
}

/// Changes a membership and its person, if its version satisfies `if_match`, fields left out staying as
/// they are (call inside a transaction); every rule applies.
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    membership: MembershipOf,
    if_match: &Precondition,
    body: &UpdateMemberRequest,
) -> Result<MemberResponse, AppError> {
    let (team, unit, current) = load_membership(conn, actor, membership)?;
    let version = if_match.check(current.membership.version)?;
    let role = body
        .role
        .clone()
        .unwrap_or(Choice::Known(current.membership.role));
    let joined_on = body.joined_on.unwrap_or(current.membership.joined_on);
    let left_on = body.left_on.unwrap_or(current.membership.left_on);
    // A person whose personal data was erased stays erased unless this change names them again: their
    // membership (role, dates) and anonymous details still change without a name being asked for.
    let full_name = body
        .full_name
        .clone()
        .or_else(|| current.person.full_name.clone());
    let person_request = PersonRequest {
        full_name: full_name.clone().unwrap_or_default(),
        phone: match &body.phone {
            Some(phone) => phone.clone(),
            None => current.person.phone.clone(),
        },
        gender: Some(
            body.gender
                .clone()
                .unwrap_or(Choice::Known(current.person.gender)),
        ),
        birth_year: body.birth_year.unwrap_or(current.person.birth_year),
        ethnicity: body
            .ethnicity
            .clone()
            .unwrap_or_else(|| current.person.ethnicity.map(Choice::Known)),
        affiliation: Some(
            body.affiliation
                .clone()
                .unwrap_or(Choice::Known(current.person.affiliation)),
        ),
    };
    let mut errors = FieldErrors::new();
    role.check(&mut errors, "role");
    let fields = checked_person(full_name.as_deref(), &person_request, "", &mut errors);
    if left_on.is_some_and(|left| left < joined_on) {
        errors.add(
            "left_on",
            "before_joined_on",
            "must not be before joined_on",
            "không được trước ngày tham gia",
        );
    }
    errors.finish()?;
    let role = role.checked()?;
    if role == MembershipRole::Leader
        && left_on.is_none()
        && current.membership.role != MembershipRole::Leader
    {
        let others = person::team_memberships(conn, team.id, false)?;
        if others.iter().any(|m| {
            m.membership.role == MembershipRole::Leader && m.membership.id != current.membership.id
        }) {
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
        role,
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

/// Ends a membership today (call inside a transaction): false when it had ended already.
pub fn end(
    conn: &mut PgConnection,
    actor: &AuthUser,
    membership: MembershipOf,
) -> Result<bool, AppError> {
    let (_, unit, current) = load_membership(conn, actor, membership)?;
    if current.membership.left_on.is_some() {
        return Ok(false);
    }
    let today = today_in_vietnam().max(current.membership.joined_on);
    person::update_membership(
        conn,
        current.membership.id,
        current.membership.version,
        current.membership.role,
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
