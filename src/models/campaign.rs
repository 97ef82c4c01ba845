//! Campaign editions.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::campaigns;
use crate::reference::{CampaignStatus, Choice, FraudType, SkillGroup};

/// A campaign row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq, serde::Deserialize)]
#[diesel(table_name = campaigns, check_for_backend(diesel::pg::Pg))]
pub struct Campaign {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub owner: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub description: Option<String>,
    pub skill_groups: Vec<Option<SkillGroup>>,
    pub fraud_types: Vec<Option<FraudType>>,
    pub status: CampaignStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of a campaign.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = campaigns, treat_none_as_null = true)]
pub struct CampaignFields {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub owner: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub description: Option<String>,
    pub skill_groups: Vec<Option<Choice<SkillGroup>>>,
    pub fraud_types: Vec<Option<Choice<FraudType>>>,
    pub status: Choice<CampaignStatus>,
}

impl CampaignFields {
    /// The fields of a stored campaign.
    pub fn of(c: &Campaign) -> Self {
        Self {
            code: c.code.clone(),
            name: c.name.clone(),
            name_en: c.name_en.clone(),
            owner: c.owner.clone(),
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            description: c.description.clone(),
            skill_groups: c.skill_groups.iter().map(|g| g.map(Choice::from)).collect(),
            fraud_types: c.fraud_types.iter().map(|t| t.map(Choice::from)).collect(),
            status: c.status.into(),
        }
    }
}

/// Every campaign, newest first.
/// At most `limit` campaigns, newest first (then by code), after the keyset position `after`.
pub fn list_page(
    conn: &mut PgConnection,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> QueryResult<Vec<Campaign>> {
    let mut query = campaigns::table.select(Campaign::as_select()).into_boxed();
    if let Some((starts_on, code)) = after {
        query = query.filter(
            campaigns::starts_on.lt(starts_on).or(campaigns::starts_on
                .eq(starts_on)
                .and(campaigns::code.gt(code))),
        );
    }
    query
        .order((campaigns::starts_on.desc(), campaigns::code.asc()))
        .limit(limit)
        .load(conn)
}

/// The campaigns with these ids (missing ones are left out).
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .filter(campaigns::id.eq_any(ids))
        .select(Campaign::as_select())
        .load(conn)
}

/// One campaign.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Campaign> {
    campaigns::table
        .find(id)
        .select(Campaign::as_select())
        .first(conn)
}

/// One campaign by code.
pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Campaign>> {
    campaigns::table
        .filter(campaigns::code.eq(code))
        .select(Campaign::as_select())
        .first(conn)
        .optional()
}

/// Inserts a campaign.
pub fn insert(conn: &mut PgConnection, id: Uuid, fields: &CampaignFields) -> QueryResult<Campaign> {
    diesel::insert_into(campaigns::table)
        .values((campaigns::id.eq(id), fields))
        .returning(Campaign::as_returning())
        .get_result(conn)
}

/// Replaces the fields at `expected_version`.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    fields: &CampaignFields,
) -> QueryResult<Option<Campaign>> {
    diesel::update(
        campaigns::table
            .filter(campaigns::id.eq(id))
            .filter(campaigns::version.eq(expected_version)),
    )
    .set((fields, campaigns::version.eq(campaigns::version + 1)))
    .returning(Campaign::as_returning())
    .get_result(conn)
    .optional()
}

/// `(id, code, name)` of the campaigns with these ids, for labelling report rows.
pub fn codes_and_names(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String, String)>> {
    campaigns::table
        .filter(campaigns::id.eq_any(ids))
        .select((campaigns::id, campaigns::code, campaigns::name))
        .load(conn)
}
