//! Every table the API writes as a file, column by column: the CSV keys (which are also the import
//! formats of teams, members and indicator values), the Vietnamese and English headers of XLSX, widths,
//! and what each column holds.

use super::{Column, Kind, Sheet};
use crate::reference::{
    AFFILIATIONS, CONFIDENCE_LEVELS, COUNTING_METHODS, ETHNICITIES, EXTERNAL_INDICATORS,
    FRAUD_TYPES, GENDERS, INDICATORS, MEMBERSHIP_ROLES, ORG_UNIT_LEVELS, REACH_CHANNELS,
    RECORD_STATUSES, SESSION_FORMATS, SESSION_KINDS, SESSION_TOPICS, SIGN_OFF_STATES, SKILL_GROUPS,
    TARGET_HOLDER_KINDS, TARGET_STATUSES, TEAM_STATUSES,
};

use Kind::{
    Boolean, Choice, Choices, Date, Integer, Number, Percent, Phone, TeamCode, Text, Time, UnitCode,
};

const fn c(
    key: &'static str,
    vi: &'static str,
    en: &'static str,
    width: u16,
    kind: Kind,
) -> Column {
    Column::new(key, vi, en, width, kind)
}

/// Counts several tables share (sessions, reach activities, breakdowns).
const DURATION: Column = c(
    "duration_minutes",
    "Thời lượng (phút)",
    "Duration (minutes)",
    10,
    Integer,
);
const PARTICIPANTS: Column = c(
    "participants_total",
    "Người tham dự",
    "Participants",
    10,
    Integer,
);
const FEMALE: Column = c("participants_female", "Nữ", "Female", 10, Integer);
const ETHNIC_MINORITY: Column = c(
    "participants_ethnic_minority",
    "Dân tộc thiểu số",
    "Ethnic minority",
    10,
    Integer,
);
const ELDERLY: Column = c(
    "participants_elderly",
    "Người cao tuổi",
    "Elderly",
    10,
    Integer,
);
const HOUSEHOLDS: Column = c(
    "households_reached",
    "Hộ gia đình",
    "Households reached",
    10,
    Integer,
);
const VNEID: Column = c(
    "vneid_activations",
    "Kích hoạt VNeID",
    "VNeID activations",
    10,
    Integer,
);
const PAYMENT_ACCOUNTS: Column = c(
    "payment_accounts_opened",
    "Tài khoản thanh toán",
    "Payment accounts opened",
    10,
    Integer,
);
const PUBLIC_SERVICE_ACCOUNTS: Column = c(
    "public_service_accounts_created",
    "Tài khoản DVC",
    "Public service accounts",
    10,
    Integer,
);
const DOSSIERS: Column = c(
    "online_dossiers_submitted",
    "Hồ sơ trực tuyến",
    "Online dossiers",
    10,
    Integer,
);
const APPS: Column = c(
    "apps_installed",
    "Ứng dụng cài đặt",
    "Apps installed",
    10,
    Integer,
);
const CONTACTS: Column = c("contacts", "Lượt tiếp cận", "Contacts", 10, Integer);
const ESTIMATED_AUDIENCE: Column = c(
    "estimated_audience",
    "Khán giả ước tính",
    "Estimated audience",
    10,
    Integer,
);
const MATERIALS: Column = c(
    "materials_distributed",
    "Tài liệu phát",
    "Materials distributed",
    10,
    Integer,
);

/// A person's columns (members and people).
const FULL_NAME: Column = c("full_name", "Họ và tên", "Full name", 26, Text);
const PHONE: Column = c("phone", "Số điện thoại", "Phone", 14, Phone);
const GENDER: Column = c("gender", "Giới tính", "Gender", 10, Choice(GENDERS));
const BIRTH_YEAR: Column = c("birth_year", "Năm sinh", "Birth year", 10, Integer);
const ETHNICITY: Column = c(
    "ethnicity",
    "Dân tộc",
    "Ethnic group",
    14,
    Choice(ETHNICITIES),
);
const AFFILIATION: Column = c(
    "affiliation",
    "Thành phần",
    "Affiliation",
    22,
    Choice(AFFILIATIONS),
);

const TEAM_CODE: Column = c("code", "Mã tổ", "Team code", 18, Text);
const TEAM_NAME: Column = c("name", "Tên tổ", "Team name", 36, Text);
const TEAM_UNIT_NAME: Column = c("org_unit_name", "Đơn vị", "Unit", 26, Text);
const TEAM_UNIT_CODE: Column = c("org_unit_code", "Mã đơn vị", "Unit code", 30, UnitCode);
const TEAM_LEVEL: Column = c("level", "Cấp", "Level", 12, Choice(ORG_UNIT_LEVELS));
const TEAM_STATUS: Column = c("status", "Trạng thái", "Status", 16, Choice(TEAM_STATUSES));
const FOUNDED_ON: Column = c("founded_on", "Ngày thành lập", "Founded on", 14, Date);
const DECISION: Column = c(
    "establishment_decision",
    "Quyết định thành lập",
    "Establishment decision",
    26,
    Text,
);
const ZALO: Column = c(
    "zalo_group_members",
    "Thành viên nhóm Zalo",
    "Zalo group members",
    14,
    Integer,
);
const ZALO_AS_OF: Column = c(
    "zalo_group_members_as_of",
    "Số liệu Zalo tính đến",
    "Zalo members as of",
    14,
    Date,
);
const NOTES: Column = c("notes", "Ghi chú", "Notes", 30, Text);

/// Teams as listed.
pub const TEAMS: Sheet = Sheet::new(
    "Tổ CNSCĐ",
    "Teams",
    &[
        TEAM_CODE,
        TEAM_NAME,
        TEAM_UNIT_NAME,
        TEAM_UNIT_CODE,
        TEAM_LEVEL,
        TEAM_STATUS,
        FOUNDED_ON,
        c("dissolved_on", "Ngày giải thể", "Dissolved on", 14, Date),
        DECISION,
        ZALO,
        ZALO_AS_OF,
        c("leader_name", "Tổ trưởng", "Leader", 24, Text),
        NOTES,
    ],
);

/// The columns the team import reads (the list's, but those it derives, and a new village's commune).
pub const TEAM_IMPORT: Sheet = Sheet::new(
    "Tổ CNSCĐ",
    "Teams",
    &[
        TEAM_CODE,
        TEAM_NAME,
        TEAM_UNIT_NAME,
        TEAM_UNIT_CODE,
        c(
            "parent_code",
            "Mã xã (khi thêm thôn, bản mới)",
            "Commune code (for a new village)",
            30,
            UnitCode,
        ),
        TEAM_LEVEL,
        TEAM_STATUS,
        FOUNDED_ON,
        DECISION,
        ZALO,
        ZALO_AS_OF,
        NOTES,
    ],
);

/// A team's members (export and import share the columns).
pub const MEMBERS: Sheet = Sheet::new(
    "Thành viên",
    "Members",
    &[
        c("team_code", "Mã tổ", "Team code", 18, TeamCode),
        FULL_NAME,
        PHONE,
        GENDER,
        BIRTH_YEAR,
        ETHNICITY,
        AFFILIATION,
        c("role", "Vai trò", "Role", 12, Choice(MEMBERSHIP_ROLES)),
        c("joined_on", "Ngày tham gia", "Joined on", 14, Date),
        c("left_on", "Ngày rời tổ", "Left on", 14, Date),
    ],
);

/// People (the registry of members).
pub const PEOPLE: Sheet = Sheet::new(
    "Người",
    "People",
    &[
        c("id", "Mã định danh", "Id", 38, Text),
        FULL_NAME,
        PHONE,
        GENDER,
        BIRTH_YEAR,
        ETHNICITY,
        AFFILIATION,
        c(
            "erased",
            "Đã xoá dữ liệu cá nhân",
            "Personal data erased",
            12,
            Boolean,
        ),
        c("version", "Phiên bản", "Version", 8, Integer),
    ],
);

/// Training and outreach sessions.
pub const SESSIONS: Sheet = Sheet::new(
    "Buổi sinh hoạt",
    "Sessions",
    &[
        c("id", "Mã buổi", "Id", 38, Text),
        c("team_code", "Mã tổ", "Team code", 18, Text),
        c("held_on", "Ngày tổ chức", "Held on", 12, Date),
        c("kind", "Loại", "Kind", 14, Choice(SESSION_KINDS)),
        c("format", "Hình thức", "Format", 14, Choice(SESSION_FORMATS)),
        c("venue", "Địa điểm", "Venue", 24, Text),
        c("org_unit_name", "Đơn vị", "Unit", 24, Text),
        c("topics", "Chủ đề", "Topics", 30, Choices(SESSION_TOPICS)),
        DURATION,
        PARTICIPANTS,
        FEMALE,
        ETHNIC_MINORITY,
        ELDERLY,
        HOUSEHOLDS,
        VNEID,
        PAYMENT_ACCOUNTS,
        PUBLIC_SERVICE_ACCOUNTS,
        DOSSIERS,
        APPS,
        c(
            "status",
            "Trạng thái",
            "Status",
            14,
            Choice(RECORD_STATUSES),
        ),
        c("reviewed_at", "Duyệt lúc", "Reviewed at", 17, Time),
        c(
            "rejection_reason",
            "Lý do từ chối",
            "Rejection reason",
            24,
            Text,
        ),
        c("notes", "Ghi chú", "Notes", 30, Text),
        c("version", "Phiên bản", "Version", 8, Integer),
    ],
);

/// A campaign's reach activities.
pub const REACH_ACTIVITIES: Sheet = Sheet::new(
    "Hoạt động tuyên truyền",
    "Reach activities",
    &[
        c("id", "Mã hoạt động", "Id", 38, Text),
        c("team_code", "Mã tổ", "Team code", 18, Text),
        c("occurred_on", "Ngày", "Occurred on", 12, Date),
        c("channel", "Kênh", "Channel", 22, Choice(REACH_CHANNELS)),
        c("org_unit_name", "Đơn vị", "Unit", 24, Text),
        CONTACTS,
        c("unique_people", "Số người", "Unique people", 10, Integer),
        HOUSEHOLDS,
        ESTIMATED_AUDIENCE,
        c(
            "method",
            "Cách đếm",
            "Counting method",
            18,
            Choice(COUNTING_METHODS),
        ),
        c(
            "confidence",
            "Độ tin cậy",
            "Confidence",
            12,
            Choice(CONFIDENCE_LEVELS),
        ),
        c(
            "skill_groups",
            "Nhóm kỹ năng",
            "Skill groups",
            30,
            Choices(SKILL_GROUPS),
        ),
        c(
            "fraud_types",
            "Loại lừa đảo",
            "Fraud types",
            30,
            Choices(FRAUD_TYPES),
        ),
        MATERIALS,
        c(
            "status",
            "Trạng thái",
            "Status",
            14,
            Choice(RECORD_STATUSES),
        ),
        c("notes", "Ghi chú", "Notes", 30, Text),
    ],
);

/// Monthly sign-offs.
pub const SIGN_OFFS: Sheet = Sheet::new(
    "Xác nhận tháng",
    "Sign-offs",
    &[
        c("org_unit_code", "Mã đơn vị", "Unit code", 14, Text),
        c("org_unit_name", "Đơn vị", "Unit", 26, Text),
        c("period", "Tháng", "Month", 10, Text),
        c("state", "Trạng thái", "State", 14, Choice(SIGN_OFF_STATES)),
        c("due_on", "Hạn", "Due on", 12, Date),
        c("overdue", "Quá hạn", "Overdue", 9, Boolean),
        c("submitted_by", "Người gửi", "Submitted by", 16, Text),
        c("submitted_at", "Gửi lúc", "Submitted at", 17, Time),
        c("decided_by", "Người quyết định", "Decided by", 16, Text),
        c("decided_at", "Quyết định lúc", "Decided at", 17, Time),
        c("sessions", "Buổi sinh hoạt", "Sessions", 10, Integer),
        PARTICIPANTS,
        c(
            "reach_activities",
            "Hoạt động tuyên truyền",
            "Reach activities",
            10,
            Integer,
        ),
        c(
            "records_pending",
            "Bản ghi chờ duyệt",
            "Records pending",
            10,
            Integer,
        ),
    ],
);

/// Indicator values from national systems (export and import share the columns).
pub const INDICATOR_VALUES: Sheet = Sheet::new(
    "Chỉ số",
    "Indicator values",
    &[
        c("org_unit_code", "Mã đơn vị", "Unit code", 30, UnitCode),
        c(
            "indicator",
            "Chỉ số",
            "Indicator",
            34,
            Choice(EXTERNAL_INDICATORS),
        ),
        c("period_start", "Từ ngày", "Period start", 12, Date),
        c("period_end", "Đến ngày", "Period end", 12, Date),
        c("value", "Giá trị", "Value", 12, Number),
        c("source", "Nguồn", "Source", 24, Text),
        c("as_of", "Số liệu tính đến", "As of", 12, Date),
    ],
);

/// Targets assigned to units, teams and campaigns (the targets report shows them by name).
pub const TARGETS: Sheet = Sheet::new(
    "Chỉ tiêu",
    "Targets",
    &[
        c("id", "Mã chỉ tiêu", "Id", 38, Text),
        c("indicator", "Chỉ số", "Indicator", 34, Choice(INDICATORS)),
        c("org_unit_id", "Mã định danh đơn vị", "Unit id", 38, Text),
        c("team_id", "Mã định danh tổ", "Team id", 38, Text),
        c("campaign_id", "Chiến dịch", "Campaign", 38, Text),
        c("period_start", "Từ ngày", "Period start", 12, Date),
        c("period_end", "Đến ngày", "Period end", 12, Date),
        c("value", "Chỉ tiêu", "Target", 12, Number),
        c("updated_at", "Cập nhật lúc", "Updated at", 17, Time),
        c("version", "Phiên bản", "Version", 8, Integer),
    ],
);

/// Progress against targets (the targets report).
pub const TARGET_PROGRESS: Sheet = Sheet::new(
    "Tiến độ chỉ tiêu",
    "Target progress",
    &[
        c("indicator", "Chỉ số", "Indicator", 34, Choice(INDICATORS)),
        c(
            "holder_kind",
            "Giao cho",
            "Holder kind",
            12,
            Choice(TARGET_HOLDER_KINDS),
        ),
        c("holder_code", "Mã", "Holder code", 16, Text),
        c("holder_name", "Tên", "Holder", 28, Text),
        c("campaign_id", "Chiến dịch", "Campaign", 38, Text),
        c("period_start", "Từ ngày", "Period start", 12, Date),
        c("period_end", "Đến ngày", "Period end", 12, Date),
        c("value", "Chỉ tiêu", "Target", 12, Number),
        c("actual", "Thực hiện", "Actual", 12, Number),
        c(
            "achievement_pct",
            "Tỷ lệ hoàn thành",
            "Achievement",
            12,
            Percent,
        ),
        c("expected_pct", "Tỷ lệ cần đạt", "Expected", 12, Percent),
        c(
            "expected_value",
            "Mức cần đạt",
            "Expected value",
            12,
            Number,
        ),
        c("status", "Đánh giá", "Status", 16, Choice(TARGET_STATUSES)),
        c("evaluated_on", "Đánh giá ngày", "Evaluated on", 12, Date),
        c("source", "Nguồn", "Source", 24, Text),
        c(
            "source_as_of",
            "Số liệu nguồn tính đến",
            "Source as of",
            12,
            Date,
        ),
    ],
);

/// Teams with no recent activity.
pub const DORMANT_TEAMS: Sheet = Sheet::new(
    "Tổ không hoạt động",
    "Dormant teams",
    &[
        c("team_code", "Mã tổ", "Team code", 18, Text),
        c("team_name", "Tên tổ", "Team name", 36, Text),
        c("org_unit_name", "Đơn vị", "Unit", 26, Text),
        c(
            "last_activity_on",
            "Hoạt động gần nhất",
            "Last activity",
            14,
            Date,
        ),
        c("days_since", "Số ngày", "Days since", 10, Integer),
        c("leader_name", "Tổ trưởng", "Leader", 24, Text),
        c(
            "leader_phone",
            "Điện thoại tổ trưởng",
            "Leader's phone",
            14,
            Text,
        ),
    ],
);

/// A campaign's reach grouped (the reach summary).
pub const REACH_SUMMARY: Sheet = Sheet::new(
    "Tổng hợp tuyên truyền",
    "Reach summary",
    &[
        c("group", "Nhóm", "Group", 18, Text),
        c("label", "Tên", "Label", 28, Text),
        c("activities", "Hoạt động", "Activities", 10, Integer),
        CONTACTS,
        c(
            "unique_people_estimate",
            "Số người (ước tính)",
            "Unique people (estimate)",
            12,
            Integer,
        ),
        HOUSEHOLDS,
        ESTIMATED_AUDIENCE,
        MATERIALS,
        c(
            "households_covered",
            "Hộ được phủ",
            "Households covered",
            10,
            Integer,
        ),
        c(
            "households_total",
            "Tổng số hộ",
            "Households total",
            10,
            Integer,
        ),
    ],
);

/// The summary report, one figure per row.
pub const SUMMARY: Sheet = Sheet::new(
    "Tổng hợp",
    "Summary",
    &[
        c("figure", "Chỉ tiêu", "Figure", 44, Text),
        c("value", "Giá trị", "Value", 26, Text),
    ],
);

/// The breakdown report: the group, then every measure (in the order of `MEASURES`).
pub const BREAKDOWN: Sheet = Sheet::new(
    "Phân tích",
    "Breakdown",
    &[
        c("key", "Khoá", "Key", 16, Text),
        c("label", "Tên", "Label", 28, Text),
        c("code", "Mã", "Code", 14, Text),
        c("sessions", "Buổi sinh hoạt", "Sessions", 10, Integer),
        c(
            "sessions_training",
            "Buổi tập huấn",
            "Training sessions",
            10,
            Integer,
        ),
        c(
            "sessions_outreach",
            "Buổi tuyên truyền",
            "Outreach sessions",
            10,
            Integer,
        ),
        DURATION,
        PARTICIPANTS,
        FEMALE,
        ETHNIC_MINORITY,
        ELDERLY,
        c("trained_total", "Được tập huấn", "Trained", 10, Integer),
        c(
            "trained_female",
            "Nữ được tập huấn",
            "Trained female",
            10,
            Integer,
        ),
        c(
            "trained_ethnic_minority",
            "DTTS được tập huấn",
            "Trained ethnic minority",
            10,
            Integer,
        ),
        HOUSEHOLDS,
        VNEID,
        PAYMENT_ACCOUNTS,
        PUBLIC_SERVICE_ACCOUNTS,
        DOSSIERS,
        APPS,
        c(
            "topic_mentions",
            "Lượt chủ đề",
            "Topic mentions",
            10,
            Integer,
        ),
        c(
            "reach_activities",
            "Hoạt động tuyên truyền",
            "Reach activities",
            10,
            Integer,
        ),
        CONTACTS,
        c("unique_people", "Số người", "Unique people", 10, Integer),
        c(
            "reach_households",
            "Hộ được tuyên truyền",
            "Reach households",
            10,
            Integer,
        ),
        ESTIMATED_AUDIENCE,
        MATERIALS,
    ],
);

/// Audit events.
pub const AUDIT_EVENTS: Sheet = Sheet::new(
    "Nhật ký",
    "Audit",
    &[
        c("at", "Thời điểm", "At", 17, Time),
        c("actor_username", "Người thực hiện", "Actor", 18, Text),
        c("action", "Hành động", "Action", 24, Text),
        c("entity_type", "Đối tượng", "Entity type", 16, Text),
        c("entity_id", "Mã đối tượng", "Entity id", 38, Text),
        c("request_id", "Mã yêu cầu", "Request id", 38, Text),
        c("client_ip", "Địa chỉ IP", "Client IP", 16, Text),
        c("changes", "Thay đổi", "Changes", 50, Text),
    ],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breakdown_has_every_measure_in_order() {
        let keys: Vec<&str> = BREAKDOWN.columns[3..].iter().map(|c| c.key).collect();
        assert_eq!(keys, crate::models::stats::MEASURES);
    }

    #[test]
    fn sheet_names_fit_excel() {
        for sheet in [
            TEAMS,
            MEMBERS,
            PEOPLE,
            SESSIONS,
            REACH_ACTIVITIES,
            SIGN_OFFS,
            INDICATOR_VALUES,
            TARGETS,
            TARGET_PROGRESS,
            DORMANT_TEAMS,
            REACH_SUMMARY,
            SUMMARY,
            BREAKDOWN,
            AUDIT_EVENTS,
        ] {
            assert!(sheet.name.0.chars().count() <= 31 && sheet.name.1.chars().count() <= 31);
        }
    }
}
