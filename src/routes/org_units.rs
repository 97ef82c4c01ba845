//! The administrative tree: read by every signed-in user, at any date.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp},
    db::Db,
    domain::org_units::{OrgUnitDetailResponse, OrgUnitResponse},
    domain::today_in_vietnam,
    domain::validation::FieldErrors,
    error::{AppError, Problem},
    models::org_unit::{self, OrgUnitFilter},
    reference::{Choice, OrgUnitLevel, check_choice},
    routes::conditional::{decode_search_cursor, etag, next_cursor, page_limit},
};

/// A page of units.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrgUnitListResponse {
    pub items: Vec<OrgUnitResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing units.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrgUnitListQuery {
    /// Direct children of this unit.
    pub parent_id: Option<Uuid>,
    /// This unit and its whole subtree.
    pub org_unit_id: Option<Uuid>,
    /// `province`, `district`, `commune` or `village`.
    #[param(value_type = Option<crate::reference::OrgUnitLevel>)]
    pub level: Option<Choice<OrgUnitLevel>>,
    /// Name search ignoring case and Vietnamese diacritics ("chieng" finds "Chiềng"). Three characters or more match anywhere in the text; one or two match the start of it. Results come exact matches first, then those starting with the term, then the rest.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// The date the tree is read at (`YYYY-MM-DD`; default: today in Vietnam).
    pub as_of: Option<NaiveDate>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// Filters for listing the children of a unit.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChildrenQuery {
    /// `province`, `district`, `commune` or `village`.
    #[param(value_type = Option<crate::reference::OrgUnitLevel>)]
    pub level: Option<Choice<OrgUnitLevel>>,
    /// Name search ignoring case and Vietnamese diacritics. Three characters or more match anywhere in the text; one or two match the start of it. Results come exact matches first, then those starting with the term, then the rest.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// The date the tree is read at (`YYYY-MM-DD`; default: today in Vietnam).
    pub as_of: Option<NaiveDate>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

impl From<ChildrenQuery> for OrgUnitListQuery {
    fn from(query: ChildrenQuery) -> Self {
        Self {
            parent_id: None,
            org_unit_id: None,
            level: query.level,
            q: query.q,
            as_of: query.as_of,
            limit: query.limit,
            cursor: query.cursor,
        }
    }
}

fn list_filter(query: &OrgUnitListQuery) -> Result<OrgUnitFilter, AppError> {
    let mut errors = FieldErrors::new();
    let level = check_choice(&mut errors, "level", query.level.as_ref());
    errors.finish()?;
    Ok(OrgUnitFilter {
        parent_id: query.parent_id,
        within_path: None,
        level,
        query: query.q.clone(),
        as_of: Some(query.as_of.unwrap_or_else(today_in_vietnam)),
    })
}

async fn list_page(
    db: &Db,
    query: OrgUnitListQuery,
    parent: Option<Uuid>,
) -> Result<HttpResponse, AppError> {
    let limit = page_limit(query.limit)?;
    let after = decode_search_cursor(query.cursor.as_deref(), query.q.is_some())?;
    let mut filter = list_filter(&query)?;
    let query_text = filter.query.clone();
    if parent.is_some() {
        filter.parent_id = parent;
    }
    let subtree_root = query.org_unit_id;
    let units = db
        .run(move |conn| {
            if let Some(root) = parent.or(subtree_root) {
                let root = org_unit::find(conn, root)
                    .optional_app()?
                    .ok_or_else(|| AppError::not_found("org unit"))?;
                if parent.is_none() {
                    filter.within_path = Some(root.path);
                }
            }
            org_unit::list_ranked(conn, &filter, after.as_deref(), limit).map_err(Into::into)
        })
        .await?;
    let next_cursor = next_cursor(&units, limit, |(u, rank)| match &query_text {
        Some(_) => crate::models::search::ranked_position(*rank, &u.code),
        None => u.code.clone(),
    });
    let units: Vec<_> = units.into_iter().map(|(u, _)| u).collect();
    Ok(HttpResponse::Ok().json(OrgUnitListResponse {
        items: units.iter().map(OrgUnitResponse::from).collect(),
        next_cursor,
    }))
}

/// List org units.
///
/// Units in force on `as_of` (default today), filtered by parent, subtree, level or name, ordered by
/// code with keyset pagination. The tree is not personal data: every signed-in user may read it.
#[utoipa::path(
    tag = "org-units",
    operation_id = "list_org_units",
    params(OrgUnitListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of units.", body = OrgUnitListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/org-units")]
pub async fn list_org_units(
    actor: AuthUser,
    query: web::Query<OrgUnitListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListOrgUnits)?;
    list_page(&db, query.into_inner(), None).await
}

/// Find an org unit.
///
/// One unit with its ancestor path, predecessors and successors, and `ETag`.
#[utoipa::path(
    tag = "org-units",
    operation_id = "find_org_unit",
    params(("id" = Uuid, Path, description = "Org unit id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The unit.", body = OrgUnitDetailResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/org-units/{id}")]
pub async fn find_org_unit(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindOrgUnit)?;
    let id = id.into_inner();
    let detail = db
        .run(move |conn| crate::domain::org_units::find_detail(conn, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.unit.version)))
        .json(detail))
}

/// List the children of an org unit.
///
/// The units directly below `id` in force on `as_of` (default today).
#[utoipa::path(
    tag = "org-units",
    operation_id = "list_org_unit_children",
    params(("id" = Uuid, Path, description = "Org unit id"), ChildrenQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of child units.", body = OrgUnitListResponse),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/org-units/{id}/children")]
pub async fn list_org_unit_children(
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ChildrenQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListOrgUnitChildren)?;
    list_page(&db, query.into_inner().into(), Some(id.into_inner())).await
}
