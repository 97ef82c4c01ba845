//! Org units: the administrative tree (province, districts until 2025, communes and wards, villages)
//! and its changes: a unit is added, edited, or merged into a successor by a reorganisation that closes
//! its predecessors without destroying history (teams follow the successor from its first day).

use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role, policy::forbidden},
    contract,
    domain::{
        Precondition, today_in_vietnam,
        validation::{FieldErrors, double_option, normalized},
    },
    error::{AppError, ErrorCode, Text},
    models::{
        audit,
        org_unit::{self, NewOrgUnit, OrgUnit, OrgUnitChanges},
    },
    reference::{Choice, OrgUnitKind, OrgUnitLevel, Vocabulary},
};

mod reorganize;

pub use reorganize::{Reorganization, ReorganizationRequest, SuccessorRequest, reorganize};

/// An org unit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "code": "son-la.2025.xa-van-ho", "name": "Vân Hồ",
    "level": "commune", "kind": "xa", "parent_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "valid_from": "2025-07-01",
    "valid_to": null, "households": null, "population": null, "version": 1,
    "created_at": "2025-07-01T00:00:00Z", "updated_at": "2025-07-01T00:00:00Z"}))]
pub struct OrgUnitResponse {
    pub id: Uuid,
    /// Unique, stable code.
    pub code: String,
    /// Vietnamese name (NFC).
    pub name: String,
    /// `province`, `district`, `commune` or `village`.
    pub level: OrgUnitLevel,
    /// `tinh`, `thanh_pho`, `thi_xa`, `huyen`, `xa`, `phuong`, `thi_tran`, `ban`, `tieu_khu`, `thon`, `to_dan_pho`.
    pub kind: OrgUnitKind,
    pub parent_id: Option<Uuid>,
    /// First day in force.
    pub valid_from: NaiveDate,
    /// Last day in force; `null` while in force.
    pub valid_to: Option<NaiveDate>,
    pub households: Option<i32>,
    pub population: Option<i32>,
    pub version: i32,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<&OrgUnit> for OrgUnitResponse {
    fn from(unit: &OrgUnit) -> Self {
        Self {
            id: unit.id,
            code: unit.code.clone(),
            name: unit.name.clone(),
            level: unit.level,
            kind: unit.kind,
            parent_id: unit.parent_id,
            valid_from: unit.valid_from,
            valid_to: unit.valid_to,
            households: unit.households,
            population: unit.population,
            version: unit.version,
            created_at: unit.created_at,
            updated_at: unit.updated_at,
        }
    }
}

/// Another unit, briefly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgUnitRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub level: OrgUnitLevel,
}

impl From<&OrgUnit> for OrgUnitRef {
    fn from(unit: &OrgUnit) -> Self {
        Self {
            id: unit.id,
            code: unit.code.clone(),
            name: unit.name.clone(),
            level: unit.level,
        }
    }
}

/// A predecessor or successor.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SuccessionRef {
    pub unit: OrgUnitRef,
    /// The day the successor took over.
    pub effective_on: NaiveDate,
}

/// A unit with its ancestors and its reorganisation history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "code": "son-la.2025.xa-van-ho", "name": "Vân Hồ",
    "level": "commune", "kind": "xa", "parent_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "valid_from": "2025-07-01",
    "valid_to": null, "households": null, "population": null, "version": 1,
    "created_at": "2025-07-01T00:00:00Z", "updated_at": "2025-07-01T00:00:00Z",
    "path": [{"id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la", "name": "Sơn La", "level": "province"}],
    "predecessors": [{"unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000021", "code": "son-la.moc-chau.xa-van-ho",
                               "name": "Vân Hồ", "level": "commune"}, "effective_on": "2025-07-01"}],
    "successors": []}))]
pub struct OrgUnitDetailResponse {
    #[serde(flatten)]
    pub unit: OrgUnitResponse,
    /// Ancestors, root first.
    pub path: Vec<OrgUnitRef>,
    /// Units merged into this one.
    pub predecessors: Vec<SuccessionRef>,
    /// Units this one was merged into.
    pub successors: Vec<SuccessionRef>,
}

/// A unit with its ancestors, predecessors and successors, or 404.
pub fn find_detail(conn: &mut PgConnection, id: Uuid) -> Result<OrgUnitDetailResponse, AppError> {
    let unit = org_unit::find(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("org unit"))?;
    let path = org_unit::ancestors(conn, &unit)?;
    let refs = |list: Vec<org_unit::Succession>| {
        list.iter()
            .map(|s| SuccessionRef {
                unit: OrgUnitRef::from(&s.unit),
                effective_on: s.effective_on,
            })
            .collect()
    };
    Ok(OrgUnitDetailResponse {
        unit: OrgUnitResponse::from(&unit),
        path: path.iter().map(OrgUnitRef::from).collect(),
        predecessors: refs(org_unit::predecessors(conn, id)?),
        successors: refs(org_unit::successors(conn, id)?),
    })
}

fn is_valid_code(code: &str) -> bool {
    contract::UNIT_CODE.accepts(code)
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
    #[schema(value_type = OrgUnitLevel)]
    pub level: Choice<OrgUnitLevel>,
    /// Must fit the level: province `tinh`; district `thanh_pho`/`thi_xa`/`huyen`; commune
    /// `xa`/`phuong`/`thi_tran`; village `ban`/`tieu_khu`/`thon`/`to_dan_pho`.
    #[schema(value_type = OrgUnitKind)]
    pub kind: Choice<OrgUnitKind>,
    /// Required except for a province; must be of a higher level and in force on `valid_from`.
    pub parent_id: Option<Uuid>,
    /// First day in force (default: today).
    pub valid_from: Option<NaiveDate>,
    pub households: Option<i32>,
    pub population: Option<i32>,
}

/// Checks a new unit's own fields (`prefix` names them inside a larger body); every problem at once.
/// The unit's level and kind when both are valid and fit.
fn validate_new_unit(
    body: &CreateOrgUnitRequest,
    errors: &mut FieldErrors,
    prefix: &str,
) -> Option<(OrgUnitLevel, OrgUnitKind)> {
    let field = |name: &str| -> String { format!("{prefix}{name}") };
    if !is_valid_code(&body.code) {
        errors.add(
            field("code"),
            "invalid_code",
            "must be 1-100 lower-case letters, digits, '.', '_' or '-'",
            "phải gồm 1-100 chữ thường, chữ số, '.', '_' hoặc '-'",
        );
    }
    if !(contract::NAME_LENGTH.0..=contract::NAME_LENGTH.1)
        .contains(&normalized(&body.name).chars().count())
    {
        errors.add(
            field("name"),
            "length",
            "must be 1 to 200 characters",
            "phải từ 1 đến 200 ký tự",
        );
    }
    let level = body.level.check(errors, field("level"));
    let kind = level.and_then(|level| check_kind_fits(errors, &field("kind"), &body.kind, level));
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
    level.zip(kind)
}

/// The kind when it is a kind of unit at `level`; otherwise `not_for_level` (an unknown kind is
/// `invalid_choice`).
fn check_kind_fits(
    errors: &mut FieldErrors,
    field: &str,
    kind: &Choice<OrgUnitKind>,
    level: OrgUnitLevel,
) -> Option<OrgUnitKind> {
    let kind = kind.check(errors, field.to_owned())?;
    if !level.kinds().contains(&kind) {
        let kinds = level
            .kinds()
            .iter()
            .map(|kind| kind.code())
            .collect::<Vec<_>>()
            .join(", ");
        errors.add(
            field.to_owned(),
            "not_for_level",
            format!("must be one of {kinds} for level {level}"),
            format!("với cấp {level} phải là một trong {kinds}"),
        );
        return None;
    }
    Some(kind)
}

/// A unit's level and kind are known once its fields were checked without error.
fn checked_above() -> AppError {
    AppError::internal(anyhow::anyhow!("level and kind were checked above"))
}

/// True when `unit` is in force on `on`.
fn in_force(unit: &OrgUnit, on: NaiveDate) -> bool {
    unit.valid_from <= on && unit.valid_to.is_none_or(|to| to >= on)
}

/// Checks the parent and the code, and inserts the unit (inside the caller's transaction).
fn insert_unit(
    conn: &mut PgConnection,
    body: &CreateOrgUnitRequest,
    (level, kind): (OrgUnitLevel, OrgUnitKind),
    valid_from: NaiveDate,
    prefix: &str,
) -> Result<OrgUnit, AppError> {
    let mut errors = FieldErrors::new();
    let parent = match body.parent_id {
        Some(parent_id) => org_unit::find(conn, parent_id).optional_app()?,
        None => None,
    };
    match (&parent, body.parent_id, level) {
        (_, Some(_), OrgUnitLevel::Province) => errors.add(
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
        (None, None, level) if level != OrgUnitLevel::Province => errors.add(
            format!("{prefix}parent_id"),
            "required",
            "is required below a province",
            "bắt buộc",
        ),
        (Some(parent), _, _) if parent.level.rank() >= level.rank() => errors.add(
            format!("{prefix}parent_id"),
            "invalid_parent",
            "must be of a higher level than the unit",
            "phải thuộc cấp cao hơn",
        ),
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
        return Err(code_taken(&body.code));
    }
    let unit = NewOrgUnit {
        id: Uuid::now_v7(),
        code: body.code.clone(),
        name: normalized(&body.name),
        level,
        kind,
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

/// The unit's public shape in the audit log.
fn snapshot(unit: &OrgUnit) -> serde_json::Value {
    serde_json::to_value(OrgUnitResponse::from(unit)).unwrap_or_default()
}

/// Changes to a unit (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"households": 1250, "population": 5480}))]
pub struct UpdateOrgUnitRequest {
    pub code: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<OrgUnitKind>)]
    pub kind: Option<Choice<OrgUnitKind>>,
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

/// 409: another unit has this code.
fn code_taken(code: &str) -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(
        format!("The code {code} is taken"),
        format!("Mã {code} đã được dùng"),
    ))
}

/// A new unit whose own fields are checked, with its first day in force.
#[derive(Debug, Clone)]
pub struct NewUnit {
    request: CreateOrgUnitRequest,
    placement: (OrgUnitLevel, OrgUnitKind),
    valid_from: NaiveDate,
}

impl CreateOrgUnitRequest {
    /// The unit, its own fields checked (every invalid field at once); the parent is checked when it
    /// is created.
    pub fn parse(self) -> Result<NewUnit, AppError> {
        let mut errors = FieldErrors::new();
        let placement = validate_new_unit(&self, &mut errors, "");
        errors.finish()?;
        let valid_from = self.valid_from.unwrap_or_else(today_in_vietnam);
        Ok(NewUnit {
            request: self,
            placement: placement.ok_or_else(checked_above)?,
            valid_from,
        })
    }
}

/// Adds a unit under a parent of a higher level (call inside a transaction).
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    new: &NewUnit,
) -> Result<OrgUnitDetailResponse, AppError> {
    let unit = insert_unit(conn, &new.request, new.placement, new.valid_from, "")?;
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
    find_detail(conn, unit.id)
}

impl UpdateOrgUnitRequest {
    /// True when the change touches more than the unit's household and population figures.
    fn is_structural(&self) -> bool {
        self.code.is_some() || self.name.is_some() || self.kind.is_some() || self.valid_to.is_some()
    }

    /// The change, its fields checked on their own (every invalid field at once); the rules that
    /// depend on the stored unit apply when it is made.
    pub fn parse(self) -> Result<Self, AppError> {
        let mut errors = FieldErrors::new();
        if let Some(code) = &self.code
            && !is_valid_code(code)
        {
            errors.add(
                "code",
                "invalid_code",
                "must be 1-100 lower-case letters, digits, '.', '_' or '-'",
                "mã không hợp lệ",
            );
        }
        if let Some(name) = &self.name {
            errors.check_length(
                "name",
                &normalized(name),
                contract::NAME_LENGTH.0,
                contract::NAME_LENGTH.1,
            );
        }
        errors.check_not_negative("households", self.households.flatten());
        errors.check_not_negative("population", self.population.flatten());
        errors.finish()?;
        Ok(self)
    }
}

/// Changes unit `id`, if its version satisfies `expected` (call inside a transaction). Admins change
/// any field; officers only `households` and `population` of units in their subtree (403 otherwise;
/// units outside it read as 404).
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
    change: &UpdateOrgUnitRequest,
) -> Result<OrgUnitDetailResponse, AppError> {
    let current = org_unit::find(conn, id)
        .optional_app()?
        .filter(|unit| actor.role == Role::Admin || actor.sees_path(&unit.path))
        .ok_or_else(|| AppError::not_found("org unit"))?;
    if change.is_structural() && actor.role != Role::Admin {
        return Err(forbidden());
    }
    let version = expected.check(current.version)?;
    let mut errors = FieldErrors::new();
    if let Some(kind) = &change.kind {
        check_kind_fits(&mut errors, "kind", kind, current.level);
    }
    if let Some(Some(valid_to)) = change.valid_to
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
    if let Some(code) = &change.code
        && *code != current.code
        && org_unit::find_by_code(conn, code)?.is_some()
    {
        return Err(code_taken(code));
    }
    let changes = OrgUnitChanges {
        code: change.code.clone(),
        name: change.name.as_deref().map(normalized),
        kind: change.kind.as_ref().and_then(Choice::known),
        valid_to: change.valid_to,
        households: change.households,
        population: change.population,
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
    find_detail(conn, id)
}
