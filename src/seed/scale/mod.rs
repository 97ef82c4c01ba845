//! `cdt-api seed scale`: a realistic data set at province or national scale for benchmarks.
//!
//! On top of Sơn La's real structure ([`super::son_la`]) it adds up to 33 more provinces (the 34 of the
//! 2025 reorganisation, 3,321 communes and wards in all), villages, teams spread over the communes in
//! proportion, 3 to 9 members per team, one fraud-prevention campaign per year, and then streams the
//! sessions and reach activities of every day of the period with `COPY`, day by day, so primary keys
//! (time-ordered UUIDs) arrive in order. The row triggers of the bulk tables are off during the load;
//! `cdt_stats_rebuild()` and `cdt_changes_backfill()` then derive the report aggregates and the sync feed
//! in one pass each. Everything happens in one transaction: an interrupted load leaves nothing behind.
//!
//! Deterministic: the same options (and end day) give the same rows, ids included.

mod activity;
mod structure;

use std::time::{Duration, Instant};

use crate::reference::OrgUnitKind;
use anyhow::bail;
use chrono::{Datelike, NaiveDate};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query, sql_types::BigInt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use super::demo::{self, Sequence};
use crate::auth::password::PasswordHashing;
pub(in crate::seed) use activity::{copy_reach, copy_sessions};
pub(in crate::seed) use structure::edition_fields;
use structure::{campaigns, structure};

/// The 34 provinces and centrally governed cities from 1 July 2025, Sơn La first (its real structure is
/// loaded; the others get generated communes).
pub const PROVINCES: [(&str, OrgUnitKind); 34] = [
    ("Sơn La", OrgUnitKind::Tinh),
    ("Hà Nội", OrgUnitKind::ThanhPho),
    ("Huế", OrgUnitKind::ThanhPho),
    ("Lai Châu", OrgUnitKind::Tinh),
    ("Điện Biên", OrgUnitKind::Tinh),
    ("Lạng Sơn", OrgUnitKind::Tinh),
    ("Quảng Ninh", OrgUnitKind::Tinh),
    ("Thanh Hóa", OrgUnitKind::Tinh),
    ("Nghệ An", OrgUnitKind::Tinh),
    ("Hà Tĩnh", OrgUnitKind::Tinh),
    ("Cao Bằng", OrgUnitKind::Tinh),
    ("Tuyên Quang", OrgUnitKind::Tinh),
    ("Lào Cai", OrgUnitKind::Tinh),
    ("Thái Nguyên", OrgUnitKind::Tinh),
    ("Phú Thọ", OrgUnitKind::Tinh),
    ("Bắc Ninh", OrgUnitKind::Tinh),
    ("Hưng Yên", OrgUnitKind::Tinh),
    ("Hải Phòng", OrgUnitKind::ThanhPho),
    ("Ninh Bình", OrgUnitKind::Tinh),
    ("Quảng Trị", OrgUnitKind::Tinh),
    ("Đà Nẵng", OrgUnitKind::ThanhPho),
    ("Quảng Ngãi", OrgUnitKind::Tinh),
    ("Gia Lai", OrgUnitKind::Tinh),
    ("Khánh Hòa", OrgUnitKind::Tinh),
    ("Lâm Đồng", OrgUnitKind::Tinh),
    ("Đắk Lắk", OrgUnitKind::Tinh),
    ("Hồ Chí Minh", OrgUnitKind::ThanhPho),
    ("Đồng Nai", OrgUnitKind::Tinh),
    ("Tây Ninh", OrgUnitKind::Tinh),
    ("Cần Thơ", OrgUnitKind::ThanhPho),
    ("Vĩnh Long", OrgUnitKind::Tinh),
    ("Đồng Tháp", OrgUnitKind::Tinh),
    ("Cà Mau", OrgUnitKind::Tinh),
    ("An Giang", OrgUnitKind::Tinh),
];
/// Communes and wards nationally from 1 July 2025.
pub const NATIONAL_COMMUNES: usize = 3_321;

/// What to generate.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// Teams in all (Sơn La's figure: 2,448; nationally about 80,000).
    pub teams: usize,
    /// Years of activity, ending on `end`.
    pub years: u32,
    /// Provinces (1 = Sơn La only, 34 = the whole country).
    pub provinces: usize,
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
    /// Sessions per active team and year (on average).
    pub sessions_per_team_year: u32,
    /// Reach activities per active team and year (on average).
    pub reach_per_team_year: u32,
    /// Last day with activity.
    pub end: NaiveDate,
    /// Draw progress bars on stderr (when it is a terminal).
    pub progress: bool,
}

/// What a scale seed wrote and how long each phase took.
#[derive(Debug, Default, Clone)]
pub struct ScaleReport {
    pub provinces: usize,
    pub communes: usize,
    pub villages: usize,
    pub teams: usize,
    pub people: usize,
    pub sessions: u64,
    pub reach_activities: u64,
    pub campaigns: usize,
    /// (phase, duration) in order.
    pub phases: Vec<(&'static str, Duration)>,
}

impl ScaleReport {
    /// Time of all phases.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|(_, d)| *d).sum()
    }
}

/// A generated team, what its activity needs to know and how busy it is.
#[derive(Debug, Clone)]
pub(in crate::seed) struct SeedTeam {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub households: i32,
    pub zalo_members: Option<i32>,
    /// Inactive teams report nothing.
    pub active: bool,
    /// Sessions a year, on average.
    pub sessions_per_year: u32,
    /// Reach activities a year, on average, while a campaign edition runs.
    pub reach_per_year: u32,
    /// Nothing from this day on: a team gone quiet.
    pub quiet_from: Option<NaiveDate>,
    /// The share of ethnic-minority participants, lowest and highest percent.
    pub minority_pct: (usize, usize),
}

impl SeedTeam {
    /// The rates of `options`, never quiet, mostly ethnic-minority participants; identity left blank.
    fn typical(options: &ScaleOptions) -> Self {
        Self {
            id: Uuid::nil(),
            unit_id: Uuid::nil(),
            households: 0,
            zalo_members: None,
            active: true,
            sessions_per_year: options.sessions_per_team_year,
            reach_per_year: options.reach_per_team_year,
            quiet_from: None,
            minority_pct: (60, 98),
        }
    }
}

/// A campaign edition reach activities are generated for, on the days it runs.
#[derive(Debug, Clone, Copy)]
pub(in crate::seed) struct Edition {
    pub id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Tables loaded with `COPY` and their triggers switched off meanwhile.
pub(in crate::seed) const BULK_TABLES: [&str; 4] = [
    "people",
    "memberships",
    "training_sessions",
    "reach_activities",
];

/// Loads a scale data set into a database without teams. See the module documentation.
pub fn load(
    conn: &mut PgConnection,
    hashing: &PasswordHashing,
    options: &ScaleOptions,
) -> anyhow::Result<ScaleReport> {
    if options.teams == 0 || options.teams > 1_000_000 {
        bail!("--teams must be between 1 and 1000000");
    }
    if !(1..=PROVINCES.len()).contains(&options.provinces) {
        bail!("--provinces must be between 1 and {}", PROVINCES.len());
    }
    if !(1..=20).contains(&options.years) {
        bail!("--years must be between 1 and 20");
    }
    // A bulk load runs for minutes (the service's per-statement limit is for requests), and its
    // aggregations and index builds want memory rather than temporary files.
    sql_query("SET statement_timeout = 0").execute(conn)?;
    sql_query("SET work_mem = '256MB'").execute(conn)?;
    sql_query("SET maintenance_work_mem = '512MB'").execute(conn)?;
    super::son_la(conn).map_err(|error| anyhow::anyhow!("{error}"))?;
    let existing: i64 = diesel::select(diesel::dsl::sql::<BigInt>("(SELECT count(*) FROM teams)"))
        .get_result(conn)?;
    if existing > 0 {
        bail!(
            "the database holds {existing} teams already; seed scale needs one without teams (point \
             CDT_DATA_DIR or DATABASE_URL at a fresh database)"
        );
    }
    let password_hash = hashing
        .hash(demo::DEMO_PASSWORD)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let started = Instant::now();
    let mut report = conn.transaction(|conn| -> anyhow::Result<ScaleReport> {
        let mut report = ScaleReport::default();
        let mut phase = Instant::now();
        let mut sequence = Sequence(options.seed);
        let start = first_day(options);
        for table in BULK_TABLES {
            sql_query(format!("ALTER TABLE {table} DISABLE TRIGGER USER")).execute(conn)?;
        }
        let teams = structure(
            conn,
            &mut sequence,
            options,
            start,
            &password_hash,
            &mut report,
        )?;
        report.phases.push(("structure", phase.elapsed()));
        phase = Instant::now();
        let campaigns = campaigns(conn, &mut sequence, start, options.end, &mut report)?;
        // Secondary indexes are built once after the load (a sort each) instead of being updated row by
        // row in day order, which scatters writes over every team's part of the index.
        let indexes = drop_secondary_indexes(conn, &["training_sessions", "reach_activities"])?;
        report.sessions = copy_sessions(conn, options, start, &teams)?;
        report.phases.push(("sessions", phase.elapsed()));
        phase = Instant::now();
        report.reach_activities = copy_reach(conn, options, start, &teams, &campaigns)?;
        report.phases.push(("reach activities", phase.elapsed()));
        phase = Instant::now();
        let bar = spinner(options.progress, "indexes");
        for definition in &indexes {
            sql_query(definition.as_str()).execute(conn)?;
        }
        bar.finish_and_clear();
        report.phases.push(("indexes", phase.elapsed()));
        for table in BULK_TABLES {
            sql_query(format!("ALTER TABLE {table} ENABLE TRIGGER USER")).execute(conn)?;
        }

        phase = Instant::now();
        let bar = spinner(options.progress, "report aggregates (cdt_stats_rebuild)");
        sql_query("SELECT cdt_stats_rebuild()").execute(conn)?;
        bar.finish_and_clear();
        report.phases.push(("report aggregates", phase.elapsed()));
        phase = Instant::now();
        let bar = spinner(options.progress, "sync feed (cdt_changes_backfill)");
        sql_query("SELECT cdt_changes_backfill()").execute(conn)?;
        sql_query("SELECT cdt_versions_bump()").execute(conn)?;
        bar.finish_and_clear();
        report.phases.push(("sync feed", phase.elapsed()));
        Ok(report)
    })?;
    let phase = Instant::now();
    let bar = spinner(options.progress, "ANALYZE");
    sql_query("ANALYZE").execute(conn)?;
    bar.finish_and_clear();
    report.phases.push(("analyze", phase.elapsed()));
    tracing::info!(
        teams = report.teams,
        sessions = report.sessions,
        reach_activities = report.reach_activities,
        seconds = started.elapsed().as_secs_f64(),
        "scale data loaded"
    );
    Ok(report)
}

/// Drops the indexes of `tables` that back no constraint and returns their definitions.
fn drop_secondary_indexes(conn: &mut PgConnection, tables: &[&str]) -> anyhow::Result<Vec<String>> {
    #[derive(diesel::QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        definition: String,
    }
    let mut definitions = Vec::new();
    for table in tables {
        let indexes: Vec<Index> = sql_query(
            "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition \
             FROM pg_index i WHERE i.indrelid = $1::regclass \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
             ORDER BY 1",
        )
        .bind::<diesel::sql_types::Text, _>(*table)
        .load(conn)?;
        for index in indexes {
            sql_query(format!("DROP INDEX {}", index.name)).execute(conn)?;
            definitions.push(index.definition);
        }
    }
    Ok(definitions)
}

/// The first day of activity: `years` years before `end`.
fn first_day(options: &ScaleOptions) -> NaiveDate {
    let years = i32::try_from(options.years).unwrap_or(1);
    options
        .end
        .with_year(options.end.year() - years)
        .unwrap_or(options.end - chrono::Duration::days(365 * i64::from(years)))
        + chrono::Duration::days(1)
}

fn spinner(visible: bool, message: &'static str) -> ProgressBar {
    let bar = if visible {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn day_bar(visible: bool, days: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(days),
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:<18} [{elapsed_precise}] {wide_bar} {pos}/{len} days, {prefix} rows (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar
}
