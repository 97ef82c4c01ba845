//! Targets (chỉ tiêu): the HTTP face (list, find, set, change, remove). The rules and operations are
//! `domain::targets`.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{Datelike, NaiveDate};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::targets::{
    CreateTargetRequest, TargetResponse, TargetWarning, TargetWriteResponse, UpdateTargetRequest,
};
use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    domain::targets::{self, TargetQuery},
    error::{AppError, Problem, Text},
    routes::{
        conditional::{etag, if_match, keyset_page, page_limit},
        export::{self, Answer},
    },
    tabular::{Cell, sheets},
};

/// A page of targets, latest period first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TargetListResponse {
    pub items: Vec<TargetResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing targets.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TargetListQuery {
    /// Targets of this unit's subtree (and of its teams).
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<crate::reference::Indicator>)]
    pub indicator: Option<crate::reference::Choice<crate::reference::Indicator>>,
    /// Targets whose period ends on or after.
    pub from: Option<NaiveDate>,
    /// Targets whose period starts on or before.
    pub to: Option<NaiveDate>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// List targets.
///
/// Targets in your scope (team leaders: their team's and those of the units above and below its unit).
#[utoipa::path(
    tag = "targets",
    operation_id = "list_targets",
    params(TargetListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of targets, or the whole list as a file.", body = TargetListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/targets")]
pub async fn list_targets(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<TargetListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTargets)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let target_query = TargetQuery {
        org_unit_id: query.org_unit_id,
        indicator: query.indicator,
        from: query.from,
        to: query.to,
    };
    let page = {
        let actor = actor.clone();
        move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
            let found = targets::list(conn, &actor, &target_query)?;
            // Latest period first, then by id.
            let (page, next) = keyset_page(found, cursor.as_deref(), limit, |t| {
                (-t.period_start.num_days_from_ce(), t.id)
            })?;
            Ok((page.iter().map(TargetResponse::from).collect(), next))
        }
    };
    if answer.is_file() {
        return export::list(
            &req,
            &db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new("Targets", "Chỉ tiêu được giao"),
                name: "targets",
                sheet: &sheets::TARGETS,
                row: |t: &TargetResponse| {
                    cells![
                        t.id.to_string(),
                        Cell::choice(t.indicator),
                        t.org_unit_id.map(|id| id.to_string()),
                        t.team_id.map(|id| id.to_string()),
                        t.campaign_id.map(|id| id.to_string()),
                        t.period_start,
                        t.period_end,
                        t.value,
                        t.updated_at,
                        t.version,
                    ]
                },
                on_primary: true,
                read_whole: true,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (items, next_cursor) = db.run(move |conn| page(conn, query.cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(TargetListResponse { items, next_cursor }))
}

/// Find a target.
///
/// One target with `ETag`.
#[utoipa::path(
    tag = "targets",
    operation_id = "find_target",
    params(("id" = Uuid, Path, description = "Target id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The target.", body = TargetResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/targets/{id}")]
pub async fn find_target(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindTarget)?;
    let id = id.into_inner();
    let found = db
        .run(move |conn| targets::find_visible(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.target.version)))
        .json(TargetResponse::from(&found.target)))
}

/// Set a target.
///
/// Admins anywhere; officers for units below their scope root and for teams in their subtree. The
/// response lists warnings when children's additive targets exceed their parent's.
#[utoipa::path(
    tag = "targets",
    operation_id = "create_target",
    security(("bearer" = [])),
    request_body = CreateTargetRequest,
    responses(
        (status = 201, description = "Set.", body = TargetWriteResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this unit.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A target for this holder, indicator, period and campaign exists.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/targets")]
pub async fn create_target(
    actor: AuthUser,
    body: web::Json<CreateTargetRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateTarget)?;
    let fields = body.into_inner().parse()?;
    let (created, warnings) = db
        .run(move |conn| conn.transaction(|conn| targets::create(conn, &actor, &fields)))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(created.version)))
        .insert_header(("Location", format!("/api/v1/targets/{}", created.id)))
        .json(TargetWriteResponse {
            target: TargetResponse::from(&created),
            warnings,
        }))
}

/// Change a target.
///
/// Its period or value; same rights as setting it. `If-Match` makes the change conditional.
#[utoipa::path(
    tag = "targets",
    operation_id = "update_target",
    params(("id" = Uuid, Path, description = "Target id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateTargetRequest,
    responses(
        (status = 200, description = "Changed.", body = TargetWriteResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this unit.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another target has this period.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/targets/{id}")]
pub async fn update_target(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateTargetRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTarget)?;
    let id = id.into_inner();
    let changes = body.into_inner();
    let expected = if_match(&req);
    let (updated, warnings) = db
        .run(move |conn| {
            conn.transaction(|conn| targets::update(conn, &actor, id, &expected, &changes))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(TargetWriteResponse {
            target: TargetResponse::from(&updated),
            warnings,
        }))
}

/// Remove a target.
///
/// Same rights as setting it; audited.
#[utoipa::path(
    tag = "targets",
    operation_id = "delete_target",
    params(("id" = Uuid, Path, description = "Target id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this unit.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/targets/{id}")]
pub async fn delete_target(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteTarget)?;
    let id = id.into_inner();
    let expected = if_match(&req);
    db.run(move |conn| conn.transaction(|conn| targets::delete(conn, &actor, id, &expected)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
