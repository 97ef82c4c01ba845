//! Creating, changing and deleting.

use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use diesel::Connection;
use uuid::Uuid;

use crate::models::attachment::{self, Owner};
use crate::{
    auth::{AuthUser, Operation},
    config::Settings,
    db::Db,
    domain::reach_activities::{
        self as domain, ActivityResponse, CreateActivityRequest, UpdateActivityRequest,
    },
    error::{AppError, Problem},
    routes::conditional::{etag, if_match},
};

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
        (status = 409, description = "Client id reused with other content, the month is locked (`period_locked`) or signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
    let (stored, attachments) = db
        .run(move |conn| {
            let id = body.id.unwrap_or_else(Uuid::now_v7);
            let stored = conn.transaction(|conn| {
                domain::create(conn, &actor, campaign_id, id, &body, lock_days)
            })?;
            // A retried create answers with what is stored, attachments included.
            let attachments = if stored.is_created() {
                0
            } else {
                attachment::count(conn, Owner::Activity(id))?
            };
            Ok((stored, attachments))
        })
        .await?;
    let mut response = if stored.is_created() {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let activity = stored.into_record();
    Ok(response
        .insert_header(("ETag", etag(activity.version)))
        .insert_header((
            "Location",
            format!("/api/v1/reach-activities/{}", activity.id),
        ))
        .json(ActivityResponse::from(&activity).with_attachment_count(attachments)))
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
        (status = 409, description = "Verified (`session_verified`), locked (`period_locked`) or signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
    let (activity, attachments) = db
        .run(move |conn| {
            let activity = conn.transaction(|conn| {
                domain::update(conn, &actor, id, &if_match, |f| body.apply(f), lock_days)
            })?;
            Ok((activity, attachment::count(conn, Owner::Activity(id))?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(activity.version)))
        .json(ActivityResponse::from(&activity).with_attachment_count(attachments)))
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
        (status = 409, description = "Verified (`session_verified`), locked (`period_locked`) or signed off (`period_signed_off`).", body = Problem, content_type = "application/problem+json"),
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
        conn.transaction(|conn| domain::delete(conn, &actor, id, &if_match, lock_days).map(|_| ()))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
