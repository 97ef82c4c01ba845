//! What a report server keeps between requests, valid while the versions it was read under stand.

use super::*;

/// What a report server keeps between requests, each part valid while its version in `cdt_versions` stands:
/// the [`UnitGraph`] (`org_structure`) and recent team lists with their member counts (`registry`).
#[derive(Debug, Default)]
pub struct ReportCache {
    graph: Mutex<Option<Arc<UnitGraph>>>,
    teams: Mutex<TeamLists>,
}

/// Team lists by scope and period for one registry and structure, with the activity sets read for them.
#[derive(Debug, Default)]
struct TeamLists {
    /// The org structure and registry versions the lists stand for.
    versions: (i64, i64),
    lists: HashMap<TeamListKey, Arc<Vec<RegistryTeam>>>,
    /// The teams of a list that were active in its period, at an `activity` version.
    active: HashMap<TeamListKey, (i64, Arc<HashSet<Uuid>>)>,
}

/// What a team list depends on: the commune-level units (root and structure day), one team or unit, period.
type TeamListKey = (
    Uuid,
    NaiveDate,
    Option<Uuid>,
    Option<Uuid>,
    NaiveDate,
    NaiveDate,
);

/// Team lists kept per pair of versions (a few scopes and periods are read again and again).
const TEAM_LISTS_KEPT: usize = 256;

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
}

/// The versions of what the report cache holds, read in the unit of work that uses the cache: bumped by
/// triggers in the writing transactions (see the report-aggregates and activity-version migrations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    /// The administrative tree and its succession links.
    pub org_structure: i64,
    /// Teams, their unit history, memberships, people.
    pub registry: i64,
    /// Which teams had counted activity on which days (`stat_team_years`).
    pub activity: i64,
}

/// One read of `cdt_versions`.
fn versions(conn: &mut PgConnection) -> QueryResult<Versions> {
    let rows: Vec<Version> =
        prepared(diesel::sql_query("SELECT name, version FROM cdt_versions")).load(conn)?;
    let of = |name: &str| {
        rows.iter()
            .find(|v| v.name == name)
            .map_or(0, |v| v.version)
    };
    Ok(Versions {
        org_structure: of("org_structure"),
        registry: of("registry"),
        activity: of("activity"),
    })
}

impl ReportCache {
    /// The current graph and the versions: one read of `cdt_versions`, and a reload only when the tree
    /// changed.
    pub fn current(&self, conn: &mut PgConnection) -> QueryResult<(Arc<UnitGraph>, Versions)> {
        let versions = versions(conn)?;
        if let Ok(cached) = self.graph.lock()
            && let Some(graph) = cached.as_ref()
            && graph.version == versions.org_structure
        {
            return Ok((Arc::clone(graph), versions));
        }
        let graph = Arc::new(UnitGraph::load(conn, versions.org_structure)?);
        if let Ok(mut cached) = self.graph.lock() {
            *cached = Some(Arc::clone(&graph));
        }
        Ok((graph, versions))
    }

    /// The teams a report counts (see [`registry_teams`]) with their activity in the period: the list from
    /// the cache while the registry and the tree are unchanged, the activity from the cache while no
    /// team's activity bits changed (the `activity` version), else read again.
    #[expect(
        clippy::too_many_arguments,
        reason = "the key of a team list and what it is read with"
    )]
    pub fn teams(
        &self,
        conn: &mut PgConnection,
        versions: Versions,
        root: Uuid,
        as_of: NaiveDate,
        rows: &TeamRows,
        from: NaiveDate,
        to: NaiveDate,
    ) -> QueryResult<Vec<CountedTeam>> {
        let key = (root, as_of, rows.team, rows.unit, from, to);
        let lists_version = (versions.org_structure, versions.registry);
        let (cached_list, cached_active) = self
            .teams
            .lock()
            .ok()
            .filter(|lists| lists.versions == lists_version)
            .map(|lists| {
                let active = lists
                    .active
                    .get(&key)
                    .filter(|(version, _)| *version == versions.activity)
                    .map(|(_, set)| Arc::clone(set));
                (lists.lists.get(&key).cloned(), active)
            })
            .unwrap_or_default();
        let fresh = cached_list.is_none() || cached_active.is_none();
        let list = match cached_list {
            Some(list) => list,
            None => Arc::new(registry_teams(conn, rows, from, to)?),
        };
        let active = match cached_active {
            Some(active) => active,
            None => {
                let ids: Vec<Uuid> = list.iter().map(|t| t.team_id).collect();
                Arc::new(active_teams(conn, &ids, from, to)?)
            }
        };
        // Only what was read now goes back (a hit on both takes the lock once).
        if fresh && let Ok(mut lists) = self.teams.lock() {
            if lists.versions != lists_version
                || (!lists.lists.contains_key(&key) && lists.lists.len() >= TEAM_LISTS_KEPT)
            {
                lists.versions = lists_version;
                lists.lists.clear();
                lists.active.clear();
            }
            lists.lists.insert(key, Arc::clone(&list));
            lists
                .active
                .insert(key, (versions.activity, Arc::clone(&active)));
        }
        Ok(list
            .iter()
            .map(|team| CountedTeam {
                active: active.contains(&team.team_id),
                team: team.clone(),
            })
            .collect())
    }
}
