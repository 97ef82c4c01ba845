//! People: the members of teams across their memberships, and the erasure of their personal data
//! (Personal Data Protection Law 91/2025/QH15). A phone is shown in full only to those who manage one of
//! the person's current teams, and every full number shown is recorded in the read log.

use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role},
    domain::memberships::shown_phone,
    error::{AppError, ErrorCode, Text},
    models::{
        audit::{self, NewAuditEvent},
        person::{self, Person, PersonFilter},
    },
    reference::{Affiliation, Ethnicity, Gender, MembershipRole},
};

/// A person. `phone` is masked unless you manage one of the person's current teams.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "full_name": "Lò Văn Minh", "phone": "09******78",
    "phone_masked": true, "gender": "male", "birth_year": 1985, "ethnicity": "thai", "affiliation": "village_head",
    "erased": false, "version": 1}))]
pub struct PersonResponse {
    pub id: Uuid,
    /// `null` once erased.
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub phone_masked: bool,
    pub gender: Gender,
    pub birth_year: Option<i16>,
    pub ethnicity: Option<Ethnicity>,
    pub affiliation: Affiliation,
    /// True when name and phone were erased.
    pub erased: bool,
    pub version: i32,
}

/// The person as `actor` may see them: the full phone only when `full_phone`.
pub fn person_response(person: &Person, full_phone: bool) -> PersonResponse {
    PersonResponse {
        id: person.id,
        full_name: person.full_name.clone(),
        phone: shown_phone(person.phone.as_deref(), full_phone),
        phone_masked: !full_phone && person.phone.is_some(),
        gender: person.gender,
        birth_year: person.birth_year,
        ethnicity: person.ethnicity,
        affiliation: person.affiliation,
        erased: person.erased_at.is_some(),
        version: person.version,
    }
}

/// A membership of a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonMembership {
    pub id: Uuid,
    pub team_id: Uuid,
    pub team_code: String,
    pub team_name: String,
    pub role: MembershipRole,
    pub joined_on: chrono::NaiveDate,
    pub left_on: Option<chrono::NaiveDate>,
}

/// A person with every membership (in teams you may see).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonDetailResponse {
    #[serde(flatten)]
    pub person: PersonResponse,
    pub memberships: Vec<PersonMembership>,
}

/// Whether `actor` sees `person`'s full phone: when they manage one of the person's current teams.
fn sees_full_phone(
    conn: &mut PgConnection,
    actor: &AuthUser,
    person: Uuid,
) -> Result<(bool, bool), AppError> {
    let memberships = person::person_memberships(conn, person)?;
    let visible = actor.role == Role::Admin
        || memberships
            .iter()
            .any(|m| actor.sees_team(m.membership.team_id, &m.unit_path));
    let full = actor.role == Role::Admin
        || memberships.iter().any(|m| {
            m.membership.left_on.is_none()
                && actor.sees_phones_of(m.membership.team_id, &m.unit_path)
        });
    Ok((visible, full))
}

/// A page of the people with a membership in a team the actor may see, after the position `after`, each
/// with its search rank; each full phone shown is recorded as read.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    search: Option<String>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(PersonResponse, i32)>, AppError> {
    let leader = actor.role == Role::TeamLeader;
    let filter = PersonFilter {
        within_path: actor.scope_filter().filter(|_| !leader),
        team: leader.then(|| actor.team_id.unwrap_or_else(Uuid::nil)),
        query: search,
    };
    let people = person::list_people(conn, &filter, after, limit)?.ok_or_else(|| {
        AppError::new(crate::error::ErrorCode::InvalidQuery).with_detail(crate::error::Text::new(
            "cursor is not valid",
            "cursor không hợp lệ",
        ))
    })?;
    let mut items = Vec::with_capacity(people.len());
    let mut shown = Vec::new();
    for (p, rank) in &people {
        let (_, full) = sees_full_phone(conn, actor, p.id)?;
        if full && p.phone.is_some() {
            shown.push(p.id);
        }
        items.push((person_response(p, full), *rank));
    }
    person::record_reads(conn, actor.id, &shown, actor.request_id.as_deref())?;
    Ok(items)
}

/// Person `id` with their memberships in the teams the actor may see, or 404 (also when the actor sees
/// none of their teams); a full phone shown is recorded as read.
pub fn find_detail(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<PersonDetailResponse, AppError> {
    let found = person::find_person(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("person"))?;
    let (visible, full) = sees_full_phone(conn, actor, id)?;
    if !visible {
        return Err(AppError::not_found("person"));
    }
    if full && found.phone.is_some() {
        person::record_reads(conn, actor.id, &[id], actor.request_id.as_deref())?;
    }
    let memberships = person::person_memberships(conn, id)?
        .into_iter()
        .filter(|m| actor.sees_team(m.membership.team_id, &m.unit_path))
        .map(|m| PersonMembership {
            id: m.membership.id,
            team_id: m.membership.team_id,
            team_code: m.team_code,
            team_name: m.team_name,
            role: m.membership.role,
            joined_on: m.membership.joined_on,
            left_on: m.membership.left_on,
        })
        .collect();
    Ok(PersonDetailResponse {
        person: person_response(&found, full),
        memberships,
    })
}

/// Erases the name, phone and birth year of person `id` (call inside a transaction): 409 while they
/// are a current member of a team; erasing twice is a no-op. Gender, ethnicity and memberships stay,
/// so counts remain right.
pub use crate::reference::ErasedAttachments;

/// Erases a person's personal data; with [`ErasedAttachments::Delete`] also the attachments uploaded by
/// them or on sessions they ran. Returns how many attachments were deleted.
pub fn erase(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    attachments: ErasedAttachments,
) -> Result<usize, AppError> {
    let found = person::find_person(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("person"))?;
    if person::has_current_membership(conn, id)? {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "The person is still a member of a team; end the membership first",
            "Người này vẫn là thành viên của tổ; hãy kết thúc trước",
        )));
    }
    // Attachments go on request even when the name was erased before (a second call asking for them).
    let deleted = match attachments {
        ErasedAttachments::Keep => 0,
        ErasedAttachments::Delete => {
            let ids = crate::models::attachment::by_or_about_person(conn, id)?;
            crate::models::attachment::erase(conn, &ids)?
        }
    };
    if found.erased_at.is_some() {
        return Ok(deleted);
    }
    person::erase_personal_data(conn, id)?;
    let path = person::person_memberships(conn, id)?
        .first()
        .map(|m| m.unit_path.clone());
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "personal_data_erased",
            entity_type: "person",
            entity_id: Some(id),
            org_unit_path: path,
            changes: serde_json::json!({
                "fields": ["full_name", "phone", "birth_year"],
                "attachments_deleted": deleted,
            }),
        },
    )?;
    Ok(deleted)
}
