//! Bulk import of teams and members from spreadsheets (CSV) or JSON arrays: how the province really loads
//! 2,448 teams. Rows are matched by natural keys (team `code`; a member by team, phone or name, and start
//! date), so importing the same file twice changes nothing. Every bad row is reported at once; `atomic`
//! mode (the default) writes nothing when any row is bad, `per_row` writes the good rows.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::header, post, web};
use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, Role},
    db::Db,
    domain::memberships::{PersonRequest, person_fields},
    domain::{
        today_in_vietnam,
        validation::{FieldErrors, normalized},
    },
    error::{AppError, ErrorCode, FieldError, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit::{self, NewOrgUnit, OrgUnit},
        person::{self, Person, PersonFields},
        team::{self, Team, TeamFields},
    },
    routes::teams::validate_team,
};

/// Largest import body.
pub const IMPORT_BODY_LIMIT: usize = 20 * 1024 * 1024;

/// How to import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `true`: check and count, write nothing.
    pub dry_run: Option<bool>,
    /// `atomic` (default): any bad row rejects the whole file. `per_row`: good rows are written, bad rows
    /// reported.
    #[param(value_type = Option<crate::reference::ImportMode>)]
    pub mode: Option<String>,
}

/// One problem in one row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ImportRowError {
    /// Line in the CSV file (the header is line 1), or position in the JSON array (from 1).
    pub row: usize,
    /// The column at fault (`null` for the row as a whole).
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"dry_run": false, "committed": true, "created": 2448, "updated": 0, "unchanged": 0,
    "units_created": 2373, "errors": []}))]
pub struct ImportSummary {
    pub dry_run: bool,
    /// True when the rows counted were written.
    pub committed: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Villages created because the file named them (team imports).
    pub units_created: usize,
    /// Every bad row, all at once.
    pub errors: Vec<ImportRowError>,
}

/// A row of the file: column -> text, with its row number.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    pub cells: HashMap<String, String>,
}

impl Row {
    pub(crate) fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(String::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, AppError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            AppError::new(ErrorCode::InvalidBody).with_source(anyhow::anyhow!("{error}"))
        })?;
        if body.len() + chunk.len() > IMPORT_BODY_LIMIT {
            return Err(
                AppError::new(ErrorCode::PayloadTooLarge).with_detail(Text::new(
                    format!("An import may be at most {IMPORT_BODY_LIMIT} bytes"),
                    format!("Tệp nhập tối đa {IMPORT_BODY_LIMIT} byte"),
                )),
            );
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A value as exported (a leading apostrophe protects formulas in spreadsheets) back to its text.
fn unprotect(value: &str) -> String {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_owned(),
        _ => value.to_owned(),
    }
}

/// Parses a CSV (UTF-8, optional BOM, comma or semicolon) or JSON-array body into rows.
pub fn parse_rows(content_type: &str, body: &[u8]) -> Result<Vec<Row>, AppError> {
    if content_type.starts_with("application/json") {
        let items: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_slice(body).map_err(|error| AppError::from_json_error(&error))?;
        return Ok(items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Row {
                number: index + 1,
                cells: item
                    .into_iter()
                    .filter_map(|(key, value)| {
                        let text = match value {
                            serde_json::Value::Null => return None,
                            serde_json::Value::String(text) => text,
                            other => other.to_string(),
                        };
                        Some((key.trim().to_lowercase(), text))
                    })
                    .collect(),
            })
            .collect());
    }
    if !content_type.starts_with("text/csv") {
        return Err(
            AppError::new(ErrorCode::UnsupportedMediaType).with_detail(Text::new(
                "Send text/csv or application/json",
                "Hãy gửi text/csv hoặc application/json",
            )),
        );
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        AppError::validation(vec![FieldError::new(
            "body",
            "not_utf8",
            Text::new("must be UTF-8 text", "phải là văn bản UTF-8"),
        )])
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| unreadable_csv(1, &error))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error
                .position()
                .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
            unreadable_csv(line, &error)
        })?;
        let number = record
            .position()
            .map_or(rows.len() + 2, |p| usize::try_from(p.line()).unwrap_or(0));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        // Cells past the header would be dropped silently, and usually mean a shifted row (an
        // unquoted comma): refuse the file rather than import the wrong columns.
        if record
            .iter()
            .skip(headers.len())
            .any(|cell| !cell.trim().is_empty())
        {
            return Err(malformed_csv(
                number,
                format!(
                    "{} cells, but the header has {}",
                    record.len(),
                    headers.len()
                ),
                format!(
                    "{} ô, nhưng dòng tiêu đề có {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        rows.push(Row {
            number,
            cells: headers
                .iter()
                .cloned()
                .zip(record.iter().map(unprotect))
                .collect(),
        });
    }
    Ok(rows)
}

fn unreadable_csv(line: usize, error: &csv::Error) -> AppError {
    malformed_csv(line, error, format!("CSV không hợp lệ ({error})"))
}

/// 422 `malformed_csv` for `line`, saying what is wrong with it in English and Vietnamese.
fn malformed_csv(line: usize, en: impl std::fmt::Display, vi: impl std::fmt::Display) -> AppError {
    AppError::validation(vec![FieldError::new(
        "body",
        "malformed_csv",
        Text::new(format!("line {line}: {en}"), format!("dòng {line}: {vi}")),
    )])
}

fn row_errors(row: usize, errors: FieldErrors) -> Vec<ImportRowError> {
    match errors.finish() {
        Ok(()) => Vec::new(),
        Err(error) => error
            .field_errors()
            .iter()
            .map(|e| ImportRowError {
                row,
                column: Some(e.field.to_string()),
                code: e.code.to_string(),
                message: e.message.en.to_string(),
            })
            .collect(),
    }
}

pub(crate) fn row_error(
    row: usize,
    column: Option<&str>,
    code: &str,
    message: impl Into<String>,
) -> ImportRowError {
    ImportRowError {
        row,
        column: column.map(str::to_owned),
        code: code.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn parse_date(
    row: &Row,
    column: &str,
    errors: &mut Vec<ImportRowError>,
) -> Option<NaiveDate> {
    let value = row.get(column)?;
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(row_error(
                row.number,
                Some(column),
                "invalid_date",
                "must be a date like 2025-07-01",
            ));
            None
        }
    }
}

fn parse_number<T: std::str::FromStr>(
    row: &Row,
    column: &str,
    errors: &mut Vec<ImportRowError>,
) -> Option<T> {
    let value = row.get(column)?;
    match value.parse::<T>() {
        Ok(number) => Some(number),
        Err(_) => {
            errors.push(row_error(
                row.number,
                Some(column),
                "invalid_number",
                "must be a whole number",
            ));
            None
        }
    }
}

fn options(query: &ImportQuery) -> Result<(bool, bool), AppError> {
    let atomic = match query.mode.as_deref() {
        None | Some("atomic") => true,
        Some("per_row") => false,
        Some(_) => {
            return Err(AppError::validation(vec![FieldError::new(
                "mode",
                "invalid_choice",
                Text::new("must be atomic or per_row", "phải là atomic hoặc per_row"),
            )]));
        }
    };
    Ok((query.dry_run.unwrap_or(false), atomic))
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Plans the rows of one import.
type ImportRows =
    fn(&mut PgConnection, &AuthUser, &[Row], bool, bool) -> Result<ImportSummary, AppError>;

/// Reads, parses and imports a body with `rows` (shared by the team and member imports).
pub(crate) async fn import(
    req: HttpRequest,
    actor: AuthUser,
    query: ImportQuery,
    payload: web::Payload,
    db: &Db,
    rows: ImportRows,
) -> Result<HttpResponse, AppError> {
    let (dry_run, atomic) = options(&query)?;
    let content_type = content_type(&req);
    let body = read_body(payload).await?;
    let parsed = parse_rows(&content_type, &body)?;
    let summary = db
        .run(move |conn| run_import(conn, |conn| rows(conn, &actor, &parsed, dry_run, atomic)))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Runs `work` in a transaction that is kept only when `commit` says so afterwards.
fn run_import(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<ImportSummary, AppError>,
) -> Result<ImportSummary, AppError> {
    enum Outcome {
        RolledBack(ImportSummary),
        Failed(AppError),
    }
    impl From<diesel::result::Error> for Outcome {
        fn from(error: diesel::result::Error) -> Self {
            Self::Failed(error.into())
        }
    }
    let result = conn.transaction::<ImportSummary, Outcome, _>(|conn| {
        let summary = work(conn).map_err(Outcome::Failed)?;
        if summary.committed {
            Ok(summary)
        } else {
            Err(Outcome::RolledBack(summary))
        }
    });
    match result {
        Ok(summary) | Err(Outcome::RolledBack(summary)) => Ok(summary),
        Err(Outcome::Failed(error)) => Err(error),
    }
}

/// Import teams.
///
/// Creates or updates teams from a CSV file (the columns of the team export: `code`, `name`,
/// `org_unit_name`, `org_unit_code`, `level`, `status`, `founded_on`, `establishment_decision`,
/// `zalo_group_members`, `zalo_group_members_as_of`, `notes`; `parent_code` optional) or a JSON array of
/// objects with those keys. Teams are matched by `code`. A village named by `org_unit_code` that does
/// not exist yet is created under its commune (`parent_code`, or the code before the last `.`).
#[utoipa::path(
    tag = "imports",
    operation_id = "import_teams",
    params(ImportQuery),
    security(("bearer" = [])),
    request_body(content((String = "text/csv"), (Vec<Object> = "application/json")),
        description = "CSV with a header row (UTF-8, optional BOM, comma or semicolon), or a JSON array."),
    responses(
        (status = 200, description = "The summary; `committed` says whether anything was written.", body = ImportSummary),
        (status = 400, description = "Unreadable body.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and officers only.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 20 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV nor JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed CSV or bad options.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/teams")]
pub async fn import_teams(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ImportTeams)?;
    import(
        req,
        actor,
        query.into_inner(),
        payload,
        &db,
        import_team_rows,
    )
    .await
}

fn import_team_rows(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    dry_run: bool,
    atomic: bool,
) -> Result<ImportSummary, AppError> {
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
                match (units.get(&parent_code), row.get("org_unit_name")) {
                    (Some(parent), Some(name))
                        if parent.level == "commune" && parent.valid_to.is_none() =>
                    {
                        let village = NewOrgUnit {
                            id: Uuid::now_v7(),
                            code: unit_code.clone(),
                            name: normalized(name),
                            level: "village".to_owned(),
                            kind: row.get("org_unit_kind").unwrap_or("ban").to_owned(),
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
                        } else if !crate::routes::org_unit_writes::kinds_for_level("village")
                            .contains(&village.kind.as_str())
                        {
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
        let status = row.get("status").unwrap_or("active").to_owned();
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
        if status == "dissolved" {
            match &existing {
                Some(team) if team.status == "dissolved" => {
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
            if !matches!(unit.level.as_str(), "commune" | "village") {
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
            && team.status == "dissolved"
            && status != "dissolved"
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

/// Import members.
///
/// Creates or updates memberships from a CSV file (the columns of the member export: `team_code`,
/// `full_name`, `phone`, `gender`, `birth_year`, `ethnicity`, `affiliation`, `role`, `joined_on`,
/// `left_on`) or a JSON array. A person is matched by phone number, or by name within the team; a
/// membership by team, person and `joined_on`. A team keeps at most one current leader.
#[utoipa::path(
    tag = "imports",
    operation_id = "import_members",
    params(ImportQuery),
    security(("bearer" = [])),
    request_body(content((String = "text/csv"), (Vec<Object> = "application/json")),
        description = "CSV with a header row (UTF-8, optional BOM, comma or semicolon), or a JSON array."),
    responses(
        (status = 200, description = "The summary; `committed` says whether anything was written.", body = ImportSummary),
        (status = 400, description = "Unreadable body.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and officers only.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 20 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV nor JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed CSV or bad options.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/members")]
pub async fn import_members(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ImportMembers)?;
    import(
        req,
        actor,
        query.into_inner(),
        payload,
        &db,
        import_member_rows,
    )
    .await
}

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
type StoredMembership = (Uuid, String, Option<NaiveDate>);

/// A membership as the import plans it.
struct PlannedMembership {
    id: Uuid,
    team_id: Uuid,
    person_id: Uuid,
    role: String,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
}

fn import_member_rows(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    dry_run: bool,
    atomic: bool,
) -> Result<ImportSummary, AppError> {
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
            (m.id, m.role.clone(), m.left_on),
        );
        if m.left_on.is_none() {
            current_members.insert((m.team_id, m.person_id), m.joined_on);
            if m.role == "leader" {
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
                } else if team.status == "dissolved" {
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
            gender: row.get("gender").map(str::to_owned),
            birth_year: parse_number(row, "birth_year", &mut errors),
            ethnicity: row.get("ethnicity").map(str::to_owned),
            affiliation: row.get("affiliation").map(str::to_owned),
        };
        let mut field_errors = FieldErrors::new();
        let fields = person_fields(&request, "", &mut field_errors);
        let role = row.get("role").unwrap_or("member").to_owned();
        if !matches!(role.as_str(), "leader" | "deputy" | "member") {
            field_errors.add(
                "role",
                "invalid_choice",
                "must be leader, deputy or member",
                "vai trò không hợp lệ",
            );
        }
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
        let leader_taken = role == "leader"
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
                    gender: fields.gender.clone(),
                    birth_year: fields.birth_year,
                    ethnicity: fields.ethnicity.clone(),
                    affiliation: fields.affiliation.clone(),
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
            role: role.clone(),
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
            (Uuid::nil(), role.clone(), left_on),
        );
        match left_on {
            None => {
                current_members.insert((team.id, person.id), joined_on);
                if role == "leader" {
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
            &planned.role,
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
            role: m.role.clone(),
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
