//! A private PostgreSQL started from the server binaries installed on the machine.
//!
//! Used by `cdt-api serve`/`migrate` when `DATABASE_URL` is not set, and by the test harness (with
//! `ephemeral`, one throwaway cluster per test run). The cluster lives in a directory of its own,
//! listens only on a free loopback port (no Unix socket), and requires a password that is generated once
//! and kept beside it (mode 0600). PostgreSQL refuses to run as root, so when the service runs as root
//! every PostgreSQL program is run as the `postgres` system user through `runuser`, on a data directory
//! that user owns.
//!
//! The cluster is stopped by [`EmbeddedPostgres::stop`] (also on drop). A small watchdog process stops
//! it too if this process dies without stopping it (a crash, `kill -9`), so no PostgreSQL is left
//! behind; for an ephemeral cluster it also deletes the directory.

use std::{
    fs,
    io::{self, Read},
    net::TcpListener,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use secrecy::SecretString;

/// PostgreSQL role that owns the embedded cluster.
const SUPERUSER: &str = "cdt";

/// How to launch an embedded PostgreSQL.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Directory holding the cluster (`<dir>/postgres`) and its password.
    pub data_dir: PathBuf,
    /// The database to create (if missing) and connect to.
    pub database: String,
    /// Where the server binaries are, when known (`PG_BINDIR`); otherwise they are looked up.
    pub bindir: Option<PathBuf>,
    /// A throwaway cluster: durability off (fsync, synchronous commit, full-page writes) for speed,
    /// and its directory deleted when it stops.
    pub ephemeral: bool,
    /// Continuous WAL archiving for point-in-time recovery (`None`: off).
    pub archive: Option<WalArchive>,
}

/// Where and how often the embedded cluster archives its write-ahead log.
#[derive(Debug, Clone)]
pub struct WalArchive {
    /// Directory receiving every finished WAL segment and timeline history file, gzip-compressed
    /// (`<name>.gz`); `BACKUP_DIR/wal`.
    pub dir: PathBuf,
    /// `archive_timeout`: a segment with changes is archived at the latest after this long (the RPO).
    pub timeout: Duration,
}

impl WalArchive {
    /// The `archive_command`: gzip into `<dir>/<name>.gz.part`, fsync, then rename, so a file with the
    /// final name is always complete; a segment archived before (after a crash between the rename and
    /// PostgreSQL noting it) succeeds if identical and fails loudly if not.
    pub fn archive_command(&self) -> String {
        let dir = self.dir.display();
        format!(
            "f=\"{dir}/%f.gz\"; if [ -f \"$f\" ]; then gzip -dc \"$f\" | cmp -s - \"%p\"; exit $?; fi; \
             gzip -c \"%p\" > \"$f.part\" && sync \"$f.part\" && mv \"$f.part\" \"$f\""
        )
    }
}

/// A running embedded PostgreSQL.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bindir: PathBuf,
    data_dir: PathBuf,
    pgdata: PathBuf,
    port: u16,
    password: String,
    database: String,
    run_as_postgres: bool,
    ephemeral: bool,
    archive: Option<WalArchive>,
    /// `-c name=value` settings of this launch only (recovery settings of a restore).
    settings: Vec<(String, String)>,
    watchdog: Option<Child>,
    running: bool,
    /// Started (or taken over) by this process, so stopped by it; `false` when attached to a cluster
    /// that a running `cdt-api` (the server, while a maintenance command runs) owns.
    owned: bool,
}

impl EmbeddedPostgres {
    /// Initialises the cluster when it does not exist yet, starts it on a free loopback port and creates
    /// the database. Blocking; call it before the async runtime or on the blocking pool.
    pub fn start(options: &EmbeddedOptions) -> anyhow::Result<Self> {
        let bindir = find_bindir(options.bindir.as_deref())?;
        let run_as_postgres = rustix::process::geteuid().is_root();
        let data_dir = options.data_dir.clone();
        let pgdata = data_dir.join("postgres");

        prepare_directories(&data_dir, &pgdata, run_as_postgres)?;
        let password = crate::secret_file::read_or_create(&data_dir.join("postgres.password"), 24)?;
        if let Some(archive) = &options.archive {
            prepare_private_directory(&archive.dir, run_as_postgres)?;
        }

        let mut server = Self {
            bindir,
            data_dir,
            pgdata,
            port: 0,
            password,
            database: options.database.clone(),
            run_as_postgres,
            ephemeral: options.ephemeral,
            archive: options.archive.clone(),
            settings: Vec::new(),
            watchdog: None,
            running: false,
            owned: true,
        };
        if !server.pgdata.join("PG_VERSION").exists() {
            server.initdb()?;
        } else {
            server.check_major_version()?;
        }
        server.launch()?;
        server.create_database()?;
        Ok(server)
    }

    /// Starts a streaming standby of this cluster in `data_dir` (`pg_basebackup -R`, then the same
    /// launcher on another free loopback port): a local read replica for trying `READ_DATABASE_URL`,
    /// and for its tests. Ephemeral like this cluster when this cluster is.
    pub fn start_standby(&self, data_dir: &Path) -> anyhow::Result<Self> {
        let pgdata = data_dir.join("postgres");
        prepare_directories(data_dir, &pgdata, self.run_as_postgres)?;
        if !pgdata.join("PG_VERSION").exists() {
            let output = self
                .pg_command("pg_basebackup")
                .arg("-D")
                .arg(&pgdata)
                .args([
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    SUPERUSER,
                ])
                .args(["-p", &self.port.to_string()])
                .env("PGPASSWORD", &self.password)
                .stdin(Stdio::null())
                .output()
                .context("running pg_basebackup")?;
            if !output.status.success() {
                bail!(
                    "pg_basebackup failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            // The copy carries the primary's pid file and log; the standby starts clean.
            let _ = fs::remove_file(pgdata.join("postmaster.pid"));
            let _ = fs::remove_file(pgdata.join("server.log"));
        }
        let mut standby = Self {
            bindir: self.bindir.clone(),
            data_dir: data_dir.to_owned(),
            pgdata,
            port: 0,
            password: self.password.clone(),
            database: self.database.clone(),
            run_as_postgres: self.run_as_postgres,
            ephemeral: self.ephemeral,
            archive: None,
            settings: Vec::new(),
            watchdog: None,
            running: false,
            owned: true,
        };
        standby.launch()?;
        Ok(standby)
    }

    /// Starts the cluster in `pgdata` (a restored backup holding `recovery.signal`) with `settings`
    /// (`restore_command`, the recovery target) given for this launch only, on a free loopback port,
    /// with `options`' password, archive and durability. Values must not hold a single quote.
    pub fn start_recovery(
        options: &EmbeddedOptions,
        pgdata: &Path,
        password: Option<String>,
        settings: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let run_as_postgres = rustix::process::geteuid().is_root();
        if settings.iter().any(|(_, value)| value.contains('\'')) {
            bail!("a recovery setting holds a single quote");
        }
        let mut server = Self {
            bindir: find_bindir(options.bindir.as_deref())?,
            data_dir: options.data_dir.clone(),
            pgdata: pgdata.to_owned(),
            port: 0,
            password: match password {
                Some(password) => password,
                None => crate::secret_file::read_or_create(
                    &options.data_dir.join("postgres.password"),
                    24,
                )?,
            },
            database: options.database.clone(),
            run_as_postgres,
            ephemeral: options.ephemeral,
            archive: options.archive.clone(),
            settings,
            watchdog: None,
            running: false,
            owned: true,
        };
        server.check_major_version()?;
        server.launch()?;
        Ok(server)
    }

    /// The directory holding the cluster, its password and the service's other secrets.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory of the server binaries in use.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Whether PostgreSQL programs run as the `postgres` system user (this process runs as root).
    pub fn runs_as_postgres(&self) -> bool {
        self.run_as_postgres
    }

    /// The last `max_bytes` of the server's log.
    pub fn log_tail(&self, max_bytes: usize) -> String {
        tail_of_file(&self.pgdata.join("server.log"), max_bytes)
    }

    /// Whether the postmaster still runs.
    pub fn is_running(&self) -> bool {
        self.running_postmaster().ok().flatten().is_some()
    }

    /// URL of the service's database, with the password.
    pub fn database_url(&self) -> SecretString {
        SecretString::from(self.url_for(&self.database))
    }

    /// URL of another database of the same cluster (`postgres` for administration).
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// Stops the server (fast shutdown: open sessions are ended, committed data is kept) and, for an
    /// ephemeral cluster, deletes its directory.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if !self.running {
            return Ok(());
        }
        if !self.owned {
            // The cluster of a running `cdt-api`: it stays up for its owner.
            self.running = false;
            return Ok(());
        }
        if self.archive.is_some() {
            // The segment in progress goes to the archive too (the archiver's last round at shutdown
            // takes it), so the archive holds everything up to the stop.
            self.switch_wal();
        }
        self.shut_down(if self.ephemeral { "immediate" } else { "fast" })?;
        if self.ephemeral {
            fs::remove_dir_all(&self.data_dir)
                .with_context(|| format!("removing {}", self.data_dir.display()))?;
        }
        Ok(())
    }

    fn pg_command(&self, program: &str) -> Command {
        pg_program(&self.bindir, self.run_as_postgres, program)
    }

    /// `pg_switch_wal()`, best effort (a cluster in recovery or unreachable is left as it is).
    fn switch_wal(&self) {
        let url = self.url_for("postgres");
        if let Ok(mut conn) = PgConnection::establish(&url) {
            let _ = sql_query("SELECT pg_switch_wal()").execute(&mut conn);
        }
    }

    fn initdb(&self) -> anyhow::Result<()> {
        let pwfile = self.data_dir.join("initdb-password");
        fs::write(&pwfile, &self.password).context("writing the initdb password file")?;
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))?;
        if self.run_as_postgres {
            chown_to_postgres(&pwfile)?;
        }
        let mut command = self.pg_command("initdb");
        command
            .arg("-D")
            .arg(&self.pgdata)
            .args([
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        if self.ephemeral {
            command.arg("--no-sync");
        }
        let output = command.output().context("running initdb")?;
        let _ = fs::remove_file(&pwfile);
        if !output.status.success() {
            bail!(
                "initdb failed for {}: {}",
                self.pgdata.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn check_major_version(&self) -> anyhow::Result<()> {
        let cluster = fs::read_to_string(self.pgdata.join("PG_VERSION")).unwrap_or_default();
        let cluster = cluster.trim();
        let output = self
            .pg_command("pg_ctl")
            .arg("--version")
            .output()
            .context("running pg_ctl --version")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let binaries = text
            .split_whitespace()
            .last()
            .and_then(|version| version.split('.').next())
            .unwrap_or("");
        if cluster != binaries {
            bail!(
                "the database in {} was created by PostgreSQL {cluster}, but the binaries in {} are \
                 PostgreSQL {binaries}; set PG_BINDIR to PostgreSQL {cluster}'s bin directory or use another \
                 CDT_DATA_DIR",
                self.pgdata.display(),
                self.bindir.display()
            );
        }
        Ok(())
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let pgdata = self.pgdata.display().to_string();
        if let Some(pid) = self.running_postmaster()? {
            self.port = read_postmaster_port(&self.pgdata)
                .ok_or_else(|| anyhow!("cannot read the port of the running server (pid {pid})"))?;
            if let Some(owner) = self.live_owner() {
                // A running `cdt-api` (the server) owns it: use it, leave it running, no watchdog.
                tracing::info!(
                    owner,
                    port = self.port,
                    "using the embedded PostgreSQL of the running cdt-api"
                );
                self.running = true;
                self.owned = false;
                return Ok(());
            }
            // A previous run died without stopping its server: take it over.
            tracing::warn!(
                pid,
                port = self.port,
                "adopting an embedded PostgreSQL left running by an earlier run"
            );
        } else {
            // A new server gets a free port; one resumed after an interruption keeps its own.
            if self.port == 0 {
                self.port = free_loopback_port()?;
            }
            let mut options = format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
                self.port
            );
            if self.ephemeral {
                options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
                options.push_str(" -c max_connections=300");
            }
            if let Some(archive) = &self.archive {
                // wal_recycle off: a segment switched early by archive_timeout ends in zeros (a
                // recycled one would end in old WAL), so it compresses to a few kilobytes.
                options.push_str(&format!(
                    " -c archive_mode=on -c archive_timeout={} -c wal_recycle=off -c archive_command='{}'",
                    archive.timeout.as_secs().max(1),
                    archive.archive_command()
                ));
            }
            for (name, value) in &self.settings {
                options.push_str(&format!(" -c {name}='{value}'"));
            }
            let log = self.pgdata.join("server.log").display().to_string();
            let output = self
                .pg_command("pg_ctl")
                .args([
                    "-D", &pgdata, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
                ])
                .stdin(Stdio::null())
                .output()
                .context("running pg_ctl start")?;
            if !output.status.success() {
                bail!(
                    "PostgreSQL did not start: {}\n{}",
                    String::from_utf8_lossy(&output.stderr).trim(),
                    tail_of_file(&self.pgdata.join("server.log"), 2000)
                );
            }
        }
        self.running = true;
        self.owned = true;
        let postmaster_pid = self
            .running_postmaster()?
            .ok_or_else(|| anyhow!("PostgreSQL exited right after starting"))?;
        self.watchdog = Some(self.spawn_watchdog(postmaster_pid)?);
        let _ = fs::write(self.owner_file(), std::process::id().to_string());
        Ok(())
    }

    /// `<pgdata>.owner`: the pid of the `cdt-api` that started the cluster.
    fn owner_file(&self) -> PathBuf {
        PathBuf::from(format!("{}.owner", self.pgdata.display()))
    }

    /// The pid of another live `cdt-api` process that started the running cluster, if any.
    fn live_owner(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.owner_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if pid == std::process::id() {
            return None;
        }
        let name = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (name.trim() == "cdt-api").then_some(pid)
    }

    /// An outage: stops the server (fast shutdown, so open sessions are cut as in a crash of the
    /// database host) but keeps its data and port for [`EmbeddedPostgres::resume`].
    pub fn interrupt(&mut self) -> anyhow::Result<()> {
        if self.running {
            self.shut_down("fast")?;
        }
        Ok(())
    }

    /// Starts the server again after [`EmbeddedPostgres::interrupt`], on the same port.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        if !self.running {
            self.launch()?;
        }
        Ok(())
    }

    fn shut_down(&mut self, mode: &str) -> anyhow::Result<()> {
        self.running = false;
        if let Some(mut watchdog) = self.watchdog.take() {
            // Ignore errors: the watchdog may already be gone.
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let pgdata = self.pgdata.display().to_string();
        let output = self
            .pg_command("pg_ctl")
            .args(["-D", &pgdata, "-m", mode, "-w", "-t", "60", "stop"])
            .output()
            .context("running pg_ctl stop")?;
        if !output.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The postmaster's pid when a server is running on this data directory.
    fn running_postmaster(&self) -> anyhow::Result<Option<u32>> {
        let pid_file = self.pgdata.join("postmaster.pid");
        if !pid_file.exists() {
            return Ok(None);
        }
        let pgdata = self.pgdata.display().to_string();
        let status = self
            .pg_command("pg_ctl")
            .args(["-D", &pgdata, "status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running pg_ctl status")?;
        if !status.success() {
            return Ok(None);
        }
        Ok(fs::read_to_string(&pid_file).ok().and_then(|text| {
            text.lines()
                .next()
                .and_then(|line| line.trim().parse().ok())
        }))
    }

    /// Starts a process that waits for this one to end, then shuts the postmaster down (and for an
    /// ephemeral cluster, deletes its directory). It runs in its own process group so that Ctrl-C in
    /// a terminal does not kill it before it can do its job.
    fn spawn_watchdog(&self, postmaster_pid: u32) -> anyhow::Result<Child> {
        const SCRIPT: &str = r#"
parent=$1; postmaster=$2; signal=$3; remove=$4
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
kill -"$signal" "$postmaster" 2>/dev/null
if [ -n "$remove" ]; then
  while kill -0 "$postmaster" 2>/dev/null; do sleep 0.2; done
  rm -rf "$remove"
fi
"#;
        let (signal, remove) = if self.ephemeral {
            ("QUIT", self.data_dir.display().to_string())
        } else {
            ("INT", String::new())
        };
        Command::new("sh")
            .args(["-c", SCRIPT, "cdt-api-postgres-watchdog"])
            .arg(std::process::id().to_string())
            .arg(postmaster_pid.to_string())
            .arg(signal)
            .arg(remove)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting the PostgreSQL watchdog")
    }

    fn create_database(&self) -> anyhow::Result<()> {
        let admin_url = self.url_for("postgres");
        let mut conn = connect_with_retry(&admin_url, Duration::from_secs(10))?;
        let exists: i64 = sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&self.database)
            .get_result::<Count>(&mut conn)
            .map(|row| row.count)?;
        if exists == 0 {
            sql_query(format!(
                "CREATE DATABASE \"{}\"",
                self.database.replace('"', "")
            ))
            .execute(&mut conn)
            .with_context(|| format!("creating database {}", self.database))?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::error!(error = %format!("{error:#}"), "could not stop the embedded PostgreSQL");
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// Connects, retrying for up to `patience` (a server that just started may still refuse for a moment).
pub fn connect_with_retry(url: &str, patience: Duration) -> anyhow::Result<PgConnection> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match PgConnection::establish(url) {
            Ok(conn) => return Ok(conn),
            Err(error) if std::time::Instant::now() >= deadline => {
                return Err(anyhow!(error).context("connecting to the embedded PostgreSQL"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Finds a directory holding `initdb` and `pg_ctl`: `PG_BINDIR`, then `pg_config --bindir`, then `PATH`,
/// then the usual install locations (Debian's `/usr/lib/postgresql/<major>/bin`, Homebrew's).
pub fn find_bindir(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = configured {
        if has_server(dir) {
            return Ok(dir.to_path_buf());
        }
        bail!(
            "PG_BINDIR={} does not contain initdb and pg_ctl",
            dir.display()
        );
    }
    let mut candidates = Vec::new();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    for root in [
        "/usr/lib/postgresql",
        "/usr/local/pgsql",
        "/opt/homebrew/opt",
        "/usr/local/opt",
    ] {
        let mut versions: Vec<PathBuf> = fs::read_dir(root)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        // Newest major version first: "16" sorts after "15", "postgresql@16" after "postgresql@15".
        versions.sort_by_key(|path| std::cmp::Reverse(major_of(path)));
        candidates.extend(versions.into_iter().map(|dir| dir.join("bin")));
        candidates.push(PathBuf::from(root).join("bin"));
    }
    candidates.into_iter().find(|dir| has_server(dir)).ok_or_else(|| {
        anyhow!(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them \
             (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`), \
             set PG_BINDIR to their directory, or set DATABASE_URL to use an existing PostgreSQL server"
        )
    })
}

fn major_of(path: &Path) -> u32 {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(|name| {
            name.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

fn prepare_directories(
    data_dir: &Path,
    pgdata: &Path,
    run_as_postgres: bool,
) -> anyhow::Result<()> {
    fs::create_dir_all(pgdata).with_context(|| format!("creating {}", pgdata.display()))?;
    // When root runs PostgreSQL as `postgres`, that user must be able to pass through the data directory
    // (0711: enter, not list) to reach its own cluster directory.
    let data_dir_mode = if run_as_postgres { 0o711 } else { 0o700 };
    fs::set_permissions(data_dir, fs::Permissions::from_mode(data_dir_mode))
        .with_context(|| format!("setting permissions on {}", data_dir.display()))?;
    fs::set_permissions(pgdata, fs::Permissions::from_mode(0o700))?;
    if run_as_postgres {
        chown_to_postgres(pgdata)?;
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(pgdata)
            .status()
            .context("running runuser (from util-linux) to check the data directory")?;
        if !reachable.success() {
            bail!(
                "the `postgres` system user cannot reach {}: choose a CDT_DATA_DIR outside private home \
                 directories (the default for root is /var/lib/cdt-api)",
                pgdata.display()
            );
        }
    }
    Ok(())
}

/// Whether a postmaster runs on `pgdata` (`pg_ctl status`).
pub fn cluster_running(
    bindir: &Path,
    run_as_postgres: bool,
    pgdata: &Path,
) -> anyhow::Result<bool> {
    if !pgdata.join("postmaster.pid").exists() {
        return Ok(false);
    }
    let status = pg_program(bindir, run_as_postgres, "pg_ctl")
        .arg("-D")
        .arg(pgdata)
        .arg("status")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running pg_ctl status")?;
    Ok(status.success())
}

/// A PostgreSQL program of `bindir`, run as the `postgres` system user when `run_as_postgres`.
pub fn pg_program(bindir: &Path, run_as_postgres: bool, program: &str) -> Command {
    let path = bindir.join(program);
    if run_as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

/// Creates `dir` (and its parents) mode 0700, owned by `postgres` when PostgreSQL runs as that user.
pub fn prepare_private_directory(dir: &Path, run_as_postgres: bool) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("setting permissions on {}", dir.display()))?;
    if run_as_postgres {
        chown_to_postgres(dir)?;
    }
    Ok(())
}

/// Gives `path` to the `postgres` system user.
pub fn chown_to_postgres(path: &Path) -> anyhow::Result<()> {
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    let entry = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .ok_or_else(|| {
            anyhow!(
                "running as root needs the `postgres` system user (created by the PostgreSQL server \
                 package) to run PostgreSQL; install the package or set DATABASE_URL"
            )
        })?;
    let uid = entry[2].parse().context("postgres uid")?;
    let gid = entry[3].parse().context("postgres gid")?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("giving {} to the postgres user", path.display()))
}

fn free_loopback_port() -> io::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr().map(|addr| addr.port()))
}

fn read_postmaster_port(pgdata: &Path) -> Option<u16> {
    // postmaster.pid: pid, data directory, start time, port, ...
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    text.lines().nth(3)?.trim().parse().ok()
}

/// The last `max_bytes` of a file (lossy UTF-8), empty when unreadable.
pub fn tail_of_file(path: &Path, max_bytes: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(max_bytes);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_major_versions_sort_first() {
        let mut dirs = [
            PathBuf::from("/usr/lib/postgresql/13"),
            PathBuf::from("/usr/lib/postgresql/16"),
            PathBuf::from("/usr/lib/postgresql/15"),
        ];
        dirs.sort_by_key(|path| std::cmp::Reverse(major_of(path)));
        assert_eq!(dirs[0], PathBuf::from("/usr/lib/postgresql/16"));
    }

    #[test]
    fn a_bindir_without_initdb_is_refused_with_the_variable_named() {
        let dir = tempfile::tempdir().unwrap();
        let error = find_bindir(Some(dir.path())).unwrap_err().to_string();
        assert!(error.contains("PG_BINDIR"), "{error}");
    }
}
