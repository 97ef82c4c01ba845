//! Reference lists the clients show and the API validates against, each value with Vietnamese and
//! English labels.

use serde::Serialize;
use utoipa::ToSchema;

/// One value of an enumeration.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct Label {
    /// The value sent and received by the API.
    pub code: &'static str,
    /// Vietnamese label.
    pub name_vi: &'static str,
    /// English label.
    pub name_en: &'static str,
}

const fn label(code: &'static str, name_vi: &'static str, name_en: &'static str) -> Label {
    Label {
        code,
        name_vi,
        name_en,
    }
}

/// One of Vietnam's 54 ethnic groups.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct EthnicGroup {
    /// The value used by the API (`kinh`, `thai`, `hmong`, ...).
    pub code: &'static str,
    /// The General Statistics Office's number (01-54, decision 121-TCTK/PPCĐ).
    pub gso_code: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    /// False only for the Kinh majority; attendance counts of ethnic minorities follow this.
    pub minority: bool,
}

const fn group(
    code: &'static str,
    gso_code: &'static str,
    name_vi: &'static str,
    name_en: &'static str,
) -> EthnicGroup {
    EthnicGroup {
        code,
        gso_code,
        name_vi,
        name_en,
        minority: !matches!(code.as_bytes(), b"kinh"),
    }
}

/// Vietnam's 54 ethnic groups in the General Statistics Office's order.
pub const ETHNIC_GROUPS: [EthnicGroup; 54] = [
    group("kinh", "01", "Kinh", "Kinh (Viet)"),
    group("tay", "02", "Tày", "Tay"),
    group("thai", "03", "Thái", "Thai"),
    group("hoa", "04", "Hoa", "Hoa (Chinese)"),
    group("khmer", "05", "Khơ-me", "Khmer"),
    group("muong", "06", "Mường", "Muong"),
    group("nung", "07", "Nùng", "Nung"),
    group("hmong", "08", "H'Mông", "Hmong"),
    group("dao", "09", "Dao", "Dao (Yao)"),
    group("gia_rai", "10", "Gia-rai", "Jarai"),
    group("ngai", "11", "Ngái", "Ngai"),
    group("e_de", "12", "Ê-đê", "Ede"),
    group("ba_na", "13", "Ba-na", "Bahnar"),
    group("xo_dang", "14", "Xơ-đăng", "Xo Dang (Sedang)"),
    group("san_chay", "15", "Sán Chay", "San Chay"),
    group("co_ho", "16", "Cơ-ho", "Koho"),
    group("cham", "17", "Chăm", "Cham"),
    group("san_diu", "18", "Sán Dìu", "San Diu"),
    group("hre", "19", "Hrê", "Hre"),
    group("mnong", "20", "Mnông", "Mnong"),
    group("ra_glai", "21", "Ra-glai", "Raglai"),
    group("xtieng", "22", "Xtiêng", "Stieng"),
    group("bru_van_kieu", "23", "Bru-Vân Kiều", "Bru-Van Kieu"),
    group("tho", "24", "Thổ", "Tho"),
    group("giay", "25", "Giáy", "Giay"),
    group("co_tu", "26", "Cơ-tu", "Katu"),
    group("gie_trieng", "27", "Gié Triêng", "Gie Trieng"),
    group("ma", "28", "Mạ", "Ma"),
    group("kho_mu", "29", "Khơ-mú", "Khmu"),
    group("co", "30", "Co", "Co"),
    group("ta_oi", "31", "Tà-ôi", "Ta Oi"),
    group("cho_ro", "32", "Chơ-ro", "Cho Ro"),
    group("khang", "33", "Kháng", "Khang"),
    group("xinh_mun", "34", "Xinh-mun", "Xinh Mun"),
    group("ha_nhi", "35", "Hà Nhì", "Ha Nhi (Hani)"),
    group("chu_ru", "36", "Chu-ru", "Chu Ru"),
    group("lao", "37", "Lào", "Lao"),
    group("la_chi", "38", "La Chí", "La Chi"),
    group("la_ha", "39", "La Ha", "La Ha"),
    group("phu_la", "40", "Phù Lá", "Phu La"),
    group("la_hu", "41", "La Hủ", "La Hu (Lahu)"),
    group("lu", "42", "Lự", "Lu"),
    group("lo_lo", "43", "Lô Lô", "Lo Lo"),
    group("chut", "44", "Chứt", "Chut"),
    group("mang", "45", "Mảng", "Mang"),
    group("pa_then", "46", "Pà Thẻn", "Pa Then"),
    group("co_lao", "47", "Cơ Lao", "Co Lao"),
    group("cong", "48", "Cống", "Cong"),
    group("bo_y", "49", "Bố Y", "Bo Y"),
    group("si_la", "50", "Si La", "Si La"),
    group("pu_peo", "51", "Pu Péo", "Pu Peo"),
    group("brau", "52", "Brâu", "Brau"),
    group("o_du", "53", "Ơ Đu", "O Du"),
    group("ro_mam", "54", "Rơ-măm", "Ro Mam"),
];

/// Genders of a person.
pub const GENDERS: [Label; 4] = [
    label("female", "Nữ", "Female"),
    label("male", "Nam", "Male"),
    label("other", "Khác", "Other"),
    label("unspecified", "Không xác định", "Unspecified"),
];

/// What a member does besides the team.
pub const AFFILIATIONS: [Label; 12] = [
    label("village_head", "Trưởng bản / trưởng thôn", "Village head"),
    label("party_cell", "Bí thư chi bộ", "Party cell secretary"),
    label("youth_union", "Đoàn thanh niên", "Youth Union"),
    label("women_union", "Hội Liên hiệp Phụ nữ", "Women's Union"),
    label("police", "Công an xã", "Commune police"),
    label("teacher", "Giáo viên", "Teacher"),
    label("health_worker", "Nhân viên y tế", "Health worker"),
    label("telecom", "Nhân viên viễn thông", "Telecom staff"),
    label("veterans", "Hội Cựu chiến binh", "Veterans' Association"),
    label("farmers_union", "Hội Nông dân", "Farmers' Union"),
    label("resident", "Người dân", "Resident"),
    label("other", "Khác", "Other"),
];

/// Roles in a team.
pub const MEMBERSHIP_ROLES: [Label; 3] = [
    label("leader", "Tổ trưởng", "Leader"),
    label("deputy", "Tổ phó", "Deputy"),
    label("member", "Tổ viên", "Member"),
];

/// States of a team.
pub const TEAM_STATUSES: [Label; 3] = [
    label("active", "Đang hoạt động", "Active"),
    label("inactive", "Tạm ngừng", "Inactive"),
    label("dissolved", "Đã giải thể", "Dissolved"),
];

/// Levels of the administrative tree.
pub const ORG_UNIT_LEVELS: [Label; 4] = [
    label("province", "Tỉnh", "Province"),
    label(
        "district",
        "Huyện (đến 30/6/2025)",
        "District (until 30 June 2025)",
    ),
    label("commune", "Xã, phường", "Commune or ward"),
    label(
        "village",
        "Thôn, bản, tiểu khu, tổ dân phố",
        "Village or residential group",
    ),
];

/// User roles.
pub const USER_ROLES: [Label; 4] = [
    label("admin", "Quản trị", "Administrator"),
    label("officer", "Cán bộ", "Officer"),
    label("team_leader", "Tổ trưởng", "Team leader"),
    label("viewer", "Người xem", "Viewer"),
];

/// Kinds of session.
pub const SESSION_KINDS: [Label; 2] = [
    label("training", "Tập huấn", "Training"),
    label("outreach", "Tuyên truyền", "Outreach"),
];

/// How a session was held.
pub const SESSION_FORMATS: [Label; 4] = [
    label("in_person", "Trực tiếp", "In person"),
    label("door_to_door", "Đến từng hộ", "Door to door"),
    label("online", "Trực tuyến", "Online"),
    label("mixed", "Kết hợp", "Mixed"),
];

/// What a session covered: the 5 basic digital skills and the national platforms.
pub const SESSION_TOPICS: [Label; 9] = [
    label(
        "online_public_services",
        "Dịch vụ công trực tuyến",
        "Online public services",
    ),
    label("online_shopping", "Mua sắm trực tuyến", "Online shopping"),
    label("online_payment", "Thanh toán trực tuyến", "Online payment"),
    label(
        "cyber_safety",
        "Tự bảo vệ trên không gian mạng",
        "Self-protection in cyberspace",
    ),
    label(
        "local_platforms",
        "Nền tảng số địa phương",
        "Local digital platforms",
    ),
    label("vneid", "Ứng dụng VNeID", "VNeID app"),
    label("digital_signature", "Chữ ký số", "Digital signature"),
    label(
        "fraud_prevention",
        "Phòng chống lừa đảo trực tuyến",
        "Online fraud prevention",
    ),
    label("other", "Khác", "Other"),
];

/// Channels a campaign reaches people through.
pub const REACH_CHANNELS: [Label; 10] = [
    label("loudspeaker", "Đài truyền thanh xã", "Commune loudspeaker"),
    label("mobile_loudspeaker", "Loa lưu động", "Mobile loudspeaker"),
    label("zalo_group", "Nhóm Zalo", "Zalo group"),
    label("social_media", "Mạng xã hội", "Social media"),
    label("meeting", "Họp thôn, bản", "Village meeting"),
    label("door_to_door", "Đến từng hộ", "Door to door"),
    label("leaflet", "Tờ rơi, cẩm nang", "Leaflets and handbooks"),
    label("video", "Video clip", "Video clips"),
    label("online_course", "Khoá học trực tuyến", "Online course"),
    label("other", "Khác", "Other"),
];

/// How a reach figure was counted.
pub const COUNTING_METHODS: [Label; 6] = [
    label("headcount", "Đếm trực tiếp", "Headcount"),
    label(
        "attendance_sheet",
        "Danh sách điểm danh",
        "Attendance sheet",
    ),
    label(
        "group_member_count",
        "Số thành viên nhóm",
        "Group member count",
    ),
    label(
        "coverage_estimate",
        "Ước tính vùng phủ sóng",
        "Coverage estimate",
    ),
    label(
        "platform_analytics",
        "Số liệu nền tảng",
        "Platform analytics",
    ),
    label("other", "Khác", "Other"),
];

/// How sure a figure is.
pub const CONFIDENCE_LEVELS: [Label; 3] = [
    label("low", "Thấp", "Low"),
    label("medium", "Trung bình", "Medium"),
    label("high", "Cao", "High"),
];

/// The 5 skill groups of the anti-fraud handbook.
pub const SKILL_GROUPS: [Label; 5] = [
    label("recognise", "Nhận diện", "Recognise"),
    label("detect", "Phát hiện", "Detect"),
    label("handle", "Xử lý", "Handle"),
    label("avoid", "Phòng tránh", "Avoid"),
    label("protect", "Bảo vệ", "Protect"),
];

/// Online fraud types (after the 24 of the 2023 campaign edition).
pub const FRAUD_TYPES: [Label; 24] = [
    label(
        "impersonating_authorities",
        "Giả danh cơ quan chức năng (công an, viện kiểm sát, toà án)",
        "Impersonating the authorities",
    ),
    label(
        "impersonating_relatives",
        "Giả danh người thân, bạn bè",
        "Impersonating relatives or friends",
    ),
    label(
        "fake_investment",
        "Đầu tư tài chính, tiền ảo lợi nhuận cao",
        "High-return investment and crypto",
    ),
    label(
        "job_offers",
        "Tuyển dụng việc nhẹ lương cao",
        "Easy jobs with high pay",
    ),
    label(
        "online_tasks",
        "Làm nhiệm vụ, cộng tác viên online",
        "Paid online tasks",
    ),
    label("loan_apps", "Cho vay qua ứng dụng", "Loan apps"),
    label(
        "lottery_prizes",
        "Trúng thưởng, quà tặng",
        "Lottery prizes and gifts",
    ),
    label(
        "account_takeover",
        "Chiếm đoạt tài khoản mạng xã hội",
        "Social media account takeover",
    ),
    label(
        "fake_bank_messages",
        "Tin nhắn giả mạo ngân hàng",
        "Fake bank messages",
    ),
    label(
        "phishing_links",
        "Đường link, trang web giả mạo",
        "Phishing links and websites",
    ),
    label(
        "fake_apps",
        "Cài ứng dụng giả mạo (VNeID, dịch vụ công)",
        "Fake apps (VNeID, public services)",
    ),
    label("sim_upgrade", "Nâng cấp SIM 4G", "4G SIM upgrade"),
    label(
        "fake_shopping",
        "Mua bán hàng online giả",
        "Fake online shops",
    ),
    label(
        "parcel_delivery",
        "Giao hàng thu tiền hộ",
        "Parcel delivery scams",
    ),
    label("romance", "Làm quen, hẹn hò qua mạng", "Romance scams"),
    label("fake_charity", "Kêu gọi từ thiện giả", "Fake charity"),
    label(
        "travel_tickets",
        "Bán vé máy bay, tour du lịch giả",
        "Fake tickets and tours",
    ),
    label(
        "fund_recovery",
        "Hứa lấy lại tiền đã bị lừa",
        "Recovering lost money",
    ),
    label(
        "deepfake_calls",
        "Cuộc gọi video deepfake",
        "Deepfake video calls",
    ),
    label(
        "utility_bills",
        "Giả danh điện lực, viễn thông báo nợ cước",
        "Fake utility bills",
    ),
    label(
        "school_fees",
        "Giả danh nhà trường thu học phí",
        "Fake school fees",
    ),
    label(
        "hospital_emergency",
        "Báo người thân cấp cứu",
        "Relative in hospital",
    ),
    label(
        "identity_data",
        "Thu thập thông tin cá nhân, căn cước",
        "Identity data harvesting",
    ),
    label("other", "Hình thức khác", "Other"),
];

/// True when `code` is one of `labels`.
pub fn is_one_of(labels: &[Label], code: &str) -> bool {
    labels.iter().any(|label| label.code == code)
}

/// The ethnic group with this code.
pub fn ethnic_group(code: &str) -> Option<&'static EthnicGroup> {
    ETHNIC_GROUPS.iter().find(|group| group.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_54_groups_have_unique_codes_and_numbers() {
        let mut codes: Vec<_> = ETHNIC_GROUPS.iter().map(|g| g.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 54);
        for (index, group) in ETHNIC_GROUPS.iter().enumerate() {
            assert_eq!(group.gso_code, format!("{:02}", index + 1));
        }
        assert_eq!(ETHNIC_GROUPS.iter().filter(|g| !g.minority).count(), 1);
    }
}
