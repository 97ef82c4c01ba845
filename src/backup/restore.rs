//! `cdt-api restore` (the embedded cluster from a backup, to its newest state or to a moment) and
//! `cdt-api backup --verify` (a backup recovered to its point in a throwaway cluster and compared with
//! the figures its manifest recorded from the source).

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::Bool};

use super::{Backup, DirectoryLock, FileSum, Manifest, TableSum, hash_files, list, progress_bar};
use crate::{
    config::Settings,
    db::embedded::{self, EmbeddedOptions, EmbeddedPostgres},
};

/// What to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    /// A backup by name; default: the newest (before `to`, when given).
    pub backup: Option<String>,
    /// Recover to this moment (transactions committed after it are not restored); default: everything
    /// the backup and the WAL archive hold.
    pub to: Option<DateTime<Utc>>,
    /// Move an existing cluster aside (`postgres.before-restore-<time>`) instead of refusing.
    pub replace: bool,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup used.
    pub backup: String,
    /// The cluster directory now in place.
    pub pgdata: PathBuf,
    /// Where the cluster that was there before went.
    pub replaced: Option<PathBuf>,
    /// The commit time of the last transaction recovered, as PostgreSQL logged it.
    pub last_transaction: Option<String>,
}

/// The secret files of the data directory kept with an embedded backup (`secrets/`): the database
/// password (the restored cluster's roles have it), the JWT key and the webhook key (webhook secrets in
/// the database are sealed with it).
pub const SECRET_FILES: [&str; 3] = ["postgres.password", "jwt-secret", "webhook-key"];

/// Picks the backup to restore: by name, else the newest whose point is at or before `to`, else the
/// newest.
pub fn choose(backups: &[Backup], request: &RestoreRequest) -> anyhow::Result<Backup> {
    if let Some(name) = &request.backup {
        let found = backups
            .iter()
            .find(|b| &b.manifest.name == name)
            .ok_or_else(|| anyhow!("there is no backup named {name}"))?;
        if let Some(to) = request.to
            && found.manifest.consistent_at > to
        {
            bail!(
                "backup {name} holds the database as of {}, after --to {}; choose an older backup",
                found
                    .manifest
                    .consistent_at
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
                to.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
        }
        return Ok(found.clone());
    }
    let newest = backups
        .last()
        .ok_or_else(|| anyhow!("there is no backup yet"))?;
    match request.to {
        None => Ok(newest.clone()),
        Some(to) => backups
            .iter()
            .rev()
            .find(|b| b.manifest.consistent_at <= to)
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "the oldest backup holds the database as of {}; nothing before it can be recovered \
                     (--to {})",
                    backups[0].manifest.consistent_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    to.to_rfc3339_opts(SecondsFormat::Secs, true)
                )
            }),
    }
}

/// Checks every file of the backup against its manifest (size and SHA-256); names the first that differs.
pub fn check_files(backup: &Backup) -> anyhow::Result<()> {
    let found = hash_files(&backup.dir, &["data", "wal", "secrets"])?;
    let expected: std::collections::BTreeMap<&str, &FileSum> = backup
        .manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let actual: std::collections::BTreeMap<&str, &FileSum> =
        found.iter().map(|f| (f.path.as_str(), f)).collect();
    for (path, file) in &expected {
        match actual.get(path) {
            None => bail!("backup {}: {path} is missing", backup.manifest.name),
            Some(got) if got.sha256 != file.sha256 || got.bytes != file.bytes => bail!(
                "backup {}: {path} differs from its manifest ({} bytes, SHA-256 {} instead of {} bytes, {})",
                backup.manifest.name,
                got.bytes,
                got.sha256,
                file.bytes,
                file.sha256
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = actual.keys().find(|path| !expected.contains_key(*path)) {
        bail!(
            "backup {}: {extra} is not in its manifest",
            backup.manifest.name
        );
    }
    Ok(())
}

/// `cdt-api restore` for the embedded cluster: into `<CDT_DATA_DIR>/postgres.restoring`, recovered
/// (archived WAL first, then the backup's own), promoted, stopped, then swapped into place. A failed
/// restore leaves the existing cluster untouched.
pub fn restore_embedded(settings: &Settings, request: &RestoreRequest) -> anyhow::Result<Restored> {
    let config = &settings.backups;
    let _lock = DirectoryLock::acquire(config)?;
    let options = super::embedded_options(settings);
    let pgdata = settings.data_dir.join("postgres");
    let bindir = embedded::find_bindir(settings.pg_bindir.as_deref())?;
    let run_as_postgres = rustix::process::geteuid().is_root();
    if embedded::cluster_running(&bindir, run_as_postgres, &pgdata)? {
        bail!(
            "the embedded PostgreSQL in {} is running: stop cdt-api (and anything using it) first",
            pgdata.display()
        );
    }
    let existing = pgdata.join("PG_VERSION").exists();
    if existing && !request.replace {
        bail!(
            "{} already holds a database; add --replace to move it aside (it is kept, renamed) and \
             restore in its place",
            pgdata.display()
        );
    }
    let backup = choose(&list(config)?, request)?;
    tracing::info!(backup = %backup.manifest.name, "checking the backup's files against its manifest");
    check_files(&backup)?;

    let target = settings.data_dir.join("postgres.restoring");
    if target.exists() {
        fs::remove_dir_all(&target).with_context(|| format!("deleting {}", target.display()))?;
    }
    materialize(&backup, &target, run_as_postgres)?;
    // The restored roles have the backup's password.
    let password = fs::read_to_string(backup.dir.join("secrets/postgres.password"))
        .ok()
        .map(|p| p.trim().to_owned());

    let archive = options.archive.as_ref().map(|a| a.dir.as_path());
    let mut recovery = vec![(
        "restore_command".to_owned(),
        restore_command(archive, &backup),
    )];
    if let Some(to) = request.to {
        recovery.push(("recovery_target_time".to_owned(), postgres_time(to)));
        recovery.push(("recovery_target_action".to_owned(), "promote".to_owned()));
    }
    tracing::info!(backup = %backup.manifest.name, to = ?request.to, "recovering");
    let recovered = (|| {
        let mut server = EmbeddedPostgres::start_recovery(&options, &target, password, recovery)?;
        wait_for_promotion(&server, &server.url_for("postgres"))?;
        let last_transaction = last_transaction(&server.log_tail(64 * 1024));
        server.stop()?;
        anyhow::Ok(last_transaction)
    })();
    let _ = fs::remove_file(format!("{}.owner", target.display()));
    let last_transaction = match recovered {
        Ok(last) => last,
        Err(error) => {
            let _ = fs::remove_dir_all(&target);
            return Err(error);
        }
    };

    let replaced = if existing {
        let aside = settings.data_dir.join(format!(
            "postgres.before-restore-{}",
            Utc::now().format(super::NAME_FORMAT)
        ));
        fs::rename(&pgdata, &aside)
            .with_context(|| format!("moving {} aside", pgdata.display()))?;
        Some(aside)
    } else {
        if pgdata.exists() {
            fs::remove_dir_all(&pgdata)?;
        }
        None
    };
    fs::rename(&target, &pgdata)
        .with_context(|| format!("moving the restored cluster to {}", pgdata.display()))?;
    restore_secrets(&backup, &settings.data_dir)?;
    Ok(Restored {
        backup: backup.manifest.name,
        pgdata,
        replaced,
        last_transaction,
    })
}

/// What `cdt-api restore` prints for a database it does not run (`DATABASE_URL`): the steps, with this
/// backup's real paths, to run on the database host.
pub fn external_instructions(
    settings: &Settings,
    request: &RestoreRequest,
) -> anyhow::Result<String> {
    let backup = choose(&list(&settings.backups)?, request)?;
    check_files(&backup)?;
    let dir = backup.dir.display();
    let target = match request.to {
        Some(to) => format!(
            "recovery_target_time = '{}'\nrecovery_target_action = 'promote'\n",
            postgres_time(to)
        ),
        None => String::new(),
    };
    Ok(format!(
        "cdt-api does not run the PostgreSQL of DATABASE_URL, so it does not restore it itself.\n\
         Backup {name} ({source}, PostgreSQL {version}, database as of {at}) is verified intact.\n\
         On the database host, as the server's system user:\n\n\
         1. Stop PostgreSQL and every cdt-api instance.\n\
         2. Move the data directory aside (keep it until the restore is checked):\n   \
            mv \"$PGDATA\" \"$PGDATA.before-restore\"\n\
         3. Copy the backup's files into an empty data directory (mode 0700):\n   \
            cp -a \"{dir}/data\" \"$PGDATA\"\n\
         4. Tell PostgreSQL to recover, reading WAL from the backup (and from your WAL archive, if you \
         keep one, first):\n   \
            touch \"$PGDATA/recovery.signal\"\n   \
            cat >> \"$PGDATA/postgresql.auto.conf\" <<'EOF'\n\
         restore_command = 'cp \"{dir}/wal/%f\" \"%p\"'\n{target}EOF\n\
         5. Start PostgreSQL; it recovers, then accepts writes (SELECT pg_is_in_recovery() returns false).\n\
         6. Remove restore_command{targets} from postgresql.auto.conf, start cdt-api and check \
         GET /readyz.\n",
        name = backup.manifest.name,
        source = backup.manifest.source,
        version = backup.manifest.server_version,
        at = backup
            .manifest
            .consistent_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        targets = if request.to.is_some() {
            " and the recovery_target lines"
        } else {
            ""
        },
    ))
}

/// A backup recovered to its point in a throwaway cluster (deleted when dropped).
#[derive(Debug)]
pub struct Throwaway {
    server: EmbeddedPostgres,
    socket: PathBuf,
    /// The backup recovered.
    pub manifest: Manifest,
}

impl Throwaway {
    /// Recovers `backup` (files checked first) to its restore point in a new cluster under
    /// `BACKUP_DIR/.verify-<name>-<pid>`, reachable only through a Unix socket in that directory.
    pub fn recover(settings: &Settings, backup: &Backup) -> anyhow::Result<Self> {
        tracing::info!(backup = %backup.manifest.name, "checking the backup's files against its manifest");
        check_files(backup)?;
        let run_as_postgres = rustix::process::geteuid().is_root();
        let dir = settings.backups.dir.join(format!(
            ".verify-{}-{}",
            backup.manifest.name,
            std::process::id()
        ));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        embedded::prepare_private_directory(&dir, run_as_postgres)?;
        let pgdata = dir.join("postgres");
        let socket = dir.join("socket");
        embedded::prepare_private_directory(&socket, run_as_postgres)?;
        materialize(backup, &pgdata, run_as_postgres)?;
        // The source's configuration may name libraries or paths this machine lacks (an external
        // server's), and its authentication is not ours: a minimal configuration, trust on the socket.
        fs::write(pgdata.join("postgresql.conf"), "")?;
        fs::write(pgdata.join("postgresql.auto.conf"), "")?;
        fs::write(pgdata.join("pg_hba.conf"), "local all all trust\n")?;
        let options = EmbeddedOptions {
            data_dir: dir.clone(),
            database: backup.manifest.database.clone(),
            bindir: settings.pg_bindir.clone(),
            ephemeral: true,
            archive: None,
        };
        let settings = vec![
            ("restore_command".to_owned(), restore_command(None, backup)),
            (
                "recovery_target_name".to_owned(),
                backup.manifest.name.clone(),
            ),
            ("recovery_target_action".to_owned(), "promote".to_owned()),
            ("listen_addresses".to_owned(), String::new()),
            (
                "unix_socket_directories".to_owned(),
                socket.display().to_string(),
            ),
        ];
        tracing::info!(backup = %backup.manifest.name, "recovering a throwaway copy to the backup's point");
        let server = EmbeddedPostgres::start_recovery(&options, &pgdata, None, settings)?;
        let throwaway = Self {
            server,
            socket,
            manifest: backup.manifest.clone(),
        };
        wait_for_promotion(
            &throwaway.server,
            &throwaway.url(&throwaway.manifest.database),
        )?;
        Ok(throwaway)
    }

    /// A connection URL (over the socket, as the backup's role) to `database`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@/{database}?host={}&port={}",
            self.manifest.role,
            self.socket.display(),
            self.server.port()
        )
    }

    /// A connection to the service's database in the copy.
    pub fn connect(&self) -> anyhow::Result<PgConnection> {
        let mut conn = PgConnection::establish(&self.url(&self.manifest.database))
            .context("connecting to the throwaway copy")?;
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "SET statement_timeout = 0",
        )?;
        Ok(conn)
    }
}

/// One table whose figures differ between the copy and the backup's point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `schema.table`.
    pub table: String,
    /// What the manifest recorded from the source (`None`: the table was not there).
    pub expected: Option<TableSum>,
    /// What the copy holds (`None`: the table is missing).
    pub found: Option<TableSum>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |sum: &Option<TableSum>| match sum {
            Some(sum) => format!("{} rows, checksum {}", sum.rows, sum.checksum),
            None => "no such table".to_owned(),
        };
        write!(
            f,
            "{}: {} at the backup's point, {} in the restored copy",
            self.table,
            show(&self.expected),
            show(&self.found)
        )
    }
}

/// The tables whose row count or checksum in `found` differs from `expected`.
pub fn compare(expected: &[TableSum], found: &[TableSum]) -> Vec<Mismatch> {
    let mut names: Vec<&str> = expected
        .iter()
        .chain(found)
        .map(|t| t.table.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let e = expected.iter().find(|t| t.table == name).cloned();
            let f = found.iter().find(|t| t.table == name).cloned();
            (e != f).then(|| Mismatch {
                table: name.to_owned(),
                expected: e,
                found: f,
            })
        })
        .collect()
}

/// What `backup --verify` found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The backup verified.
    pub backup: String,
    /// Tables compared.
    pub tables: usize,
    /// Rows compared.
    pub rows: i64,
    /// Tables that differ (empty: the backup restores to exactly the source at its point).
    pub mismatches: Vec<Mismatch>,
}

/// `cdt-api backup --verify [--name]`: the backup (default the newest) recovered to its point in a
/// throwaway cluster, every table counted and checksummed and compared with the manifest.
pub fn verify(settings: &Settings, name: Option<&str>) -> anyhow::Result<Verified> {
    let backups = list(&settings.backups)?;
    let backup = choose(
        &backups,
        &RestoreRequest {
            backup: name.map(str::to_owned),
            ..RestoreRequest::default()
        },
    )?;
    let throwaway = Throwaway::recover(settings, &backup)?;
    let mut conn = throwaway.connect()?;
    tracing::info!(backup = %backup.manifest.name, "counting and checksumming every table of the copy");
    let found = super::table_sums(&mut conn, true)?;
    let mismatches = compare(&backup.manifest.tables, &found);
    Ok(Verified {
        backup: backup.manifest.name.clone(),
        tables: found.len(),
        rows: found.iter().map(|t| t.rows).sum(),
        mismatches,
    })
}

/// The `restore_command` of a recovery from `backup`: a segment from the WAL archive (gzip) when there is
/// one and it holds it, else from the backup's own `wal/`; failing for a file neither has (which ends
/// recovery there).
fn restore_command(archive: Option<&Path>, backup: &Backup) -> String {
    let from_backup = format!(
        "if [ -f \"{0}/%f\" ]; then cp \"{0}/%f\" \"%p\"; else exit 1; fi",
        backup.dir.join("wal").display()
    );
    match archive {
        Some(archive) => format!(
            "if [ -f \"{0}/%f.gz\" ]; then gzip -dc \"{0}/%f.gz\" > \"%p\"; el{from_backup}",
            archive.display()
        ),
        None => from_backup,
    }
}

/// Copies the backup's `data/` into `target` (mode 0700, owned by `postgres` when root runs
/// PostgreSQL as that user) and asks for recovery (`recovery.signal`).
fn materialize(backup: &Backup, target: &Path, run_as_postgres: bool) -> anyhow::Result<()> {
    let source = backup.dir.join("data");
    let total = backup
        .manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("data/"))
        .map(|f| f.bytes)
        .sum();
    let bar = progress_bar(true, total, "bytes");
    copy_tree(&source, target, &bar)?;
    bar.finish_and_clear();
    fs::write(target.join("recovery.signal"), "")?;
    // The source's log and pid file are not the copy's.
    let _ = fs::remove_file(target.join("postmaster.pid"));
    let _ = fs::remove_file(target.join("server.log"));
    fs::set_permissions(target, fs::Permissions::from_mode(0o700))?;
    if run_as_postgres {
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(target)
            .status()
            .context("running chown")?;
        if !status.success() {
            bail!("chown -R postgres {} failed", target.display());
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, bar: &indicatif::ProgressBar) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let destination = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &destination, bar)?;
        } else if kind.is_file() {
            let bytes = fs::copy(entry.path(), &destination)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            bar.inc(bytes);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &destination)?;
        }
    }
    Ok(())
}

/// Puts the backup's secret files into the data directory (the restored database goes with them: its
/// roles' password, webhook secrets sealed with its key); a different file there is kept beside it as
/// `<name>.before-restore`.
fn restore_secrets(backup: &Backup, data_dir: &Path) -> anyhow::Result<()> {
    for name in SECRET_FILES {
        let from = backup.dir.join("secrets").join(name);
        let to = data_dir.join(name);
        if !from.is_file() {
            continue;
        }
        let wanted = fs::read(&from)?;
        match fs::read(&to) {
            Ok(current) if current == wanted => continue,
            Ok(_) => fs::rename(&to, data_dir.join(format!("{name}.before-restore")))?,
            Err(_) => {}
        }
        fs::write(&to, wanted).with_context(|| format!("restoring {}", to.display()))?;
        fs::set_permissions(&to, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Waits until the recovering server has promoted (left recovery); fails with its log when it stops
/// instead (the archive ended before the recovery target, a missing WAL file).
fn wait_for_promotion(server: &EmbeddedPostgres, url: &str) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Recovering {
        #[diesel(sql_type = Bool)]
        recovering: bool,
    }
    let spinner = progress_bar(true, 0, "");
    loop {
        if !server.is_running() {
            spinner.finish_and_clear();
            bail!(
                "recovery stopped without reaching its target; nothing was replaced. The server's log:\n{}",
                server.log_tail(3000)
            );
        }
        let conn = PgConnection::establish(url);
        if let Err(diesel::ConnectionError::BadConnection(message)) = &conn
            && message.contains("authentication failed")
        {
            spinner.finish_and_clear();
            bail!("the recovering copy refused the password: {message}");
        }
        if let Ok(mut conn) = conn
            && let Ok(state) = sql_query("SELECT pg_is_in_recovery() AS recovering")
                .get_result::<Recovering>(&mut conn)
            && !state.recovering
        {
            spinner.finish_and_clear();
            return Ok(());
        }
        spinner.tick();
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A moment as PostgreSQL's recovery settings read it (`2026-12-07 14:03:00.123456+00`).
fn postgres_time(moment: DateTime<Utc>) -> String {
    moment.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// "last completed transaction was at log time …" from a recovery's log, when it says so.
fn last_transaction(log: &str) -> Option<String> {
    log.lines().rev().find_map(|line| {
        line.split("last completed transaction was at log time ")
            .nth(1)
            .map(|time| time.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(table: &str, rows: i64, checksum: &str) -> TableSum {
        TableSum {
            table: table.to_owned(),
            rows,
            checksum: checksum.to_owned(),
        }
    }

    #[test]
    fn compare_names_changed_missing_and_extra_tables() {
        let expected = [
            sum("public.a", 1, "10"),
            sum("public.b", 2, "20"),
            sum("public.c", 0, "0"),
        ];
        let found = [
            sum("public.a", 1, "10"),
            sum("public.b", 2, "21"),
            sum("public.d", 0, "0"),
        ];
        let names: Vec<String> = compare(&expected, &found)
            .into_iter()
            .map(|m| m.table)
            .collect();
        assert_eq!(names, ["public.b", "public.c", "public.d"]);
        assert!(compare(&expected, &expected).is_empty());
    }

    #[test]
    fn the_last_recovered_transaction_is_read_from_the_log() {
        let log = "LOG:  recovery stopping before commit of transaction 745\n\
                   LOG:  last completed transaction was at log time 2026-12-07 22:01:02.5+00\n";
        assert_eq!(
            last_transaction(log).as_deref(),
            Some("2026-12-07 22:01:02.5+00")
        );
    }
}
