//! Database access: the connection pool, the one helper every query goes through, embedded migrations,
//! and the embedded PostgreSQL launcher.
//!
//! Diesel is synchronous, so [`Db::run`] moves each unit of database work to actix's blocking thread pool
//! and takes the pooled connection *inside* that closure (never on an async worker). A checkout that
//! times out, or a connection the server dropped, becomes a 503 `database_unavailable`; a connection
//! that failed that way is discarded instead of going back to the pool, so the service recovers on its
//! own when PostgreSQL returns, without paying for a `SELECT 1` on every checkout.
//!
//! While PostgreSQL cannot be reached (a connection attempt failed within the last
//! [`OUTAGE_MEMORY`]), checkouts wait at most [`OUTAGE_CHECKOUT_TIMEOUT`] instead of
//! `DB_POOL_TIMEOUT_MS` (see [`checkout`]): every request of an outage, the first included, gets its
//! 503 quickly, and blocking threads do not pile up behind doomed waits. Each such checkout still tries
//! to connect, so the first one after PostgreSQL returns succeeds and normal service resumes by itself.

pub mod embedded;
pub mod migrations;
pub mod prepared;
pub mod schema;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};

use diesel::{
    Connection, PgConnection,
    connection::SimpleConnection,
    r2d2::{self, ConnectionManager, ManageConnection, Pool},
};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{AppError, ErrorCode};

/// A pooled connection plus whether it was seen to lose its server.
pub struct TrackedConnection {
    connection: PgConnection,
    lost: bool,
}

impl std::fmt::Debug for TrackedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackedConnection")
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

/// r2d2 manager for [`TrackedConnection`]s: diesel's PostgreSQL manager, plus one rule: a connection on
/// which a query failed because the server went away is broken and is dropped on return to the pool.
#[derive(Debug)]
pub struct PgManager {
    inner: ConnectionManager<PgConnection>,
    statement_timeout_ms: u128,
    reachability: Arc<Reachability>,
}

/// How long a failed connection attempt marks the database as unreachable.
pub const OUTAGE_MEMORY: Duration = Duration::from_secs(3);

/// The first part of every checkout's wait, and all of it while the database is unreachable.
pub const OUTAGE_CHECKOUT_TIMEOUT: Duration = Duration::from_millis(250);

/// When a connection attempt last failed (milliseconds since `since`; 0: never, or one succeeded
/// since).
#[derive(Debug)]
struct Reachability {
    since: Instant,
    last_failure_ms: AtomicU64,
}

impl Reachability {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            last_failure_ms: AtomicU64::new(0),
        }
    }

    fn note(&self, reached: bool) {
        let value = if reached {
            0
        } else {
            u64::try_from(self.since.elapsed().as_millis())
                .unwrap_or(u64::MAX)
                .max(1)
        };
        self.last_failure_ms.store(value, Ordering::Relaxed);
    }

    fn unreachable_lately(&self) -> bool {
        match self.last_failure_ms.load(Ordering::Relaxed) {
            0 => false,
            at => {
                let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
                now.saturating_sub(at) < u64::try_from(OUTAGE_MEMORY.as_millis()).unwrap_or(0)
            }
        }
    }
}

/// Kinds of failed database work, for the `cdt_db_errors_total` metric.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbErrorLabels {
    /// `unavailable` or `failed`.
    pub kind: &'static str,
}

/// The database's own metrics, registered by [`crate::metrics::Metrics`].
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    /// Requests waiting for a pool connection.
    pub waiting: Gauge,
    /// Failed database work by kind.
    pub errors: Family<DbErrorLabels, Counter>,
}

impl ManageConnection for PgManager {
    type Connection = TrackedConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let connected = self.inner.connect();
        self.reachability.note(connected.is_ok());
        let mut connection = connected?;
        // Bounded queries, and UTC everywhere regardless of the server's configuration.
        connection
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET TIME ZONE 'UTC'",
                self.statement_timeout_ms
            ))
            .map_err(r2d2::Error::QueryError)?;
        Ok(TrackedConnection {
            connection,
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        self.inner.is_valid(&mut conn.connection)
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.lost || self.inner.has_broken(&mut conn.connection)
    }
}

/// The connection pool type.
pub type PgPool = Pool<PgManager>;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Maximum connections.
    pub size: u32,
    /// How long a request waits for a connection.
    pub checkout_timeout: Duration,
    /// `statement_timeout` set on every connection.
    pub statement_timeout: Duration,
}

/// Handle to the database, cloned into every worker: the primary's pool and, with `READ_DATABASE_URL`,
/// a streaming replica's pool for [`Db::read`].
#[derive(Debug, Clone)]
pub struct Db {
    pool: PoolHandle,
    replica: Option<PoolHandle>,
    recent_writers: Arc<RecentWriters>,
    stats: DbStats,
}

/// A connection within `DB_POOL_TIMEOUT_MS`, or sooner an error while the database is unreachable: the
/// first [`OUTAGE_CHECKOUT_TIMEOUT`] is waited in any case; the rest only if the database was not found
/// unreachable meanwhile (a busy pool, not an outage).
fn checkout(
    pool: &PgPool,
    reachability: &Reachability,
) -> Result<r2d2::PooledConnection<PgManager>, r2d2::PoolError> {
    let started = Instant::now();
    let timeout = pool.connection_timeout();
    match pool.get_timeout(timeout.min(OUTAGE_CHECKOUT_TIMEOUT)) {
        Err(error) if reachability.unreachable_lately() || timeout <= OUTAGE_CHECKOUT_TIMEOUT => {
            Err(error)
        }
        Err(_) => pool.get_timeout(timeout.saturating_sub(started.elapsed())),
        connected => connected,
    }
}

/// A pool and what its connection attempts found.
#[derive(Debug, Clone)]
struct PoolHandle {
    pool: PgPool,
    reachability: Arc<Reachability>,
}

/// Users who sent a write lately: their reads stay on the primary for a while (read-your-writes), since
/// a replica may not have replayed the write yet.
#[derive(Debug)]
struct RecentWriters {
    window: Duration,
    last_write: Mutex<HashMap<uuid::Uuid, Instant>>,
}

impl RecentWriters {
    fn note(&self, user: uuid::Uuid) {
        if let Ok(mut map) = self.last_write.lock() {
            let now = Instant::now();
            if map.len() >= 10_000 {
                map.retain(|_, at| now.duration_since(*at) < self.window);
            }
            map.insert(user, now);
        }
    }

    fn wrote_recently(&self, user: uuid::Uuid) -> bool {
        self.last_write
            .lock()
            .is_ok_and(|map| map.get(&user).is_some_and(|at| at.elapsed() < self.window))
    }
}

fn build_pool(url: &SecretString, options: &PoolOptions) -> PoolHandle {
    let reachability = Arc::new(Reachability::new());
    let manager = PgManager {
        inner: ConnectionManager::new(url.expose_secret()),
        statement_timeout_ms: options.statement_timeout.as_millis(),
        reachability: reachability.clone(),
    };
    let pool = Pool::builder()
        .max_size(options.size)
        .min_idle(Some(0))
        .connection_timeout(options.checkout_timeout)
        .test_on_check_out(false)
        .build_unchecked(manager);
    PoolHandle { pool, reachability }
}

impl Db {
    /// Builds the pool without connecting; connections are opened on demand (and re-opened after an
    /// outage).
    pub fn new(url: &SecretString, options: &PoolOptions) -> Self {
        Self {
            pool: build_pool(url, options),
            replica: None,
            recent_writers: Arc::new(RecentWriters {
                window: Duration::ZERO,
                last_write: Mutex::new(HashMap::new()),
            }),
            stats: DbStats::default(),
        }
    }

    /// The metrics this handle keeps (clones share the same series).
    pub fn stats(&self) -> DbStats {
        self.stats.clone()
    }

    /// The primary pool's open and idle connections.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.pool.state()
    }

    /// The primary pool's maximum size.
    pub fn pool_size(&self) -> u32 {
        self.pool.pool.max_size()
    }

    /// Sends [`Db::read`]s to the replica at `url`, except those of users who wrote within
    /// `read_your_writes`.
    #[must_use]
    pub fn with_replica(
        mut self,
        url: &SecretString,
        options: &PoolOptions,
        read_your_writes: Duration,
    ) -> Self {
        self.replica = Some(build_pool(url, options));
        self.recent_writers = Arc::new(RecentWriters {
            window: read_your_writes,
            last_write: Mutex::new(HashMap::new()),
        });
        self
    }

    /// Whether a replica is configured.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// Records that `user` is writing: their [`Db::read`]s go to the primary for the configured window.
    pub fn note_write(&self, user: uuid::Uuid) {
        if self.replica.is_some() {
            self.recent_writers.note(user);
        }
    }

    /// Runs read-only `work` for `user` on the replica when one is configured and `user` has not written
    /// lately; otherwise (and when the replica cannot be reached) on the primary. For reports and lists,
    /// which may lag the primary by the replica's replay delay.
    pub async fn read<T, F>(&self, user: uuid::Uuid, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Clone + Send + 'static,
        T: Send + 'static,
    {
        match &self.replica {
            Some(replica) if !self.recent_writers.wrote_recently(user) => {
                match self.run_on(replica.clone(), work.clone()).await {
                    Err(error) if error.code() == ErrorCode::DatabaseUnavailable => {
                        tracing::warn!("the read replica is unavailable; reading from the primary");
                        self.run(work).await
                    }
                    other => other,
                }
            }
            _ => self.run(work).await,
        }
    }

    /// Runs `work` with a pooled connection on the blocking thread pool, inside the caller's tracing
    /// span. Multi-step writes must use `conn.transaction(...)` inside `work`.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_on(self.pool.clone(), work).await
    }

    async fn run_on<T, F>(&self, handle: PoolHandle, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let span = tracing::Span::current();
        let stats = self.stats.clone();
        let result = actix_web::web::block(move || {
            let _entered = span.enter();
            let PoolHandle { pool, reachability } = handle;
            stats.waiting.inc();
            let pooled = checkout(&pool, &reachability);
            stats.waiting.dec();
            let mut pooled = pooled?;
            let result = work(&mut pooled.connection);
            if let Err(error) = &result
                && error.code() == ErrorCode::DatabaseUnavailable
            {
                pooled.lost = true;
            }
            result
        })
        .await?;
        if let Err(error) = &result {
            let kind = match error.code() {
                ErrorCode::DatabaseUnavailable => Some("unavailable"),
                ErrorCode::Internal => Some("failed"),
                _ => None,
            };
            if let Some(kind) = kind {
                self.stats
                    .errors
                    .get_or_create(&DbErrorLabels { kind })
                    .inc();
            }
        }
        result
    }

    /// Waits until the database accepts connections, for at most `patience`.
    pub fn wait_until_reachable(&self, patience: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + patience;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.pool.pool.get() {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => {
                    anyhow::bail!(
                        "the database did not answer within {}s ({error}); check DATABASE_URL and that \
                         PostgreSQL is running",
                        patience.as_secs()
                    );
                }
                Err(error) => {
                    tracing::warn!(attempt, error = %error, "database not reachable yet, retrying");
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }

    /// A connection outside the async runtime (CLI commands, migrations at startup).
    pub fn blocking_connection(
        &self,
    ) -> anyhow::Result<impl std::ops::DerefMut<Target = PgConnection>> {
        Ok(ConnectionGuard(self.pool.pool.get()?))
    }
}

struct ConnectionGuard(r2d2::PooledConnection<PgManager>);

impl std::ops::Deref for ConnectionGuard {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.0.connection
    }
}

impl std::ops::DerefMut for ConnectionGuard {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0.connection
    }
}

/// Opens a single connection outside the pool (administrative work).
pub fn connect(url: &SecretString) -> anyhow::Result<PgConnection> {
    Ok(PgConnection::establish(url.expose_secret())?)
}
