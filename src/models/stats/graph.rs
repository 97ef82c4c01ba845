//! The administrative tree above villages with its succession links, as the reports map it.

use super::*;

/// A province, district or commune-level unit as the reports map it.
#[derive(Debug, Clone, Queryable)]
pub struct UnitNode {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub code: String,
    pub name: String,
    pub level: OrgUnitLevel,
    pub path: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub households: Option<i32>,
}

impl UnitNode {
    /// The root of the unit's tree (the first id of its path).
    pub fn root(&self) -> Option<Uuid> {
        self.path.split('/').next().and_then(|id| id.parse().ok())
    }

    /// In force on `day`.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| to >= day)
    }
}

/// The administrative tree above villages with its succession links, to read activity under the
/// structure of any day.
#[derive(Debug, Default)]
pub struct UnitGraph {
    pub version: i64,
    pub units: HashMap<Uuid, UnitNode>,
    predecessors: HashMap<Uuid, Vec<Uuid>>,
    successors: HashMap<Uuid, Vec<Uuid>>,
}

impl UnitGraph {
    pub(super) fn load(conn: &mut PgConnection, version: i64) -> QueryResult<Self> {
        let units: Vec<UnitNode> = org_units::table
            .filter(org_units::level.ne(OrgUnitLevel::Village))
            .select((
                org_units::id,
                org_units::parent_id,
                org_units::code,
                org_units::name,
                org_units::level,
                org_units::path,
                org_units::valid_from,
                org_units::valid_to,
                org_units::households,
            ))
            .load(conn)?;
        let links: Vec<(Uuid, Uuid)> = org_unit_successions::table
            .select((
                org_unit_successions::predecessor_id,
                org_unit_successions::successor_id,
            ))
            .load(conn)?;
        let mut graph = UnitGraph {
            version,
            units: units.into_iter().map(|u| (u.id, u)).collect(),
            ..UnitGraph::default()
        };
        for (predecessor, successor) in links {
            graph
                .predecessors
                .entry(successor)
                .or_default()
                .push(predecessor);
            graph
                .successors
                .entry(predecessor)
                .or_default()
                .push(successor);
        }
        Ok(graph)
    }

    /// The commune-level units (every one that ever existed).
    pub fn communes(&self) -> impl Iterator<Item = &UnitNode> {
        self.units
            .values()
            .filter(|u| u.level == OrgUnitLevel::Commune)
    }

    /// The unit in force on `day` that `id`'s activity belongs to: `id` itself when in force; else, through
    /// the succession links, its successor (for a unit that had ended) or its predecessor (for one not yet
    /// created), choosing the one with most households, then the lowest code, when there are several; and
    /// when no link leads to a unit in force, its nearest ancestor in force.
    pub fn resolve(&self, id: Uuid, day: NaiveDate) -> Option<&UnitNode> {
        let start = self.units.get(&id)?;
        let mut current = start;
        for _ in 0..64 {
            if current.valid_on(day) {
                return Some(current);
            }
            let links = if current.valid_to.is_some_and(|to| to < day) {
                self.successors.get(&current.id)
            } else {
                self.predecessors.get(&current.id)
            };
            let next = links
                .into_iter()
                .flatten()
                .filter_map(|id| self.units.get(id))
                .max_by(|a, b| {
                    a.households
                        .unwrap_or(0)
                        .cmp(&b.households.unwrap_or(0))
                        .then_with(|| b.code.cmp(&a.code))
                });
            match next {
                Some(next) => current = next,
                None => break,
            }
        }
        // No link leads to a unit in force: the nearest ancestor in force.
        crate::models::org_unit::ancestor_ids(&start.path)
            .iter()
            .rev()
            .filter_map(|id| self.units.get(id))
            .find(|u| u.valid_on(day))
    }
}
