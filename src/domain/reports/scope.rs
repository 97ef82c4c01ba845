//! What a report covers, resolved for its reader: the unit (by default the reader's scope root), the
//! period, the administrative structure of `as_of`, and the read-only snapshot every report runs in.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role},
    domain::{today_in_vietnam, validation::FieldErrors},
    error::AppError,
    models::{
        org_unit::{self, OrgUnitFilter},
        sign_off,
        stats::{
            self, AcceptedMonths, Bucket, CountedTeam, Cut, FigureRow, ReportCache, Selection,
            TeamGroup, TeamRows, UnitGraph, UnitNode, Versions,
        },
    },
    reference::OrgUnitLevel,
};

/// The unit, period and structure a report covers, resolved for the caller.
#[derive(Debug, Clone)]
pub struct ReportScope {
    pub root: UnitNode,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    /// Every commune-level unit whose activity falls under `root` on `as_of`, with the child of `root` it
    /// falls under (or `root` itself).
    pub communes: Vec<(Uuid, Uuid)>,
    /// The roots (provinces) all of whose commune-level units are in `communes`: ungrouped reads take their
    /// figures from the root grain.
    pub whole_roots: Vec<Uuid>,
    /// The same selection for team-level reads, narrowed to the caller's team (team leaders) or to a village.
    pub rows: TeamRows,
    /// Verified records only (else verified and submitted).
    pub verified_only: bool,
    /// A signed-off read: the unit-months it counts (see [`ReportScope::sign_off_only`]).
    pub signed_off: Option<AcceptedMonths>,
}

impl ReportScope {
    /// The record statuses whose figures count.
    pub fn counts(&self, status: &str) -> bool {
        status == "verified" || (status == "submitted" && !self.verified_only)
    }

    /// True when the aggregates must be read per team (a team or a village), not per commune.
    pub fn narrowed(&self) -> bool {
        self.rows.team.is_some() || self.rows.unit.is_some()
    }

    /// Whether only signed-off unit-months count.
    pub fn signed_off_only(&self) -> bool {
        self.signed_off.is_some()
    }

    /// Restricts the scope to the official figures: a unit-month of the report's structure (the commune-level
    /// units in force on `as_of`) counts only when every unit-month contributing to it was accepted, that is
    /// every commune-level unit in force in that month whose activity the structure attributes to it. Under
    /// the current structure a merged commune's months before the merger count when all its predecessors'
    /// months were accepted; under an old one a predecessor's later months count when its successor's were.
    pub fn sign_off_only(&mut self, conn: &mut PgConnection, graph: &UnitGraph) -> QueryResult<()> {
        let accepted: HashSet<(Uuid, NaiveDate)> =
            sign_off::accepted_months(conn, &self.rows.communes, self.from, self.to)?
                .into_iter()
                .collect();
        // (structure unit, month) -> (contributing units, all accepted)
        let mut groups: HashMap<(Uuid, NaiveDate), (Vec<Uuid>, bool)> = HashMap::new();
        for (commune, month) in unit_months(graph, &self.rows.communes, self.from, self.to) {
            let unit = graph.resolve(commune, self.as_of).map_or(commune, |u| u.id);
            let group = groups.entry((unit, month)).or_insert((Vec::new(), true));
            group.0.push(commune);
            group.1 &= accepted.contains(&(commune, month));
        }
        let mut months = AcceptedMonths::new();
        for ((_, month), (communes, all_accepted)) in groups {
            if all_accepted {
                for commune in communes {
                    months.entry(commune).or_default().push(month);
                }
            }
        }
        self.signed_off = Some(months);
        Ok(())
    }

    /// How many of the unit-months the report covers each sign-off state holds.
    pub fn sign_offs(
        &self,
        conn: &mut PgConnection,
        graph: &UnitGraph,
    ) -> Result<crate::domain::sign_offs::SignOffCounts, crate::error::AppError> {
        let communes: Vec<Uuid> = self.communes.iter().map(|(commune, _)| *commune).collect();
        let unit_months = unit_months(graph, &communes, self.from, self.to).count() as i64;
        crate::domain::sign_offs::SignOffCounts::of(
            conn,
            &communes,
            (self.from, self.to),
            unit_months,
        )
    }

    /// The selection grouped by child unit.
    pub(super) fn by_child(&self) -> Selection {
        Selection {
            roots: Vec::new(),
            communes: self
                .communes
                .iter()
                .map(|(commune, child)| (*commune, child.to_string()))
                .collect(),
        }
    }

    /// The ungrouped selection: whole roots from the root grain, the other units one by one.
    fn whole(&self, graph: &UnitGraph) -> Selection {
        // Sign-offs are per commune-level unit: signed-off reads take every unit one by one.
        let whole_roots = if self.signed_off_only() {
            &[][..]
        } else {
            &self.whole_roots[..]
        };
        Selection {
            roots: whole_roots.to_vec(),
            communes: self
                .communes
                .iter()
                .filter(|(commune, _)| {
                    graph
                        .units
                        .get(commune)
                        .and_then(UnitNode::root)
                        .is_none_or(|root| !whole_roots.contains(&root))
                })
                .map(|(commune, _)| (*commune, String::new()))
                .collect(),
        }
    }

    /// The scope's figures for one dimension, ungrouped (by status and key, and by time bucket if asked):
    /// from the team grain for a team or a village, else from the root and commune grains.
    pub fn figures(
        &self,
        conn: &mut PgConnection,
        graph: &UnitGraph,
        dim: &str,
        bucket: Bucket,
    ) -> QueryResult<Vec<FigureRow>> {
        let cut = Cut {
            dim,
            from: self.from,
            to: self.to,
            bucket,
            accepted: self.signed_off.as_ref(),
        };
        if self.narrowed() {
            stats::by_team(conn, &self.rows, TeamGroup::None, cut)
        } else {
            stats::by_commune(conn, &self.whole(graph), cut)
        }
    }
}

/// The options every figure report shares.
#[derive(Debug, Clone, Default)]
pub struct PeriodOptions {
    pub org_unit_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub as_of: Option<NaiveDate>,
    pub verified_only: Option<bool>,
    /// Only unit-months accepted by a sign-off.
    pub signed_off_only: Option<bool>,
}

/// Every (unit, month) of `communes` with a month overlapping `[from, to]` (first days), each unit only in the
/// months it was in force on some day of: the unit-months a sign-off covers.
fn unit_months<'a>(
    graph: &'a UnitGraph,
    communes: &'a [Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> impl Iterator<Item = (Uuid, NaiveDate)> + 'a {
    let first = from.with_day(1).unwrap_or(from);
    std::iter::successors(Some(first), |month| Some(*month + chrono::Months::new(1)))
        .take_while(move |month| *month <= to)
        .flat_map(move |month| {
            let last = month + chrono::Months::new(1) - chrono::Days::new(1);
            communes.iter().filter_map(move |commune| {
                let node = graph.units.get(commune)?;
                (node.valid_from <= last && node.valid_to.is_none_or(|end| end >= month))
                    .then_some((*commune, month))
            })
        })
}

/// Checks the period: `from <= to` and both within a sane range.
pub fn check_period(options: &PeriodOptions, errors: &mut FieldErrors) -> (NaiveDate, NaiveDate) {
    let today = today_in_vietnam();
    let to = options.to.unwrap_or(today);
    let from = options
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    let (first_year, last_year) = crate::contract::REPORT_YEARS;
    let earliest = NaiveDate::from_ymd_opt(first_year, 1, 1).unwrap_or(from);
    let latest = NaiveDate::from_ymd_opt(last_year, 12, 31).unwrap_or(to);
    for (field, day) in [("from", from), ("to", to)] {
        if !(earliest..=latest).contains(&day) {
            errors.add(
                field,
                "out_of_range",
                "must be between 2000-01-01 and 2100-12-31",
                "phải trong khoảng 2000-01-01 đến 2100-12-31",
            );
        }
    }
    if from > to {
        errors.add(
            "from",
            "after_to",
            "must not be after `to`",
            "không được sau ngày `to`",
        );
    }
    (from, to)
}

/// The root unit of a report or summary: asked for, else the caller's own unit (their scope root, or their
/// team's unit), else the province; 404 when officers or viewers ask outside their subtree (team leaders
/// read their own team's part of any unit).
pub fn root_unit(
    conn: &mut PgConnection,
    actor: &AuthUser,
    asked: Option<Uuid>,
) -> Result<org_unit::OrgUnit, AppError> {
    let root_id = match (asked, actor.org_unit_id) {
        (Some(id), _) => id,
        (None, Some(id)) if actor.role != Role::Admin => id,
        _ => org_unit::list(
            conn,
            &OrgUnitFilter {
                level: Some(OrgUnitLevel::Province),
                ..OrgUnitFilter::default()
            },
            None,
            1,
        )?
        .first()
        .map(|u| u.id)
        .ok_or_else(|| AppError::not_found("org unit"))?,
    };
    let root = org_unit::find(conn, root_id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("org unit"))?;
    // Officers and viewers read their subtree; team leaders their own team's part of any subtree.
    let visible =
        actor.role == Role::Admin || actor.role == Role::TeamLeader || actor.sees_path(&root.path);
    if visible {
        Ok(root)
    } else {
        Err(AppError::not_found("org unit"))
    }
}

/// Resolves a report's scope under `unit`: period, structure day (`as_of`, else the period's last day, or
/// the last day the unit existed), and the commune-level units it covers, narrowed to one `team` if given.
pub fn resolve_scope(
    graph: &UnitGraph,
    unit: &org_unit::OrgUnit,
    as_of: Option<NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
    team: Option<Uuid>,
    verified_only: bool,
) -> Result<ReportScope, AppError> {
    let root = UnitNode {
        id: unit.id,
        parent_id: unit.parent_id,
        code: unit.code.clone(),
        name: unit.name.clone(),
        level: unit.level,
        path: unit.path.clone(),
        valid_from: unit.valid_from,
        valid_to: unit.valid_to,
        households: unit.households,
    };
    let as_of = match as_of {
        Some(day) if !root.valid_on(day) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "as_of",
                "not_in_force",
                format!(
                    "{} was not in force on {day} (it was from {} to {})",
                    root.name,
                    root.valid_from,
                    root.valid_to.map_or("today".to_owned(), |d| d.to_string())
                ),
                format!("{} không tồn tại vào ngày {day}", root.name),
            );
            return Err(errors
                .finish()
                .err()
                .unwrap_or_else(|| AppError::not_found("org unit")));
        }
        Some(day) => day,
        // The structure of the period's last day, or the last (first) day the unit existed.
        None if root.valid_on(to) => to,
        None => match root.valid_to {
            Some(end) if end < to => end,
            _ => root.valid_from,
        },
    };
    let mut communes = Vec::new();
    if root.level == OrgUnitLevel::Village {
        // A village: the activity of the teams serving it, under its commune.
        for commune in graph.communes() {
            if graph
                .resolve(commune.id, as_of)
                .is_some_and(|m| Some(m.id) == root.parent_id)
            {
                communes.push((commune.id, root.id));
            }
        }
    } else {
        for commune in graph.communes() {
            let Some(mapped) = graph.resolve(commune.id, as_of) else {
                continue;
            };
            let Some(rest) = mapped.path.strip_prefix(root.path.as_str()) else {
                continue;
            };
            let child = rest
                .split('/')
                .next()
                .and_then(|id| id.parse::<Uuid>().ok())
                .unwrap_or(root.id);
            communes.push((commune.id, child));
        }
    }
    // A root is whole when every commune-level unit of its tree is in the scope.
    let mut in_scope: HashMap<Uuid, usize> = HashMap::new();
    for (commune, _) in &communes {
        if let Some(root) = graph.units.get(commune).and_then(UnitNode::root) {
            *in_scope.entry(root).or_default() += 1;
        }
    }
    let mut whole_roots: Vec<Uuid> = in_scope
        .into_iter()
        .filter(|(root, count)| {
            graph.communes().filter(|c| c.root() == Some(*root)).count() == *count
        })
        .map(|(root, _)| root)
        .collect();
    whole_roots.sort();
    let rows = TeamRows {
        communes: communes.iter().map(|(commune, _)| *commune).collect(),
        team,
        unit: (root.level == OrgUnitLevel::Village).then_some(root.id),
    };
    Ok(ReportScope {
        root,
        from,
        to,
        as_of,
        communes,
        whole_roots,
        rows,
        verified_only,
        signed_off: None,
    })
}

/// What a report reads besides the aggregates: the cache, and the graph and versions it stands at.
#[derive(Debug)]
pub struct Reader<'a> {
    pub cache: &'a ReportCache,
    pub graph: std::sync::Arc<UnitGraph>,
    pub versions: Versions,
}

impl Reader<'_> {
    /// The teams a scope counts, with their activity in its period.
    pub fn teams(
        &self,
        conn: &mut PgConnection,
        scope: &ReportScope,
    ) -> QueryResult<Vec<CountedTeam>> {
        self.cache.teams(
            conn,
            self.versions,
            scope.root.id,
            scope.as_of,
            &scope.rows,
            scope.from,
            scope.to,
        )
    }
}

/// Runs `work` on the caller's report scope (see [`prepare`]), what every figure report does, in one
/// read-only, repeatable-read transaction. Every statement then sees the same snapshot (the cache
/// versions, the team list, the activity and the figures agree with each other), and the hand-written
/// aggregate queries run on their cached generic plans: PostgreSQL's cost model estimates the generic plan
/// of the figures query at ten times its custom plan (unknown array sizes and date ranges), so by default
/// it planned that query again on every report, 1.2 ms of planning for 0.2 ms of execution, although the
/// generic plan runs as fast (measured with `pg_stat_statements` and `EXPLAIN ANALYZE`, bench/RESULTS.md).
pub fn read_report<T>(
    conn: &mut PgConnection,
    cache: &ReportCache,
    actor: &AuthUser,
    options: &PeriodOptions,
    (from, to): (NaiveDate, NaiveDate),
    work: impl FnOnce(&mut PgConnection, &Reader<'_>, &ReportScope) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|conn| {
            crate::db::prepared::force_generic_plans(conn)?;
            let (reader, scope) = prepare(conn, cache, actor, options, from, to)?;
            work(conn, &reader, &scope)
        })
}

/// Reads the graph and resolves the caller's scope in one go (what every figure report starts with).
fn prepare<'a>(
    conn: &mut PgConnection,
    cache: &'a ReportCache,
    actor: &AuthUser,
    options: &PeriodOptions,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Reader<'a>, ReportScope), AppError> {
    let (graph, versions) = cache.current(conn)?;
    let unit = root_unit(conn, actor, options.org_unit_id)?;
    // Team leaders read their own team's part.
    let team = (actor.role == Role::TeamLeader).then(|| actor.team_id.unwrap_or_else(Uuid::nil));
    let scope = resolve_scope(
        &graph,
        &unit,
        options.as_of,
        from,
        to,
        team,
        options.verified_only.unwrap_or(false),
    )?;
    let mut scope = scope;
    if options.signed_off_only.unwrap_or(false) {
        scope.sign_off_only(conn, &graph)?;
    }
    Ok((
        Reader {
            cache,
            graph,
            versions,
        },
        scope,
    ))
}
