//! Scheduled backups from the server process (`BACKUP_SCHEDULE`), and what `/metrics` and `/readyz`
//! say about backups.
//!
//! Every instance runs [`run`] on a thread of its own. Once a minute it reads `backup_runs` (so every
//! instance knows the last good backup, whoever took it: the schedule, `cdt-api backup` from cron, an
//! operator). When the day's time has passed and no run finished since, the instance that wins
//! `pg_try_advisory_lock` takes the backup (and verifies it, `BACKUP_VERIFY`); the others see its run in
//! `backup_runs`. A failed run is tried again an hour later. A backup under way when the server stops is
//! abandoned; the next run deletes what it left.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, NaiveTime, Utc};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::Bool};
use secrecy::{ExposeSecret, SecretString};

use super::{Run, RunRecord, Source, last_runs, record_run, restore, take};
use crate::{config::Settings, domain::VIETNAM_OFFSET};

/// Advisory-lock key held by the instance taking the scheduled backup.
const BACKUP_LOCK: i64 = 0x00cd_7b4c;
/// How often `backup_runs` is read again.
const REFRESH: Duration = Duration::from_secs(60);
/// How long after a failed scheduled run the next try comes.
const RETRY_AFTER: chrono::Duration = chrono::Duration::hours(1);
/// A backup older than this (with a daily schedule) is reported `stale`.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::hours(26);

/// The backups as this instance last read them.
#[derive(Debug, Default)]
pub struct BackupStatus {
    inner: Mutex<BackupState>,
}

/// The schedule, the last good run and the last run.
#[derive(Debug, Clone, Default)]
pub struct BackupState {
    /// `BACKUP_SCHEDULE`.
    pub schedule: Option<NaiveTime>,
    /// Whether `backup_runs` has been read yet.
    pub known: bool,
    /// The newest successful run.
    pub last_success: Option<Run>,
    /// The newest run.
    pub last: Option<Run>,
}

impl BackupStatus {
    /// Sets the schedule shown.
    pub fn set_schedule(&self, schedule: Option<NaiveTime>) {
        if let Ok(mut state) = self.inner.lock() {
            state.schedule = schedule;
        }
    }

    fn update(&self, last_success: Option<Run>, last: Option<Run>) {
        if let Ok(mut state) = self.inner.lock() {
            state.known = true;
            state.last_success = last_success;
            state.last = last;
        }
    }

    /// A copy of the state.
    pub fn state(&self) -> BackupState {
        self.inner
            .lock()
            .map(|state| state.clone())
            .unwrap_or_default()
    }
}

/// The latest moment at or before `now` when a backup was due under a daily `schedule` (Vietnam time).
pub fn last_due(schedule: NaiveTime, now: DateTime<Utc>) -> DateTime<Utc> {
    let local = (now + VIETNAM_OFFSET).naive_utc();
    let mut due = local.date().and_time(schedule);
    if due > local {
        due -= chrono::Duration::days(1);
    }
    (due - VIETNAM_OFFSET).and_utc()
}

/// Whether a scheduled backup should run now: none succeeded since it was due, and no run failed within
/// the last hour.
pub fn is_due(
    schedule: NaiveTime,
    now: DateTime<Utc>,
    last_success: Option<&Run>,
    last: Option<&Run>,
) -> bool {
    let due = last_due(schedule, now);
    if last_success.is_some_and(|run| run.finished_at >= due) {
        return false;
    }
    !last.is_some_and(|run| {
        !run.succeeded && run.finished_at >= due && now - run.finished_at < RETRY_AFTER
    })
}

/// Keeps `status` current and takes the scheduled backups, for as long as the process runs.
/// `source` is `None` when `BACKUP_SCHEDULE` is off.
pub fn run(
    settings: Settings,
    url: SecretString,
    source: Option<Source>,
    status: Arc<BackupStatus>,
) {
    loop {
        if let Err(error) = tick(&settings, &url, source.as_ref(), &status) {
            tracing::warn!(error = %format!("{error:#}"), "backup schedule: could not read or record backup runs");
        }
        std::thread::sleep(REFRESH);
    }
}

fn tick(
    settings: &Settings,
    url: &SecretString,
    source: Option<&Source>,
    status: &BackupStatus,
) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(url.expose_secret())?;
    let (success, last) = last_runs(&mut conn)?;
    let due = match (settings.backups.schedule, source) {
        (Some(schedule), Some(_)) => is_due(schedule, Utc::now(), success.as_ref(), last.as_ref()),
        _ => false,
    };
    status.update(success, last);
    let Some(source) = source.filter(|_| due) else {
        return Ok(());
    };
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    let locked: Locked = sql_query(format!(
        "SELECT pg_try_advisory_lock({BACKUP_LOCK}) AS locked"
    ))
    .get_result(&mut conn)?;
    if !locked.locked {
        return Ok(());
    }
    // Another instance may have finished one between the read and the lock.
    let (success, last) = last_runs(&mut conn)?;
    let schedule = settings.backups.schedule.unwrap_or_default();
    if is_due(schedule, Utc::now(), success.as_ref(), last.as_ref()) {
        scheduled_backup(settings, source, &mut conn);
    }
    sql_query(format!("SELECT pg_advisory_unlock({BACKUP_LOCK})")).execute(&mut conn)?;
    let (success, last) = last_runs(&mut conn)?;
    status.update(success, last);
    Ok(())
}

/// Takes (and, with `BACKUP_VERIFY`, verifies) a backup and records the run.
fn scheduled_backup(settings: &Settings, source: &Source, conn: &mut PgConnection) {
    let started_at = Utc::now();
    tracing::info!("scheduled backup starting");
    let outcome = take(&settings.backups, source);
    let record = match &outcome {
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "scheduled backup failed");
            RunRecord {
                trigger: "schedule",
                started_at,
                backup: None,
                verified: None,
                error: Some(format!("{error:#}")),
            }
        }
        Ok(outcome) => {
            let manifest = &outcome.backup.manifest;
            let (verified, error) = if settings.backups.verify_scheduled {
                match restore::verify(settings, Some(&manifest.name)) {
                    Ok(result) if result.mismatches.is_empty() => (Some(true), None),
                    Ok(result) => (
                        Some(false),
                        Some(format!(
                            "verification found differences: {}",
                            result
                                .mismatches
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; ")
                        )),
                    ),
                    Err(error) => (None, Some(format!("verification failed: {error:#}"))),
                }
            } else {
                (None, None)
            };
            match &error {
                None => tracing::info!(
                    backup = %manifest.name,
                    bytes = manifest.bytes,
                    tables = manifest.tables.len(),
                    verified = ?verified,
                    pruned = ?outcome.pruned,
                    "scheduled backup done"
                ),
                Some(error) => {
                    tracing::error!(backup = %manifest.name, error = %error, "scheduled backup not proven")
                }
            }
            RunRecord {
                trigger: "schedule",
                started_at,
                backup: Some(manifest),
                verified,
                error,
            }
        }
    };
    if let Err(error) = record_run(conn, &record) {
        tracing::error!(error = %format!("{error:#}"), "scheduled backup run not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn run_at(text: &str, succeeded: bool) -> Run {
        Run {
            name: None,
            finished_at: at(text),
            succeeded,
            error: (!succeeded).then(|| "failed".to_owned()),
        }
    }

    #[test]
    fn the_due_moment_is_the_last_schedule_time_in_vietnam() {
        let two = NaiveTime::from_hms_opt(2, 0, 0).unwrap();
        // 18:59 UTC is 01:59 in Vietnam: yesterday's 02:00 (19:00 UTC two days before) is the last due.
        assert_eq!(
            last_due(two, at("2026-12-07T18:59:00Z")),
            at("2026-12-06T19:00:00Z")
        );
        assert_eq!(
            last_due(two, at("2026-12-07T19:00:00Z")),
            at("2026-12-07T19:00:00Z")
        );
        assert_eq!(
            last_due(two, at("2026-12-08T03:00:00Z")),
            at("2026-12-07T19:00:00Z")
        );
    }

    #[test]
    fn a_backup_is_due_once_per_day_and_a_failure_is_retried_an_hour_later() {
        let two = NaiveTime::from_hms_opt(2, 0, 0).unwrap();
        let now = at("2026-12-07T20:00:00Z"); // 03:00 in Vietnam
        assert!(is_due(two, now, None, None));
        let done = run_at("2026-12-07T19:05:00Z", true);
        assert!(!is_due(two, now, Some(&done), Some(&done)));
        let yesterday = run_at("2026-12-06T19:05:00Z", true);
        assert!(is_due(two, now, Some(&yesterday), Some(&yesterday)));
        let failed = run_at("2026-12-07T19:30:00Z", false);
        assert!(!is_due(two, now, Some(&yesterday), Some(&failed)));
        assert!(is_due(
            two,
            at("2026-12-07T20:31:00Z"),
            Some(&yesterday),
            Some(&failed)
        ));
    }
}
