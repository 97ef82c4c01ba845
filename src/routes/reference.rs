//! The enumerations clients need, with Vietnamese and English labels, cacheable by `ETag`.

use actix_web::{HttpRequest, HttpResponse, get, http::header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    reference::{self, EthnicGroup, Label},
    routes::conditional::if_none_match,
};

/// Every enumeration of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferenceResponse {
    /// Changes whenever any list changes; also the `ETag`.
    pub version: String,
    pub ethnic_groups: Vec<EthnicGroup>,
    pub genders: Vec<Label>,
    pub affiliations: Vec<Label>,
    pub membership_roles: Vec<Label>,
    pub team_statuses: Vec<Label>,
    pub org_unit_levels: Vec<Label>,
    pub user_roles: Vec<Label>,
    pub session_kinds: Vec<Label>,
    pub session_formats: Vec<Label>,
    pub session_topics: Vec<Label>,
    pub reach_channels: Vec<Label>,
    pub counting_methods: Vec<Label>,
    pub confidence_levels: Vec<Label>,
    /// The 5 skill groups of the anti-fraud handbook.
    pub skill_groups: Vec<Label>,
    pub fraud_types: Vec<Label>,
    /// Review states of sessions and reach activities.
    pub record_statuses: Vec<Label>,
    pub campaign_statuses: Vec<Label>,
    pub user_statuses: Vec<Label>,
    /// Kinds of administrative unit (each belongs to one level).
    pub org_unit_kinds: Vec<Label>,
    /// What targets measure.
    pub indicators: Vec<Label>,
    pub target_statuses: Vec<Label>,
    /// Groupings of `GET /reports/breakdown` (`by`).
    pub breakdowns: Vec<Label>,
    /// Groupings of a campaign's reach summary (`by`).
    pub reach_groupings: Vec<Label>,
    pub sync_record_types: Vec<Label>,
    pub push_record_types: Vec<Label>,
    pub sync_ops: Vec<Label>,
    pub push_outcomes: Vec<Label>,
    pub conflict_statuses: Vec<Label>,
    pub conflict_resolutions: Vec<Label>,
    pub import_modes: Vec<Label>,
    /// What a target belongs to.
    pub target_holder_kinds: Vec<Label>,
    /// What an attachment of a session or reach activity shows.
    pub attachment_kinds: Vec<Label>,
}

fn reference_document() -> (String, Vec<u8>) {
    let mut document = ReferenceResponse {
        version: String::new(),
        ethnic_groups: reference::ETHNIC_GROUPS.to_vec(),
        genders: reference::GENDERS.to_vec(),
        affiliations: reference::AFFILIATIONS.to_vec(),
        membership_roles: reference::MEMBERSHIP_ROLES.to_vec(),
        team_statuses: reference::TEAM_STATUSES.to_vec(),
        org_unit_levels: reference::ORG_UNIT_LEVELS.to_vec(),
        user_roles: reference::USER_ROLES.to_vec(),
        session_kinds: reference::SESSION_KINDS.to_vec(),
        session_formats: reference::SESSION_FORMATS.to_vec(),
        session_topics: reference::SESSION_TOPICS.to_vec(),
        reach_channels: reference::REACH_CHANNELS.to_vec(),
        counting_methods: reference::COUNTING_METHODS.to_vec(),
        confidence_levels: reference::CONFIDENCE_LEVELS.to_vec(),
        skill_groups: reference::SKILL_GROUPS.to_vec(),
        fraud_types: reference::FRAUD_TYPES.to_vec(),
        record_statuses: reference::RECORD_STATUSES.to_vec(),
        campaign_statuses: reference::CAMPAIGN_STATUSES.to_vec(),
        user_statuses: reference::USER_STATUSES.to_vec(),
        org_unit_kinds: reference::ORG_UNIT_KINDS.to_vec(),
        indicators: reference::INDICATORS.to_vec(),
        target_statuses: reference::TARGET_STATUSES.to_vec(),
        breakdowns: reference::BREAKDOWNS.to_vec(),
        reach_groupings: reference::REACH_GROUPINGS.to_vec(),
        sync_record_types: reference::SYNC_RECORD_TYPES.to_vec(),
        push_record_types: reference::PUSH_RECORD_TYPES.to_vec(),
        sync_ops: reference::SYNC_OPS.to_vec(),
        attachment_kinds: reference::ATTACHMENT_KINDS.to_vec(),
        push_outcomes: reference::PUSH_OUTCOMES.to_vec(),
        conflict_statuses: reference::CONFLICT_STATUSES.to_vec(),
        conflict_resolutions: reference::CONFLICT_RESOLUTIONS.to_vec(),
        import_modes: reference::IMPORT_MODES.to_vec(),
        target_holder_kinds: reference::TARGET_HOLDER_KINDS.to_vec(),
    };
    let content = serde_json::to_vec(&document).unwrap_or_default();
    let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&content));
    document.version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let body = serde_json::to_vec(&document).unwrap_or_default();
    (document.version, body)
}

/// Reference data.
///
/// Every enumeration the clients need, each value with Vietnamese and English labels: Vietnam's 54 ethnic
/// groups, genders, affiliations, membership roles, team statuses, org-unit levels, user roles, session
/// kinds, formats and topics, reach channels, counting methods, confidence levels, the 5 anti-fraud skill
/// groups and the fraud types, and every other closed list of the API (record and campaign statuses,
/// unit kinds, indicators, report groupings, sync vocabularies, import modes); each list is the same
/// definition as the `enum` of its schema in this document. Send
/// `If-None-Match` with the `ETag` you cached to get 304 when nothing changed.
#[utoipa::path(
    tag = "reference",
    operation_id = "get_reference",
    security(()),
    responses(
        (status = 200, description = "The lists.", body = ReferenceResponse),
        (status = 304, description = "Unchanged since the `ETag` you sent."),
    )
)]
#[get("/reference")]
pub async fn get_reference(req: HttpRequest) -> HttpResponse {
    let (version, body) = reference_document();
    let current = header::EntityTag::new_strong(version);
    let unchanged = if_none_match(&req, &current);
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, current.to_string()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if unchanged {
        response.finish()
    } else {
        response.content_type("application/json").body(body)
    }
}
