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

use std::{
    cell::Cell,
    io::{BufWriter, Write},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate, NaiveTime};
use diesel::{
    Connection, ExecuteCopyFromDsl, PgConnection, RunQueryDsl, pg::CopyFormat, sql_query,
    sql_types::BigInt,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use super::demo::{self, PLACE_FIRST, PLACE_SECOND, Sequence};
use crate::{
    auth::password::PasswordHashing,
    db::schema::{reach_activities, training_sessions},
    models::{
        campaign::{self, CampaignFields},
        org_unit::{self, NewOrgUnit, OrgUnit},
        person,
        team::{self, TeamFields},
        to_array,
    },
};

/// The 34 provinces and centrally governed cities from 1 July 2025, Sơn La first (its real structure is
/// loaded; the others get generated communes).
pub const PROVINCES: [(&str, &str); 34] = [
    ("Sơn La", "tinh"),
    ("Hà Nội", "thanh_pho"),
    ("Huế", "thanh_pho"),
    ("Lai Châu", "tinh"),
    ("Điện Biên", "tinh"),
    ("Lạng Sơn", "tinh"),
    ("Quảng Ninh", "tinh"),
    ("Thanh Hóa", "tinh"),
    ("Nghệ An", "tinh"),
    ("Hà Tĩnh", "tinh"),
    ("Cao Bằng", "tinh"),
    ("Tuyên Quang", "tinh"),
    ("Lào Cai", "tinh"),
    ("Thái Nguyên", "tinh"),
    ("Phú Thọ", "tinh"),
    ("Bắc Ninh", "tinh"),
    ("Hưng Yên", "tinh"),
    ("Hải Phòng", "thanh_pho"),
    ("Ninh Bình", "tinh"),
    ("Quảng Trị", "tinh"),
    ("Đà Nẵng", "thanh_pho"),
    ("Quảng Ngãi", "tinh"),
    ("Gia Lai", "tinh"),
    ("Khánh Hòa", "tinh"),
    ("Lâm Đồng", "tinh"),
    ("Đắk Lắk", "tinh"),
    ("Hồ Chí Minh", "thanh_pho"),
    ("Đồng Nai", "tinh"),
    ("Tây Ninh", "tinh"),
    ("Cần Thơ", "thanh_pho"),
    ("Vĩnh Long", "tinh"),
    ("Đồng Tháp", "tinh"),
    ("Cà Mau", "tinh"),
    ("An Giang", "tinh"),
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

/// A generated team and what its activity needs to know.
#[derive(Debug, Clone)]
struct SeedTeam {
    id: Uuid,
    unit_id: Uuid,
    households: i32,
    zalo_members: Option<i32>,
    active: bool,
}

/// Tables loaded with `COPY` and their triggers switched off meanwhile.
const BULK_TABLES: [&str; 4] = [
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

/// Communes of province number `index` (0 = Sơn La with its real 75).
fn generated_communes(index: usize) -> usize {
    let rest = NATIONAL_COMMUNES - 75;
    let others = PROVINCES.len() - 1;
    rest / others + usize::from(index - 1 < rest % others)
}

/// Provinces, communes, villages, teams, members and the demo users. Returns the teams.
fn structure(
    conn: &mut PgConnection,
    sequence: &mut Sequence,
    options: &ScaleOptions,
    start: NaiveDate,
    password_hash: &str,
    report: &mut ScaleReport,
) -> anyhow::Result<Vec<SeedTeam>> {
    let reorganized = NaiveDate::from_ymd_opt(2025, 7, 1).context("date")?;
    // Ids of the structure: time-ordered from 400 days before the period.
    let mut clock = 0u64;
    let origin = start - chrono::Duration::days(400);
    let mut next_id = |sequence: &mut Sequence| {
        clock += 1;
        day_uuid(sequence, origin, clock)
    };
    let mut provinces: Vec<(OrgUnit, Vec<OrgUnit>)> = Vec::with_capacity(options.provinces);
    let son_la = org_unit::find_by_code(conn, "son-la")?.context("Sơn La is missing")?;
    let mut son_la_communes: Vec<OrgUnit> = org_unit::all(conn)?
        .into_iter()
        .filter(|u| u.level == "commune" && u.valid_to.is_none())
        .collect();
    son_la_communes.sort_by(|a, b| a.code.cmp(&b.code));
    provinces.push((son_la, son_la_communes));
    for (index, (name, kind)) in PROVINCES.iter().enumerate().take(options.provinces).skip(1) {
        let code = super::slug(name);
        let households = i32::try_from(sequence.between(300_000, 1_500_000)).unwrap_or(500_000);
        let province = org_unit::insert(
            conn,
            &NewOrgUnit {
                id: next_id(sequence),
                code: code.clone(),
                name: (*name).to_owned(),
                level: "province".to_owned(),
                kind: (*kind).to_owned(),
                parent_id: None,
                path: String::new(),
                depth: 0,
                valid_from: reorganized,
                valid_to: None,
                households: Some(households),
                population: Some(households * 4),
            }
            .placed_under(None),
        )?;
        let mut communes = Vec::new();
        for number in 1..=generated_communes(index) {
            let ward = sequence.below(5) == 0;
            let name = format!(
                "{} {}",
                sequence.pick(&PLACE_FIRST),
                sequence.pick(&PLACE_SECOND)
            );
            let households = i32::try_from(sequence.between(1_500, 8_000)).unwrap_or(3_000);
            communes.push(org_unit::insert(
                conn,
                &NewOrgUnit {
                    id: next_id(sequence),
                    code: format!("{code}.{number:03}-{}", super::slug(&name)),
                    name,
                    level: "commune".to_owned(),
                    kind: if ward { "phuong" } else { "xa" }.to_owned(),
                    parent_id: None,
                    path: String::new(),
                    depth: 0,
                    valid_from: reorganized,
                    valid_to: None,
                    households: Some(households),
                    population: Some(households * 4),
                }
                .placed_under(Some(&province)),
            )?);
        }
        provinces.push((province, communes));
    }
    report.provinces = provinces.len();
    report.communes = provinces.iter().map(|(_, c)| c.len()).sum();

    // Teams in proportion to communes: one per commune, the rest in villages.
    let mut teams: Vec<SeedTeam> = Vec::with_capacity(options.teams);
    let mut team_rows: Vec<(Uuid, TeamFields)> = Vec::with_capacity(options.teams);
    let mut villages: Vec<NewOrgUnit> = Vec::new();
    let mut assigned = 0;
    for (province_number, (_, communes)) in provinces.iter().enumerate() {
        let share = if province_number + 1 == provinces.len() {
            options.teams - assigned
        } else {
            options.teams * communes.len() / report.communes
        };
        assigned += share;
        let village_teams = share.saturating_sub(communes.len());
        for (index, commune) in communes.iter().enumerate().take(share) {
            let founded = start
                - chrono::Duration::days(i64::try_from(sequence.between(30, 400)).unwrap_or(60));
            let prefix = format!("P{:02}-{:03}", province_number + 1, index + 1);
            let commune_households = commune.households.unwrap_or(3_000);
            let zalo = i32::try_from(sequence.between(80, 400)).unwrap_or(100);
            let id = next_id(sequence);
            team_rows.push((
                id,
                team_fields(
                    format!("{prefix}-000"),
                    format!("Tổ công nghệ số cộng đồng {}", commune.name),
                    commune.id,
                    founded,
                    Some(zalo),
                    start,
                ),
            ));
            teams.push(SeedTeam {
                id,
                unit_id: commune.id,
                households: commune_households,
                zalo_members: Some(zalo),
                active: true,
            });
            let count = village_teams / communes.len()
                + usize::from(index < village_teams % communes.len());
            for number in 1..=count {
                let (name, kind) = if commune.kind == "phuong" {
                    (format!("Tổ dân phố {number}"), "to_dan_pho")
                } else {
                    (
                        format!(
                            "Bản {} {} {number}",
                            sequence.pick(&PLACE_FIRST),
                            sequence.pick(&PLACE_SECOND)
                        ),
                        "ban",
                    )
                };
                let households = i32::try_from(sequence.between(35, 220)).unwrap_or(80);
                let village = NewOrgUnit {
                    id: next_id(sequence),
                    code: format!("{}.v{number:03}", commune.code),
                    name: name.clone(),
                    level: "village".to_owned(),
                    kind: kind.to_owned(),
                    parent_id: None,
                    path: String::new(),
                    depth: 0,
                    valid_from: commune.valid_from,
                    valid_to: None,
                    households: Some(households),
                    population: Some(households * 9 / 2),
                }
                .placed_under(Some(commune));
                let active = sequence.below(40) != 0;
                let zalo = (sequence.below(3) > 0)
                    .then(|| i32::try_from(sequence.between(20, 180)).unwrap_or(50));
                let id = next_id(sequence);
                let mut fields = team_fields(
                    format!("{prefix}-{number:03}"),
                    format!(
                        "Tổ công nghệ số cộng đồng {}",
                        name.replacen("Bản", "bản", 1)
                    ),
                    village.id,
                    founded
                        + chrono::Duration::days(i64::try_from(sequence.below(25)).unwrap_or(0)),
                    zalo,
                    start,
                );
                if !active {
                    "inactive".clone_into(&mut fields.status);
                }
                team_rows.push((id, fields));
                teams.push(SeedTeam {
                    id,
                    unit_id: village.id,
                    households,
                    zalo_members: zalo,
                    active,
                });
                villages.push(village);
            }
        }
    }
    for chunk in villages.chunks(1000) {
        org_unit::insert_many(conn, chunk)?;
    }
    team::insert_many(conn, &team_rows, start)?;
    report.villages = villages.len();
    report.teams = team_rows.len();

    // Members (their row triggers are off: the sync backfill covers them).
    let (people, memberships, first_leader) =
        demo::members(sequence, &team_rows, start, &mut next_id);
    person::insert_people(conn, &people)?;
    person::insert_memberships(conn, &memberships)?;
    report.people = people.len();

    let province = provinces.first().map(|(p, _)| p.id);
    let commune = provinces
        .first()
        .and_then(|(_, communes)| communes.first())
        .map(|c| c.id);
    demo::create_users(conn, password_hash, province, commune, first_leader)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(teams)
}

fn team_fields(
    code: String,
    name: String,
    org_unit_id: Uuid,
    founded: NaiveDate,
    zalo: Option<i32>,
    as_of: NaiveDate,
) -> TeamFields {
    TeamFields {
        code,
        name,
        org_unit_id,
        status: "active".to_owned(),
        founded_on: Some(founded),
        establishment_decision: None,
        zalo_group_members: zalo,
        zalo_group_members_as_of: zalo.map(|_| as_of),
        notes: None,
    }
}

const FRAUD_TYPES: [&str; 8] = [
    "impersonating_authorities",
    "fake_investment",
    "job_offers",
    "loan_apps",
    "account_takeover",
    "phishing_links",
    "fake_shopping",
    "deepfake_calls",
];
const SKILLS: [&str; 5] = ["recognise", "detect", "handle", "avoid", "protect"];

/// One campaign edition per calendar year of the period. Returns (year, id).
fn campaigns(
    conn: &mut PgConnection,
    sequence: &mut Sequence,
    start: NaiveDate,
    end: NaiveDate,
    report: &mut ScaleReport,
) -> anyhow::Result<Vec<(i32, Uuid)>> {
    let mut editions = Vec::new();
    for year in start.year()..=end.year() {
        let starts_on = NaiveDate::from_ymd_opt(year, 1, 1).context("date")?;
        let ends_on = NaiveDate::from_ymd_opt(year, 12, 31).context("date")?;
        let campaign = campaign::insert(
            conn,
            day_uuid(sequence, starts_on, 0),
            &CampaignFields {
                code: format!("online-fraud-{year}"),
                name: format!("Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến {year}"),
                name_en: Some(format!(
                    "Skills to identify and prevent online fraud {year}"
                )),
                owner: "Bộ Khoa học và Công nghệ".to_owned(),
                starts_on,
                ends_on,
                description: None,
                skill_groups: to_array(&SKILLS.map(str::to_owned)),
                fraud_types: to_array(&FRAUD_TYPES.map(str::to_owned)),
                status: if ends_on < end { "closed" } else { "active" }.to_owned(),
            },
        )?;
        editions.push((year, campaign.id));
    }
    report.campaigns = editions.len();
    Ok(editions)
}

/// A time-ordered UUID (version 7) at `day` 08:00 UTC plus `counter` milliseconds: ids of a day's rows
/// ascend, so the primary key index is appended to.
fn day_uuid(sequence: &mut Sequence, day: NaiveDate, counter: u64) -> Uuid {
    let millis = day
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
        .unsigned_abs()
        + 8 * 3_600_000
        + counter;
    let random = sequence.next().to_le_bytes();
    let more = sequence.next().to_le_bytes();
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&random);
    bytes[8..].copy_from_slice(&more[..2]);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// Whether a record made on `day` (seen from `end`) is still waiting for review, or was rejected.
fn status(sequence: &mut Sequence, day: NaiveDate, end: NaiveDate) -> &'static str {
    let age = (end - day).num_days();
    let roll = sequence.below(100);
    if age < 14 || roll < 8 {
        "submitted"
    } else if roll < 11 {
        "rejected"
    } else {
        "verified"
    }
}

/// Runs `write` for every day of the period and every team that is active: the rows go straight into
/// `COPY ... FROM STDIN` (text format).
fn each_day(
    options: &ScaleOptions,
    start: NaiveDate,
    message: &'static str,
    seed: u64,
    sink: &mut dyn Write,
    mut write: impl FnMut(&mut dyn Write, &mut Sequence, NaiveDate, &mut u64) -> std::io::Result<()>,
) -> Result<u64, diesel::result::Error> {
    let days = u64::try_from((options.end - start).num_days() + 1).unwrap_or(0);
    let bar = day_bar(options.progress, days, message);
    let mut out = BufWriter::with_capacity(1 << 16, sink);
    let mut sequence = Sequence(seed);
    let mut rows = 0u64;
    let mut day = start;
    let written = loop {
        if day > options.end {
            break out.flush();
        }
        if let Err(error) = write(&mut out, &mut sequence, day, &mut rows) {
            break Err(error);
        }
        bar.inc(1);
        bar.set_prefix(rows.to_string());
        day = day
            .succ_opt()
            .unwrap_or(options.end + chrono::Duration::days(1));
    };
    bar.finish_and_clear();
    written
        .map(|()| rows)
        .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))
}

/// Streams the sessions of the period into `training_sessions`.
fn copy_sessions(
    conn: &mut PgConnection,
    options: &ScaleOptions,
    start: NaiveDate,
    teams: &[SeedTeam],
) -> anyhow::Result<u64> {
    use training_sessions as ts;
    const TOPICS: [&str; 8] = [
        "vneid",
        "online_public_services",
        "online_payment",
        "fraud_prevention",
        "cyber_safety",
        "online_shopping",
        "digital_signature",
        "local_platforms",
    ];
    let per_day = u64::from(options.sessions_per_team_year) * (u64::MAX / 365 / 1000);
    let rows = Cell::new(0u64);
    diesel::copy_from(ts::table)
        .from_raw_data(
            (
                    ts::id,
                    ts::team_id,
                    ts::org_unit_id,
                    ts::kind,
                    ts::held_on,
                    ts::duration_minutes,
                    ts::format,
                    ts::topics,
                    ts::participants_total,
                    ts::participants_female,
                    ts::participants_ethnic_minority,
                    ts::participants_elderly,
                    ts::households_reached,
                    ts::vneid_activations,
                    ts::payment_accounts_opened,
                    ts::public_service_accounts_created,
                    ts::online_dossiers_submitted,
                    ts::apps_installed,
                    ts::status,
                    ts::rejection_reason,
                    ts::reviewed_at,
                    ts::recorded_at,
                    ts::created_at,
                    ts::updated_at,
            ),
            |sink: &mut dyn Write| -> Result<(), diesel::result::Error> {
                let count = each_day(
                    options,
                    start,
                    "sessions",
                    options.seed ^ 0x5e55_1015,
                    sink,
                    |out, sequence, day, rows| {
                        for team in teams.iter().filter(|t| t.active) {
                            if sequence.next() / 1000 >= per_day {
                                continue;
                            }
                            let id = day_uuid(sequence, day, *rows);
                            *rows += 1;
                            let training = sequence.below(10) < 4;
                            let topic = *sequence.pick(&TOPICS);
                            let second = *sequence.pick(&TOPICS);
                            let topics = if second == topic || sequence.below(2) == 0 {
                                topic.to_owned()
                            } else {
                                format!("{topic},{second}")
                            };
                            let total = sequence.between(8, 60);
                            let female = total * sequence.between(35, 65) / 100;
                            let minority = total * sequence.between(60, 98) / 100;
                            let elderly = total * sequence.between(3, 25) / 100;
                            let households = (total * 3 / 4).min(
                                usize::try_from(team.households.max(1)).unwrap_or(1),
                            );
                            let vneid = if topic == "vneid" {
                                sequence.below(total / 2 + 1)
                            } else {
                                sequence.below(3)
                            };
                            let payment = if topic == "online_payment" {
                                sequence.below(total / 3 + 1)
                            } else {
                                sequence.below(2)
                            };
                            let services = if topic == "online_public_services" {
                                sequence.below(total / 3 + 1)
                            } else {
                                0
                            };
                            let dossiers = services / 2;
                            let apps = sequence.below(total / 2 + 1);
                            let status = status(sequence, day, options.end);
                            let (reason, reviewed) = match status {
                                "rejected" => ("Thiếu danh sách người tham gia", day_time(day, 3)),
                                "verified" => ("\\N", day_time(day, 3)),
                                _ => ("\\N", "\\N".to_owned()),
                            };
                            let recorded = day_time(day, 0);
                            let duration = 15 * sequence.between(4, 12);
                            let format = *sequence.weighted(&[
                                ("in_person", 70),
                                ("door_to_door", 15),
                                ("mixed", 10),
                                ("online", 5),
                            ]);
                            let kind = if training { "training" } else { "outreach" };
                            writeln!(
                                out,
                                "{id}\t{}\t{}\t{kind}\t{day}\t{duration}\t{format}\t{{{topics}}}\t{total}\t{female}\t{minority}\t{elderly}\t{households}\t{vneid}\t{payment}\t{services}\t{dossiers}\t{apps}\t{status}\t{reason}\t{reviewed}\t{recorded}\t{recorded}\t{recorded}",
                                team.id, team.unit_id,
                            )?;
                        }
                        Ok(())
                    },
                )?;
                rows.set(count);
                Ok(())
            },
        )
        .with_format(CopyFormat::Text)
        .execute(conn)?;
    let count = rows.get();
    Ok(count)
}

/// `day` 10:00 in Vietnam, `plus_days` later, as a COPY timestamp.
fn day_time(day: NaiveDate, plus_days: i64) -> String {
    format!("{} 10:00:00+07", day + chrono::Duration::days(plus_days))
}

/// Streams the reach activities of the period into `reach_activities`.
fn copy_reach(
    conn: &mut PgConnection,
    options: &ScaleOptions,
    start: NaiveDate,
    teams: &[SeedTeam],
    campaigns: &[(i32, Uuid)],
) -> anyhow::Result<u64> {
    use reach_activities as ra;
    let per_day = u64::from(options.reach_per_team_year) * (u64::MAX / 365 / 1000);
    let rows = Cell::new(0u64);
    diesel::copy_from(ra::table)
        .from_raw_data(
            (
                ra::id,
                ra::campaign_id,
                ra::team_id,
                ra::org_unit_id,
                ra::channel,
                ra::occurred_on,
                ra::contacts,
                ra::unique_people,
                ra::households_reached,
                ra::estimated_audience,
                ra::method,
                ra::confidence,
                ra::skill_groups,
                ra::fraud_types,
                ra::materials_distributed,
                ra::status,
                ra::rejection_reason,
                ra::reviewed_at,
                ra::recorded_at,
                ra::created_at,
                ra::updated_at,
            ),
            |sink: &mut dyn Write| -> Result<(), diesel::result::Error> {
                let count = each_day(
                    options,
                    start,
                    "reach activities",
                    options.seed ^ 0x4eac_4ac7,
                    sink,
                    |out, sequence, day, rows| {
                        let Some((_, campaign)) =
                            campaigns.iter().find(|(year, _)| *year == day.year())
                        else {
                            return Ok(());
                        };
                        for team in teams.iter().filter(|t| t.active) {
                            if sequence.next() / 1000 >= per_day {
                                continue;
                            }
                            let id = day_uuid(sequence, day, *rows);
                            *rows += 1;
                            let channel = *sequence.weighted(&[
                                ("meeting", 30),
                                ("door_to_door", 20),
                                ("zalo_group", 20),
                                ("loudspeaker", 15),
                                ("leaflet", 10),
                                ("social_media", 5),
                            ]);
                            let broadcast =
                                matches!(channel, "zalo_group" | "loudspeaker" | "social_media");
                            let contacts = if broadcast { 0 } else { sequence.between(8, 90) };
                            let unique = if broadcast {
                                "\\N".to_owned()
                            } else {
                                (contacts * 9 / 10).to_string()
                            };
                            let reached = if broadcast {
                                0
                            } else {
                                (contacts * 3 / 4)
                                    .min(usize::try_from(team.households.max(1)).unwrap_or(1))
                            };
                            let audience = match channel {
                                "zalo_group" => team.zalo_members.unwrap_or(60).to_string(),
                                "loudspeaker" => (team.households * 4).to_string(),
                                "social_media" => sequence.between(100, 2000).to_string(),
                                _ => "\\N".to_owned(),
                            };
                            let (method, confidence) = match channel {
                                "meeting" => ("attendance_sheet", "high"),
                                "door_to_door" => ("headcount", "high"),
                                "zalo_group" => ("group_member_count", "medium"),
                                "social_media" => ("platform_analytics", "medium"),
                                "loudspeaker" => ("coverage_estimate", "low"),
                                _ => ("headcount", "medium"),
                            };
                            let skill = *sequence.pick(&SKILLS);
                            let fraud = *sequence.pick(&FRAUD_TYPES);
                            let materials = if channel == "leaflet" { contacts } else { 0 };
                            let status = status(sequence, day, options.end);
                            let (reason, reviewed) = match status {
                                "rejected" => ("Số liệu chưa khớp", day_time(day, 3)),
                                "verified" => ("\\N", day_time(day, 3)),
                                _ => ("\\N", "\\N".to_owned()),
                            };
                            let recorded = day_time(day, 0);
                            writeln!(
                                out,
                                "{id}\t{campaign}\t{}\t{}\t{channel}\t{day}\t{contacts}\t{unique}\t{reached}\t{audience}\t{method}\t{confidence}\t{{{skill}}}\t{{{fraud}}}\t{materials}\t{status}\t{reason}\t{reviewed}\t{recorded}\t{recorded}\t{recorded}",
                                team.id, team.unit_id,
                            )?;
                        }
                        Ok(())
                    },
                )?;
                rows.set(count);
                Ok(())
            },
        )
        .with_format(CopyFormat::Text)
        .execute(conn)?;
    let count = rows.get();
    Ok(count)
}
