//! The administrative tree: read by every signed-in user, at any date.

use actix_web::{HttpResponse, get, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp},
    db::Db,
    domain::today_in_vietnam,
    error::{AppError, FieldError, Problem, Text},
    models::org_unit::{self, OrgUnit, OrgUnitFilter},
    routes::conditional::{decode_cursor, etag, next_cursor, page_limit},
};

/// An org unit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "code": "son-la.2025.xa-van-ho", "name": "Vân Hồ",
    "level": "commune", "kind": "xa", "parent_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "valid_from": "2025-07-01",
    "valid_to": null, "households": null, "population": null, "version": 1,
    "created_at": "2025-07-01T00:00:00Z", "updated_at": "2025-07-01T00:00:00Z"}))]
pub struct OrgUnitResponse {
    pub id: Uuid,
    /// Unique, stable code.
    pub code: String,
    /// Vietnamese name (NFC).
    pub name: String,
    /// `province`, `district`, `commune` or `village`.
    #[schema(value_type = crate::reference::OrgUnitLevel)]
    pub level: String,
    /// `tinh`, `thanh_pho`, `thi_xa`, `huyen`, `xa`, `phuong`, `thi_tran`, `ban`, `tieu_khu`, `thon`, `to_dan_pho`.
    #[schema(value_type = crate::reference::OrgUnitKind)]
    pub kind: String,
    pub parent_id: Option<Uuid>,
    /// First day in force.
    pub valid_from: NaiveDate,
    /// Last day in force; `null` while in force.
    pub valid_to: Option<NaiveDate>,
    pub households: Option<i32>,
    pub population: Option<i32>,
    pub version: i32,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<&OrgUnit> for OrgUnitResponse {
    fn from(unit: &OrgUnit) -> Self {
        Self {
            id: unit.id,
            code: unit.code.clone(),
            name: unit.name.clone(),
            level: unit.level.clone(),
            kind: unit.kind.clone(),
            parent_id: unit.parent_id,
            valid_from: unit.valid_from,
            valid_to: unit.valid_to,
            households: unit.households,
            population: unit.population,
            version: unit.version,
            created_at: unit.created_at,
            updated_at: unit.updated_at,
        }
    }
}

/// Another unit, briefly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgUnitRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    #[schema(value_type = crate::reference::OrgUnitLevel)]
    pub level: String,
}

impl From<&OrgUnit> for OrgUnitRef {
    fn from(unit: &OrgUnit) -> Self {
        Self {
            id: unit.id,
            code: unit.code.clone(),
            name: unit.name.clone(),
            level: unit.level.clone(),
        }
    }
}

/// A predecessor or successor.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SuccessionRef {
    pub unit: OrgUnitRef,
    /// The day the successor took over.
    pub effective_on: NaiveDate,
}

/// A unit with its ancestors and its reorganisation history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrgUnitDetailResponse {
    #[serde(flatten)]
    pub unit: OrgUnitResponse,
    /// Ancestors, root first.
    pub path: Vec<OrgUnitRef>,
    /// Units merged into this one.
    pub predecessors: Vec<SuccessionRef>,
    /// Units this one was merged into.
    pub successors: Vec<SuccessionRef>,
}

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
    pub level: Option<String>,
    /// Name search ignoring case and Vietnamese diacritics ("chieng" finds "Chiềng").
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
    pub level: Option<String>,
    /// Name search ignoring case and Vietnamese diacritics.
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
    if let Some(level) = &query.level
        && org_unit::level_rank(level).is_none()
    {
        return Err(AppError::validation(vec![FieldError::new(
            "level",
            "invalid_choice",
            Text::new(
                "must be province, district, commune or village",
                "phải là province, district, commune hoặc village",
            ),
        )]));
    }
    Ok(OrgUnitFilter {
        parent_id: query.parent_id,
        within_path: None,
        level: query.level.clone(),
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
    let after = decode_cursor(query.cursor.as_deref())?;
    let mut filter = list_filter(&query)?;
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
            org_unit::list(conn, &filter, after.as_deref(), limit).map_err(Into::into)
        })
        .await?;
    let next_cursor = next_cursor(&units, limit, |u| u.code.clone());
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
    let detail = db.run(move |conn| load_detail(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.unit.version)))
        .json(detail))
}

/// A unit with its ancestors, predecessors and successors, or 404.
pub fn load_detail(
    conn: &mut diesel::PgConnection,
    id: Uuid,
) -> Result<OrgUnitDetailResponse, AppError> {
    let unit = org_unit::find(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("org unit"))?;
    let path = org_unit::ancestors(conn, &unit)?;
    let refs = |list: Vec<org_unit::Succession>| {
        list.iter()
            .map(|s| SuccessionRef {
                unit: OrgUnitRef::from(&s.unit),
                effective_on: s.effective_on,
            })
            .collect()
    };
    Ok(OrgUnitDetailResponse {
        unit: OrgUnitResponse::from(&unit),
        path: path.iter().map(OrgUnitRef::from).collect(),
        predecessors: refs(org_unit::predecessors(conn, id)?),
        successors: refs(org_unit::successors(conn, id)?),
    })
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
