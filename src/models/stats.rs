//! Report aggregates (the `report_aggregates` migration): figures per team and day, per commune-level unit and
//! day, and per commune-level unit and month, kept exact by triggers in the same transaction as every write.
//! This module reads them, and maps units across reorganisations ([`UnitGraph`]).

use std::{
    collections::{HashMap, HashSet},
    ops::AddAssign,
    sync::{Arc, Mutex},
};

use chrono::{Datelike, NaiveDate};
use diesel::{
    prelude::*,
    sql_types::{Array, Date, Integer, Nullable, Text, Uuid as SqlUuid},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{
    prepared::prepared,
    schema::{org_unit_successions, org_units, stat_commune_days},
};
use crate::reference::OrgUnitLevel;

/// Every figure the aggregates hold, summed over a selection.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName, Serialize, Deserialize, ToSchema,
)]
#[diesel(table_name = stat_commune_days, check_for_backend(diesel::pg::Pg))]
pub struct Figures {
    /// Sessions held (training + outreach).
    pub sessions: i64,
    pub sessions_training: i64,
    pub sessions_outreach: i64,
    /// Minutes of sessions.
    pub duration_minutes: i64,
    /// Session participants (attendances, not unique people).
    pub participants_total: i64,
    pub participants_female: i64,
    pub participants_ethnic_minority: i64,
    pub participants_elderly: i64,
    /// Participants of training sessions (`people_trained`).
    pub trained_total: i64,
    pub trained_female: i64,
    pub trained_ethnic_minority: i64,
    /// Households reached by sessions.
    pub households_reached: i64,
    pub vneid_activations: i64,
    pub payment_accounts_opened: i64,
    pub public_service_accounts_created: i64,
    pub online_dossiers_submitted: i64,
    pub apps_installed: i64,
    /// `by=topic` only: sessions that listed the topic at all (a session lists several, so these do not add
    /// up); the other session figures of a topic row count each session once, under its first topic.
    pub topic_mentions: i64,
    /// Campaign reach activities.
    pub reach_activities: i64,
    /// Person-contacts (lượt người).
    pub contacts: i64,
    /// Unique-people estimates, where teams gave one.
    pub unique_people: i64,
    /// Households reached by campaign activities, as reported (not capped).
    pub reach_households: i64,
    /// Broadcast audience estimates.
    pub estimated_audience: i64,
    pub materials_distributed: i64,
}

/// The figure columns, in the order of [`Figures`].
pub const MEASURES: [&str; 24] = [
    "sessions",
    "sessions_training",
    "sessions_outreach",
    "duration_minutes",
    "participants_total",
    "participants_female",
    "participants_ethnic_minority",
    "participants_elderly",
    "trained_total",
    "trained_female",
    "trained_ethnic_minority",
    "households_reached",
    "vneid_activations",
    "payment_accounts_opened",
    "public_service_accounts_created",
    "online_dossiers_submitted",
    "apps_installed",
    "topic_mentions",
    "reach_activities",
    "contacts",
    "unique_people",
    "reach_households",
    "estimated_audience",
    "materials_distributed",
];

impl Figures {
    /// The figures in the order of [`MEASURES`].
    pub fn values(&self) -> [i64; 24] {
        [
            self.sessions,
            self.sessions_training,
            self.sessions_outreach,
            self.duration_minutes,
            self.participants_total,
            self.participants_female,
            self.participants_ethnic_minority,
            self.participants_elderly,
            self.trained_total,
            self.trained_female,
            self.trained_ethnic_minority,
            self.households_reached,
            self.vneid_activations,
            self.payment_accounts_opened,
            self.public_service_accounts_created,
            self.online_dossiers_submitted,
            self.apps_installed,
            self.topic_mentions,
            self.reach_activities,
            self.contacts,
            self.unique_people,
            self.reach_households,
            self.estimated_audience,
            self.materials_distributed,
        ]
    }

    /// Records (sessions and reach activities) counted.
    pub fn records(&self) -> i64 {
        self.sessions + self.reach_activities
    }
}

impl AddAssign for Figures {
    fn add_assign(&mut self, other: Self) {
        self.sessions += other.sessions;
        self.sessions_training += other.sessions_training;
        self.sessions_outreach += other.sessions_outreach;
        self.duration_minutes += other.duration_minutes;
        self.participants_total += other.participants_total;
        self.participants_female += other.participants_female;
        self.participants_ethnic_minority += other.participants_ethnic_minority;
        self.participants_elderly += other.participants_elderly;
        self.trained_total += other.trained_total;
        self.trained_female += other.trained_female;
        self.trained_ethnic_minority += other.trained_ethnic_minority;
        self.households_reached += other.households_reached;
        self.vneid_activations += other.vneid_activations;
        self.payment_accounts_opened += other.payment_accounts_opened;
        self.public_service_accounts_created += other.public_service_accounts_created;
        self.online_dossiers_submitted += other.online_dossiers_submitted;
        self.apps_installed += other.apps_installed;
        self.topic_mentions += other.topic_mentions;
        self.reach_activities += other.reach_activities;
        self.contacts += other.contacts;
        self.unique_people += other.unique_people;
        self.reach_households += other.reach_households;
        self.estimated_audience += other.estimated_audience;
        self.materials_distributed += other.materials_distributed;
    }
}

/// One group of an aggregate read: group key, time bucket, record status, dimension key.
#[derive(Debug, Clone, QueryableByName)]
pub struct FigureRow {
    #[diesel(sql_type = Text)]
    pub grp: String,
    #[diesel(sql_type = Text)]
    pub bucket: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(embed)]
    pub figures: Figures,
}

/// A cut of the aggregates: one dimension over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut<'a> {
    /// `all`, `topic`, `channel` or `campaign`.
    pub dim: &'a str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub bucket: Bucket,
}

/// Time buckets of a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    None,
    Month,
    Week,
}

impl Bucket {
    fn sql(self, column: &str) -> String {
        match self {
            Bucket::None => "''".to_owned(),
            Bucket::Month => format!("to_char({column}, 'YYYY-MM')"),
            Bucket::Week => format!("to_char({column}, 'IYYY-\"W\"IW')"),
        }
    }
}

fn sums() -> String {
    MEASURES
        .iter()
        .map(|m| format!("sum({m})::bigint AS {m}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole months inside `[from, to]`: `(first, end)` with `end` exclusive, or `None`.
fn whole_months(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = if from.day() == 1 {
        from
    } else {
        next_month(from)?
    };
    let after = to.succ_opt()?;
    let end = if after.day() == 1 {
        after
    } else {
        after.with_day(1)?
    };
    (first < end).then_some((first, end))
}

fn next_month(day: NaiveDate) -> Option<NaiveDate> {
    let (year, month) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// What a commune-level read covers: whole roots (every commune-level unit of a tree, read from the root
/// grain, ungrouped) and single commune-level units, each with its group key.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub roots: Vec<Uuid>,
    pub communes: Vec<(Uuid, String)>,
}

/// Sums the commune-level (and root-level) aggregates of a selection over a cut, by group, bucket, status and
/// key. Whole months come from the monthly grains, the edges from the daily ones; each commune-level unit is
/// read through its own index range (a lateral join), so the cost follows the scope, not the table.
pub fn by_commune(
    conn: &mut PgConnection,
    selection: &Selection,
    cut: Cut<'_>,
) -> QueryResult<Vec<FigureRow>> {
    let months = match cut.bucket {
        Bucket::Week => None,
        _ => whole_months(cut.from, cut.to),
    };
    let after = cut.to.succ_opt().unwrap_or(cut.to);
    // Months [m1, m2), days [from, d1) and [d2, to]; with no whole month the days cover the period.
    let (m1, m2, d1, d2) = match months {
        Some((first, end)) => (first, end, first, end),
        None => (after, after, after, after),
    };
    let measures = MEASURES.join(", ");
    let parts = |table_days: &str, table_months: &str, filter: &str| {
        format!(
            "SELECT month AS at, status, key, {measures} FROM {table_months} \
             WHERE {filter} AND dim = $3 AND month >= $4 AND month < $5 \
             UNION ALL SELECT day, status, key, {measures} FROM {table_days} \
             WHERE {filter} AND dim = $3 AND day >= $6 AND day < $7 \
             UNION ALL SELECT day, status, key, {measures} FROM {table_days} \
             WHERE {filter} AND dim = $3 AND day >= $8 AND day <= $9"
        )
    };
    let sql = format!(
        "SELECT g.grp, {bucket} AS bucket, f.status, f.key, {sums} \
         FROM unnest($1::uuid[], $2::text[]) AS g (commune_id, grp) \
         CROSS JOIN LATERAL ({communes}) f GROUP BY 1, 2, 3, 4 \
         UNION ALL \
         SELECT '', {bucket}, f.status, f.key, {sums} FROM ({roots}) f GROUP BY 1, 2, 3, 4",
        bucket = cut.bucket.sql("f.at"),
        sums = sums(),
        communes = parts(
            "stat_commune_days",
            "stat_commune_months",
            "commune_id = g.commune_id"
        ),
        roots = parts("stat_root_days", "stat_root_months", "root_id = ANY($10)"),
    );
    let (ids, groups): (Vec<Uuid>, Vec<String>) = selection.communes.iter().cloned().unzip();
    prepared(
        diesel::sql_query(sql)
            .bind::<Array<SqlUuid>, _>(ids)
            .bind::<Array<Text>, _>(groups)
            .bind::<Text, _>(cut.dim)
            .bind::<Date, _>(m1)
            .bind::<Date, _>(m2)
            .bind::<Date, _>(cut.from)
            .bind::<Date, _>(d1)
            .bind::<Date, _>(d2)
            .bind::<Date, _>(cut.to)
            .bind::<Array<SqlUuid>, _>(&selection.roots),
    )
    .load(conn)
}

/// How team-level rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamGroup {
    None,
    Team,
    Unit,
    Commune,
}

/// Which team-level rows to read: those attributed to `communes`, optionally of one team or one unit.
#[derive(Debug, Clone, Default)]
pub struct TeamRows {
    pub communes: Vec<Uuid>,
    pub team: Option<Uuid>,
    pub unit: Option<Uuid>,
}

/// Sums the team-level aggregates over a cut, by group (team, the unit served, or nothing), bucket, status
/// and key.
pub fn by_team(
    conn: &mut PgConnection,
    rows: &TeamRows,
    group: TeamGroup,
    cut: Cut<'_>,
) -> QueryResult<Vec<FigureRow>> {
    let grp = match group {
        TeamGroup::None => "''",
        TeamGroup::Team => "team_id::text",
        TeamGroup::Unit => "unit_id::text",
        TeamGroup::Commune => "commune_id::text",
    };
    let sql = format!(
        "SELECT {grp} AS grp, {bucket} AS bucket, status, key, {sums} FROM stat_team_days \
         WHERE commune_id = ANY($1) AND dim = $2 AND day >= $3 AND day <= $4 \
           AND ($5::uuid IS NULL OR team_id = $5) AND ($6::uuid IS NULL OR unit_id = $6) \
         GROUP BY 1, 2, 3, 4",
        bucket = cut.bucket.sql("day"),
        sums = sums(),
    );
    prepared(
        diesel::sql_query(sql)
            .bind::<Array<SqlUuid>, _>(&rows.communes)
            .bind::<Text, _>(cut.dim)
            .bind::<Date, _>(cut.from)
            .bind::<Date, _>(cut.to)
            .bind::<Nullable<SqlUuid>, _>(rows.team)
            .bind::<Nullable<SqlUuid>, _>(rows.unit),
    )
    .load(conn)
}

/// A team counted by a report: the unit it served on the reference day and its members then.
#[derive(Debug, Clone, QueryableByName)]
pub struct RegistryTeam {
    #[diesel(sql_type = SqlUuid)]
    pub team_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub commune_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub members: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub leaders: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub female_members: i64,
}

/// The teams that existed during `[from, to]` and served, on `to`, a unit of `rows.communes` (the commune or
/// one of its villages), with their members on `to`. One statement; the unit list is joined through
/// `unnest`, which keeps planning cheap.
pub fn registry_teams(
    conn: &mut PgConnection,
    rows: &TeamRows,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<RegistryTeam>> {
    prepared(diesel::sql_query(
        "WITH c AS (SELECT DISTINCT unnest($1::uuid[]) AS commune_id), \
         u AS (SELECT o.id, o.id AS commune_id FROM c JOIN org_units o ON o.id = c.commune_id \
               UNION ALL SELECT o.id, o.parent_id FROM c JOIN org_units o ON o.parent_id = c.commune_id \
               WHERE o.level = 'village'), \
         counted AS ( \
           SELECT tu.team_id, tu.org_unit_id AS unit_id, u.commune_id FROM u \
           JOIN team_units tu ON tu.org_unit_id = u.id \
             AND tu.valid_from <= $3 AND (tu.valid_to IS NULL OR tu.valid_to >= $3) \
           JOIN teams t ON t.id = tu.team_id \
           WHERE (t.founded_on IS NULL OR t.founded_on <= $3) AND (t.dissolved_on IS NULL OR t.dissolved_on >= $2) \
             AND ($4::uuid IS NULL OR t.id = $4) AND ($5::uuid IS NULL OR tu.org_unit_id = $5)), \
         members AS ( \
           SELECT m.team_id, count(*) AS total, count(*) FILTER (WHERE m.role = 'leader') AS leaders, \
                  count(*) FILTER (WHERE p.gender = 'female') AS female \
           FROM counted JOIN memberships m USING (team_id) JOIN people p ON p.id = m.person_id \
           WHERE m.joined_on <= $3 AND (m.left_on IS NULL OR m.left_on > $3) GROUP BY m.team_id) \
         SELECT c.team_id, c.unit_id, c.commune_id, coalesce(mb.total, 0) AS members, \
                coalesce(mb.leaders, 0) AS leaders, coalesce(mb.female, 0) AS female_members \
         FROM counted c LEFT JOIN members mb USING (team_id)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.communes)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<SqlUuid>, _>(rows.team)
    .bind::<Nullable<SqlUuid>, _>(rows.unit))
    .load(conn)
}

#[derive(QueryableByName)]
struct TeamId {
    #[diesel(sql_type = SqlUuid)]
    team_id: Uuid,
}

/// Which of `teams` had a counted (submitted or verified) session or reach activity in `[from, to]`, from the
/// activity bits of `stat_team_years`.
pub fn active_teams(
    conn: &mut PgConnection,
    teams: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<HashSet<Uuid>> {
    let rows: Vec<TeamId> = prepared(
        diesel::sql_query(
            // One index probe per team (LATERAL ... LIMIT 1): with all of a country's teams in the table, a
            // join would be planned as a hash join over every team's row of the year (40 ms instead of 5 for
            // a province at national scale).
            "SELECT t.team_id FROM unnest($1::uuid[]) AS t (team_id) \
         CROSS JOIN LATERAL ( \
             SELECT 1 FROM stat_team_years y \
             WHERE y.team_id = t.team_id AND y.year BETWEEN $2 AND $3 \
               AND position(B'1' IN substring(y.days FROM \
                   (CASE WHEN y.year = $2 THEN $4 ELSE 1 END) \
                   FOR (CASE WHEN y.year = $3 THEN $5 ELSE 366 END) \
                       - (CASE WHEN y.year = $2 THEN $4 ELSE 1 END) + 1)) > 0 \
             LIMIT 1) active",
        )
        .bind::<Array<SqlUuid>, _>(teams)
        .bind::<Integer, _>(from.year())
        .bind::<Integer, _>(to.year())
        .bind::<Integer, _>(i32::try_from(from.ordinal()).unwrap_or(1))
        .bind::<Integer, _>(i32::try_from(to.ordinal()).unwrap_or(366)),
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.team_id).collect())
}

/// A counted team with its activity flag.
#[derive(Debug, Clone)]
pub struct CountedTeam {
    pub team: RegistryTeam,
    pub active: bool,
}

/// The last day with a counted (submitted or verified) session or reach activity of each of `teams` that
/// has one.
pub fn last_active(conn: &mut PgConnection, teams: &[Uuid]) -> QueryResult<Vec<LastActive>> {
    prepared(
        diesel::sql_query(
            "SELECT DISTINCT ON (team_id) team_id, \
                make_date(year, 1, 1) + length(rtrim(days::text, '0')) - 1 AS day \
         FROM stat_team_years WHERE team_id = ANY($1) ORDER BY team_id, year DESC",
        )
        .bind::<Array<SqlUuid>, _>(teams),
    )
    .load(conn)
}

/// A team's last active day.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct LastActive {
    #[diesel(sql_type = SqlUuid)]
    pub team_id: Uuid,
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
}

/// Members of teams on a day.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub struct MemberCounts {
    pub total: i64,
    pub leaders: i64,
    pub female: i64,
}

impl MemberCounts {
    /// The members of counted teams.
    pub fn of(teams: &[CountedTeam]) -> Self {
        teams.iter().fold(Self::default(), |sum, t| Self {
            total: sum.total + t.team.members,
            leaders: sum.leaders + t.team.leaders,
            female: sum.female + t.team.female_members,
        })
    }
}

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
    fn load(conn: &mut PgConnection, version: i64) -> QueryResult<Self> {
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

/// Re-attributes everything a team did around a change of its unit history: call with `-1` before the
/// change and `1` after it, in the same transaction.
pub fn reattribute_team(conn: &mut PgConnection, team: Uuid, sign: i32) -> QueryResult<()> {
    diesel::sql_query("SELECT cdt_stats_team($1, $2)")
        .bind::<SqlUuid, _>(team)
        .bind::<diesel::sql_types::Integer, _>(sign)
        .execute(conn)
        .map(|_| ())
}

/// Rebuilds every aggregate from the raw rows (after a bulk load).
pub fn rebuild(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT cdt_stats_rebuild()")
        .execute(conn)
        .map(|_| ())
}
