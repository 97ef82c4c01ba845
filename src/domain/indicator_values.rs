//! Indicator values measured by national systems (online dossier rate, VNeID level-2 rate, DTI score),
//! compared with targets. They arrive through the import pipeline (`domain::imports::indicator_values`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role},
    error::AppError,
    models::{
        indicator_value::{self, IndicatorFilter, IndicatorValue},
        org_unit,
    },
};

/// A measured value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "org_unit_code": "son-la.xa-van-ho", "indicator": "online_dossier_rate_pct", "period_start": "2025-07-01",
    "period_end": "2025-09-30", "value": 72.5, "source": "Cổng dịch vụ công quốc gia", "as_of": "2025-10-05",
    "version": 1, "updated_at": "2025-10-05T00:00:00Z"}))]
pub struct IndicatorValueResponse {
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub org_unit_code: String,
    /// `online_dossier_rate_pct`, `vneid_level2_rate_pct` or `dti_score`.
    pub indicator: crate::reference::Indicator,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    /// The system or report it comes from.
    pub source: String,
    /// When the source measured it.
    pub as_of: NaiveDate,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// The value as the API shows it, with its unit's code.
pub fn response(value: &IndicatorValue, code: &str) -> IndicatorValueResponse {
    IndicatorValueResponse {
        id: value.id,
        org_unit_id: value.org_unit_id,
        org_unit_code: code.to_owned(),
        indicator: value.indicator,
        period_start: value.period_start,
        period_end: value.period_end,
        value: value.value,
        source: value.source.clone(),
        as_of: value.as_of,
        version: value.version,
        updated_at: value.updated_at,
    }
}

/// What a list of values asks for.
#[derive(Debug, Clone, Default)]
pub struct ValueQuery {
    /// Values of this unit's subtree (404 when there is no such unit).
    pub org_unit_id: Option<Uuid>,
    pub indicator: Option<crate::reference::Choice<crate::reference::Indicator>>,
    pub source: Option<String>,
    /// Periods ending on or after.
    pub from: Option<NaiveDate>,
    /// Periods starting on or before.
    pub to: Option<NaiveDate>,
}

/// The values the actor may read that match `query`, each with its unit's code: scoped users read
/// their subtree, team leaders the units above their team.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    query: ValueQuery,
) -> Result<Vec<(IndicatorValue, String)>, AppError> {
    let indicator = crate::domain::targets::check_indicator_filter(query.indicator.as_ref())?;
    let within = match query.org_unit_id {
        Some(id) => Some(
            org_unit::find(conn, id)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("org unit"))?
                .path,
        ),
        None => None,
    };
    // Scoped users read their subtree (team leaders: their team's unit and the units above it).
    let scope = match actor.role {
        Role::Admin | Role::TeamLeader => None,
        _ => actor.scope_filter(),
    };
    let within = match (within, scope) {
        (Some(asked), Some(scope)) if !asked.starts_with(&scope) => Some("-".to_owned()),
        (Some(asked), _) => Some(asked),
        (None, scope) => scope,
    };
    let filter = IndicatorFilter {
        within_path: within,
        indicator,
        source: query.source,
        from: query.from,
        to: query.to,
    };
    let rows = indicator_value::list(conn, &filter, 100_000)?;
    Ok(match (actor.role, actor.scope_path.as_deref()) {
        // A team leader sees the values of the units above their team (their path).
        (Role::TeamLeader, Some(own)) => rows
            .into_iter()
            .filter(|(value, _)| own.contains(&value.org_unit_id.to_string()))
            .collect(),
        (Role::TeamLeader, None) => Vec::new(),
        _ => rows,
    })
}
