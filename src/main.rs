//! The `cdt-api` binary: parse the command line, read the configuration, start logging, dispatch.

use std::{io::Write, process::ExitCode};

use cdt_api::{
    cli::{Cli, Command, SeedDataset},
    commands,
    config::Settings,
    openapi::ApiSpec,
    startup, telemetry,
};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve { demo: false });
    if let Command::Openapi = command {
        // Needs no configuration: it describes the code, not an installation.
        let written = std::io::stdout().write_all(ApiSpec::build().json().as_bytes());
        return if written.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("cdt-api: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_filter, settings.log_format);

    let result = match command {
        Command::Serve { demo } => startup::serve(&settings, demo),
        Command::Migrate => startup::open_database(&settings).and_then(|(db, mut embedded)| {
            let applied = startup::migrate(&db);
            drop(db);
            if let Some(embedded) = embedded.as_mut() {
                embedded.stop()?;
            }
            applied.map(|_| ())
        }),
        Command::Openapi => Ok(()),
        Command::Seed {
            dataset: SeedDataset::SonLa,
        } => commands::seed_son_la(&settings).map(|report| {
            eprintln!(
                "Sơn La: {} units and {} succession links created",
                report.units_created, report.links_created
            );
        }),
        Command::Seed {
            dataset: SeedDataset::Demo,
        } => commands::seed_demo(&settings),
        Command::Seed {
            dataset:
                SeedDataset::Scale {
                    teams,
                    years,
                    provinces,
                    seed,
                    sessions_per_team_year,
                    reach_per_team_year,
                    end,
                },
        } => commands::seed_scale(
            &settings,
            &cdt_api::seed::scale::ScaleOptions {
                teams,
                years,
                provinces,
                seed,
                sessions_per_team_year,
                reach_per_team_year,
                end: end.unwrap_or_else(|| chrono::Local::now().date_naive()),
                progress: true,
            },
        )
        .map(|report| commands::print_scale_report(&report)),
        Command::CreateAdmin {
            username,
            display_name,
            reset,
        } => commands::read_admin_password().and_then(|password| {
            commands::create_admin(
                &settings,
                &username,
                display_name.as_deref(),
                reset,
                &password,
            )
            .map(|id| eprintln!("admin {username} ready (id {id})"))
        }),
        Command::Backup { verify, name, list } => {
            commands::backup(&settings, verify, name.as_deref(), list)
        }
        Command::Restore {
            backup,
            to,
            replace,
        } => commands::restore(
            &settings,
            &cdt_api::backup::restore::RestoreRequest {
                backup,
                to,
                replace,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cdt-api stopped with an error");
            eprintln!("cdt-api: {error:#}");
            ExitCode::FAILURE
        }
    }
}
