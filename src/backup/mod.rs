//! Physical backups with a manifest, continuous WAL archiving, retention, restore (also to a point in
//! time) and verification by restoring (issue 22).
//!
//! `BACKUP_DIR` holds:
//! - `base/<name>/`: one backup per directory, named by its UTC start (`20261207T020000Z`):
//!   `data/` (`pg_basebackup -Fp -X stream`: the cluster's files with the WAL the copy needs),
//!   `wal/` (the WAL from the copy's end to the backup's restore point, streamed with `pg_receivewal`
//!   from the replication slot the copy used), and `manifest.json`, written last (a directory without
//!   it is an unfinished backup, deleted by the next run).
//! - `wal/`: the embedded cluster's continuous WAL archive (`archive_command`, gzip), for recovery to
//!   any moment after the oldest kept backup.
//!
//! **The backup's point.** After the copy, every table is locked `SHARE` (writers wait, readers do not)
//! for the few milliseconds it takes to export a snapshot and write a named restore point into the WAL;
//! the locks are released at once. The snapshot is then used to count and checksum every table, so the
//! manifest records the database exactly as it is at the restore point: `--verify` recovers a copy to
//! that point and must find the same figures, however busy the source was.

pub mod restore;
pub mod schedule;

use std::{
    fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use diesel::{
    Connection, OptionalExtension, PgConnection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_query,
    sql_types::{BigInt, Bool, Nullable, Text, Timestamptz},
};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    config::{BackupConfig, Settings},
    db::embedded::{self, EmbeddedOptions, EmbeddedPostgres, WalArchive},
};

/// Version of `manifest.json`'s layout.
pub const MANIFEST_FORMAT: u32 = 1;
/// Prefix of the replication slots backups use (a slot left by a crashed run is dropped by the next).
const SLOT_PREFIX: &str = "cdt_backup_";
/// Name of a backup (and of its restore point): its UTC start.
const NAME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// What `manifest.json` says about one backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The directory name (UTC start, `YYYYMMDDTHHMMSSZ`), also the restore point's name.
    pub name: String,
    /// `embedded` or the source's URL without its password.
    pub source: String,
    /// The database the service uses.
    pub database: String,
    /// The role the backup connected as (a superuser or a role with REPLICATION).
    pub role: String,
    /// `SHOW server_version` of the source.
    pub server_version: String,
    /// `server_version_num` (150018 for 15.18); a restore needs the same major version.
    pub server_version_num: i32,
    /// The newest applied migration.
    pub migration: Option<String>,
    /// When the copy started.
    pub started_at: DateTime<Utc>,
    /// The backup's point: the moment of its restore point (the state the tables' figures describe).
    pub consistent_at: DateTime<Utc>,
    /// When the manifest was written.
    pub finished_at: DateTime<Utc>,
    /// The first WAL segment the backup needs (archived WAL before it can be pruned).
    pub start_wal: String,
    /// The restore point's WAL position.
    pub restore_point_lsn: String,
    /// Bytes of every file.
    pub bytes: u64,
    /// Every file of `data/`, `wal/` and `secrets/` with its size and SHA-256.
    pub files: Vec<FileSum>,
    /// Every table of the `public` schema at the backup's point.
    pub tables: Vec<TableSum>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    /// Path inside the backup's directory (`data/base/5/16384`, `wal/0000000100000000000000A1`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Row count and content checksum of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, QueryableByName)]
pub struct TableSum {
    /// `schema.table`, quoted as needed.
    #[diesel(sql_type = Text)]
    pub table: String,
    /// Rows.
    #[diesel(sql_type = BigInt)]
    pub rows: i64,
    /// The sum of a 64-bit hash of every row's text form (independent of the rows' order).
    #[diesel(sql_type = Text)]
    pub checksum: String,
}

/// A backup on disk.
#[derive(Debug, Clone)]
pub struct Backup {
    /// `BACKUP_DIR/base/<name>`.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The database a backup is taken from and the programs that take it.
#[derive(Debug, Clone)]
pub struct Source {
    url: SecretString,
    bindir: PathBuf,
    run_as_postgres: bool,
    /// The embedded data directory (`None`: `DATABASE_URL`), whose secret files go with each backup.
    secrets: Option<PathBuf>,
}

impl Source {
    /// The embedded cluster (started by, or attached to, `embedded`).
    pub fn embedded(embedded: &EmbeddedPostgres) -> Self {
        Self {
            url: embedded.database_url(),
            bindir: embedded.bindir().to_owned(),
            run_as_postgres: embedded.runs_as_postgres(),
            secrets: Some(embedded.data_dir().to_owned()),
        }
    }

    /// `DATABASE_URL`; the PostgreSQL programs are looked up as for the embedded database and, as for
    /// it, run as the `postgres` user when this process is root (so that user, which runs the throwaway
    /// cluster of `--verify`, owns every backup file).
    pub fn external(url: &SecretString, settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            url: url.clone(),
            bindir: embedded::find_bindir(settings.pg_bindir.as_deref())?,
            run_as_postgres: rustix::process::geteuid().is_root(),
            secrets: None,
        })
    }

    /// A PostgreSQL program connecting to the source: the URL without its password in `-d`, the
    /// password in `PGPASSWORD` (never on a command line other users can read).
    fn program(&self, name: &str) -> Command {
        let mut command = embedded::pg_program(&self.bindir, self.run_as_postgres, name);
        let (url, password) = split_password(self.url.expose_secret());
        command.arg("-d").arg(url);
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
        command.stdin(Stdio::null());
        command
    }

    fn connect(&self) -> anyhow::Result<PgConnection> {
        let mut conn = PgConnection::establish(self.url.expose_secret())
            .context("connecting to the database to back up")?;
        // Checksumming a large table may take longer than the service's statement timeout.
        conn.batch_execute("SET statement_timeout = 0; SET lock_timeout = '10s'")?;
        Ok(conn)
    }

    /// What the manifest shows as the source: `embedded`, or the URL without its password.
    fn describe(&self) -> String {
        if self.secrets.is_some() {
            "embedded".to_owned()
        } else {
            split_password(self.url.expose_secret()).0
        }
    }
}

/// `url` without the password, and the password (percent-decoded).
fn split_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let password = parsed.password().map(|p| {
                url::form_urlencoded::parse(format!("p={p}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            });
            let _ = parsed.set_password(None);
            (parsed.to_string(), password)
        }
        // Multi-host URLs (`host1:5432,host2:5432`) are not URLs to the `url` crate; libpq reads them.
        Err(_) => (url.to_owned(), None),
    }
}

/// The archive settings of the embedded cluster under `settings` (`None`: archiving off).
pub fn wal_archive(settings: &Settings) -> Option<WalArchive> {
    settings.backups.wal_archive.then(|| WalArchive {
        dir: settings.backups.dir.join("wal"),
        timeout: settings.backups.archive_timeout,
    })
}

/// The embedded cluster's options under `settings`.
pub fn embedded_options(settings: &Settings) -> EmbeddedOptions {
    EmbeddedOptions {
        data_dir: settings.data_dir.clone(),
        database: crate::startup::EMBEDDED_DATABASE.to_owned(),
        bindir: settings.pg_bindir.clone(),
        ephemeral: false,
        archive: wal_archive(settings),
    }
}

/// Every finished backup in `config.dir`, oldest first.
pub fn list(config: &BackupConfig) -> anyhow::Result<Vec<Backup>> {
    let base = config.dir.join("base");
    let mut backups = Vec::new();
    let entries = match fs::read_dir(&base) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(backups),
        Err(error) => return Err(error).with_context(|| format!("reading {}", base.display())),
    };
    for entry in entries {
        let dir = entry?.path();
        let path = dir.join("manifest.json");
        if !path.is_file() {
            continue;
        }
        let manifest: Manifest = serde_json::from_slice(
            &fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a backup manifest", path.display()))?;
        backups.push(Backup { dir, manifest });
    }
    backups.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    Ok(backups)
}

/// Holds `BACKUP_DIR/.lock` (an exclusive `flock`): one backup, prune or restore at a time per directory.
#[derive(Debug)]
pub struct DirectoryLock {
    _file: fs::File,
}

impl DirectoryLock {
    /// Takes the lock, or fails at once naming what holds it.
    pub fn acquire(config: &BackupConfig) -> anyhow::Result<Self> {
        fs::create_dir_all(&config.dir)
            .with_context(|| format!("creating {}", config.dir.display()))?;
        let path = config.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(fs::TryLockError::WouldBlock) => bail!(
                "another backup, prune or restore is running on {} (it holds {})",
                config.dir.display(),
                path.display()
            ),
            Err(fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

/// What a backup run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The backup written.
    pub backup: Backup,
    /// Backups deleted by the retention rule.
    pub pruned: Vec<String>,
}

/// `cdt-api backup`: copies the source with `pg_basebackup`, marks and measures the backup's point,
/// streams the WAL up to it, writes the manifest, then applies `BACKUP_RETAIN`.
pub fn take(config: &BackupConfig, source: &Source) -> anyhow::Result<Outcome> {
    let _lock = DirectoryLock::acquire(config)?;
    let base = config.dir.join("base");
    embedded::prepare_private_directory(&config.dir, source.run_as_postgres)?;
    embedded::prepare_private_directory(&base, source.run_as_postgres)?;
    remove_unfinished(&base)?;
    remove_abandoned_verifications(&config.dir);

    let mut conn = source.connect()?;
    drop_stale_slots(&mut conn)?;
    let about = About::read(&mut conn)?;
    let started_at = Utc::now();
    let name = started_at.format(NAME_FORMAT).to_string();
    let dir = base.join(format!("{name}.partial"));
    embedded::prepare_private_directory(&dir, source.run_as_postgres)?;
    let slot = format!("{SLOT_PREFIX}{}", name.to_ascii_lowercase());
    sql_query("SELECT 1 FROM pg_create_physical_replication_slot($1, true)")
        .bind::<Text, _>(&slot)
        .execute(&mut conn)
        .context("creating the backup's replication slot (the role needs REPLICATION)")?;
    let result = (|| {
        tracing::info!(backup = %name, "copying the cluster (pg_basebackup)");
        run(source
            .program("pg_basebackup")
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-F", "p", "-X", "stream", "-c", "fast", "-S", &slot])
            .args(progress_flag()))
        .context("pg_basebackup")?;
        tracing::info!(backup = %name, "marking the backup's point");
        let (point, mut snapshot) = mark_point(source, &mut conn, &name)?;
        tracing::info!(backup = %name, lsn = %point.lsn, "streaming the WAL up to the backup's point");
        let wal = dir.join("wal");
        embedded::prepare_private_directory(&wal, source.run_as_postgres)?;
        run(source.program("pg_receivewal").arg("-D").arg(&wal).args([
            "-S",
            &slot,
            "-E",
            &point.lsn,
            "--no-loop",
        ]))
        .context("pg_receivewal")?;
        complete_partial_segments(&wal)?;
        tracing::info!(backup = %name, "counting and checksumming every table at the backup's point");
        let tables = table_sums(&mut snapshot, true)?;
        snapshot.batch_execute("COMMIT")?;
        Ok::<_, anyhow::Error>((point, tables))
    })();
    let dropped = sql_query("SELECT pg_drop_replication_slot($1)")
        .bind::<Text, _>(&slot)
        .execute(&mut conn);
    let (point, tables) = result?;
    dropped.context("dropping the backup's replication slot")?;

    if let Some(data_dir) = &source.secrets {
        copy_secrets(data_dir, &dir.join("secrets"))?;
    }
    tracing::info!(backup = %name, "hashing the backup's files");
    let files = hash_files(&dir, &["data", "wal", "secrets"])?;
    let start_wal = start_wal(&dir.join("data"))?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        name: name.clone(),
        source: source.describe(),
        database: about.database,
        role: about.role,
        server_version: about.server_version,
        server_version_num: about.server_version_num,
        migration: about.migration,
        started_at,
        consistent_at: point.at,
        finished_at: Utc::now(),
        start_wal,
        restore_point_lsn: point.lsn,
        bytes: files.iter().map(|f| f.bytes).sum(),
        files,
        tables,
    };
    write_durably(
        &dir.join("manifest.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    let finished = base.join(&name);
    fs::rename(&dir, &finished).with_context(|| format!("naming {}", finished.display()))?;
    sync_directory(&base);
    let pruned = prune_locked(config, source)?;
    Ok(Outcome {
        backup: Backup {
            dir: finished,
            manifest,
        },
        pruned,
    })
}

/// `BACKUP_RETAIN`: deletes all but the newest backups, then the archived WAL older than what the
/// oldest kept backup needs (`pg_archivecleanup`). Returns the names deleted. The caller holds the lock.
fn prune_locked(config: &BackupConfig, source: &Source) -> anyhow::Result<Vec<String>> {
    let backups = list(config)?;
    let excess = backups.len().saturating_sub(config.retain as usize);
    let mut pruned = Vec::new();
    for backup in &backups[..excess] {
        fs::remove_dir_all(&backup.dir)
            .with_context(|| format!("deleting {}", backup.dir.display()))?;
        tracing::info!(backup = %backup.manifest.name, "backup past BACKUP_RETAIN deleted");
        pruned.push(backup.manifest.name.clone());
    }
    let archive = config.dir.join("wal");
    if let Some(oldest) = backups.get(excess)
        && archive.is_dir()
    {
        run(
            embedded::pg_program(&source.bindir, source.run_as_postgres, "pg_archivecleanup")
                .args(["-x", ".gz"])
                .arg(&archive)
                .arg(&oldest.manifest.start_wal),
        )
        .context("pg_archivecleanup")?;
    }
    Ok(pruned)
}

/// Facts about the source recorded in the manifest.
struct About {
    database: String,
    role: String,
    server_version: String,
    server_version_num: i32,
    migration: Option<String>,
}

impl About {
    fn read(conn: &mut PgConnection) -> anyhow::Result<Self> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            database: String,
            #[diesel(sql_type = Text)]
            role: String,
            #[diesel(sql_type = Text)]
            version: String,
            #[diesel(sql_type = Text)]
            version_num: String,
            #[diesel(sql_type = Nullable<Text>)]
            migration: Option<String>,
        }
        let row: Row = sql_query(
            "SELECT current_database()::text AS database, current_user::text AS role, \
             current_setting('server_version') AS version, \
             current_setting('server_version_num') AS version_num, \
             (SELECT max(version) FROM __diesel_schema_migrations)::text AS migration",
        )
        .get_result(conn)
        .context("reading the source's version and migration level")?;
        Ok(Self {
            database: row.database,
            role: row.role,
            server_version: row.version,
            server_version_num: row.version_num.parse().unwrap_or(0),
            migration: row.migration,
        })
    }
}

/// The backup's point: a named restore point written while every table is locked against writes.
struct Point {
    lsn: String,
    at: DateTime<Utc>,
}

/// Locks every table of `public` in SHARE mode (writers wait, readers do not), exports a snapshot,
/// writes the restore point `name`, and releases the locks at once. Returns the point and a second
/// connection inside the exported snapshot (a repeatable-read transaction to commit when done), which
/// sees exactly what recovery to the restore point will hold.
fn mark_point(
    source: &Source,
    conn: &mut PgConnection,
    name: &str,
) -> anyhow::Result<(Point, PgConnection)> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Marked {
        #[diesel(sql_type = Text)]
        lsn: String,
        #[diesel(sql_type = Timestamptz)]
        at: DateTime<Utc>,
    }
    let tables: Vec<Name> = sql_query(
        "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables \
         WHERE schemaname = 'public' ORDER BY 1",
    )
    .load(conn)?;
    let list = tables
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut snapshot = source.connect()?;
    // A writer holding one table and waiting for another can deadlock with the lock statement; try
    // again a few times (each try waits at most lock_timeout).
    let mut attempt = 0;
    let (point, snapshot_id) = loop {
        attempt += 1;
        conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")?;
        let locked = conn.batch_execute(&format!("LOCK TABLE {list} IN SHARE MODE"));
        if let Err(error) = locked {
            conn.batch_execute("ROLLBACK")?;
            if attempt < 5 {
                tracing::warn!(error = %error, attempt, "tables not locked for the backup's point; trying again");
                std::thread::sleep(Duration::from_millis(200 * attempt));
                continue;
            }
            return Err(error).context("locking the tables for the backup's point");
        }
        let snapshot_id: Name =
            sql_query("SELECT pg_export_snapshot() AS name").get_result(conn)?;
        let marked: Marked =
            sql_query("SELECT pg_create_restore_point($1)::text AS lsn, clock_timestamp() AS at")
                .bind::<Text, _>(name)
                .get_result(conn)
                .context("writing the restore point (the role needs to be a superuser)")?;
        break (marked, snapshot_id.name);
    };
    let imported = snapshot
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            snapshot_id.replace('\'', "")
        ))
        .context("importing the backup's snapshot");
    conn.batch_execute("COMMIT")?;
    imported?;
    // The restore point must reach the disk before pg_receivewal can stream up to it.
    sql_query("SELECT pg_switch_wal()")
        .execute(conn)
        .context("closing the WAL segment of the backup's point")?;
    Ok((
        Point {
            lsn: point.lsn,
            at: point.at,
        },
        snapshot,
    ))
}

/// Row count and checksum of every table of `public`, as `conn` sees them.
pub fn table_sums(conn: &mut PgConnection, show_progress: bool) -> anyhow::Result<Vec<TableSum>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let tables: Vec<Name> = sql_query(
        "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables \
         WHERE schemaname = 'public' ORDER BY 1",
    )
    .load(conn)?;
    let bar = progress_bar(show_progress, tables.len() as u64, "tables");
    let mut sums = Vec::with_capacity(tables.len());
    for table in tables {
        bar.set_message(table.name.clone());
        let sum: TableSum = sql_query(format!(
            "SELECT $1 AS \"table\", count(*) AS rows, \
             coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS checksum FROM {} t",
            table.name
        ))
        .bind::<Text, _>(&table.name)
        .get_result(conn)
        .with_context(|| format!("checksumming {}", table.name))?;
        sums.push(sum);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(sums)
}

/// Size and SHA-256 of every file under `dir`'s `parts`, streamed (a progress bar counts the bytes).
pub fn hash_files(dir: &Path, parts: &[&str]) -> anyhow::Result<Vec<FileSum>> {
    let mut paths = Vec::new();
    for part in parts {
        collect_files(&dir.join(part), &mut paths)?;
    }
    paths.sort();
    let total = paths
        .iter()
        .map(|p| p.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = progress_bar(true, total, "bytes");
    let mut sums = Vec::with_capacity(paths.len());
    let mut buffer = vec![0u8; 1 << 16];
    for path in paths {
        let mut file =
            fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            bytes += read as u64;
            bar.inc(read as u64);
        }
        let relative = path
            .strip_prefix(dir)
            .map_err(|_| anyhow!("{} is outside the backup", path.display()))?;
        sums.push(FileSum {
            path: relative.to_string_lossy().into_owned(),
            bytes,
            sha256: crate::secret_file::hex(&hasher.finalize()),
        });
    }
    bar.finish_and_clear();
    Ok(sums)
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(&entry.path(), into)?;
        } else if kind.is_file() {
            into.push(entry.path());
        }
    }
    Ok(())
}

/// Copies the data directory's secret files ([`restore::SECRET_FILES`]) into `into` (mode 0600).
fn copy_secrets(data_dir: &Path, into: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(into)?;
    fs::set_permissions(into, fs::Permissions::from_mode(0o700))?;
    for name in restore::SECRET_FILES {
        let from = data_dir.join(name);
        if from.is_file() {
            let to = into.join(name);
            fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
            fs::set_permissions(&to, fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// The first WAL segment the copy needs, from its `backup_label`
/// (`START WAL LOCATION: 0/2000028 (file 000000010000000000000002)`).
fn start_wal(data: &Path) -> anyhow::Result<String> {
    let label = fs::read_to_string(data.join("backup_label")).context("reading backup_label")?;
    label
        .lines()
        .find_map(|line| line.strip_prefix("START WAL LOCATION: "))
        .and_then(|rest| rest.split("(file ").nth(1))
        .map(|rest| rest.trim_end_matches(')').trim().to_owned())
        .ok_or_else(|| anyhow!("backup_label has no START WAL LOCATION"))
}

/// `pg_receivewal` leaves the segment it stopped in as `<name>.partial`; its WAL up to the backup's
/// point is complete, so it is kept under the segment's name for recovery to read.
fn complete_partial_segments(wal: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(wal)? {
        let path = entry?.path();
        if let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".partial"))
        {
            fs::rename(&path, wal.join(name))?;
        }
    }
    Ok(())
}

/// Deletes what a crashed run left: `base/*.partial` directories.
fn remove_unfinished(base: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(base)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "partial") {
            tracing::warn!(path = %path.display(), "deleting an unfinished backup");
            fs::remove_dir_all(&path).with_context(|| format!("deleting {}", path.display()))?;
        }
    }
    Ok(())
}

/// Deletes `BACKUP_DIR/.verify-<name>-<pid>` directories whose process is gone (a verification that was
/// killed before it could delete its throwaway cluster).
fn remove_abandoned_verifications(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(".verify-")
            .and_then(|rest| rest.rsplit('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            tracing::warn!(path = %entry.path().display(), "deleting an abandoned verification");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Drops inactive replication slots of earlier backup runs (a crashed run's slot would keep WAL forever).
fn drop_stale_slots(conn: &mut PgConnection) -> anyhow::Result<()> {
    sql_query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE slot_name LIKE $1 AND NOT active",
    )
    .bind::<Text, _>(format!("{SLOT_PREFIX}%"))
    .execute(conn)
    .context("dropping replication slots left by earlier backups")?;
    Ok(())
}

/// Runs `command`, with its output passed through (pg_basebackup's progress) when stderr is a terminal;
/// fails with its stderr otherwise.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{}",
            String::from_utf8_lossy(&output.stderr)
                .trim()
                .lines()
                .filter(|line| !line.contains(" kB ("))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// `-P` (pg_basebackup's own progress report) when someone watches a terminal.
fn progress_flag() -> Vec<&'static str> {
    if io::IsTerminal::is_terminal(&io::stderr()) {
        vec!["-P"]
    } else {
        Vec::new()
    }
}

/// A progress bar on stderr (drawn only on a terminal).
pub fn progress_bar(show: bool, total: u64, unit: &str) -> ProgressBar {
    if !show || !io::IsTerminal::is_terminal(&io::stderr()) {
        return ProgressBar::hidden();
    }
    let template = if unit == "bytes" {
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}"
    } else {
        "{bar:40} {pos}/{len} {msg}"
    };
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Writes `bytes` to `path` through a temporary file, fsynced, then renamed.
fn write_durably(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut file =
        fs::File::create(&temporary).with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    if let Some(parent) = path.parent() {
        sync_directory(parent);
    }
    Ok(())
}

fn sync_directory(dir: &Path) {
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// One row of `backup_runs`.
#[derive(Debug, Clone, QueryableByName)]
pub struct Run {
    /// The backup's name when one was written.
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    /// When it finished.
    #[diesel(sql_type = Timestamptz)]
    pub finished_at: DateTime<Utc>,
    /// Whether a backup was written (and, when verified, matched).
    #[diesel(sql_type = Bool)]
    pub succeeded: bool,
    /// Why not.
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
}

/// What a run records in `backup_runs`.
#[derive(Debug)]
pub struct RunRecord<'a> {
    /// `command` or `schedule`.
    pub trigger: &'a str,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The backup written, if any.
    pub backup: Option<&'a Manifest>,
    /// Whether it was verified and matched (`None`: not verified).
    pub verified: Option<bool>,
    /// The error, for a failed run.
    pub error: Option<String>,
}

/// Records a run in `backup_runs`.
pub fn record_run(conn: &mut PgConnection, run: &RunRecord) -> anyhow::Result<()> {
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    sql_query(
        "INSERT INTO backup_runs (name, trigger, started_at, finished_at, succeeded, verified, bytes, \
         error, host) VALUES ($1, $2, $3, now(), $4, $5, $6, $7, $8)",
    )
    .bind::<Nullable<Text>, _>(run.backup.map(|m| m.name.clone()))
    .bind::<Text, _>(run.trigger)
    .bind::<Timestamptz, _>(run.started_at)
    .bind::<Bool, _>(run.error.is_none())
    .bind::<Nullable<Bool>, _>(run.verified)
    .bind::<Nullable<BigInt>, _>(run.backup.map(|m| i64::try_from(m.bytes).unwrap_or(i64::MAX)))
    .bind::<Nullable<Text>, _>(run.error.as_deref())
    .bind::<Text, _>(host)
    .execute(conn)
    .context("recording the backup run")?;
    Ok(())
}

/// The newest successful run and the newest run, from `backup_runs`.
pub fn last_runs(conn: &mut PgConnection) -> anyhow::Result<(Option<Run>, Option<Run>)> {
    let success = sql_query(
        "SELECT name, finished_at, succeeded, error FROM backup_runs WHERE succeeded \
         ORDER BY finished_at DESC LIMIT 1",
    )
    .get_result::<Run>(conn)
    .optional()?;
    let last = sql_query(
        "SELECT name, finished_at, succeeded, error FROM backup_runs ORDER BY finished_at DESC LIMIT 1",
    )
    .get_result::<Run>(conn)
    .optional()?;
    Ok((success, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_pgpassword() {
        let (url, password) = split_password("postgres://cdt:p%40ss@db:5432/cdt?sslmode=require");
        assert_eq!(url, "postgres://cdt@db:5432/cdt?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss"));
        let (url, password) = split_password("postgres://cdt@db/cdt");
        assert_eq!(url, "postgres://cdt@db/cdt");
        assert_eq!(password, None);
    }

    #[test]
    fn the_start_segment_is_read_from_backup_label() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("backup_label"),
            "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\n",
        )
        .unwrap();
        assert_eq!(start_wal(dir.path()).unwrap(), "000000010000000000000002");
    }
}
