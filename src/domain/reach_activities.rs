//! Reach activities: what teams did for a campaign, each kind of count kept apart with how it was counted
//! and how sure the team is; the rules and operations (log, change, delete, verify, reject) shared by the
//! HTTP routes and sync push. Same retry safety, workflow, lock, scoping and audit as sessions.
//! `CreateActivityRequest` is the operation's input and `ActivityResponse` the activity as every client
//! sees it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp},
    contract,
    domain::{
        Precondition, Stored, campaigns, today_in_vietnam,
        validation::{FieldErrors, double_option, normalized_optional},
        workflow::{
            Decision, check_editable, check_lock, check_record_month, client_id_reused,
            commune_path, load_reporting_team, review_guard, status_after_edit,
        },
    },
    error::{AppError, ErrorCode},
    models::{
        audit,
        campaign::Campaign,
        from_array, org_unit,
        reach_activity::{self, ActivityFields, ReachActivity},
        team::{self, Team},
        to_array, training_session,
    },
    reference::{
        CampaignStatus, Choice, Confidence, CountingMethod, FraudType, ReachChannel, RecordStatus,
        SkillGroup, TeamStatus,
    },
};

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
    pub channel: ReachChannel,
    pub occurred_on: NaiveDate,
    /// Person-contacts ("lượt người"), not unique people.
    pub contacts: i32,
    /// Estimated unique people.
    pub unique_people: Option<i32>,
    pub households_reached: i32,
    /// Estimated audience of a broadcast channel.
    pub estimated_audience: Option<i32>,
    /// How it was counted.
    pub method: CountingMethod,
    /// `low`, `medium` or `high`.
    pub confidence: Confidence,
    pub skill_groups: Vec<SkillGroup>,
    pub fraud_types: Vec<FraudType>,
    pub materials_distributed: i32,
    /// The session it happened during, if any.
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub status: RecordStatus,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Attachments (attendance sheets, photos, documents) the record has; on reads, lists, writes and
    /// sync pulls (absent from webhook and audit data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_count: Option<i64>,
}

impl ActivityResponse {
    /// The response with its record's attachment count.
    #[must_use]
    pub fn with_attachment_count(mut self, count: i64) -> Self {
        self.attachment_count = Some(count);
        self
    }
}

impl From<&ReachActivity> for ActivityResponse {
    fn from(a: &ReachActivity) -> Self {
        Self {
            id: a.id,
            campaign_id: a.campaign_id,
            team_id: a.team_id,
            org_unit_id: a.org_unit_id,
            channel: a.channel,
            occurred_on: a.occurred_on,
            contacts: a.contacts,
            unique_people: a.unique_people,
            households_reached: a.households_reached,
            estimated_audience: a.estimated_audience,
            method: a.method,
            confidence: a.confidence,
            skill_groups: from_array(&a.skill_groups),
            fraud_types: from_array(&a.fraud_types),
            materials_distributed: a.materials_distributed,
            session_id: a.session_id,
            notes: a.notes.clone(),
            recorded_at: a.recorded_at,
            status: a.status,
            reviewed_by: a.reviewed_by,
            reviewed_at: a.reviewed_at,
            rejection_reason: a.rejection_reason.clone(),
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
            attachment_count: None,
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
    #[schema(value_type = ReachChannel)]
    pub channel: Choice<ReachChannel>,
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
    #[schema(value_type = CountingMethod)]
    pub method: Choice<CountingMethod>,
    /// `low`, `medium` or `high`.
    #[schema(value_type = Confidence)]
    pub confidence: Choice<Confidence>,
    /// Inside the campaign's skill groups.
    #[serde(default)]
    #[schema(value_type = Vec<SkillGroup>)]
    pub skill_groups: Vec<Choice<SkillGroup>>,
    /// Inside the campaign's fraud types.
    #[serde(default)]
    #[schema(value_type = Vec<FraudType>)]
    pub fraud_types: Vec<Choice<FraudType>>,
    #[serde(default)]
    pub materials_distributed: i32,
    /// A session of the same team.
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Changes to an activity (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contacts": 70, "unique_people": 61}))]
pub struct UpdateActivityRequest {
    pub org_unit_id: Option<Uuid>,
    #[schema(value_type = Option<ReachChannel>)]
    pub channel: Option<Choice<ReachChannel>>,
    pub occurred_on: Option<NaiveDate>,
    pub contacts: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub unique_people: Option<Option<i32>>,
    pub households_reached: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub estimated_audience: Option<Option<i32>>,
    #[schema(value_type = Option<CountingMethod>)]
    pub method: Option<Choice<CountingMethod>>,
    #[schema(value_type = Option<Confidence>)]
    pub confidence: Option<Choice<Confidence>>,
    #[schema(value_type = Option<Vec<SkillGroup>>)]
    pub skill_groups: Option<Vec<Choice<SkillGroup>>>,
    #[schema(value_type = Option<Vec<FraudType>>)]
    pub fraud_types: Option<Vec<Choice<FraudType>>>,
    pub materials_distributed: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub session_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl UpdateActivityRequest {
    /// The stored fields with these changes applied (checked by the operation).
    pub fn apply(self, mut fields: ActivityFields) -> ActivityFields {
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
            fields.notes = normalized_optional(notes.as_deref());
        }
        fields
    }
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
    if campaign.status == CampaignStatus::Draft {
        errors.add(
            "campaign_id",
            "campaign_not_open",
            "the campaign is still a draft",
            "chiến dịch chưa bắt đầu",
        );
    }
    let channel = fields.channel.check(&mut errors, "channel");
    fields.method.check(&mut errors, "method");
    fields.confidence.check(&mut errors, "confidence");
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
    if team.status != TeamStatus::Active {
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
    let broadcast = channel.is_some_and(ReachChannel::broadcasts);
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
    if channel == Some(ReachChannel::ZaloGroup)
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
    let campaign_groups: Vec<Choice<SkillGroup>> = campaign
        .skill_groups
        .iter()
        .flatten()
        .map(|g| Choice::from(*g))
        .collect();
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
    let campaign_frauds: Vec<Choice<FraudType>> = campaign
        .fraud_types
        .iter()
        .flatten()
        .map(|t| Choice::from(*t))
        .collect();
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
            notes: normalized_optional(self.notes.as_deref()),
            recorded_at: self.recorded_at,
        }
    }
}

/// Creates activity `id` of `campaign_id` from `body` (call inside a transaction): the new activity, or the
/// stored one when the same id came with the same content before (409 with other content); every rule
/// applies.
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    campaign_id: Uuid,
    id: Uuid,
    body: &CreateActivityRequest,
    lock_days: u32,
) -> Result<Stored<ReachActivity>, AppError> {
    let campaign = campaigns::find(conn, campaign_id)?;
    let (team, unit) = load_reporting_team(conn, actor, body.team_id)?;
    let fields = body.fields(campaign_id, team.org_unit_id);
    let replay = |existing: ReachActivity| {
        if ActivityFields::of(&existing) == fields && existing.deleted_at.is_none() {
            Ok(Stored::AlreadyStored(existing))
        } else {
            Err(client_id_reused())
        }
    };
    if let Some(existing) = reach_activity::find(conn, id).optional_app()? {
        return replay(existing.activity);
    }
    validate(conn, &fields, &campaign, &team, &unit)?;
    check_lock(actor, fields.occurred_on, lock_days)?;
    check_record_month(conn, actor, team.id, fields.occurred_on)?;
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
            Ok(Stored::Created(activity))
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
    let found = find_visible(conn, actor, id)?;
    let a = &found.activity;
    check_editable(
        actor,
        a.team_id,
        &found.team_unit_path,
        a.status,
        a.occurred_on,
        lock_days,
    )?;
    check_record_month(conn, actor, a.team_id, a.occurred_on)?;
    if_match.check(a.version)?;
    Ok(found)
}

/// Changes activity `id` at `version` (`None`: whatever is current) to the fields `change` makes of the
/// stored ones (call inside a transaction); every rule of the endpoint applies.
pub fn update(
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
    let campaign = campaigns::find(conn, a.campaign_id)?;
    let team = team::find(conn, a.team_id)?;
    let unit = org_unit::find(conn, team.org_unit_id)?;
    validate(conn, &fields, &campaign, &team, &unit)?;
    check_lock(actor, fields.occurred_on, lock_days)?;
    check_record_month(conn, actor, team.id, fields.occurred_on)?;
    let updated =
        reach_activity::update(conn, id, a.version, &fields, status_after_edit(a.status))?
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
pub fn delete(
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

/// A live activity the actor may see, or 404.
pub fn find_visible(
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

/// Reviews the reach activities `ids` at once (a bulk review, inside the caller's transaction): each with the checks
/// of [`review`], the writes in one statement and their audit events in another.
pub fn review_set(
    conn: &mut PgConnection,
    actor: &AuthUser,
    ids: &[Uuid],
    target: crate::reference::RecordStatus,
    reason: Option<&str>,
) -> Result<crate::domain::bulk_review::Decided, AppError> {
    let found = reach_activity::find_many_scoped_for_update(conn, ids)?
        .into_iter()
        .map(|f| {
            let candidate = crate::domain::bulk_review::Candidate {
                team_id: f.activity.team_id,
                day: f.activity.occurred_on,
                status: f.activity.status,
                version: f.activity.version,
                team_unit_path: f.team_unit_path,
                deleted: f.activity.deleted_at.is_some(),
            };
            (f.activity.id, (f.activity, candidate))
        })
        .collect();
    crate::domain::bulk_review::review_records(
        conn,
        actor,
        ("reach activity", "reach_activity"),
        ids,
        found,
        target,
        |conn, writes| reach_activity::review_many(conn, writes, target, actor.id, reason),
        |r| (r.id, r.status, r.version, ActivityResponse::from(r)),
    )
}

/// Verifies or rejects activity `id` if its version satisfies `if_match` (call inside a transaction):
/// officers in scope and admins; a verified activity changes only by an admin; deciding what it already
/// is writes nothing.
pub fn review(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    decision: Decision,
) -> Result<ReachActivity, AppError> {
    let (status, reason) = decision.outcome()?;
    let found = find_visible(conn, actor, id)?;
    check_record_month(
        conn,
        actor,
        found.activity.team_id,
        found.activity.occurred_on,
    )?;
    let Some(version) = review_guard(
        actor,
        &found.team_unit_path,
        found.activity.status,
        found.activity.version,
        if_match,
        status,
    )?
    else {
        return Ok(found.activity);
    };
    let updated = reach_activity::review(conn, id, version, status, actor.id, reason.as_deref())?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    let action = if status == RecordStatus::Verified {
        "reach_activity_verified"
    } else {
        "reach_activity_rejected"
    };
    record(
        conn,
        actor,
        action,
        Some(&found.activity),
        &updated,
        &found.team_unit_path,
    )?;
    Ok(updated)
}
