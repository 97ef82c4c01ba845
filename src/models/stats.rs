//! Report aggregates (the `report_aggregates` migration): figures per team and day, per commune-level unit and
//! day, and per commune-level unit and month, kept exact by triggers in the same transaction as every write.
//! This module reads them, and maps units across reorganisations ([`UnitGraph`]).

use std::{
    collections::HashMap,
    ops::AddAssign,
    sync::{Arc, Mutex},
};

use chrono::{Datelike, NaiveDate};
use diesel::{
    prelude::*,
    sql_types::{Array, Date, Nullable, Text, Uuid as SqlUuid},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{
    org_structure_version, org_unit_successions, org_units, stat_commune_days,
};

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

/// Sums the commune-level aggregates of `communes` (each with its group key) over a cut, by group, bucket,
/// status and key. Whole months come from the monthly grain, the edges from the daily one.
pub fn by_commune(
    conn: &mut PgConnection,
    communes: &[(Uuid, String)],
    cut: Cut<'_>,
) -> QueryResult<Vec<FigureRow>> {
    let months = match cut.bucket {
        Bucket::Week => None,
        _ => whole_months(cut.from, cut.to),
    };
    // Without whole months the day range is the whole period and the month range is empty.
    let (month_from, month_end) = months.unwrap_or((cut.to, cut.to));
    let sql = format!(
        "WITH g (commune_id, grp) AS (SELECT * FROM unnest($1::uuid[], $2::text[])) \
         SELECT g.grp, {bucket} AS bucket, f.status, f.key, {sums} FROM g JOIN ( \
           SELECT commune_id, day AS at, status, key, {measures} FROM stat_commune_days \
           WHERE dim = $3 AND ((day >= $4 AND day < $5) OR (day >= $6 AND day <= $7)) \
           UNION ALL \
           SELECT commune_id, month, status, key, {measures} FROM stat_commune_months \
           WHERE dim = $3 AND month >= $5 AND month < $6 \
         ) f USING (commune_id) GROUP BY 1, 2, 3, 4",
        bucket = cut.bucket.sql("f.at"),
        sums = sums(),
        measures = MEASURES.join(", "),
    );
    let (ids, groups): (Vec<Uuid>, Vec<String>) = communes.iter().cloned().unzip();
    let (day_end, day_restart) = if months.is_some() {
        (month_from, month_end)
    } else {
        (
            cut.to.succ_opt().unwrap_or(cut.to),
            cut.to.succ_opt().unwrap_or(cut.to),
        )
    };
    diesel::sql_query(sql)
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<Text>, _>(groups)
        .bind::<Text, _>(cut.dim)
        .bind::<Date, _>(cut.from)
        .bind::<Date, _>(day_end)
        .bind::<Date, _>(day_restart)
        .bind::<Date, _>(cut.to)
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
    diesel::sql_query(sql)
        .bind::<Array<SqlUuid>, _>(&rows.communes)
        .bind::<Text, _>(cut.dim)
        .bind::<Date, _>(cut.from)
        .bind::<Date, _>(cut.to)
        .bind::<Nullable<SqlUuid>, _>(rows.team)
        .bind::<Nullable<SqlUuid>, _>(rows.unit)
        .load(conn)
}

/// A team counted by a report: the unit it served on the reference day and whether it had any (not rejected)
/// session or reach activity in the period.
#[derive(Debug, Clone, QueryableByName)]
pub struct CountedTeam {
    #[diesel(sql_type = SqlUuid)]
    pub team_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub commune_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub active: bool,
}

/// The teams that existed during `[from, to]` and served, on `to`, a unit of `rows.communes` (the commune or
/// one of its villages), with whether they were active in the period.
pub fn teams(
    conn: &mut PgConnection,
    rows: &TeamRows,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<CountedTeam>> {
    diesel::sql_query(
        "WITH u AS ( \
           SELECT id, CASE WHEN level = 'village' THEN parent_id ELSE id END AS commune_id FROM org_units \
           WHERE id = ANY($1) OR parent_id = ANY($1)) \
         SELECT tu.team_id, tu.org_unit_id AS unit_id, u.commune_id, EXISTS ( \
           SELECT 1 FROM stat_team_days s WHERE s.team_id = tu.team_id AND s.dim = 'all' \
             AND s.day >= $2 AND s.day <= $3 AND s.status <> 'rejected') AS active \
         FROM u JOIN team_units tu ON tu.org_unit_id = u.id \
           AND tu.valid_from <= $3 AND (tu.valid_to IS NULL OR tu.valid_to >= $3) \
         JOIN teams t ON t.id = tu.team_id \
         WHERE u.commune_id = ANY($1) AND (t.founded_on IS NULL OR t.founded_on <= $3) \
           AND (t.dissolved_on IS NULL OR t.dissolved_on >= $2) \
           AND ($4::uuid IS NULL OR t.id = $4) AND ($5::uuid IS NULL OR tu.org_unit_id = $5)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.communes)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<SqlUuid>, _>(rows.team)
    .bind::<Nullable<SqlUuid>, _>(rows.unit)
    .load(conn)
}

/// Members of teams on a day.
#[derive(Debug, Clone, Copy, Default, QueryableByName, Serialize, Deserialize, ToSchema)]
pub struct MemberCounts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub total: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub leaders: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub female: i64,
}

/// The memberships of `teams` current on `day`.
pub fn members(
    conn: &mut PgConnection,
    teams: &[Uuid],
    day: NaiveDate,
) -> QueryResult<MemberCounts> {
    diesel::sql_query(
        "SELECT count(*) AS total, count(*) FILTER (WHERE m.role = 'leader') AS leaders, \
                count(*) FILTER (WHERE p.gender = 'female') AS female \
         FROM memberships m JOIN people p ON p.id = m.person_id \
         WHERE m.team_id = ANY($1) AND m.joined_on <= $2 AND (m.left_on IS NULL OR m.left_on > $2)",
    )
    .bind::<Array<SqlUuid>, _>(teams)
    .bind::<Date, _>(day)
    .get_result(conn)
}

/// A province, district or commune-level unit as the reports map it.
#[derive(Debug, Clone, Queryable)]
pub struct UnitNode {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub code: String,
    pub name: String,
    pub level: String,
    pub path: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub households: Option<i32>,
}

impl UnitNode {
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
            .filter(org_units::level.ne("village"))
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
        self.units.values().filter(|u| u.level == "commune")
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

/// The process's copy of the [`UnitGraph`], reloaded when `org_structure_version` moves.
#[derive(Debug, Default)]
pub struct GraphCache(Mutex<Option<Arc<UnitGraph>>>);

impl GraphCache {
    /// The current graph: one indexed read of the version, and a reload only when the tree changed.
    pub fn current(&self, conn: &mut PgConnection) -> QueryResult<Arc<UnitGraph>> {
        let version: i64 = org_structure_version::table
            .select(org_structure_version::version)
            .first(conn)?;
        if let Ok(cached) = self.0.lock()
            && let Some(graph) = cached.as_ref()
            && graph.version == version
        {
            return Ok(Arc::clone(graph));
        }
        let graph = Arc::new(UnitGraph::load(conn, version)?);
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some(Arc::clone(&graph));
        }
        Ok(graph)
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
