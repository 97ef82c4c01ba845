//! Training and outreach sessions: the rules every session obeys and the operations on them (log,
//! change, delete, verify, reject), shared by the HTTP routes and sync push. Team leaders log sessions
//! (often offline, retrying with client-made ids), officers verify or reject them, and the reporting lock
//! keeps closed months stable. `CreateSessionRequest` is the operation's input and
//! `TrainingSessionResponse` the session as every client sees it (its endpoint, the sync feed, the audit
//! log).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp},
    domain::{
        Precondition, Stored,
        validation::{double_option, normalized_optional},
        workflow::{
            Decision, check_editable, check_lock, check_record_month, client_id_reused,
            load_reporting_team, review_guard, status_after_edit,
        },
    },
    error::{AppError, ErrorCode},
    models::{
        audit, org_unit,
        team::{self},
        training_session::{self, SessionFields, TrainingSession},
    },
    reference::{Choice, RecordStatus, SessionFormat, SessionKind, SessionTopic},
};

mod rules;

use rules::validate;

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000002", "kind": "training", "held_on": "2025-10-10",
    "start_time": "08:00:00", "duration_minutes": 120, "format": "in_person", "venue": "Nhà văn hoá bản Bó Nhàng",
    "topics": ["vneid", "fraud_prevention"], "participants_total": 42, "participants_female": 23,
    "participants_ethnic_minority": 39, "participants_elderly": 6, "households_reached": 30, "vneid_activations": 12,
    "payment_accounts_opened": 5, "public_service_accounts_created": 8, "online_dossiers_submitted": 3,
    "apps_installed": 15, "trainers": [], "notes": null, "recorded_at": "2025-10-10T10:15:00Z", "status": "submitted",
    "reviewed_by": null, "reviewed_at": null, "rejection_reason": null, "version": 1,
    "created_at": "2025-10-10T10:20:00Z", "updated_at": "2025-10-10T10:20:00Z"}))]
pub struct TrainingSessionResponse {
    pub id: Uuid,
    pub team_id: Uuid,
    /// Where it was held.
    pub org_unit_id: Uuid,
    /// `training` or `outreach`.
    pub kind: SessionKind,
    pub held_on: NaiveDate,
    pub start_time: Option<NaiveTime>,
    pub duration_minutes: i32,
    /// `in_person`, `door_to_door`, `online`, `mixed`.
    pub format: SessionFormat,
    pub venue: Option<String>,
    pub topics: Vec<SessionTopic>,
    pub participants_total: i32,
    pub participants_female: i32,
    pub participants_ethnic_minority: i32,
    pub participants_elderly: i32,
    pub households_reached: i32,
    pub vneid_activations: i32,
    pub payment_accounts_opened: i32,
    pub public_service_accounts_created: i32,
    pub online_dossiers_submitted: i32,
    pub apps_installed: i32,
    /// Membership ids of the team members who ran it.
    pub trainers: Vec<Uuid>,
    pub notes: Option<String>,
    /// The device's clock when the leader saved it.
    pub recorded_at: Option<DateTime<Utc>>,
    /// `submitted`, `verified` or `rejected`.
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

impl TrainingSessionResponse {
    /// The response with its record's attachment count.
    #[must_use]
    pub fn with_attachment_count(mut self, count: i64) -> Self {
        self.attachment_count = Some(count);
        self
    }
}

impl From<&TrainingSession> for TrainingSessionResponse {
    fn from(s: &TrainingSession) -> Self {
        Self {
            id: s.id,
            team_id: s.team_id,
            org_unit_id: s.org_unit_id,
            kind: s.kind,
            held_on: s.held_on,
            start_time: s.start_time,
            duration_minutes: s.duration_minutes,
            format: s.format,
            venue: s.venue.clone(),
            topics: s.topic_list(),
            participants_total: s.participants_total,
            participants_female: s.participants_female,
            participants_ethnic_minority: s.participants_ethnic_minority,
            participants_elderly: s.participants_elderly,
            households_reached: s.households_reached,
            vneid_activations: s.vneid_activations,
            payment_accounts_opened: s.payment_accounts_opened,
            public_service_accounts_created: s.public_service_accounts_created,
            online_dossiers_submitted: s.online_dossiers_submitted,
            apps_installed: s.apps_installed,
            trainers: s.trainer_list(),
            notes: s.notes.clone(),
            recorded_at: s.recorded_at,
            status: s.status,
            reviewed_by: s.reviewed_by,
            reviewed_at: s.reviewed_at,
            rejection_reason: s.rejection_reason.clone(),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
            attachment_count: None,
        }
    }
}

/// A new session.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "kind": "training", "held_on": "2025-10-10", "start_time": "08:00:00", "duration_minutes": 120, "format": "in_person",
    "venue": "Nhà văn hoá bản Bó Nhàng", "topics": ["vneid", "fraud_prevention"], "participants_total": 42,
    "participants_female": 23, "participants_ethnic_minority": 39, "participants_elderly": 6, "households_reached": 30,
    "vneid_activations": 12, "apps_installed": 15, "recorded_at": "2025-10-10T10:15:00Z"}))]
pub struct CreateSessionRequest {
    /// A client-made id (offline phones). The same id and content again returns the stored session (200);
    /// the same id with other content is 409.
    pub id: Option<Uuid>,
    pub team_id: Uuid,
    /// Where it was held: the team's unit or a unit below the same commune (default: the team's unit).
    pub org_unit_id: Option<Uuid>,
    #[schema(value_type = crate::reference::SessionKind)]
    pub kind: Choice<SessionKind>,
    /// Not in the future (one day of grace, Vietnam time) and not before the team was founded.
    pub held_on: NaiveDate,
    pub start_time: Option<NaiveTime>,
    /// 1 to 600.
    pub duration_minutes: i32,
    #[schema(value_type = crate::reference::SessionFormat)]
    pub format: Choice<SessionFormat>,
    pub venue: Option<String>,
    /// At least one, from `GET /api/v1/reference` (`session_topics`).
    #[schema(value_type = Vec<crate::reference::SessionTopic>)]
    pub topics: Vec<Choice<SessionTopic>>,
    pub participants_total: i32,
    /// At most `participants_total`.
    pub participants_female: i32,
    /// At most `participants_total`.
    pub participants_ethnic_minority: i32,
    /// At most `participants_total`.
    pub participants_elderly: i32,
    pub households_reached: i32,
    #[serde(default)]
    pub vneid_activations: i32,
    #[serde(default)]
    pub payment_accounts_opened: i32,
    #[serde(default)]
    pub public_service_accounts_created: i32,
    #[serde(default)]
    pub online_dossiers_submitted: i32,
    #[serde(default)]
    pub apps_installed: i32,
    /// Membership ids of the team.
    #[serde(default)]
    pub trainers: Vec<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl CreateSessionRequest {
    /// The stored fields this request makes for a team serving `default_unit`.
    pub fn fields(&self, default_unit: Uuid) -> SessionFields {
        SessionFields {
            team_id: self.team_id,
            org_unit_id: self.org_unit_id.unwrap_or(default_unit),
            kind: self.kind.clone(),
            held_on: self.held_on,
            start_time: self.start_time,
            duration_minutes: self.duration_minutes,
            format: self.format.clone(),
            venue: normalized_optional(self.venue.as_deref()),
            topics: self.topics.clone(),
            participants_total: self.participants_total,
            participants_female: self.participants_female,
            participants_ethnic_minority: self.participants_ethnic_minority,
            participants_elderly: self.participants_elderly,
            households_reached: self.households_reached,
            vneid_activations: self.vneid_activations,
            payment_accounts_opened: self.payment_accounts_opened,
            public_service_accounts_created: self.public_service_accounts_created,
            online_dossiers_submitted: self.online_dossiers_submitted,
            apps_installed: self.apps_installed,
            trainers: self.trainers.clone(),
            notes: normalized_optional(self.notes.as_deref()),
            recorded_at: self.recorded_at,
        }
    }
}

/// Changes to a session (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"participants_total": 45, "participants_female": 25}))]
pub struct UpdateSessionRequest {
    pub org_unit_id: Option<Uuid>,
    #[schema(value_type = Option<SessionKind>)]
    pub kind: Option<Choice<SessionKind>>,
    pub held_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "08:00:00")]
    pub start_time: Option<Option<NaiveTime>>,
    pub duration_minutes: Option<i32>,
    #[schema(value_type = Option<SessionFormat>)]
    pub format: Option<Choice<SessionFormat>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub venue: Option<Option<String>>,
    #[schema(value_type = Option<Vec<SessionTopic>>)]
    pub topics: Option<Vec<Choice<SessionTopic>>>,
    pub participants_total: Option<i32>,
    pub participants_female: Option<i32>,
    pub participants_ethnic_minority: Option<i32>,
    pub participants_elderly: Option<i32>,
    pub households_reached: Option<i32>,
    pub vneid_activations: Option<i32>,
    pub payment_accounts_opened: Option<i32>,
    pub public_service_accounts_created: Option<i32>,
    pub online_dossiers_submitted: Option<i32>,
    pub apps_installed: Option<i32>,
    pub trainers: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl UpdateSessionRequest {
    /// The stored fields with these changes applied (checked by the operation).
    pub fn apply(self, mut fields: SessionFields) -> SessionFields {
        macro_rules! set {
            ($($name:ident),*) => { $( if let Some(value) = self.$name { fields.$name = value; } )* };
        }
        set!(
            org_unit_id,
            kind,
            held_on,
            start_time,
            duration_minutes,
            format,
            topics,
            participants_total,
            participants_female,
            participants_ethnic_minority,
            participants_elderly,
            households_reached,
            vneid_activations,
            payment_accounts_opened,
            public_service_accounts_created,
            online_dossiers_submitted,
            apps_installed,
            trainers
        );
        if let Some(venue) = self.venue {
            fields.venue = normalized_optional(venue.as_deref());
        }
        if let Some(notes) = self.notes {
            fields.notes = normalized_optional(notes.as_deref());
        }
        if let Some(recorded_at) = self.recorded_at {
            fields.recorded_at = Some(recorded_at);
        }
        fields
    }
}

fn record(
    conn: &mut PgConnection,
    actor: &AuthUser,
    action: &'static str,
    before: Option<&TrainingSession>,
    after: &TrainingSession,
    path: &str,
) -> Result<(), AppError> {
    Ok(audit::record_change(
        conn,
        &actor.audit_context(),
        action,
        "training_session",
        after.id,
        Some(path.to_owned()),
        before.map(TrainingSessionResponse::from).as_ref(),
        &TrainingSessionResponse::from(after),
    )?)
}

/// The stored session when a client id is sent again with the same content; 409 otherwise.
fn replay_or_conflict(
    existing: TrainingSession,
    fields: &SessionFields,
) -> Result<Stored<TrainingSession>, AppError> {
    if SessionFields::of(&existing) == *fields && existing.deleted_at.is_none() {
        Ok(Stored::AlreadyStored(existing))
    } else {
        Err(client_id_reused())
    }
}

/// Creates session `id` from `body` (call inside a transaction): the new session, or the stored one when
/// the same id came with the same content before (409 with other content); every rule applies.
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    body: &CreateSessionRequest,
    lock_days: u32,
) -> Result<Stored<TrainingSession>, AppError> {
    let (team, unit) = load_reporting_team(conn, actor, body.team_id)?;
    let fields = body.fields(team.org_unit_id);
    if let Some(existing) = training_session::find(conn, id).optional_app()? {
        return replay_or_conflict(existing.session, &fields);
    }
    validate(conn, &fields, &team, &unit)?;
    check_lock(actor, fields.held_on, lock_days)?;
    check_record_month(conn, actor, team.id, fields.held_on)?;
    match training_session::insert(conn, id, &fields, actor.id)? {
        Some(session) => {
            record(
                conn,
                actor,
                "training_session_created",
                None,
                &session,
                &unit.path,
            )?;
            Ok(Stored::Created(session))
        }
        // A twin request with the same client id committed first.
        None => replay_or_conflict(training_session::find(conn, id)?.session, &fields),
    }
}

/// A live session the actor may edit whose version satisfies `if_match` (412 otherwise).
fn editable(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    lock_days: u32,
) -> Result<training_session::ScopedSession, AppError> {
    let found = find_visible(conn, actor, id)?;
    check_editable(
        actor,
        found.session.team_id,
        &found.team_unit_path,
        found.session.status,
        found.session.held_on,
        lock_days,
    )?;
    check_record_month(conn, actor, found.session.team_id, found.session.held_on)?;
    if_match.check(found.session.version)?;
    Ok(found)
}

/// Changes session `id`, if its version satisfies `if_match`, to the fields `change` makes of the stored
/// ones (call inside a transaction); every rule applies.
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    change: impl FnOnce(SessionFields) -> SessionFields,
    lock_days: u32,
) -> Result<TrainingSession, AppError> {
    let found = editable(conn, actor, id, if_match, lock_days)?;
    let version = found.session.version;
    let fields = change(SessionFields::of(&found.session));
    let team = team::find(conn, found.session.team_id)?;
    let unit = org_unit::find(conn, team.org_unit_id)?;
    validate(conn, &fields, &team, &unit)?;
    check_lock(actor, fields.held_on, lock_days)?;
    check_record_month(conn, actor, team.id, fields.held_on)?;
    let status = status_after_edit(found.session.status);
    let updated = training_session::update(conn, id, version, &fields, status)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    record(
        conn,
        actor,
        "training_session_updated",
        Some(&found.session),
        &updated,
        &unit.path,
    )?;
    Ok(updated)
}

/// Deletes session `id`, if its version satisfies `if_match`, leaving a tombstone (call inside a
/// transaction); every rule applies.
pub fn delete(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    lock_days: u32,
) -> Result<TrainingSession, AppError> {
    let found = editable(conn, actor, id, if_match, lock_days)?;
    let version = found.session.version;
    let deleted = training_session::soft_delete(conn, id, version)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    record(
        conn,
        actor,
        "training_session_deleted",
        Some(&found.session),
        &deleted,
        &found.team_unit_path,
    )?;
    Ok(deleted)
}

/// A live session the actor may see, or 404.
pub fn find_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<training_session::ScopedSession, AppError> {
    training_session::find(conn, id)
        .optional_app()?
        .filter(|found| {
            found.session.deleted_at.is_none()
                && actor.sees_team(found.session.team_id, &found.team_unit_path)
        })
        .ok_or_else(|| AppError::not_found("training session"))
}

/// Reviews the training sessions `ids` at once (a bulk review, inside the caller's transaction): each with the checks
/// of [`review`], the writes in one statement and their audit events in another.
pub fn review_set(
    conn: &mut PgConnection,
    actor: &AuthUser,
    ids: &[Uuid],
    target: crate::reference::RecordStatus,
    reason: Option<&str>,
) -> Result<crate::domain::bulk_review::Decided, AppError> {
    let found = training_session::find_many_scoped_for_update(conn, ids)?
        .into_iter()
        .map(|f| {
            let candidate = crate::domain::bulk_review::Candidate {
                team_id: f.session.team_id,
                day: f.session.held_on,
                status: f.session.status,
                version: f.session.version,
                team_unit_path: f.team_unit_path,
                deleted: f.session.deleted_at.is_some(),
            };
            (f.session.id, (f.session, candidate))
        })
        .collect();
    crate::domain::bulk_review::review_records(
        conn,
        actor,
        ("training session", "training_session"),
        ids,
        found,
        target,
        |conn, writes| training_session::review_many(conn, writes, target, actor.id, reason),
        |r| (r.id, r.status, r.version, TrainingSessionResponse::from(r)),
    )
}

/// Verifies or rejects session `id` if its version satisfies `if_match` (call inside a transaction):
/// officers in scope and admins; a verified session changes only by an admin; deciding what it already
/// is writes nothing.
pub fn review(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: &Precondition,
    decision: Decision,
) -> Result<TrainingSession, AppError> {
    let (status, reason) = decision.outcome()?;
    let found = find_visible(conn, actor, id)?;
    check_record_month(conn, actor, found.session.team_id, found.session.held_on)?;
    let Some(version) = review_guard(
        actor,
        &found.team_unit_path,
        found.session.status,
        found.session.version,
        if_match,
        status,
    )?
    else {
        return Ok(found.session);
    };
    let updated = training_session::review(conn, id, version, status, actor.id, reason.as_deref())?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    let action = if status == RecordStatus::Verified {
        "training_session_verified"
    } else {
        "training_session_rejected"
    };
    record(
        conn,
        actor,
        action,
        Some(&found.session),
        &updated,
        &found.team_unit_path,
    )?;
    Ok(updated)
}
