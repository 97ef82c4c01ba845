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

/// Length of a password, in characters (its strength is checked too; see `auth::password`).
pub const PASSWORD_LENGTH: (usize, usize) = (10, 128);
/// Length of a user's display name, in characters.
pub const DISPLAY_NAME_LENGTH: (usize, usize) = (1, 200);
/// Longest establishment decision number of a team, in characters.
pub const DECISION_MAX: usize = 200;
/// Earliest birth year of a member (the latest is this year).
pub const BIRTH_YEAR_MIN: i64 = 1900;
/// Longest webhook URL, in characters.
pub const WEBHOOK_URL_MAX: usize = 2000;
/// Longest description of a webhook subscription, in characters.
pub const WEBHOOK_DESCRIPTION_MAX: usize = 500;
/// Event types one webhook subscription names.
pub const WEBHOOK_EVENT_TYPES_MAX: usize = 64;
/// The shape of a webhook URL: `http(s)://`, an authority without user info, no spaces
/// (`domain::webhooks::address::parse_url` checks the same, then the URL standard's own rules and
/// refuses other blanks and control characters).
pub const WEBHOOK_URL_PATTERN: &str = r"^https?://[^ /?#@]+([/?#][^ ]*)?$";
/// Units one reorganisation merges.
pub const PREDECESSORS: (usize, usize) = (1, 50);

/// A stable code: `min` to `max` ASCII letters (lower case only when `lower_case_only`), digits, `.`,
/// `_` or `-`, starting with a letter or digit. The check ([`CodeRule::accepts`]) and the document's
/// `pattern` ([`CodeRule::pattern`]) are made from the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRule {
    pub min: usize,
    pub max: usize,
    pub lower_case_only: bool,
}

impl CodeRule {
    /// True when `code` follows the rule.
    pub fn accepts(&self, code: &str) -> bool {
        let letter_or_digit = |b: u8| {
            b.is_ascii_digit()
                || if self.lower_case_only {
                    b.is_ascii_lowercase()
                } else {
                    b.is_ascii_alphabetic()
                }
        };
        let bytes = code.as_bytes();
        (self.min..=self.max).contains(&bytes.len())
            && letter_or_digit(bytes[0])
            && bytes
                .iter()
                .all(|&b| letter_or_digit(b) || matches!(b, b'.' | b'_' | b'-'))
    }

    /// The rule as an ECMA-262 regular expression.
    pub fn pattern(&self) -> String {
        let letters = if self.lower_case_only {
            "a-z"
        } else {
            "A-Za-z"
        };
        format!(
            "^[{letters}0-9][{letters}0-9._-]{{{},{}}}$",
            self.min.saturating_sub(1),
            self.max - 1
        )
    }
}

/// Codes of org units (`son-la.2025.xa-van-ho`).
pub const UNIT_CODE: CodeRule = CodeRule {
    min: 1,
    max: 100,
    lower_case_only: true,
};
/// Codes of teams (`SL-VANHO-001`), compared ignoring case.
pub const TEAM_CODE: CodeRule = CodeRule {
    min: 1,
    max: 100,
    lower_case_only: false,
};
/// Codes of campaign editions (`anti-fraud-2024`).
pub const CAMPAIGN_CODE: CodeRule = CodeRule {
    min: 1,
    max: 64,
    lower_case_only: true,
};
/// Usernames, unique ignoring case.
pub const USERNAME: CodeRule = CodeRule {
    min: 3,
    max: 64,
    lower_case_only: false,
};

/// Characters a phone number may carry between its digits (`0912 345 678`, `(091) 234-5678`).
const PHONE_SEPARATORS: &str = "[ .()-]*";

/// A Vietnamese mobile number as `domain::validation::normalize_phone` accepts it: `+84`, `84` or `0`,
/// then nine digits starting with 3, 5, 7, 8 or 9, with separators anywhere.
pub fn phone_pattern() -> String {
    let s = PHONE_SEPARATORS;
    format!("^{s}(?:\\+{s}8{s}4|8{s}4|0){s}[35789](?:{s}[0-9]){{8}}{s}$")
}

/// A person's phone: as [`phone_pattern`], or blank (no phone).
pub fn person_phone_pattern() -> String {
    format!("^\\s*$|{}", phone_pattern())
}

/// Text with at least one character that is not white space (names are stored trimmed).
pub const NOT_BLANK: &str = "\\S";

/// A time of day as a session's `start_time` takes it: `HH:MM`, `HH:MM:SS` or with a fraction of a
/// second (a leap second as `:60`).
pub const START_TIME_PATTERN: &str =
    "^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:\\.[0-9]{1,9})?)?$";

/// The team statuses a create or update may set (`dissolved` comes only from `POST /teams/{id}/dissolve`).
pub const SETTABLE_TEAM_STATUSES: &[&str] = &["active", "inactive"];

/// Years a report period may cover (its `from` and `to`).
pub const REPORT_YEARS: (i32, i32) = (2000, 2100);

/// A `YYYY-MM-DD` day within [`REPORT_YEARS`] (the document states the format as `date` beside it).
pub fn report_day_pattern() -> String {
    "^(?:20[0-9]{2}|2100)-".to_owned()
}

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
    /// A number not below `.0`.
    AtLeast(f64),
    /// A string following a code rule.
    Code(CodeRule),
    /// A string matching a regular expression made by this function.
    Pattern(fn() -> String),
    /// A string matching this regular expression.
    Matches(&'static str),
    /// Only these values of the property's vocabulary (`null` too when the property is nullable).
    Choices(&'static [&'static str]),
}

const SESSION_SCHEMAS: &[&str] = &["CreateSessionRequest", "UpdateSessionRequest"];
const ACTIVITY_SCHEMAS: &[&str] = &["CreateActivityRequest", "UpdateActivityRequest"];
const TEAM_SCHEMAS: &[&str] = &["CreateTeamRequest", "UpdateTeamRequest"];
const CAMPAIGN_SCHEMAS: &[&str] = &["CreateCampaignRequest", "UpdateCampaignRequest"];
const UNIT_SCHEMAS: &[&str] = &[
    "CreateOrgUnitRequest",
    "UpdateOrgUnitRequest",
    "SuccessorRequest",
];
const USER_SCHEMAS: &[&str] = &["CreateUserRequest", "UpdateUserRequest", "UpdateMeRequest"];
const PERSON_SCHEMAS: &[&str] = &["PersonRequest", "UpdateMemberRequest"];

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
    (
        SESSION_SCHEMAS,
        &["start_time"],
        Rule::Matches(START_TIME_PATTERN),
    ),
    (SESSION_SCHEMAS, &["notes"], Rule::Length(0, NOTES_MAX)),
    (
        &[
            "RejectSessionRequest",
            "RejectActivityRequest",
            "DissolveTeamRequest",
            "BulkReviewRequest",
        ],
        &["reason"],
        Rule::Length(REASON_LENGTH.0, REASON_LENGTH.1),
    ),
    (
        &[
            "RejectSessionRequest",
            "RejectActivityRequest",
            "DissolveTeamRequest",
            "BulkReviewRequest",
        ],
        &["reason"],
        Rule::Matches(NOT_BLANK),
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
    (TEAM_SCHEMAS, &["code"], Rule::Code(TEAM_CODE)),
    // A team is dissolved with `POST /teams/{id}/dissolve`, never by setting its status.
    (
        TEAM_SCHEMAS,
        &["status"],
        Rule::Choices(SETTABLE_TEAM_STATUSES),
    ),
    (TEAM_SCHEMAS, &["name"], Rule::Matches(NOT_BLANK)),
    (
        TEAM_SCHEMAS,
        &["zalo_group_members"],
        Rule::Integer(0, None),
    ),
    (
        TEAM_SCHEMAS,
        &["establishment_decision"],
        Rule::Length(0, DECISION_MAX),
    ),
    (CAMPAIGN_SCHEMAS, &["code"], Rule::Code(CAMPAIGN_CODE)),
    (
        CAMPAIGN_SCHEMAS,
        &["name", "owner"],
        Rule::Matches(NOT_BLANK),
    ),
    (UNIT_SCHEMAS, &["code"], Rule::Code(UNIT_CODE)),
    (
        UNIT_SCHEMAS,
        &["name"],
        Rule::Length(NAME_LENGTH.0, NAME_LENGTH.1),
    ),
    (UNIT_SCHEMAS, &["name"], Rule::Matches(NOT_BLANK)),
    (
        UNIT_SCHEMAS,
        &["households", "population"],
        Rule::Integer(0, None),
    ),
    (
        &["ReorganizationRequest"],
        &["predecessor_ids"],
        Rule::Items(PREDECESSORS.0, PREDECESSORS.1),
    ),
    (
        &["ReorganizationRequest"],
        &["predecessor_ids"],
        Rule::Unique,
    ),
    (&["CreateUserRequest"], &["username"], Rule::Code(USERNAME)),
    (
        &["CreateUserRequest"],
        &["password"],
        Rule::Length(PASSWORD_LENGTH.0, PASSWORD_LENGTH.1),
    ),
    (
        &["ResetPasswordRequest", "ChangePasswordRequest"],
        &["new_password"],
        Rule::Length(PASSWORD_LENGTH.0, PASSWORD_LENGTH.1),
    ),
    (
        USER_SCHEMAS,
        &["display_name"],
        Rule::Length(DISPLAY_NAME_LENGTH.0, DISPLAY_NAME_LENGTH.1),
    ),
    (USER_SCHEMAS, &["display_name"], Rule::Matches(NOT_BLANK)),
    (USER_SCHEMAS, &["phone"], Rule::Pattern(phone_pattern)),
    (
        PERSON_SCHEMAS,
        &["phone"],
        Rule::Pattern(person_phone_pattern),
    ),
    (
        PERSON_SCHEMAS,
        &["full_name"],
        Rule::Length(NAME_LENGTH.0, NAME_LENGTH.1),
    ),
    (PERSON_SCHEMAS, &["full_name"], Rule::Matches(NOT_BLANK)),
    (
        PERSON_SCHEMAS,
        &["birth_year"],
        Rule::Integer(BIRTH_YEAR_MIN, Some(i16::MAX as i64)),
    ),
    (
        ACTIVITY_SCHEMAS,
        &[
            "contacts",
            "unique_people",
            "households_reached",
            "estimated_audience",
            "materials_distributed",
        ],
        Rule::Integer(0, None),
    ),
    (
        &["CreateTargetRequest", "UpdateTargetRequest"],
        &["value"],
        Rule::AtLeast(0.0),
    ),
    (
        &["CreateWebhookRequest", "UpdateWebhookRequest"],
        &["url"],
        Rule::Length(1, WEBHOOK_URL_MAX),
    ),
    (
        &["CreateWebhookRequest", "UpdateWebhookRequest"],
        &["url"],
        Rule::Matches(WEBHOOK_URL_PATTERN),
    ),
    (
        &["CreateWebhookRequest", "UpdateWebhookRequest"],
        &["event_types"],
        Rule::Items(1, WEBHOOK_EVENT_TYPES_MAX),
    ),
    (
        &["CreateWebhookRequest", "UpdateWebhookRequest"],
        &["description"],
        Rule::Length(0, WEBHOOK_DESCRIPTION_MAX),
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
    ("report_summary", "from", Rule::Pattern(report_day_pattern)),
    ("report_summary", "to", Rule::Pattern(report_day_pattern)),
    (
        "report_breakdown",
        "from",
        Rule::Pattern(report_day_pattern),
    ),
    ("report_breakdown", "to", Rule::Pattern(report_day_pattern)),
    ("report_targets", "from", Rule::Pattern(report_day_pattern)),
    ("report_targets", "to", Rule::Pattern(report_day_pattern)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validation::normalize_phone;

    /// A deterministic stream of strings over `alphabet` (SplitMix64), up to `longest` characters.
    fn samples(alphabet: &[char], longest: usize, count: usize) -> Vec<String> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        (0..count)
            .map(|_| {
                let length = (next() % (longest as u64 + 1)) as usize;
                (0..length)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    fn regex(pattern: &str) -> regex::Regex {
        regex::Regex::new(pattern).unwrap()
    }

    #[test]
    fn each_code_pattern_accepts_exactly_what_its_check_accepts() {
        let alphabet: Vec<char> = "aZ09._-Ưx ".chars().collect();
        for rule in [UNIT_CODE, TEAM_CODE, CAMPAIGN_CODE, USERNAME] {
            let pattern = regex(&rule.pattern());
            let mut cases = samples(&alphabet, 8, 5_000);
            cases.extend(["a".repeat(rule.max), "a".repeat(rule.max + 1), "ab".into()]);
            for case in cases {
                // JSON Schema counts characters; every accepted code is ASCII, so bytes agree.
                let by_schema = pattern.is_match(&case)
                    && (rule.min..=rule.max).contains(&case.chars().count());
                assert_eq!(rule.accepts(&case), by_schema, "{rule:?} on {case:?}");
            }
        }
    }

    #[test]
    fn the_start_time_pattern_accepts_only_what_the_time_parser_takes() {
        let pattern = regex(START_TIME_PATTERN);
        let mut cases = samples(&['0', '1', '2', '5', '6', '9', ':', '.'], 12, 40_000);
        cases.extend(
            [
                "08:00",
                "08:00:00",
                "23:59:60.5",
                "24:00",
                "8:00",
                "08:00:00Z",
            ]
            .map(String::from),
        );
        for hour in 0..26 {
            for minute in [0, 30, 59, 60] {
                cases.push(format!("{hour:02}:{minute:02}"));
                cases.push(format!("{hour:02}:{minute:02}:{minute:02}.25"));
            }
        }
        let mut accepted = 0;
        for case in &cases {
            if pattern.is_match(case) {
                accepted += 1;
                assert!(case.parse::<chrono::NaiveTime>().is_ok(), "{case:?}");
            }
        }
        assert!(
            accepted > 100,
            "the samples must hold valid times too ({accepted})"
        );
    }

    #[test]
    fn the_report_day_pattern_holds_exactly_the_report_years() {
        let pattern = regex(&report_day_pattern());
        for year in 1900..2200 {
            let day = format!("{year:04}-06-15");
            let within = (REPORT_YEARS.0..=REPORT_YEARS.1).contains(&year);
            assert_eq!(within, pattern.is_match(&day), "{day}");
        }
    }

    #[test]
    fn the_phone_pattern_accepts_exactly_what_normalize_phone_accepts() {
        let pattern = regex(&phone_pattern());
        let person = regex(&person_phone_pattern());
        let mut cases = samples(
            &['0', '3', '4', '8', '9', '1', '+', ' ', '.', '-', '(', ')'],
            16,
            40_000,
        );
        cases.extend(
            [
                "0912345678",
                "0912 345 678",
                "+84912345678",
                "84912345678",
                "+84 (91) 234-5678",
                "084912345678",
                "840912345678",
                "091234567",
                "09123456789",
                "0212345678",
                "",
                " ",
            ]
            .map(String::from),
        );
        // Numbers of nearly the right shape: a prefix, then digits with separators between them.
        let bodies = samples(&['0', '1', '3', '5', '7', '8', '9', ' ', '.'], 12, 20_000);
        for (index, body) in bodies.iter().enumerate() {
            let prefix = ["0", "+84", "84", "+ 8 4", "(0)", ""][index % 6];
            cases.push(format!("{prefix}{body}"));
        }
        let mut accepted = 0;
        for case in &cases {
            let valid = normalize_phone(case).is_some();
            accepted += usize::from(valid);
            assert_eq!(valid, pattern.is_match(case), "{case:?}");
            assert_eq!(
                valid || case.trim().is_empty(),
                person.is_match(case),
                "{case:?}"
            );
        }
        assert!(
            accepted > 500,
            "the samples must hold valid numbers too ({accepted})"
        );
    }
}
