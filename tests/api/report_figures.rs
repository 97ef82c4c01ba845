//! Summary, breakdown and targets reports: the aggregates against a recomputation from the raw rows after
//! random writes, old vs new administrative structure, achievement and pro-rating, scoping, CSV.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, sql_query};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use cdt_api::{
    db::schema::{reach_activities, training_sessions},
    domain::today_in_vietnam,
    models::{reach_activity::ActivityFields, training_session},
};

use crate::helpers::{TestApp, problem, session_fields};

const TOPICS: [&str; 4] = [
    "vneid",
    "online_public_services",
    "online_payment",
    "fraud_prevention",
];
const STAT_TABLES: [&str; 6] = [
    "stat_team_days",
    "stat_commune_days",
    "stat_commune_months",
    "stat_root_days",
    "stat_root_months",
    "stat_team_years",
];
const CHANNELS: [&str; 3] = ["meeting", "door_to_door", "zalo_group"];

/// A small deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn create_campaign(app: &TestApp, starts_on: NaiveDate, ends_on: NaiveDate) -> Uuid {
    let fields = cdt_api::models::campaign::CampaignFields {
        code: format!("campaign-{starts_on}"),
        name: "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến".to_owned(),
        name_en: None,
        owner: "Sở KH&CN".to_owned(),
        starts_on,
        ends_on,
        description: None,
        skill_groups: Vec::new(),
        fraud_types: Vec::new(),
        status: cdt_api::reference::Choice::from_code("active"),
    };
    cdt_api::models::campaign::insert(&mut app.database.connect(), Uuid::now_v7(), &fields)
        .unwrap()
        .id
}

fn activity_fields(
    campaign: Uuid,
    team: Uuid,
    unit: Uuid,
    day: NaiveDate,
    channel: &str,
    contacts: i32,
) -> ActivityFields {
    ActivityFields {
        campaign_id: campaign,
        team_id: team,
        org_unit_id: unit,
        channel: cdt_api::reference::Choice::from_code(channel),
        occurred_on: day,
        contacts,
        unique_people: Some(contacts / 2),
        households_reached: contacts / 3,
        estimated_audience: None,
        method: cdt_api::reference::Choice::from_code("headcount"),
        confidence: cdt_api::reference::Choice::from_code("high"),
        skill_groups: Vec::new(),
        fraud_types: Vec::new(),
        materials_distributed: 1,
        session_id: None,
        notes: None,
        recorded_at: None,
    }
}

/// The figures the test recomputes from raw rows, per record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Expected {
    sessions: i64,
    participants_total: i64,
    trained_total: i64,
    vneid_activations: i64,
    reach_activities: i64,
    contacts: i64,
}

impl Expected {
    fn add(&mut self, other: &Expected) {
        self.sessions += other.sessions;
        self.participants_total += other.participants_total;
        self.trained_total += other.trained_total;
        self.vneid_activations += other.vneid_activations;
        self.reach_activities += other.reach_activities;
        self.contacts += other.contacts;
    }

    fn of(value: &Value) -> Expected {
        Expected {
            sessions: value["sessions"].as_i64().unwrap(),
            participants_total: value["participants_total"].as_i64().unwrap(),
            trained_total: value["trained_total"].as_i64().unwrap(),
            vneid_activations: value["vneid_activations"].as_i64().unwrap(),
            reach_activities: value["reach_activities"].as_i64().unwrap(),
            contacts: value["contacts"].as_i64().unwrap(),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct RawFact {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    commune: Uuid,
    #[diesel(sql_type = diesel::sql_types::Date)]
    day: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    sessions: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    participants_total: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    trained_total: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    vneid_activations: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    reach_activities: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    contacts: i64,
}

/// Every live record with the commune-level unit its team served that day, straight from the raw tables.
fn raw_facts(app: &TestApp) -> Vec<RawFact> {
    sql_query(
        "WITH attributed AS ( \
           SELECT s.team_id, s.held_on AS day, s.status, 1::bigint AS sessions, \
                  s.participants_total::bigint AS participants_total, \
                  CASE WHEN s.kind = 'training' THEN s.participants_total ELSE 0 END::bigint AS trained_total, \
                  s.vneid_activations::bigint AS vneid_activations, 0::bigint AS reach_activities, \
                  0::bigint AS contacts \
           FROM training_sessions s WHERE s.deleted_at IS NULL \
           UNION ALL \
           SELECT r.team_id, r.occurred_on, r.status, 0, 0, 0, 0, 1, r.contacts \
           FROM reach_activities r WHERE r.deleted_at IS NULL) \
         SELECT CASE WHEN u.level = 'village' THEN u.parent_id ELSE u.id END AS commune, a.day, a.status, \
                a.sessions, a.participants_total, a.trained_total, a.vneid_activations, a.reach_activities, \
                a.contacts \
         FROM attributed a JOIN team_units tu ON tu.team_id = a.team_id AND tu.valid_from <= a.day \
           AND (tu.valid_to IS NULL OR tu.valid_to >= a.day) \
         JOIN org_units u ON u.id = tu.org_unit_id",
    )
    .load(&mut app.database.connect())
    .unwrap()
}

/// The child of the province a commune-level unit's activity falls under on `as_of`, worked out the slow
/// way: follow successors (or the lowest-code predecessor) until a unit in force, then take its district
/// (old structure) or itself (new structure).
fn child_of(app: &TestApp, commune: Uuid, as_of: NaiveDate) -> Uuid {
    let mut conn = app.database.connect();
    let mut current = commune;
    loop {
        let (valid_from, valid_to, parent, level): (
            NaiveDate,
            Option<NaiveDate>,
            Option<Uuid>,
            String,
        ) = cdt_api::db::schema::org_units::table
            .find(current)
            .select((
                cdt_api::db::schema::org_units::valid_from,
                cdt_api::db::schema::org_units::valid_to,
                cdt_api::db::schema::org_units::parent_id,
                cdt_api::db::schema::org_units::level,
            ))
            .first(&mut conn)
            .unwrap();
        if valid_from <= as_of && valid_to.is_none_or(|to| to >= as_of) {
            return if level == "commune" && as_of < date(2025, 7, 1) {
                parent.unwrap()
            } else {
                current
            };
        }
        let next: Vec<(Uuid, String)> = if valid_to.is_some_and(|to| to < as_of) {
            sql_query(
                "SELECT o.id, o.code FROM org_unit_successions s JOIN org_units o ON o.id = s.successor_id \
                 WHERE s.predecessor_id = $1 ORDER BY o.code",
            )
        } else {
            sql_query(
                "SELECT o.id, o.code FROM org_unit_successions s JOIN org_units o ON o.id = s.predecessor_id \
                 WHERE s.successor_id = $1 ORDER BY o.code",
            )
        }
        .bind::<diesel::sql_types::Uuid, _>(current)
        .load::<IdCode>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| (row.id, row.code))
        .collect();
        current = next.first().expect("a linked unit").0;
    }
}

#[derive(diesel::QueryableByName)]
struct IdCode {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
}

fn counted(status: &str) -> bool {
    status == "submitted" || status == "verified"
}

#[actix_web::test]
async fn aggregates_match_a_recomputation_from_raw_rows_after_random_writes_under_both_structures()
{
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let admin_id = app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let province = app.unit_id("son-la");
    let today = today_in_vietnam();

    // Teams: two that served old communes before the 2025 reorganisation (one of them in Chiềng Sơn, whose
    // predecessors lay in two districts), and three created after it, one serving a village.
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let chieng_son = app.unit_id("son-la.xa-chieng-son");
    let to_hieu = app.unit_id("son-la.phuong-to-hieu");
    let old_long_luong = app.unit_id("son-la.huyen-van-ho.xa-long-luong");
    let old_chieng_son = app.unit_id("son-la.thi-xa-moc-chau.xa-chieng-son");
    let village = {
        let mut conn = app.database.connect();
        let parent = cdt_api::models::org_unit::find(&mut conn, to_hieu).unwrap();
        let unit = cdt_api::models::org_unit::NewOrgUnit {
            id: Uuid::now_v7(),
            code: "son-la.phuong-to-hieu.to-3".to_owned(),
            name: "Tổ dân phố 3".to_owned(),
            level: cdt_api::reference::OrgUnitLevel::Village,
            kind: cdt_api::reference::OrgUnitKind::ToDanPho,
            parent_id: None,
            path: String::new(),
            depth: 0,
            valid_from: date(2025, 7, 1),
            valid_to: None,
            households: Some(120),
            population: Some(500),
        }
        .placed_under(Some(&parent));
        cdt_api::models::org_unit::insert(&mut conn, &unit)
            .unwrap()
            .id
    };
    let teams = [
        (
            app.create_team_with_history("HIST-LL", old_long_luong, van_ho),
            van_ho,
        ),
        (
            app.create_team_with_history("HIST-CS", old_chieng_son, chieng_son),
            chieng_son,
        ),
        (app.create_team("NEW-VH", van_ho), van_ho),
        (app.create_team("NEW-CS", chieng_son), chieng_son),
        (app.create_team("NEW-TDP3", village), village),
    ];
    let campaign = create_campaign(&app, date(2024, 1, 1), today + Duration::days(30));

    let mut random = Random(0x5EED_CAFE);
    let mut sessions: Vec<Uuid> = Vec::new();
    let mut activities: Vec<Uuid> = Vec::new();
    for step in 0..240 {
        let mut conn = app.database.connect();
        let (team, unit) = *random.pick(&teams);
        // New teams act after the reorganisation; old ones on either side of it.
        let earliest = if teams[..2].iter().any(|(t, _)| *t == team) {
            date(2024, 1, 1)
        } else {
            date(2025, 7, 1)
        };
        let span = (today - Duration::days(1) - earliest).num_days() as u64;
        let day = earliest + Duration::days(random.below(span) as i64);
        match random.below(10) {
            0..=3 => {
                let mut fields = session_fields(team, unit, day);
                fields.kind = cdt_api::reference::Choice::from_code(if random.below(2) == 0 {
                    "training"
                } else {
                    "outreach"
                });
                fields.topics = (0..=random.below(3))
                    .map(|_| random.pick(&TOPICS))
                    .map(|topic| cdt_api::reference::Choice::from_code(topic))
                    .collect();
                fields.participants_total = 5 + random.below(40) as i32;
                fields.participants_female = fields.participants_total / 2;
                fields.participants_ethnic_minority = fields.participants_total / 3;
                fields.participants_elderly = 1;
                fields.vneid_activations = random.below(5) as i32;
                let id = training_session::insert(&mut conn, Uuid::now_v7(), &fields, admin_id)
                    .unwrap()
                    .unwrap()
                    .id;
                sessions.push(id);
            }
            4..=5 => {
                let channel = *random.pick(&CHANNELS);
                let contacts = 10 + random.below(90) as i32;
                let fields = activity_fields(campaign, team, unit, day, channel, contacts);
                let id = cdt_api::models::reach_activity::insert(
                    &mut conn,
                    Uuid::now_v7(),
                    &fields,
                    admin_id,
                )
                .unwrap()
                .unwrap()
                .id;
                activities.push(id);
            }
            6 if !sessions.is_empty() => {
                // An edit: counts, topics, status and the day all move.
                let id = *random.pick(&sessions);
                diesel::update(training_sessions::table.find(id))
                    .set((
                        training_sessions::participants_total.eq(50),
                        training_sessions::participants_female.eq(20),
                        training_sessions::topics.eq(vec![Some("fraud_prevention".to_owned())]),
                        training_sessions::held_on
                            .eq(today - Duration::days(2 + random.below(5) as i64)),
                        training_sessions::version.eq(training_sessions::version + 1),
                    ))
                    .execute(&mut conn)
                    .unwrap();
            }
            7 if !sessions.is_empty() => {
                let id = *random.pick(&sessions);
                let status = *random.pick(&["verified", "rejected", "submitted"]);
                diesel::update(training_sessions::table.find(id))
                    .set(training_sessions::status.eq(status))
                    .execute(&mut conn)
                    .unwrap();
            }
            8 if !activities.is_empty() => {
                let id = *random.pick(&activities);
                diesel::update(reach_activities::table.find(id))
                    .set((
                        reach_activities::status.eq("verified"),
                        reach_activities::contacts.eq(reach_activities::contacts + 7),
                        reach_activities::channel.eq("door_to_door"),
                    ))
                    .execute(&mut conn)
                    .unwrap();
            }
            _ if step % 2 == 0 && !sessions.is_empty() => {
                let id = *random.pick(&sessions);
                diesel::update(training_sessions::table.find(id))
                    .set(training_sessions::deleted_at.eq(Some(chrono::Utc::now())))
                    .execute(&mut conn)
                    .unwrap();
            }
            _ if !activities.is_empty() => {
                let id = activities.swap_remove(random.below(activities.len() as u64) as usize);
                diesel::delete(reach_activities::table.find(id))
                    .execute(&mut conn)
                    .unwrap();
            }
            _ => {}
        }
    }
    // Through the API too: verify one live session, delete another.
    let live: Vec<Uuid> = training_sessions::table
        .filter(training_sessions::deleted_at.is_null())
        .filter(training_sessions::status.eq("submitted"))
        .select(training_sessions::id)
        .load(&mut app.database.connect())
        .unwrap();
    assert!(live.len() >= 2, "enough live sessions");
    let verified = app
        .request(
            Method::POST,
            &format!("/api/v1/training-sessions/{}/verify", live[0]),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let found = app
        .get_json(&admin, &format!("/api/v1/training-sessions/{}", live[1]))
        .await;
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/v1/training-sessions/{}", live[1]),
        )
        .header("If-Match", format!("\"{}\"", found["version"]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    // The incremental aggregates equal a bulk rebuild from the raw rows, row for row.
    {
        let mut conn = app.database.connect();
        for table in STAT_TABLES {
            sql_query(format!(
                "CREATE TABLE incremental_{table} AS SELECT * FROM {table}"
            ))
            .execute(&mut conn)
            .unwrap();
        }
        cdt_api::models::stats::rebuild(&mut conn).unwrap();
        for table in STAT_TABLES {
            let differing = sql_query(format!(
                "SELECT 1 FROM ((TABLE incremental_{table} EXCEPT TABLE {table}) \
                 UNION ALL (TABLE {table} EXCEPT TABLE incremental_{table})) d"
            ))
            .execute(&mut conn)
            .unwrap();
            assert_eq!(differing, 0, "{table} differs from a rebuild");
            let rows = sql_query(format!("SELECT 1 FROM {table}"))
                .execute(&mut conn)
                .unwrap();
            assert!(rows > 0, "{table} holds rows");
        }
    }

    // Every report recomputed from the raw rows.
    let facts = raw_facts(&app);
    let from = date(2024, 1, 1);
    let mut total = Expected::default();
    let (mut verified_records, mut pending_records) = (0, 0);
    for f in &facts {
        match f.status.as_str() {
            "verified" => verified_records += f.sessions + f.reach_activities,
            "submitted" => pending_records += f.sessions + f.reach_activities,
            _ => {}
        }
    }
    let mut by_child: HashMap<NaiveDate, BTreeMap<Uuid, Expected>> = HashMap::new();
    for f in facts.iter().filter(|f| counted(&f.status)) {
        let figures = Expected {
            sessions: f.sessions,
            participants_total: f.participants_total,
            trained_total: f.trained_total,
            vneid_activations: f.vneid_activations,
            reach_activities: f.reach_activities,
            contacts: f.contacts,
        };
        total.add(&figures);
        for as_of in [date(2025, 6, 30), today] {
            by_child
                .entry(as_of)
                .or_default()
                .entry(child_of(&app, f.commune, as_of))
                .or_default()
                .add(&figures);
        }
        assert!(f.day >= from);
    }
    assert!(
        total.sessions > 20 && total.reach_activities > 10,
        "{total:?}"
    );

    let range = format!("from={from}&to={today}");
    let summary_new = app
        .get_json(&admin, &format!("/api/v1/reports/summary?{range}"))
        .await;
    let summary_old = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/summary?{range}&as_of=2025-06-30"),
        )
        .await;
    for summary in [&summary_new, &summary_old] {
        assert_eq!(summary["org_unit"]["id"], province.to_string());
        assert_eq!(summary["sessions"]["total"], total.sessions);
        assert_eq!(summary["participants"]["total"], total.participants_total);
        assert_eq!(summary["participants"]["trained"], total.trained_total);
        assert_eq!(
            summary["outcomes"]["vneid_activations"],
            total.vneid_activations
        );
        assert_eq!(
            summary["campaign_reach"]["activities"],
            total.reach_activities
        );
        assert_eq!(summary["campaign_reach"]["contacts"], total.contacts);
        assert_eq!(summary["verification"]["verified"], verified_records);
        assert_eq!(summary["verification"]["pending"], pending_records);
        assert_eq!(summary["teams"]["total"], 5);
    }
    assert_eq!(summary_old["as_of"], "2025-06-30");

    // Under the old structure the province splits into its 12 districts; under today's into 75 communes.
    for (as_of, children) in [(date(2025, 6, 30), 12), (today, 75)] {
        let breakdown = app
            .get_json(
                &admin,
                &format!("/api/v1/reports/breakdown?by=child_unit&{range}&as_of={as_of}"),
            )
            .await;
        let rows = breakdown["rows"].as_array().unwrap();
        assert_eq!(rows.len(), children, "children on {as_of}");
        let expected = &by_child[&as_of];
        let mut sum = Expected::default();
        for row in rows {
            let key: Uuid = row["key"].as_str().unwrap().parse().unwrap();
            let got = Expected::of(row);
            assert_eq!(
                got,
                expected.get(&key).copied().unwrap_or_default(),
                "{as_of} {}",
                row["label"]
            );
            sum.add(&got);
        }
        assert_eq!(sum, total);
        assert_eq!(Expected::of(&breakdown["totals"]), total);
    }
    // The teams that served Long Luông and Chiềng Sơn (Mộc Châu) show under Vân Hồ and Mộc Châu in 2025's
    // structure, even for what they did in 2026.
    assert!(by_child[&date(2025, 6, 30)].contains_key(&app.unit_id("son-la.thi-xa-moc-chau")));

    // Every other breakdown adds up to the summary too.
    for by in ["team", "topic", "channel", "campaign", "month", "week"] {
        let breakdown = app
            .get_json(
                &admin,
                &format!("/api/v1/reports/breakdown?by={by}&{range}"),
            )
            .await;
        let mut sum = Expected::default();
        for row in breakdown["rows"].as_array().unwrap() {
            sum.add(&Expected::of(row));
        }
        assert_eq!(sum, Expected::of(&breakdown["totals"]), "{by}");
        match by {
            "topic" => {
                assert_eq!(sum.sessions, total.sessions, "{by}");
                assert_eq!(sum.participants_total, total.participants_total, "{by}");
            }
            "channel" | "campaign" => {
                assert_eq!(sum.contacts, total.contacts, "{by}");
                assert_eq!(sum.reach_activities, total.reach_activities, "{by}");
            }
            _ => assert_eq!(sum, total, "{by}"),
        }
    }

    // A village reads its own teams' activity; a district of the old structure with an old as_of.
    let village_summary = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/summary?org_unit_id={village}&{range}"),
        )
        .await;
    let village_sessions: i64 = sql_query(
        "SELECT 1 FROM training_sessions WHERE deleted_at IS NULL AND status <> 'rejected' AND team_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(teams[4].0)
    .execute(&mut app.database.connect())
    .unwrap() as i64;
    assert_eq!(village_summary["sessions"]["total"], village_sessions);
    assert_eq!(village_summary["teams"]["total"], 1);

    // Verified only: the verified records' figures.
    let verified_only = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/summary?{range}&verified_only=true"),
        )
        .await;
    let verified_sessions: i64 = facts
        .iter()
        .filter(|f| f.status == "verified")
        .map(|f| f.sessions)
        .sum();
    assert_eq!(verified_only["sessions"]["total"], verified_sessions);
}

#[actix_web::test]
async fn targets_report_achievement_pro_rating_and_external_indicators() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let admin_id = app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-van-ho");
    let other = app.unit_id("son-la.xa-chieng-son");
    let team = app.create_team("VH-1", commune);
    app.create_team("VH-IDLE", commune);
    let today = today_in_vietnam();
    // A 20-day period, 10 days of it elapsed by today.
    let start = today - Duration::days(9);
    let end = today + Duration::days(10);
    let mut conn = app.database.connect();
    let target = |indicator: &str, unit: Option<Uuid>, team: Option<Uuid>, start, end, value| {
        cdt_api::models::target::insert(
            &mut app.database.connect(),
            Uuid::now_v7(),
            &cdt_api::models::target::TargetFields {
                org_unit_id: unit,
                team_id: team,
                indicator: cdt_api::reference::Choice::from_code(indicator),
                period_start: start,
                period_end: end,
                value,
                campaign_id: None,
            },
            admin_id,
        )
        .unwrap()
        .id
    };
    let trained = target("people_trained", Some(commune), None, start, end, 100.0);
    let sessions = target("sessions_held", None, Some(team), start, end, 2.0);
    let active = target("active_teams_pct", Some(commune), None, start, end, 100.0);
    let later = target(
        "people_trained",
        Some(commune),
        None,
        today + Duration::days(1),
        end,
        10.0,
    );
    let rate = target(
        "online_dossier_rate_pct",
        Some(commune),
        None,
        start,
        end,
        80.0,
    );
    let missing = target("vneid_level2_rate_pct", Some(other), None, start, end, 60.0);
    // Two training sessions of 20 in the period, one before it (not counted), one rejected.
    for (day, status) in [
        (today - Duration::days(1), "submitted"),
        (today - Duration::days(2), "verified"),
        (start - Duration::days(1), "submitted"),
        (today - Duration::days(3), "rejected"),
    ] {
        let id = training_session::insert(
            &mut conn,
            Uuid::now_v7(),
            &session_fields(team, commune, day),
            admin_id,
        )
        .unwrap()
        .unwrap()
        .id;
        diesel::update(training_sessions::table.find(id))
            .set(training_sessions::status.eq(status))
            .execute(&mut conn)
            .unwrap();
    }
    cdt_api::models::indicator_value::insert(
        &mut conn,
        &cdt_api::models::indicator_value::IndicatorFields {
            org_unit_id: commune,
            indicator: cdt_api::reference::Indicator::OnlineDossierRatePct,
            period_start: start,
            period_end: end,
            value: 85.5,
            source: "Cổng dịch vụ công quốc gia".to_owned(),
            as_of: today,
        },
        admin_id,
    )
    .unwrap();

    let report = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/targets?from={start}&to={end}"),
        )
        .await;
    let items: HashMap<String, &Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["target_id"].as_str().unwrap().to_owned(), item))
        .collect();
    assert_eq!(items.len(), 6);
    let item = |id: Uuid| items[&id.to_string()];

    // 40 trained of 100 while half the period has passed: behind.
    assert_eq!(item(trained)["actual"], 40.0);
    assert_eq!(item(trained)["achievement_pct"], 40.0);
    assert_eq!(item(trained)["expected_pct"], 50.0);
    assert_eq!(item(trained)["expected_value"], 50.0);
    assert_eq!(item(trained)["status"], "behind");
    assert_eq!(item(trained)["cumulative"], true);
    assert_eq!(item(trained)["evaluated_on"], today.to_string());
    // The team's 2 sessions of 2: achieved.
    assert_eq!(item(sessions)["actual"], 2.0);
    assert_eq!(item(sessions)["status"], "achieved");
    assert_eq!(item(sessions)["holder"]["kind"], "team");
    assert_eq!(item(sessions)["holder"]["code"], "VH-1");
    // One of the commune's two teams was active: 50 % of 100 % (a rate is not pro-rated).
    assert_eq!(item(active)["actual"], 50.0);
    assert_eq!(item(active)["expected_pct"], 100.0);
    assert_eq!(item(active)["cumulative"], false);
    assert_eq!(item(active)["status"], "behind");
    // Not begun yet.
    assert_eq!(item(later)["status"], "not_started");
    assert!(item(later)["actual"].is_null());
    // External: 85.5 % recorded against 80 %.
    assert_eq!(item(rate)["actual"], 85.5);
    assert_eq!(item(rate)["status"], "achieved");
    assert_eq!(item(rate)["source"], "Cổng dịch vụ công quốc gia");
    assert_eq!(item(missing)["status"], "not_started");
    assert!(item(missing)["actual"].is_null());

    // A third session: 60 of the expected 50 -> on track.
    training_session::insert(
        &mut conn,
        Uuid::now_v7(),
        &session_fields(team, commune, today - Duration::days(4)),
        admin_id,
    )
    .unwrap();
    let report = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/targets?from={start}&to={end}"),
        )
        .await;
    let progress = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["target_id"] == trained.to_string())
        .unwrap()
        .clone();
    assert_eq!(progress["actual"], 60.0);
    assert_eq!(progress["status"], "on_track");

    // CSV: one row per target.
    let csv = app
        .request(
            Method::GET,
            &format!("/api/v1/reports/targets?from={start}&to={end}"),
        )
        .header("Accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("indicator,holder_kind,holder_code"));
    assert_eq!(lines.len(), 7);
    assert!(csv.contains(",on_track,"));
}

#[actix_web::test]
async fn reports_are_scoped_validated_and_exported_as_csv() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let admin_id = app.create_user("admin", "admin", None);
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let to_hieu = app.unit_id("son-la.phuong-to-hieu");
    let mine = app.create_team("MINE", van_ho);
    let neighbour = app.create_team("NEIGHBOUR", van_ho);
    let far = app.create_team("FAR", to_hieu);
    app.create_user("officer", "officer", Some(van_ho));
    app.create_team_leader("leader", mine);
    let today = today_in_vietnam();
    {
        let mut conn = app.database.connect();
        for (team, unit, count) in [(mine, van_ho, 1), (neighbour, van_ho, 2), (far, to_hieu, 4)] {
            for i in 0..count {
                training_session::insert(
                    &mut conn,
                    Uuid::now_v7(),
                    &session_fields(team, unit, today - Duration::days(1 + i)),
                    admin_id,
                )
                .unwrap();
            }
        }
    }
    let admin = app.token("admin").await;
    let officer = app.token("officer").await;
    let leader = app.token("leader").await;
    let from = today - Duration::days(30);
    let range = format!("from={from}&to={today}");

    let province = app
        .get_json(&admin, &format!("/api/v1/reports/summary?{range}"))
        .await;
    assert_eq!(province["sessions"]["total"], 7);
    assert_eq!(
        province["teams"],
        serde_json::json!({"total": 3, "active": 3, "dormant": 0})
    );
    // The officer's default is their commune; outside it reads as missing.
    let commune = app
        .get_json(&officer, &format!("/api/v1/reports/summary?{range}"))
        .await;
    assert_eq!(commune["org_unit"]["id"], van_ho.to_string());
    assert_eq!(commune["sessions"]["total"], 3);
    problem(
        app.request(
            Method::GET,
            &format!("/api/v1/reports/summary?org_unit_id={to_hieu}"),
        )
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap(),
        404,
    )
    .await;
    // A team leader gets their own team's part, even of the province.
    let own = app
        .get_json(&leader, &format!("/api/v1/reports/summary?{range}"))
        .await;
    assert_eq!(own["team_id"], mine.to_string());
    assert_eq!(own["sessions"]["total"], 1);
    assert_eq!(own["teams"]["total"], 1);
    let own_breakdown = app
        .get_json(
            &leader,
            &format!("/api/v1/reports/breakdown?by=team&{range}"),
        )
        .await;
    let with_sessions: Vec<&Value> = own_breakdown["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["sessions"].as_i64().unwrap() > 0)
        .collect();
    assert_eq!(with_sessions.len(), 1);
    assert_eq!(with_sessions[0]["key"], mine.to_string());
    // A commune splits into itself (teams serving it directly) and its villages.
    let villages = app
        .get_json(
            &officer,
            &format!("/api/v1/reports/breakdown?by=child_unit&{range}"),
        )
        .await;
    assert_eq!(villages["rows"][0]["key"], van_ho.to_string());
    assert_eq!(villages["rows"][0]["sessions"], 3);

    // Bad options name the field and the rule.
    for (query, field, code) in [
        ("breakdown?by=district", "by", "invalid_choice"),
        ("summary?from=2026-02-01&to=2026-01-01", "from", "after_to"),
        ("summary?from=1990-01-01", "from", "out_of_range"),
        (
            "summary?as_of=2025-06-30&org_unit_id={van_ho}",
            "as_of",
            "not_in_force",
        ),
        ("targets?indicator=happiness", "indicator", "invalid_choice"),
    ] {
        let path = format!(
            "/api/v1/reports/{}",
            query.replace("{van_ho}", &van_ho.to_string())
        );
        let body = problem(
            app.request(Method::GET, &path)
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap(),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
        assert_eq!(body["errors"][0]["code"], code, "{query}");
    }
    problem(
        app.request(Method::GET, "/api/v1/reports/summary?nonsense=1")
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    // CSV: the summary as figure,value rows; a breakdown with one column per figure.
    let csv = app
        .request(Method::GET, &format!("/api/v1/reports/summary?{range}"))
        .header("Accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("figure,value"));
    assert!(csv.contains("sessions.total,7"));
    assert!(csv.contains("teams.active,3"));
    let csv = app
        .request(
            Method::GET,
            &format!("/api/v1/reports/breakdown?by=team&{range}"),
        )
        .header("Accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("key,label,code,sessions,sessions_training"));
    // Header, three teams, and the totals row (which equal the summary's figures).
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().any(|l| l.contains(",FAR,4,")));
    assert!(lines[4].starts_with("total,,,7,"), "{}", lines[4]);

    // Dormant teams of an old district, read under the 2025 structure: today's teams of its area.
    let quiet = app.create_team("QUIET", van_ho);
    let district = app.unit_id("son-la.huyen-van-ho");
    let dormant = app
        .get_json(
            &admin,
            &format!(
                "/api/v1/reports/dormant-teams?org_unit_id={district}&as_of=2025-06-30&days=1"
            ),
        )
        .await;
    let ids: Vec<&str> = dormant["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [quiet.to_string()]);
    let elsewhere = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/dormant-teams?org_unit_id={to_hieu}&days=1"),
        )
        .await;
    assert!(elsewhere["items"].as_array().unwrap().is_empty());
}

/// The `activity` version of the report cache, as the database holds it.
fn activity_version(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        version: i64,
    }
    sql_query("SELECT version FROM cdt_versions WHERE name = 'activity'")
        .get_result::<Row>(&mut app.database.connect())
        .unwrap()
        .version
}

#[actix_web::test]
async fn active_teams_follow_the_first_and_last_record_of_a_day_through_the_report_cache() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-van-ho");
    let busy = app.create_team("ACT-BUSY", commune);
    app.create_team("ACT-QUIET", commune);
    let summary = format!("/api/v1/reports/summary?org_unit_id={commune}");
    let active = |report: &Value| {
        assert_eq!(report["teams"]["total"], 2, "{report}");
        report["teams"]["active"].as_i64().unwrap()
    };
    let log_session = |key: &'static str| {
        let body = serde_json::json!({"team_id": busy, "kind": "training", "held_on": today_in_vietnam(),
            "duration_minutes": 60, "format": "in_person", "topics": ["fraud_prevention"],
            "participants_total": 25, "participants_female": 12, "participants_ethnic_minority": 20,
            "participants_elderly": 2, "households_reached": 18});
        let request = app
            .request(Method::POST, "/api/v1/training-sessions")
            .bearer_auth(&admin)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body = response.json::<Value>().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let delete = |session: Value| {
        let request = app
            .request(
                Method::DELETE,
                &format!(
                    "/api/v1/training-sessions/{}",
                    session["id"].as_str().unwrap()
                ),
            )
            .bearer_auth(&admin)
            .header("If-Match", format!("\"{}\"", session["version"]));
        async move { assert_eq!(request.send().await.unwrap().status(), 204) }
    };

    // The first read fills the cache: nobody has done anything yet.
    assert_eq!(active(&app.get_json(&admin, &summary).await), 0);
    let quiet_version = activity_version(&app);

    // The team's first session of the day sets its bit, bumps the version and shows in the next summary.
    let first = log_session("activity-first").await;
    let first_version = activity_version(&app);
    assert!(first_version > quiet_version);
    assert_eq!(active(&app.get_json(&admin, &summary).await), 1);

    // A second session that day changes no bit: the version (and the cached set) stay.
    let second = log_session("activity-second").await;
    assert_eq!(activity_version(&app), first_version);
    assert_eq!(active(&app.get_json(&admin, &summary).await), 1);

    // Deleting one keeps the team active; deleting the last clears the bit and the team drops out.
    delete(first).await;
    assert_eq!(activity_version(&app), first_version);
    assert_eq!(active(&app.get_json(&admin, &summary).await), 1);
    delete(second).await;
    assert!(activity_version(&app) > first_version);
    assert_eq!(active(&app.get_json(&admin, &summary).await), 0);
}
