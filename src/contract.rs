//! The limits the server enforces, each one constant used both by the check that enforces it and by
//! the OpenAPI document that states it ([`RULES`], [`PARAMETER_RULES`], applied by
//! [`crate::openapi::document`]), so an integrator's generated client refuses what the server would.
//!
//! utoipa's attributes take only literals (`#[schema(maximum = 600)]`), which would be a second
//! source for every limit; this table is the one place instead. A test checks that every rule names
//! a schema property or parameter that exists, so a rename cannot silently drop a rule.

/// Page size of every list: at least 1, at most this (default 50).
pub const PAGE_LIMIT_MAX: i64 = 500;
/// Page size of the sync feed (`GET /sync/pull`): 1 to this (default 500).
pub const PULL_LIMIT_MAX: i64 = 1000;
/// Longest search term (`q`), in characters.
pub const SEARCH_TERM_MAX: usize = 100;
/// Length of a session, in minutes.
pub const SESSION_MINUTES: (i64, i64) = (1, 600);
/// Length of a rejection or dissolution reason, in characters.
pub const REASON_LENGTH: (usize, usize) = (1, 500);
/// Longest free-text note, in characters.
pub const NOTES_MAX: usize = 2000;
/// Longest venue, in characters.
pub const VENUE_MAX: usize = 200;
/// Length of a team's, unit's or person's name, in characters.
pub const NAME_LENGTH: (usize, usize) = (1, 200);
/// Length of a campaign's name and owner, in characters.
pub const CAMPAIGN_TEXT_LENGTH: (usize, usize) = (1, 300);
/// Items of one sync push.
pub const PUSH_ITEMS: (usize, usize) = (1, 500);
/// Days of the dormant-teams report's quiet period.
pub const DORMANT_DAYS: (i64, i64) = (1, 3650);

/// One rule a schema can state.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// An integer from `.0` up to `.1` (`None`: no upper bound).
    Integer(i64, Option<i64>),
    /// A string of `.0` to `.1` characters.
    Length(usize, usize),
    /// An array of `.0` to `.1` items.
    Items(usize, usize),
    /// An array without repeated items.
    Unique,
}

/// Counts that may not be negative.
const COUNT: Rule = Rule::Integer(0, None);

/// `(component schema, property, rule)`.
pub const RULES: &[(&str, &str, Rule)] = &[
    (
        "CreateSessionRequest",
        "duration_minutes",
        Rule::Integer(SESSION_MINUTES.0, Some(SESSION_MINUTES.1)),
    ),
    (
        "UpdateSessionRequest",
        "duration_minutes",
        Rule::Integer(SESSION_MINUTES.0, Some(SESSION_MINUTES.1)),
    ),
    ("CreateSessionRequest", "topics", Rule::Items(1, 9)),
    ("CreateSessionRequest", "topics", Rule::Unique),
    ("UpdateSessionRequest", "topics", Rule::Items(1, 9)),
    ("UpdateSessionRequest", "topics", Rule::Unique),
    ("CreateSessionRequest", "participants_total", COUNT),
    ("CreateSessionRequest", "participants_female", COUNT),
    (
        "CreateSessionRequest",
        "participants_ethnic_minority",
        COUNT,
    ),
    ("CreateSessionRequest", "participants_elderly", COUNT),
    ("CreateSessionRequest", "households_reached", COUNT),
    ("CreateSessionRequest", "vneid_activations", COUNT),
    ("CreateSessionRequest", "payment_accounts_opened", COUNT),
    (
        "CreateSessionRequest",
        "public_service_accounts_created",
        COUNT,
    ),
    ("CreateSessionRequest", "online_dossiers_submitted", COUNT),
    ("CreateSessionRequest", "apps_installed", COUNT),
    ("CreateSessionRequest", "venue", Rule::Length(0, VENUE_MAX)),
    ("CreateSessionRequest", "notes", Rule::Length(0, NOTES_MAX)),
    ("UpdateSessionRequest", "venue", Rule::Length(0, VENUE_MAX)),
    ("UpdateSessionRequest", "notes", Rule::Length(0, NOTES_MAX)),
    (
        "RejectSessionRequest",
        "reason",
        Rule::Length(REASON_LENGTH.0, REASON_LENGTH.1),
    ),
    (
        "RejectActivityRequest",
        "reason",
        Rule::Length(REASON_LENGTH.0, REASON_LENGTH.1),
    ),
    (
        "DissolveTeamRequest",
        "reason",
        Rule::Length(REASON_LENGTH.0, REASON_LENGTH.1),
    ),
    ("CreateActivityRequest", "notes", Rule::Length(0, NOTES_MAX)),
    ("UpdateActivityRequest", "notes", Rule::Length(0, NOTES_MAX)),
    ("CreateActivityRequest", "skill_groups", Rule::Unique),
    ("CreateActivityRequest", "fraud_types", Rule::Unique),
    (
        "CreateTeamRequest",
        "name",
        Rule::Length(NAME_LENGTH.0, NAME_LENGTH.1),
    ),
    ("CreateTeamRequest", "notes", Rule::Length(0, NOTES_MAX)),
    (
        "CreateCampaignRequest",
        "name",
        Rule::Length(CAMPAIGN_TEXT_LENGTH.0, CAMPAIGN_TEXT_LENGTH.1),
    ),
    (
        "CreateCampaignRequest",
        "owner",
        Rule::Length(CAMPAIGN_TEXT_LENGTH.0, CAMPAIGN_TEXT_LENGTH.1),
    ),
    ("CreateCampaignRequest", "skill_groups", Rule::Unique),
    ("CreateCampaignRequest", "fraud_types", Rule::Unique),
    (
        "PushRequest",
        "items",
        Rule::Items(PUSH_ITEMS.0, PUSH_ITEMS.1),
    ),
];

/// `(operationId or "*" for every operation, query parameter, rule)`; the first match wins.
pub const PARAMETER_RULES: &[(&str, &str, Rule)] = &[
    ("sync_pull", "limit", Rule::Integer(1, Some(PULL_LIMIT_MAX))),
    (
        "report_dormant_teams",
        "days",
        Rule::Integer(DORMANT_DAYS.0, Some(DORMANT_DAYS.1)),
    ),
    ("*", "limit", Rule::Integer(1, Some(PAGE_LIMIT_MAX))),
    ("*", "q", Rule::Length(0, SEARCH_TERM_MAX)),
];

/// The rule for query parameter `name` of `operation`, if any.
pub fn parameter_rule(operation: &str, name: &str) -> Option<Rule> {
    PARAMETER_RULES
        .iter()
        .find(|(op, parameter, _)| (*op == operation || *op == "*") && *parameter == name)
        .map(|(_, _, rule)| *rule)
}
