//! Training and outreach sessions: team leaders log them (often offline, retrying), officers verify or
//! reject them, and a reporting lock keeps closed months stable.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    config::Settings,
    db::Db,
    domain::validation::double_option,
    domain::{
        Precondition,
        training_sessions::{self as domain, CreateSessionRequest, TrainingSessionResponse},
        validation::{FieldErrors, normalized_optional},
        workflow::Decision,
    },
    error::{AppError, Problem},
    models::{
        org_unit,
        training_session::{self, SessionFields, SessionFilter},
    },
    reference::{Choice, RecordStatus, SessionFormat, SessionKind, SessionTopic, check_choice},
    routes::{
        conditional::{decode_keyset, encode_keyset, etag, if_match, page_limit},
        csv_export::{cell, codes_cell, csv_response, to_csv, wants_csv},
    },
};

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
    let stored = db
        .run(move |conn| {
            let id = body.id.unwrap_or_else(Uuid::now_v7);
            conn.transaction(|conn| domain::create(conn, &actor, id, &body, lock_days))
        })
        .await?;
    let mut response = if stored.is_created() {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let session = stored.into_record();
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
    #[param(value_type = Option<SessionKind>)]
    pub kind: Option<Choice<SessionKind>>,
    /// Sessions covering this topic.
    #[param(value_type = Option<SessionTopic>)]
    pub topic: Option<Choice<SessionTopic>>,
    /// `submitted`, `verified` or `rejected`.
    #[param(value_type = Option<RecordStatus>)]
    pub status: Option<Choice<RecordStatus>>,
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
    let kind = check_choice(&mut errors, "kind", query.kind.as_ref());
    let topic = check_choice(&mut errors, "topic", query.topic.as_ref());
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    errors.finish()?;
    let mut filter = SessionFilter {
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        held_within_path: None,
        team_id: query.team_id,
        from: query.from,
        to: query.to,
        kind,
        topic,
        status,
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
                    s.kind.to_string(),
                    s.format.to_string(),
                    cell(s.venue.clone()),
                    unit_name.clone(),
                    codes_cell(&s.topic_list()),
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
                    s.status.to_string(),
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
    let found = db
        .run(move |conn| domain::find_visible(conn, &actor, id))
        .await?;
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
                domain::update(conn, &actor, id, &if_match, |f| body.apply(f), lock_days)
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
        conn.transaction(|conn| domain::delete(conn, &actor, id, &if_match, lock_days).map(|_| ()))
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
    if_match: Precondition,
    decision: Decision,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let session = db
        .run(move |conn| {
            conn.transaction(|conn| domain::review(conn, &actor, id, &if_match, decision))
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
        Decision::Verify,
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
    let decision = Decision::Reject(body.into_inner().reason);
    review(actor, id.into_inner(), if_match(&req), decision, &db).await
}
