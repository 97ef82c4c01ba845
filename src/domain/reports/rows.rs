//! The reports as spreadsheet rows: each report's own file and the report workbook write these.

use chrono::NaiveDate;

use crate::{
    domain::reports::{BreakdownResponse, SummaryResponse, targets::TargetsReportResponse},
    error::Text,
    reference::Label,
    tabular::Cell,
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
        row(
            "org_unit_code",
            "Mã đơn vị",
            "Unit code",
            (&s.org_unit.code).into(),
        ),
        row("org_unit_name", "Đơn vị", "Unit", (&s.org_unit.name).into()),
        row("from", "Từ ngày", "From", s.from.into()),
        row("to", "Đến ngày", "To", s.to.into()),
        row(
            "as_of",
            "Theo địa giới ngày",
            "Structure as of",
            s.as_of.into(),
        ),
        row(
            "verified_only",
            "Chỉ tính bản ghi đã duyệt",
            "Verified records only",
            s.verified_only.into(),
        ),
        row(
            "signed_off_only",
            "Chỉ tính tháng đã xác nhận",
            "Signed-off months only",
            s.signed_off_only.into(),
        ),
        row(
            "sign_offs.accepted",
            "Tháng đã xác nhận",
            "Months accepted",
            s.sign_offs.accepted.into(),
        ),
        row(
            "sign_offs.submitted",
            "Tháng chờ xác nhận",
            "Months submitted",
            s.sign_offs.submitted.into(),
        ),
        row(
            "sign_offs.returned",
            "Tháng bị trả lại",
            "Months returned",
            s.sign_offs.returned.into(),
        ),
        row(
            "sign_offs.open",
            "Tháng chưa gửi",
            "Months open",
            s.sign_offs.open.into(),
        ),
        row("teams.total", "Tổng số tổ", "Teams", s.teams.total.into()),
        row(
            "teams.active",
            "Tổ hoạt động",
            "Active teams",
            s.teams.active.into(),
        ),
        row(
            "teams.dormant",
            "Tổ không hoạt động",
            "Dormant teams",
            s.teams.dormant.into(),
        ),
        row(
            "members.total",
            "Thành viên",
            "Members",
            s.members.total.into(),
        ),
        row(
            "members.leaders",
            "Tổ trưởng",
            "Leaders",
            s.members.leaders.into(),
        ),
        row(
            "members.female",
            "Thành viên nữ",
            "Female members",
            s.members.female.into(),
        ),
        row(
            "sessions.total",
            "Buổi sinh hoạt",
            "Sessions",
            s.sessions.total.into(),
        ),
        row(
            "sessions.training",
            "Buổi tập huấn",
            "Training sessions",
            s.sessions.training.into(),
        ),
        row(
            "sessions.outreach",
            "Buổi tuyên truyền",
            "Outreach sessions",
            s.sessions.outreach.into(),
        ),
        row(
            "sessions.duration_minutes",
            "Thời lượng (phút)",
            "Duration (minutes)",
            s.sessions.duration_minutes.into(),
        ),
        row(
            "participants.total",
            "Người tham dự",
            "Participants",
            s.participants.total.into(),
        ),
        row(
            "participants.female",
            "Người tham dự nữ",
            "Female participants",
            s.participants.female.into(),
        ),
        row(
            "participants.ethnic_minority",
            "Người dân tộc thiểu số",
            "Ethnic minority participants",
            s.participants.ethnic_minority.into(),
        ),
        row(
            "participants.elderly",
            "Người cao tuổi",
            "Elderly participants",
            s.participants.elderly.into(),
        ),
        row(
            "participants.trained",
            "Người được tập huấn",
            "People trained",
            s.participants.trained.into(),
        ),
        row(
            "outcomes.households_reached",
            "Hộ gia đình được hỗ trợ",
            "Households reached",
            s.outcomes.households_reached.into(),
        ),
        row(
            "outcomes.vneid_activations",
            "Kích hoạt VNeID",
            "VNeID activations",
            s.outcomes.vneid_activations.into(),
        ),
        row(
            "outcomes.payment_accounts_opened",
            "Tài khoản thanh toán mở mới",
            "Payment accounts opened",
            s.outcomes.payment_accounts_opened.into(),
        ),
        row(
            "outcomes.public_service_accounts_created",
            "Tài khoản dịch vụ công",
            "Public service accounts",
            s.outcomes.public_service_accounts_created.into(),
        ),
        row(
            "outcomes.online_dossiers_submitted",
            "Hồ sơ trực tuyến",
            "Online dossiers",
            s.outcomes.online_dossiers_submitted.into(),
        ),
        row(
            "outcomes.apps_installed",
            "Ứng dụng cài đặt",
            "Apps installed",
            s.outcomes.apps_installed.into(),
        ),
        row(
            "campaign_reach.activities",
            "Hoạt động tuyên truyền",
            "Reach activities",
            s.campaign_reach.activities.into(),
        ),
        row(
            "campaign_reach.contacts",
            "Lượt tiếp cận",
            "Contacts",
            s.campaign_reach.contacts.into(),
        ),
        row(
            "campaign_reach.unique_people",
            "Số người được tiếp cận",
            "Unique people",
            s.campaign_reach.unique_people.into(),
        ),
        row(
            "campaign_reach.households_reached",
            "Hộ được tuyên truyền",
            "Households reached by the campaign",
            s.campaign_reach.households_reached.into(),
        ),
        row(
            "campaign_reach.estimated_audience",
            "Khán giả ước tính",
            "Estimated audience",
            s.campaign_reach.estimated_audience.into(),
        ),
        row(
            "campaign_reach.materials_distributed",
            "Tài liệu phát",
            "Materials distributed",
            s.campaign_reach.materials_distributed.into(),
        ),
        row(
            "verification.verified",
            "Bản ghi đã duyệt",
            "Records verified",
            s.verification.verified.into(),
        ),
        row(
            "verification.pending",
            "Bản ghi chờ duyệt",
            "Records pending",
            s.verification.pending.into(),
        ),
        row(
            "verification.rejected",
            "Bản ghi bị từ chối",
            "Records rejected",
            s.verification.rejected.into(),
        ),
        row(
            "verification.verified_pct",
            "Tỷ lệ đã duyệt",
            "Share verified",
            s.verification
                .verified_pct
                .map_or(Cell::Empty, Cell::Percent),
        ),
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
        (
            Text::new("Unit", "Đơn vị"),
            format!("{} ({})", unit.name, unit.code),
        ),
        (
            Text::new("Period", "Kỳ báo cáo"),
            format!("{} – {}", from.format("%d/%m/%Y"), to.format("%d/%m/%Y")),
        ),
    ];
    if let Some(as_of) = as_of {
        details.push((
            Text::new(
                "Administrative structure as of",
                "Theo địa giới hành chính ngày",
            ),
            as_of.format("%d/%m/%Y").to_string(),
        ));
    }
    details
}
