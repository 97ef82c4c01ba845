//! What each demo login can try first, counted from the database as it is (printed under the logins by
//! `serve --demo` and `seed demo`).

use chrono::{Datelike, NaiveDate};
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Date, Text},
};

use super::DEMO_USERS;
use crate::{
    domain::{today_in_vietnam, workflow::lock_date},
    error::AppError,
    models::{org_unit, sign_off, team, user},
    reference::{Role, SignOffState},
};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Day {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
}

/// A `count(*)` `query` with a unit path bound as `$1` and the first day of the year as `$2`.
fn count(
    conn: &mut PgConnection,
    query: &str,
    path: &str,
    year_start: NaiveDate,
) -> Result<i64, AppError> {
    Ok(sql_query(query)
        .bind::<Text, _>(path)
        .bind::<Date, _>(year_start)
        .get_result::<Count>(conn)?
        .count)
}

/// Thousands separated by commas, as the banner prints figures.
fn figure(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// `count` and `noun`, plural when it is not one.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!(
            "{} {noun}s",
            figure(i64::try_from(count).unwrap_or(i64::MAX))
        )
    }
}

/// One line per demo login that exists: (username, what to try first). `lock_days` is
/// `REPORTING_LOCK_DAYS`, which decides what the leader may still edit.
pub fn hints(conn: &mut PgConnection, lock_days: u32) -> Result<Vec<(String, String)>, AppError> {
    let today = today_in_vietnam();
    let year_start = today.with_ordinal(1).unwrap_or(today);
    let mut lines = Vec::new();
    for (username, role) in DEMO_USERS {
        let Some(account) = user::find_by_username(conn, username)? else {
            continue;
        };
        let unit = match account.org_unit_id {
            Some(id) => Some(org_unit::find(conn, id)?),
            None => None,
        };
        let path = unit.as_ref().map_or(String::new(), |u| u.path.clone());
        let line = match role {
            Role::Officer => {
                let sessions = count(
                    conn,
                    "SELECT count(*) FROM training_sessions s JOIN teams t ON t.id = s.team_id \
                     JOIN org_units u ON u.id = t.org_unit_id WHERE u.path LIKE $1 || '%' \
                     AND s.status = 'submitted' AND s.deleted_at IS NULL",
                    &path,
                    year_start,
                )?;
                let activities = count(
                    conn,
                    "SELECT count(*) FROM reach_activities r JOIN teams t ON t.id = r.team_id \
                     JOIN org_units u ON u.id = t.org_unit_id WHERE u.path LIKE $1 || '%' \
                     AND r.status = 'submitted' AND r.deleted_at IS NULL",
                    &path,
                    year_start,
                )?;
                format!(
                    "{} sessions and {} reach activities of {} waiting for verification \
                     (GET /api/v1/training-sessions?status=submitted)",
                    figure(sessions),
                    figure(activities),
                    unit.as_ref().map_or("the commune", |u| u.name.as_str())
                )
            }
            Role::TeamLeader => {
                let Some(team_id) = account.team_id else {
                    continue;
                };
                let team = team::find(conn, team_id)?;
                let open: Vec<Day> = sql_query(
                    "SELECT held_on AS day FROM training_sessions WHERE team_id = $1::uuid \
                     AND status <> 'verified' AND deleted_at IS NULL ORDER BY held_on DESC",
                )
                .bind::<Text, _>(team_id.to_string())
                .load(conn)?;
                let editable: Vec<_> = open
                    .iter()
                    .filter(|d| lock_date(d.day, lock_days) >= today)
                    .collect();
                format!(
                    "team {} has {} it may still edit{} (GET /api/v1/training-sessions), or log one \
                     with POST /api/v1/training-sessions",
                    team.code,
                    plural(editable.len(), "session"),
                    editable
                        .first()
                        .map_or(String::new(), |d| format!(", the latest held {}", d.day))
                )
            }
            Role::Viewer => {
                let sessions = count(
                    conn,
                    "SELECT count(*) FROM training_sessions s JOIN teams t ON t.id = s.team_id \
                     JOIN org_units u ON u.id = t.org_unit_id WHERE u.path LIKE $1 || '%' \
                     AND s.held_on >= $2 AND s.status <> 'rejected' AND s.deleted_at IS NULL",
                    &path,
                    year_start,
                )?;
                format!(
                    "{} sessions in {} since {year_start} (GET /api/v1/reports/summary?from={year_start}, \
                     /api/v1/reports/dormant-teams)",
                    figure(sessions),
                    unit.as_ref().map_or("the province", |u| u.name.as_str())
                )
            }
            Role::Admin => {
                let targets = count(
                    conn,
                    "SELECT count(*) FROM targets WHERE period_start >= $2",
                    "",
                    year_start,
                )?;
                let waiting = sign_off::count_in_state(conn, SignOffState::Submitted)?;
                format!(
                    "everything: {} waiting for acceptance (GET /api/v1/sign-offs?state=submitted), \
                     {} targets for {} (GET /api/v1/reports/targets?from={year_start})",
                    plural(usize::try_from(waiting).unwrap_or(0), "commune month"),
                    figure(targets),
                    today.format("%Y")
                )
            }
        };
        lines.push((username.to_owned(), line));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::figure;

    #[test]
    fn figures_have_thousands_separators() {
        assert_eq!(figure(0), "0");
        assert_eq!(figure(999), "999");
        assert_eq!(figure(1_000), "1,000");
        assert_eq!(figure(31_204_567), "31,204,567");
        assert_eq!(figure(-4_500), "-4,500");
    }
}
