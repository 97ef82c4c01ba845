//! Report aggregates (the `report_aggregates` migration): figures per team and day, per commune-level unit and
//! day, and per commune-level unit and month, kept exact by triggers in the same transaction as every write.
//! This module reads them ([`registry`]: the teams a report counts), maps units across reorganisations
//! ([`graph`]) and keeps what reports reuse between requests ([`cache`]).

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

mod cache;
mod graph;
mod registry;

pub use cache::{ReportCache, Versions};
pub use graph::{UnitGraph, UnitNode};
pub use registry::*;

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
    /// Only these unit-months (the official figures of a signed-off read); commune-level reads only.
    pub accepted: Option<&'a AcceptedMonths>,
}

/// The months (first days) whose figures a signed-off read counts, per commune-level unit.
pub type AcceptedMonths = HashMap<Uuid, Vec<NaiveDate>>;

/// The months of `accepted` per commune-level unit of `communes`, as array literals (`{2025-06-01,...}`)
/// for a `text[]` parameter (empty when the read is not signed-off only).
fn accepted_literals(accepted: Option<&AcceptedMonths>, communes: &[Uuid]) -> Vec<String> {
    communes
        .iter()
        .map(|commune| {
            let months = accepted
                .and_then(|a| a.get(commune))
                .map(|months| months.iter().map(NaiveDate::to_string).collect::<Vec<_>>())
                .unwrap_or_default();
            format!("{{{}}}", months.join(","))
        })
        .collect()
}

/// The condition that the month of `month` (a date column or expression) is among the `text[]` literal
/// `months`, or nothing when the read is not signed-off only.
fn accepted(cut: &Cut<'_>, months: &str, month: &str) -> String {
    if cut.accepted.is_some() {
        format!(" AND {month} = ANY({months}::date[])")
    } else {
        String::new()
    }
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

/// A commune-level unit's figures of one month (`month`: its first day), by review status.
pub fn commune_month(
    conn: &mut PgConnection,
    commune: Uuid,
    month: NaiveDate,
) -> QueryResult<Vec<(String, Figures)>> {
    #[derive(QueryableByName)]
    struct ByStatus {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(embed)]
        figures: Figures,
    }
    let rows: Vec<ByStatus> = diesel::sql_query(format!(
        "SELECT status, {sums} FROM stat_commune_months \
         WHERE commune_id = $1 AND month = $2 AND dim = 'all' GROUP BY status",
        sums = sums()
    ))
    .bind::<SqlUuid, _>(commune)
    .bind::<Date, _>(month)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.status, r.figures)).collect())
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
    let parts = |table_days: &str, table_months: &str, filter: &str, months: &str| {
        let by_month = accepted(&cut, months, "month");
        let by_day = accepted(&cut, months, "date_trunc('month', day)::date");
        format!(
            "SELECT month AS at, status, key, {measures} FROM {table_months} \
             WHERE {filter} AND dim = $3 AND month >= $4 AND month < $5{by_month} \
             UNION ALL SELECT day, status, key, {measures} FROM {table_days} \
             WHERE {filter} AND dim = $3 AND day >= $6 AND day < $7{by_day} \
             UNION ALL SELECT day, status, key, {measures} FROM {table_days} \
             WHERE {filter} AND dim = $3 AND day >= $8 AND day <= $9{by_day}"
        )
    };
    let sql = format!(
        "SELECT g.grp, {bucket} AS bucket, f.status, f.key, {sums} \
         FROM unnest($1::uuid[], $2::text[], $11::text[]) AS g (commune_id, grp, accepted) \
         CROSS JOIN LATERAL ({communes}) f GROUP BY 1, 2, 3, 4 \
         UNION ALL \
         SELECT '', {bucket}, f.status, f.key, {sums} FROM ({roots}) f GROUP BY 1, 2, 3, 4",
        bucket = cut.bucket.sql("f.at"),
        sums = sums(),
        communes = parts(
            "stat_commune_days",
            "stat_commune_months",
            "commune_id = g.commune_id",
            "g.accepted"
        ),
        // Signed-off figures are read per commune-level unit: the caller selects no whole roots then.
        roots = parts(
            "stat_root_days",
            "stat_root_months",
            "root_id = ANY($10)",
            "'{}'"
        ),
    );
    let (ids, groups): (Vec<Uuid>, Vec<String>) = selection.communes.iter().cloned().unzip();
    let accepted_months = accepted_literals(cut.accepted, &ids);
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
            .bind::<Array<SqlUuid>, _>(&selection.roots)
            .bind::<Array<Text>, _>(accepted_months),
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
        TeamGroup::Team => "t.team_id::text",
        TeamGroup::Unit => "t.unit_id::text",
        TeamGroup::Commune => "t.commune_id::text",
    };
    // A signed-off read keeps each commune-level unit's accepted months (`$7`, one literal per unit).
    let (from, signed) = match cut.accepted {
        Some(_) => (
            "unnest($1::uuid[], $7::text[]) AS g (commune_id, accepted) \
             JOIN stat_team_days t ON t.commune_id = g.commune_id",
            " AND date_trunc('month', t.day)::date = ANY(g.accepted::date[])",
        ),
        None => ("stat_team_days t WHERE t.commune_id = ANY($1)", ""),
    };
    let sql = format!(
        "SELECT {grp} AS grp, {bucket} AS bucket, t.status, t.key, {sums} FROM {from} \
         {and} t.dim = $2 AND t.day >= $3 AND t.day <= $4 \
           AND ($5::uuid IS NULL OR t.team_id = $5) AND ($6::uuid IS NULL OR t.unit_id = $6){signed} \
         GROUP BY 1, 2, 3, 4",
        and = if cut.accepted.is_some() {
            "WHERE"
        } else {
            "AND"
        },
        bucket = cut.bucket.sql("t.day"),
        sums = sums(),
    );
    prepared(
        diesel::sql_query(sql)
            .bind::<Array<SqlUuid>, _>(&rows.communes)
            .bind::<Text, _>(cut.dim)
            .bind::<Date, _>(cut.from)
            .bind::<Date, _>(cut.to)
            .bind::<Nullable<SqlUuid>, _>(rows.team)
            .bind::<Nullable<SqlUuid>, _>(rows.unit)
            .bind::<Array<Text>, _>(accepted_literals(cut.accepted, &rows.communes)),
    )
    .load(conn)
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
