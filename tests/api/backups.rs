//! Backups, restores and their proof, through the binary on real clusters (issue 22): backup, wipe,
//! restore, identical checksums; `--verify` catching a difference; recovery to a moment between two
//! imports; retention; the server's schedule with its figures in `/metrics` and `/readyz`.

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::{Duration, Instant},
};

use cdt_api::{
    backup::{self, restore},
    config::Settings,
    db::embedded::EmbeddedPostgres,
};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::Text};
use secrecy::ExposeSecret;

use crate::binary::{cdt_api, serve_embedded, sigterm, wait_with_patience};

/// A data directory and, as on another disk, a backup directory.
struct Installation {
    data: tempfile::TempDir,
    backups: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Installation {
    fn new(env: &[(&'static str, &str)]) -> Self {
        let data = tempfile::Builder::new()
            .prefix("cdt-backup-data-")
            .tempdir()
            .unwrap();
        let backups = tempfile::Builder::new()
            .prefix("cdt-backup-dir-")
            .tempdir()
            .unwrap();
        let mut all = vec![
            ("WAL_ARCHIVE", "on".to_owned()),
            ("WAL_ARCHIVE_TIMEOUT_SECONDS", "1".to_owned()),
            ("PASSWORD_HASH_MEMORY_KIB", "1024".to_owned()),
            ("PASSWORD_HASH_ITERATIONS", "1".to_owned()),
            ("CDT_ADMIN_PASSWORD", crate::helpers::PASSWORD.to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Self {
            data,
            backups,
            env: all,
        }
    }

    fn data_dir(&self) -> &Path {
        self.data.path()
    }

    fn env(&self) -> Vec<(&str, String)> {
        let mut env = vec![
            ("CDT_DATA_DIR", self.data_dir().display().to_string()),
            ("BACKUP_DIR", self.backups.path().display().to_string()),
        ];
        env.extend(self.env.iter().cloned());
        env
    }

    fn try_run(&self, args: &[&str]) -> Output {
        cdt_api().args(args).envs(self.env()).output().unwrap()
    }

    /// Runs `cdt-api <args>`; fails the test unless it succeeds. Returns stdout.
    fn run(&self, args: &[&str]) -> String {
        let output = self.try_run(args);
        assert!(
            output.status.success(),
            "cdt-api {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn settings(&self) -> Settings {
        let env = self.env();
        Settings::from_lookup(|name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap()
    }

    fn backups(&self) -> Vec<backup::Backup> {
        backup::list(&self.settings().backups).unwrap()
    }

    /// Starts the embedded cluster (as `cdt-api` would), runs `work` on the service's database, stops it.
    fn with_database<T>(&self, work: impl FnOnce(&mut PgConnection) -> T) -> T {
        let mut server =
            EmbeddedPostgres::start(&backup::embedded_options(&self.settings())).unwrap();
        let result = {
            let mut conn = PgConnection::establish(server.database_url().expose_secret()).unwrap();
            work(&mut conn)
        };
        server.stop().unwrap();
        result
    }

    /// Deletes the cluster and every file of the data directory, as a dead disk would.
    fn lose_the_disk(&self) {
        for entry in std::fs::read_dir(self.data_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }

    fn archived_segments(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.backups.path().join("wal"))
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.len() == 27 && n.ends_with(".gz"))
            .map(|n| n.trim_end_matches(".gz").to_owned())
            .collect();
        names.sort();
        names
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn usernames(conn: &mut PgConnection) -> Vec<String> {
    sql_query("SELECT username AS name FROM users ORDER BY username")
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

fn team_codes(conn: &mut PgConnection) -> Vec<String> {
    sql_query("SELECT code AS name FROM teams ORDER BY code")
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

/// The version of the newest migration in `migrations/` (`2026-12-09-000000_x` is `20261209000000`).
fn newest_migration() -> String {
    let mut names: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    names.sort();
    names
        .last()
        .unwrap()
        .split('_')
        .next()
        .unwrap()
        .replace('-', "")
}

#[test]
fn a_backup_restores_after_the_disk_is_lost_with_identical_tables() {
    let site = Installation::new(&[]);
    site.run(&["seed", "son-la"]);
    site.run(&["create-admin", "--username", "quantri"]);
    let out = site.run(&["backup"]);
    assert!(out.starts_with("backup "), "{out}");
    let backups = site.backups();
    assert_eq!(backups.len(), 1);
    let manifest = backups[0].manifest.clone();
    assert_eq!(manifest.format, backup::MANIFEST_FORMAT);
    assert_eq!(manifest.source, "embedded");
    assert!(manifest.server_version_num >= 150_000);
    assert_eq!(manifest.migration, Some(newest_migration()));
    let units = manifest
        .tables
        .iter()
        .find(|t| t.table == "public.org_units")
        .unwrap();
    assert_eq!(units.rows, 288);
    assert!(manifest.files.iter().any(|f| f.path == "data/PG_VERSION"));
    assert!(
        manifest
            .files
            .iter()
            .any(|f| f.path == "secrets/postgres.password")
    );
    assert!(manifest.files.iter().all(|f| f.sha256.len() == 64));
    // A write after the backup's point, then the disk dies.
    site.run(&["create-admin", "--username", "thuky"]);
    site.lose_the_disk();

    let to = manifest.consistent_at.to_rfc3339();
    let out = site.run(&["restore", "--to", &to]);
    assert!(
        out.contains(&format!("restored backup {}", manifest.name)),
        "{out}"
    );
    let (sums, users) =
        site.with_database(|conn| (backup::table_sums(conn, false).unwrap(), usernames(conn)));
    assert_eq!(restore::compare(&manifest.tables, &sums), vec![]);
    assert_eq!(users, ["quantri"]);
}

#[test]
fn verify_proves_a_backup_and_names_the_table_or_file_that_differs() {
    let site = Installation::new(&[]);
    site.run(&["seed", "son-la"]);
    site.run(&["backup"]);
    let out = site.run(&["backup", "--verify"]);
    assert!(out.contains("verified"), "{out}");
    assert!(out.contains("identical"), "{out}");

    // A table changed in the restored copy is named.
    let newest = site.backups().pop().unwrap();
    let settings = site.settings();
    let throwaway = restore::Throwaway::recover(&settings, &newest).unwrap();
    let mut conn = throwaway.connect().unwrap();
    sql_query("DELETE FROM org_unit_successions WHERE ctid = (SELECT min(ctid) FROM org_unit_successions)")
        .execute(&mut conn)
        .unwrap();
    let sums = backup::table_sums(&mut conn, false).unwrap();
    let mismatches = restore::compare(&newest.manifest.tables, &sums);
    // The table, and the change counter its trigger bumps.
    assert_eq!(
        mismatches
            .iter()
            .map(|m| m.table.as_str())
            .collect::<Vec<_>>(),
        ["public.cdt_versions", "public.org_unit_successions"]
    );
    assert_eq!(
        mismatches[1].found.as_ref().unwrap().rows + 1,
        mismatches[1].expected.as_ref().unwrap().rows
    );
    drop(conn);
    drop(throwaway);

    // The binary exits non-zero naming the table when the copy and the recorded point differ.
    let manifest_path = newest.dir.join("manifest.json");
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&original).unwrap();
    for table in manifest["tables"].as_array_mut().unwrap() {
        if table["table"] == "public.org_units" {
            table["rows"] = serde_json::json!(table["rows"].as_i64().unwrap() + 1);
        }
    }
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let failed = site.try_run(&["backup", "--verify"]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("public.org_units"), "{stderr}");
    assert!(stderr.contains("288 rows"), "{stderr}");
    std::fs::write(&manifest_path, original).unwrap();

    // A damaged file is named before anything is restored.
    let version = newest.dir.join("data/PG_VERSION");
    let mut text = std::fs::read_to_string(&version).unwrap();
    text.push('\n');
    std::fs::write(&version, text).unwrap();
    let failed = site.try_run(&["backup", "--verify"]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("data/PG_VERSION differs"), "{stderr}");
}

async fn import_teams(client: &reqwest::Client, base: &str, token: &str, csv: &str) {
    let response = client
        .post(format!("{base}/api/v1/imports/teams"))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: serde_json::Value = response.json().await.unwrap();
    assert_eq!(result["committed"], true, "{result}");
}

#[actix_web::test]
async fn a_restore_to_a_moment_between_two_imports_holds_the_first_and_not_the_second() {
    let site = Installation::new(&[]);
    site.run(&["seed", "son-la"]);
    site.run(&["create-admin", "--username", "quantri"]);
    site.run(&["backup"]);

    let env = site.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (mut server, port) = serve_embedded(&[], site.data_dir(), &env, Duration::from_secs(60));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let (status, session) = crate::binary::sign_in(&client, &base, crate::helpers::PASSWORD).await;
    assert_eq!(status, 200);
    let token = session["access_token"].as_str().unwrap().to_owned();
    let header = "code,name,org_unit_code\n";
    import_teams(
        &client,
        &base,
        &token,
        &format!("{header}VH-001,Tổ công nghệ số xã Vân Hồ,son-la.xa-van-ho\n"),
    )
    .await;
    std::thread::sleep(Duration::from_millis(1500));
    let between = chrono::Utc::now();
    std::thread::sleep(Duration::from_millis(1500));
    import_teams(
        &client,
        &base,
        &token,
        &format!("{header}CM-001,Tổ công nghệ số xã Chiềng Mung,son-la.xa-chieng-mung\n"),
    )
    .await;
    // A backup taken beside the running server (as cron would) uses its cluster and leaves it running.
    site.run(&["backup"]);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(site.backups().len(), 2);
    sigterm(&server);
    assert!(wait_with_patience(&mut server, Duration::from_secs(60)).is_some());

    // Without --replace an existing cluster is never overwritten.
    let refused = site.try_run(&["restore", "--to", &between.to_rfc3339()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--replace"));

    let out = site.run(&["restore", "--to", &between.to_rfc3339(), "--replace"]);
    assert!(out.contains("previous cluster is kept"), "{out}");
    // From the first backup: the second one's point is after the moment asked for.
    assert!(
        out.contains(&format!(
            "restored backup {}",
            site.backups()[0].manifest.name
        )),
        "{out}"
    );
    let codes = site.with_database(team_codes);
    assert_eq!(codes, ["VH-001"]);
    let kept: Vec<PathBuf> = std::fs::read_dir(site.data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("postgres.before-restore-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
}

#[test]
fn retention_keeps_the_newest_backups_and_the_wal_they_need() {
    let site = Installation::new(&[("BACKUP_RETAIN", "2")]);
    site.run(&["migrate"]);
    site.run(&["backup"]);
    site.run(&["create-admin", "--username", "motmot"]);
    std::thread::sleep(Duration::from_millis(1100));
    site.run(&["backup"]);
    site.run(&["create-admin", "--username", "haihai"]);
    std::thread::sleep(Duration::from_millis(1100));
    let first = site.backups()[0].manifest.clone();
    let out = site.run(&["backup"]);
    assert!(
        out.contains(&format!("deleted (BACKUP_RETAIN=2): {}", first.name)),
        "{out}"
    );
    site.run(&["create-admin", "--username", "baba"]);

    let kept = site.backups();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|b| b.manifest.name != first.name));
    let oldest = &kept[0].manifest;
    let segments = site.archived_segments();
    // Nothing before the oldest kept backup's first segment is left; that segment and all after are.
    assert!(first.start_wal < oldest.start_wal);
    assert!(
        segments.iter().all(|s| s[8..] >= oldest.start_wal[8..]),
        "{segments:?} vs {}",
        oldest.start_wal
    );
    assert!(segments.contains(&oldest.start_wal), "{segments:?}");

    // The oldest kept backup still recovers to the newest state: everything it needs is there.
    site.lose_the_disk();
    site.run(&["restore", "--backup", &oldest.name]);
    let users = site.with_database(usernames);
    assert_eq!(users, ["baba", "haihai", "motmot"]);
}

#[actix_web::test]
async fn the_server_takes_the_scheduled_backup_and_reports_it_in_metrics_and_readyz() {
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let due = (chrono::Utc::now().with_timezone(&vietnam) - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string();
    let token = "backup-metrics-token-0123456789";
    let site = Installation::new(&[
        ("BACKUP_SCHEDULE", due.as_str()),
        ("BACKUP_VERIFY", "on"),
        ("METRICS_TOKEN", token),
    ]);
    let env = site.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (mut server, port) = serve_embedded(&[], site.data_dir(), &env, Duration::from_secs(60));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let readiness = loop {
        let body: serde_json::Value = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["backup"]["status"] == "ok" || Instant::now() > deadline {
            break body;
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(readiness["backup"]["status"], "ok", "{readiness}");
    assert_eq!(readiness["backup"]["schedule"], due.as_str());
    assert!(readiness["backup"]["age_seconds"].as_i64().unwrap() < 120);
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let age: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cdt_backup_last_success_age_seconds "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((0..120).contains(&age), "{age}");
    assert!(
        metrics.lines().any(|l| l == "cdt_backup_last_run_failed 0"),
        "{metrics}"
    );
    let url = crate::binary::embedded_database_url(site.data_dir());
    let mut conn = PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct RunRow {
        #[diesel(sql_type = Text)]
        trigger: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
        verified: Option<bool>,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        succeeded: bool,
    }
    let runs: Vec<RunRow> = sql_query("SELECT trigger, verified, succeeded FROM backup_runs")
        .load(&mut conn)
        .unwrap();
    assert_eq!(runs.len(), 1, "one run, however many ticks");
    assert_eq!(runs[0].trigger, "schedule");
    assert!(runs[0].succeeded);
    assert_eq!(runs[0].verified, Some(true));
    assert_eq!(site.backups().len(), 1);
    drop(conn);
    sigterm(&server);
    assert!(wait_with_patience(&mut server, Duration::from_secs(60)).is_some());
}

#[test]
fn an_external_database_is_backed_up_and_verified_and_restore_prints_the_steps() {
    // A server of its own (not the shared test cluster: a base backup copies every database in it).
    let server_dir = tempfile::Builder::new()
        .prefix("cdt-backup-external-")
        .tempdir()
        .unwrap();
    let mut server = EmbeddedPostgres::start(&cdt_api::db::embedded::EmbeddedOptions {
        data_dir: server_dir.path().to_owned(),
        database: "cdt".to_owned(),
        bindir: None,
        ephemeral: true,
        archive: None,
    })
    .unwrap();
    let url = server.database_url().expose_secret().to_owned();
    let site = Installation::new(&[("DATABASE_URL", url.as_str())]);
    site.run(&["seed", "son-la"]);
    let out = site.run(&["backup"]);
    assert!(out.starts_with("backup "), "{out}");
    let manifest = site.backups().pop().unwrap().manifest;
    // The source is named without its password.
    assert!(
        manifest.source.starts_with("postgres://cdt@127.0.0.1:"),
        "{}",
        manifest.source
    );
    let password = url.split('@').next().unwrap().rsplit(':').next().unwrap();
    assert!(password.len() >= 16 && !manifest.source.contains(password));
    assert!(
        manifest
            .files
            .iter()
            .all(|f| !f.path.starts_with("secrets/"))
    );
    let out = site.run(&["backup", "--verify"]);
    assert!(out.contains("verified"), "{out}");

    let out = site.run(&["restore", "--to", "2099-01-01 00:00"]);
    assert!(out.contains("does not restore it itself"), "{out}");
    assert!(out.contains(&format!("Backup {}", manifest.name)), "{out}");
    assert!(out.contains("recovery.signal"), "{out}");
    assert!(
        out.contains("recovery_target_time = '2098-12-31 17:00:00.000000+00'"),
        "{out}"
    );
    server.stop().unwrap();
}
