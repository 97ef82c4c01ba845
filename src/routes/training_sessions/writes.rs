//! Creating, changing and deleting.

use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use diesel::Connection;
use uuid::Uuid;

use crate::models::attachment::{self, Owner};
use crate::{
    auth::{AuthUser, Operation},
    config::Settings,
    db::Db,
    domain::training_sessions::{
        self as domain, CreateSessionRequest, TrainingSessionResponse, UpdateSessionRequest,
    },
    error::{AppError, Problem},
    routes::conditional::{etag, if_match},
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
        (status = 409, description = "Client id reused with other content, the month is locked (`period_locked`) or signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
    let (stored, attachments) = db
        .run(move |conn| {
            let id = body.id.unwrap_or_else(Uuid::now_v7);
            let stored =
                conn.transaction(|conn| domain::create(conn, &actor, id, &body, lock_days))?;
            // A retried create answers with what is stored, attachments included.
            let attachments = if stored.is_created() {
                0
            } else {
                attachment::count(conn, Owner::Session(id))?
            };
            Ok((stored, attachments))
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
        .json(TrainingSessionResponse::from(&session).with_attachment_count(attachments)))
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
        (status = 409, description = "Verified (`session_verified`), locked (`period_locked`) or signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
    let (session, attachments) = db
        .run(move |conn| {
            let session = conn.transaction(|conn| {
                domain::update(conn, &actor, id, &if_match, |f| body.apply(f), lock_days)
            })?;
            Ok((session, attachment::count(conn, Owner::Session(id))?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(session.version)))
        .json(TrainingSessionResponse::from(&session).with_attachment_count(attachments)))
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
        (status = 409, description = "Verified (`session_verified`), locked (`period_locked`) or signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
