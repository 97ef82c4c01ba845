//! The maintenance commands of the CLI (`seed`, `create-admin`): each opens the database (embedded or
//! `DATABASE_URL`), applies migrations, does its work and stops an embedded database again.

use std::io::BufRead;

use anyhow::{Context, bail};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::{
    auth::{Role, password},
    config::Settings,
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
