//! Changing the administrative tree, the HTTP face: create a unit, edit it, record a reorganisation.
//! The rules and operations are `domain::org_units`.

use actix_web::{HttpRequest, HttpResponse, patch, post, web};
use diesel::Connection;
use uuid::Uuid;

pub use crate::domain::org_units::{
    CreateOrgUnitRequest, ReorganizationRequest, SuccessorRequest, UpdateOrgUnitRequest,
};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::org_units::{self, OrgUnitDetailResponse},
    error::{AppError, Problem},
    routes::conditional::{etag, if_match},
};

/// Create an org unit.
///
/// Adds a unit under a parent of a higher level (admins only). Villages, residential groups and new
/// communes are added this way; merges go through `POST /api/v1/org-units/reorganizations`.
#[utoipa::path(
    tag = "org-units",
    operation_id = "create_org_unit",
    security(("bearer" = [])),
    request_body = CreateOrgUnitRequest,
    responses(
        (status = 201, description = "Created.", body = OrgUnitDetailResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/org-units")]
pub async fn create_org_unit(
    actor: AuthUser,
    body: web::Json<CreateOrgUnitRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateOrgUnit)?;
    let new = body.into_inner().parse()?;
    let detail = db
        .run(move |conn| conn.transaction(|conn| org_units::create(conn, &actor, &new)))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(detail.unit.version)))
        .insert_header(("Location", format!("/api/v1/org-units/{}", detail.unit.id)))
        .json(detail))
}

/// Update an org unit.
///
/// Admins change any field; officers change only `households` and `population`, of units inside their
/// subtree (others read as 404). `If-Match` makes the change conditional (412 when stale).
#[utoipa::path(
    tag = "org-units",
    operation_id = "update_org_unit",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Org unit id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = UpdateOrgUnitRequest,
    responses(
        (status = 200, description = "Updated.", body = OrgUnitDetailResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change these fields.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/org-units/{id}")]
pub async fn update_org_unit(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateOrgUnitRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateOrgUnit)?;
    let id = id.into_inner();
    let change = body.into_inner().parse()?;
    let expected = if_match(&req);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| org_units::update(conn, &actor, id, &expected, &change))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.unit.version)))
        .json(detail))
}

/// Record a reorganisation.
///
/// Merges units without destroying history (admins only): the predecessors are closed the day before
/// `effective_on`, the successor is created from `effective_on`, and predecessor -> successor links are
/// recorded. Teams of the predecessors move to the successor from `effective_on` (their unit history
/// keeps the old unit for the time before), so data keyed to the predecessors keeps reporting under the
/// old structure.
#[utoipa::path(
    tag = "org-units",
    operation_id = "reorganize_org_units",
    security(("bearer" = [])),
    request_body = ReorganizationRequest,
    responses(
        (status = 201, description = "The successor, with its predecessors.", body = OrgUnitDetailResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Successor code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or predecessors.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/org-units/reorganizations")]
pub async fn reorganize_org_units(
    actor: AuthUser,
    body: web::Json<ReorganizationRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReorganizeOrgUnits)?;
    let change = body.into_inner().parse()?;
    let detail = db
        .run(move |conn| conn.transaction(|conn| org_units::reorganize(conn, &actor, &change)))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(detail.unit.version)))
        .insert_header(("Location", format!("/api/v1/org-units/{}", detail.unit.id)))
        .json(detail))
}
