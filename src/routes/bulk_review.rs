//! Bulk review of training sessions and reach activities: the HTTP face of `domain::bulk_review`.

use actix_web::{HttpRequest, HttpResponse, http::header, post, web};

pub use crate::domain::bulk_review::{
    BulkReviewFilter, BulkReviewRequest, BulkReviewResponse, BulkReviewResult,
};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::bulk_review::{RecordKind, review_many},
    error::{AppError, Lang, Problem},
};

fn lang_of(req: &HttpRequest) -> Lang {
    Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

async fn review(
    req: &HttpRequest,
    actor: AuthUser,
    kind: RecordKind,
    body: BulkReviewRequest,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(req);
    let response = db
        .run(move |conn| review_many(conn, &actor, kind, &body, lang))
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Review many sessions.
///
/// An officer in scope (or an admin) verifies or rejects up to 5,000 sessions in one request: `ids`, or
/// `filter` (every session awaiting verification held in a unit's subtree in one month, what a commune
/// clears before it submits the month). Each session meets the checks of `POST
/// /training-sessions/{id}/verify` or `/reject`, in their order, and gets its own result: refused ones
/// (outside your scope, verified, in a signed-off month) carry their problem, the others are written and
/// audited together in one transaction (a database failure writes none; a retry answers the decided ones
/// `applied` without writing them again).
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "review_training_sessions",
    security(("bearer" = [])),
    request_body = BulkReviewRequest,
    responses(
        (status = 200, description = "One result per session.", body = BulkReviewResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The filter's unit is not in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of `ids` and `filter`, over 5,000 ids, an unknown decision or a rejection without reason.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/training-sessions/review")]
pub async fn review_training_sessions(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Json<BulkReviewRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReviewTrainingSessions)?;
    review(
        &req,
        actor,
        RecordKind::TrainingSession,
        body.into_inner(),
        &db,
    )
    .await
}

/// Review many reach activities.
///
/// The same as for sessions: up to 5,000 reach activities by `ids` or `filter`, each with its own result.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "review_reach_activities",
    security(("bearer" = [])),
    request_body = BulkReviewRequest,
    responses(
        (status = 200, description = "One result per activity.", body = BulkReviewResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The filter's unit is not in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of `ids` and `filter`, over 5,000 ids, an unknown decision or a rejection without reason.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reach-activities/review")]
pub async fn review_reach_activities(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Json<BulkReviewRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReviewReachActivities)?;
    review(
        &req,
        actor,
        RecordKind::ReachActivity,
        body.into_inner(),
        &db,
    )
    .await
}
