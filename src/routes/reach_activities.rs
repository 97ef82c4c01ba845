//! Reach activities: what teams did for a campaign, each kind of count kept apart with how it was counted
//! and how sure the team is. Same retry safety, workflow, lock, scoping, audit and CSV as sessions.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    config::Settings,
    contract,
    db::Db,
    domain::Precondition,
    domain::{
        today_in_vietnam,
        validation::{FieldErrors, normalized},
        workflow::{
            check_editable, check_lock, client_id_reused, commune_path, load_reporting_team,
            review_guard, status_after_edit,
        },
    },
    error::{AppError, ErrorCode, Problem},
    models::{
        audit,
        campaign::{self, Campaign},
        from_array, org_unit,
        reach_activity::{self, ActivityFields, ActivityFilter, ReachActivity},
        team::{self, Team},
        to_array, training_session,
    },
    reference,
    routes::{
        conditional::{decode_keyset, double_option, encode_keyset, etag, if_match, page_limit},
        csv_export::{cell, csv_response, to_csv, wants_csv},
    },
};

/// Channels that broadcast (an audience is estimated, people are not counted one by one).
pub const BROADCAST_CHANNELS: [&str; 5] = [
    "loudspeaker",
    "mobile_loudspeaker",
    "zalo_group",
    "social_media",
    "video",
];

/// A reach activity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "campaign_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000002", "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000003",
    "channel": "meeting", "occurred_on": "2024-10-15", "contacts": 64, "unique_people": 58, "households_reached": 41,
    "estimated_audience": null, "method": "attendance_sheet", "confidence": "high", "skill_groups": ["recognise"],
    "fraud_types": ["impersonating_authorities"], "materials_distributed": 40, "session_id": null, "notes": null,
    "recorded_at": null, "status": "submitted", "reviewed_by": null, "reviewed_at": null, "rejection_reason": null,
    "version": 1, "created_at": "2024-10-15T10:00:00Z", "updated_at": "2024-10-15T10:00:00Z"}))]
pub struct ActivityResponse {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub team_id: Uuid,
    /// Where it happened.
    pub org_unit_id: Uuid,
    #[schema(value_type = crate::reference::ReachChannel)]
    pub channel: String,
    pub occurred_on: NaiveDate,
    /// Person-contacts ("lượt người"), not unique people.
    pub contacts: i32,
    /// Estimated unique people.
    pub unique_people: Option<i32>,
    pub households_reached: i32,
    /// Estimated audience of a broadcast channel.
    pub estimated_audience: Option<i32>,
    /// How it was counted.
    #[schema(value_type = crate::reference::CountingMethod)]
    pub method: String,
    /// `low`, `medium` or `high`.
    #[schema(value_type = crate::reference::Confidence)]
    pub confidence: String,
    #[schema(value_type = Vec<crate::reference::SkillGroup>)]
    pub skill_groups: Vec<String>,
    #[schema(value_type = Vec<crate::reference::FraudType>)]
    pub fraud_types: Vec<String>,
    pub materials_distributed: i32,
    /// The session it happened during, if any.
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    #[schema(value_type = crate::reference::RecordStatus)]
    pub status: String,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ReachActivity> for ActivityResponse {
    fn from(a: &ReachActivity) -> Self {
        Self {
            id: a.id,
            campaign_id: a.campaign_id,
            team_id: a.team_id,
            org_unit_id: a.org_unit_id,
            channel: a.channel.clone(),
            occurred_on: a.occurred_on,
            contacts: a.contacts,
            unique_people: a.unique_people,
            households_reached: a.households_reached,
            estimated_audience: a.estimated_audience,
            method: a.method.clone(),
            confidence: a.confidence.clone(),
            skill_groups: from_array(&a.skill_groups),
            fraud_types: from_array(&a.fraud_types),
            materials_distributed: a.materials_distributed,
            session_id: a.session_id,
            notes: a.notes.clone(),
            recorded_at: a.recorded_at,
            status: a.status.clone(),
            reviewed_by: a.reviewed_by,
            reviewed_at: a.reviewed_at,
            rejection_reason: a.rejection_reason.clone(),
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A new reach activity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000002",
    "channel": "meeting", "occurred_on": "2024-10-15", "contacts": 64, "unique_people": 58, "households_reached": 41,
    "method": "attendance_sheet", "confidence": "high", "skill_groups": ["recognise"],
    "fraud_types": ["impersonating_authorities"], "materials_distributed": 40}))]
pub struct CreateActivityRequest {
    /// A client-made id: the same id and content again returns the stored activity (200); other content 409.
    pub id: Option<Uuid>,
    pub team_id: Uuid,
    /// Where: the team's unit or one below its commune (default: the team's unit).
    pub org_unit_id: Option<Uuid>,
    /// From `GET /api/v1/reference` (`reach_channels`).
    #[schema(value_type = crate::reference::ReachChannel)]
    pub channel: String,
    /// Inside the campaign's dates, not in the future.
    pub occurred_on: NaiveDate,
    pub contacts: i32,
    /// At most `contacts` on channels that count people.
    pub unique_people: Option<i32>,
    #[serde(default)]
    pub households_reached: i32,
    /// Broadcast channels only; a Zalo group's audience is at most the team's recorded group size.
    pub estimated_audience: Option<i32>,
    /// From `GET /api/v1/reference` (`counting_methods`).
    #[schema(value_type = crate::reference::CountingMethod)]
    pub method: String,
    /// `low`, `medium` or `high`.
    #[schema(value_type = crate::reference::Confidence)]
    pub confidence: String,
    /// Inside the campaign's skill groups.
    #[serde(default)]
    #[schema(value_type = Vec<crate::reference::SkillGroup>)]
    pub skill_groups: Vec<String>,
    /// Inside the campaign's fraud types.
    #[serde(default)]
    #[schema(value_type = Vec<crate::reference::FraudType>)]
    pub fraud_types: Vec<String>,
    #[serde(default)]
    pub materials_distributed: i32,
    /// A session of the same team.
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// The rules of an activity, every violation at once.
fn validate(
    conn: &mut PgConnection,
    fields: &ActivityFields,
    campaign: &Campaign,
    team: &Team,
    team_unit: &org_unit::OrgUnit,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if campaign.status == "draft" {
        errors.add(
            "campaign_id",
            "campaign_not_open",
            "the campaign is still a draft",
            "chiến dịch chưa bắt đầu",
        );
    }
    if !reference::is_one_of(reference::REACH_CHANNELS, &fields.channel) {
        errors.add(
            "channel",
            "invalid_choice",
            "is not a channel of GET /api/v1/reference",
            "kênh không hợp lệ",
        );
    }
    if !reference::is_one_of(reference::COUNTING_METHODS, &fields.method) {
        errors.add(
            "method",
            "invalid_choice",
            "is not a counting method of GET /api/v1/reference",
            "cách đếm không hợp lệ",
        );
    }
    if !reference::is_one_of(reference::CONFIDENCE_LEVELS, &fields.confidence) {
        errors.add(
            "confidence",
            "invalid_choice",
            "must be low, medium or high",
            "độ tin cậy không hợp lệ",
        );
    }
    if fields.occurred_on < campaign.starts_on || fields.occurred_on > campaign.ends_on {
        errors.add(
            "occurred_on",
            "outside_campaign",
            format!(
                "must be within the campaign ({} to {})",
                campaign.starts_on, campaign.ends_on
            ),
            format!(
                "phải trong thời gian chiến dịch ({} đến {})",
                campaign.starts_on, campaign.ends_on
            ),
        );
    }
    if fields.occurred_on > today_in_vietnam() + chrono::Duration::days(1) {
        errors.add(
            "occurred_on",
            "in_future",
            "must not be in the future",
            "không được ở tương lai",
        );
    }
    if team.status != "active" {
        errors.add(
            "team_id",
            "team_not_active",
            "the team is not active",
            "tổ không còn hoạt động",
        );
    }
    for (name, value) in [
        ("contacts", Some(fields.contacts)),
        ("unique_people", fields.unique_people),
        ("households_reached", Some(fields.households_reached)),
        ("estimated_audience", fields.estimated_audience),
        ("materials_distributed", Some(fields.materials_distributed)),
    ] {
        errors.check_not_negative(name, value);
    }
    let broadcast = BROADCAST_CHANNELS.contains(&fields.channel.as_str());
    if !broadcast
        && fields
            .unique_people
            .is_some_and(|people| people > fields.contacts)
    {
        errors.add(
            "unique_people",
            "exceeds_contacts",
            "must not exceed contacts",
            "không được lớn hơn số lượt",
        );
    }
    if !broadcast && fields.estimated_audience.is_some() {
        errors.add(
            "estimated_audience",
            "not_broadcast",
            "is only for broadcast channels (loudspeakers, Zalo groups, social media, video)",
            "chỉ dùng cho kênh phát thanh, nhóm Zalo, mạng xã hội, video",
        );
    }
    if fields.channel == "zalo_group"
        && let (Some(audience), Some(group)) = (fields.estimated_audience, team.zalo_group_members)
        && audience > group
    {
        errors.add(
            "estimated_audience",
            "exceeds_group_size",
            format!("must not exceed the team's Zalo group size ({group})"),
            format!("không được lớn hơn số thành viên nhóm Zalo của tổ ({group})"),
        );
    }
    let campaign_groups = from_array(&campaign.skill_groups);
    for (index, group) in from_array(&fields.skill_groups).iter().enumerate() {
        if !campaign_groups.contains(group) {
            errors.add(
                format!("skill_groups[{index}]"),
                "not_in_campaign",
                "is not a skill group of this campaign",
                "không thuộc chiến dịch",
            );
        }
    }
    let campaign_frauds = from_array(&campaign.fraud_types);
    for (index, fraud) in from_array(&fields.fraud_types).iter().enumerate() {
        if !campaign_frauds.contains(fraud) {
            errors.add(
                format!("fraud_types[{index}]"),
                "not_in_campaign",
                "is not a fraud type of this campaign",
                "không thuộc chiến dịch",
            );
        }
    }
    errors.check_max_length("notes", fields.notes.as_deref(), contract::NOTES_MAX);
    match org_unit::find(conn, fields.org_unit_id).optional_app()? {
        Some(unit) if unit.path.starts_with(&commune_path(team_unit)) => {}
        _ => errors.add(
            "org_unit_id",
            "outside_team_commune",
            "must be the team's unit or a unit below the same commune",
            "phải là đơn vị của tổ hoặc đơn vị thuộc cùng xã",
        ),
    }
    if let Some(session) = fields.session_id {
        let same_team = training_session::find(conn, session)
            .optional_app()?
            .is_some_and(|s| s.session.team_id == team.id && s.session.deleted_at.is_none());
        if !same_team {
            errors.add(
                "session_id",
                "not_found",
                "is not a session of this team",
                "không phải buổi của tổ này",
            );
        }
    }
    errors.finish()
}

fn load_campaign(conn: &mut PgConnection, id: Uuid) -> Result<Campaign, AppError> {
    campaign::find(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("campaign"))
}

fn record(
    conn: &mut PgConnection,
    actor: &AuthUser,
    action: &'static str,
    before: Option<&ReachActivity>,
    after: &ReachActivity,
    path: &str,
) -> Result<(), AppError> {
    Ok(audit::record_change(
        conn,
        &actor.audit_context(),
        action,
        "reach_activity",
        after.id,
        Some(path.to_owned()),
        before.map(ActivityResponse::from).as_ref(),
        &ActivityResponse::from(after),
    )?)
}

impl CreateActivityRequest {
    /// The stored fields this request makes for `campaign_id` and a team serving `default_unit`.
    pub fn fields(&self, campaign_id: Uuid, default_unit: Uuid) -> ActivityFields {
        ActivityFields {
            campaign_id,
            team_id: self.team_id,
            org_unit_id: self.org_unit_id.unwrap_or(default_unit),
            channel: self.channel.clone(),
            occurred_on: self.occurred_on,
            contacts: self.contacts,
            unique_people: self.unique_people,
            households_reached: self.households_reached,
            estimated_audience: self.estimated_audience,
            method: self.method.clone(),
            confidence: self.confidence.clone(),
            skill_groups: to_array(&self.skill_groups),
            fraud_types: to_array(&self.fraud_types),
            materials_distributed: self.materials_distributed,
            session_id: self.session_id,
            notes: self
                .notes
                .as_deref()
                .map(normalized)
                .filter(|n| !n.is_empty()),
            recorded_at: self.recorded_at,
        }
    }
}

/// Creates activity `id` of `campaign_id` from `body` (call inside a transaction): 201 and the activity, or
/// 200 and the stored one when the same id came with the same content before; every rule applies.
pub fn create_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    campaign_id: Uuid,
    id: Uuid,
    body: &CreateActivityRequest,
    lock_days: u32,
) -> Result<(u16, ReachActivity), AppError> {
    let campaign = load_campaign(conn, campaign_id)?;
    let (team, unit) = load_reporting_team(conn, actor, body.team_id)?;
    let fields = body.fields(campaign_id, team.org_unit_id);
    let replay = |existing: ReachActivity| {
        if ActivityFields::of(&existing) == fields && existing.deleted_at.is_none() {
            Ok((200, existing))
        } else {
            Err(client_id_reused())
        }
    };
    if let Some(existing) = reach_activity::find(conn, id).optional_app()? {
        return replay(existing.activity);
    }
    validate(conn, &fields, &campaign, &team, &unit)?;
    check_lock(actor, fields.occurred_on, lock_days)?;
    match reach_activity::insert(conn, id, &fields, actor.id)? {
        Some(activity) => {
            record(
                conn,
                actor,
                "reach_activity_created",
                None,
                &activity,
                &unit.path,
            )?;
            Ok((201, activity))
        }
        None => replay(reach_activity::find(conn, id)?.activity),
    }
}

/// A live activity the actor may edit, at `version` if given (412 otherwise).
fn editable(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    lock_days: u32,
) -> Result<reach_activity::ScopedActivity, AppError> {
    let found = load_visible(conn, actor, id)?;
    let a = &found.activity;
    check_editable(
        actor,
        a.team_id,
        &found.team_unit_path,
        &a.status,
        a.occurred_on,
        lock_days,
    )?;
    if_match.check(a.version)?;
    Ok(found)
}

/// Changes activity `id` at `version` (`None`: whatever is current) to the fields `change` makes of the
/// stored ones (call inside a transaction); every rule of the endpoint applies.
pub fn update_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    change: impl FnOnce(ActivityFields) -> ActivityFields,
    lock_days: u32,
) -> Result<ReachActivity, AppError> {
    let found = editable(conn, actor, id, if_match, lock_days)?;
    let a = &found.activity;
    let fields = change(ActivityFields::of(a));
    let campaign = load_campaign(conn, a.campaign_id)?;
    let team = team::find(conn, a.team_id)?;
    let unit = org_unit::find(conn, team.org_unit_id)?;
    validate(conn, &fields, &campaign, &team, &unit)?;
    check_lock(actor, fields.occurred_on, lock_days)?;
    let updated =
        reach_activity::update(conn, id, a.version, &fields, status_after_edit(&a.status))?
            .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    record(
        conn,
        actor,
        "reach_activity_updated",
        Some(a),
        &updated,
        &unit.path,
    )?;
    Ok(updated)
}

/// Deletes activity `id` at `version` (`None`: whatever is current), leaving a tombstone (call inside a
/// transaction); every rule of the endpoint applies.
pub fn delete_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    lock_days: u32,
) -> Result<ReachActivity, AppError> {
    let found = editable(conn, actor, id, if_match, lock_days)?;
    let a = &found.activity;
    let deleted = reach_activity::soft_delete(conn, id, a.version)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    record(
        conn,
        actor,
        "reach_activity_deleted",
        Some(a),
        &deleted,
        &found.team_unit_path,
    )?;
    Ok(deleted)
}

/// Log a reach activity.
///
/// Records what a team did for a campaign (the team's leader, or an officer in scope). Safe to retry with
/// `Idempotency-Key` or a client-made `id`. Every rule violation is reported at once.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "create_reach_activity",
    params(("id" = Uuid, Path, description = "Campaign id")),
    security(("bearer" = [])),
    request_body = CreateActivityRequest,
    responses(
        (status = 200, description = "Already stored under this client id.", body = ActivityResponse),
        (status = 201, description = "Recorded.", body = ActivityResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not log activities.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Client id reused with other content, or the month is locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/campaigns/{id}/reach-activities")]
pub async fn create_reach_activity(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<CreateActivityRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateReachActivity)?;
    let campaign_id = id.into_inner();
    let body = body.into_inner();
    let lock_days = settings.reporting_lock_days;
    let (status, activity) = db
        .run(move |conn| {
            let id = body.id.unwrap_or_else(Uuid::now_v7);
            conn.transaction(|conn| create_in(conn, &actor, campaign_id, id, &body, lock_days))
        })
        .await?;
    let mut response = if status == 201 {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("ETag", etag(activity.version)))
        .insert_header((
            "Location",
            format!("/api/v1/reach-activities/{}", activity.id),
        ))
        .json(ActivityResponse::from(&activity)))
}

/// Filters for listing activities.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivityListQuery {
    pub team_id: Option<Uuid>,
    /// Activities in this unit's subtree.
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<crate::reference::ReachChannel>)]
    pub channel: Option<String>,
    /// `submitted`, `verified` or `rejected`.
    #[param(value_type = Option<crate::reference::RecordStatus>)]
    pub status: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A page of activities, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityListResponse {
    pub items: Vec<ActivityResponse>,
    pub next_cursor: Option<String>,
}

const ACTIVITY_CSV_COLUMNS: [&str; 16] = [
    "id",
    "team_code",
    "occurred_on",
    "channel",
    "org_unit_name",
    "contacts",
    "unique_people",
    "households_reached",
    "estimated_audience",
    "method",
    "confidence",
    "skill_groups",
    "fraud_types",
    "materials_distributed",
    "status",
    "notes",
];

/// List a campaign's reach activities.
///
/// Activities of the teams in your scope, newest first; `Accept: text/csv` gives the same rows as CSV.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_reach_activities",
    params(("id" = Uuid, Path, description = "Campaign id"), ActivityListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of activities (JSON, or CSV with `Accept: text/csv`).",
         content((ActivityListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or unit.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns/{id}/reach-activities")]
pub async fn list_reach_activities(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ActivityListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListReachActivities)?;
    let campaign_id = id.into_inner();
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = decode_keyset::<NaiveDate>(query.cursor.as_deref())?;
    let mut filter = ActivityFilter {
        campaign_id: Some(campaign_id),
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        held_within_path: None,
        team_id: query.team_id,
        channel: query.channel,
        status: query.status,
        statuses: None,
        from: query.from,
        to: query.to,
    };
    if actor.role == Role::TeamLeader {
        let own = actor.team_id.unwrap_or_else(Uuid::nil);
        filter.team_id = Some(if query.team_id.is_some_and(|t| t != own) {
            Uuid::nil()
        } else {
            own
        });
    }
    let root = query.org_unit_id;
    let rows = db
        .read(actor.id, move |conn| {
            load_campaign(conn, campaign_id)?;
            if let Some(root) = root {
                let unit = org_unit::find(conn, root)
                    .optional_app()?
                    .ok_or_else(|| AppError::not_found("org unit"))?;
                filter.held_within_path = Some(unit.path);
            }
            Ok(reach_activity::list(conn, &filter, after, limit)?)
        })
        .await?;
    let next = if rows.len() as i64 == limit {
        rows.last()
            .map(|r| encode_keyset(&r.activity.occurred_on.to_string(), r.activity.id))
    } else {
        None
    };
    if wants_csv(&req) {
        let body = to_csv(
            &ACTIVITY_CSV_COLUMNS,
            rows.iter().map(|r| {
                let a = &r.activity;
                vec![
                    a.id.to_string(),
                    r.team_code.clone(),
                    a.occurred_on.to_string(),
                    a.channel.clone(),
                    r.unit_name.clone(),
                    a.contacts.to_string(),
                    cell(a.unique_people),
                    a.households_reached.to_string(),
                    cell(a.estimated_audience),
                    a.method.clone(),
                    a.confidence.clone(),
                    from_array(&a.skill_groups).join(";"),
                    from_array(&a.fraud_types).join(";"),
                    a.materials_distributed.to_string(),
                    a.status.clone(),
                    cell(a.notes.clone()),
                ]
            }),
        )?;
        return Ok(csv_response("reach-activities.csv", body, next.as_deref()));
    }
    Ok(HttpResponse::Ok().json(ActivityListResponse {
        items: rows
            .iter()
            .map(|r| ActivityResponse::from(&r.activity))
            .collect(),
        next_cursor: next,
    }))
}

fn load_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<reach_activity::ScopedActivity, AppError> {
    reach_activity::find(conn, id)
        .optional_app()?
        .filter(|found| {
            found.activity.deleted_at.is_none()
                && actor.sees_team(found.activity.team_id, &found.team_unit_path)
        })
        .ok_or_else(|| AppError::not_found("reach activity"))
}

/// Find a reach activity.
///
/// One activity with `ETag`; deleted ones and those outside your scope are 404.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "find_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The activity.", body = ActivityResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reach-activities/{id}")]
pub async fn find_reach_activity(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindReachActivity)?;
    let id = id.into_inner();
    let found = db.run(move |conn| load_visible(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.activity.version)))
        .json(ActivityResponse::from(&found.activity)))
}

/// Changes to an activity (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contacts": 70, "unique_people": 61}))]
pub struct UpdateActivityRequest {
    pub org_unit_id: Option<Uuid>,
    #[schema(value_type = Option<crate::reference::ReachChannel>)]
    pub channel: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    pub contacts: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub unique_people: Option<Option<i32>>,
    pub households_reached: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub estimated_audience: Option<Option<i32>>,
    #[schema(value_type = Option<crate::reference::CountingMethod>)]
    pub method: Option<String>,
    #[schema(value_type = Option<crate::reference::Confidence>)]
    pub confidence: Option<String>,
    #[schema(value_type = Option<Vec<crate::reference::SkillGroup>>)]
    pub skill_groups: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<crate::reference::FraudType>>)]
    pub fraud_types: Option<Vec<String>>,
    pub materials_distributed: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub session_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl UpdateActivityRequest {
    fn apply(self, mut fields: ActivityFields) -> ActivityFields {
        macro_rules! set {
            ($($name:ident),*) => { $( if let Some(value) = self.$name { fields.$name = value; } )* };
        }
        set!(
            org_unit_id,
            channel,
            occurred_on,
            contacts,
            unique_people,
            households_reached,
            estimated_audience,
            method,
            confidence,
            materials_distributed,
            session_id
        );
        if let Some(groups) = self.skill_groups {
            fields.skill_groups = to_array(&groups);
        }
        if let Some(frauds) = self.fraud_types {
            fields.fraud_types = to_array(&frauds);
        }
        if let Some(notes) = self.notes {
            fields.notes = notes.as_deref().map(normalized).filter(|n| !n.is_empty());
        }
        fields
    }
}

/// Update a reach activity.
///
/// Same rules as sessions: the team's leader or an officer in scope while not verified (an edit returns
/// it to `submitted`); verified ones only admins; `If-Match` honoured; locked months closed to leaders.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "update_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateActivityRequest,
    responses(
        (status = 200, description = "Updated.", body = ActivityResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified or locked.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/reach-activities/{id}")]
pub async fn update_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateActivityRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateReachActivity)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let lock_days = settings.reporting_lock_days;
    let activity = db
        .run(move |conn| {
            conn.transaction(|conn| {
                update_in(conn, &actor, id, &if_match, |f| body.apply(f), lock_days)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(activity.version)))
        .json(ActivityResponse::from(&activity)))
}

/// Delete a reach activity.
///
/// Soft delete: a tombstone stays for sync. Same rules as an update.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "delete_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified or locked.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/reach-activities/{id}")]
pub async fn delete_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteReachActivity)?;
    let id = id.into_inner();
    let if_match = if_match(&req);
    let lock_days = settings.reporting_lock_days;
    db.run(move |conn| {
        conn.transaction(|conn| delete_in(conn, &actor, id, &if_match, lock_days).map(|_| ()))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A rejection of an activity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Số lượt không khớp với biên bản"}))]
pub struct RejectActivityRequest {
    /// Why (1-500 characters).
    pub reason: String,
}

async fn review(
    actor: AuthUser,
    id: Uuid,
    if_match: Precondition,
    status: &'static str,
    reason: Option<String>,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let activity = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let found = load_visible(conn, &actor, id)?;
                let Some(version) = review_guard(
                    &actor,
                    &found.team_unit_path,
                    &found.activity.status,
                    found.activity.version,
                    &if_match,
                    status,
                )?
                else {
                    return Ok(found.activity);
                };
                let updated =
                    reach_activity::review(conn, id, version, status, actor.id, reason.as_deref())?
                        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                let action = if status == "verified" {
                    "reach_activity_verified"
                } else {
                    "reach_activity_rejected"
                };
                record(
                    conn,
                    &actor,
                    action,
                    Some(&found.activity),
                    &updated,
                    &found.team_unit_path,
                )?;
                Ok(updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(activity.version)))
        .json(ActivityResponse::from(&activity)))
}

/// Verify a reach activity.
///
/// An officer in scope (or an admin) confirms it; it is then frozen except for admins.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "verify_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Verified.", body = ActivityResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reach-activities/{id}/verify")]
pub async fn verify_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::VerifyReachActivity)?;
    review(
        actor,
        id.into_inner(),
        if_match(&req),
        "verified",
        None,
        &db,
    )
    .await
}

/// Reject a reach activity.
///
/// An officer in scope (or an admin) sends it back with a reason.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "reject_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = RejectActivityRequest,
    responses(
        (status = 200, description = "Rejected.", body = ActivityResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified ones are rejected only by admins.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reach-activities/{id}/reject")]
pub async fn reject_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<RejectActivityRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::RejectReachActivity)?;
    let reason = normalized(&body.reason);
    let mut errors = FieldErrors::new();
    errors.check_length(
        "reason",
        &reason,
        contract::REASON_LENGTH.0,
        contract::REASON_LENGTH.1,
    );
    errors.finish()?;
    review(
        actor,
        id.into_inner(),
        if_match(&req),
        "rejected",
        Some(reason),
        &db,
    )
    .await
}
