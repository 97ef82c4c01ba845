//! The team import: teams matched by `code` (ignoring case), created or updated; a village named by
//! `org_unit_code` that does not exist yet is created under its commune.

use std::collections::HashMap;

use diesel::PgConnection;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Role},
    domain::{
        imports::{
            ImportKind, ImportOptions, ImportSummary, Row, parse_date, parse_number, row_error,
            row_errors,
        },
        teams::validate as validate_team,
        today_in_vietnam,
        validation::{FieldErrors, normalized},
    },
    error::AppError,
    models::{
        audit::{self, NewAuditEvent},
        org_unit::{self, NewOrgUnit, OrgUnit},
        team::{self, Team, TeamFields},
    },
    reference::{Choice, OrgUnitKind, OrgUnitLevel, TeamStatus, Vocabulary},
};

/// The import: a CSV header must name at least these columns.
pub const TEAMS: ImportKind = ImportKind {
    sheet: &crate::tabular::sheets::TEAM_IMPORT,
    required_columns: &["code", "org_unit_code"],
    plan: rows,
};

/// Plans and writes the team rows (an [`ImportRows`](super::ImportRows)).
pub fn rows(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    options: ImportOptions,
) -> Result<ImportSummary, AppError> {
    let ImportOptions { dry_run, atomic } = options;
    let mut units: HashMap<String, OrgUnit> = org_unit::all(conn)?
        .into_iter()
        .map(|u| (u.code.clone(), u))
        .collect();
    let mut teams: HashMap<String, Team> = team::all(conn)?
        .into_iter()
        .map(|t| (t.code.to_lowercase(), t))
        .collect();
    let today = today_in_vietnam();
    let mut summary = ImportSummary {
        dry_run,
        ..ImportSummary::default()
    };
    let mut seen = HashMap::new();
    let mut new_teams = Vec::new();
    let mut changed = Vec::new();

    for row in rows {
        let mut errors = Vec::new();
        let Some(code) = row.get("code") else {
            summary.errors.push(row_error(
                row.number,
                Some("code"),
                "required",
                "is required",
            ));
            continue;
        };
        if let Some(first) = seen.insert(code.to_lowercase(), row.number) {
            summary.errors.push(row_error(
                row.number,
                Some("code"),
                "duplicate",
                format!("repeats row {first}"),
            ));
            continue;
        }
        // The unit: existing, or a village to create under its commune.
        let unit_code = row.get("org_unit_code").unwrap_or_default().to_owned();
        let unit = match units.get(&unit_code) {
            Some(unit) => Some(unit.clone()),
            None if unit_code.is_empty() => {
                errors.push(row_error(
                    row.number,
                    Some("org_unit_code"),
                    "required",
                    "is required",
                ));
                None
            }
            None => {
                let parent_code = row
                    .get("parent_code")
                    .map(str::to_owned)
                    .or_else(|| {
                        unit_code
                            .rsplit_once('.')
                            .map(|(parent, _)| parent.to_owned())
                    })
                    .unwrap_or_default();
                let village_kind = OrgUnitKind::parse(row.get("org_unit_kind").unwrap_or("ban"))
                    .filter(|kind| OrgUnitLevel::Village.kinds().contains(kind));
                match (units.get(&parent_code), row.get("org_unit_name")) {
                    (Some(parent), Some(name))
                        if parent.level == OrgUnitLevel::Commune && parent.valid_to.is_none() =>
                    {
                        let village = NewOrgUnit {
                            id: Uuid::now_v7(),
                            code: unit_code.clone(),
                            name: normalized(name),
                            level: OrgUnitLevel::Village,
                            kind: village_kind.unwrap_or(OrgUnitKind::Ban),
                            parent_id: None,
                            path: String::new(),
                            depth: 0,
                            valid_from: parent.valid_from,
                            valid_to: None,
                            households: None,
                            population: None,
                        }
                        .placed_under(Some(parent));
                        if !actor.sees_path(&village.path) {
                            errors.push(row_error(
                                row.number,
                                Some("org_unit_code"),
                                "out_of_scope",
                                "is outside your scope",
                            ));
                            None
                        } else if village_kind.is_none() {
                            errors.push(row_error(
                                row.number,
                                Some("org_unit_kind"),
                                "invalid_choice",
                                "must be ban, tieu_khu, thon or to_dan_pho",
                            ));
                            None
                        } else {
                            let created = org_unit::insert(conn, &village)?;
                            summary.units_created += 1;
                            units.insert(created.code.clone(), created.clone());
                            Some(created)
                        }
                    }
                    _ => {
                        errors.push(row_error(
                            row.number,
                            Some("org_unit_code"),
                            "not_found",
                            "no such unit; a new village needs org_unit_name and an existing commune (parent_code)",
                        ));
                        None
                    }
                }
            }
        };
        let existing = teams.get(&code.to_lowercase()).cloned();
        let status: Choice<TeamStatus> = Choice::from_code(row.get("status").unwrap_or("active"));
        let fields = TeamFields {
            code: code.to_owned(),
            name: normalized(row.get("name").unwrap_or_default()),
            org_unit_id: unit.as_ref().map_or(Uuid::nil(), |u| u.id),
            status: status.clone(),
            founded_on: parse_date(row, "founded_on", &mut errors),
            establishment_decision: row.get("establishment_decision").map(normalized),
            zalo_group_members: parse_number(row, "zalo_group_members", &mut errors),
            zalo_group_members_as_of: parse_date(row, "zalo_group_members_as_of", &mut errors),
            notes: row.get("notes").map(normalized),
        };
        if status == Choice::Known(TeamStatus::Dissolved) {
            match &existing {
                Some(team) if team.status == TeamStatus::Dissolved => {
                    summary.unchanged += 1;
                    continue;
                }
                _ => errors.push(row_error(
                    row.number,
                    Some("status"),
                    "invalid_choice",
                    "dissolve teams with POST /teams/{id}/dissolve",
                )),
            }
        } else {
            let mut field_errors = FieldErrors::new();
            validate_team(&fields, &mut field_errors);
            errors.extend(row_errors(row.number, field_errors));
        }
        if let Some(unit) = &unit {
            if !unit.level.serves_teams() {
                errors.push(row_error(
                    row.number,
                    Some("org_unit_code"),
                    "invalid_level",
                    "must be a commune or a village",
                ));
            } else if !actor.sees_path(&unit.path) {
                errors.push(row_error(
                    row.number,
                    Some("org_unit_code"),
                    "out_of_scope",
                    "is outside your scope",
                ));
            }
        }
        if let Some(team) = &existing
            && team.status == TeamStatus::Dissolved
            && status != Choice::Known(TeamStatus::Dissolved)
        {
            errors.push(row_error(
                row.number,
                Some("status"),
                "dissolved",
                "the team is dissolved and cannot be changed",
            ));
        }
        if !errors.is_empty() {
            summary.errors.extend(errors);
            continue;
        }
        match existing {
            Some(team) if TeamFields::of(&team) == fields => summary.unchanged += 1,
            Some(team) => {
                summary.updated += 1;
                changed.push((team, fields));
            }
            None => {
                summary.created += 1;
                new_teams.push(fields);
            }
        }
    }

    summary.committed = !dry_run && (summary.errors.is_empty() || !atomic);
    if atomic && !summary.errors.is_empty() {
        summary.created = 0;
        summary.updated = 0;
        summary.unchanged = 0;
        summary.units_created = 0;
    }
    if !summary.committed {
        return Ok(summary);
    }
    let created: Vec<(Uuid, TeamFields)> =
        new_teams.into_iter().map(|f| (Uuid::now_v7(), f)).collect();
    team::insert_many(conn, &created, today)?;
    for (current, fields) in &changed {
        team::update(conn, current, current.version, fields, today)?;
        teams.insert(fields.code.to_lowercase(), current.clone());
    }
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "teams_imported",
            entity_type: "team",
            entity_id: None,
            org_unit_path: actor
                .scope_path
                .clone()
                .filter(|_| actor.role != Role::Admin),
            changes: serde_json::json!({
                "created": created.iter().map(|(_, f)| &f.code).collect::<Vec<_>>(),
                "updated": changed.iter().map(|(_, f)| &f.code).collect::<Vec<_>>(),
                "units_created": summary.units_created,
            }),
        },
    )?;
    Ok(summary)
}
