//! THE authorisation policy: which role may call which operation, and which records a user may see.
//!
//! Every operation of the route table has an [`Operation`] here (the authorisation-matrix test fails
//! for an operation without one). Handlers call [`AuthUser::authorize`] first: a role that may never
//! perform an operation gets 403. Records outside the caller's scope are reported as 404, exactly like
//! records that do not exist ([`AuthUser::sees_path`]).

use super::AuthUser;
use crate::error::{AppError, ErrorCode, Text};

pub use crate::reference::Role;
use crate::reference::Vocabulary;

impl Role {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        self.code()
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        <Self as Vocabulary>::parse(value)
    }

    /// True for roles whose access is bounded by an org-unit subtree.
    pub const fn is_scoped(self) -> bool {
        matches!(self, Self::Officer | Self::Viewer | Self::TeamLeader)
    }
}

/// Who may call an operation at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Only these roles (others get 403).
    Roles(&'static [Role]),
    /// Monitoring systems presenting `METRICS_TOKEN` ([`authorize_metrics`]); no user token opens it.
    MetricsToken,
}

const ADMIN: &[Role] = &[Role::Admin];
const MANAGERS: &[Role] = &[Role::Admin, Role::Officer];
const MEMBER_MANAGERS: &[Role] = &[Role::Admin, Role::Officer, Role::TeamLeader];

macro_rules! operations {
    ($($variant:ident => $id:literal, $access:expr;)*) => {
        /// Every operation of the API, named by its OpenAPI `operationId`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($variant,)* }

        impl Operation {
            /// Every operation.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The OpenAPI `operationId`.
            pub const fn id(self) -> &'static str {
                match self { $(Self::$variant => $id,)* }
            }

            /// Who may call it.
            pub const fn access(self) -> Access {
                match self { $(Self::$variant => $access,)* }
            }

            /// The operation with this `operationId`.
            pub fn from_id(id: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|op| op.id() == id)
            }
        }
    };
}

operations! {
    CheckHealth => "check_health", Access::Public;
    CheckReadiness => "check_readiness", Access::Public;
    GetMetrics => "get_metrics", Access::MetricsToken;
    GetOpenapiDocument => "get_openapi_document", Access::Public;
    GetProblemType => "get_problem_type", Access::Public;
    GetApiRoot => "get_api_root", Access::Public;
    Login => "login", Access::Public;
    RefreshSession => "refresh_session", Access::Public;
    Logout => "logout", Access::Public;
    GetMe => "get_me", Access::SignedIn;
    UpdateMe => "update_me", Access::SignedIn;
    ChangeMyPassword => "change_my_password", Access::SignedIn;
    ListOrgUnits => "list_org_units", Access::SignedIn;
    FindOrgUnit => "find_org_unit", Access::SignedIn;
    ListOrgUnitChildren => "list_org_unit_children", Access::SignedIn;
    CreateOrgUnit => "create_org_unit", Access::Roles(ADMIN);
    UpdateOrgUnit => "update_org_unit", Access::Roles(MANAGERS);
    ReorganizeOrgUnits => "reorganize_org_units", Access::Roles(ADMIN);
    ListUsers => "list_users", Access::Roles(MANAGERS);
    FindUser => "find_user", Access::Roles(MANAGERS);
    CreateUser => "create_user", Access::Roles(MANAGERS);
    UpdateUser => "update_user", Access::Roles(MANAGERS);
    ResetUserPassword => "reset_user_password", Access::Roles(MANAGERS);
    ListAuditEvents => "list_audit_events", Access::Roles(MANAGERS);
    GetReference => "get_reference", Access::Public;
    ListTeams => "list_teams", Access::SignedIn;
    FindTeam => "find_team", Access::SignedIn;
    CreateTeam => "create_team", Access::Roles(MANAGERS);
    UpdateTeam => "update_team", Access::Roles(MANAGERS);
    DissolveTeam => "dissolve_team", Access::Roles(MANAGERS);
    ListTeamMembers => "list_team_members", Access::SignedIn;
    AddTeamMember => "add_team_member", Access::Roles(MEMBER_MANAGERS);
    UpdateTeamMember => "update_team_member", Access::Roles(MEMBER_MANAGERS);
    EndTeamMember => "end_team_member", Access::Roles(MEMBER_MANAGERS);
    ListPeople => "list_people", Access::SignedIn;
    FindPerson => "find_person", Access::SignedIn;
    ErasePersonalData => "erase_personal_data", Access::Roles(ADMIN);
    ListPersonalDataReads => "list_personal_data_reads", Access::Roles(ADMIN);
    ImportTeams => "import_teams", Access::Roles(MANAGERS);
    ImportMembers => "import_members", Access::Roles(MANAGERS);
    ListTrainingSessions => "list_training_sessions", Access::SignedIn;
    FindTrainingSession => "find_training_session", Access::SignedIn;
    CreateTrainingSession => "create_training_session", Access::Roles(MEMBER_MANAGERS);
    UpdateTrainingSession => "update_training_session", Access::Roles(MEMBER_MANAGERS);
    DeleteTrainingSession => "delete_training_session", Access::Roles(MEMBER_MANAGERS);
    VerifyTrainingSession => "verify_training_session", Access::Roles(MANAGERS);
    RejectTrainingSession => "reject_training_session", Access::Roles(MANAGERS);
    ReviewTrainingSessions => "review_training_sessions", Access::Roles(MANAGERS);
    ListCampaigns => "list_campaigns", Access::SignedIn;
    FindCampaign => "find_campaign", Access::SignedIn;
    CreateCampaign => "create_campaign", Access::Roles(ADMIN);
    UpdateCampaign => "update_campaign", Access::Roles(ADMIN);
    ListReachActivities => "list_reach_activities", Access::SignedIn;
    ListAllReachActivities => "list_all_reach_activities", Access::SignedIn;
    FindReachActivity => "find_reach_activity", Access::SignedIn;
    CreateReachActivity => "create_reach_activity", Access::Roles(MEMBER_MANAGERS);
    UpdateReachActivity => "update_reach_activity", Access::Roles(MEMBER_MANAGERS);
    DeleteReachActivity => "delete_reach_activity", Access::Roles(MEMBER_MANAGERS);
    VerifyReachActivity => "verify_reach_activity", Access::Roles(MANAGERS);
    RejectReachActivity => "reject_reach_activity", Access::Roles(MANAGERS);
    ReviewReachActivities => "review_reach_activities", Access::Roles(MANAGERS);
    GetReachSummary => "get_reach_summary", Access::SignedIn;
    ListTargets => "list_targets", Access::SignedIn;
    FindTarget => "find_target", Access::SignedIn;
    CreateTarget => "create_target", Access::Roles(MANAGERS);
    UpdateTarget => "update_target", Access::Roles(MANAGERS);
    DeleteTarget => "delete_target", Access::Roles(MANAGERS);
    ImportIndicatorValues => "import_indicator_values", Access::Roles(MANAGERS);
    GetImportTemplate => "get_import_template", Access::Roles(MANAGERS);
    ListIndicatorValues => "list_indicator_values", Access::SignedIn;
    ReportSummary => "report_summary", Access::SignedIn;
    ReportBreakdown => "report_breakdown", Access::SignedIn;
    ReportTargets => "report_targets", Access::SignedIn;
    ReportWorkbook => "report_workbook", Access::SignedIn;
    ReportDormantTeams => "report_dormant_teams", Access::SignedIn;
    ListSignOffs => "list_sign_offs", Access::SignedIn;
    FindSignOff => "find_sign_off", Access::SignedIn;
    SubmitSignOff => "submit_sign_off", Access::Roles(MANAGERS);
    AcceptSignOff => "accept_sign_off", Access::Roles(MANAGERS);
    ReturnSignOff => "return_sign_off", Access::Roles(MANAGERS);
    ReopenSignOff => "reopen_sign_off", Access::Roles(ADMIN);
    TransitionSignOffs => "transition_sign_offs", Access::Roles(MANAGERS);
    ListWebhooks => "list_webhooks", Access::Roles(MANAGERS);
    CreateWebhook => "create_webhook", Access::Roles(MANAGERS);
    FindWebhook => "find_webhook", Access::Roles(MANAGERS);
    UpdateWebhook => "update_webhook", Access::Roles(MANAGERS);
    DeleteWebhook => "delete_webhook", Access::Roles(MANAGERS);
    RotateWebhookSecret => "rotate_webhook_secret", Access::Roles(MANAGERS);
    TestWebhook => "test_webhook", Access::Roles(MANAGERS);
    ListWebhookDeliveries => "list_webhook_deliveries", Access::Roles(MANAGERS);
    RetryWebhookDelivery => "retry_webhook_delivery", Access::Roles(MANAGERS);
    ReplayWebhook => "replay_webhook", Access::Roles(MANAGERS);
    SyncPull => "sync_pull", Access::SignedIn;
    SyncPush => "sync_push", Access::Roles(MEMBER_MANAGERS);
    ListSyncConflicts => "list_sync_conflicts", Access::Roles(MEMBER_MANAGERS);
    ResolveSyncConflict => "resolve_sync_conflict", Access::Roles(MEMBER_MANAGERS);
    DescribeUploads => "describe_uploads", Access::Public;
    CreateUpload => "create_upload", Access::Roles(MEMBER_MANAGERS);
    GetUploadOffset => "get_upload_offset", Access::Roles(MEMBER_MANAGERS);
    AppendToUpload => "append_to_upload", Access::Roles(MEMBER_MANAGERS);
    DeleteUpload => "delete_upload", Access::Roles(MEMBER_MANAGERS);
    ListSessionAttachments => "list_session_attachments", Access::SignedIn;
    AttachToSession => "attach_to_session", Access::Roles(MEMBER_MANAGERS);
    ListReachActivityAttachments => "list_reach_activity_attachments", Access::SignedIn;
    AttachToReachActivity => "attach_to_reach_activity", Access::Roles(MEMBER_MANAGERS);
    FindAttachment => "find_attachment", Access::SignedIn;
    DownloadAttachment => "download_attachment", Access::SignedIn;
    GetAttachmentThumbnail => "get_attachment_thumbnail", Access::SignedIn;
    DeleteAttachment => "delete_attachment", Access::Roles(MEMBER_MANAGERS);
}

impl AuthUser {
    /// 403 unless this user's role may perform `operation` at all.
    pub fn authorize(&self, operation: Operation) -> Result<(), AppError> {
        let allowed = match operation.access() {
            Access::Public | Access::SignedIn => true,
            Access::Roles(roles) => roles.contains(&self.role),
            Access::MetricsToken => false,
        };
        if allowed { Ok(()) } else { Err(forbidden()) }
    }

    /// True when a record under the materialised `path` is inside this user's scope. Admins see
    /// everything; scoped roles see their subtree.
    pub fn sees_path(&self, path: &str) -> bool {
        match (self.role, &self.scope_path) {
            (Role::Admin, _) => true,
            (_, Some(scope)) => path.starts_with(scope.as_str()),
            (_, None) => false,
        }
    }

    /// True when a team (of the unit at `unit_path`) is inside this user's scope: admins all teams,
    /// officers and viewers the teams of their subtree, team leaders their own team.
    pub fn sees_team(&self, team_id: uuid::Uuid, unit_path: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::TeamLeader => self.team_id == Some(team_id),
            Role::Officer | Role::Viewer => self.sees_path(unit_path),
        }
    }

    /// True when this user may change a team's members: admins, officers in scope, the team's leader.
    pub fn manages_members_of(&self, team_id: uuid::Uuid, unit_path: &str) -> bool {
        match self.role {
            Role::Viewer => false,
            _ => self.sees_team(team_id, unit_path),
        }
    }

    /// True when this user sees full phone numbers of a team's members: admins, officers in scope and the
    /// team's own leader. Everyone else sees them masked.
    pub fn sees_phones_of(&self, team_id: uuid::Uuid, unit_path: &str) -> bool {
        self.manages_members_of(team_id, unit_path)
    }

    /// True when this user may see attachments' bytes (photos and sign-in sheets show faces and names)
    /// of a team's records: those who see the team's full personal data (admins, officers in scope, the
    /// team's leader). Others in scope see the attachments' metadata only.
    pub fn sees_attachments_of(&self, team_id: uuid::Uuid, unit_path: &str) -> bool {
        self.sees_phones_of(team_id, unit_path)
    }

    /// The subtree a list must be limited to (`None` for admins).
    pub fn scope_filter(&self) -> Option<String> {
        match self.role {
            Role::Admin => None,
            // A scoped user without a scope sees nothing: an impossible path prefix.
            _ => Some(self.scope_path.clone().unwrap_or_else(|| "-".to_owned())),
        }
    }

    /// Whether this user may create or manage a user of `role` scoped at `unit_path`: admins anyone;
    /// officers only team leaders and viewers inside their subtree.
    pub fn may_manage_user(&self, role: Role, unit_path: Option<&str>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Officer => {
                matches!(role, Role::TeamLeader | Role::Viewer)
                    && unit_path.is_some_and(|path| self.sees_path(path))
            }
            Role::TeamLeader | Role::Viewer => false,
        }
    }
}

/// The decision for [`Operation::GetMetrics`]: `presented` (the request's bearer token) must be
/// `METRICS_TOKEN`. Without a configured token, the public listener does not serve metrics
/// (404) and the internal one (`internal`: `METRICS_BIND_ADDR`) serves them to anyone who reaches it.
pub fn authorize_metrics(
    configured: Option<&secrecy::SecretString>,
    presented: Option<&str>,
    internal: bool,
) -> Result<(), AppError> {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha256};
    let Some(configured) = configured else {
        // Without a configured token no credential opens it here: 401 like any wrong token, so the
        // document's security requirement holds whatever the configuration.
        return if internal {
            Ok(())
        } else {
            Err(super::unauthorized(
                "Metrics are not served on this address: no METRICS_TOKEN is configured",
                "Địa chỉ này không cung cấp số liệu giám sát: chưa cấu hình METRICS_TOKEN",
            ))
        };
    };
    // Compared as digests: equal-length values whose comparison time says nothing about the token.
    let matches = presented.is_some_and(|token| {
        Sha256::digest(token.as_bytes()) == Sha256::digest(configured.expose_secret().as_bytes())
    });
    if matches {
        Ok(())
    } else {
        Err(super::unauthorized(
            "Send Authorization: Bearer <METRICS_TOKEN>",
            "Hãy gửi Authorization: Bearer <METRICS_TOKEN>",
        ))
    }
}

/// 403 `forbidden`.
pub fn forbidden() -> AppError {
    AppError::new(ErrorCode::Forbidden).with_detail(Text::new(
        "Your role may not do this",
        "Vai trò của bạn không được phép thực hiện thao tác này",
    ))
}
