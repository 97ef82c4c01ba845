//! `GET /reports/workbook`: a unit's summary, every breakdown and its targets as the sheets of one XLSX,
//! read from one snapshot, so a commune's monthly report is one download. The rows are
//! [`crate::domain::reports::rows`], as in each report's own file.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::{
        reports::{
            PeriodOptions, break_down, check_period, read_report,
            rows::{breakdown_rows, report_details, summary_rows, target_rows},
            summarize, targets,
        },
        validation::FieldErrors,
    },
    error::{AppError, Problem, Text},
    models::stats::ReportCache,
    reference::{BreakdownBy, Choice, FileFormat, Vocabulary},
    routes::export::{self, Answer},
    tabular::{self, Sheet, sheets},
};

/// Options of the report workbook.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkbookQuery {
    /// The unit reported on (default: your scope root, or the province).
    pub org_unit_id: Option<Uuid>,
    /// First day of the period (default: 1 January of `to`'s year).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: today, Vietnam time).
    pub to: Option<NaiveDate>,
    /// Read the administrative structure as it stood on this day (default: `to`).
    pub as_of: Option<NaiveDate>,
    /// Count verified records only (default: verified and submitted).
    pub verified_only: Option<bool>,
    /// Count only the unit-months a sign-off accepted (the official figures).
    pub signed_off_only: Option<bool>,
    /// `xlsx`, the only format of the workbook (overrides `Accept`).
    #[param(value_type = Option<FileFormat>)]
    pub format: Option<Choice<FileFormat>>,
}

/// The breakdowns a workbook holds, each on its own sheet (weeks are left to the breakdown report).
const WORKBOOK_BREAKDOWNS: [BreakdownBy; 6] = [
    BreakdownBy::ChildUnit,
    BreakdownBy::Team,
    BreakdownBy::Topic,
    BreakdownBy::Channel,
    BreakdownBy::Campaign,
    BreakdownBy::Month,
];

/// Report workbook.
///
/// One XLSX for a unit and a period with the same options as the summary: a `Summary` sheet, one sheet
/// per breakdown (child unit, team, topic, channel, campaign, month), each with its totals row, the
/// targets report, and a last sheet saying what the file holds. All read from one snapshot, so the sheets
/// agree with each other. Headers in Vietnamese (English with `Accept-Language: en`).
#[utoipa::path(
    tag = "reports",
    operation_id = "report_workbook",
    params(WorkbookQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The workbook.",
         content((String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "`Accept` or `format` asks for something other than XLSX.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period, or the unit was not in force on `as_of`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/workbook")]
pub async fn report_workbook(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<WorkbookQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportWorkbook)?;
    let query = query.into_inner();
    let answer = Answer::among(&req, query.format.as_ref(), &[FileFormat::Xlsx])?;
    let options = PeriodOptions {
        org_unit_id: query.org_unit_id,
        from: query.from,
        to: query.to,
        as_of: query.as_of,
        verified_only: query.verified_only,
        signed_off_only: query.signed_off_only,
    };
    let mut errors = FieldErrors::new();
    let (from, to) = check_period(&options, &mut errors);
    errors.finish()?;
    let mut about = export::about(
        &req,
        &actor,
        Text::new("Report workbook", "Báo cáo tổng hợp"),
    );
    let reader = actor.clone();
    let as_of = query.as_of;
    let (summary, breakdowns, targets) = db
        .read(actor.id, move |conn| {
            read_report(
                conn,
                &cache,
                &reader,
                &options,
                (from, to),
                |conn, read, scope| {
                    let summary = summarize(conn, read, scope)?;
                    let breakdowns = WORKBOOK_BREAKDOWNS
                        .iter()
                        .map(|by| break_down(conn, read, scope, *by))
                        .collect::<Result<Vec<_>, _>>()?;
                    let targets =
                        targets::report(conn, read, &reader, scope, None, (from, to), as_of)?;
                    Ok((summary, breakdowns, targets))
                },
            )
        })
        .await?;
    about.details.extend(report_details(
        &summary.org_unit,
        summary.from,
        summary.to,
        Some(summary.as_of),
    ));
    let name = format!(
        "report-{}-{}-{}",
        summary.org_unit.code, summary.from, summary.to
    );
    let spool = web::block(move || {
        let mut writer = tabular::writer(answer.format, answer.lang, &about)?;
        writer.begin(&sheets::SUMMARY)?;
        for row in summary_rows(&summary) {
            writer.row(&row)?;
        }
        for breakdown in &breakdowns {
            let name = breakdown.by.label();
            writer.begin(&Sheet {
                name: (name.name_vi, name.name_en),
                columns: sheets::BREAKDOWN.columns,
            })?;
            let (rows, totals) = breakdown_rows(breakdown);
            for row in &rows {
                writer.row(row)?;
            }
            writer.totals(&totals)?;
        }
        writer.begin(&sheets::TARGET_PROGRESS)?;
        for row in target_rows(&targets) {
            writer.row(&row)?;
        }
        writer.finish()
    })
    .await??;
    Ok(export::file_response(spool, FileFormat::Xlsx, &name, None))
}
