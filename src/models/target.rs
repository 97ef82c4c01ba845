//! Targets (chỉ tiêu) assigned to units or teams.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{org_units, targets, teams};
use crate::reference::{Choice, Indicator};

/// A target row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq, serde::Deserialize)]
#[diesel(table_name = targets, check_for_backend(diesel::pg::Pg))]
pub struct Target {
    pub id: Uuid,
    pub org_unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub indicator: Indicator,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    pub campaign_id: Option<Uuid>,
    pub set_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a target.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = targets, treat_none_as_null = true)]
pub struct TargetFields {
    pub org_unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub indicator: Choice<Indicator>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    pub campaign_id: Option<Uuid>,
}

impl TargetFields {
    /// The fields of a stored target.
    pub fn of(t: &Target) -> Self {
        Self {
            org_unit_id: t.org_unit_id,
            team_id: t.team_id,
            indicator: t.indicator.into(),
            period_start: t.period_start,
            period_end: t.period_end,
            value: t.value,
            campaign_id: t.campaign_id,
        }
    }
}

/// A target with the materialised path of its holder (the unit, or the team's unit).
#[derive(Debug, Clone)]
pub struct ScopedTarget {
    pub target: Target,
    pub holder_path: String,
}

/// Targets joined to the unit or team that holds them.
type TargetHolders = diesel::dsl::LeftJoinOn<
    diesel::dsl::LeftJoinOn<
        targets::table,
        org_units::table,
        diesel::dsl::Eq<diesel::dsl::Nullable<org_units::id>, targets::org_unit_id>,
    >,
    teams::table,
    diesel::dsl::Eq<diesel::dsl::Nullable<teams::id>, targets::team_id>,
>;
/// A target, its unit's path (unit targets) and its team's unit (team targets).
type TargetWithHolder = (
    diesel::dsl::AsSelect<Target, diesel::pg::Pg>,
    diesel::dsl::Nullable<org_units::path>,
    diesel::dsl::Nullable<teams::org_unit_id>,
);

fn scoped_query() -> diesel::dsl::Select<TargetHolders, TargetWithHolder> {
    targets::table
        .left_join(org_units::table.on(org_units::id.nullable().eq(targets::org_unit_id)))
        .left_join(teams::table.on(teams::id.nullable().eq(targets::team_id)))
        .select((
            Target::as_select(),
            org_units::path.nullable(),
            teams::org_unit_id.nullable(),
        ))
}

fn with_paths(
    conn: &mut PgConnection,
    rows: Vec<(Target, Option<String>, Option<Uuid>)>,
) -> QueryResult<Vec<ScopedTarget>> {
    let team_units: Vec<Uuid> = rows.iter().filter_map(|(_, _, unit)| *unit).collect();
    let paths: std::collections::HashMap<Uuid, String> = org_units::table
        .filter(org_units::id.eq_any(team_units))
        .select((org_units::id, org_units::path))
        .load::<(Uuid, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(target, unit_path, team_unit)| {
            let holder_path = unit_path
                .or_else(|| team_unit.and_then(|unit| paths.get(&unit).cloned()))
                .unwrap_or_default();
            ScopedTarget {
                target,
                holder_path,
            }
        })
        .collect())
}

/// One target with its holder's path.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<ScopedTarget> {
    let row = scoped_query()
        .filter(targets::id.eq(id))
        .first::<(Target, Option<String>, Option<Uuid>)>(conn)?;
    with_paths(conn, vec![row]).map(|mut rows| rows.remove(0))
}

/// Every target (filtered by the caller afterwards; a province holds a few thousand).
pub fn all(
    conn: &mut PgConnection,
    indicator: Option<Indicator>,
) -> QueryResult<Vec<ScopedTarget>> {
    let mut query = scoped_query().into_boxed();
    if let Some(indicator) = indicator {
        query = query.filter(targets::indicator.eq(indicator));
    }
    let rows = query
        .order((targets::period_start.desc(), targets::id.asc()))
        .load::<(Target, Option<String>, Option<Uuid>)>(conn)?;
    with_paths(conn, rows)
}

/// Inserts a target.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &TargetFields,
    set_by: Uuid,
) -> QueryResult<Target> {
    diesel::insert_into(targets::table)
        .values((targets::id.eq(id), fields, targets::set_by.eq(set_by)))
        .returning(Target::as_returning())
        .get_result(conn)
}

/// Replaces a target's fields at `expected_version`.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    fields: &TargetFields,
    set_by: Uuid,
) -> QueryResult<Option<Target>> {
    diesel::update(
        targets::table
            .filter(targets::id.eq(id))
            .filter(targets::version.eq(expected_version)),
    )
    .set((
        fields,
        targets::set_by.eq(set_by),
        targets::version.eq(targets::version + 1),
    ))
    .returning(Target::as_returning())
    .get_result(conn)
    .optional()
}

/// Deletes a target at `expected_version`; false when the version moved.
pub fn delete(conn: &mut PgConnection, id: Uuid, expected_version: i32) -> QueryResult<bool> {
    diesel::delete(
        targets::table
            .filter(targets::id.eq(id))
            .filter(targets::version.eq(expected_version)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Unit targets of `indicator` for exactly this period and campaign, for these units.
pub fn for_units(
    conn: &mut PgConnection,
    units: &[Uuid],
    indicator: Indicator,
    period: (NaiveDate, NaiveDate),
    campaign: Option<Uuid>,
) -> QueryResult<Vec<Target>> {
    let mut query = targets::table
        .filter(targets::org_unit_id.eq_any(units))
        .filter(targets::indicator.eq(indicator))
        .filter(targets::period_start.eq(period.0))
        .filter(targets::period_end.eq(period.1))
        .select(Target::as_select())
        .into_boxed();
    query = match campaign {
        Some(campaign) => query.filter(targets::campaign_id.eq(campaign)),
        None => query.filter(targets::campaign_id.is_null()),
    };
    query.load(conn)
}
