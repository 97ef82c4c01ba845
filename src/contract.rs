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

const SESSION_SCHEMAS: &[&str] = &["CreateSessionRequest", "UpdateSessionRequest"];
const ACTIVITY_SCHEMAS: &[&str] = &["CreateActivityRequest", "UpdateActivityRequest"];
const TEAM_SCHEMAS: &[&str] = &["CreateTeamRequest", "UpdateTeamRequest"];
const CAMPAIGN_SCHEMAS: &[&str] = &["CreateCampaignRequest", "UpdateCampaignRequest"];

/// `(component schemas, properties, rule)`: the rule holds for each property of each schema (a create
/// body and its update body share their checks).
pub const RULES: &[(&[&str], &[&str], Rule)] = &[
    (
        SESSION_SCHEMAS,
        &["duration_minutes"],
        Rule::Integer(SESSION_MINUTES.0, Some(SESSION_MINUTES.1)),
    ),
    (SESSION_SCHEMAS, &["topics"], Rule::Items(1, 9)),
    (SESSION_SCHEMAS, &["topics"], Rule::Unique),
    (
        SESSION_SCHEMAS,
        &[
            "participants_total",
            "participants_female",
            "participants_ethnic_minority",
            "participants_elderly",
            "households_reached",
            "vneid_activations",
            "payment_accounts_opened",
            "public_service_accounts_created",
            "online_dossiers_submitted",
            "apps_installed",
        ],
        Rule::Integer(0, None),
    ),
    (SESSION_SCHEMAS, &["venue"], Rule::Length(0, VENUE_MAX)),
    (SESSION_SCHEMAS, &["notes"], Rule::Length(0, NOTES_MAX)),
    (
        &[
            "RejectSessionRequest",
            "RejectActivityRequest",
            "DissolveTeamRequest",
        ],
        &["reason"],
        Rule::Length(REASON_LENGTH.0, REASON_LENGTH.1),
    ),
    (ACTIVITY_SCHEMAS, &["notes"], Rule::Length(0, NOTES_MAX)),
    (
        ACTIVITY_SCHEMAS,
        &["skill_groups", "fraud_types"],
        Rule::Unique,
    ),
    (
        TEAM_SCHEMAS,
        &["name"],
        Rule::Length(NAME_LENGTH.0, NAME_LENGTH.1),
    ),
    (TEAM_SCHEMAS, &["notes"], Rule::Length(0, NOTES_MAX)),
    (
        CAMPAIGN_SCHEMAS,
        &["name", "owner"],
        Rule::Length(CAMPAIGN_TEXT_LENGTH.0, CAMPAIGN_TEXT_LENGTH.1),
    ),
    (
        CAMPAIGN_SCHEMAS,
        &["skill_groups", "fraud_types"],
        Rule::Unique,
    ),
    (
        &["PushRequest"],
        &["items"],
        Rule::Items(PUSH_ITEMS.0, PUSH_ITEMS.1),
    ),
];

/// Every `(schema, property, rule)` of [`RULES`].
pub fn schema_rules() -> impl Iterator<Item = (&'static str, &'static str, Rule)> {
    RULES.iter().flat_map(|(schemas, properties, rule)| {
        schemas.iter().flat_map(move |schema| {
            properties
                .iter()
                .map(move |property| (*schema, *property, *rule))
        })
    })
}

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
