//! `GET /reports/targets`: the targets report ([`crate::domain::reports::targets`]) as JSON, CSV or XLSX.

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
        rows::{report_details, target_rows},
        targets::{TargetsReportResponse, report},
    },
    domain::validation::FieldErrors,
    error::{AppError, Problem, Text},
    models::stats::ReportCache,
    reference::{Choice, Indicator, check_choice},
    routes::export::{self, Answer},
    tabular::sheets,
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
    /// `json`, `csv` or `xlsx`; overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// Targets report.
///
/// Every target of the unit (default: your scope root) and of the units and teams below it whose period
/// overlaps `from`..`to`: its actual so far (from the report aggregates; campaign coverage from the
/// campaign's reach summary; external indicators from the latest recorded value), `achievement_pct`, the
/// share expected by today (pro-rated over the period for counts) and a status: `achieved`, `on_track`,
/// `behind` or `not_started`. Team leaders see their own team's targets.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_targets",
    params(TargetsReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Progress per target, as JSON or as a file.",
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
    let answer = Answer::of(&req, query.format.as_ref())?;
    let mut about = export::about(
        &req,
        &actor,
        Text::new("Targets report", "Báo cáo tiến độ chỉ tiêu"),
    );
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
    if answer.is_file() {
        about.details.extend(report_details(
            &report.org_unit,
            report.from,
            report.to,
            as_of,
        ));
        return export::table(
            answer,
            about,
            ("targets", &sheets::TARGET_PROGRESS),
            target_rows(&report),
            None,
        )
        .await;
    }
    Ok(HttpResponse::Ok().json(report))
}
