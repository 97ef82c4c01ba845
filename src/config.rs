//! Typed settings, read once from the environment at startup.
//!
//! Every variable is listed in `.env.example` and the README. An invalid value stops startup with a
//! [`ConfigError`] naming the variable. Secrets are [`SecretString`]s: their `Debug` output is redacted.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use secrecy::{ExposeSecret, SecretString};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Webhook settings (`WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `WEBHOOK_SECRET_KEY`: key the subscriptions' signing secrets are derived from. `None` uses a
    /// random key kept in the data directory.
    pub secret_key: Option<SecretString>,
    /// `WEBHOOK_ALLOWED_HOSTS`: hosts that may use `http` and private addresses (comma-separated).
    pub allowed_hosts: Vec<String>,
    /// `WEBHOOK_CONCURRENCY`: attempts in flight per subscription.
    pub concurrency: usize,
    /// `WEBHOOK_POLL_MS`: how often an idle dispatcher looks for due deliveries.
    pub poll: Duration,
    /// `WEBHOOK_RETRY_BASE_MS`: the first retry's delay (then x3 each time, at most 8 h).
    pub retry_base: Duration,
    /// `WEBHOOK_RETRY_WINDOW_HOURS`: how long a delivery is retried before it is given up.
    pub retry_window: Duration,
    /// `WEBHOOK_DISABLE_AFTER_HOURS`: how long a subscription may fail before it is disabled.
    pub disable_after: Duration,
    /// `WEBHOOK_ROTATION_OVERLAP_HOURS`: how long the previous secret also signs after a rotation.
    pub rotation_overlap: Duration,
    /// `WEBHOOK_EVENT_RETENTION_DAYS`: how long events and their delivery log are kept (what a replay
    /// can reach); pending deliveries are kept until they finish.
    pub event_retention: Duration,
}

/// Backups, WAL archiving and their schedule (`BACKUP_*`, `WAL_ARCHIVE*`).
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// `BACKUP_DIR`: where base backups (`base/`) and the WAL archive (`wal/`) go; default
    /// `<CDT_DATA_DIR>/backups`. Put it on another disk than `CDT_DATA_DIR` in production.
    pub dir: PathBuf,
    /// `BACKUP_RETAIN`: base backups kept (with the WAL they need); older ones are deleted after each
    /// backup.
    pub retain: u32,
    /// `BACKUP_SCHEDULE`: the time of day (Vietnam time, `HH:MM`) of the daily backup the server takes,
    /// or `off`. Default `02:00` on the embedded database, `off` with `DATABASE_URL`.
    pub schedule: Option<chrono::NaiveTime>,
    /// `BACKUP_VERIFY`: whether a scheduled backup is then restored into a throwaway cluster and compared
    /// (`on`, the default, or `off`).
    pub verify_scheduled: bool,
    /// `WAL_ARCHIVE`: continuous WAL archiving of the embedded database into `BACKUP_DIR/wal`, for
    /// point-in-time recovery (`on`, the default, or `off`).
    pub wal_archive: bool,
    /// `WAL_ARCHIVE_TIMEOUT_SECONDS`: a WAL segment with changes is archived at the latest after this
    /// long: what a lost disk can cost (the RPO).
    pub archive_timeout: Duration,
}

/// Where attachment files are kept.
#[derive(Debug, Clone)]
pub enum StorageBackend {
    /// `STORAGE_BACKEND=local` (the default): under `<CDT_DATA_DIR>/files`.
    Local,
    /// `STORAGE_BACKEND=s3`: an S3-compatible bucket, shared by every instance.
    S3 {
        /// `S3_BUCKET`.
        bucket: String,
        /// `S3_ENDPOINT`: the service's URL (unset: AWS in `S3_REGION`).
        endpoint: Option<String>,
        /// `S3_REGION` (default `us-east-1`).
        region: String,
        /// `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY` (unset: the AWS_* environment and instance
        /// credentials, as the AWS tools read them).
        access_key_id: Option<String>,
        secret_access_key: Option<SecretString>,
    },
}

/// `ATTACHMENT_*`, `UPLOAD_*`, `STORAGE_*`, `S3_*`: evidence files (issue 20).
#[derive(Debug, Clone)]
pub struct AttachmentConfig {
    /// Where files are kept.
    pub backend: StorageBackend,
    /// `ATTACHMENT_MAX_BYTES`: the largest file (default 15 MiB).
    pub max_bytes: u64,
    /// `ATTACHMENTS_PER_RECORD`: attachments one session or reach activity may have (default 20).
    pub per_record: u32,
    /// `TEAM_UPLOAD_BYTES_PER_DAY`: bytes the users of one team may upload per day, Vietnam time
    /// (default 300 MiB).
    pub team_bytes_per_day: u64,
    /// `UPLOAD_EXPIRY_HOURS`: an upload neither finished nor attached within this long is removed
    /// (default 24).
    pub upload_expiry: Duration,
    /// `ATTACHMENT_RETENTION_DAYS`: a deleted attachment (or one of a deleted record) is kept this long
    /// before its file is removed, so a deletion can be undone by an administrator (default 30).
    pub retention: Duration,
}

/// All settings of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`: the PostgreSQL to use. `None` starts the embedded PostgreSQL.
    pub database_url: Option<SecretString>,
    /// `BIND_ADDR`: address the HTTP server listens on.
    pub bind_addr: SocketAddr,
    /// `JWT_SECRET`: key signing access tokens. `None` uses a random key kept in the data directory.
    pub jwt_secret: Option<SecretString>,
    /// `RUST_LOG`: tracing filter directives.
    pub log_filter: String,
    /// `LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `DB_POOL_SIZE`: connections in the pool.
    pub db_pool_size: u32,
    /// `DB_POOL_TIMEOUT_MS`: how long a request waits for a free connection before it gets 503.
    pub db_pool_timeout: Duration,
    /// `DB_STATEMENT_TIMEOUT_MS`: PostgreSQL `statement_timeout` set on every connection.
    pub db_statement_timeout: Duration,
    /// `CDT_DATA_DIR`: where the embedded PostgreSQL and generated secrets live.
    pub data_dir: PathBuf,
    /// `ACCESS_TOKEN_TTL_SECONDS`: lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_DAYS`: lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
    /// `PASSWORD_HASH_MEMORY_KIB` and `PASSWORD_HASH_ITERATIONS`: argon2id cost.
    pub password_hash_cost: PasswordHashCost,
    /// `PASSWORD_HASH_THREADS`: threads that hash and verify passwords for requests (default: one less
    /// than the machine's cores, at least 1), so logins never take every core.
    pub password_hash_threads: usize,
    /// `READ_DATABASE_URL`: a streaming replica for reports and list reads. `None`: all on the primary.
    pub read_database_url: Option<SecretString>,
    /// `READ_YOUR_WRITES_SECONDS`: after a user writes, their reads stay on the primary this long.
    pub read_your_writes: Duration,
    /// `RATE_LIMIT_PER_MINUTE`: requests one signed-in user may make per minute.
    pub rate_limit_per_minute: u32,
    /// `LOGIN_RATE_LIMIT_PER_MINUTE`: login attempts one client IP may make per minute.
    pub login_rate_limit_per_minute: u32,
    /// `REPORTING_LOCK_DAYS`: days after a month's end during which team leaders may still log or change
    /// that month's sessions.
    pub reporting_lock_days: u32,
    /// `SIGN_OFF_DUE_DAYS`: days after a month's end by which its commune-level units should submit it;
    /// later, open or returned months are reported overdue.
    pub sign_off_due_days: u32,
    /// `PG_BINDIR`: directory of the PostgreSQL server binaries for the embedded database; looked up
    /// when unset.
    pub pg_bindir: Option<PathBuf>,
    /// `CORS_ALLOWED_ORIGINS`: browser origins (`https://host[:port]`) allowed to call the API from
    /// another site. Empty: none (same-origin only).
    pub cors_allowed_origins: Vec<String>,
    /// `TRUSTED_PROXIES`: addresses and CIDR ranges of the reverse proxies in front of the server
    /// (comma-separated). `Forwarded` and `X-Forwarded-For` are read only from these peers. Empty: the
    /// peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `METRICS_TOKEN`: bearer token that unlocks `GET /metrics` on `BIND_ADDR`. `None`: `/metrics`
    /// there answers 404.
    pub metrics_token: Option<SecretString>,
    /// `METRICS_BIND_ADDR`: an internal address serving only `GET /metrics` (also behind
    /// `METRICS_TOKEN` when that is set). `None`: no such listener.
    pub metrics_bind_addr: Option<SocketAddr>,
    /// `WEBHOOK_*`: webhook signing and delivery.
    pub webhooks: WebhookConfig,
    /// `SHUTDOWN_TIMEOUT_SECONDS`: after SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_timeout: Duration,
    /// `SHUTDOWN_DRAIN_SECONDS`: after SIGTERM, how long the server keeps serving (with `/readyz` 503 and
    /// `Connection: close` on every answer, so clients and load balancers move away) before it stops
    /// accepting connections.
    pub shutdown_drain: Duration,
    /// `BACKUP_*`, `WAL_ARCHIVE*`: backups and point-in-time recovery.
    pub backups: BackupConfig,
    /// Evidence files: uploads, attachments, their storage.
    pub attachments: AttachmentConfig,
}

/// argon2id parameters (OWASP's minimum is 19 MiB with 2 iterations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
}

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable} {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// Default `BIND_ADDR`.
pub const DEFAULT_BIND_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
/// Default `DB_POOL_SIZE`.
pub const DEFAULT_POOL_SIZE: u32 = 10;
/// Default `DB_POOL_TIMEOUT_MS`.
pub const DEFAULT_POOL_TIMEOUT_MS: u64 = 1500;
/// Default `DB_STATEMENT_TIMEOUT_MS`.
pub const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 30_000;
/// Minimum length of `JWT_SECRET` in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// Minimum length of `METRICS_TOKEN` in bytes.
pub const MIN_METRICS_TOKEN_BYTES: usize = 24;

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment in production, a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let database_url = postgres_url(&get, "DATABASE_URL", "host")?;

        let bind_addr =
            socket_address(&get, "BIND_ADDR", DEFAULT_BIND_ADDR)?.unwrap_or(DEFAULT_BIND_ADDR);

        let jwt_secret = secret(&get, "JWT_SECRET", MIN_JWT_SECRET_BYTES)?;

        let log_filter = get("RUST_LOG").unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::try_new(&log_filter).map_err(|error| {
            ConfigError::new("RUST_LOG", format!("is not a valid filter: {error}"))
        })?;

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(ConfigError::new("LOG_FORMAT", "must be `pretty` or `json`")),
        };

        let db_pool_size =
            parse_number(&get, "DB_POOL_SIZE", u64::from(DEFAULT_POOL_SIZE), 1, 200)?;
        let db_pool_timeout = parse_number(
            &get,
            "DB_POOL_TIMEOUT_MS",
            DEFAULT_POOL_TIMEOUT_MS,
            10,
            60_000,
        )?;
        let db_statement_timeout = parse_number(
            &get,
            "DB_STATEMENT_TIMEOUT_MS",
            DEFAULT_STATEMENT_TIMEOUT_MS,
            100,
            3_600_000,
        )?;

        let data_dir = match get("CDT_DATA_DIR") {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !dir.is_absolute() {
                    return Err(ConfigError::new("CDT_DATA_DIR", "must be an absolute path"));
                }
                dir
            }
            None => default_data_dir(&get).ok_or_else(|| {
                ConfigError::new("CDT_DATA_DIR", "is not set and neither is HOME")
            })?,
        };

        let pg_bindir = get("PG_BINDIR").map(PathBuf::from);
        let backups = BackupConfig {
            dir: match get("BACKUP_DIR") {
                Some(dir) => {
                    let dir = PathBuf::from(dir);
                    if !dir.is_absolute() {
                        return Err(ConfigError::new("BACKUP_DIR", "must be an absolute path"));
                    }
                    dir
                }
                None => data_dir.join("backups"),
            },
            retain: u32::try_from(parse_number(&get, "BACKUP_RETAIN", 7, 1, 1000)?).unwrap_or(7),
            schedule: match get("BACKUP_SCHEDULE") {
                None if database_url.is_none() => chrono::NaiveTime::from_hms_opt(2, 0, 0),
                None => None,
                Some(value) if value.trim().eq_ignore_ascii_case("off") => None,
                Some(value) => Some(
                    chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M").map_err(|_| {
                        ConfigError::new(
                            "BACKUP_SCHEDULE",
                            "must be a time of day HH:MM (Vietnam time) or `off`",
                        )
                    })?,
                ),
            },
            verify_scheduled: switch(&get, "BACKUP_VERIFY", true)?,
            wal_archive: switch(&get, "WAL_ARCHIVE", true)?,
            archive_timeout: Duration::from_secs(parse_number(
                &get,
                "WAL_ARCHIVE_TIMEOUT_SECONDS",
                60,
                1,
                86_400,
            )?),
        };
        // The directory is written into PostgreSQL's archive and restore commands (shell words).
        if backups
            .dir
            .to_string_lossy()
            .chars()
            .any(|c| "'\"$`\\%\n".contains(c))
        {
            return Err(ConfigError::new(
                "BACKUP_DIR",
                "must not contain quotes, $, `, \\, % or a line break",
            ));
        }
        let reporting_lock_days = parse_number(&get, "REPORTING_LOCK_DAYS", 45, 0, 3650)?;
        let sign_off_due_days = parse_number(&get, "SIGN_OFF_DUE_DAYS", 10, 0, 365)?;
        let access_token_ttl = parse_number(&get, "ACCESS_TOKEN_TTL_SECONDS", 900, 60, 86_400)?;
        let refresh_token_ttl_days = parse_number(&get, "REFRESH_TOKEN_TTL_DAYS", 30, 1, 365)?;
        let memory_kib = parse_number(&get, "PASSWORD_HASH_MEMORY_KIB", 19_456, 1_024, 1_048_576)?;
        let iterations = parse_number(&get, "PASSWORD_HASH_ITERATIONS", 2, 1, 10)?;
        let rate_limit_per_minute = parse_number(&get, "RATE_LIMIT_PER_MINUTE", 600, 1, 1_000_000)?;
        let login_rate_limit_per_minute =
            parse_number(&get, "LOGIN_RATE_LIMIT_PER_MINUTE", 30, 1, 100_000)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let password_hash_threads = parse_number(
            &get,
            "PASSWORD_HASH_THREADS",
            u64::try_from(cores.saturating_sub(1).max(1)).unwrap_or(1),
            1,
            256,
        )?;
        let read_database_url = postgres_url(&get, "READ_DATABASE_URL", "replica")?;
        let read_your_writes = parse_number(&get, "READ_YOUR_WRITES_SECONDS", 10, 0, 3_600)?;
        let cors_allowed_origins = get("CORS_ALLOWED_ORIGINS")
            .map(|list| parse_origins(&list))
            .transpose()?
            .unwrap_or_default();
        let trusted_proxies = get("TRUSTED_PROXIES")
            .map(|list| parse_networks(&list))
            .transpose()?
            .unwrap_or_default();
        let metrics_token = secret(&get, "METRICS_TOKEN", MIN_METRICS_TOKEN_BYTES)?;
        let metrics_bind_addr = socket_address(
            &get,
            "METRICS_BIND_ADDR",
            SocketAddr::new(DEFAULT_BIND_ADDR.ip(), 9090),
        )?;
        if metrics_bind_addr.is_some_and(|address| address == bind_addr) {
            return Err(ConfigError::new(
                "METRICS_BIND_ADDR",
                "must differ from BIND_ADDR",
            ));
        }
        let shutdown_timeout = parse_number(&get, "SHUTDOWN_TIMEOUT_SECONDS", 30, 1, 3_600)?;
        let shutdown_drain = parse_number(&get, "SHUTDOWN_DRAIN_SECONDS", 5, 0, 300)?;
        let webhooks = WebhookConfig {
            secret_key: secret(&get, "WEBHOOK_SECRET_KEY", MIN_JWT_SECRET_BYTES)?,
            allowed_hosts: get("WEBHOOK_ALLOWED_HOSTS")
                .map(|list| {
                    list.split(',')
                        .map(|h| h.trim().to_owned())
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            concurrency: usize::try_from(parse_number(&get, "WEBHOOK_CONCURRENCY", 8, 1, 256)?)
                .unwrap_or(8),
            poll: Duration::from_millis(parse_number(&get, "WEBHOOK_POLL_MS", 500, 10, 60_000)?),
            retry_base: Duration::from_millis(parse_number(
                &get,
                "WEBHOOK_RETRY_BASE_MS",
                10_000,
                1,
                3_600_000,
            )?),
            retry_window: Duration::from_secs(
                parse_number(&get, "WEBHOOK_RETRY_WINDOW_HOURS", 72, 1, 24 * 30)? * 3600,
            ),
            disable_after: Duration::from_secs(
                parse_number(&get, "WEBHOOK_DISABLE_AFTER_HOURS", 72, 1, 24 * 30)? * 3600,
            ),
            rotation_overlap: Duration::from_secs(
                parse_number(&get, "WEBHOOK_ROTATION_OVERLAP_HOURS", 24, 0, 24 * 30)? * 3600,
            ),
            event_retention: Duration::from_secs(
                parse_number(&get, "WEBHOOK_EVENT_RETENTION_DAYS", 30, 1, 3650)? * 86_400,
            ),
        };

        let attachments = AttachmentConfig {
            backend: match get("STORAGE_BACKEND").as_deref().map(str::trim) {
                None | Some("local") => StorageBackend::Local,
                Some("s3") => StorageBackend::S3 {
                    bucket: get("S3_BUCKET").ok_or_else(|| {
                        ConfigError::new("S3_BUCKET", "is required with STORAGE_BACKEND=s3")
                    })?,
                    endpoint: match get("S3_ENDPOINT") {
                        Some(url)
                            if !(url.starts_with("http://") || url.starts_with("https://")) =>
                        {
                            return Err(ConfigError::new(
                                "S3_ENDPOINT",
                                "must be an http:// or https:// URL",
                            ));
                        }
                        other => other,
                    },
                    region: get("S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
                    access_key_id: get("S3_ACCESS_KEY_ID"),
                    secret_access_key: get("S3_SECRET_ACCESS_KEY").map(SecretString::from),
                },
                Some(_) => {
                    return Err(ConfigError::new(
                        "STORAGE_BACKEND",
                        "must be `local` or `s3`",
                    ));
                }
            },
            max_bytes: parse_number(
                &get,
                "ATTACHMENT_MAX_BYTES",
                15 * 1024 * 1024,
                1024,
                1 << 34,
            )?,
            per_record: u32::try_from(parse_number(&get, "ATTACHMENTS_PER_RECORD", 20, 1, 1000)?)
                .unwrap_or(20),
            team_bytes_per_day: parse_number(
                &get,
                "TEAM_UPLOAD_BYTES_PER_DAY",
                300 * 1024 * 1024,
                1024,
                1 << 40,
            )?,
            upload_expiry: Duration::from_secs(
                parse_number(&get, "UPLOAD_EXPIRY_HOURS", 24, 1, 24 * 30)? * 3600,
            ),
            retention: Duration::from_secs(
                parse_number(&get, "ATTACHMENT_RETENTION_DAYS", 30, 0, 3650)? * 86_400,
            ),
        };

        Ok(Self {
            database_url,
            bind_addr,
            jwt_secret,
            log_filter,
            log_format,
            db_pool_size: u32::try_from(db_pool_size).unwrap_or(DEFAULT_POOL_SIZE),
            db_pool_timeout: Duration::from_millis(db_pool_timeout),
            db_statement_timeout: Duration::from_millis(db_statement_timeout),
            data_dir,
            access_token_ttl: Duration::from_secs(access_token_ttl),
            refresh_token_ttl: Duration::from_secs(refresh_token_ttl_days * 86_400),
            password_hash_cost: PasswordHashCost {
                memory_kib: u32::try_from(memory_kib).unwrap_or(19_456),
                iterations: u32::try_from(iterations).unwrap_or(2),
            },
            password_hash_threads: usize::try_from(password_hash_threads).unwrap_or(1),
            read_database_url,
            read_your_writes: Duration::from_secs(read_your_writes),
            rate_limit_per_minute: u32::try_from(rate_limit_per_minute).unwrap_or(600),
            login_rate_limit_per_minute: u32::try_from(login_rate_limit_per_minute).unwrap_or(30),
            reporting_lock_days: u32::try_from(reporting_lock_days).unwrap_or(45),
            sign_off_due_days: u32::try_from(sign_off_due_days).unwrap_or(10),
            pg_bindir,
            cors_allowed_origins,
            trusted_proxies,
            metrics_token,
            metrics_bind_addr,
            shutdown_timeout: Duration::from_secs(shutdown_timeout),
            shutdown_drain: Duration::from_secs(shutdown_drain),
            webhooks,
            backups,
            attachments,
        })
    }

    /// The JWT signing key: `JWT_SECRET` when set, otherwise a random key created once and kept in
    /// `<CDT_DATA_DIR>/jwt-secret` (mode 0600), so tokens survive restarts of a local installation.
    pub fn resolve_jwt_secret(&self) -> anyhow::Result<SecretString> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("jwt-secret");
        crate::secret_file::read_or_create(&path, 48).map(SecretString::from)
    }

    /// The key webhook signing secrets are derived from: `WEBHOOK_SECRET_KEY` when set, otherwise a
    /// random key created once and kept in `<CDT_DATA_DIR>/webhook-key` (mode 0600). Every instance
    /// serving the same database needs the same key.
    pub fn resolve_webhook_key(&self) -> anyhow::Result<SecretString> {
        if let Some(key) = &self.webhooks.secret_key {
            return Ok(key.clone());
        }
        let path = self.data_dir.join("webhook-key");
        crate::secret_file::read_or_create(&path, 48).map(SecretString::from)
    }

    /// The database URL with any password replaced by `***`, for log lines.
    pub fn redacted_database_url(&self) -> Option<String> {
        self.database_url
            .as_ref()
            .map(|url| redact_url(url.expose_secret()))
    }
}

/// An optional address and port in `variable` (`example` shows the form in the error).
fn socket_address(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    example: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    get(variable)
        .map(|address| {
            address.trim().parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    variable,
                    format!("must be an address and port like {example}"),
                )
            })
        })
        .transpose()
}

/// An optional secret in `variable`, at least `min_bytes` long.
fn secret(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    min_bytes: usize,
) -> Result<Option<SecretString>, ConfigError> {
    get(variable)
        .map(|value| {
            if value.len() < min_bytes {
                Err(ConfigError::new(
                    variable,
                    format!("must be at least {min_bytes} bytes long"),
                ))
            } else {
                Ok(SecretString::from(value))
            }
        })
        .transpose()
}

/// `TRUSTED_PROXIES`: comma-separated addresses (`10.0.0.5`, `::1`) and CIDR ranges (`10.0.0.0/8`).
fn parse_networks(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::new(
                        "TRUSTED_PROXIES",
                        format!("must list addresses or CIDR ranges like 10.0.0.0/8, got {item:?}"),
                    )
                })
        })
        .collect()
}

/// `CORS_ALLOWED_ORIGINS`: comma-separated origins, each `http(s)://host[:port]` without a path.
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains(['/', '*', ' ']) => {
                    Ok(origin.to_owned())
                }
                _ => Err(ConfigError::new(
                    "CORS_ALLOWED_ORIGINS",
                    format!(
                        "must list origins like https://app.example.vn (no path, no wildcard), got {origin:?}"
                    ),
                )),
            }
        })
        .collect()
}

/// An optional PostgreSQL URL in `variable` (the example names `host` as the server).
fn postgres_url(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    host: &str,
) -> Result<Option<SecretString>, ConfigError> {
    get(variable)
        .map(|url| {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(SecretString::from(url))
            } else {
                Err(ConfigError::new(
                    variable,
                    format!(
                        "must be a PostgreSQL URL like postgres://user:password@{host}:5432/database"
                    ),
                ))
            }
        })
        .transpose()
}

/// `on` or `off` (also true/false, yes/no, 1/0).
fn switch(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable).map(|value| value.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(value) => match value.as_str() {
            "on" | "true" | "yes" | "1" => Ok(true),
            "off" | "false" | "no" | "0" => Ok(false),
            _ => Err(ConfigError::new(variable, "must be `on` or `off`")),
        },
    }
}

fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(variable) else {
        return Ok(default);
    };
    match raw.trim().parse::<u64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(ConfigError::new(
            variable,
            format!("must be a whole number from {min} to {max}, got {raw:?}"),
        )),
    }
}

/// Where local data goes when `CDT_DATA_DIR` is not set: `/var/lib/cdt-api` for root (the `postgres`
/// user must be able to reach it, and root's home is private), else `$XDG_DATA_HOME/cdt-api` or
/// `~/.local/share/cdt-api`.
fn default_data_dir(get: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if rustix::process::geteuid().is_root() {
        return Some(PathBuf::from("/var/lib/cdt-api"));
    }
    if let Some(xdg) = get("XDG_DATA_HOME").filter(|dir| Path::new(dir).is_absolute()) {
        return Some(Path::new(&xdg).join("cdt-api"));
    }
    get("HOME").map(|home| Path::new(&home).join(".local/share/cdt-api"))
}

/// Replaces the password of a `postgres://user:password@host/db` URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("HOME".to_owned(), "/home/someone".to_owned())])
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = settings(&[]).unwrap();
        assert!(s.database_url.is_none());
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.db_pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(
            s.db_pool_timeout,
            Duration::from_millis(DEFAULT_POOL_TIMEOUT_MS)
        );
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert!(s.data_dir.ends_with("cdt-api"));
        assert!(s.cors_allowed_origins.is_empty());
        assert!(s.metrics_token.is_none() && s.metrics_bind_addr.is_none());
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let networks = parse_networks(" 10.0.0.0/8, 192.0.2.7 ,::1,").unwrap();
        assert_eq!(networks.len(), 3);
        assert!(networks[0].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));
        assert!(networks[1].contains(&"192.0.2.7".parse::<std::net::IpAddr>().unwrap()));
        assert!(!networks[1].contains(&"192.0.2.8".parse::<std::net::IpAddr>().unwrap()));
        assert!(parse_networks("10.0.0.0/33").is_err());
        assert!(parse_networks("proxy.local").is_err());
    }

    #[test]
    fn cors_origins_are_a_trimmed_list() {
        let s = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            " https://app.sonla.gov.vn , http://localhost:5173,",
        )])
        .unwrap();
        assert_eq!(
            s.cors_allowed_origins,
            ["https://app.sonla.gov.vn", "http://localhost:5173"]
        );
    }

    #[test]
    fn each_invalid_value_names_its_variable() {
        for (variable, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("BIND_ADDR", "localhost"),
            ("JWT_SECRET", "short"),
            ("LOG_FORMAT", "xml"),
            ("DB_POOL_SIZE", "zero"),
            ("DB_POOL_SIZE", "0"),
            ("DB_POOL_TIMEOUT_MS", "-5"),
            ("DB_STATEMENT_TIMEOUT_MS", "1"),
            ("CDT_DATA_DIR", "relative/dir"),
            ("RUST_LOG", "cdt_api=loud"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://ok.example.vn, app.example.vn",
            ),
            ("CORS_ALLOWED_ORIGINS", "https://app.example.vn/path"),
            ("METRICS_TOKEN", "too-short"),
            ("METRICS_BIND_ADDR", "internal"),
            ("METRICS_BIND_ADDR", "127.0.0.1:8080"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "0"),
        ] {
            let error = settings(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(error.to_string().contains(variable), "{error}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://cdt:topsecretpw@db:5432/cdt"),
            (
                "JWT_SECRET",
                "a-very-long-secret-value-of-at-least-32-bytes",
            ),
            ("METRICS_TOKEN", "metrics-token-that-is-long-enough"),
        ])
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("metrics-token-that"), "{debug}");
        assert!(!debug.contains("topsecretpw"), "{debug}");
        assert!(!debug.contains("a-very-long-secret"), "{debug}");
        assert_eq!(
            s.redacted_database_url().unwrap(),
            "postgres://cdt:***@db:5432/cdt"
        );
    }
}
