//! Reports as spreadsheet rows (shared by each report's file and the report workbook), and
//! `GET /reports/workbook`: a unit's summary, every breakdown and its targets as the sheets of one XLSX,
//! read from one snapshot, so a commune's monthly report is one download.

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
            BreakdownResponse, PeriodOptions, SummaryResponse, break_down, check_period,
            read_report, summarize,
            targets::{self, TargetsReportResponse},
        },
        validation::FieldErrors,
    },
    error::{AppError, Problem, Text},
    models::stats::ReportCache,
    reference::{BreakdownBy, Choice, FileFormat, Label, Vocabulary},
    routes::export::{self, Answer},
    tabular::{self, Cell, Sheet, sheets},
};

/// A row label: its code in CSV, its Vietnamese or English text in XLSX.
const fn label(code: &'static str, name_vi: &'static str, name_en: &'static str) -> Label {
    Label {
        code,
        name_vi,
        name_en,
    }
}

/// The summary report, one figure per row (`figure`, `value`).
pub fn summary_rows(s: &SummaryResponse) -> Vec<Vec<Cell>> {
    let row = |code, vi, en, value: Cell| vec![Cell::Choice(label(code, vi, en)), value];
    vec![
        row("org_unit_code", "Mã đơn vị", "Unit code", (&s.org_unit.code).into()),
        row("org_unit_name", "Đơn vị", "Unit", (&s.org_unit.name).into()),
        row("from", "Từ ngày", "From", s.from.into()),
        row("to", "Đến ngày", "To", s.to.into()),
        row("as_of", "Theo địa giới ngày", "Structure as of", s.as_of.into()),
        row("verified_only", "Chỉ tính bản ghi đã duyệt", "Verified records only", s.verified_only.into()),
        row("signed_off_only", "Chỉ tính tháng đã xác nhận", "Signed-off months only", s.signed_off_only.into()),
        row("sign_offs.accepted", "Tháng đã xác nhận", "Months accepted", s.sign_offs.accepted.into()),
        row("sign_offs.submitted", "Tháng chờ xác nhận", "Months submitted", s.sign_offs.submitted.into()),
        row("sign_offs.returned", "Tháng bị trả lại", "Months returned", s.sign_offs.returned.into()),
        row("sign_offs.open", "Tháng chưa gửi", "Months open", s.sign_offs.open.into()),
        row("teams.total", "Tổng số tổ", "Teams", s.teams.total.into()),
        row("teams.active", "Tổ hoạt động", "Active teams", s.teams.active.into()),
        row("teams.dormant", "Tổ không hoạt động", "Dormant teams", s.teams.dormant.into()),
        row("members.total", "Thành viên", "Members", s.members.total.into()),
        row("members.leaders", "Tổ trưởng", "Leaders", s.members.leaders.into()),
        row("members.female", "Thành viên nữ", "Female members", s.members.female.into()),
        row("sessions.total", "Buổi sinh hoạt", "Sessions", s.sessions.total.into()),
        row("sessions.training", "Buổi tập huấn", "Training sessions", s.sessions.training.into()),
        row("sessions.outreach", "Buổi tuyên truyền", "Outreach sessions", s.sessions.outreach.into()),
        row("sessions.duration_minutes", "Thời lượng (phút)", "Duration (minutes)", s.sessions.duration_minutes.into()),
        row("participants.total", "Người tham dự", "Participants", s.participants.total.into()),
        row("participants.female", "Người tham dự nữ", "Female participants", s.participants.female.into()),
        row("participants.ethnic_minority", "Người dân tộc thiểu số", "Ethnic minority participants", s.participants.ethnic_minority.into()),
        row("participants.elderly", "Người cao tuổi", "Elderly participants", s.participants.elderly.into()),
        row("participants.trained", "Người được tập huấn", "People trained", s.participants.trained.into()),
        row("outcomes.households_reached", "Hộ gia đình được hỗ trợ", "Households reached", s.outcomes.households_reached.into()),
        row("outcomes.vneid_activations", "Kích hoạt VNeID", "VNeID activations", s.outcomes.vneid_activations.into()),
        row("outcomes.payment_accounts_opened", "Tài khoản thanh toán mở mới", "Payment accounts opened", s.outcomes.payment_accounts_opened.into()),
        row("outcomes.public_service_accounts_created", "Tài khoản dịch vụ công", "Public service accounts", s.outcomes.public_service_accounts_created.into()),
        row("outcomes.online_dossiers_submitted", "Hồ sơ trực tuyến", "Online dossiers", s.outcomes.online_dossiers_submitted.into()),
        row("outcomes.apps_installed", "Ứng dụng cài đặt", "Apps installed", s.outcomes.apps_installed.into()),
        row("campaign_reach.activities", "Hoạt động tuyên truyền", "Reach activities", s.campaign_reach.activities.into()),
        row("campaign_reach.contacts", "Lượt tiếp cận", "Contacts", s.campaign_reach.contacts.into()),
        row("campaign_reach.unique_people", "Số người được tiếp cận", "Unique people", s.campaign_reach.unique_people.into()),
        row("campaign_reach.households_reached", "Hộ được tuyên truyền", "Households reached by the campaign", s.campaign_reach.households_reached.into()),
        row("campaign_reach.estimated_audience", "Khán giả ước tính", "Estimated audience", s.campaign_reach.estimated_audience.into()),
        row("campaign_reach.materials_distributed", "Tài liệu phát", "Materials distributed", s.campaign_reach.materials_distributed.into()),
        row("verification.verified", "Bản ghi đã duyệt", "Records verified", s.verification.verified.into()),
        row("verification.pending", "Bản ghi chờ duyệt", "Records pending", s.verification.pending.into()),
        row("verification.rejected", "Bản ghi bị từ chối", "Records rejected", s.verification.rejected.into()),
        row("verification.verified_pct", "Tỷ lệ đã duyệt", "Share verified", s.verification.verified_pct.map_or(Cell::Empty, Cell::Percent)),
    ]
}

/// The totals row's label.
const TOTAL: Label = label("total", "Tổng cộng", "Total");

/// The breakdown's rows and its totals row.
pub fn breakdown_rows(breakdown: &BreakdownResponse) -> (Vec<Vec<Cell>>, Vec<Cell>) {
    let rows = breakdown
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                Cell::from(&row.key),
                Cell::from(&row.label),
                Cell::from(row.code.as_ref()),
            ];
            cells.extend(row.figures.values().into_iter().map(Cell::Integer));
            cells
        })
        .collect();
    let mut totals = vec![Cell::Choice(TOTAL), Cell::Empty, Cell::Empty];
    totals.extend(breakdown.totals.values().into_iter().map(Cell::Integer));
    (rows, totals)
}

/// The targets report, one target per row.
pub fn target_rows(report: &TargetsReportResponse) -> Vec<Vec<Cell>> {
    report
        .items
        .iter()
        .map(|p| {
            crate::cells![
                Cell::choice(p.indicator),
                Cell::choice(p.holder.kind),
                &p.holder.code,
                &p.holder.name,
                p.campaign_id.map(|id| id.to_string()),
                p.period_start,
                p.period_end,
                p.value,
                p.actual,
                p.achievement_pct.map(Cell::Percent),
                Cell::Percent(p.expected_pct),
                p.expected_value,
                Cell::choice(p.status),
                p.evaluated_on,
                p.source.as_ref(),
                p.source_as_of,
            ]
        })
        .collect()
}

/// The report's unit, period and structure for the file's "about" sheet.
pub fn report_details(
    unit: &crate::domain::org_units::OrgUnitRef,
    from: NaiveDate,
    to: NaiveDate,
    as_of: Option<NaiveDate>,
) -> Vec<(Text, String)> {
    let mut details = vec![
        (Text::new("Unit", "Đơn vị"), format!("{} ({})", unit.name, unit.code)),
        (Text::new("Period", "Kỳ báo cáo"), format!("{} – {}", from.format("%d/%m/%Y"), to.format("%d/%m/%Y"))),
    ];
    if let Some(as_of) = as_of {
        details.push((
            Text::new("Administrative structure as of", "Theo địa giới hành chính ngày"),
            as_of.format("%d/%m/%Y").to_string(),
        ));
    }
    details
}

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
            read_report(conn, &cache, &reader, &options, (from, to), |conn, read, scope| {
                let summary = summarize(conn, read, scope)?;
                let breakdowns = WORKBOOK_BREAKDOWNS
                    .iter()
                    .map(|by| break_down(conn, read, scope, *by))
                    .collect::<Result<Vec<_>, _>>()?;
                let targets =
                    targets::report(conn, read, &reader, scope, None, (from, to), as_of)?;
                Ok((summary, breakdowns, targets))
            })
        })
        .await?;
    about.details.extend(report_details(
        &summary.org_unit,
        summary.from,
        summary.to,
        Some(summary.as_of),
    ));
    let name = format!("report-{}-{}-{}", summary.org_unit.code, summary.from, summary.to);
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
