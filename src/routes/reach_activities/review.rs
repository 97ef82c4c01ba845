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
        reach_activities::{self as domain, ActivityResponse},
        workflow::Decision,
    },
    error::{AppError, Problem},
    routes::conditional::{etag, if_match},
};

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
    decision: Decision,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let (activity, attachments) = db
        .run(move |conn| {
            let activity =
                conn.transaction(|conn| domain::review(conn, &actor, id, &if_match, decision))?;
            Ok((activity, attachment::count(conn, Owner::Activity(id))?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(activity.version)))
        .json(ActivityResponse::from(&activity).with_attachment_count(attachments)))
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
        (status = 409, description = "The month is signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
        Decision::Verify,
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
        (status = 409, description = "Verified ones are rejected only by admins; or the month is signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
    let decision = Decision::Reject(body.into_inner().reason);
    review(actor, id.into_inner(), if_match(&req), decision, &db).await
}
