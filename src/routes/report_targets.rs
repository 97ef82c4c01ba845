//! `GET /reports/targets`: the targets report ([`crate::domain::reports::targets`]) as JSON or CSV.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::reports::{
        PeriodOptions, check_period, read_report,
        targets::{TargetsReportResponse, report},
    },
    domain::validation::FieldErrors,
    error::{AppError, Problem},
    models::stats::ReportCache,
    reference::{Choice, Indicator, check_choice},
    routes::csv_export::{cell, csv_response, to_csv, wants_csv},
};

/// Options of the targets report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TargetsReportQuery {
    /// Targets of this unit and the units and teams below it (default: your scope root, or the province).
    pub org_unit_id: Option<Uuid>,
    /// Targets whose period ends on or after this day (default: 1 January of `to`'s year).
    pub from: Option<NaiveDate>,
    /// Targets whose period starts on or before this day (default: today, Vietnam time).
    pub to: Option<NaiveDate>,
    /// Read the administrative structure of this day for each unit's actual (default: the day evaluated,
    /// or the last day the unit existed).
    pub as_of: Option<NaiveDate>,
    /// One indicator only.
    #[param(value_type = Option<Indicator>)]
    pub indicator: Option<Choice<Indicator>>,
    /// Actuals from the unit-months a sign-off accepted only (the official figures).
    pub signed_off_only: Option<bool>,
}

/// Targets report.
///
/// Every target of the unit (default: your scope root) and of the units and teams below it whose period
/// overlaps `from`..`to`: its actual so far (from the report aggregates; campaign coverage from the
/// campaign's reach summary; external indicators from the latest recorded value), `achievement_pct`, the
/// share expected by today (pro-rated over the period for counts) and a status: `achieved`, `on_track`,
/// `behind` or `not_started`. Team leaders see their own team's targets. `Accept: text/csv` returns the rows.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_targets",
    params(TargetsReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Progress per target (JSON, or CSV with `Accept: text/csv`).",
         content((TargetsReportResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period or indicator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/targets")]
pub async fn report_targets(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<TargetsReportQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportTargets)?;
    let query = query.into_inner();
    let options = PeriodOptions {
        org_unit_id: query.org_unit_id,
        from: query.from,
        to: query.to,
        as_of: None,
        verified_only: None,
        signed_off_only: query.signed_off_only,
    };
    let mut errors = FieldErrors::new();
    let (from, to) = check_period(&options, &mut errors);
    let indicator = check_choice(&mut errors, "indicator", query.indicator.as_ref());
    errors.finish()?;
    let as_of = query.as_of;
    let report = db
        .read(actor.id, move |conn| {
            read_report(
                conn,
                &cache,
                &actor,
                &options,
                (from, to),
                |conn, reader, scope| {
                    report(conn, reader, &actor, scope, indicator, (from, to), as_of)
                },
            )
        })
        .await?;
    if wants_csv(&req) {
        let body = to_csv(
            &[
                "indicator",
                "holder_kind",
                "holder_code",
                "holder_name",
                "campaign_id",
                "period_start",
                "period_end",
                "value",
                "actual",
                "achievement_pct",
                "expected_pct",
                "expected_value",
                "status",
                "evaluated_on",
                "source",
                "source_as_of",
            ],
            report.items.iter().map(|p| {
                vec![
                    p.indicator.to_string(),
                    p.holder.kind.to_string(),
                    p.holder.code.clone(),
                    p.holder.name.clone(),
                    cell(p.campaign_id),
                    p.period_start.to_string(),
                    p.period_end.to_string(),
                    p.value.to_string(),
                    cell(p.actual),
                    cell(p.achievement_pct),
                    p.expected_pct.to_string(),
                    p.expected_value.to_string(),
                    p.status.to_string(),
                    p.evaluated_on.to_string(),
                    cell(p.source.clone()),
                    cell(p.source_as_of),
                ]
            }),
        )?;
        return Ok(csv_response("targets.csv", body, None));
    }
    Ok(HttpResponse::Ok().json(report))
}
