//! Targets (chỉ tiêu): admins set them anywhere, officers for the units below their scope root (and their
//! teams). When the children's additive targets exceed their parent's, the response says so.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role, policy::forbidden},
    db::Db,
    domain::validation::FieldErrors,
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        campaign, org_unit,
        target::{self, ScopedTarget, Target, TargetFields},
        team,
    },
    routes::conditional::{etag, if_match},
};

/// Indicators computed from this API's data.
pub const COMPUTED_INDICATORS: [&str; 11] = [
    "sessions_held",
    "people_trained",
    "female_trained",
    "ethnic_minority_trained",
    "households_reached",
    "vneid_activations",
    "payment_accounts_opened",
    "online_dossiers_submitted",
    "campaign_contacts",
    "campaign_household_coverage_pct",
    "active_teams_pct",
];
/// Indicators measured by national systems (see `/indicator-values`).
pub const EXTERNAL_INDICATORS: [&str; 3] = [
    "online_dossier_rate_pct",
    "vneid_level2_rate_pct",
    "dti_score",
];

/// True for indicators whose children's values add up to the parent's (counts, not rates).
pub fn is_additive(indicator: &str) -> bool {
    COMPUTED_INDICATORS.contains(&indicator) && !indicator.ends_with("_pct")
}

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
    #[schema(value_type = crate::reference::Indicator)]
    pub indicator: String,
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
            indicator: t.indicator.clone(),
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
    /// `children_exceed_parent`.
    pub code: String,
    pub message: String,
}

/// A target as written, with warnings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TargetWriteResponse {
    #[serde(flatten)]
    pub target: TargetResponse,
    pub warnings: Vec<TargetWarning>,
}

/// A list of targets.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TargetListResponse {
    pub items: Vec<TargetResponse>,
}

/// Filters for listing targets.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TargetListQuery {
    /// Targets of this unit's subtree (and of its teams).
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<crate::reference::Indicator>)]
    pub indicator: Option<String>,
    /// Targets whose period ends on or after.
    pub from: Option<NaiveDate>,
    /// Targets whose period starts on or before.
    pub to: Option<NaiveDate>,
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
    #[schema(value_type = crate::reference::Indicator)]
    pub indicator: String,
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

fn validate(fields: &TargetFields) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if fields.org_unit_id.is_some() == fields.team_id.is_some() {
        errors.add(
            "org_unit_id",
            "exactly_one",
            "give exactly one of org_unit_id and team_id",
            "chỉ gửi một trong org_unit_id và team_id",
        );
    }
    if !COMPUTED_INDICATORS.contains(&fields.indicator.as_str())
        && !EXTERNAL_INDICATORS.contains(&fields.indicator.as_str())
    {
        errors.add(
            "indicator",
            "invalid_choice",
            "is not a known indicator",
            "chỉ tiêu không hợp lệ",
        );
    }
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
    } else if fields.indicator.ends_with("_pct") && fields.value > 100.0 {
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
        AppError::validation(vec![crate::error::FieldError::new(
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
    let Some(unit_id) = fields
        .org_unit_id
        .filter(|_| is_additive(&fields.indicator))
    else {
        return Ok(Vec::new());
    };
    let unit = org_unit::find(conn, unit_id)?;
    let period = (fields.period_start, fields.period_end);
    let mut found = Vec::new();
    let mut check = |conn: &mut PgConnection, parent: &org_unit::OrgUnit| -> Result<(), AppError> {
        let Some(parent_target) = target::for_units(
            conn,
            &[parent.id],
            &fields.indicator,
            period,
            fields.campaign_id,
        )?
        .pop() else {
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
        let sum: f64 = target::for_units(
            conn,
            &children,
            &fields.indicator,
            period,
            fields.campaign_id,
        )?
        .iter()
        .map(|t| t.value)
        .sum();
        if sum > parent_target.value {
            found.push(TargetWarning {
                code: "children_exceed_parent".to_owned(),
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

/// List targets.
///
/// Targets in your scope (team leaders: their team's and those of the units above and below its unit).
#[utoipa::path(
    tag = "targets",
    operation_id = "list_targets",
    params(TargetListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The targets.", body = TargetListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/targets")]
pub async fn list_targets(
    actor: AuthUser,
    query: web::Query<TargetListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTargets)?;
    let query = query.into_inner();
    let items = db
        .run(move |conn| {
            let within = match query.org_unit_id {
                Some(id) => Some(
                    org_unit::find(conn, id)
                        .optional_app()?
                        .ok_or_else(|| AppError::not_found("org unit"))?
                        .path,
                ),
                None => None,
            };
            Ok(target::all(conn, query.indicator.as_deref())?
                .into_iter()
                .filter(|t| visible(&actor, t))
                .filter(|t| {
                    within
                        .as_deref()
                        .is_none_or(|path| t.holder_path.starts_with(path))
                })
                .filter(|t| query.from.is_none_or(|from| t.target.period_end >= from))
                .filter(|t| query.to.is_none_or(|to| t.target.period_start <= to))
                .map(|t| TargetResponse::from(&t.target))
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(TargetListResponse { items }))
}

fn load_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<ScopedTarget, AppError> {
    target::find(conn, id)
        .optional_app()?
        .filter(|t| visible(actor, t))
        .ok_or_else(|| AppError::not_found("target"))
}

/// Find a target.
///
/// One target with `ETag`.
#[utoipa::path(
    tag = "targets",
    operation_id = "find_target",
    params(("id" = Uuid, Path, description = "Target id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The target.", body = TargetResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/targets/{id}")]
pub async fn find_target(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindTarget)?;
    let id = id.into_inner();
    let found = db.run(move |conn| load_visible(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.target.version)))
        .json(TargetResponse::from(&found.target)))
}

/// Set a target.
///
/// Admins anywhere; officers for units below their scope root and for teams in their subtree. The
/// response lists warnings when children's additive targets exceed their parent's.
#[utoipa::path(
    tag = "targets",
    operation_id = "create_target",
    security(("bearer" = [])),
    request_body = CreateTargetRequest,
    responses(
        (status = 201, description = "Set.", body = TargetWriteResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this unit.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A target for this holder, indicator, period and campaign exists.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/targets")]
pub async fn create_target(
    actor: AuthUser,
    body: web::Json<CreateTargetRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateTarget)?;
    let body = body.into_inner();
    let fields = TargetFields {
        org_unit_id: body.org_unit_id,
        team_id: body.team_id,
        indicator: body.indicator,
        period_start: body.period_start,
        period_end: body.period_end,
        value: body.value,
        campaign_id: body.campaign_id,
    };
    validate(&fields)?;
    let (created, warnings) = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let path = holder_path(conn, &actor, &fields)?;
                if let Some(campaign) = fields.campaign_id {
                    campaign::find(conn, campaign)
                        .optional_app()?
                        .ok_or_else(|| {
                            AppError::validation(vec![crate::error::FieldError::new(
                                "campaign_id",
                                "not_found",
                                Text::new("no such campaign", "không có chiến dịch này"),
                            )])
                        })?;
                }
                let created = target::insert(conn, Uuid::now_v7(), &fields, actor.id)?;
                record(conn, &actor, "target_set", None, &created, &path)?;
                let warnings = warnings(conn, &fields)?;
                Ok((created, warnings))
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(created.version)))
        .insert_header(("Location", format!("/api/v1/targets/{}", created.id)))
        .json(TargetWriteResponse {
            target: TargetResponse::from(&created),
            warnings,
        }))
}

/// Change a target.
///
/// Its period or value; same rights as setting it. `If-Match` makes the change conditional.
#[utoipa::path(
    tag = "targets",
    operation_id = "update_target",
    params(("id" = Uuid, Path, description = "Target id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateTargetRequest,
    responses(
        (status = 200, description = "Changed.", body = TargetWriteResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this unit.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another target has this period.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/targets/{id}")]
pub async fn update_target(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateTargetRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTarget)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let (updated, warnings) = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let current = load_visible(conn, &actor, id)?;
                let version = if_match.check(current.target.version)?;
                let mut fields = TargetFields::of(&current.target);
                fields.period_start = body.period_start.unwrap_or(fields.period_start);
                fields.period_end = body.period_end.unwrap_or(fields.period_end);
                fields.value = body.value.unwrap_or(fields.value);
                validate(&fields)?;
                let path = holder_path(conn, &actor, &fields)?;
                let updated = target::update(conn, id, version, &fields, actor.id)?
                    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                record(
                    conn,
                    &actor,
                    "target_changed",
                    Some(&current.target),
                    &updated,
                    &path,
                )?;
                let warnings = warnings(conn, &fields)?;
                Ok((updated, warnings))
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(TargetWriteResponse {
            target: TargetResponse::from(&updated),
            warnings,
        }))
}

/// Remove a target.
///
/// Same rights as setting it; audited.
#[utoipa::path(
    tag = "targets",
    operation_id = "delete_target",
    params(("id" = Uuid, Path, description = "Target id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this unit.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/targets/{id}")]
pub async fn delete_target(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteTarget)?;
    let id = id.into_inner();
    let if_match = if_match(&req);
    db.run(move |conn| {
        conn.transaction(|conn| {
            let current = load_visible(conn, &actor, id)?;
            let version = if_match.check(current.target.version)?;
            let path = holder_path(conn, &actor, &TargetFields::of(&current.target))?;
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
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
