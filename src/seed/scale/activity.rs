//! The activity of a scale data set: every day's sessions and reach activities streamed with `COPY`,
//! day by day, so time-ordered ids arrive in order.

use std::{
    cell::Cell,
    io::{BufWriter, Write},
};

use chrono::{NaiveDate, NaiveTime};
use diesel::{ExecuteCopyFromDsl, PgConnection, pg::CopyFormat};
use uuid::Uuid;

use super::{
    Edition, ScaleOptions, SeedTeam, day_bar,
    structure::{FRAUD_TYPES, SKILLS},
};

use super::super::demo::Sequence;
use crate::db::schema::{reach_activities, training_sessions};

/// A time-ordered UUID (version 7) at `day` 08:00 UTC plus `counter` milliseconds: ids of a day's rows
/// ascend, so the primary key index is appended to.
pub(super) fn day_uuid(sequence: &mut Sequence, day: NaiveDate, counter: u64) -> Uuid {
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
pub(super) fn status(sequence: &mut Sequence, day: NaiveDate, end: NaiveDate) -> &'static str {
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
pub(super) fn each_day(
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

/// Why an officer sent a session back.
const SESSION_REJECTIONS: [&str; 4] = [
    "Thiếu danh sách người tham gia",
    "Số người tham gia chưa khớp với danh sách ký",
    "Thiếu ảnh minh chứng buổi sinh hoạt",
    "Trùng với buổi đã báo cáo",
];
/// Why an officer sent a reach activity back.
const REACH_REJECTIONS: [&str; 3] = [
    "Số liệu chưa khớp",
    "Chưa ghi rõ cách đếm số người tiếp cận",
    "Số hộ vượt quá số hộ của bản",
];

/// Per-day chance of an event that happens `per_year` times a year, on the scale of `Sequence::next() / 1000`.
fn per_day(per_year: u32) -> u64 {
    u64::from(per_year) * (u64::MAX / 365 / 1000)
}

/// Does `team` report anything on `day`?
fn reporting(team: &SeedTeam, day: NaiveDate) -> bool {
    team.active && team.quiet_from.is_none_or(|quiet| day < quiet)
}

/// Streams the sessions of the period of `teams` (each at its own rate) into `training_sessions`.
pub(in crate::seed) fn copy_sessions(
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
                        for team in teams.iter().filter(|t| reporting(t, day)) {
                            if sequence.next() / 1000 >= per_day(team.sessions_per_year) {
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
                            let (fewest, most) = team.minority_pct;
                            let minority = total * sequence.between(fewest, most) / 100;
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
                                "rejected" => (
                                    SESSION_REJECTIONS[usize::try_from(*rows).unwrap_or(0) % SESSION_REJECTIONS.len()],
                                    day_time(day, 3),
                                ),
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
pub(super) fn day_time(day: NaiveDate, plus_days: i64) -> String {
    format!("{} 10:00:00+07", day + chrono::Duration::days(plus_days))
}

/// Streams the reach activities of `teams` (each at its own rate) into `reach_activities`, on the days of
/// the period one of `editions` runs.
pub(in crate::seed) fn copy_reach(
    conn: &mut PgConnection,
    options: &ScaleOptions,
    start: NaiveDate,
    teams: &[SeedTeam],
    editions: &[Edition],
) -> anyhow::Result<u64> {
    use reach_activities as ra;
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
                        let Some(campaign) = editions
                            .iter()
                            .find(|e| (e.starts_on..=e.ends_on).contains(&day))
                            .map(|e| e.id)
                        else {
                            return Ok(());
                        };
                        for team in teams.iter().filter(|t| reporting(t, day)) {
                            if sequence.next() / 1000 >= per_day(team.reach_per_year) {
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
                                "rejected" => (
                                    REACH_REJECTIONS[usize::try_from(*rows).unwrap_or(0) % REACH_REJECTIONS.len()],
                                    day_time(day, 3),
                                ),
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
