//! Indicator values measured by national systems.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{indicator_values, org_units};
use crate::reference::Indicator;

/// An indicator value row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq, serde::Deserialize)]
#[diesel(table_name = indicator_values, check_for_backend(diesel::pg::Pg))]
pub struct IndicatorValue {
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub indicator: Indicator,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    pub source: String,
    pub as_of: NaiveDate,
    pub recorded_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The natural key and value of an indicator value.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = indicator_values)]
pub struct IndicatorFields {
    pub org_unit_id: Uuid,
    pub indicator: Indicator,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub value: f64,
    pub source: String,
    pub as_of: NaiveDate,
}

/// The stored value for the same unit, indicator, period and source, if any.
pub fn find_same(
    conn: &mut PgConnection,
    fields: &IndicatorFields,
) -> QueryResult<Option<IndicatorValue>> {
    indicator_values::table
        .filter(indicator_values::org_unit_id.eq(fields.org_unit_id))
        .filter(indicator_values::indicator.eq(fields.indicator))
        .filter(indicator_values::period_start.eq(fields.period_start))
        .filter(indicator_values::period_end.eq(fields.period_end))
        .filter(indicator_values::source.eq(&fields.source))
        .select(IndicatorValue::as_select())
        .first(conn)
        .optional()
}

/// Inserts a value.
pub fn insert(
    conn: &mut PgConnection,
    fields: &IndicatorFields,
    recorded_by: Uuid,
) -> QueryResult<IndicatorValue> {
    diesel::insert_into(indicator_values::table)
        .values((
            indicator_values::id.eq(Uuid::now_v7()),
            fields,
            indicator_values::recorded_by.eq(recorded_by),
        ))
        .returning(IndicatorValue::as_returning())
        .get_result(conn)
}

/// Replaces the value (and its `as_of`) of a stored row.
pub fn replace(
    conn: &mut PgConnection,
    id: Uuid,
    value: f64,
    as_of: NaiveDate,
    recorded_by: Uuid,
) -> QueryResult<IndicatorValue> {
    diesel::update(indicator_values::table.find(id))
        .set((
            indicator_values::value.eq(value),
            indicator_values::as_of.eq(as_of),
            indicator_values::recorded_by.eq(recorded_by),
            indicator_values::version.eq(indicator_values::version + 1),
        ))
        .returning(IndicatorValue::as_returning())
        .get_result(conn)
}

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct IndicatorFilter {
    pub within_path: Option<String>,
    pub indicator: Option<Indicator>,
    pub source: Option<String>,
    /// Periods ending on or after.
    pub from: Option<NaiveDate>,
    /// Periods starting on or before.
    pub to: Option<NaiveDate>,
}

/// Values matching `filter` with their unit's code, by period then unit code.
pub fn list(
    conn: &mut PgConnection,
    filter: &IndicatorFilter,
    limit: i64,
) -> QueryResult<Vec<(IndicatorValue, String)>> {
    let mut query = indicator_values::table
        .inner_join(org_units::table)
        .select((IndicatorValue::as_select(), org_units::code))
        .into_boxed();
    if let Some(path) = &filter.within_path {
        query = query.filter(super::in_subtree(org_units::path, path));
    }
    if let Some(indicator) = filter.indicator {
        query = query.filter(indicator_values::indicator.eq(indicator));
    }
    if let Some(source) = &filter.source {
        query = query.filter(indicator_values::source.eq(source.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(indicator_values::period_end.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(indicator_values::period_start.le(to));
    }
    query
        .order((
            indicator_values::period_start.desc(),
            org_units::code.asc(),
            indicator_values::source.asc(),
        ))
        .limit(limit)
        .load(conn)
}

/// The latest value of `indicator` for `unit` whose period overlaps `from..=to`: the newest `as_of`,
/// then the latest period end, then the source's name.
pub fn latest_overlapping(
    conn: &mut PgConnection,
    unit: Uuid,
    indicator: Indicator,
    (from, to): (NaiveDate, NaiveDate),
) -> QueryResult<Option<IndicatorValue>> {
    indicator_values::table
        .filter(indicator_values::org_unit_id.eq(unit))
        .filter(indicator_values::indicator.eq(indicator))
        .filter(indicator_values::period_start.le(to))
        .filter(indicator_values::period_end.ge(from))
        .order((
            indicator_values::as_of.desc(),
            indicator_values::period_end.desc(),
            indicator_values::source.asc(),
        ))
        .select(IndicatorValue::as_select())
        .first(conn)
        .optional()
}
