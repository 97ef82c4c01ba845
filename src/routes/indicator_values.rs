//! Indicator values measured by national systems (online dossier rate, VNeID level-2 rate, DTI score).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    db::Db,
    error::{AppError, Problem},
    models::{
        audit::{self, NewAuditEvent},
        indicator_value::{self, IndicatorFields, IndicatorFilter, IndicatorValue},
        org_unit,
    },
    routes::{
        csv_export::{csv_response, to_csv, wants_csv},
        imports::{ImportQuery, ImportSummary, Row, import, parse_date, row_error},
        targets::EXTERNAL_INDICATORS,
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
    #[schema(value_type = crate::reference::Indicator)]
    pub indicator: String,
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

fn response(value: &IndicatorValue, code: &str) -> IndicatorValueResponse {
    IndicatorValueResponse {
        id: value.id,
        org_unit_id: value.org_unit_id,
        org_unit_code: code.to_owned(),
        indicator: value.indicator.clone(),
        period_start: value.period_start,
        period_end: value.period_end,
        value: value.value,
        source: value.source.clone(),
        as_of: value.as_of,
        version: value.version,
        updated_at: value.updated_at,
    }
}

/// A list of values.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IndicatorValueListResponse {
    pub items: Vec<IndicatorValueResponse>,
}

/// Filters for listing values.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IndicatorValueQuery {
    /// Values of this unit's subtree.
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<crate::reference::Indicator>)]
    pub indicator: Option<String>,
    pub source: Option<String>,
    /// Periods ending on or after.
    pub from: Option<NaiveDate>,
    /// Periods starting on or before.
    pub to: Option<NaiveDate>,
}

/// Record indicator values.
///
/// Values measured elsewhere, as a JSON array or CSV with the columns `org_unit_id` or `org_unit_code`,
/// `indicator`, `period_start`, `period_end`, `value`, `source`, `as_of`; `dry_run` and `mode` as in the
/// team import. Posting the same unit, indicator, period and source again replaces the value (audited).
#[utoipa::path(
    tag = "targets",
    operation_id = "import_indicator_values",
    params(ImportQuery),
    security(("bearer" = [])),
    request_body(content((String = "text/csv"), (Vec<Object> = "application/json")),
        description = "CSV with a header row, or a JSON array of objects with the same keys."),
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
#[post("/indicator-values")]
pub async fn import_indicator_values(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ImportIndicatorValues)?;
    import(req, actor, query.into_inner(), payload, &db, import_rows).await
}

fn import_rows(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    dry_run: bool,
    atomic: bool,
) -> Result<ImportSummary, AppError> {
    let units = org_unit::all(conn)?;
    let mut summary = ImportSummary {
        dry_run,
        ..ImportSummary::default()
    };
    let mut writes = Vec::new();
    for row in rows {
        let mut errors = Vec::new();
        let unit = match (row.get("org_unit_id"), row.get("org_unit_code")) {
            (Some(id), _) => units.iter().find(|u| u.id.to_string() == id),
            (None, Some(code)) => units.iter().find(|u| u.code == code),
            (None, None) => None,
        };
        match unit {
            None => errors.push(row_error(
                row.number,
                Some("org_unit_code"),
                "not_found",
                "give an existing org_unit_id or org_unit_code",
            )),
            Some(unit) if !(actor.role == Role::Admin || actor.sees_path(&unit.path)) => errors
                .push(row_error(
                    row.number,
                    Some("org_unit_code"),
                    "out_of_scope",
                    "is outside your scope",
                )),
            Some(_) => {}
        }
        let indicator = row.get("indicator").unwrap_or_default().to_owned();
        if !EXTERNAL_INDICATORS.contains(&indicator.as_str()) {
            errors.push(row_error(
                row.number,
                Some("indicator"),
                "invalid_choice",
                "must be online_dossier_rate_pct, vneid_level2_rate_pct or dti_score",
            ));
        }
        let period_start = parse_date(row, "period_start", &mut errors);
        let period_end = parse_date(row, "period_end", &mut errors);
        let as_of = parse_date(row, "as_of", &mut errors);
        for (column, value) in [
            ("period_start", period_start),
            ("period_end", period_end),
            ("as_of", as_of),
        ] {
            if value.is_none() && row.get(column).is_none() {
                errors.push(row_error(
                    row.number,
                    Some(column),
                    "required",
                    "is required",
                ));
            }
        }
        if let (Some(start), Some(end)) = (period_start, period_end)
            && end < start
        {
            errors.push(row_error(
                row.number,
                Some("period_end"),
                "before_period_start",
                "must not be before period_start",
            ));
        }
        let value = row
            .get("value")
            .and_then(|v| v.replace(',', ".").parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        match value {
            None => errors.push(row_error(
                row.number,
                Some("value"),
                "invalid_number",
                "must be a number not below 0",
            )),
            Some(v) if indicator.ends_with("_pct") && v > 100.0 => errors.push(row_error(
                row.number,
                Some("value"),
                "over_100",
                "a percentage must be at most 100",
            )),
            Some(_) => {}
        }
        let source = row.get("source").unwrap_or_default().trim().to_owned();
        if !(1..=200).contains(&source.chars().count()) {
            errors.push(row_error(
                row.number,
                Some("source"),
                "length",
                "must be 1 to 200 characters",
            ));
        }
        let (Some(unit), Some(period_start), Some(period_end), Some(as_of), Some(value), true) = (
            unit,
            period_start,
            period_end,
            as_of,
            value,
            errors.is_empty(),
        ) else {
            summary.errors.extend(errors);
            continue;
        };
        let fields = IndicatorFields {
            org_unit_id: unit.id,
            indicator,
            period_start,
            period_end,
            value,
            source,
            as_of,
        };
        match indicator_value::find_same(conn, &fields)? {
            Some(stored) if stored.value == fields.value && stored.as_of == fields.as_of => {
                summary.unchanged += 1
            }
            Some(stored) => {
                summary.updated += 1;
                writes.push((Some(stored), fields, unit.path.clone()));
            }
            None => {
                summary.created += 1;
                writes.push((None, fields, unit.path.clone()));
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
    for (stored, fields, path) in writes {
        let (action, before, after) = match stored {
            Some(stored) => {
                let after = indicator_value::replace(
                    conn,
                    stored.id,
                    fields.value,
                    fields.as_of,
                    actor.id,
                )?;
                (
                    "indicator_value_replaced",
                    serde_json::json!({"value": stored.value, "as_of": stored.as_of}),
                    after,
                )
            }
            None => (
                "indicator_value_recorded",
                serde_json::json!({}),
                indicator_value::insert(conn, &fields, actor.id)?,
            ),
        };
        audit::record(
            conn,
            &actor.audit_context(),
            NewAuditEvent {
                action,
                entity_type: "indicator_value",
                entity_id: Some(after.id),
                org_unit_path: Some(path),
                changes: audit::diff(
                    &before,
                    &serde_json::json!({"value": after.value, "as_of": after.as_of}),
                ),
            },
        )?;
    }
    Ok(summary)
}

/// List indicator values.
///
/// Values of the units in your scope, by period. `Accept: text/csv` returns them in the import format.
#[utoipa::path(
    tag = "targets",
    operation_id = "list_indicator_values",
    params(IndicatorValueQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The values (JSON, or CSV with `Accept: text/csv`).",
         content((IndicatorValueListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/indicator-values")]
pub async fn list_indicator_values(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<IndicatorValueQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListIndicatorValues)?;
    let query = query.into_inner();
    let rows = db
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
                indicator: query.indicator,
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
        })
        .await?;
    if wants_csv(&req) {
        let body = to_csv(
            &[
                "org_unit_code",
                "indicator",
                "period_start",
                "period_end",
                "value",
                "source",
                "as_of",
            ],
            rows.iter().map(|(v, code)| {
                vec![
                    code.clone(),
                    v.indicator.clone(),
                    v.period_start.to_string(),
                    v.period_end.to_string(),
                    v.value.to_string(),
                    v.source.clone(),
                    v.as_of.to_string(),
                ]
            }),
        )?;
        return Ok(csv_response("indicator-values.csv", body, None));
    }
    Ok(HttpResponse::Ok().json(IndicatorValueListResponse {
        items: rows.iter().map(|(v, code)| response(v, code)).collect(),
    }))
}
