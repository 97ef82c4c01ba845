//! The `cdt-api` binary as a user runs it: configuration errors, subcommands, serve and shutdown.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use cdt_api::openapi::ApiSpec;

use crate::test_db::TestDatabase;

const BINARY: &str = env!("CARGO_BIN_EXE_cdt-api");

pub(crate) fn cdt_api() -> Command {
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
        "CORS_ALLOWED_ORIGINS",
        "METRICS_TOKEN",
        "METRICS_BIND_ADDR",
        "SHUTDOWN_TIMEOUT_SECONDS",
        "BACKUP_DIR",
        "BACKUP_RETAIN",
        "BACKUP_VERIFY",
        "WAL_ARCHIVE",
        "WAL_ARCHIVE_TIMEOUT_SECONDS",
    ] {
        command.env_remove(variable);
    }
    command.env("RUST_LOG", "warn");
    // No scheduled backup and no WAL archive unless a test asks for them (tests/api/backups.rs).
    command.env("BACKUP_SCHEDULE", "off");
    command.env("WAL_ARCHIVE", "off");
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

pub(crate) fn wait_for_ready(port: u16, patience: Duration) -> bool {
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

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn sigterm(child: &std::process::Child) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
}

/// Waits for `child` to exit, at most `patience`; `None` if it is still running.
pub(crate) fn wait_with_patience(
    child: &mut std::process::Child,
    patience: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `cdt-api <args>` on the embedded PostgreSQL of `data_dir` with `env`, on a free port, once ready
/// (killed, and the test failed, if it is not within `patience`).
pub(crate) fn serve_embedded(
    args: &[&str],
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
    patience: Duration,
) -> (std::process::Child, u16) {
    let port = free_port();
    let mut child = cdt_api()
        .args(args)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("CDT_DATA_DIR", data_dir)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if !wait_for_ready(port, patience) {
        child.kill().unwrap();
        panic!("the server never became ready");
    }
    (child, port)
}

/// The URL of the `cdt` database of the embedded PostgreSQL running in `data_dir`.
pub(crate) fn embedded_database_url(data_dir: &std::path::Path) -> String {
    let pid_file = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).unwrap();
    let port = pid_file.lines().nth(3).unwrap().trim();
    let password = std::fs::read_to_string(data_dir.join("postgres.password")).unwrap();
    format!("postgres://cdt:{}@127.0.0.1:{port}/cdt", password.trim())
}

#[actix_web::test]
async fn sigterm_under_load_finishes_in_flight_requests_refuses_new_ones_and_stops_postgres() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, port) = serve_embedded(
        &["serve", "--demo"],
        data_dir.path(),
        &[
            ("SHUTDOWN_TIMEOUT_SECONDS", "20"),
            // No drain: this test is about what happens once the server stops accepting.
            ("SHUTDOWN_DRAIN_SECONDS", "0"),
            ("PASSWORD_HASH_MEMORY_KIB", "1024"),
            ("PASSWORD_HASH_ITERATIONS", "1"),
        ],
        Duration::from_secs(120),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let session: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "demo.admin", "password": "Hoa ban nở trắng núi rừng Tây Bắc"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();

    // Requests in flight: another client holds a lock every session list needs.
    let pgdata = data_dir.path().join("postgres");
    let url = embedded_database_url(data_dir.path());
    let lock = crate::helpers::TableLock::take(&url, "training_sessions").await;
    let in_flight: Vec<_> = (0..5)
        .map(|_| {
            let request = client
                .get(format!("{base}/api/v1/training-sessions?limit=5"))
                .bearer_auth(&token)
                .send();
            actix_web::rt::spawn(request)
        })
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    sigterm(&child);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    // New connections are refused while the five finish.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with requests in flight"
    );
    lock.release();
    for request in in_flight {
        let response = request.await.unwrap().expect("an in-flight request failed");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["items"].is_array());
    }

    let status = wait_with_patience(&mut child, Duration::from_secs(30));
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("still running 30 s after SIGTERM");
    };
    assert!(status.success(), "{status}");
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "PostgreSQL left running"
    );
}

/// One request of the scenario: its status and JSON body (`null` when it has none).
pub(crate) async fn call(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = client.request(method, format!("{base}{path}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// `quantri` signs in with `password`: the status and the session.
pub(crate) async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    password: &str,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({"username": "quantri", "password": password});
    call(
        client,
        base,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        body,
    )
    .await
}

#[actix_web::test]
async fn a_full_scenario_logs_no_password_token_or_phone_number() {
    let database = TestDatabase::create();
    let url = database.url().to_owned();
    let log_path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let admin_password = "Mây trắng bay trên đỉnh Pha Luông";
    let with_env = |command: &mut Command| {
        command
            .env("DATABASE_URL", &url)
            .env("JWT_SECRET", "log-scan-secret-log-scan-secret-0123456789")
            .env("PASSWORD_HASH_MEMORY_KIB", "1024")
            .env("PASSWORD_HASH_ITERATIONS", "1")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "debug");
    };
    let mut log = std::fs::File::create(&log_path).unwrap();
    for args in [
        vec!["seed", "son-la"],
        vec!["create-admin", "--username", "quantri"],
    ] {
        let mut command = cdt_api();
        with_env(&mut command);
        let output = command
            .args(&args)
            .env("CDT_ADMIN_PASSWORD", admin_password)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        use std::io::Write;
        log.write_all(&output.stdout).unwrap();
        log.write_all(&output.stderr).unwrap();
    }
    let port = free_port();
    let mut command = cdt_api();
    with_env(&mut command);
    let mut child = command
        .arg("serve")
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    assert!(wait_for_ready(port, Duration::from_secs(60)));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    use reqwest::Method;

    let secrets_and_phones: Vec<String>;
    {
        let wrong = "Sai mật khẩu mất rồi 2025";
        let (status, _) = sign_in(&client, &base, wrong).await;
        assert_eq!(status, 401);
        let (status, session) = sign_in(&client, &base, admin_password).await;
        assert_eq!(status, 200);
        let access = session["access_token"].as_str().unwrap().to_owned();
        let refresh = session["refresh_token"].as_str().unwrap().to_owned();

        let units: serde_json::Value = client
            .get(format!("{base}/api/v1/org-units?q=van%20ho&level=commune"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let commune = units["items"][0]["id"].as_str().unwrap().to_owned();
        let officer_password = "Ruộng bậc thang Mù Cang Chải";
        let (status, _) = call(&client, &base, Method::POST, "/api/v1/users", Some(&access), serde_json::json!({
                "username": "canbo.vanho", "display_name": "Lường Văn Khánh", "phone": "0912 345 678",
                "password": officer_password, "role": "officer", "org_unit_id": commune})).await;
        assert_eq!(status, 201);
        let (status, team) = call(
            &client,
            &base,
            Method::POST,
            "/api/v1/teams",
            Some(&access),
            serde_json::json!({
                "code": "VH-LOG", "name": "Tổ công nghệ số xã Vân Hồ", "org_unit_id": commune,
                "founded_on": "2025-07-01"}),
        )
        .await;
        assert_eq!(status, 201);
        let team = team["id"].as_str().unwrap().to_owned();
        let (status, _) = call(
            &client,
            &base,
            Method::POST,
            &format!("/api/v1/teams/{team}/members"),
            Some(&access),
            serde_json::json!({
                "person": {"full_name": "Lò Thị Xuân", "phone": "+84987654321"}, "role": "leader"}),
        )
        .await;
        assert_eq!(status, 201);
        let members = client
            .get(format!("{base}/api/v1/teams/{team}/members"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            members.contains("+84987654321"),
            "the admin reads the full number"
        );

        let (status, rotated) = call(
            &client,
            &base,
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            serde_json::json!({"refresh_token": refresh}),
        )
        .await;
        assert_eq!(status, 200);
        let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
        let access2 = rotated["access_token"].as_str().unwrap().to_owned();
        // Reusing the rotated token: a security event, logged, without the token.
        let (status, _) = call(
            &client,
            &base,
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            serde_json::json!({"refresh_token": refresh}),
        )
        .await;
        assert_eq!(status, 401);
        let (status, session3) = sign_in(&client, &base, admin_password).await;
        assert_eq!(status, 200);
        let access3 = session3["access_token"].as_str().unwrap().to_owned();
        let new_password = "Hoa mận nở trắng Mộc Châu";
        let (status, _) = call(
            &client,
            &base,
            Method::POST,
            "/api/v1/me/password",
            Some(&access3),
            serde_json::json!({
                "current_password": admin_password, "new_password": new_password}),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = call(
            &client,
            &base,
            Method::GET,
            "/api/v1/me",
            Some("eyJhbGciOiJIUzI1NiJ9.forged.signature"),
            serde_json::json!({}),
        )
        .await;
        assert_eq!(status, 401);
        let (status, _) = call(
            &client,
            &base,
            Method::POST,
            "/api/v1/auth/logout",
            None,
            serde_json::json!({"refresh_token": refresh2}),
        )
        .await;
        assert_eq!(status, 204);
        secrets_and_phones = vec![
            admin_password.to_owned(),
            wrong.to_owned(),
            officer_password.to_owned(),
            new_password.to_owned(),
            "log-scan-secret".to_owned(),
            "forged.signature".to_owned(),
            // Tokens, and their signatures alone.
            access.clone(),
            access.rsplit('.').next().unwrap().to_owned(),
            access2.rsplit('.').next().unwrap().to_owned(),
            access3.rsplit('.').next().unwrap().to_owned(),
            refresh.clone(),
            refresh2.clone(),
            // Phone numbers in every spelling.
            "912345678".to_owned(),
            "912 345 678".to_owned(),
            "987654321".to_owned(),
        ];
    }
    sigterm(&child);
    let status = wait_with_patience(&mut child, Duration::from_secs(30)).expect("exited");
    assert!(status.success());

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines().count() > 20 && log.contains("request completed"),
        "the scenario was not logged at all"
    );
    for secret in &secrets_and_phones {
        for (number, line) in log.lines().enumerate() {
            assert!(
                !line.contains(secret.as_str()),
                "log line {number} contains {secret:?}: {line}"
            );
        }
    }
}

#[actix_web::test]
async fn a_request_outliving_the_shutdown_timeout_does_not_hold_up_the_exit() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, port) = serve_embedded(
        &["serve"],
        data_dir.path(),
        &[
            ("SHUTDOWN_TIMEOUT_SECONDS", "2"),
            ("DB_STATEMENT_TIMEOUT_MS", "120000"),
        ],
        Duration::from_secs(60),
    );
    let pgdata = data_dir.path().join("postgres");
    let url = embedded_database_url(data_dir.path());
    // The readiness check reads the migrations table: held, it waits far past the shutdown timeout.
    let lock = crate::helpers::TableLock::take(&url, "__diesel_schema_migrations").await;
    let stuck = actix_web::rt::spawn(
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send(),
    );
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    let signalled = Instant::now();
    sigterm(&child);
    let status = wait_with_patience(&mut child, Duration::from_secs(20));
    let took = signalled.elapsed();
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("still running 20 s after SIGTERM with a 2 s shutdown timeout");
    };
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_secs(2),
        "did not wait for the request: {took:?}"
    );
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "PostgreSQL left running"
    );
    assert!(stuck.await.unwrap().is_err(), "the overdue request was cut");
    lock.release();
    eprintln!("exited {took:?} after SIGTERM");
}

#[actix_web::test]
async fn keep_alive_readers_through_a_sigterm_get_every_request_answered_while_the_server_drains() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, port) = serve_embedded(
        &["serve"],
        data_dir.path(),
        &[
            ("SHUTDOWN_DRAIN_SECONDS", "3"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "10"),
        ],
        Duration::from_secs(120),
    );
    let base = format!("http://127.0.0.1:{port}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Twelve readers, each on its own keep-alive connection, reading as fast as they can.
    let readers: Vec<_> = (0..12)
        .map(|_| {
            let (base, stop) = (base.clone(), stop.clone());
            actix_web::rt::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let (mut answered, mut closes, mut unanswered) = (0_u32, 0_u32, Vec::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match client.get(format!("{base}/api/v1/reference")).send().await {
                        Ok(response) => {
                            assert_eq!(response.status(), 200);
                            if response
                                .headers()
                                .get("connection")
                                .is_some_and(|v| v == "close")
                            {
                                closes += 1;
                            }
                            response.bytes().await.unwrap();
                            answered += 1;
                        }
                        // Refused before it was sent: the server had stopped accepting.
                        Err(error) if error.is_connect() => {
                            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                        }
                        // When the listener closes at the drain's end, a connection the kernel had
                        // completed but the server never accepted is reset: its request was never
                        // read. Noted with its time, and checked below.
                        Err(error) => {
                            unanswered.push((Instant::now(), error.to_string()));
                            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (answered, closes, unanswered)
            })
        })
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    sigterm(&child);
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    // Draining: still serving, but not ready.
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let problem: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(problem["code"], "not_ready");
    let status = wait_with_patience(&mut child, Duration::from_secs(30));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    let mut closed = 0;
    for reader in readers {
        let (answered, closes, unanswered) = reader.await.unwrap();
        // Through the whole drain every request is answered; only when the listener closes (3 s after
        // the signal) may a connection still waiting in the kernel's queue be reset, once per reader
        // (its next attempt is refused).
        let during_drain: Vec<_> = unanswered
            .iter()
            .filter(|(at, _)| at.duration_since(signalled) < Duration::from_millis(2900))
            .collect();
        assert!(
            during_drain.is_empty() && unanswered.len() <= 1,
            "requests without an answer: {:?}",
            unanswered
                .iter()
                .map(|(at, error)| (at.duration_since(signalled), error))
                .collect::<Vec<_>>()
        );
        assert!(answered > 0);
        total += answered;
        closed += closes;
    }
    assert!(
        closed >= 12,
        "every reader was told to reconnect ({closed} closes of {total})"
    );
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("still running 30 s after SIGTERM");
    };
    assert!(status.success(), "{status}");
}
