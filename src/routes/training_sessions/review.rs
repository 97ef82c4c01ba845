//! Review: verify or reject.

use actix_web::{HttpRequest, HttpResponse, post, web};
use diesel::Connection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::models::attachment::{self, Owner};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::{
        Precondition,
        training_sessions::{self as domain, TrainingSessionResponse},
        workflow::Decision,
    },
    error::{AppError, Problem},
    routes::conditional::{etag, if_match},
};

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
    let (session, attachments) = db
        .run(move |conn| {
            let session =
                conn.transaction(|conn| domain::review(conn, &actor, id, &if_match, decision))?;
            Ok((session, attachment::count(conn, Owner::Session(id))?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(session.version)))
        .json(TrainingSessionResponse::from(&session).with_attachment_count(attachments)))
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
        (status = 409, description = "The month is signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
        (status = 409, description = "Verified sessions are rejected only by admins; or the month is signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
