//! The `cdt-api` binary as a user runs it: configuration errors, subcommands, serve and shutdown.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use cdt_api::openapi::ApiSpec;

use crate::test_db::TestDatabase;

const BINARY: &str = env!("CARGO_BIN_EXE_cdt-api");

fn cdt_api() -> Command {
    let mut command = Command::new(BINARY);
    for variable in [
        "DATABASE_URL",
        "BIND_ADDR",
        "JWT_SECRET",
        "LOG_FORMAT",
        "DB_POOL_SIZE",
        "DB_POOL_TIMEOUT_MS",
        "DB_STATEMENT_TIMEOUT_MS",
        "CDT_DATA_DIR",
        "PG_BINDIR",
    ] {
        command.env_remove(variable);
    }
    command.env("RUST_LOG", "warn");
    command
}

#[test]
fn an_invalid_setting_stops_startup_naming_the_variable() {
    for (variable, value) in [
        ("DB_POOL_SIZE", "lots"),
        ("BIND_ADDR", "not-an-address"),
        ("LOG_FORMAT", "yaml"),
        ("JWT_SECRET", "too-short"),
    ] {
        let output = cdt_api().env(variable, value).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{variable}: {stderr}");
        assert!(
            !stderr.contains(value) || variable != "JWT_SECRET",
            "secret echoed: {stderr}"
        );
    }
}

#[test]
fn openapi_prints_the_document() {
    let output = cdt_api().arg("openapi").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        ApiSpec::build().json()
    );
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["openapi", "--help"],
    ] {
        let output = cdt_api().args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn migrate_brings_an_empty_database_up_to_date() {
    let database = TestDatabase::create_empty();
    let output = cdt_api()
        .arg("migrate")
        .env("DATABASE_URL", database.url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut conn = database.connect();
    assert!(!cdt_api::db::migrations::has_pending(&mut conn).unwrap());
}

#[test]
fn serve_on_the_embedded_database_answers_then_stops_it_on_sigterm() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = cdt_api()
        .arg("serve")
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("CDT_DATA_DIR", data_dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let ready = wait_for_ready(port, Duration::from_secs(60));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(ready, "the server never became ready");
    assert!(status.success(), "{status}");
    let pgdata = data_dir.path().join("postgres");
    assert!(
        pgdata.join("PG_VERSION").exists(),
        "no cluster in CDT_DATA_DIR"
    );
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "PostgreSQL left running"
    );
}

fn wait_for_ready(port: u16, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut stream| {
            use std::io::{Read, Write};
            stream.write_all(
                b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        });
        if answer.is_ok_and(|response| response.starts_with("HTTP/1.1 200")) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[actix_web::test]
async fn create_admin_makes_a_user_who_can_sign_in_and_refuses_duplicates_without_reset() {
    let database = TestDatabase::create();
    let url = database.url().to_owned();
    let run = |args: &[&str], password: &str| {
        cdt_api()
            .args(args)
            .env("DATABASE_URL", &url)
            .env("CDT_ADMIN_PASSWORD", password)
            .env("PASSWORD_HASH_MEMORY_KIB", "1024")
            .env("PASSWORD_HASH_ITERATIONS", "1")
            .output()
            .unwrap()
    };
    let created = run(
        &["create-admin", "--username", "quantri"],
        crate::helpers::PASSWORD,
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let again = run(
        &["create-admin", "--username", "QuanTri"],
        crate::helpers::PASSWORD,
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--reset"));

    let weak = run(&["create-admin", "--username", "khac"], "12345678");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let reset = run(
        &["create-admin", "--username", "quantri", "--reset"],
        "Suối Sập chảy qua bản Mòng",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );

    let settings = crate::helpers::test_settings(&url);
    let app = crate::helpers::TestApp::spawn_with(database, &settings).await;
    assert_eq!(
        app.login("quantri", crate::helpers::PASSWORD)
            .await
            .status(),
        401
    );
    let response = app.login("quantri", "Suối Sập chảy qua bản Mòng").await;
    assert_eq!(response.status(), 200);
    let session: serde_json::Value = response.json().await.unwrap();
    assert_eq!(session["user"]["role"], "admin");
}

#[test]
fn seed_son_la_runs_twice_and_changes_nothing_the_second_time() {
    let database = TestDatabase::create_empty();
    let run = || {
        cdt_api()
            .args(["seed", "son-la"])
            .env("DATABASE_URL", database.url())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stderr)
            .contains("288 units and 200 succession links created")
    );
    let second = run();
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("0 units and 0 succession links created")
    );
}
