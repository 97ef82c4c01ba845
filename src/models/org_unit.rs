//! Org units: the effective-dated administrative tree with a materialised path.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{org_unit_successions, org_units};
use crate::reference::{OrgUnitKind, OrgUnitLevel};

/// An org unit row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Deserialize)]
#[diesel(table_name = org_units, check_for_backend(diesel::pg::Pg))]
pub struct OrgUnit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub level: OrgUnitLevel,
    pub kind: OrgUnitKind,
    pub parent_id: Option<Uuid>,
    pub path: String,
    pub depth: i16,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub households: Option<i32>,
    pub population: Option<i32>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A unit to insert. `parent_id`, `path` and `depth` follow from [`NewOrgUnit::placed_under`].
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = org_units)]
pub struct NewOrgUnit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub level: OrgUnitLevel,
    pub kind: OrgUnitKind,
    pub parent_id: Option<Uuid>,
    pub path: String,
    pub depth: i16,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub households: Option<i32>,
    pub population: Option<i32>,
}

impl NewOrgUnit {
    /// Fills `parent_id`, `path` and `depth` under `parent` (or as a root).
    pub fn placed_under(mut self, parent: Option<&OrgUnit>) -> Self {
        self.parent_id = parent.map(|parent| parent.id);
        match parent {
            Some(parent) => {
                self.path = format!("{}{}/", parent.path, self.id);
                self.depth = parent.depth + 1;
            }
            None => {
                self.path = format!("{}/", self.id);
                self.depth = 0;
            }
        }
        self
    }
}

/// Changes to a unit (`None` leaves a field alone; `Some(None)` clears an optional one).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = org_units)]
pub struct OrgUnitChanges {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<OrgUnitKind>,
    pub valid_to: Option<Option<NaiveDate>>,
    pub households: Option<Option<i32>>,
    pub population: Option<Option<i32>>,
}

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct OrgUnitFilter {
    /// Direct children of this unit.
    pub parent_id: Option<Uuid>,
    /// The subtree (inclusive) below this materialised path.
    pub within_path: Option<String>,
    pub level: Option<OrgUnitLevel>,
    /// Folded search text (see `cdt_fold`).
    pub query: Option<String>,
    /// Only units in force on this date.
    pub as_of: Option<NaiveDate>,
}

/// A predecessor or successor link, with the unit on the other side.
#[derive(Debug, Clone)]
pub struct Succession {
    pub unit: OrgUnit,
    pub effective_on: NaiveDate,
}

/// One unit by id.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<OrgUnit> {
    org_units::table
        .find(id)
        .select(OrgUnit::as_select())
        .first(conn)
}

/// The units with these ids (missing ones are left out).
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<OrgUnit>> {
    org_units::table
        .filter(org_units::id.eq_any(ids))
        .select(OrgUnit::as_select())
        .load(conn)
}

/// Every unit (the tree is small: a few thousand rows per province).
pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<OrgUnit>> {
    org_units::table.select(OrgUnit::as_select()).load(conn)
}

/// One unit by code.
pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<OrgUnit>> {
    org_units::table
        .filter(org_units::code.eq(code))
        .select(OrgUnit::as_select())
        .first(conn)
        .optional()
}

/// Units matching `filter`, ordered by code, after the code `after`, at most `limit`.
pub fn list(
    conn: &mut PgConnection,
    filter: &OrgUnitFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OrgUnit>> {
    list_ranked(conn, filter, after, limit).map(|rows| rows.into_iter().map(|(u, _)| u).collect())
}

/// [`list`] with each unit's search rank; with a search, ordered by rank then code after a
/// [`super::search::ranked_position`].
pub fn list_ranked(
    conn: &mut PgConnection,
    filter: &OrgUnitFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(OrgUnit, i32)>> {
    let term = filter.query.as_deref().map(super::search::Term::new);
    let rank = match &term {
        Some(term) => term.rank(&["org_units.name"]),
        None => super::search::no_rank(),
    };
    let mut query = org_units::table
        .select((OrgUnit::as_select(), rank.clone()))
        .into_boxed();
    if let Some(parent_id) = filter.parent_id {
        query = query.filter(org_units::parent_id.eq(parent_id));
    }
    if let Some(path) = &filter.within_path {
        query = query.filter(super::in_subtree(org_units::path, path));
    }
    if let Some(level) = filter.level {
        query = query.filter(org_units::level.eq(level));
    }
    if let Some(term) = &term {
        query = query.filter(term.matches("org_units.name"));
    }
    if let Some(date) = filter.as_of {
        query = query.filter(org_units::valid_from.le(date)).filter(
            org_units::valid_to
                .is_null()
                .or(org_units::valid_to.ge(date)),
        );
    }
    if term.is_some() {
        if let Some((after_rank, after_code)) = after.and_then(super::search::parse_ranked_position)
        {
            query = query.filter(
                rank.clone().gt(after_rank).or(rank
                    .clone()
                    .eq(after_rank)
                    .and(org_units::code.gt(after_code.to_owned()))),
            );
        }
        query = query.order((rank.asc(), org_units::code.asc()));
    } else {
        if let Some(after) = after {
            query = query.filter(org_units::code.gt(after.to_owned()));
        }
        query = query.order(org_units::code.asc());
    }
    query.limit(limit).load(conn)
}

/// The ancestors of `unit`, root first (excluding the unit itself).
pub fn ancestors(conn: &mut PgConnection, unit: &OrgUnit) -> QueryResult<Vec<OrgUnit>> {
    let ids = ancestor_ids(&unit.path);
    org_units::table
        .filter(org_units::id.eq_any(ids.into_iter().filter(|id| *id != unit.id)))
        .order(org_units::depth.asc())
        .select(OrgUnit::as_select())
        .load(conn)
}

/// The ids in a materialised path, root first.
pub fn ancestor_ids(path: &str) -> Vec<Uuid> {
    path.split('/')
        .filter_map(|part| Uuid::parse_str(part).ok())
        .collect()
}

/// Units that were merged into `id`.
pub fn predecessors(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<Succession>> {
    org_unit_successions::table
        .inner_join(org_units::table.on(org_units::id.eq(org_unit_successions::predecessor_id)))
        .filter(org_unit_successions::successor_id.eq(id))
        .order(org_units::code.asc())
        .select((OrgUnit::as_select(), org_unit_successions::effective_on))
        .load::<(OrgUnit, NaiveDate)>(conn)
        .map(into_successions)
}

/// Units `id` was merged into.
pub fn successors(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<Succession>> {
    org_unit_successions::table
        .inner_join(org_units::table.on(org_units::id.eq(org_unit_successions::successor_id)))
        .filter(org_unit_successions::predecessor_id.eq(id))
        .order(org_units::code.asc())
        .select((OrgUnit::as_select(), org_unit_successions::effective_on))
        .load::<(OrgUnit, NaiveDate)>(conn)
        .map(into_successions)
}

fn into_successions(rows: Vec<(OrgUnit, NaiveDate)>) -> Vec<Succession> {
    rows.into_iter()
        .map(|(unit, effective_on)| Succession { unit, effective_on })
        .collect()
}

/// Inserts a unit.
pub fn insert(conn: &mut PgConnection, unit: &NewOrgUnit) -> QueryResult<OrgUnit> {
    diesel::insert_into(org_units::table)
        .values(unit)
        .returning(OrgUnit::as_returning())
        .get_result(conn)
}

/// Inserts many units at once (their paths must be filled already).
pub fn insert_many(conn: &mut PgConnection, units: &[NewOrgUnit]) -> QueryResult<usize> {
    diesel::insert_into(org_units::table)
        .values(units)
        .execute(conn)
}

/// Applies `changes` when the row is still at `expected_version`, bumping the version. `None` when the
/// version moved (or the row is gone).
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    changes: &OrgUnitChanges,
) -> QueryResult<Option<OrgUnit>> {
    diesel::update(
        org_units::table
            .filter(org_units::id.eq(id))
            .filter(org_units::version.eq(expected_version)),
    )
    .set((changes, org_units::version.eq(org_units::version + 1)))
    .returning(OrgUnit::as_returning())
    .get_result(conn)
    .optional()
}

/// Closes a unit on `valid_to` (the day before its successor takes over).
pub fn close(conn: &mut PgConnection, id: Uuid, valid_to: NaiveDate) -> QueryResult<OrgUnit> {
    diesel::update(org_units::table.find(id))
        .set((
            org_units::valid_to.eq(Some(valid_to)),
            org_units::version.eq(org_units::version + 1),
        ))
        .returning(OrgUnit::as_returning())
        .get_result(conn)
}

/// Records that `predecessor` was merged into `successor` on `effective_on`. Idempotent.
pub fn link_succession(
    conn: &mut PgConnection,
    predecessor: Uuid,
    successor: Uuid,
    effective_on: NaiveDate,
) -> QueryResult<usize> {
    diesel::insert_into(org_unit_successions::table)
        .values((
            org_unit_successions::predecessor_id.eq(predecessor),
            org_unit_successions::successor_id.eq(successor),
            org_unit_successions::effective_on.eq(effective_on),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
}

/// `(id, code, name)` of the units with these ids, for labelling report rows.
pub fn codes_and_names(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String, String)>> {
    org_units::table
        .filter(org_units::id.eq_any(ids))
        .select((org_units::id, org_units::code, org_units::name))
        .load(conn)
}

/// `(id, code, name)` of the children of `parent` in force on `day`, by name.
pub fn children_in_force(
    conn: &mut PgConnection,
    parent: Uuid,
    day: NaiveDate,
) -> QueryResult<Vec<(Uuid, String, String)>> {
    org_units::table
        .filter(org_units::parent_id.eq(parent))
        .filter(org_units::valid_from.le(day))
        .filter(
            org_units::valid_to
                .is_null()
                .or(org_units::valid_to.ge(day)),
        )
        .order(org_units::name.asc())
        .select((org_units::id, org_units::code, org_units::name))
        .load(conn)
}
