//! The summary and breakdown reports and the report workbook, the HTTP face: options, JSON and files.
//! What they compute is `domain::reports`; their rows in files, `domain::reports::rows`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::reports::{
    BreakdownResponse, PeriodOptions, SummaryResponse, check_period, read_report,
};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::{
        reports::{
            break_down,
            rows::{breakdown_rows, report_details, summary_rows, target_rows},
            summarize, targets,
        },
        validation::FieldErrors,
    },
    error::{AppError, Problem, Text},
    models::stats::ReportCache,
    reference::{BreakdownBy, FileFormat, Vocabulary},
    routes::export::{self, Answer},
    tabular::{self, Sheet, sheets},
};

/// Options of the summary report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// The unit reported on (default: your scope root, or the province).
    pub org_unit_id: Option<Uuid>,
    /// First day of the period (default: 1 January of `to`'s year).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: today, Vietnam time).
    pub to: Option<NaiveDate>,
    /// Read the administrative structure as it stood on this day (default: `to`, or the last day the unit
    /// existed). `2025-06-30` shows Sơn La's 12 old districts; a later day its 75 communes and wards.
    pub as_of: Option<NaiveDate>,
    /// Count verified records only (default: verified and submitted; rejected never count).
    pub verified_only: Option<bool>,
    /// Count only the unit-months a sign-off accepted (the official figures).
    pub signed_off_only: Option<bool>,
    /// `json`, `csv` or `xlsx`; overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

impl SummaryQuery {
    /// The report options the query gives.
    fn options(&self) -> PeriodOptions {
        PeriodOptions {
            org_unit_id: self.org_unit_id,
            from: self.from,
            to: self.to,
            as_of: self.as_of,
            verified_only: self.verified_only,
            signed_off_only: self.signed_off_only,
        }
    }
}

/// Summary report.
///
/// For a unit (default: your scope root) and a period (default: this year to today): teams (total, active,
/// dormant), members, sessions by kind, participants (total, female, ethnic minority, elderly), outcomes,
/// campaign reach and the share of records verified vs pending. Read from aggregates kept exact in the same
/// transaction as every write. `as_of` reads the administrative structure of that day: activity is
/// attributed through each team's unit history and the succession links, so totals agree under the old and
/// the new structure. Team leaders get their own team's part. Files have one figure per row.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_summary",
    params(SummaryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The summary, as JSON or as a file.",
         content((SummaryResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period, or the unit was not in force on `as_of`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/summary")]
pub async fn report_summary(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<SummaryQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportSummary)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let mut about = export::about(
        &req,
        &actor,
        Text::new("Summary report", "Báo cáo tổng hợp"),
    );
    let options = query.options();
    let mut errors = FieldErrors::new();
    let (from, to) = check_period(&options, &mut errors);
    errors.finish()?;
    let summary = db
        .read(actor.id, move |conn| {
            read_report(conn, &cache, &actor, &options, (from, to), summarize)
        })
        .await?;
    if answer.is_file() {
        about.details.extend(report_details(
            &summary.org_unit,
            summary.from,
            summary.to,
            Some(summary.as_of),
        ));
        return export::table(
            answer,
            about,
            ("summary", &sheets::SUMMARY),
            summary_rows(&summary),
            None,
        )
        .await;
    }
    Ok(HttpResponse::Ok().json(summary))
}

/// Options of the breakdown report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BreakdownQuery {
    /// `child_unit` (the unit's children under the structure of `as_of`: districts or communes, or a
    /// commune's villages), `team`, `topic` (session figures by each session's first topic), `channel`
    /// (campaign reach by channel), `campaign`, `month` or `week` (ISO weeks).
    #[param(value_type = crate::reference::BreakdownBy)]
    pub by: crate::reference::Choice<crate::reference::BreakdownBy>,
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
    /// `json`, `csv` or `xlsx`; overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// Breakdown report.
///
/// The summary's activity figures split `by` child unit (under the structure of `as_of`: with
/// `as_of=2025-06-30` Sơn La splits into its 12 old districts, with a later day into its 75 communes and
/// wards; a commune into its villages), team, topic, channel, campaign, month or ISO week. The rows add up to
/// `totals`, which equal the summary for the same options. Every child unit, team, topic, channel and period
/// appears, with zeros when nothing happened. Files end with a totals row.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_breakdown",
    params(BreakdownQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The breakdown, as JSON or as a file.",
         content((BreakdownResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `by` or period, or the unit was not in force on `as_of`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/breakdown")]
pub async fn report_breakdown(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<BreakdownQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportBreakdown)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let mut about = export::about(
        &req,
        &actor,
        Text::new("Breakdown report", "Báo cáo phân tích"),
    );
    let options = PeriodOptions {
        org_unit_id: query.org_unit_id,
        from: query.from,
        to: query.to,
        as_of: query.as_of,
        verified_only: query.verified_only,
        signed_off_only: query.signed_off_only,
    };
    let mut errors = FieldErrors::new();
    let by = query.by.check(&mut errors, "by");
    let (from, to) = check_period(&options, &mut errors);
    if by == Some(crate::reference::BreakdownBy::Week) && (to - from).num_days() > 3 * 366 {
        errors.add(
            "from",
            "too_long",
            "weekly breakdowns cover at most 3 years",
            "chia theo tuần tối đa 3 năm",
        );
    }
    errors.finish()?;
    let by = query.by.checked()?;
    let breakdown = db
        .read(actor.id, move |conn| {
            read_report(
                conn,
                &cache,
                &actor,
                &options,
                (from, to),
                |conn, reader, scope| break_down(conn, reader, scope, by),
            )
        })
        .await?;
    if answer.is_file() {
        about.details.extend(report_details(
            &breakdown.org_unit,
            breakdown.from,
            breakdown.to,
            Some(breakdown.as_of),
        ));
        let (rows, totals) = breakdown_rows(&breakdown);
        let name = format!("breakdown-{}", breakdown.by);
        return export::table(
            answer,
            about,
            (&name, &sheets::BREAKDOWN),
            rows,
            Some(totals),
        )
        .await;
    }
    Ok(HttpResponse::Ok().json(breakdown))
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
    params(SummaryQuery),
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
    query: web::Query<SummaryQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportWorkbook)?;
    let query = query.into_inner();
    let answer = Answer::among(&req, query.format.as_ref(), &[FileFormat::Xlsx])?;
    let options = query.options();
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
