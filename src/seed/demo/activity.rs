//! The demo's activity, relative to the day it is loaded: 18 months of training and outreach sessions up
//! to yesterday, a campaign edition running now, the reach activities of it and of the 2024 and 2025
//! editions, and this year's targets.
//!
//! The rows come from the generators of `seed scale` (one way to make plausible data), at rates of the
//! demo's own: commune teams busier than village teams, one village team in ten gone quiet for months (the
//! dormant-teams report has something true to show), wards with fewer ethnic-minority participants than
//! upland communes. Older records are mostly verified, the last two weeks wait for review, a few were
//! rejected with a reason. The demo leader's team always has a session from yesterday it may still edit.
//!
//! Deterministic for a given load day: teams are taken in code order and every draw comes from one
//! seeded sequence.

use anyhow::Context;
use chrono::{Datelike, Months, NaiveDate};
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Bool, Date, Int4, Nullable, Text, Uuid as SqlUuid},
};
use uuid::Uuid;

use super::Sequence;
use crate::{
    domain::reports::targets::elapsed_share,
    models::{
        campaign,
        target::{self, TargetFields},
        training_session::{self, SessionFields},
        user,
    },
    reference::{CampaignStatus, Choice, Indicator, SessionFormat, SessionKind, SessionTopic},
    seed::scale::{Edition, ScaleOptions, SeedTeam, copy_reach, copy_sessions, edition_fields},
};

/// The seed of the demo's activity (the load day makes the rest).
const SEED: u64 = 0x2448_2025;
/// Months of sessions up to yesterday.
const MONTHS: u32 = 18;

/// What the activity load wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ActivityReport {
    pub sessions: u64,
    pub reach_activities: u64,
    pub targets: usize,
}

#[derive(QueryableByName)]
struct DemoTeam {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = SqlUuid)]
    org_unit_id: Uuid,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Nullable<Int4>)]
    zalo_group_members: Option<i32>,
    #[diesel(sql_type = Int4)]
    households: i32,
    /// A ward or one of its residential groups.
    #[diesel(sql_type = Bool)]
    urban: bool,
}

/// The demo teams in code order, with how busy each is.
fn teams(
    conn: &mut PgConnection,
    sequence: &mut Sequence,
    end: NaiveDate,
    leader_team: Option<Uuid>,
) -> anyhow::Result<Vec<SeedTeam>> {
    let rows: Vec<DemoTeam> = sql_query(
        "SELECT t.id, t.code, t.org_unit_id, t.status = 'active' AS active, t.zalo_group_members, \
         coalesce(u.households, 3000) AS households, u.kind IN ('phuong', 'to_dan_pho') AS urban \
         FROM teams t JOIN org_units u ON u.id = t.org_unit_id WHERE t.code LIKE 'SL-%' ORDER BY t.code",
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|team| {
            let commune_team = team.code.ends_with("-000");
            let (sessions, reach) = if commune_team || leader_team == Some(team.id) {
                (24, 36)
            } else {
                (sequence.between(9, 16), sequence.between(12, 24))
            };
            let quiet = !commune_team && leader_team != Some(team.id) && sequence.below(10) == 0;
            SeedTeam {
                id: team.id,
                unit_id: team.org_unit_id,
                households: team.households,
                zalo_members: team.zalo_group_members,
                active: team.active,
                sessions_per_year: u32::try_from(sessions).unwrap_or(12),
                reach_per_year: u32::try_from(reach).unwrap_or(30),
                quiet_from: quiet.then(|| {
                    end - chrono::Duration::days(
                        i64::try_from(sequence.between(35, 270)).unwrap_or(60),
                    )
                }),
                minority_pct: if team.urban { (10, 45) } else { (75, 99) },
            }
        })
        .collect())
}

/// The editions before the current one (the demo structure's 2024 and 2025 ones), oldest first.
fn past_editions(conn: &mut PgConnection) -> anyhow::Result<Vec<Edition>> {
    use crate::db::schema::campaigns;
    use diesel::{ExpressionMethods, QueryDsl, TextExpressionMethods};
    Ok(campaigns::table
        .filter(campaigns::code.like("anti-fraud-%"))
        .filter(campaigns::status.eq(CampaignStatus::Closed))
        .order(campaigns::starts_on.asc())
        .select((campaigns::id, campaigns::starts_on, campaigns::ends_on))
        .load::<(Uuid, NaiveDate, NaiveDate)>(conn)?
        .into_iter()
        .map(|(id, starts_on, ends_on)| Edition {
            id,
            starts_on,
            ends_on,
        })
        .collect())
}

/// The campaign edition running on `today`: from the first day of last month to the last of next month.
fn current_edition(conn: &mut PgConnection, today: NaiveDate) -> anyhow::Result<Edition> {
    let month = today.with_day(1).context("date")?;
    let starts_on = month - Months::new(1);
    let ends_on = (month + Months::new(2)).pred_opt().context("date")?;
    let code = format!("anti-fraud-son-la-{}", starts_on.format("%Y-%m"));
    let existing = campaign::find_by_code(conn, &code)?;
    let edition = match existing {
        Some(edition) => edition,
        None => campaign::insert(
            conn,
            Uuid::now_v7(),
            &edition_fields(
                code,
                format!(
                    "Chiến dịch phòng chống lừa đảo trực tuyến tỉnh Sơn La đợt {}",
                    starts_on.format("%m/%Y")
                ),
                format!(
                    "Sơn La online fraud prevention campaign, {} round",
                    starts_on.format("%B %Y")
                ),
                "Sở Khoa học và Công nghệ tỉnh Sơn La",
                (starts_on, ends_on),
                CampaignStatus::Active,
            ),
        )?,
    };
    Ok(Edition {
        id: edition.id,
        starts_on: edition.starts_on,
        ends_on: edition.ends_on,
    })
}

/// Loads the activity (call inside a transaction, after the demo structure and users, with the row
/// triggers of the bulk tables off: the caller derives the report aggregates and the sync feed after).
pub(super) fn load(conn: &mut PgConnection, today: NaiveDate) -> anyhow::Result<ActivityReport> {
    let end = today.pred_opt().context("date")?;
    // The demo's villages and team placements start with the 2025 reorganisation: nothing before it.
    let start = (end - Months::new(MONTHS))
        .succ_opt()
        .context("date")?
        .max(super::reorganized()?);
    let leader = user::find_by_username(conn, "demo.leader")?;
    let admin = user::find_by_username(conn, "demo.admin")?.context("demo.admin is missing")?;
    let leader_team = leader.as_ref().and_then(|l| l.team_id);
    let mut sequence = Sequence(SEED);
    let teams = teams(conn, &mut sequence, end, leader_team)?;
    let mut editions = past_editions(conn)?;
    editions.push(current_edition(conn, today)?);
    let reach_start = editions.iter().map(|e| e.starts_on).min().unwrap_or(start);
    let options = ScaleOptions {
        teams: teams.len(),
        years: 2,
        provinces: 1,
        seed: SEED,
        sessions_per_team_year: 0,
        reach_per_team_year: 0,
        end,
        progress: false,
    };
    let mut report = ActivityReport {
        sessions: copy_sessions(conn, &options, start, &teams)?,
        reach_activities: copy_reach(conn, &options, reach_start, &teams, &editions)?,
        targets: 0,
    };
    if let (Some(leader), Some(team)) = (&leader, teams.iter().find(|t| Some(t.id) == leader_team))
    {
        editable_session(conn, &mut sequence, leader.id, team, end)?;
        report.sessions += 1;
    }
    report.targets = targets(conn, &mut sequence, today, admin.id)?;
    Ok(report)
}

/// A session of the leader's team held `day`, still waiting for review: the leader may edit it.
fn editable_session(
    conn: &mut PgConnection,
    sequence: &mut Sequence,
    leader: Uuid,
    team: &SeedTeam,
    day: NaiveDate,
) -> anyhow::Result<()> {
    let total = i32::try_from(sequence.between(15, 30)).unwrap_or(20);
    let fields = SessionFields {
        team_id: team.id,
        org_unit_id: team.unit_id,
        kind: Choice::Known(SessionKind::Training),
        held_on: day,
        start_time: chrono::NaiveTime::from_hms_opt(19, 30, 0),
        duration_minutes: 90,
        format: Choice::Known(SessionFormat::InPerson),
        venue: Some("Nhà văn hoá bản".to_owned()),
        topics: vec![
            Choice::Known(SessionTopic::Vneid),
            Choice::Known(SessionTopic::FraudPrevention),
        ],
        participants_total: total,
        participants_female: total / 2,
        participants_ethnic_minority: total * 9 / 10,
        participants_elderly: total / 5,
        households_reached: (total * 3 / 4).min(team.households),
        vneid_activations: total / 3,
        payment_accounts_opened: 2,
        public_service_accounts_created: 1,
        online_dossiers_submitted: 0,
        apps_installed: total / 2,
        trainers: Vec::new(),
        notes: Some("Buổi sinh hoạt tối tại nhà văn hoá; tổ trưởng còn sửa được".to_owned()),
        recorded_at: None,
    };
    training_session::insert(conn, Uuid::now_v7(), &fields, leader)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Actuals {
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
    #[diesel(sql_type = BigInt)]
    sessions: i64,
    #[diesel(sql_type = BigInt)]
    trained: i64,
    #[diesel(sql_type = BigInt)]
    vneid: i64,
}

/// This year's targets of every commune and ward (sessions held, people trained, VNeID activations),
/// set from what their teams did so far so that some are achieved, some on track and some behind.
/// Returns how many were set.
fn targets(
    conn: &mut PgConnection,
    sequence: &mut Sequence,
    today: NaiveDate,
    admin: Uuid,
) -> anyhow::Result<usize> {
    let period_start = today.with_ordinal(1).context("date")?;
    let period_end = NaiveDate::from_ymd_opt(today.year(), 12, 31).context("date")?;
    let actuals: Vec<Actuals> = sql_query(
        "WITH done AS ( \
             SELECT CASE WHEN u.level = 'village' THEN u.parent_id ELSE u.id END AS commune_id, \
                    count(*) AS sessions, \
                    sum(s.participants_total) FILTER (WHERE s.kind = 'training') AS trained, \
                    sum(s.vneid_activations) AS vneid \
             FROM training_sessions s JOIN teams t ON t.id = s.team_id \
             JOIN org_units u ON u.id = t.org_unit_id \
             WHERE s.held_on BETWEEN $1 AND $2 AND s.status <> 'rejected' AND s.deleted_at IS NULL \
             GROUP BY 1) \
         SELECT c.id AS unit_id, coalesce(d.sessions, 0) AS sessions, \
                coalesce(d.trained, 0)::bigint AS trained, coalesce(d.vneid, 0)::bigint AS vneid \
         FROM org_units c LEFT JOIN done d ON d.commune_id = c.id \
         WHERE c.level = 'commune' AND c.valid_to IS NULL ORDER BY c.code",
    )
    .bind::<Date, _>(period_start)
    .bind::<Date, _>(today)
    .load(conn)?;
    let share = elapsed_share(period_start, period_end, today);
    let mut set = 0;
    for unit in actuals {
        for (indicator, actual) in [
            (Indicator::SessionsHeld, unit.sessions),
            (Indicator::PeopleTrained, unit.trained),
            (Indicator::VneidActivations, unit.vneid),
        ] {
            if actual == 0 {
                continue;
            }
            // The actual is `share` of the value at an even pace: behind at 80 % of that pace, on
            // track half-way between the pace and the whole value, achieved when past the value.
            let pace = actual as f64 / share;
            let value = match sequence.below(10) {
                0..=3 => pace * 1.25,
                4..=7 => actual as f64 / f64::midpoint(share, 1.0),
                _ => actual as f64 * 0.9,
            };
            target::insert(
                conn,
                Uuid::now_v7(),
                &TargetFields {
                    org_unit_id: Some(unit.unit_id),
                    team_id: None,
                    indicator: Choice::Known(indicator),
                    period_start,
                    period_end,
                    value: value.ceil().max(1.0),
                    campaign_id: None,
                },
                admin,
            )?;
            set += 1;
        }
    }
    Ok(set)
}
