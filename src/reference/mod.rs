//! The closed vocabularies of the API: every field whose value comes from a fixed list is one of the
//! enums here, each value with its Vietnamese and English label. One definition per vocabulary makes
//! the Rust type (`serde` snake_case codes, diesel `text` mapping), the OpenAPI schema (`enum` with
//! every value described) and the lists of `GET /api/v1/reference`, so the three cannot disagree. The
//! database keeps its own check constraints on the same codes (ARCHITECTURE.md says why).

mod ethnic_groups;
mod vocabulary;

pub use ethnic_groups::{ETHNIC_GROUPS, ETHNICITIES, EthnicGroup, Ethnicity};
pub use vocabulary::{Choice, Label, Vocabulary, check_choice, vocabulary_schema};

use vocabulary::vocabulary;

/// Every vocabulary's schema under its component name, so that a vocabulary used only by a query
/// parameter (which utoipa does not collect) is in the document too.
pub fn schemas() -> Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)> {
    fn entry<V: utoipa::ToSchema>() -> (
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    ) {
        (V::name().into_owned(), V::schema())
    }
    vec![
        entry::<Gender>(),
        entry::<Affiliation>(),
        entry::<MembershipRole>(),
        entry::<TeamStatus>(),
        entry::<OrgUnitLevel>(),
        entry::<Role>(),
        entry::<SessionKind>(),
        entry::<SessionFormat>(),
        entry::<SessionTopic>(),
        entry::<ReachChannel>(),
        entry::<CountingMethod>(),
        entry::<Confidence>(),
        entry::<SkillGroup>(),
        entry::<FraudType>(),
        entry::<RecordStatus>(),
        entry::<CampaignStatus>(),
        entry::<UserStatus>(),
        entry::<OrgUnitKind>(),
        entry::<Indicator>(),
        entry::<TargetStatus>(),
        entry::<BreakdownBy>(),
        entry::<ReachGroupBy>(),
        entry::<SyncRecordType>(),
        entry::<PushRecordType>(),
        entry::<SyncOp>(),
        entry::<PushOutcome>(),
        entry::<ConflictStatus>(),
        entry::<SignOffState>(),
        entry::<SignOffAction>(),
        entry::<ReviewDecision>(),
        entry::<BulkOutcome>(),
        entry::<ConflictResolution>(),
        entry::<ImportMode>(),
        entry::<TargetHolderKind>(),
        entry::<RecordStatusFilter>(),
        entry::<ConflictStatusFilter>(),
        entry::<Ethnicity>(),
        entry::<TargetWarningCode>(),
        entry::<WebhookEventType>(),
        entry::<WebhookDisabledReason>(),
        entry::<DeliveryState>(),
        entry::<FileFormat>(),
        entry::<ImportTemplate>(),
        entry::<AttachmentKind>(),
        entry::<ErasedAttachments>(),
        entry::<AttachmentRecordType>(),
    ]
}

vocabulary! {
    /// Genders of a person.
    Gender, GENDERS {
        Female = "female", "Nữ", "Female";
        Male = "male", "Nam", "Male";
        Other = "other", "Khác", "Other";
        Unspecified = "unspecified", "Không xác định", "Unspecified";
    }
}

vocabulary! {
    /// What a member does besides the team.
    Affiliation, AFFILIATIONS {
        VillageHead = "village_head", "Trưởng bản / trưởng thôn", "Village head";
        PartyCell = "party_cell", "Bí thư chi bộ", "Party cell secretary";
        YouthUnion = "youth_union", "Đoàn thanh niên", "Youth Union";
        WomenUnion = "women_union", "Hội Liên hiệp Phụ nữ", "Women's Union";
        Police = "police", "Công an xã", "Commune police";
        Teacher = "teacher", "Giáo viên", "Teacher";
        HealthWorker = "health_worker", "Nhân viên y tế", "Health worker";
        Telecom = "telecom", "Nhân viên viễn thông", "Telecom staff";
        Veterans = "veterans", "Hội Cựu chiến binh", "Veterans' Association";
        FarmersUnion = "farmers_union", "Hội Nông dân", "Farmers' Union";
        Resident = "resident", "Người dân", "Resident";
        Other = "other", "Khác", "Other";
    }
}

vocabulary! {
    /// Roles in a team.
    MembershipRole, MEMBERSHIP_ROLES {
        Leader = "leader", "Tổ trưởng", "Leader";
        Deputy = "deputy", "Tổ phó", "Deputy";
        Member = "member", "Tổ viên", "Member";
    }
}

vocabulary! {
    /// States of a team.
    TeamStatus, TEAM_STATUSES {
        Active = "active", "Đang hoạt động", "Active";
        Inactive = "inactive", "Tạm ngừng", "Inactive";
        Dissolved = "dissolved", "Đã giải thể", "Dissolved";
    }
}

vocabulary! {
    /// Levels of the administrative tree.
    OrgUnitLevel, ORG_UNIT_LEVELS {
        Province = "province", "Tỉnh", "Province";
        District = "district", "Huyện (đến 30/6/2025)", "District (until 30 June 2025)";
        Commune = "commune", "Xã, phường", "Commune or ward";
        Village = "village", "Thôn, bản, tiểu khu, tổ dân phố", "Village or residential group";
    }
}

vocabulary! {
    /// What a user is: the role the policy (`auth::policy`) decides by.
    Role, USER_ROLES {
        Admin = "admin", "Quản trị", "Administrator";
        Officer = "officer", "Cán bộ", "Officer";
        TeamLeader = "team_leader", "Tổ trưởng", "Team leader";
        Viewer = "viewer", "Người xem", "Viewer";
    }
}

vocabulary! {
    /// Kinds of session.
    SessionKind, SESSION_KINDS {
        Training = "training", "Tập huấn", "Training";
        Outreach = "outreach", "Tuyên truyền", "Outreach";
    }
}

vocabulary! {
    /// How a session was held.
    SessionFormat, SESSION_FORMATS {
        InPerson = "in_person", "Trực tiếp", "In person";
        DoorToDoor = "door_to_door", "Đến từng hộ", "Door to door";
        Online = "online", "Trực tuyến", "Online";
        Mixed = "mixed", "Kết hợp", "Mixed";
    }
}

vocabulary! {
    /// What a session covered: the 5 basic digital skills and the national platforms.
    SessionTopic, SESSION_TOPICS {
        OnlinePublicServices = "online_public_services", "Dịch vụ công trực tuyến", "Online public services";
        OnlineShopping = "online_shopping", "Mua sắm trực tuyến", "Online shopping";
        OnlinePayment = "online_payment", "Thanh toán trực tuyến", "Online payment";
        CyberSafety = "cyber_safety", "Tự bảo vệ trên không gian mạng", "Self-protection in cyberspace";
        LocalPlatforms = "local_platforms", "Nền tảng số địa phương", "Local digital platforms";
        Vneid = "vneid", "Ứng dụng VNeID", "VNeID app";
        DigitalSignature = "digital_signature", "Chữ ký số", "Digital signature";
        FraudPrevention = "fraud_prevention", "Phòng chống lừa đảo trực tuyến", "Online fraud prevention";
        Other = "other", "Khác", "Other";
    }
}

vocabulary! {
    /// Channels a campaign reaches people through.
    ReachChannel, REACH_CHANNELS {
        Loudspeaker = "loudspeaker", "Đài truyền thanh xã", "Commune loudspeaker";
        MobileLoudspeaker = "mobile_loudspeaker", "Loa lưu động", "Mobile loudspeaker";
        ZaloGroup = "zalo_group", "Nhóm Zalo", "Zalo group";
        SocialMedia = "social_media", "Mạng xã hội", "Social media";
        Meeting = "meeting", "Họp thôn, bản", "Village meeting";
        DoorToDoor = "door_to_door", "Đến từng hộ", "Door to door";
        Leaflet = "leaflet", "Tờ rơi, cẩm nang", "Leaflets and handbooks";
        Video = "video", "Video clip", "Video clips";
        OnlineCourse = "online_course", "Khoá học trực tuyến", "Online course";
        Other = "other", "Khác", "Other";
    }
}

impl ReachChannel {
    /// Channels that broadcast: an audience is estimated, people are not counted one by one.
    pub fn broadcasts(self) -> bool {
        matches!(
            self,
            Self::Loudspeaker
                | Self::MobileLoudspeaker
                | Self::ZaloGroup
                | Self::SocialMedia
                | Self::Video
        )
    }
}

vocabulary! {
    /// What an erasure of personal data does with the attachments by or about the person.
    ErasedAttachments, ERASED_ATTACHMENTS {
        Keep = "keep", "Giữ lại", "Keep";
        Delete = "delete", "Xoá cùng dữ liệu cá nhân", "Delete with the personal data";
    }
}

vocabulary! {
    /// Which kind of record an attachment belongs to.
    AttachmentRecordType, ATTACHMENT_RECORD_TYPES {
        TrainingSession = "training_session", "Buổi sinh hoạt, tập huấn", "Training or outreach session";
        ReachActivity = "reach_activity", "Hoạt động tuyên truyền", "Reach activity";
    }
}

vocabulary! {
    /// What an attachment shows.
    AttachmentKind, ATTACHMENT_KINDS {
        AttendanceSheet = "attendance_sheet", "Danh sách điểm danh có chữ ký", "Signed attendance sheet";
        Photo = "photo", "Ảnh buổi sinh hoạt", "Photo";
        Document = "document", "Tài liệu", "Document";
    }
}

vocabulary! {
    /// How a reach figure was counted.
    CountingMethod, COUNTING_METHODS {
        Headcount = "headcount", "Đếm trực tiếp", "Headcount";
        AttendanceSheet = "attendance_sheet", "Danh sách điểm danh", "Attendance sheet";
        GroupMemberCount = "group_member_count", "Số thành viên nhóm", "Group member count";
        CoverageEstimate = "coverage_estimate", "Ước tính vùng phủ sóng", "Coverage estimate";
        PlatformAnalytics = "platform_analytics", "Số liệu nền tảng", "Platform analytics";
        Other = "other", "Khác", "Other";
    }
}

vocabulary! {
    /// How sure a figure is.
    Confidence, CONFIDENCE_LEVELS {
        Low = "low", "Thấp", "Low";
        Medium = "medium", "Trung bình", "Medium";
        High = "high", "Cao", "High";
    }
}

vocabulary! {
    /// The 5 skill groups of the anti-fraud handbook.
    SkillGroup, SKILL_GROUPS {
        Recognise = "recognise", "Nhận diện", "Recognise";
        Detect = "detect", "Phát hiện", "Detect";
        Handle = "handle", "Xử lý", "Handle";
        Avoid = "avoid", "Phòng tránh", "Avoid";
        Protect = "protect", "Bảo vệ", "Protect";
    }
}

vocabulary! {
    /// Online fraud types (after the 24 of the 2023 campaign edition).
    FraudType, FRAUD_TYPES {
        ImpersonatingAuthorities = "impersonating_authorities", "Giả danh cơ quan chức năng (công an, viện kiểm sát, toà án)", "Impersonating the authorities";
        ImpersonatingRelatives = "impersonating_relatives", "Giả danh người thân, bạn bè", "Impersonating relatives or friends";
        FakeInvestment = "fake_investment", "Đầu tư tài chính, tiền ảo lợi nhuận cao", "High-return investment and crypto";
        JobOffers = "job_offers", "Tuyển dụng việc nhẹ lương cao", "Easy jobs with high pay";
        OnlineTasks = "online_tasks", "Làm nhiệm vụ, cộng tác viên online", "Paid online tasks";
        LoanApps = "loan_apps", "Cho vay qua ứng dụng", "Loan apps";
        LotteryPrizes = "lottery_prizes", "Trúng thưởng, quà tặng", "Lottery prizes and gifts";
        AccountTakeover = "account_takeover", "Chiếm đoạt tài khoản mạng xã hội", "Social media account takeover";
        FakeBankMessages = "fake_bank_messages", "Tin nhắn giả mạo ngân hàng", "Fake bank messages";
        PhishingLinks = "phishing_links", "Đường link, trang web giả mạo", "Phishing links and websites";
        FakeApps = "fake_apps", "Cài ứng dụng giả mạo (VNeID, dịch vụ công)", "Fake apps (VNeID, public services)";
        SimUpgrade = "sim_upgrade", "Nâng cấp SIM 4G", "4G SIM upgrade";
        FakeShopping = "fake_shopping", "Mua bán hàng online giả", "Fake online shops";
        ParcelDelivery = "parcel_delivery", "Giao hàng thu tiền hộ", "Parcel delivery scams";
        Romance = "romance", "Làm quen, hẹn hò qua mạng", "Romance scams";
        FakeCharity = "fake_charity", "Kêu gọi từ thiện giả", "Fake charity";
        TravelTickets = "travel_tickets", "Bán vé máy bay, tour du lịch giả", "Fake tickets and tours";
        FundRecovery = "fund_recovery", "Hứa lấy lại tiền đã bị lừa", "Recovering lost money";
        DeepfakeCalls = "deepfake_calls", "Cuộc gọi video deepfake", "Deepfake video calls";
        UtilityBills = "utility_bills", "Giả danh điện lực, viễn thông báo nợ cước", "Fake utility bills";
        SchoolFees = "school_fees", "Giả danh nhà trường thu học phí", "Fake school fees";
        HospitalEmergency = "hospital_emergency", "Báo người thân cấp cứu", "Relative in hospital";
        IdentityData = "identity_data", "Thu thập thông tin cá nhân, căn cước", "Identity data harvesting";
        Other = "other", "Hình thức khác", "Other";
    }
}

vocabulary! {
    /// States of a commune-level unit's month (báo cáo tháng): `open` until its officer submits it, then
    /// accepted or returned by the province; an admin may reopen an accepted month.
    SignOffState, SIGN_OFF_STATES {
        Open = "open", "Chưa gửi", "Open";
        Submitted = "submitted", "Đã gửi, chờ tỉnh duyệt", "Submitted, awaiting the province";
        Accepted = "accepted", "Đã duyệt", "Accepted";
        Returned = "returned", "Bị trả lại", "Returned for correction";
    }
}

vocabulary! {
    /// Transitions of a month's sign-off.
    SignOffAction, SIGN_OFF_ACTIONS {
        Submit = "submit", "Gửi báo cáo tháng", "Submit";
        Accept = "accept", "Duyệt", "Accept";
        Return = "return", "Trả lại", "Return";
        Reopen = "reopen", "Mở lại", "Reopen";
    }
}

vocabulary! {
    /// A review's decision.
    ReviewDecision, REVIEW_DECISIONS {
        Verify = "verify", "Xác minh", "Verify";
        Reject = "reject", "Từ chối", "Reject";
    }
}

vocabulary! {
    /// What became of one item of a bulk request.
    BulkOutcome, BULK_OUTCOMES {
        Applied = "applied", "Đã thực hiện", "Applied";
        Refused = "refused", "Bị từ chối", "Refused";
    }
}

vocabulary! {
    /// Review states of a training session or reach activity.
    RecordStatus, RECORD_STATUSES {
        Submitted = "submitted", "Chờ xác minh", "Submitted, awaiting verification";
        Verified = "verified", "Đã xác minh", "Verified";
        Rejected = "rejected", "Bị từ chối", "Rejected";
    }
}

vocabulary! {
    /// States of a campaign edition.
    CampaignStatus, CAMPAIGN_STATUSES {
        Draft = "draft", "Dự thảo", "Draft";
        Active = "active", "Đang diễn ra", "Active";
        Closed = "closed", "Đã kết thúc", "Closed";
    }
}

vocabulary! {
    /// States of a user account.
    UserStatus, USER_STATUSES {
        Active = "active", "Đang hoạt động", "Active";
        Disabled = "disabled", "Đã khoá", "Disabled";
    }
}

vocabulary! {
    /// Kinds of administrative unit; each belongs to one level.
    OrgUnitKind, ORG_UNIT_KINDS {
        Tinh = "tinh", "Tỉnh", "Province";
        ThanhPho = "thanh_pho", "Thành phố", "City";
        ThiXa = "thi_xa", "Thị xã", "Town";
        Huyen = "huyen", "Huyện", "District";
        Xa = "xa", "Xã", "Commune";
        Phuong = "phuong", "Phường", "Ward";
        ThiTran = "thi_tran", "Thị trấn", "Township";
        Ban = "ban", "Bản", "Village (bản)";
        TieuKhu = "tieu_khu", "Tiểu khu", "Residential quarter (tiểu khu)";
        Thon = "thon", "Thôn", "Village (thôn)";
        ToDanPho = "to_dan_pho", "Tổ dân phố", "Residential group (tổ dân phố)";
    }
}

impl OrgUnitLevel {
    /// Depth in the tree: province 0, district 1, commune 2, village 3.
    pub fn rank(self) -> u8 {
        match self {
            Self::Province => 0,
            Self::District => 1,
            Self::Commune => 2,
            Self::Village => 3,
        }
    }

    /// The kinds of unit at this level.
    pub fn kinds(self) -> &'static [OrgUnitKind] {
        use OrgUnitKind::*;
        match self {
            Self::Province => &[Tinh],
            Self::District => &[ThanhPho, ThiXa, Huyen],
            Self::Commune => &[Xa, Phuong, ThiTran],
            Self::Village => &[Ban, TieuKhu, Thon, ToDanPho],
        }
    }

    /// Communes and villages: the levels a team serves.
    pub fn serves_teams(self) -> bool {
        matches!(self, Self::Commune | Self::Village)
    }
}

vocabulary! {
    /// What a target measures: computed from this API's data, or measured by national systems (`online_dossier_rate_pct`, `vneid_level2_rate_pct`, `dti_score`, see `/indicator-values`).
    Indicator, INDICATORS {
        SessionsHeld = "sessions_held", "Số buổi tập huấn, tuyên truyền", "Sessions held";
        PeopleTrained = "people_trained", "Số lượt người được tập huấn", "People trained";
        FemaleTrained = "female_trained", "Số lượt nữ được tập huấn", "Women trained";
        EthnicMinorityTrained = "ethnic_minority_trained", "Số lượt người dân tộc thiểu số được tập huấn", "Ethnic-minority people trained";
        HouseholdsReached = "households_reached", "Số hộ được hỗ trợ", "Households reached";
        VneidActivations = "vneid_activations", "Số tài khoản VNeID được kích hoạt", "VNeID activations";
        PaymentAccountsOpened = "payment_accounts_opened", "Số tài khoản thanh toán được mở", "Payment accounts opened";
        OnlineDossiersSubmitted = "online_dossiers_submitted", "Số hồ sơ trực tuyến được nộp", "Online dossiers submitted";
        CampaignContacts = "campaign_contacts", "Số lượt người được tuyên truyền", "Campaign person-contacts";
        CampaignHouseholdCoveragePct = "campaign_household_coverage_pct", "Tỷ lệ hộ được tuyên truyền (%)", "Campaign household coverage (%)";
        ActiveTeamsPct = "active_teams_pct", "Tỷ lệ tổ hoạt động (%)", "Active teams (%)";
        OnlineDossierRatePct = "online_dossier_rate_pct", "Tỷ lệ hồ sơ trực tuyến (%)", "Online dossier rate (%)";
        VneidLevel2RatePct = "vneid_level2_rate_pct", "Tỷ lệ định danh VNeID mức 2 (%)", "VNeID level-2 rate (%)";
        DtiScore = "dti_score", "Chỉ số chuyển đổi số (DTI)", "Digital transformation index (DTI)";
    }
}

/// The indicators measured by national systems: what `/indicator-values` records (and the drop-down of its
/// import template).
pub const EXTERNAL_INDICATORS: &[Label] = &[INDICATORS[11], INDICATORS[12], INDICATORS[13]];

impl Indicator {
    /// Measured by national systems and recorded through `/indicator-values`, not computed here.
    pub fn is_external(self) -> bool {
        matches!(
            self,
            Self::OnlineDossierRatePct | Self::VneidLevel2RatePct | Self::DtiScore
        )
    }

    /// A percentage (at most 100).
    pub fn is_rate(self) -> bool {
        self.code().ends_with("_pct")
    }

    /// A count computed here, whose children's values add up to the parent's.
    pub fn is_additive(self) -> bool {
        !self.is_external() && !self.is_rate()
    }
}

vocabulary! {
    /// Notes about a target that is allowed but probably wrong.
    TargetWarningCode, TARGET_WARNING_CODES {
        ChildrenExceedParent = "children_exceed_parent", "Tổng chỉ tiêu của các đơn vị trực thuộc vượt chỉ tiêu của đơn vị", "The units' targets add up to more than their parent's";
    }
}

vocabulary! {
    /// How a target is doing.
    TargetStatus, TARGET_STATUSES {
        Achieved = "achieved", "Đã đạt", "Achieved";
        OnTrack = "on_track", "Đúng tiến độ", "On track";
        Behind = "behind", "Chậm tiến độ", "Behind";
        NotStarted = "not_started", "Chưa bắt đầu", "Not started";
    }
}

vocabulary! {
    /// How a report breakdown groups its rows.
    BreakdownBy, BREAKDOWNS {
        ChildUnit = "child_unit", "Theo đơn vị trực thuộc", "By child unit";
        Team = "team", "Theo tổ", "By team";
        Topic = "topic", "Theo chủ đề", "By topic";
        Channel = "channel", "Theo kênh tuyên truyền", "By channel";
        Campaign = "campaign", "Theo chiến dịch", "By campaign";
        Month = "month", "Theo tháng", "By month";
        Week = "week", "Theo tuần", "By ISO week";
    }
}

vocabulary! {
    /// How a campaign reach summary groups its rows.
    ReachGroupBy, REACH_GROUPINGS {
        Channel = "channel", "Theo kênh", "By channel";
        OrgUnit = "org_unit", "Theo đơn vị trực thuộc", "By child unit";
        Team = "team", "Theo tổ", "By team";
        Day = "day", "Theo ngày", "By day";
        Week = "week", "Theo tuần", "By ISO week";
    }
}

vocabulary! {
    /// Kinds of record in the sync feed.
    SyncRecordType, SYNC_RECORD_TYPES {
        OrgUnit = "org_unit", "Đơn vị hành chính", "Org unit";
        Campaign = "campaign", "Chiến dịch", "Campaign";
        Team = "team", "Tổ", "Team";
        Membership = "membership", "Thành viên tổ", "Membership";
        TrainingSession = "training_session", "Buổi tập huấn, tuyên truyền", "Training session";
        ReachActivity = "reach_activity", "Hoạt động tuyên truyền chiến dịch", "Reach activity";
        SignOff = "sign_off", "Chốt số liệu tháng", "Monthly sign-off";
    }
}

vocabulary! {
    /// Kinds of record a phone may push.
    PushRecordType, PUSH_RECORD_TYPES {
        TrainingSession = "training_session", "Buổi tập huấn, tuyên truyền", "Training session";
        ReachActivity = "reach_activity", "Hoạt động tuyên truyền chiến dịch", "Reach activity";
        Membership = "membership", "Thành viên tổ", "Membership";
    }
}

vocabulary! {
    /// What a sync item does to its record.
    SyncOp, SYNC_OPS {
        Upsert = "upsert", "Tạo hoặc thay thế", "Create or replace";
        Delete = "delete", "Xoá", "Delete";
    }
}

vocabulary! {
    /// What happened to one pushed item.
    PushOutcome, PUSH_OUTCOMES {
        Created = "created", "Đã tạo", "Created";
        Updated = "updated", "Đã cập nhật", "Updated";
        Unchanged = "unchanged", "Không thay đổi", "Unchanged";
        Conflict = "conflict", "Xung đột", "Conflict";
        Rejected = "rejected", "Bị từ chối", "Rejected";
        Forbidden = "forbidden", "Không có quyền", "Forbidden";
    }
}

vocabulary! {
    /// States of a sync conflict.
    ConflictStatus, CONFLICT_STATUSES {
        Open = "open", "Chưa xử lý", "Open";
        Resolved = "resolved", "Đã xử lý", "Resolved";
    }
}

vocabulary! {
    /// How a sync conflict was settled.
    ConflictResolution, CONFLICT_RESOLUTIONS {
        KeepServer = "keep_server", "Giữ bản trên máy chủ", "Keep the server's version";
        TakeClient = "take_client", "Lấy bản của điện thoại", "Take the phone's version";
        Merged = "merged", "Gộp", "Merged";
    }
}

vocabulary! {
    /// How an import treats bad rows.
    ImportMode, IMPORT_MODES {
        Atomic = "atomic", "Toàn bộ hoặc không", "All or nothing";
        PerRow = "per_row", "Từng dòng", "Row by row";
    }
}

vocabulary! {
    /// The imports that have a spreadsheet template.
    ImportTemplate, IMPORT_TEMPLATES {
        Teams = "teams", "Nhập danh sách tổ", "Team import";
        Members = "members", "Nhập thành viên tổ", "Member import";
        IndicatorValues = "indicator_values", "Nhập giá trị chỉ số", "Indicator value import";
    }
}

vocabulary! {
    /// The format of a list or report: JSON (pages), or the whole list as one file for spreadsheets.
    FileFormat, FILE_FORMATS {
        Json = "json", "JSON", "JSON";
        Csv = "csv", "CSV (UTF-8, dùng để nhập lại)", "CSV (UTF-8, the import format)";
        Xlsx = "xlsx", "Excel (XLSX)", "Excel (XLSX)";
    }
}

vocabulary! {
    /// What a target belongs to.
    TargetHolderKind, TARGET_HOLDER_KINDS {
        OrgUnit = "org_unit", "Đơn vị hành chính", "Org unit";
        Team = "team", "Tổ", "Team";
    }
}

vocabulary! {
    /// Which review states a report counts: one of them, or `all`.
    RecordStatusFilter, RECORD_STATUS_FILTERS {
        Submitted = "submitted", "Chờ xác minh", "Submitted";
        Verified = "verified", "Đã xác minh", "Verified";
        Rejected = "rejected", "Bị từ chối", "Rejected";
        All = "all", "Tất cả", "All";
    }
}

impl RecordStatusFilter {
    /// The review states a report counts for this filter; without one, submitted and verified records
    /// (rejected ones are not counted).
    pub fn statuses(filter: Option<Self>) -> Vec<RecordStatus> {
        match filter {
            None => vec![RecordStatus::Submitted, RecordStatus::Verified],
            Some(Self::All) => RecordStatus::ALL.to_vec(),
            Some(Self::Submitted) => vec![RecordStatus::Submitted],
            Some(Self::Verified) => vec![RecordStatus::Verified],
            Some(Self::Rejected) => vec![RecordStatus::Rejected],
        }
    }
}

vocabulary! {
    /// Which sync conflicts to list: one state, or `all`.
    ConflictStatusFilter, CONFLICT_STATUS_FILTERS {
        Open = "open", "Chưa xử lý", "Open";
        Resolved = "resolved", "Đã xử lý", "Resolved";
        All = "all", "Tất cả", "All";
    }
}

vocabulary! {
    /// Types of the events webhooks deliver (`*` in a subscription's `event_types` means all of them).
    WebhookEventType, WEBHOOK_EVENT_TYPES {
        TrainingSessionCreated = "training_session.created", "Buổi tập huấn được ghi", "Training session created";
        TrainingSessionUpdated = "training_session.updated", "Buổi tập huấn được sửa", "Training session updated";
        TrainingSessionDeleted = "training_session.deleted", "Buổi tập huấn bị xoá", "Training session deleted";
        TrainingSessionVerified = "training_session.verified", "Buổi tập huấn được xác minh", "Training session verified";
        TrainingSessionRejected = "training_session.rejected", "Buổi tập huấn bị từ chối", "Training session rejected";
        ReachActivityCreated = "reach_activity.created", "Hoạt động tuyên truyền được ghi", "Reach activity created";
        ReachActivityUpdated = "reach_activity.updated", "Hoạt động tuyên truyền được sửa", "Reach activity updated";
        ReachActivityDeleted = "reach_activity.deleted", "Hoạt động tuyên truyền bị xoá", "Reach activity deleted";
        ReachActivityVerified = "reach_activity.verified", "Hoạt động tuyên truyền được xác minh", "Reach activity verified";
        ReachActivityRejected = "reach_activity.rejected", "Hoạt động tuyên truyền bị từ chối", "Reach activity rejected";
        SignOffSubmitted = "sign_off.submitted", "Báo cáo tháng được gửi", "Month submitted";
        SignOffAccepted = "sign_off.accepted", "Báo cáo tháng được duyệt", "Month accepted";
        SignOffReturned = "sign_off.returned", "Báo cáo tháng bị trả lại", "Month returned";
        SignOffReopened = "sign_off.reopened", "Báo cáo tháng được mở lại", "Month reopened";
        TeamCreated = "team.created", "Tổ được lập", "Team created";
        TeamUpdated = "team.updated", "Tổ được sửa (cả khi giải thể)", "Team updated (dissolution included)";
        MembershipCreated = "membership.created", "Thành viên được thêm", "Member added";
        MembershipUpdated = "membership.updated", "Thành viên được sửa (cả khi rời tổ)", "Membership updated (leaving included)";
        MembershipDeleted = "membership.deleted", "Thành viên bị xoá", "Membership deleted";
        PersonCreated = "person.created", "Người được ghi", "Person created";
        PersonUpdated = "person.updated", "Người được sửa", "Person updated";
        PersonErased = "person.erased", "Xoá dữ liệu cá nhân", "Personal data erased";
        CampaignCreated = "campaign.created", "Chiến dịch được tạo", "Campaign created";
        CampaignUpdated = "campaign.updated", "Chiến dịch được sửa", "Campaign updated";
        TargetCreated = "target.created", "Chỉ tiêu được giao", "Target set";
        TargetUpdated = "target.updated", "Chỉ tiêu được sửa", "Target changed";
        TargetDeleted = "target.deleted", "Chỉ tiêu bị xoá", "Target removed";
        IndicatorValueCreated = "indicator_value.created", "Số liệu chỉ tiêu được nhập", "Indicator value recorded";
        IndicatorValueUpdated = "indicator_value.updated", "Số liệu chỉ tiêu được sửa", "Indicator value changed";
        OrgUnitCreated = "org_unit.created", "Đơn vị được tạo", "Org unit created";
        OrgUnitUpdated = "org_unit.updated", "Đơn vị được sửa", "Org unit updated";
        OrgUnitReorganized = "org_unit.reorganized", "Sắp xếp đơn vị", "Org units merged into a successor";
        Ping = "ping", "Thử kết nối", "Ping (sent by the test operation)";
    }
}

vocabulary! {
    /// Why the service disabled a webhook subscription.
    WebhookDisabledReason, WEBHOOK_DISABLED_REASONS {
        Gone = "gone", "Bên nhận trả 410", "The receiver answered 410 Gone";
        Failing = "failing", "Gửi thất bại quá lâu", "No success for WEBHOOK_DISABLE_AFTER_HOURS";
    }
}

vocabulary! {
    /// Where a webhook delivery stands.
    DeliveryState, DELIVERY_STATES {
        Pending = "pending", "Đang chờ gửi", "Pending (waiting for its next attempt)";
        Succeeded = "succeeded", "Đã gửi", "Succeeded (the receiver answered 2xx)";
        Failed = "failed", "Thất bại", "Failed (gave up after the retry window, or the receiver answered 410)";
        Cancelled = "cancelled", "Đã huỷ", "Cancelled (its subscription was disabled or deleted)";
    }
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
        let codes: Vec<&str> = ETHNIC_GROUPS.iter().map(|g| g.code).collect();
        assert_eq!(codes, Ethnicity::CODES, "one order, one list");
    }

    #[test]
    fn a_vocabulary_speaks_its_codes_in_json_and_refuses_others() {
        assert_eq!(
            serde_json::to_value(SessionTopic::FraudPrevention).unwrap(),
            "fraud_prevention"
        );
        let parsed: Vec<SkillGroup> = serde_json::from_str(r#"["recognise", "protect"]"#).unwrap();
        assert_eq!(parsed, [SkillGroup::Recognise, SkillGroup::Protect]);
        let error = serde_json::from_str::<SessionKind>(r#""party""#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected `training` or `outreach`"),
            "{error}"
        );
        assert_eq!("door_to_door".parse(), Ok(SessionFormat::DoorToDoor));
        assert_eq!(
            SessionFormat::choices(),
            "in_person, door_to_door, online or mixed"
        );
        assert_eq!(Role::TeamLeader.label().name_vi, "Tổ trưởng");
        for labels in [
            GENDERS,
            AFFILIATIONS,
            SESSION_TOPICS,
            FRAUD_TYPES,
            INDICATORS,
        ] {
            let mut codes: Vec<&str> = labels.iter().map(|l| l.code).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), labels.len());
        }
    }

    #[test]
    fn the_external_indicators_are_exactly_those_measured_elsewhere() {
        let external: Vec<&str> = Indicator::ALL
            .iter()
            .filter(|indicator| indicator.is_external())
            .map(|indicator| indicator.code())
            .collect();
        let listed: Vec<&str> = EXTERNAL_INDICATORS.iter().map(|label| label.code).collect();
        assert_eq!(listed, external);
    }
}
