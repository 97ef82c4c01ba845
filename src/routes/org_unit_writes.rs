//! Changing the administrative tree: create a unit, edit it, and record a reorganisation (merge) without
//! destroying history.

use actix_web::{HttpRequest, HttpResponse, patch, post, web};
use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role, policy::forbidden},
    db::Db,
    domain::validation::double_option,
    domain::{
        today_in_vietnam,
        validation::{FieldErrors, normalized},
    },
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit::{self, NewOrgUnit, OrgUnit, OrgUnitChanges},
    },
    routes::{
        conditional::{etag, if_match},
        org_units::{OrgUnitDetailResponse, OrgUnitResponse, load_detail},
    },
};

/// The kinds a unit of each level may have.
pub fn kinds_for_level(level: &str) -> &'static [&'static str] {
    match level {
        "province" => &["tinh"],
        "district" => &["thanh_pho", "thi_xa", "huyen"],
        "commune" => &["xa", "phuong", "thi_tran"],
        "village" => &["ban", "tieu_khu", "thon", "to_dan_pho"],
        _ => &[],
    }
}

fn is_valid_code(code: &str) -> bool {
    crate::domain::validation::is_code(code, 100, true)
}

/// A new unit.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "son-la.xa-van-ho.ban-bo-nhang-1", "name": "Bản Bó Nhàng 1", "level": "village",
    "kind": "ban", "parent_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "valid_from": "2025-07-01", "households": 84}))]
pub struct CreateOrgUnitRequest {
    /// Unique stable code: lower-case letters, digits, `.`, `_`, `-` (1-100).
    pub code: String,
    /// Vietnamese name (stored NFC).
    pub name: String,
    /// `province`, `district`, `commune` or `village`.
    #[schema(value_type = crate::reference::OrgUnitLevel)]
    pub level: String,
    /// Must fit the level: province `tinh`; district `thanh_pho`/`thi_xa`/`huyen`; commune
    /// `xa`/`phuong`/`thi_tran`; village `ban`/`tieu_khu`/`thon`/`to_dan_pho`.
    #[schema(value_type = crate::reference::OrgUnitKind)]
    pub kind: String,
    /// Required except for a province; must be of a higher level and in force on `valid_from`.
    pub parent_id: Option<Uuid>,
    /// First day in force (default: today).
    pub valid_from: Option<NaiveDate>,
    pub households: Option<i32>,
    pub population: Option<i32>,
}

fn validate_new_unit(body: &CreateOrgUnitRequest, errors: &mut FieldErrors, prefix: &str) {
    let field = |name: &str| -> String { format!("{prefix}{name}") };
    if !is_valid_code(&body.code) {
        errors.add(
            field("code"),
            "invalid_code",
            "must be 1-100 lower-case letters, digits, '.', '_' or '-'",
            "phải gồm 1-100 chữ thường, chữ số, '.', '_' hoặc '-'",
        );
    }
    if !(1..=200).contains(&normalized(&body.name).chars().count()) {
        errors.add(
            field("name"),
            "length",
            "must be 1 to 200 characters",
            "phải từ 1 đến 200 ký tự",
        );
    }
    if org_unit::level_rank(&body.level).is_none() {
        errors.add(
            field("level"),
            "invalid_choice",
            "must be province, district, commune or village",
            "phải là province, district, commune hoặc village",
        );
    } else if !kinds_for_level(&body.level).contains(&body.kind.as_str()) {
        errors.add(
            field("kind"),
            "invalid_choice",
            format!(
                "must be one of {} for level {}",
                kinds_for_level(&body.level).join(", "),
                body.level
            ),
            format!(
                "với cấp {} phải là một trong {}",
                body.level,
                kinds_for_level(&body.level).join(", ")
            ),
        );
    }
    if body.households.is_some_and(|v| v < 0) {
        errors.add(
            field("households"),
            "negative",
            "must not be negative",
            "không được âm",
        );
    }
    if body.population.is_some_and(|v| v < 0) {
        errors.add(
            field("population"),
            "negative",
            "must not be negative",
            "không được âm",
        );
    }
}

fn in_force(unit: &OrgUnit, on: NaiveDate) -> bool {
    unit.valid_from <= on && unit.valid_to.is_none_or(|to| to >= on)
}

/// Checks the parent and the code, and inserts the unit (inside the caller's transaction).
fn insert_unit(
    conn: &mut PgConnection,
    body: &CreateOrgUnitRequest,
    valid_from: NaiveDate,
    prefix: &str,
) -> Result<OrgUnit, AppError> {
    let mut errors = FieldErrors::new();
    let parent = match body.parent_id {
        Some(parent_id) => org_unit::find(conn, parent_id).optional_app()?,
        None => None,
    };
    let rank = org_unit::level_rank(&body.level).unwrap_or(0);
    match (&parent, body.parent_id, body.level.as_str()) {
        (_, Some(_), "province") => errors.add(
            format!("{prefix}parent_id"),
            "not_allowed",
            "a province has no parent",
            "cấp tỉnh không có đơn vị cha",
        ),
        (None, Some(_), _) => errors.add(
            format!("{prefix}parent_id"),
            "not_found",
            "no such org unit",
            "không có đơn vị này",
        ),
        (None, None, level) if level != "province" => errors.add(
            format!("{prefix}parent_id"),
            "required",
            "is required below a province",
            "bắt buộc",
        ),
        (Some(parent), _, _) if org_unit::level_rank(&parent.level).is_none_or(|r| r >= rank) => {
            errors.add(
                format!("{prefix}parent_id"),
                "invalid_parent",
                "must be of a higher level than the unit",
                "phải thuộc cấp cao hơn",
            )
        }
        (Some(parent), _, _) if !in_force(parent, valid_from) => errors.add(
            format!("{prefix}parent_id"),
            "not_in_force",
            "is not in force on valid_from",
            "không còn hiệu lực vào ngày valid_from",
        ),
        _ => {}
    }
    errors.finish()?;
    if org_unit::find_by_code(conn, &body.code)?.is_some() {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            format!("The code {} is taken", body.code),
            format!("Mã {} đã được dùng", body.code),
        )));
    }
    let unit = NewOrgUnit {
        id: Uuid::now_v7(),
        code: body.code.clone(),
        name: normalized(&body.name),
        level: body.level.clone(),
        kind: body.kind.clone(),
        parent_id: None,
        path: String::new(),
        depth: 0,
        valid_from,
        valid_to: None,
        households: body.households,
        population: body.population,
    }
    .placed_under(parent.as_ref());
    Ok(org_unit::insert(conn, &unit)?)
}

fn snapshot(unit: &OrgUnit) -> serde_json::Value {
    serde_json::to_value(OrgUnitResponse::from(unit)).unwrap_or_default()
}

/// Create an org unit.
///
/// Adds a unit under a parent of a higher level (admins only). Villages, residential groups and new
/// communes are added this way; merges go through `POST /api/v1/org-units/reorganizations`.
#[utoipa::path(
    tag = "org-units",
    operation_id = "create_org_unit",
    security(("bearer" = [])),
    request_body = CreateOrgUnitRequest,
    responses(
        (status = 201, description = "Created.", body = OrgUnitDetailResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/org-units")]
pub async fn create_org_unit(
    actor: AuthUser,
    body: web::Json<CreateOrgUnitRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateOrgUnit)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::new();
    validate_new_unit(&body, &mut errors, "");
    errors.finish()?;
    let valid_from = body.valid_from.unwrap_or_else(today_in_vietnam);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let unit = insert_unit(conn, &body, valid_from, "")?;
                audit::record_change(
                    conn,
                    &actor.audit_context(),
                    "org_unit_created",
                    "org_unit",
                    unit.id,
                    Some(unit.path.clone()),
                    None,
                    &snapshot(&unit),
                )?;
                load_detail(conn, unit.id)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(detail.unit.version)))
        .insert_header(("Location", format!("/api/v1/org-units/{}", detail.unit.id)))
        .json(detail))
}

/// Changes to a unit (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"households": 1250, "population": 5480}))]
pub struct UpdateOrgUnitRequest {
    pub code: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<crate::reference::OrgUnitKind>)]
    pub kind: Option<String>,
    /// Last day in force; `null` reopens the unit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_to: Option<Option<NaiveDate>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub households: Option<Option<i32>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub population: Option<Option<i32>>,
}

/// Update an org unit.
///
/// Admins change any field; officers change only `households` and `population`, of units inside their
/// subtree (others read as 404). `If-Match` makes the change conditional (412 when stale).
#[utoipa::path(
    tag = "org-units",
    operation_id = "update_org_unit",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Org unit id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = UpdateOrgUnitRequest,
    responses(
        (status = 200, description = "Updated.", body = OrgUnitDetailResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change these fields.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/org-units/{id}")]
pub async fn update_org_unit(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateOrgUnitRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateOrgUnit)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let structural = body.code.is_some()
        || body.name.is_some()
        || body.kind.is_some()
        || body.valid_to.is_some();
    let mut errors = FieldErrors::new();
    if let Some(code) = &body.code
        && !is_valid_code(code)
    {
        errors.add(
            "code",
            "invalid_code",
            "must be 1-100 lower-case letters, digits, '.', '_' or '-'",
            "mã không hợp lệ",
        );
    }
    if let Some(name) = &body.name {
        errors.check_length("name", &normalized(name), 1, 200);
    }
    errors.check_not_negative("households", body.households.flatten());
    errors.check_not_negative("population", body.population.flatten());
    errors.finish()?;
    let if_match = if_match(&req);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let current = org_unit::find(conn, id)
                    .optional_app()?
                    .filter(|unit| actor.role == Role::Admin || actor.sees_path(&unit.path))
                    .ok_or_else(|| AppError::not_found("org unit"))?;
                if structural && actor.role != Role::Admin {
                    return Err(forbidden());
                }
                let version = if_match.check(current.version)?;
                let mut errors = FieldErrors::new();
                if let Some(kind) = &body.kind
                    && !kinds_for_level(&current.level).contains(&kind.as_str())
                {
                    errors.add(
                        "kind",
                        "invalid_choice",
                        format!(
                            "must be one of {}",
                            kinds_for_level(&current.level).join(", ")
                        ),
                        format!(
                            "phải là một trong {}",
                            kinds_for_level(&current.level).join(", ")
                        ),
                    );
                }
                if let Some(Some(valid_to)) = body.valid_to
                    && valid_to < current.valid_from
                {
                    errors.add(
                        "valid_to",
                        "before_valid_from",
                        "must not be before valid_from",
                        "không được trước valid_from",
                    );
                }
                errors.finish()?;
                if let Some(code) = &body.code
                    && *code != current.code
                    && org_unit::find_by_code(conn, code)?.is_some()
                {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        format!("The code {code} is taken"),
                        format!("Mã {code} đã được dùng"),
                    )));
                }
                let changes = OrgUnitChanges {
                    code: body.code.clone(),
                    name: body.name.as_deref().map(normalized),
                    kind: body.kind.clone(),
                    valid_to: body.valid_to,
                    households: body.households,
                    population: body.population,
                };
                let updated = org_unit::update(conn, id, version, &changes)?
                    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                audit::record_change(
                    conn,
                    &actor.audit_context(),
                    "org_unit_updated",
                    "org_unit",
                    id,
                    Some(updated.path.clone()),
                    Some(&snapshot(&current)),
                    &snapshot(&updated),
                )?;
                load_detail(conn, id)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.unit.version)))
        .json(detail))
}

/// A merge of units into a successor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"effective_on": "2025-07-01",
    "successor": {"code": "son-la.xa-van-ho", "name": "Vân Hồ", "level": "commune", "kind": "xa",
                  "parent_id": "0193a0f4-7b1e-7c53-a8e1-000000000001"},
    "predecessor_ids": ["0193a0f4-7b1e-7c53-a8e1-000000000011", "0193a0f4-7b1e-7c53-a8e1-000000000012"]}))]
pub struct ReorganizationRequest {
    /// The first day of the successor; the predecessors close the day before.
    pub effective_on: NaiveDate,
    /// The new unit (`valid_from` is `effective_on`).
    pub successor: SuccessorRequest,
    /// The units merged into it (1-50, of the successor's level, each in force the day before and on
    /// `effective_on`).
    pub predecessor_ids: Vec<Uuid>,
}

/// The successor of a reorganisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessorRequest {
    pub code: String,
    pub name: String,
    #[schema(value_type = crate::reference::OrgUnitLevel)]
    pub level: String,
    #[schema(value_type = crate::reference::OrgUnitKind)]
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub households: Option<i32>,
    pub population: Option<i32>,
}

/// Record a reorganisation.
///
/// Merges units without destroying history (admins only): the predecessors are closed the day before
/// `effective_on`, the successor is created from `effective_on`, and predecessor -> successor links are
/// recorded. Teams of the predecessors move to the successor from `effective_on` (their unit history
/// keeps the old unit for the time before), so data keyed to the predecessors keeps reporting under the
/// old structure.
#[utoipa::path(
    tag = "org-units",
    operation_id = "reorganize_org_units",
    security(("bearer" = [])),
    request_body = ReorganizationRequest,
    responses(
        (status = 201, description = "The successor, with its predecessors.", body = OrgUnitDetailResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Successor code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or predecessors.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/org-units/reorganizations")]
pub async fn reorganize_org_units(
    actor: AuthUser,
    body: web::Json<ReorganizationRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReorganizeOrgUnits)?;
    let body = body.into_inner();
    let successor = CreateOrgUnitRequest {
        code: body.successor.code.clone(),
        name: body.successor.name.clone(),
        level: body.successor.level.clone(),
        kind: body.successor.kind.clone(),
        parent_id: body.successor.parent_id,
        valid_from: Some(body.effective_on),
        households: body.successor.households,
        population: body.successor.population,
    };
    let mut errors = FieldErrors::new();
    validate_new_unit(&successor, &mut errors, "successor.");
    let mut unique = body.predecessor_ids.clone();
    unique.sort();
    unique.dedup();
    if body.predecessor_ids.is_empty() || body.predecessor_ids.len() > 50 {
        errors.add(
            "predecessor_ids",
            "count",
            "must list 1 to 50 units",
            "phải có từ 1 đến 50 đơn vị",
        );
    } else if unique.len() != body.predecessor_ids.len() {
        errors.add(
            "predecessor_ids",
            "duplicate",
            "must not repeat a unit",
            "không được lặp lại đơn vị",
        );
    }
    errors.finish()?;
    let effective_on = body.effective_on;
    let Some(day_before) = effective_on.pred_opt() else {
        return Err(AppError::validation(vec![crate::error::FieldError::new(
            "effective_on",
            "out_of_range",
            Text::new("is out of range", "ngoài phạm vi"),
        )]));
    };
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let mut errors = FieldErrors::new();
                let mut predecessors = Vec::new();
                for (index, id) in body.predecessor_ids.iter().enumerate() {
                    let field = format!("predecessor_ids[{index}]");
                    match org_unit::find(conn, *id).optional_app()? {
                        None => errors.add(
                            field,
                            "not_found",
                            "no such org unit",
                            "không có đơn vị này",
                        ),
                        // It must exist before the change and still be in force when the change takes effect.
                        Some(unit)
                            if !in_force(&unit, day_before) || !in_force(&unit, effective_on) =>
                        {
                            errors.add(
                                field,
                                "not_in_force",
                                "must be in force both the day before and on effective_on",
                                "phải còn hiệu lực vào ngày trước và vào ngày effective_on",
                            )
                        }
                        Some(unit) if unit.level != successor.level => errors.add(
                            field,
                            "level_mismatch",
                            "must be of the successor's level",
                            "phải cùng cấp với đơn vị mới",
                        ),
                        Some(unit) => predecessors.push(unit),
                    }
                }
                errors.finish()?;
                let created = insert_unit(conn, &successor, effective_on, "successor.")?;
                let context = actor.audit_context();
                for predecessor in &predecessors {
                    let closed = org_unit::close(conn, predecessor.id, day_before)?;
                    org_unit::link_succession(conn, predecessor.id, created.id, effective_on)?;
                    audit::record_change(
                        conn,
                        &context,
                        "org_unit_closed",
                        "org_unit",
                        closed.id,
                        Some(closed.path.clone()),
                        Some(&snapshot(predecessor)),
                        &snapshot(&closed),
                    )?;
                }
                let predecessor_ids: Vec<Uuid> = predecessors.iter().map(|p| p.id).collect();
                let teams_moved = crate::models::team::follow_reorganization(
                    conn,
                    &predecessor_ids,
                    created.id,
                    effective_on,
                )?;
                audit::record(
                    conn,
                    &context,
                    NewAuditEvent {
                        action: "org_units_reorganized",
                        entity_type: "org_unit",
                        entity_id: Some(created.id),
                        org_unit_path: Some(created.path.clone()),
                        changes: serde_json::json!({
                            "effective_on": effective_on,
                            "predecessor_ids": predecessor_ids,
                            "successor": snapshot(&created),
                            "teams_moved": teams_moved,
                        }),
                    },
                )?;
                load_detail(conn, created.id)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(detail.unit.version)))
        .insert_header(("Location", format!("/api/v1/org-units/{}", detail.unit.id)))
        .json(detail))
}
