//! Targets (chỉ tiêu): what the province assigns down the tree. Admins set them anywhere, officers for the
//! units below their scope root (and their teams); team leaders read their team's and those of the units
//! above and below it. When children's additive targets exceed their parent's, a write says so.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role, policy::forbidden},
    domain::{Precondition, validation::FieldErrors},
    error::{AppError, ErrorCode, FieldError, Text},
    models::{
        audit::{self, NewAuditEvent},
        campaign, org_unit,
        target::{self, ScopedTarget, Target, TargetFields},
        team,
    },
    reference::{Choice, Indicator, TargetWarningCode, check_choice},
};

/// A target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "team_id": null, "indicator": "people_trained", "period_start": "2025-07-01", "period_end": "2025-12-31",
    "value": 1200.0, "campaign_id": null, "set_by": "0193a0f4-7b1e-7c53-a8e1-000000000002", "version": 1,
    "created_at": "2025-07-01T00:00:00Z", "updated_at": "2025-07-01T00:00:00Z"}))]
pub struct TargetResponse {
    pub id: Uuid,
    /// The unit the target is for (or `team_id`).
    pub org_unit_id: Option<Uuid>,
    /// The team the target is for (or `org_unit_id`).
    pub team_id: Option<Uuid>,
    pub indicator: Indicator,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    pub campaign_id: Option<Uuid>,
    /// Who set it last.
    pub set_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Target> for TargetResponse {
    fn from(t: &Target) -> Self {
        Self {
            id: t.id,
            org_unit_id: t.org_unit_id,
            team_id: t.team_id,
            indicator: t.indicator,
            period_start: t.period_start,
            period_end: t.period_end,
            value: t.value,
            campaign_id: t.campaign_id,
            set_by: t.set_by,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A note about a target that is allowed but probably wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TargetWarning {
    pub code: TargetWarningCode,
    pub message: String,
}

/// A target as written, with warnings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TargetWriteResponse {
    #[serde(flatten)]
    pub target: TargetResponse,
    pub warnings: Vec<TargetWarning>,
}

/// A new target.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "indicator": "people_trained",
    "period_start": "2025-07-01", "period_end": "2025-12-31", "value": 1200}))]
pub struct CreateTargetRequest {
    /// Give this or `team_id`.
    pub org_unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// One of the computed or external indicators.
    #[schema(value_type = Indicator)]
    pub indicator: Choice<Indicator>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Not negative; percentages at most 100.
    pub value: f64,
    pub campaign_id: Option<Uuid>,
}

/// Changes to a target.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"value": 1500}))]
pub struct UpdateTargetRequest {
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub value: Option<f64>,
}

/// Checks a target's fields; every problem at once.
pub fn validate(fields: &TargetFields) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if fields.org_unit_id.is_some() == fields.team_id.is_some() {
        errors.add(
            "org_unit_id",
            "exactly_one",
            "give exactly one of org_unit_id and team_id",
            "chỉ gửi một trong org_unit_id và team_id",
        );
    }
    let indicator = fields.indicator.check(&mut errors, "indicator");
    if fields.period_end < fields.period_start {
        errors.add(
            "period_end",
            "before_period_start",
            "must not be before period_start",
            "không được trước ngày bắt đầu",
        );
    }
    if !fields.value.is_finite() || fields.value < 0.0 {
        errors.add(
            "value",
            "negative",
            "must be a number not below 0",
            "phải là số không âm",
        );
    } else if indicator.is_some_and(Indicator::is_rate) && fields.value > 100.0 {
        errors.add(
            "value",
            "over_100",
            "a percentage must be at most 100",
            "tỷ lệ không được quá 100",
        );
    }
    errors.finish()
}

/// The path a target's holder has, checked against the actor: admins anywhere; officers strictly below
/// their scope root (or for teams in their subtree).
fn holder_path(
    conn: &mut PgConnection,
    actor: &AuthUser,
    fields: &TargetFields,
) -> Result<String, AppError> {
    let missing = |field: &'static str| {
        AppError::validation(vec![FieldError::new(
            field,
            "not_found",
            Text::new("does not exist", "không tồn tại"),
        )])
    };
    let (path, is_scope_root) = match (fields.org_unit_id, fields.team_id) {
        (Some(unit), _) => {
            let unit = org_unit::find(conn, unit)
                .optional_app()?
                .ok_or_else(|| missing("org_unit_id"))?;
            let is_root = actor.org_unit_id == Some(unit.id);
            (unit.path, is_root)
        }
        (None, Some(team)) => {
            let team = team::find(conn, team)
                .optional_app()?
                .ok_or_else(|| missing("team_id"))?;
            (org_unit::find(conn, team.org_unit_id)?.path, false)
        }
        (None, None) => return Err(missing("org_unit_id")),
    };
    let allowed = actor.role == Role::Admin
        || (actor.role == Role::Officer && actor.sees_path(&path) && !is_scope_root);
    if allowed { Ok(path) } else { Err(forbidden()) }
}

/// Warnings when children's additive unit targets exceed their parent's for the same period.
fn warnings(
    conn: &mut PgConnection,
    fields: &TargetFields,
) -> Result<Vec<TargetWarning>, AppError> {
    let (Some(unit_id), Some(indicator)) = (
        fields.org_unit_id,
        fields.indicator.known().filter(|i| i.is_additive()),
    ) else {
        return Ok(Vec::new());
    };
    let unit = org_unit::find(conn, unit_id)?;
    let period = (fields.period_start, fields.period_end);
    let mut found = Vec::new();
    let mut check = |conn: &mut PgConnection, parent: &org_unit::OrgUnit| -> Result<(), AppError> {
        let Some(parent_target) =
            target::for_units(conn, &[parent.id], indicator, period, fields.campaign_id)?.pop()
        else {
            return Ok(());
        };
        let children: Vec<Uuid> = org_unit::list(
            conn,
            &org_unit::OrgUnitFilter {
                parent_id: Some(parent.id),
                ..org_unit::OrgUnitFilter::default()
            },
            None,
            100_000,
        )?
        .iter()
        .map(|u| u.id)
        .collect();
        let sum: f64 = target::for_units(conn, &children, indicator, period, fields.campaign_id)?
            .iter()
            .map(|t| t.value)
            .sum();
        if sum > parent_target.value {
            found.push(TargetWarning {
                code: TargetWarningCode::ChildrenExceedParent,
                message: format!(
                    "the targets of {}'s units add up to {sum}, above its own target of {}",
                    parent.name, parent_target.value
                ),
            });
        }
        Ok(())
    };
    if let Some(parent) = unit.parent_id {
        let parent = org_unit::find(conn, parent)?;
        check(conn, &parent)?;
    }
    check(conn, &unit)?;
    Ok(found)
}

/// True when the actor may see this target.
pub fn visible(actor: &AuthUser, scoped: &ScopedTarget) -> bool {
    match actor.role {
        Role::Admin => true,
        // A team leader sees their team's targets and those of the units above and below their team's unit.
        Role::TeamLeader => {
            scoped.target.team_id == actor.team_id && actor.team_id.is_some()
                || actor.scope_path.as_deref().is_some_and(|own| {
                    own.starts_with(scoped.holder_path.as_str())
                        || scoped.holder_path.starts_with(own)
                })
        }
        Role::Officer | Role::Viewer => actor.sees_path(&scoped.holder_path),
    }
}

/// Audits a target write.
fn record(
    conn: &mut PgConnection,
    actor: &AuthUser,
    action: &'static str,
    before: Option<&Target>,
    after: &Target,
    path: &str,
) -> Result<(), AppError> {
    Ok(audit::record_change(
        conn,
        &actor.audit_context(),
        action,
        "target",
        after.id,
        Some(path.to_owned()),
        before.map(TargetResponse::from).as_ref(),
        &TargetResponse::from(after),
    )?)
}

/// A target the actor may see, or 404.
pub fn find_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<ScopedTarget, AppError> {
    target::find(conn, id)
        .optional_app()?
        .filter(|t| visible(actor, t))
        .ok_or_else(|| AppError::not_found("target"))
}

impl CreateTargetRequest {
    /// The new target's fields, checked (every invalid field at once).
    pub fn parse(self) -> Result<TargetFields, AppError> {
        let fields = TargetFields {
            org_unit_id: self.org_unit_id,
            team_id: self.team_id,
            indicator: self.indicator,
            period_start: self.period_start,
            period_end: self.period_end,
            value: self.value,
            campaign_id: self.campaign_id,
        };
        validate(&fields)?;
        Ok(fields)
    }
}

/// What a list of targets asks for.
#[derive(Debug, Clone, Default)]
pub struct TargetQuery {
    /// Targets of this unit's subtree and its teams (404 when there is no such unit).
    pub org_unit_id: Option<Uuid>,
    pub indicator: Option<Choice<Indicator>>,
    /// Periods ending on or after.
    pub from: Option<NaiveDate>,
    /// Periods starting on or before.
    pub to: Option<NaiveDate>,
}

/// The indicator a list is filtered on; 422 `invalid_choice` for an unknown one.
pub fn check_indicator_filter(
    indicator: Option<&Choice<Indicator>>,
) -> Result<Option<Indicator>, AppError> {
    let mut errors = FieldErrors::new();
    let indicator = check_choice(&mut errors, "indicator", indicator);
    errors.finish()?;
    Ok(indicator)
}

/// The targets the actor may see that match `query`.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    query: &TargetQuery,
) -> Result<Vec<Target>, AppError> {
    let indicator = check_indicator_filter(query.indicator.as_ref())?;
    let within = match query.org_unit_id {
        Some(id) => Some(
            org_unit::find(conn, id)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("org unit"))?
                .path,
        ),
        None => None,
    };
    Ok(target::all(conn, indicator)?
        .into_iter()
        .filter(|t| visible(actor, t))
        .filter(|t| {
            within
                .as_deref()
                .is_none_or(|path| t.holder_path.starts_with(path))
        })
        .filter(|t| query.from.is_none_or(|from| t.target.period_end >= from))
        .filter(|t| query.to.is_none_or(|to| t.target.period_start <= to))
        .map(|t| t.target)
        .collect())
}

/// Sets a target with checked `fields` (call inside a transaction): the target and the warnings about
/// its neighbours.
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    fields: &TargetFields,
) -> Result<(Target, Vec<TargetWarning>), AppError> {
    let path = holder_path(conn, actor, fields)?;
    if let Some(campaign) = fields.campaign_id {
        campaign::find(conn, campaign)
            .optional_app()?
            .ok_or_else(|| {
                AppError::validation(vec![FieldError::new(
                    "campaign_id",
                    "not_found",
                    Text::new("no such campaign", "không có chiến dịch này"),
                )])
            })?;
    }
    let created = target::insert(conn, Uuid::now_v7(), fields, actor.id)?;
    record(conn, actor, "target_set", None, &created, &path)?;
    let warnings = warnings(conn, fields)?;
    Ok((created, warnings))
}

/// Changes target `id`'s period or value, if its version satisfies `expected` (call inside a
/// transaction): the target and the warnings about its neighbours.
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
    changes: &UpdateTargetRequest,
) -> Result<(Target, Vec<TargetWarning>), AppError> {
    let current = find_visible(conn, actor, id)?;
    let version = expected.check(current.target.version)?;
    let mut fields = TargetFields::of(&current.target);
    fields.period_start = changes.period_start.unwrap_or(fields.period_start);
    fields.period_end = changes.period_end.unwrap_or(fields.period_end);
    fields.value = changes.value.unwrap_or(fields.value);
    validate(&fields)?;
    let path = holder_path(conn, actor, &fields)?;
    let updated = target::update(conn, id, version, &fields, actor.id)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    record(
        conn,
        actor,
        "target_changed",
        Some(&current.target),
        &updated,
        &path,
    )?;
    let warnings = warnings(conn, &fields)?;
    Ok((updated, warnings))
}

/// Removes target `id`, if its version satisfies `expected` (call inside a transaction); audited.
pub fn delete(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
) -> Result<(), AppError> {
    let current = find_visible(conn, actor, id)?;
    let version = expected.check(current.target.version)?;
    let path = holder_path(conn, actor, &TargetFields::of(&current.target))?;
    if !target::delete(conn, id, version)? {
        return Err(AppError::new(ErrorCode::PreconditionFailed));
    }
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "target_removed",
            entity_type: "target",
            entity_id: Some(id),
            org_unit_path: Some(path),
            changes: serde_json::to_value(TargetResponse::from(&current.target))
                .unwrap_or_default(),
        },
    )?;
    Ok(())
}
