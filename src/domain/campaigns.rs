//! Campaigns: the yearly editions of "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến" (Skills to
//! identify and prevent online fraud) that reach activities count towards. Admins keep them; everyone
//! signed in reads them.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp},
    contract,
    domain::{
        Precondition,
        validation::{FieldErrors, double_option, normalized, normalized_optional},
    },
    error::{AppError, ErrorCode, Text},
    models::{
        audit,
        campaign::{self, Campaign, CampaignFields},
        from_array, to_array,
    },
    reference::{CampaignStatus, Choice, FraudType, SkillGroup},
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
    pub skill_groups: Vec<SkillGroup>,
    /// Fraud types it covers, from `GET /api/v1/reference`.
    pub fraud_types: Vec<FraudType>,
    /// `draft`, `active` or `closed`.
    pub status: CampaignStatus,
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
            status: c.status,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
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
    pub skill_groups: Vec<Choice<SkillGroup>>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::reference::FraudType>)]
    pub fraud_types: Vec<Choice<FraudType>>,
    /// `draft` (default), `active` or `closed`.
    #[schema(value_type = Option<crate::reference::CampaignStatus>)]
    pub status: Option<Choice<CampaignStatus>>,
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
    pub skill_groups: Option<Vec<Choice<SkillGroup>>>,
    #[schema(value_type = Option<Vec<crate::reference::FraudType>>)]
    pub fraud_types: Option<Vec<Choice<FraudType>>>,
    #[schema(value_type = Option<crate::reference::CampaignStatus>)]
    pub status: Option<Choice<CampaignStatus>>,
}

/// Checks a campaign's fields; every problem at once.
pub fn validate(fields: &CampaignFields) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if !contract::CAMPAIGN_CODE.accepts(&fields.code) {
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
    fields.status.check(&mut errors, "status");
    for (index, group) in from_array(&fields.skill_groups).iter().enumerate() {
        group.check(&mut errors, format!("skill_groups[{index}]"));
    }
    for (index, fraud) in from_array(&fields.fraud_types).iter().enumerate() {
        fraud.check(&mut errors, format!("fraud_types[{index}]"));
    }
    errors.finish()
}

/// The campaign's public shape in the audit log.
fn snapshot(c: &Campaign) -> serde_json::Value {
    serde_json::to_value(CampaignResponse::from(c)).unwrap_or_default()
}

/// 409: another campaign has this code.
fn code_taken() -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(
        "This campaign code is taken",
        "Mã chiến dịch đã được dùng",
    ))
}

impl CreateCampaignRequest {
    /// The new campaign's fields, normalised and checked (every invalid field at once).
    pub fn parse(self) -> Result<CampaignFields, AppError> {
        let fields = CampaignFields {
            code: self.code.trim().to_owned(),
            name: normalized(&self.name),
            name_en: normalized_optional(self.name_en.as_deref()),
            owner: normalized(&self.owner),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            description: normalized_optional(self.description.as_deref()),
            skill_groups: to_array(&self.skill_groups),
            fraud_types: to_array(&self.fraud_types),
            status: self.status.unwrap_or(Choice::Known(CampaignStatus::Draft)),
        };
        validate(&fields)?;
        Ok(fields)
    }
}

impl UpdateCampaignRequest {
    /// The stored fields with these changes applied (not yet checked).
    fn apply(self, mut fields: CampaignFields) -> CampaignFields {
        if let Some(code) = self.code {
            fields.code = code.trim().to_owned();
        }
        if let Some(name) = self.name {
            fields.name = normalized(&name);
        }
        if let Some(name_en) = self.name_en {
            fields.name_en = normalized_optional(name_en.as_deref());
        }
        if let Some(owner) = self.owner {
            fields.owner = normalized(&owner);
        }
        if let Some(starts_on) = self.starts_on {
            fields.starts_on = starts_on;
        }
        if let Some(ends_on) = self.ends_on {
            fields.ends_on = ends_on;
        }
        if let Some(description) = self.description {
            fields.description = normalized_optional(description.as_deref());
        }
        if let Some(groups) = self.skill_groups {
            fields.skill_groups = to_array(&groups);
        }
        if let Some(frauds) = self.fraud_types {
            fields.fraud_types = to_array(&frauds);
        }
        if let Some(status) = self.status {
            fields.status = status;
        }
        fields
    }
}

/// Campaign `id`, or 404.
pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Campaign, AppError> {
    campaign::find(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("campaign"))
}

/// Adds a campaign edition with checked `fields` under a code no other campaign has (call inside a
/// transaction).
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    fields: &CampaignFields,
) -> Result<Campaign, AppError> {
    if campaign::find_by_code(conn, &fields.code)?.is_some() {
        return Err(code_taken());
    }
    let created = campaign::insert(conn, Uuid::now_v7(), fields)?;
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
}

/// Changes campaign `id`, if its version satisfies `expected`, as `changes` say (call inside a
/// transaction); every rule applies.
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
    changes: UpdateCampaignRequest,
) -> Result<Campaign, AppError> {
    let current = find(conn, id)?;
    let version = expected.check(current.version)?;
    let fields = changes.apply(CampaignFields::of(&current));
    validate(&fields)?;
    if fields.code != current.code && campaign::find_by_code(conn, &fields.code)?.is_some() {
        return Err(code_taken());
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
}
