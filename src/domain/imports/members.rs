//! The member import: a person matched by phone number, or by name within the team; a membership by
//! team, person and `joined_on`. A team keeps at most one current leader.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::PgConnection;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Role},
    domain::{
        imports::{
            ImportKind, ImportOptions, ImportSummary, Row, parse_date, parse_number, row_error,
            row_errors,
        },
        memberships::{PersonRequest, person_fields},
        today_in_vietnam,
        validation::FieldErrors,
    },
    error::AppError,
    models::{
        audit::{self, NewAuditEvent},
        org_unit::{self, OrgUnit},
        person::{self, Person, PersonFields},
        team::{self, Team},
    },
    reference::{Choice, MembershipRole, TeamStatus},
};

/// A name folded for matching: no diacritics, lower case, single spaces.
fn folded(name: &str) -> String {
    deunicode::deunicode(name)
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A membership's natural key: team, person, start date.
type MembershipKey = (Uuid, Uuid, NaiveDate);
/// What a membership holds: id, role, end date.
type StoredMembership = (Uuid, MembershipRole, Option<NaiveDate>);

/// A membership as the import plans it.
struct PlannedMembership {
    id: Uuid,
    team_id: Uuid,
    person_id: Uuid,
    role: MembershipRole,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
}

/// The import: a CSV header must name at least these columns.
pub const MEMBERS: ImportKind = ImportKind {
    sheet: &crate::tabular::sheets::MEMBERS,
    required_columns: &["team_code"],
    plan: rows,
};

/// Plans and writes the member rows (an [`ImportRows`](super::ImportRows)).
pub fn rows(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    options: ImportOptions,
) -> Result<ImportSummary, AppError> {
    let ImportOptions { dry_run, atomic } = options;
    let units: HashMap<Uuid, OrgUnit> = org_unit::all(conn)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let teams: HashMap<String, Team> = team::all(conn)?
        .into_iter()
        .map(|t| (t.code.to_lowercase(), t))
        .collect();
    let team_ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|row| {
            row.get("team_code")
                .and_then(|code| teams.get(&code.to_lowercase()))
                .map(|t| t.id)
        })
        .collect();
    let phones: Vec<String> = rows
        .iter()
        .filter_map(|row| row.get("phone"))
        .filter_map(crate::domain::validation::normalize_phone)
        .collect();

    // What is known, indexed for constant-time lookups, and kept current as rows are planned.
    let mut people_by_phone: HashMap<String, Person> = person::people_with_phones(conn, &phones)?
        .into_iter()
        .filter_map(|p| p.phone.clone().map(|phone| (phone, p)))
        .collect();
    let mut people_by_team_name: HashMap<(Uuid, String), Person> = HashMap::new();
    let mut memberships: HashMap<MembershipKey, StoredMembership> = HashMap::new();
    let mut current_members: HashMap<(Uuid, Uuid), NaiveDate> = HashMap::new();
    let mut leaders: HashMap<Uuid, Uuid> = HashMap::new();
    for detail in person::memberships_of_teams(conn, &team_ids)? {
        let m = &detail.membership;
        if let Some(name) = detail.person.full_name.as_deref() {
            people_by_team_name.insert((m.team_id, folded(name)), detail.person.clone());
        }
        memberships.insert(
            (m.team_id, m.person_id, m.joined_on),
            (m.id, m.role, m.left_on),
        );
        if m.left_on.is_none() {
            current_members.insert((m.team_id, m.person_id), m.joined_on);
            if m.role == MembershipRole::Leader {
                leaders.insert(m.team_id, m.person_id);
            }
        }
    }

    let today = today_in_vietnam();
    let mut summary = ImportSummary {
        dry_run,
        ..ImportSummary::default()
    };
    let mut new_people: Vec<(Uuid, PersonFields)> = Vec::new();
    let mut person_updates: Vec<(Uuid, PersonFields)> = Vec::new();
    let mut new_memberships: Vec<PlannedMembership> = Vec::new();
    let mut membership_updates: Vec<PlannedMembership> = Vec::new();

    for row in rows {
        let mut errors = Vec::new();
        let team = match row.get("team_code").map(|c| teams.get(&c.to_lowercase())) {
            None => {
                errors.push(row_error(
                    row.number,
                    Some("team_code"),
                    "required",
                    "is required",
                ));
                None
            }
            Some(None) => {
                errors.push(row_error(
                    row.number,
                    Some("team_code"),
                    "not_found",
                    "no team with this code",
                ));
                None
            }
            Some(Some(team)) => {
                let path = units
                    .get(&team.org_unit_id)
                    .map(|u| u.path.as_str())
                    .unwrap_or("-");
                if !actor.manages_members_of(team.id, path) {
                    errors.push(row_error(
                        row.number,
                        Some("team_code"),
                        "out_of_scope",
                        "is outside your scope",
                    ));
                    None
                } else if team.status == TeamStatus::Dissolved {
                    errors.push(row_error(
                        row.number,
                        Some("team_code"),
                        "dissolved",
                        "the team is dissolved",
                    ));
                    None
                } else {
                    Some(team.clone())
                }
            }
        };
        let request = PersonRequest {
            full_name: row.get("full_name").unwrap_or_default().to_owned(),
            phone: row.get("phone").map(str::to_owned),
            gender: row.get("gender").map(Choice::from_code),
            birth_year: parse_number(row, "birth_year", &mut errors),
            ethnicity: row.get("ethnicity").map(Choice::from_code),
            affiliation: row.get("affiliation").map(Choice::from_code),
        };
        let mut field_errors = FieldErrors::new();
        let fields = person_fields(&request, "", &mut field_errors);
        let role: Choice<MembershipRole> = Choice::from_code(row.get("role").unwrap_or("member"));
        role.check(&mut field_errors, "role");
        errors.extend(row_errors(row.number, field_errors));
        let joined_on = parse_date(row, "joined_on", &mut errors).unwrap_or(today);
        let left_on = parse_date(row, "left_on", &mut errors);
        if left_on.is_some_and(|left| left < joined_on) {
            errors.push(row_error(
                row.number,
                Some("left_on"),
                "before_joined_on",
                "must not be before joined_on",
            ));
        }
        let Some(team) = team.filter(|_| errors.is_empty()) else {
            summary.errors.extend(errors);
            continue;
        };
        let role = role.checked()?;

        // The person: by phone anywhere, else by name among this team's members, else new.
        let name = folded(fields.full_name.as_deref().unwrap_or_default());
        let existing_person = match &fields.phone {
            Some(phone) => people_by_phone.get(phone).cloned(),
            None => people_by_team_name.get(&(team.id, name.clone())).cloned(),
        };
        if existing_person
            .as_ref()
            .is_some_and(|p| p.full_name.as_deref().map(folded) != Some(name.clone()))
        {
            summary.errors.push(row_error(
                row.number,
                Some("phone"),
                "phone_of_another_person",
                "this phone number belongs to another person",
            ));
            continue;
        }
        let key_person = existing_person.as_ref().map(|p| p.id);
        let leader_taken = role == MembershipRole::Leader
            && left_on.is_none()
            && leaders
                .get(&team.id)
                .is_some_and(|leader| Some(*leader) != key_person);
        if leader_taken {
            summary.errors.push(row_error(
                row.number,
                Some("role"),
                "leader_taken",
                "the team already has a current leader",
            ));
            continue;
        }
        let existing_membership =
            key_person.and_then(|p| memberships.get(&(team.id, p, joined_on)).cloned());
        let member_since = key_person.and_then(|p| current_members.get(&(team.id, p)).copied());
        if existing_membership.is_none() && member_since.is_some() && left_on.is_none() {
            summary.errors.push(row_error(
                row.number,
                Some("joined_on"),
                "already_member",
                "this person is already a current member with another start date",
            ));
            continue;
        }

        let person = match existing_person {
            Some(person) => {
                let mut stored = PersonFields::of(&person);
                // The spelling on file is kept; a row without a phone does not erase one.
                stored.full_name = fields.full_name.clone();
                let wanted = PersonFields {
                    phone: fields.phone.clone().or(person.phone.clone()),
                    ..fields.clone()
                };
                stored.phone = person.phone.clone();
                if stored != wanted {
                    person_updates.push((person.id, wanted));
                    summary.updated += 1;
                } else if existing_membership
                    .as_ref()
                    .is_some_and(|(_, r, l)| *r == role && *l == left_on)
                {
                    summary.unchanged += 1;
                }
                person
            }
            None => {
                let id = Uuid::now_v7();
                new_people.push((id, fields.clone()));
                let planned = Person {
                    id,
                    full_name: fields.full_name.clone(),
                    phone: fields.phone.clone(),
                    gender: fields.gender.checked()?,
                    birth_year: fields.birth_year,
                    ethnicity: fields.ethnicity.as_ref().map(Choice::checked).transpose()?,
                    affiliation: fields.affiliation.checked()?,
                    erased_at: None,
                    version: 1,
                    created_at: chrono::Utc::now(),
                    updated_at: chrono::Utc::now(),
                };
                if let Some(phone) = &fields.phone {
                    people_by_phone.insert(phone.clone(), planned.clone());
                }
                planned
            }
        };
        people_by_team_name.insert((team.id, name), person.clone());

        let planned = PlannedMembership {
            id: existing_membership
                .as_ref()
                .map_or_else(Uuid::now_v7, |(id, _, _)| *id),
            team_id: team.id,
            person_id: person.id,
            role,
            joined_on,
            left_on,
        };
        match &existing_membership {
            Some((_, stored_role, stored_left))
                if *stored_role == role && *stored_left == left_on => {}
            Some(_) => {
                if person_updates.last().is_none_or(|(id, _)| *id != person.id) {
                    summary.updated += 1;
                }
                membership_updates.push(planned);
            }
            None => {
                summary.created += 1;
                new_memberships.push(planned);
            }
        }
        memberships.insert(
            (team.id, person.id, joined_on),
            (Uuid::nil(), role, left_on),
        );
        match left_on {
            None => {
                current_members.insert((team.id, person.id), joined_on);
                if role == MembershipRole::Leader {
                    leaders.insert(team.id, person.id);
                } else if leaders.get(&team.id) == Some(&person.id) {
                    leaders.remove(&team.id);
                }
            }
            Some(_) => {
                if current_members.get(&(team.id, person.id)) == Some(&joined_on) {
                    current_members.remove(&(team.id, person.id));
                }
                if leaders.get(&team.id) == Some(&person.id) {
                    leaders.remove(&team.id);
                }
            }
        }
    }

    summary.committed = !dry_run && (summary.errors.is_empty() || !atomic);
    if atomic && !summary.errors.is_empty() {
        summary.created = 0;
        summary.updated = 0;
        summary.unchanged = 0;
    }
    if !summary.committed {
        return Ok(summary);
    }
    person::insert_people(conn, &new_people)?;
    for (id, fields) in &person_updates {
        person::update_person(conn, *id, fields)?;
    }
    // Ended memberships first, so a leader handed over in the same file does not collide.
    for planned in membership_updates
        .iter()
        .filter(|m| m.left_on.is_some())
        .chain(membership_updates.iter().filter(|m| m.left_on.is_none()))
    {
        person::set_membership(
            conn,
            planned.id,
            planned.role,
            planned.joined_on,
            planned.left_on,
        )?;
    }
    let rows: Vec<person::NewMembership> = new_memberships
        .iter()
        .map(|m| person::NewMembership {
            id: m.id,
            team_id: m.team_id,
            person_id: m.person_id,
            role: m.role,
            joined_on: m.joined_on,
            left_on: m.left_on,
        })
        .collect();
    person::insert_memberships(conn, &rows)?;
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "members_imported",
            entity_type: "membership",
            entity_id: None,
            org_unit_path: actor
                .scope_path
                .clone()
                .filter(|_| actor.role != Role::Admin),
            changes: serde_json::json!({"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged}),
        },
    )?;
    Ok(summary)
}
