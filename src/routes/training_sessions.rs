//! Training and outreach sessions: team leaders log them (often offline, retrying), officers verify or
//! reject them, and a reporting lock keeps closed months stable.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    config::Settings,
    contract,
    db::Db,
    error::{AppError, ErrorCode, Problem},
    models::{
        audit, org_unit, person,
        team::{self, Team},
        training_session::{self, SessionFields, SessionFilter, TrainingSession},
    },
    reference,
    routes::{
        conditional::{
            check_if_match, decode_keyset, double_option, encode_keyset, etag, if_match, page_limit,
        },
        csv_export::{cell, csv_response, to_csv, wants_csv},
        org_units::today_in_vietnam,
        validation::{FieldErrors, normalized},
        workflow::{
            check_editable, check_lock, client_id_reused, commune_path, load_reporting_team,
            review_guard, status_after_edit,
        },
    },
};

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
    #[schema(value_type = crate::reference::SessionKind)]
    pub kind: String,
    pub held_on: NaiveDate,
    pub start_time: Option<NaiveTime>,
    pub duration_minutes: i32,
    /// `in_person`, `door_to_door`, `online`, `mixed`.
    #[schema(value_type = crate::reference::SessionFormat)]
    pub format: String,
    pub venue: Option<String>,
    #[schema(value_type = Vec<crate::reference::SessionTopic>)]
    pub topics: Vec<String>,
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
    #[schema(value_type = crate::reference::RecordStatus)]
    pub status: String,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&TrainingSession> for TrainingSessionResponse {
    fn from(s: &TrainingSession) -> Self {
        Self {
            id: s.id,
            team_id: s.team_id,
            org_unit_id: s.org_unit_id,
            kind: s.kind.clone(),
            held_on: s.held_on,
            start_time: s.start_time,
            duration_minutes: s.duration_minutes,
            format: s.format.clone(),
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
            status: s.status.clone(),
            reviewed_by: s.reviewed_by,
            reviewed_at: s.reviewed_at,
            rejection_reason: s.rejection_reason.clone(),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
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
    pub kind: String,
    /// Not in the future (one day of grace, Vietnam time) and not before the team was founded.
    pub held_on: NaiveDate,
    pub start_time: Option<NaiveTime>,
    /// 1 to 600.
    pub duration_minutes: i32,
    #[schema(value_type = crate::reference::SessionFormat)]
    pub format: String,
    pub venue: Option<String>,
    /// At least one, from `GET /api/v1/reference` (`session_topics`).
    #[schema(value_type = Vec<crate::reference::SessionTopic>)]
    pub topics: Vec<String>,
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
            venue: self
                .venue
                .as_deref()
                .map(normalized)
                .filter(|v| !v.is_empty()),
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
            notes: self
                .notes
                .as_deref()
                .map(normalized)
                .filter(|n| !n.is_empty()),
            recorded_at: self.recorded_at,
        }
    }
}

/// Every rule of a session, as field errors (all at once).
fn validate(
    conn: &mut PgConnection,
    fields: &SessionFields,
    team: &Team,
    team_unit: &org_unit::OrgUnit,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if !reference::is_one_of(reference::SESSION_KINDS, &fields.kind) {
        errors.add(
            "kind",
            "invalid_choice",
            "must be training or outreach",
            "phải là training hoặc outreach",
        );
    }
    if !reference::is_one_of(reference::SESSION_FORMATS, &fields.format) {
        errors.add(
            "format",
            "invalid_choice",
            "must be in_person, door_to_door, online or mixed",
            "hình thức không hợp lệ",
        );
    }
    let (shortest, longest) = contract::SESSION_MINUTES;
    if !(shortest..=longest).contains(&i64::from(fields.duration_minutes)) {
        errors.add(
            "duration_minutes",
            "out_of_range",
            format!("must be from {shortest} to {longest}"),
            format!("phải từ {shortest} đến {longest} phút"),
        );
    }
    let today = today_in_vietnam();
    if fields.held_on > today + chrono::Duration::days(1) {
        errors.add(
            "held_on",
            "in_future",
            "must not be in the future",
            "không được ở tương lai",
        );
    }
    if team
        .founded_on
        .is_some_and(|founded| fields.held_on < founded)
    {
        errors.add(
            "held_on",
            "before_team_founded",
            "must not be before the team was founded",
            "không được trước ngày thành lập tổ",
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
    if fields.topics.is_empty() {
        errors.add(
            "topics",
            "required",
            "must list at least one topic",
            "phải có ít nhất một chủ đề",
        );
    }
    for (index, topic) in fields.topics.iter().enumerate() {
        if !reference::is_one_of(reference::SESSION_TOPICS, topic) {
            errors.add(
                format!("topics[{index}]"),
                "invalid_choice",
                "is not a topic of GET /api/v1/reference",
                "chủ đề không hợp lệ",
            );
        }
    }
    if fields
        .topics
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
        != fields.topics.len()
    {
        errors.add(
            "topics",
            "duplicate",
            "must not repeat a topic",
            "không được lặp chủ đề",
        );
    }
    let counts = [
        ("participants_total", fields.participants_total),
        ("participants_female", fields.participants_female),
        (
            "participants_ethnic_minority",
            fields.participants_ethnic_minority,
        ),
        ("participants_elderly", fields.participants_elderly),
        ("households_reached", fields.households_reached),
        ("vneid_activations", fields.vneid_activations),
        ("payment_accounts_opened", fields.payment_accounts_opened),
        (
            "public_service_accounts_created",
            fields.public_service_accounts_created,
        ),
        (
            "online_dossiers_submitted",
            fields.online_dossiers_submitted,
        ),
        ("apps_installed", fields.apps_installed),
    ];
    for (name, value) in counts {
        if value < 0 {
            errors.add(name, "negative", "must not be negative", "không được âm");
        }
    }
    let total = fields.participants_total;
    for (name, value) in [
        ("participants_female", fields.participants_female),
        (
            "participants_ethnic_minority",
            fields.participants_ethnic_minority,
        ),
        ("participants_elderly", fields.participants_elderly),
    ] {
        if value > total {
            errors.add(
                name,
                "exceeds_total",
                "must not exceed participants_total",
                "không được lớn hơn participants_total",
            );
        }
    }
    // Plausibility: each person activates one VNeID, opens a few accounts; a household has a participant.
    for (name, value, per_person) in [
        ("households_reached", fields.households_reached, 1),
        ("vneid_activations", fields.vneid_activations, 1),
        ("payment_accounts_opened", fields.payment_accounts_opened, 2),
        (
            "public_service_accounts_created",
            fields.public_service_accounts_created,
            1,
        ),
        (
            "online_dossiers_submitted",
            fields.online_dossiers_submitted,
            5,
        ),
        ("apps_installed", fields.apps_installed, 5),
    ] {
        if value > total.saturating_mul(per_person) {
            errors.add(
                name,
                "implausible",
                format!(
                    "must not exceed {per_person} per participant ({} here)",
                    total.saturating_mul(per_person)
                ),
                format!("không được vượt quá {per_person} trên mỗi người tham gia"),
            );
        }
    }
    errors.check_max_length("venue", fields.venue.as_deref(), contract::VENUE_MAX);
    errors.check_max_length("notes", fields.notes.as_deref(), contract::NOTES_MAX);
    // Where: the team's unit or a unit below the same commune.
    let commune_path = commune_path(team_unit);
    match org_unit::find(conn, fields.org_unit_id).optional_app()? {
        Some(unit) if unit.path.starts_with(&commune_path) => {}
        _ => errors.add(
            "org_unit_id",
            "outside_team_commune",
            "must be the team's unit or a unit below the same commune",
            "phải là đơn vị của tổ hoặc đơn vị thuộc cùng xã",
        ),
    }
    if !fields.trainers.is_empty() {
        let members: std::collections::HashSet<Uuid> =
            person::team_memberships(conn, team.id, true)?
                .iter()
                .map(|m| m.membership.id)
                .collect();
        for (index, trainer) in fields.trainers.iter().enumerate() {
            if !members.contains(trainer) {
                errors.add(
                    format!("trainers[{index}]"),
                    "not_a_member",
                    "is not a membership of this team",
                    "không phải thành viên của tổ",
                );
            }
        }
    }
    errors.finish()
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
) -> Result<(u16, TrainingSession), AppError> {
    if SessionFields::of(&existing) == *fields && existing.deleted_at.is_none() {
        Ok((200, existing))
    } else {
        Err(client_id_reused())
    }
}

/// Creates session `id` from `body` (call inside a transaction): 201 and the session, or 200 and the stored
/// one when the same id came with the same content before; every rule of the endpoint applies.
pub fn create_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    body: &CreateSessionRequest,
    lock_days: u32,
) -> Result<(u16, TrainingSession), AppError> {
    let (team, unit) = load_reporting_team(conn, actor, body.team_id)?;
    let fields = body.fields(team.org_unit_id);
    if let Some(existing) = training_session::find(conn, id).optional_app()? {
        return replay_or_conflict(existing.session, &fields);
    }
    validate(conn, &fields, &team, &unit)?;
    check_lock(actor, fields.held_on, lock_days)?;
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
            Ok((201, session))
        }
        // A twin request with the same client id committed first.
        None => replay_or_conflict(training_session::find(conn, id)?.session, &fields),
    }
}

/// A live session the actor may edit, matching `if_match` (an `If-Match` value: 412 when stale).
fn editable(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: Option<&str>,
    lock_days: u32,
) -> Result<training_session::ScopedSession, AppError> {
    let found = load_visible(conn, actor, id)?;
    check_editable(
        actor,
        found.session.team_id,
        &found.team_unit_path,
        &found.session.status,
        found.session.held_on,
        lock_days,
    )?;
    check_if_match(if_match, found.session.version)?;
    Ok(found)
}

/// Changes session `id`, if it matches `if_match` (`None`: whatever is current), to the fields `change` makes of the stored
/// ones (call inside a transaction); every rule of the endpoint applies.
pub fn update_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: Option<&str>,
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
    let status = status_after_edit(&found.session.status);
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

/// Deletes session `id`, if it matches `if_match` (`None`: whatever is current), leaving a tombstone (call inside a
/// transaction); every rule of the endpoint applies.
pub fn delete_in(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    if_match: Option<&str>,
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

/// Log a session.
///
/// Records a training or outreach session (the team's leader for their team, officers for teams in
/// scope). Safe to retry: send `Idempotency-Key`, or a client-made `id` (the same id and content again
/// returns the stored session with 200). Every rule violation is reported at once.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "create_training_session",
    security(("bearer" = [])),
    request_body = CreateSessionRequest,
    responses(
        (status = 200, description = "Already stored under this client id.", body = TrainingSessionResponse),
        (status = 201, description = "Recorded.", body = TrainingSessionResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not log sessions.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Client id reused with other content, or the month is locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/training-sessions")]
pub async fn create_training_session(
    actor: AuthUser,
    body: web::Json<CreateSessionRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateTrainingSession)?;
    let body = body.into_inner();
    let lock_days = settings.reporting_lock_days;
    let (status, session) = db
        .run(move |conn| {
            let id = body.id.unwrap_or_else(Uuid::now_v7);
            conn.transaction(|conn| create_in(conn, &actor, id, &body, lock_days))
        })
        .await?;
    let mut response = if status == 201 {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("ETag", etag(session.version)))
        .insert_header((
            "Location",
            format!("/api/v1/training-sessions/{}", session.id),
        ))
        .json(TrainingSessionResponse::from(&session)))
}

/// Filters for listing sessions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SessionListQuery {
    pub team_id: Option<Uuid>,
    /// Sessions held in this unit and its whole subtree.
    pub org_unit_id: Option<Uuid>,
    /// Held on or after.
    pub from: Option<NaiveDate>,
    /// Held on or before.
    pub to: Option<NaiveDate>,
    /// `training` or `outreach`.
    #[param(value_type = Option<crate::reference::SessionKind>)]
    pub kind: Option<String>,
    /// Sessions covering this topic.
    #[param(value_type = Option<crate::reference::SessionTopic>)]
    pub topic: Option<String>,
    /// `submitted`, `verified` or `rejected`.
    #[param(value_type = Option<crate::reference::RecordStatus>)]
    pub status: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// A page of sessions, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionListResponse {
    pub items: Vec<TrainingSessionResponse>,
    pub next_cursor: Option<String>,
}

const SESSION_CSV_COLUMNS: [&str; 24] = [
    "id",
    "team_code",
    "held_on",
    "kind",
    "format",
    "venue",
    "org_unit_name",
    "topics",
    "duration_minutes",
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
    "status",
    "reviewed_at",
    "rejection_reason",
    "notes",
    "version",
];

/// List sessions.
///
/// Sessions of the teams in your scope, newest first, with keyset pagination. `Accept: text/csv` returns
/// the same rows as CSV.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "list_training_sessions",
    params(SessionListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions (JSON, or CSV with `Accept: text/csv`).",
         content((SessionListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/training-sessions")]
pub async fn list_training_sessions(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<SessionListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTrainingSessions)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = decode_keyset::<NaiveDate>(query.cursor.as_deref())?;
    let mut errors = FieldErrors::new();
    if let Some(kind) = &query.kind
        && !reference::is_one_of(reference::SESSION_KINDS, kind)
    {
        errors.add(
            "kind",
            "invalid_choice",
            "must be training or outreach",
            "loại không hợp lệ",
        );
    }
    if let Some(topic) = &query.topic
        && !reference::is_one_of(reference::SESSION_TOPICS, topic)
    {
        errors.add(
            "topic",
            "invalid_choice",
            "is not a topic of GET /api/v1/reference",
            "chủ đề không hợp lệ",
        );
    }
    if let Some(status) = &query.status
        && !matches!(status.as_str(), "submitted" | "verified" | "rejected")
    {
        errors.add(
            "status",
            "invalid_choice",
            "must be submitted, verified or rejected",
            "trạng thái không hợp lệ",
        );
    }
    errors.finish()?;
    let mut filter = SessionFilter {
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        held_within_path: None,
        team_id: query.team_id,
        from: query.from,
        to: query.to,
        kind: query.kind,
        topic: query.topic,
        status: query.status,
    };
    if actor.role == Role::TeamLeader {
        // A leader sees their own team only, whatever else was asked.
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
            if let Some(root) = root {
                let unit = org_unit::find(conn, root)
                    .optional_app()?
                    .ok_or_else(|| AppError::not_found("org unit"))?;
                filter.held_within_path = Some(unit.path);
            }
            Ok(training_session::list(conn, &filter, after, limit)?)
        })
        .await?;
    let next = if rows.len() as i64 == limit {
        rows.last()
            .map(|(s, _, _)| encode_keyset(&s.held_on.to_string(), s.id))
    } else {
        None
    };
    if wants_csv(&req) {
        let body = to_csv(
            &SESSION_CSV_COLUMNS,
            rows.iter().map(|(s, team_code, unit_name)| {
                vec![
                    s.id.to_string(),
                    team_code.clone(),
                    s.held_on.to_string(),
                    s.kind.clone(),
                    s.format.clone(),
                    cell(s.venue.clone()),
                    unit_name.clone(),
                    s.topic_list().join(";"),
                    s.duration_minutes.to_string(),
                    s.participants_total.to_string(),
                    s.participants_female.to_string(),
                    s.participants_ethnic_minority.to_string(),
                    s.participants_elderly.to_string(),
                    s.households_reached.to_string(),
                    s.vneid_activations.to_string(),
                    s.payment_accounts_opened.to_string(),
                    s.public_service_accounts_created.to_string(),
                    s.online_dossiers_submitted.to_string(),
                    s.apps_installed.to_string(),
                    s.status.clone(),
                    cell(s.reviewed_at.map(|at| at.to_rfc3339())),
                    cell(s.rejection_reason.clone()),
                    cell(s.notes.clone()),
                    s.version.to_string(),
                ]
            }),
        )?;
        return Ok(csv_response("training-sessions.csv", body, next.as_deref()));
    }
    Ok(HttpResponse::Ok().json(SessionListResponse {
        items: rows
            .iter()
            .map(|(s, _, _)| TrainingSessionResponse::from(s))
            .collect(),
        next_cursor: next,
    }))
}

/// A live session the actor may see, or 404.
fn load_visible(
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

/// Find a session.
///
/// One session with `ETag`. Deleted sessions and sessions outside your scope are 404.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "find_training_session",
    params(("id" = Uuid, Path, description = "Session id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session.", body = TrainingSessionResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/training-sessions/{id}")]
pub async fn find_training_session(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindTrainingSession)?;
    let id = id.into_inner();
    let found = db.run(move |conn| load_visible(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.session.version)))
        .json(TrainingSessionResponse::from(&found.session)))
}

/// Changes to a session (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"participants_total": 45, "participants_female": 25}))]
pub struct UpdateSessionRequest {
    pub org_unit_id: Option<Uuid>,
    #[schema(value_type = Option<crate::reference::SessionKind>)]
    pub kind: Option<String>,
    pub held_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "08:00:00")]
    pub start_time: Option<Option<NaiveTime>>,
    pub duration_minutes: Option<i32>,
    #[schema(value_type = Option<crate::reference::SessionFormat>)]
    pub format: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub venue: Option<Option<String>>,
    #[schema(value_type = Option<Vec<crate::reference::SessionTopic>>)]
    pub topics: Option<Vec<String>>,
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
    fn apply(self, mut fields: SessionFields) -> SessionFields {
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
            fields.venue = venue.as_deref().map(normalized).filter(|v| !v.is_empty());
        }
        if let Some(notes) = self.notes {
            fields.notes = notes.as_deref().map(normalized).filter(|n| !n.is_empty());
        }
        if let Some(recorded_at) = self.recorded_at {
            fields.recorded_at = Some(recorded_at);
        }
        fields
    }
}

/// Update a session.
///
/// By the team's leader or an officer in scope while `submitted` or `rejected` (an edit returns it to
/// `submitted`); a verified session only by admins (audited). `If-Match` makes the change conditional.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "update_training_session",
    params(("id" = Uuid, Path, description = "Session id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateSessionRequest,
    responses(
        (status = 200, description = "Updated.", body = TrainingSessionResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified (`session_verified`) or locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/training-sessions/{id}")]
pub async fn update_training_session(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateSessionRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTrainingSession)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let lock_days = settings.reporting_lock_days;
    let session = db
        .run(move |conn| {
            conn.transaction(|conn| {
                update_in(
                    conn,
                    &actor,
                    id,
                    if_match.as_deref(),
                    |f| body.apply(f),
                    lock_days,
                )
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(session.version)))
        .json(TrainingSessionResponse::from(&session)))
}

/// Delete a session.
///
/// Removes the session from lists and reports; a tombstone stays so that offline phones learn about it
/// when they sync. Same rules as an update.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "delete_training_session",
    params(("id" = Uuid, Path, description = "Session id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified (`session_verified`) or locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/training-sessions/{id}")]
pub async fn delete_training_session(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteTrainingSession)?;
    let id = id.into_inner();
    let if_match = if_match(&req);
    let lock_days = settings.reporting_lock_days;
    db.run(move |conn| {
        conn.transaction(|conn| {
            delete_in(conn, &actor, id, if_match.as_deref(), lock_days).map(|_| ())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A rejection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Số người tham gia không khớp với danh sách điểm danh"}))]
pub struct RejectSessionRequest {
    /// Why (1-500 characters); the team leader sees it.
    pub reason: String,
}

async fn review(
    actor: AuthUser,
    id: Uuid,
    if_match: Option<String>,
    status: &'static str,
    reason: Option<String>,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let session = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let found = load_visible(conn, &actor, id)?;
                let Some(version) = review_guard(
                    &actor,
                    &found.team_unit_path,
                    &found.session.status,
                    found.session.version,
                    if_match.as_deref(),
                    status,
                )?
                else {
                    return Ok(found.session);
                };
                let updated = training_session::review(
                    conn,
                    id,
                    version,
                    status,
                    actor.id,
                    reason.as_deref(),
                )?
                .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                let action = if status == "verified" {
                    "training_session_verified"
                } else {
                    "training_session_rejected"
                };
                record(
                    conn,
                    &actor,
                    action,
                    Some(&found.session),
                    &updated,
                    &found.team_unit_path,
                )?;
                Ok(updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(session.version)))
        .json(TrainingSessionResponse::from(&session)))
}

/// Verify a session.
///
/// An officer in scope (or an admin) confirms the session; it is then frozen for everyone but admins.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "verify_training_session",
    params(("id" = Uuid, Path, description = "Session id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Verified.", body = TrainingSessionResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/training-sessions/{id}/verify")]
pub async fn verify_training_session(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::VerifyTrainingSession)?;
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

/// Reject a session.
///
/// An officer in scope (or an admin) sends the session back with a reason; the team leader can correct
/// it, which submits it again.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "reject_training_session",
    params(("id" = Uuid, Path, description = "Session id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = RejectSessionRequest,
    responses(
        (status = 200, description = "Rejected.", body = TrainingSessionResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified sessions are rejected only by admins.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/training-sessions/{id}/reject")]
pub async fn reject_training_session(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<RejectSessionRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::RejectTrainingSession)?;
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
