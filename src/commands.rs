//! The maintenance commands of the CLI (`seed`, `create-admin`, `backup`, `restore`). `seed` and
//! `create-admin` open the database (embedded or `DATABASE_URL`), apply migrations, do their work and stop
//! an embedded database again (unless a running `cdt-api` owns it).

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::{
    auth::{Role, password},
    backup,
    config::Settings,
    db::embedded::EmbeddedPostgres,
    models::{
        audit::{self, AuditContext, NewAuditEvent},
        refresh_token,
        user::{self, NewUser, UserChanges},
    },
    seed, startup,
};

fn with_database<T>(
    settings: &Settings,
    work: impl FnOnce(&mut PgConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (db, mut embedded) = startup::open_database(settings)?;
    startup::migrate(&db)?;
    let result = {
        let mut conn = db.blocking_connection()?;
        work(&mut conn)
    };
    drop(db);
    if let Some(embedded) = embedded.as_mut() {
        embedded.stop()?;
    }
    result
}

/// `cdt-api seed son-la`.
pub fn seed_son_la(settings: &Settings) -> anyhow::Result<seed::SeedReport> {
    with_database(settings, |conn| {
        let report = seed::son_la(conn).map_err(|error| anyhow::anyhow!("{error}"))?;
        tracing::info!(
            units_created = report.units_created,
            links_created = report.links_created,
            "Sơn La seeded"
        );
        Ok(report)
    })
}

/// `cdt-api seed demo` (and `serve --demo`): loads the demo and prints what it holds and the logins with
/// what each can try first.
pub fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    with_database(settings, |conn| load_demo(conn, settings))
}

/// Loads the demo into `conn`'s database and prints the report and the logins.
pub fn load_demo(conn: &mut diesel::PgConnection, settings: &Settings) -> anyhow::Result<()> {
    let hashing = password::PasswordHashing::new(settings.password_hash_cost, 1)?;
    let report = seed::demo::load(conn, &hashing).map_err(|error| anyhow::anyhow!("{error}"))?;
    let hints = seed::demo::hints(conn, settings.reporting_lock_days)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    print_demo_report(&report, &hints);
    Ok(())
}

/// `cdt-api seed scale`.
pub fn seed_scale(
    settings: &Settings,
    options: &seed::scale::ScaleOptions,
) -> anyhow::Result<seed::scale::ScaleReport> {
    let hashing = password::PasswordHashing::new(settings.password_hash_cost, 1)?;
    with_database(settings, |conn| seed::scale::load(conn, &hashing, options))
}

/// What a scale seed loaded and how long each phase took.
pub fn print_scale_report(report: &seed::scale::ScaleReport) {
    eprintln!(
        "scale data loaded: {} provinces, {} communes, {} villages, {} teams, {} members, {} campaigns, \
         {} sessions, {} reach activities",
        report.provinces,
        report.communes,
        report.villages,
        report.teams,
        report.people,
        report.campaigns,
        report.sessions,
        report.reach_activities
    );
    for (phase, took) in &report.phases {
        eprintln!("  {phase:<18} {:>8.1} s", took.as_secs_f64());
    }
    eprintln!("  {:<18} {:>8.1} s", "total", report.total().as_secs_f64());
    eprintln!(
        "logins: {} (password: {})",
        seed::demo::DEMO_USERS.map(|(name, _)| name).join(", "),
        seed::demo::DEMO_PASSWORD
    );
}

/// Tells the user what the demo holds, how to sign in and what each login can try first (`hints`).
fn print_demo_report(report: &seed::demo::DemoReport, hints: &[(String, String)]) {
    if report.created {
        if report.teams > 0 {
            eprintln!(
                "demo data loaded: {} villages, {} teams, {} members, {} users, {} past campaign editions",
                report.villages, report.teams, report.people, report.users, report.campaigns
            );
        }
        let activity = &report.activity;
        eprintln!(
            "demo activity up to yesterday: {} sessions, {} reach activities of three campaign editions \
             (one running now), {} targets for this year",
            activity.sessions, activity.reach_activities, activity.targets
        );
    } else {
        eprintln!(
            "the database holds sessions already (the demo, or data of its own); nothing changed"
        );
    }
    eprintln!(
        "demo logins (password for all: {}); try first:",
        seed::demo::DEMO_PASSWORD
    );
    for (username, role) in seed::demo::DEMO_USERS {
        let hint = hints
            .iter()
            .find(|(name, _)| name == username)
            .map_or("", |(_, hint)| hint.as_str());
        eprintln!("  {username:<13} {:<12} {hint}", role.to_string());
    }
}

/// The admin password: `CDT_ADMIN_PASSWORD`, else the first line of stdin.
pub fn read_admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("CDT_ADMIN_PASSWORD")
        && !password.is_empty()
    {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `cdt-api create-admin`.
pub fn create_admin(
    settings: &Settings,
    username: &str,
    display_name: Option<&str>,
    reset: bool,
    password: &str,
) -> anyhow::Result<Uuid> {
    let display_name = display_name.unwrap_or(username).to_owned();
    password::check_strength("password", password, &[username, &display_name]).map_err(
        |error| {
            let reasons: Vec<String> = error
                .field_errors()
                .iter()
                .map(|e| format!("password {}", e.message.en))
                .collect();
            anyhow::anyhow!("{}", reasons.join("; "))
        },
    )?;
    let hashing = password::PasswordHashing::new(settings.password_hash_cost, 1)?;
    let password_hash = hashing
        .hash(password)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let context = AuditContext {
        actor_username: Some("cli".to_owned()),
        ..AuditContext::default()
    };
    with_database(settings, |conn| {
        conn.transaction(|conn| {
            let id = match user::find_by_username(conn, username)? {
                Some(_) if !reset => bail!(
                    "a user named {username} exists already; pass --reset to replace its password"
                ),
                Some(existing) => {
                    let changes = UserChanges {
                        password_hash: Some(password_hash),
                        role: Some(Role::Admin),
                        status: Some(crate::reference::UserStatus::Active),
                        ..UserChanges::default()
                    };
                    user::update(conn, &existing, existing.version, &changes)?;
                    refresh_token::revoke_user(conn, existing.id)?;
                    existing.id
                }
                None => {
                    user::insert(
                        conn,
                        &NewUser {
                            id: Uuid::now_v7(),
                            username: username.to_owned(),
                            display_name: display_name.clone(),
                            phone: None,
                            password_hash,
                            role: Role::Admin,
                            org_unit_id: None,
                            team_id: None,
                            person_id: None,
                        },
                    )?
                    .id
                }
            };
            audit::record(
                conn,
                &context,
                NewAuditEvent {
                    action: if reset {
                        "admin_reset"
                    } else {
                        "admin_created"
                    },
                    entity_type: "user",
                    entity_id: Some(id),
                    org_unit_path: None,
                    changes: serde_json::json!({"username": username, "role": "admin"}),
                },
            )?;
            Ok(id)
        })
    })
}

/// `cdt-api backup [--verify [--name N] | --list]`.
pub fn backup(
    settings: &Settings,
    verify: bool,
    name: Option<&str>,
    list: bool,
) -> anyhow::Result<()> {
    if list {
        return list_backups(settings);
    }
    if verify {
        let result = backup::restore::verify(settings, name)?;
        if !result.mismatches.is_empty() {
            for mismatch in &result.mismatches {
                eprintln!("MISMATCH {mismatch}");
            }
            bail!(
                "backup {} does not restore to the source at its point: {} of {} tables differ ({})",
                result.backup,
                result.mismatches.len(),
                result.tables,
                result
                    .mismatches
                    .iter()
                    .map(|m| m.table.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        say(format!(
            "backup {} verified: restored into a throwaway cluster, {} tables and {} rows identical to the \
             source at the backup's point",
            result.backup, result.tables, result.rows
        ));
        return Ok(());
    }
    let started_at = chrono::Utc::now();
    let (source, mut embedded) = match &settings.database_url {
        Some(url) => (backup::Source::external(url, settings)?, None),
        None => {
            let embedded = EmbeddedPostgres::start(&backup::embedded_options(settings))
                .context("starting the embedded PostgreSQL")?;
            (backup::Source::embedded(&embedded), Some(embedded))
        }
    };
    let outcome = backup::take(&settings.backups, &source);
    let url = match (&settings.database_url, &embedded) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(embedded)) => Some(embedded.database_url()),
        _ => None,
    };
    // Recorded for /metrics and /readyz (best effort: a database not yet migrated has no table for it).
    if let Some(url) = url
        && let Ok(mut conn) = PgConnection::establish(secrecy::ExposeSecret::expose_secret(&url))
    {
        let record = backup::RunRecord {
            trigger: "command",
            started_at,
            backup: outcome.as_ref().ok().map(|o| &o.backup.manifest),
            verified: None,
            error: outcome.as_ref().err().map(|e| format!("{e:#}")),
        };
        if let Err(error) = backup::record_run(&mut conn, &record) {
            tracing::warn!(error = %format!("{error:#}"), "backup run not recorded");
        }
    }
    if let Some(embedded) = embedded.as_mut() {
        embedded.stop()?;
    }
    let outcome = outcome?;
    let manifest = &outcome.backup.manifest;
    say(format!(
        "backup {} written to {}: {} files, {} bytes; {} tables, {} rows as of {} (migration {})",
        manifest.name,
        outcome.backup.dir.display(),
        manifest.files.len(),
        manifest.bytes,
        manifest.tables.len(),
        manifest.tables.iter().map(|t| t.rows).sum::<i64>(),
        manifest.consistent_at.to_rfc3339(),
        manifest.migration.as_deref().unwrap_or("none"),
    ));
    if !outcome.pruned.is_empty() {
        say(format!(
            "deleted (BACKUP_RETAIN={}): {}",
            settings.backups.retain,
            outcome.pruned.join(", ")
        ));
    }
    Ok(())
}

fn list_backups(settings: &Settings) -> anyhow::Result<()> {
    let backups = backup::list(&settings.backups)?;
    if backups.is_empty() {
        say(format!("no backup in {}", settings.backups.dir.display()));
    }
    for b in &backups {
        let m = &b.manifest;
        say(format!(
            "{}  as of {}  {} bytes  {} tables  PostgreSQL {}  migration {}",
            m.name,
            m.consistent_at.to_rfc3339(),
            m.bytes,
            m.tables.len(),
            m.server_version,
            m.migration.as_deref().unwrap_or("none")
        ));
    }
    let archive = settings.backups.dir.join("wal");
    let mut segments: Vec<String> = std::fs::read_dir(&archive)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.len() == 27 && n.ends_with(".gz"))
                .collect()
        })
        .unwrap_or_default();
    segments.sort();
    match (segments.first(), segments.last()) {
        (Some(first), Some(last)) => say(format!(
            "WAL archive {}: {} segments, {} .. {}",
            archive.display(),
            segments.len(),
            first.trim_end_matches(".gz"),
            last.trim_end_matches(".gz")
        )),
        _ => say(format!("WAL archive {}: empty", archive.display())),
    }
    Ok(())
}

/// `cdt-api restore [--backup N] [--to T] [--replace]`.
pub fn restore(
    settings: &Settings,
    request: &backup::restore::RestoreRequest,
) -> anyhow::Result<()> {
    if settings.database_url.is_some() {
        let text = backup::restore::external_instructions(settings, request)?;
        let _ = std::io::stdout().write_all(text.as_bytes());
        return Ok(());
    }
    let restored = backup::restore::restore_embedded(settings, request)?;
    say(format!(
        "restored backup {} into {}{}{}",
        restored.backup,
        restored.pgdata.display(),
        restored
            .last_transaction
            .map(|t| format!("; last transaction recovered: {t}"))
            .unwrap_or_default(),
        restored
            .replaced
            .map(|p| format!("; the previous cluster is kept in {}", p.display()))
            .unwrap_or_default(),
    ));
    say("start the service again: cdt-api serve".to_owned());
    Ok(())
}

/// Prints a line on stdout (the command's result, for scripts); a closed stdout is not an error.
fn say(line: String) {
    let _ = writeln!(std::io::stdout(), "{line}");
}
