//! Campaigns: the HTTP face of the campaign editions (list, find, create, update). The rules and
//! operations are `domain::campaigns`.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::campaigns::{
    CampaignResponse, CreateCampaignRequest, UpdateCampaignRequest,
};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::campaigns,
    error::{AppError, Problem},
    models::campaign,
    routes::conditional::{decode_pair, etag, if_match, next_cursor, page_limit},
};

/// A page of campaigns, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignListResponse {
    pub items: Vec<CampaignResponse>,
    /// The cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Paging of the campaign list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignListQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// List campaigns.
///
/// Every campaign edition, newest first. Everyone signed in reads them.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_campaigns",
    params(CampaignListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The campaigns.", body = CampaignListResponse),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns")]
pub async fn list_campaigns(
    actor: AuthUser,
    query: web::Query<CampaignListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListCampaigns)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = decode_pair::<NaiveDate, String>(query.cursor.as_deref())?;
    let campaigns = db
        .run(move |conn| Ok(campaign::list_page(conn, after, limit)?))
        .await?;
    let next_cursor = next_cursor(&campaigns, limit, |c| format!("{}|{}", c.starts_on, c.code));
    Ok(HttpResponse::Ok().json(CampaignListResponse {
        items: campaigns.iter().map(CampaignResponse::from).collect(),
        next_cursor,
    }))
}

/// Find a campaign.
///
/// One campaign edition with `ETag`.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "find_campaign",
    params(("id" = Uuid, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The campaign.", body = CampaignResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns/{id}")]
pub async fn find_campaign(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindCampaign)?;
    let id = id.into_inner();
    let found = db.run(move |conn| campaigns::find(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.version)))
        .json(CampaignResponse::from(&found)))
}

/// Create a campaign.
///
/// Adds a campaign edition (admins).
#[utoipa::path(
    tag = "campaigns",
    operation_id = "create_campaign",
    security(("bearer" = [])),
    request_body = CreateCampaignRequest,
    responses(
        (status = 201, description = "Created.", body = CampaignResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/campaigns")]
pub async fn create_campaign(
    actor: AuthUser,
    body: web::Json<CreateCampaignRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateCampaign)?;
    let fields = body.into_inner().parse()?;
    let created = db
        .run(move |conn| conn.transaction(|conn| campaigns::create(conn, &actor, &fields)))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(created.version)))
        .insert_header(("Location", format!("/api/v1/campaigns/{}", created.id)))
        .json(CampaignResponse::from(&created)))
}

/// Update a campaign.
///
/// Changes a campaign edition (admins). `If-Match` makes the change conditional.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "update_campaign",
    params(("id" = Uuid, Path, description = "Campaign id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateCampaignRequest,
    responses(
        (status = 200, description = "Updated.", body = CampaignResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/campaigns/{id}")]
pub async fn update_campaign(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateCampaignRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateCampaign)?;
    let id = id.into_inner();
    let changes = body.into_inner();
    let expected = if_match(&req);
    let updated = db
        .run(move |conn| {
            conn.transaction(|conn| campaigns::update(conn, &actor, id, &expected, changes))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(CampaignResponse::from(&updated)))
}
