//! The structure of a scale data set: generated provinces' communes and villages, teams spread over
//! the communes in proportion, their members, and one fraud-prevention campaign per year.

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use diesel::PgConnection;
use uuid::Uuid;

use super::{
    Edition, NATIONAL_COMMUNES, PROVINCES, ScaleOptions, ScaleReport, SeedTeam, activity::day_uuid,
};

use super::super::demo::{self, PLACE_FIRST, PLACE_SECOND, Sequence};
use crate::models::{
    campaign::{self, CampaignFields},
    org_unit::{self, NewOrgUnit, OrgUnit},
    person,
    team::{self, TeamFields},
};
use crate::reference::{CampaignStatus, Choice, OrgUnitKind, OrgUnitLevel, TeamStatus};

/// Communes of province number `index` (0 = Sơn La with its real 75).
pub(super) fn generated_communes(index: usize) -> usize {
    let rest = NATIONAL_COMMUNES - 75;
    let others = PROVINCES.len() - 1;
    rest / others + usize::from(index - 1 < rest % others)
}

/// Provinces, communes, villages, teams, members and the demo users. Returns the teams.
pub(super) fn structure(
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
        .filter(|u| u.level == OrgUnitLevel::Commune && u.valid_to.is_none())
        .collect();
    son_la_communes.sort_by(|a, b| a.code.cmp(&b.code));
    provinces.push((son_la, son_la_communes));
    for (index, (name, kind)) in PROVINCES.iter().enumerate().take(options.provinces).skip(1) {
        let code = super::super::slug(name);
        let households = i32::try_from(sequence.between(300_000, 1_500_000)).unwrap_or(500_000);
        let province = org_unit::insert(
            conn,
            &NewOrgUnit {
                id: next_id(sequence),
                code: code.clone(),
                name: (*name).to_owned(),
                level: OrgUnitLevel::Province,
                kind: *kind,
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
                    code: format!("{code}.{number:03}-{}", super::super::slug(&name)),
                    name,
                    level: OrgUnitLevel::Commune,
                    kind: if ward {
                        OrgUnitKind::Phuong
                    } else {
                        OrgUnitKind::Xa
                    },
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
                ..SeedTeam::typical(options)
            });
            let count = village_teams / communes.len()
                + usize::from(index < village_teams % communes.len());
            for number in 1..=count {
                let (name, kind) = if commune.kind == OrgUnitKind::Phuong {
                    (format!("Tổ dân phố {number}"), OrgUnitKind::ToDanPho)
                } else {
                    (
                        format!(
                            "Bản {} {} {number}",
                            sequence.pick(&PLACE_FIRST),
                            sequence.pick(&PLACE_SECOND)
                        ),
                        OrgUnitKind::Ban,
                    )
                };
                let households = i32::try_from(sequence.between(35, 220)).unwrap_or(80);
                let village = NewOrgUnit {
                    id: next_id(sequence),
                    code: format!("{}.v{number:03}", commune.code),
                    name: name.clone(),
                    level: OrgUnitLevel::Village,
                    kind,
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
                    fields.status = TeamStatus::Inactive.into();
                }
                team_rows.push((id, fields));
                teams.push(SeedTeam {
                    id,
                    unit_id: village.id,
                    households,
                    zalo_members: zalo,
                    active,
                    ..SeedTeam::typical(options)
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

pub(super) fn team_fields(
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
        status: TeamStatus::Active.into(),
        founded_on: Some(founded),
        establishment_decision: None,
        zalo_group_members: zalo,
        zalo_group_members_as_of: zalo.map(|_| as_of),
        notes: None,
    }
}

pub(super) const FRAUD_TYPES: [&str; 8] = [
    "impersonating_authorities",
    "fake_investment",
    "job_offers",
    "loan_apps",
    "account_takeover",
    "phishing_links",
    "fake_shopping",
    "deepfake_calls",
];
pub(super) const SKILLS: [&str; 5] = ["recognise", "detect", "handle", "avoid", "protect"];

/// One campaign edition per calendar year of the period, as the [`Edition`]s reach activities belong to.
pub(super) fn campaigns(
    conn: &mut PgConnection,
    sequence: &mut Sequence,
    start: NaiveDate,
    end: NaiveDate,
    report: &mut ScaleReport,
) -> anyhow::Result<Vec<Edition>> {
    let mut editions = Vec::new();
    for year in start.year()..=end.year() {
        let starts_on = NaiveDate::from_ymd_opt(year, 1, 1).context("date")?;
        let ends_on = NaiveDate::from_ymd_opt(year, 12, 31).context("date")?;
        let campaign = campaign::insert(
            conn,
            day_uuid(sequence, starts_on, 0),
            &edition_fields(
                format!("online-fraud-{year}"),
                format!("Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến {year}"),
                format!("Skills to identify and prevent online fraud {year}"),
                "Bộ Khoa học và Công nghệ",
                (starts_on, ends_on),
                if ends_on < end {
                    CampaignStatus::Closed
                } else {
                    CampaignStatus::Active
                },
            ),
        )?;
        editions.push(Edition {
            id: campaign.id,
            starts_on,
            ends_on,
        });
    }
    report.campaigns = editions.len();
    Ok(editions)
}

/// A campaign edition over `(starts_on, ends_on)` with every skill group and fraud type the generated reach
/// activities use.
pub(in crate::seed) fn edition_fields(
    code: String,
    name: String,
    name_en: String,
    owner: &str,
    (starts_on, ends_on): (NaiveDate, NaiveDate),
    status: CampaignStatus,
) -> CampaignFields {
    CampaignFields {
        code,
        name,
        name_en: Some(name_en),
        owner: owner.to_owned(),
        starts_on,
        ends_on,
        description: None,
        skill_groups: SKILLS.iter().map(|g| Some(Choice::from_code(g))).collect(),
        fraud_types: FRAUD_TYPES
            .iter()
            .map(|t| Some(Choice::from_code(t)))
            .collect(),
        status: status.into(),
    }
}
