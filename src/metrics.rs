//! Prometheus metrics (`GET /metrics`, OpenMetrics text): requests and their latency by route and status,
//! the connection pool, database errors, rate-limit rejections, failed sign-ins and webhook deliveries.
//!
//! Requests are recorded by [`crate::request_context`] once the response is final; the pool's figures
//! are read when scraped; database errors are counted by [`crate::db::Db`] itself. Route labels are the
//! route *patterns* (`/api/v1/teams/{id}`), never the raw path, so ids cannot blow up the series count;
//! requests that match no route share the label `unmatched`.

use std::time::Duration;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::db::{Db, DbStats};

/// The OpenMetrics text format's content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route a request matched, its method and its final status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Route pattern, or `unmatched`.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// A route pattern alone.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// Route pattern, or `unmatched`.
    pub route: String,
}

/// A webhook attempt's result.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookResultLabels {
    /// `succeeded`, `retrying` (failed, tried again later) or `failed` (given up, or 410).
    pub result: String,
}

/// A webhook subscription.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubscriptionLabels {
    pub subscription: String,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Every metric of the service, shared by all workers.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    rate_limited: Family<RouteLabels, Counter>,
    login_failures: Counter,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    webhook_attempts: Family<WebhookResultLabels, Counter>,
    webhook_pending: Family<SubscriptionLabels, Gauge>,
    webhook_oldest: Family<SubscriptionLabels, Gauge>,
    backup_last_success: Gauge,
    backup_age: Gauge,
    backup_last_failed: Gauge,
    backups: std::sync::Arc<crate::backup::schedule::BackupStatus>,
    db: Db,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s, doubling.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The sign-in route: its 401s are failed sign-ins.
const LOGIN_ROUTE: &str = "/api/v1/auth/login";

impl Metrics {
    /// Registers every metric; `db` supplies the pool figures and its own error counters.
    pub fn new(db: &Db) -> Self {
        let mut registry = Registry::with_prefix("cdt");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to its response, by method, route pattern and status",
            latency.clone(),
        );
        let rate_limited = Family::<RouteLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 (per-user or per-IP limits, a full password-hashing queue)",
            rate_limited.clone(),
        );
        let login_failures = Counter::default();
        registry.register(
            "login_failures",
            "Sign-ins refused for a wrong username or password or a disabled account",
            login_failures.clone(),
        );
        let pool_in_use = Gauge::default();
        registry.register(
            "db_pool_connections_in_use",
            "Primary pool connections lent to requests",
            pool_in_use.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_connections_idle",
            "Primary pool connections open and idle",
            pool_idle.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_connections_max",
            "Primary pool size (DB_POOL_SIZE)",
            pool_max.clone(),
        );
        let DbStats { waiting, errors } = db.stats();
        registry.register(
            "db_pool_waiting",
            "Requests waiting for a pool connection",
            waiting,
        );
        registry.register(
            "db_errors",
            "Database work that failed: `unavailable` (no connection within DB_POOL_TIMEOUT_MS, lost \
             connection, statement timeout, deadlock) or `failed` (any other database error)",
            errors,
        );
        let webhook_attempts = Family::<WebhookResultLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by result: succeeded, retrying (failed, tried again later) or \
             failed (given up after the retry window, or 410 Gone)",
            webhook_attempts.clone(),
        );
        let webhook_pending = Family::<SubscriptionLabels, Gauge>::default();
        registry.register(
            "webhook_pending",
            "Webhook deliveries waiting, per subscription (refreshed by the dispatcher every few seconds)",
            webhook_pending.clone(),
        );
        let webhook_oldest = Family::<SubscriptionLabels, Gauge>::default();
        registry.register(
            "webhook_oldest_pending_seconds",
            "Age of the oldest waiting webhook delivery, per subscription",
            webhook_oldest.clone(),
        );
        let backup_last_success = Gauge::default();
        registry.register(
            "backup_last_success_timestamp_seconds",
            "When the last good backup finished (Unix time; 0: none yet), from backup_runs",
            backup_last_success.clone(),
        );
        let backup_age = Gauge::default();
        registry.register(
            "backup_last_success_age_seconds",
            "Age of the last good backup (-1: none yet); alert when it passes a day and a bit",
            backup_age.clone(),
        );
        let backup_last_failed = Gauge::default();
        registry.register(
            "backup_last_run_failed",
            "1 when the newest backup run failed (or its verification found a difference), else 0",
            backup_last_failed.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            rate_limited,
            login_failures,
            pool_in_use,
            pool_idle,
            pool_max,
            webhook_attempts,
            webhook_pending,
            webhook_oldest,
            backup_last_success,
            backup_age,
            backup_last_failed,
            backups: std::sync::Arc::default(),
            db: db.clone(),
        }
    }

    /// Records one answered request.
    pub fn record(&self, method: &str, route: Option<String>, status: u16, elapsed: Duration) {
        let route = route.unwrap_or_else(|| "unmatched".to_owned());
        if status == 429 {
            self.rate_limited
                .get_or_create(&RouteLabels {
                    route: route.clone(),
                })
                .inc();
        }
        if status == 401 && route == LOGIN_ROUTE {
            self.login_failures.inc();
        }
        let labels = RequestLabels {
            method: method.to_owned(),
            route,
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Counts webhook attempts by result.
    pub fn webhook_attempts(&self, result: &str, count: u64) {
        self.webhook_attempts
            .get_or_create(&WebhookResultLabels {
                result: result.to_owned(),
            })
            .inc_by(count);
    }

    /// Sets the webhook queues: `(subscription, pending, oldest pending in seconds)`; subscriptions with
    /// nothing pending drop out.
    pub fn webhook_queues(&self, queues: &[(uuid::Uuid, i64, i64)]) {
        self.webhook_pending.clear();
        self.webhook_oldest.clear();
        for (subscription, pending, oldest) in queues {
            let labels = SubscriptionLabels {
                subscription: subscription.to_string(),
            };
            self.webhook_pending.get_or_create(&labels).set(*pending);
            self.webhook_oldest.get_or_create(&labels).set(*oldest);
        }
    }

    /// What this instance knows of the backups (kept current by the backup schedule's thread).
    pub fn backups(&self) -> std::sync::Arc<crate::backup::schedule::BackupStatus> {
        self.backups.clone()
    }

    /// The metrics in OpenMetrics text, with the pool's figures as of now.
    pub fn encode(&self) -> String {
        let pool = self.db.pool_state();
        self.pool_in_use
            .set(i64::from(pool.connections - pool.idle_connections));
        self.pool_idle.set(i64::from(pool.idle_connections));
        self.pool_max.set(i64::from(self.db.pool_size()));
        let backups = self.backups.state();
        match &backups.last_success {
            Some(run) => {
                self.backup_last_success.set(run.finished_at.timestamp());
                self.backup_age
                    .set((chrono::Utc::now() - run.finished_at).num_seconds().max(0));
            }
            None => {
                self.backup_last_success.set(0);
                self.backup_age.set(-1);
            }
        }
        self.backup_last_failed
            .set(i64::from(backups.last.is_some_and(|run| !run.succeeded)));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
