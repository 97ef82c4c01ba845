//! Campaign editions of "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến".

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp},
    contract,
    db::Db,
    domain::validation::double_option,
    domain::validation::{FieldErrors, normalized},
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        audit,
        campaign::{self, Campaign, CampaignFields},
        from_array, to_array,
    },
    reference,
    routes::conditional::{decode_pair, etag, if_match, next_cursor, page_limit},
};

/// A campaign edition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "code": "anti-fraud-2024",
    "name": "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến 2024",
    "name_en": "Skills to identify and prevent online fraud 2024", "owner": "Cục An toàn thông tin",
    "starts_on": "2024-10-10", "ends_on": "2024-11-20", "description": null,
    "skill_groups": ["recognise", "detect", "handle", "avoid", "protect"],
    "fraud_types": ["impersonating_authorities", "fake_investment"], "status": "closed", "version": 1,
    "created_at": "2024-10-01T00:00:00Z", "updated_at": "2024-10-01T00:00:00Z"}))]
pub struct CampaignResponse {
    pub id: Uuid,
    /// Unique code, e.g. `anti-fraud-2024`.
    pub code: String,
    /// Vietnamese name.
    pub name: String,
    pub name_en: Option<String>,
    /// The body that runs it.
    pub owner: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub description: Option<String>,
    /// Of the 5 skill groups in `GET /api/v1/reference`.
    #[schema(value_type = Vec<crate::reference::SkillGroup>)]
    pub skill_groups: Vec<String>,
    /// Fraud types it covers, from `GET /api/v1/reference`.
    #[schema(value_type = Vec<crate::reference::FraudType>)]
    pub fraud_types: Vec<String>,
    /// `draft`, `active` or `closed`.
    #[schema(value_type = crate::reference::CampaignStatus)]
    pub status: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Campaign> for CampaignResponse {
    fn from(c: &Campaign) -> Self {
        Self {
            id: c.id,
            code: c.code.clone(),
            name: c.name.clone(),
            name_en: c.name_en.clone(),
            owner: c.owner.clone(),
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            description: c.description.clone(),
            skill_groups: from_array(&c.skill_groups),
            fraud_types: from_array(&c.fraud_types),
            status: c.status.clone(),
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

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

/// A new campaign edition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "anti-fraud-2025-son-la", "name": "Chiến dịch phòng chống lừa đảo trực tuyến tỉnh Sơn La 2025",
    "name_en": "Sơn La online fraud prevention campaign 2025", "owner": "Sở Khoa học và Công nghệ Sơn La",
    "starts_on": "2025-09-01", "ends_on": "2025-12-31", "skill_groups": ["recognise", "avoid"],
    "fraud_types": ["fake_apps", "impersonating_authorities"], "status": "active"}))]
pub struct CreateCampaignRequest {
    /// Lower-case letters, digits, `.`, `_`, `-`.
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub owner: String,
    pub starts_on: NaiveDate,
    /// Not before `starts_on`.
    pub ends_on: NaiveDate,
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::reference::SkillGroup>)]
    pub skill_groups: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::reference::FraudType>)]
    pub fraud_types: Vec<String>,
    /// `draft` (default), `active` or `closed`.
    #[schema(value_type = Option<crate::reference::CampaignStatus>)]
    pub status: Option<String>,
}

/// Changes to a campaign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "closed"}))]
pub struct UpdateCampaignRequest {
    pub code: Option<String>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    pub owner: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[schema(value_type = Option<Vec<crate::reference::SkillGroup>>)]
    pub skill_groups: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<crate::reference::FraudType>>)]
    pub fraud_types: Option<Vec<String>>,
    #[schema(value_type = Option<crate::reference::CampaignStatus>)]
    pub status: Option<String>,
}

fn validate(fields: &CampaignFields) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if !crate::domain::validation::is_code(&fields.code, 64, true) {
        errors.add(
            "code",
            "invalid_code",
            "must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            "phải gồm 1-64 chữ thường, chữ số, '.', '_' hoặc '-', bắt đầu bằng chữ hoặc số",
        );
    }
    let (shortest, longest) = contract::CAMPAIGN_TEXT_LENGTH;
    errors.check_length("name", &fields.name, shortest, longest);
    errors.check_length("owner", &fields.owner, shortest, longest);
    if fields.ends_on < fields.starts_on {
        errors.add(
            "ends_on",
            "before_starts_on",
            "must not be before starts_on",
            "không được trước ngày bắt đầu",
        );
    }
    if !matches!(fields.status.as_str(), "draft" | "active" | "closed") {
        errors.add(
            "status",
            "invalid_choice",
            "must be draft, active or closed",
            "trạng thái không hợp lệ",
        );
    }
    for (index, group) in from_array(&fields.skill_groups).iter().enumerate() {
        if !reference::is_one_of(reference::SKILL_GROUPS, group) {
            errors.add(
                format!("skill_groups[{index}]"),
                "invalid_choice",
                "is not one of the 5 skill groups",
                "nhóm kỹ năng không hợp lệ",
            );
        }
    }
    for (index, fraud) in from_array(&fields.fraud_types).iter().enumerate() {
        if !reference::is_one_of(reference::FRAUD_TYPES, fraud) {
            errors.add(
                format!("fraud_types[{index}]"),
                "invalid_choice",
                "is not a fraud type of GET /api/v1/reference",
                "loại lừa đảo không hợp lệ",
            );
        }
    }
    errors.finish()
}

fn snapshot(c: &Campaign) -> serde_json::Value {
    serde_json::to_value(CampaignResponse::from(c)).unwrap_or_default()
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
    let found = db
        .run(move |conn| {
            campaign::find(conn, id)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("campaign"))
        })
        .await?;
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
    let body = body.into_inner();
    let fields = CampaignFields {
        code: body.code.trim().to_owned(),
        name: normalized(&body.name),
        name_en: body
            .name_en
            .as_deref()
            .map(normalized)
            .filter(|n| !n.is_empty()),
        owner: normalized(&body.owner),
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        description: body
            .description
            .as_deref()
            .map(normalized)
            .filter(|d| !d.is_empty()),
        skill_groups: to_array(&body.skill_groups),
        fraud_types: to_array(&body.fraud_types),
        status: body.status.unwrap_or_else(|| "draft".to_owned()),
    };
    validate(&fields)?;
    let created = db
        .run(move |conn| {
            conn.transaction(|conn| {
                if campaign::find_by_code(conn, &fields.code)?.is_some() {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        "This campaign code is taken",
                        "Mã chiến dịch đã được dùng",
                    )));
                }
                let created = campaign::insert(conn, Uuid::now_v7(), &fields)?;
                audit::record_change(
                    conn,
                    &actor.audit_context(),
                    "campaign_created",
                    "campaign",
                    created.id,
                    None,
                    None,
                    &snapshot(&created),
                )?;
                Ok(created)
            })
        })
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
    let body = body.into_inner();
    let if_match = if_match(&req);
    let updated = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let current = campaign::find(conn, id)
                    .optional_app()?
                    .ok_or_else(|| AppError::not_found("campaign"))?;
                let version = if_match.check(current.version)?;
                let mut fields = CampaignFields::of(&current);
                if let Some(code) = body.code {
                    fields.code = code.trim().to_owned();
                }
                if let Some(name) = body.name {
                    fields.name = normalized(&name);
                }
                if let Some(name_en) = body.name_en {
                    fields.name_en = name_en.as_deref().map(normalized).filter(|n| !n.is_empty());
                }
                if let Some(owner) = body.owner {
                    fields.owner = normalized(&owner);
                }
                if let Some(starts_on) = body.starts_on {
                    fields.starts_on = starts_on;
                }
                if let Some(ends_on) = body.ends_on {
                    fields.ends_on = ends_on;
                }
                if let Some(description) = body.description {
                    fields.description = description
                        .as_deref()
                        .map(normalized)
                        .filter(|d| !d.is_empty());
                }
                if let Some(groups) = body.skill_groups {
                    fields.skill_groups = to_array(&groups);
                }
                if let Some(frauds) = body.fraud_types {
                    fields.fraud_types = to_array(&frauds);
                }
                if let Some(status) = body.status {
                    fields.status = status;
                }
                validate(&fields)?;
                if fields.code != current.code
                    && campaign::find_by_code(conn, &fields.code)?.is_some()
                {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        "This campaign code is taken",
                        "Mã chiến dịch đã được dùng",
                    )));
                }
                let updated = campaign::update(conn, id, version, &fields)?
                    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                audit::record_change(
                    conn,
                    &actor.audit_context(),
                    "campaign_updated",
                    "campaign",
                    id,
                    None,
                    Some(&snapshot(&current)),
                    &snapshot(&updated),
                )?;
                Ok(updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(CampaignResponse::from(&updated)))
}
