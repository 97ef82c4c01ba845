//! `cdt-api seed demo` (and `cdt-api serve --demo`): a realistic Sơn La so the first run shows something
//! real. On top of the real administrative units it adds villages under the 75 communes and wards and
//! exactly 2,448 teams (one per commune or ward, one per village) with 3 to 9 members each, plausible
//! Thái, H'Mông, Mường, Kinh and other names, and one demo user per role.
//!
//! Deterministic (a fixed pseudo-random sequence) and idempotent: when the demo teams exist, nothing is
//! written.

mod activity;
mod hints;
mod names;
mod sign_offs;

use chrono::NaiveDate;
use diesel::{Connection, OptionalExtension, PgConnection, QueryDsl, RunQueryDsl, sql_query};
use uuid::Uuid;

pub use activity::ActivityReport;
pub use hints::hints;
pub use sign_offs::SignOffReport;

use crate::{
    auth::password::PasswordHashing,
    db::schema::training_sessions,
    domain::today_in_vietnam,
    error::AppError,
    models::{
        org_unit::{self, NewOrgUnit},
        person::{self, NewMembership, PersonFields},
        team::{self, TeamFields},
        user::{self, NewUser},
    },
    reference::{Choice, Gender, MembershipRole, OrgUnitKind, OrgUnitLevel, Role, TeamStatus},
    seed::scale::{BULK_TABLES, edition_fields},
};
use names::{ETHNICITIES, full_name};
pub(super) use names::{PLACE_FIRST, PLACE_SECOND};

/// Teams in Sơn La (the figure the province reports).
pub const TEAM_COUNT: usize = 2_448;
/// The password of every demo user (printed by `serve --demo`).
pub const DEMO_PASSWORD: &str = "Hoa ban nở trắng núi rừng Tây Bắc";
/// The demo users: (username, role).
pub const DEMO_USERS: [(&str, Role); 4] = [
    ("demo.admin", Role::Admin),
    ("demo.officer", Role::Officer),
    ("demo.leader", Role::TeamLeader),
    ("demo.viewer", Role::Viewer),
];
/// Code of the first demo team: its presence means the demo is loaded.
const MARKER_TEAM: &str = "SL-01-000";

/// What a demo seed run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoReport {
    pub villages: usize,
    pub teams: usize,
    pub people: usize,
    pub users: usize,
    pub campaigns: usize,
    /// Sessions, reach activities of the current campaign edition and targets, up to the load day.
    pub activity: ActivityReport,
    /// The signed-off history.
    pub sign_offs: SignOffReport,
    /// False when the demo data was there already.
    pub created: bool,
}

/// SplitMix64: a tiny, well-known generator; the same seed gives the same demo everywhere.
pub(super) struct Sequence(pub(super) u64);

impl Sequence {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    pub(super) fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks by weight from `(item, weight)`.
    pub(super) fn weighted<'a, T>(&mut self, items: &'a [(T, usize)]) -> &'a T {
        let total: usize = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[0].0
    }
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, AppError> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad date")))
}

/// Loads the demo (after [`super::son_la`]) in one transaction, unless there are sessions already: its
/// structure (villages, teams, members, the 2024 and 2025 campaign editions, users) unless the demo teams
/// exist (a demo loaded by an older version only gains its activity), then its [`activity`] up to
/// yesterday.
pub fn load(conn: &mut PgConnection, hashing: &PasswordHashing) -> Result<DemoReport, AppError> {
    super::son_la(conn)?;
    let has_sessions = training_sessions::table
        .select(training_sessions::id)
        .first::<Uuid>(conn)
        .optional()?
        .is_some();
    if has_sessions {
        return Ok(DemoReport::default());
    }
    let password_hash = match team::find_by_code(conn, MARKER_TEAM)? {
        None => Some(hashing.hash(DEMO_PASSWORD)?),
        Some(_) => None,
    };
    let started = std::time::Instant::now();
    let report = conn.transaction(|conn| {
        // Bulk writes with the row triggers off; the report aggregates and the sync feed are derived once
        // at the end, as `seed scale` does.
        sql_query("SET LOCAL statement_timeout = 0").execute(conn)?;
        for table in BULK_TABLES {
            sql_query(format!("ALTER TABLE {table} DISABLE TRIGGER USER")).execute(conn)?;
        }
        let mut report = match &password_hash {
            Some(hash) => structure(conn, hash)?,
            None => DemoReport::default(),
        };
        let today = today_in_vietnam();
        report.activity = activity::load(conn, today).map_err(AppError::internal)?;
        let admin = user::find_by_username(conn, "demo.admin")?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("demo.admin is missing")))?;
        let officer = user::find_by_username(conn, "demo.officer")?.map(|u| u.id);
        // Fresh statistics before the set-based statements below (planned blind, the pending-verification
        // update took 4 s instead of 0.3 s).
        sql_query("ANALYZE org_units, teams, training_sessions, reach_activities").execute(conn)?;
        let plan = sign_offs::plan(conn, today, reorganized()?)?;
        sign_offs::verify_pending(conn, &plan, officer.unwrap_or(admin.id))?;
        report.created = true;
        for table in BULK_TABLES {
            sql_query(format!("ALTER TABLE {table} ENABLE TRIGGER USER")).execute(conn)?;
        }
        sql_query("SELECT cdt_stats_rebuild()").execute(conn)?;
        sql_query("SELECT cdt_changes_backfill()").execute(conn)?;
        report.sign_offs = sign_offs::load(conn, &plan, officer, admin.id)?;
        sql_query("SELECT cdt_versions_bump()").execute(conn)?;
        Ok::<_, AppError>(report)
    })?;
    tracing::info!(
        teams = report.teams,
        sessions = report.activity.sessions,
        seconds = started.elapsed().as_secs_f64(),
        "demo data loaded"
    );
    Ok(report)
}

/// The day the 2025 reorganisation took effect: the demo's villages and team placements start then.
fn reorganized() -> Result<NaiveDate, AppError> {
    date(2025, 7, 1)
}

/// Villages, teams, members, the 2024 and 2025 campaign editions and the demo users.
fn structure(conn: &mut PgConnection, password_hash: &str) -> Result<DemoReport, AppError> {
    let mut sequence = Sequence(2448);
    let mut report = DemoReport {
        created: true,
        ..DemoReport::default()
    };
    let reorganized = reorganized()?;
    let as_of = date(2025, 6, 1)?;
    let mut communes: Vec<_> = org_unit::all(conn)?
        .into_iter()
        .filter(|u| u.level == OrgUnitLevel::Commune && u.valid_to.is_none())
        .collect();
    communes.sort_by(|a, b| a.code.cmp(&b.code));

    let village_total = TEAM_COUNT - communes.len();
    let per_commune = village_total / communes.len();
    let with_one_more = village_total % communes.len();

    let mut teams: Vec<(Uuid, TeamFields)> = Vec::with_capacity(TEAM_COUNT);
    let mut villages = Vec::with_capacity(village_total);
    for (index, commune) in communes.iter().enumerate() {
        let commune_number = index + 1;
        let founded = date(2022, 9, 1)?
            + chrono::Duration::days(i64::try_from(sequence.below(180)).unwrap_or(0));
        let kind_word = if commune.kind == OrgUnitKind::Phuong {
            "phường"
        } else {
            "xã"
        };
        teams.push((
            Uuid::now_v7(),
            TeamFields {
                code: format!("SL-{commune_number:02}-000"),
                name: format!("Tổ công nghệ số cộng đồng {kind_word} {}", commune.name),
                org_unit_id: commune.id,
                status: TeamStatus::Active.into(),
                founded_on: Some(founded),
                establishment_decision: Some(format!("{}/QĐ-UBND", sequence.between(100, 999))),
                zalo_group_members: Some(i32::try_from(sequence.between(80, 400)).unwrap_or(100)),
                zalo_group_members_as_of: Some(as_of),
                notes: None,
            },
        ));
        let count = per_commune + usize::from(index < with_one_more);
        let mut used = std::collections::HashSet::new();
        for number in 1..=count {
            let (name, kind) = if commune.kind == OrgUnitKind::Phuong {
                (format!("Tổ dân phố {number}"), OrgUnitKind::ToDanPho)
            } else if sequence.below(10) == 0 {
                (format!("Tiểu khu {number}"), OrgUnitKind::TieuKhu)
            } else {
                let mut name = format!(
                    "Bản {} {}",
                    sequence.pick(&PLACE_FIRST),
                    sequence.pick(&PLACE_SECOND)
                );
                if !used.insert(name.clone()) {
                    name = format!("{name} {number}");
                }
                (name, OrgUnitKind::Ban)
            };
            let households = i32::try_from(sequence.between(35, 220)).unwrap_or(80);
            let village = NewOrgUnit {
                id: Uuid::now_v7(),
                code: format!("{}.{}-{number}", commune.code, super::slug(&name)),
                name: name.clone(),
                level: OrgUnitLevel::Village,
                kind,
                parent_id: None,
                path: String::new(),
                depth: 0,
                valid_from: reorganized,
                valid_to: None,
                households: Some(households),
                population: Some(households * 9 / 2),
            }
            .placed_under(Some(commune));
            teams.push((
                Uuid::now_v7(),
                TeamFields {
                    code: format!("SL-{commune_number:02}-{number:03}"),
                    name: format!(
                        "Tổ công nghệ số cộng đồng {}",
                        name.replacen("Bản", "bản", 1)
                    ),
                    org_unit_id: village.id,
                    status: if sequence.below(40) == 0 {
                        TeamStatus::Inactive
                    } else {
                        TeamStatus::Active
                    }
                    .into(),
                    founded_on: Some(
                        founded
                            + chrono::Duration::days(
                                i64::try_from(sequence.below(60)).unwrap_or(0),
                            ),
                    ),
                    establishment_decision: Some(format!("{}/QĐ-UBND", sequence.between(100, 999))),
                    zalo_group_members: (sequence.below(3) > 0)
                        .then(|| i32::try_from(sequence.between(20, 180)).unwrap_or(50)),
                    zalo_group_members_as_of: None,
                    notes: None,
                },
            ));
            if let Some((_, team)) = teams.last_mut() {
                team.zalo_group_members_as_of = team.zalo_group_members.map(|_| as_of);
            }
            villages.push(village);
        }
    }
    for chunk in villages.chunks(1000) {
        org_unit::insert_many(conn, chunk)?;
    }
    report.villages = villages.len();
    team::insert_many(conn, &teams, reorganized)?;
    report.teams = teams.len();

    // Members: leader, deputy, members; commune teams are larger.
    let (people, memberships, leader_of_first_village) =
        members(&mut sequence, &teams, reorganized, |_| Uuid::now_v7());
    person::insert_people(conn, &people)?;
    person::insert_memberships(conn, &memberships)?;
    report.people = people.len();

    report.campaigns = past_editions(conn)?;

    let province = org_unit::find_by_code(conn, "son-la")?.map(|u| u.id);
    report.users = create_users(
        conn,
        password_hash,
        province,
        communes.first().map(|c| c.id),
        leader_of_first_village,
    )?;
    Ok(report)
}

/// A leader, a deputy and members for each of `teams` (6-9 for a commune's team, whose code ends in
/// `-000`, 3-5 for a village's), with plausible names, phones and affiliations; ids from `new_id`. Also
/// returns (team, unit, person) of the second team's leader, the demo team leader's account.
#[expect(clippy::type_complexity, reason = "the three lists the callers insert")]
pub(super) fn members(
    sequence: &mut Sequence,
    teams: &[(Uuid, TeamFields)],
    joined_by_default: NaiveDate,
    mut new_id: impl FnMut(&mut Sequence) -> Uuid,
) -> (
    Vec<(Uuid, PersonFields)>,
    Vec<NewMembership>,
    Option<(Uuid, Uuid, Uuid)>,
) {
    let mut people = Vec::new();
    let mut memberships = Vec::new();
    let mut leader_of_first_village = None;
    for (index, (team_id, fields)) in teams.iter().enumerate() {
        let size = if fields.code.ends_with("-000") {
            sequence.between(6, 9)
        } else {
            sequence.between(3, 5)
        };
        for position in 0..size {
            let ethnicity = *sequence.weighted(&ETHNICITIES);
            let female = sequence.below(100) < 45;
            let role = match position {
                0 => MembershipRole::Leader,
                1 => MembershipRole::Deputy,
                _ => MembershipRole::Member,
            };
            let affiliation = match role {
                MembershipRole::Leader => {
                    *sequence.pick(&["village_head", "village_head", "party_cell"])
                }
                MembershipRole::Deputy => "youth_union",
                _ => *sequence.pick(&[
                    "teacher",
                    "police",
                    "health_worker",
                    "women_union",
                    "telecom",
                    "resident",
                    "resident",
                    "veterans",
                    "farmers_union",
                ]),
            };
            let person_id = new_id(sequence);
            let phone_prefix =
                sequence.pick(&["91", "94", "96", "97", "98", "86", "35", "38", "39", "88"]);
            people.push((
                person_id,
                PersonFields {
                    full_name: Some(full_name(sequence, female, ethnicity)),
                    phone: Some(format!("+84{phone_prefix}{:07}", people.len() + 1)),
                    gender: if female { Gender::Female } else { Gender::Male }.into(),
                    birth_year: Some(i16::try_from(sequence.between(1962, 2004)).unwrap_or(1985)),
                    ethnicity: Some(Choice::from_code(ethnicity)),
                    affiliation: Choice::from_code(affiliation),
                },
            ));
            memberships.push(NewMembership {
                id: new_id(sequence),
                team_id: *team_id,
                person_id,
                role,
                joined_on: fields.founded_on.unwrap_or(joined_by_default),
                left_on: None,
            });
            if index == 1.min(teams.len() - 1) && role == MembershipRole::Leader {
                leader_of_first_village = Some((*team_id, fields.org_unit_id, person_id));
            }
        }
    }
    (people, memberships, leader_of_first_village)
}

/// Creates the [`DEMO_USERS`] that do not exist yet, all with `password_hash`: the officer of `commune`,
/// the viewer of `province`, the leader of `leader`'s team `(team, unit, person)`. Returns how many were
/// created.
pub(super) fn create_users(
    conn: &mut PgConnection,
    password_hash: &str,
    province: Option<Uuid>,
    commune: Option<Uuid>,
    leader: Option<(Uuid, Uuid, Uuid)>,
) -> Result<usize, AppError> {
    let mut created = 0;
    for (username, role) in DEMO_USERS {
        if user::find_by_username(conn, username)?.is_some() {
            continue;
        }
        let (org_unit_id, team_id, person_id) = match role {
            Role::Officer => (commune, None, None),
            Role::Viewer => (province, None, None),
            Role::TeamLeader => match leader {
                Some((team, unit, person)) => (Some(unit), Some(team), Some(person)),
                None => (commune, None, None),
            },
            Role::Admin => (None, None, None),
        };
        user::insert(
            conn,
            &NewUser {
                id: Uuid::now_v7(),
                username: username.to_owned(),
                display_name: format!("Demo {role}"),
                phone: None,
                password_hash: password_hash.to_owned(),
                role,
                org_unit_id,
                team_id,
                person_id,
            },
        )?;
        created += 1;
    }
    Ok(created)
}

/// The 2024 national edition and a 2025 provincial one (their reach activities come with the demo's
/// [`activity`]). Returns how many were created.
fn past_editions(conn: &mut PgConnection) -> Result<usize, AppError> {
    use crate::models::campaign;
    use crate::reference::CampaignStatus;
    let editions = [
        (
            "anti-fraud-2024",
            "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến 2024",
            "Skills to identify and prevent online fraud 2024",
            "Cục An toàn thông tin, Bộ Thông tin và Truyền thông",
            (date(2024, 10, 10)?, date(2024, 11, 20)?),
        ),
        (
            "anti-fraud-2025-son-la",
            "Chiến dịch phòng chống lừa đảo trực tuyến tỉnh Sơn La 2025",
            "Sơn La online fraud prevention campaign 2025",
            "Sở Khoa học và Công nghệ tỉnh Sơn La",
            (date(2025, 9, 1)?, date(2025, 12, 31)?),
        ),
    ];
    for (code, name, name_en, owner, period) in editions {
        campaign::insert(
            conn,
            Uuid::now_v7(),
            &edition_fields(
                code.to_owned(),
                name.to_owned(),
                name_en.to_owned(),
                owner,
                period,
                CampaignStatus::Closed,
            ),
        )?;
    }
    Ok(editions.len())
}
