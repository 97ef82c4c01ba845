//! Building and running the service: the database (embedded or configured), migrations, middleware,
//! extractor error handling, the route table and the HTTP server. [`Application::build`] is used by
//! `main` and by the tests alike.

use std::{net::TcpListener, time::Duration};

use actix_web::{
    App, HttpServer,
    dev::Server,
    http::header,
    middleware::{Compress, from_fn},
    web,
};
use anyhow::Context;
use secrecy::SecretString;
use utoipa_actix_web::AppExt;

use crate::{
    auth::AuthState,
    config::Settings,
    db::{Db, PoolOptions, embedded::EmbeddedPostgres, migrations},
    error::AppError,
    idempotency::idempotency,
    metrics::Metrics,
    openapi::ApiSpec,
    request_context::request_context,
    routes,
};

/// Largest JSON body accepted by default (imports set their own, larger limits).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// How long startup waits for the database before giving up.
pub const DATABASE_STARTUP_PATIENCE: Duration = Duration::from_secs(30);

/// The name of the database inside the embedded PostgreSQL.
pub const EMBEDDED_DATABASE: &str = "cdt";

/// A built, bound, not yet running HTTP server (and the internal metrics listener, when configured).
pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<(u16, Server)>,
    draining: web::Data<Draining>,
    drain: std::time::Duration,
    backups: std::sync::Arc<crate::backup::schedule::BackupStatus>,
    signals: ShutdownSignals,
}

/// SIGTERM and SIGINT, listened for from the moment the server is built (before its workers answer
/// anything), so a signal that arrives as soon as `/readyz` says ready is a drain, never a kill.
struct ShutdownSignals {
    terminate: actix_web::rt::signal::unix::Signal,
    interrupt: actix_web::rt::signal::unix::Signal,
}

impl ShutdownSignals {
    fn listen() -> std::io::Result<Self> {
        use actix_web::rt::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either.
    async fn recv(mut self) {
        futures_util::future::select(
            Box::pin(self.terminate.recv()),
            Box::pin(self.interrupt.recv()),
        )
        .await;
    }
}

/// Set on SIGTERM or SIGINT: `/readyz` answers 503 and every answer carries `Connection: close` while the
/// server keeps serving for `SHUTDOWN_DRAIN_SECONDS`.
#[derive(Debug, Default)]
pub struct Draining(std::sync::atomic::AtomicBool);

impl Draining {
    /// True once a shutdown signal arrived.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `settings.bind_addr` and builds the server with the production routes.
    pub fn build(settings: &Settings, db: Db) -> anyhow::Result<Self> {
        Self::build_with_routes(settings, db, |_| {})
    }

    /// Like [`Application::build`], with `extra_routes` mounted too (tests use this to reach extractor
    /// behaviour through real handlers).
    pub fn build_with_routes(
        settings: &Settings,
        db: Db,
        extra_routes: fn(&mut web::ServiceConfig),
    ) -> anyhow::Result<Self> {
        let signals = ShutdownSignals::listen().context("cannot listen for shutdown signals")?;
        let listener = TcpListener::bind(settings.bind_addr)
            .with_context(|| format!("cannot listen on BIND_ADDR={}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let db = web::Data::new(db);
        let spec = web::Data::new(ApiSpec::build());
        let auth = web::Data::new(AuthState::from_settings(settings)?);
        let shared_settings = web::Data::new(settings.clone());
        let unit_graph = web::Data::new(crate::models::stats::ReportCache::default());
        let metrics = web::Data::new(Metrics::new(db.get_ref()));
        let backups = metrics.backups();
        backups.set_schedule(settings.backups.schedule);
        actix_web::rt::spawn(crate::idempotency::purge_expired_keys(db.get_ref().clone()));
        let evidence = web::Data::new(crate::evidence::Evidence::open(settings)?);
        crate::evidence::spawn_purge(db.get_ref().clone(), evidence.clone().into_inner())?;
        let webhook_settings = web::Data::new(
            crate::domain::webhooks::WebhookSettings::from_settings(settings)?,
        );
        actix_web::rt::spawn(crate::dispatch::run(
            db.get_ref().clone(),
            crate::dispatch::DispatchSettings::new(
                settings,
                &webhook_settings,
                metrics.clone().into_inner(),
            ),
        ));
        let origins = settings.cors_allowed_origins.clone();
        let shutdown_seconds = settings.shutdown_timeout.as_secs();

        let metrics_server = match settings.metrics_bind_addr {
            Some(address) => Some(metrics_listener(
                address,
                metrics.clone(),
                shared_settings.clone(),
                shutdown_seconds,
            )?),
            None => None,
        };
        let app_metrics = metrics.clone();
        let draining = web::Data::new(Draining::default());
        let app_draining = draining.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(idempotency))
                .wrap(from_fn(crate::negotiation::negotiate))
                .wrap(cors(&origins))
                .wrap(from_fn(request_context))
                .wrap(Compress::default())
                .app_data(json_config())
                .app_data(web::PayloadConfig::new(JSON_BODY_LIMIT))
                .app_data(query_config())
                .app_data(path_config())
                .app_data(db.clone())
                .app_data(spec.clone())
                .app_data(auth.clone())
                .app_data(shared_settings.clone())
                .app_data(unit_graph.clone())
                .app_data(webhook_settings.clone())
                .app_data(evidence.clone())
                .app_data(app_metrics.clone())
                .app_data(app_draining.clone())
                .into_utoipa_app()
                .configure(routes::configure)
                .into_app()
                .configure(routes::configure_documentation_ui)
                .configure(extra_routes)
                .default_service(web::to(routes::fallback))
        })
        .listen(listener)?
        // Responses are written in pieces (headers, compressed chunks, the last chunk): without
        // TCP_NODELAY, Nagle's algorithm holds the last piece for the client's delayed ACK (40 ms).
        .tcp_nodelay(true)
        // Database work runs on each worker's blocking pool and needs a pooled connection: threads beyond
        // the pool size would only queue for one (default: 512 / cores threads per worker).
        .worker_max_blocking_threads(
            usize::try_from(settings.db_pool_size).unwrap_or(10).max(2) + 2,
        )
        .shutdown_timeout(shutdown_seconds)
        // Signals are handled by `run_until_stopped`, which drains before stopping.
        .disable_signals()
        .run();
        Ok(Self {
            port,
            server,
            metrics: metrics_server,
            draining,
            drain: settings.shutdown_drain,
            backups,
            signals,
        })
    }

    /// The port actually bound (useful with `BIND_ADDR=...:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the internal metrics listener, when `METRICS_BIND_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGINT/SIGTERM; then drains for `SHUTDOWN_DRAIN_SECONDS` (still serving, `/readyz`
    /// 503, `Connection: close` on every answer so keep-alive clients move to fresh connections), then
    /// stops accepting connections, finishes in-flight requests (up to `SHUTDOWN_TIMEOUT_SECONDS`) and
    /// returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handles: Vec<_> = std::iter::once(self.server.handle())
            .chain(self.metrics.as_ref().map(|(_, metrics)| metrics.handle()))
            .collect();
        let (draining, drain) = (self.draining.clone(), self.drain);
        let signals = self.signals;
        actix_web::rt::spawn(async move {
            signals.recv().await;
            draining.set();
            tracing::info!(seconds = drain.as_secs(), "shutdown signal: draining");
            actix_web::rt::time::sleep(drain).await;
            tracing::info!("drained: no new connections; finishing what is in flight");
            futures_util::future::join_all(handles.iter().map(|handle| handle.stop(true))).await;
        });
        match self.metrics {
            Some((_, metrics)) => {
                let (served, metrics) = futures_util::future::join(self.server, metrics).await;
                served.and(metrics)
            }
            None => self.server.await,
        }
    }
}

/// `METRICS_BIND_ADDR`: one worker serving only `GET /metrics`.
fn metrics_listener(
    address: std::net::SocketAddr,
    metrics: web::Data<Metrics>,
    settings: web::Data<Settings>,
    shutdown_seconds: u64,
) -> anyhow::Result<(u16, Server)> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen on METRICS_BIND_ADDR={address}"))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(request_context))
            .app_data(metrics.clone())
            .app_data(settings.clone())
            .route(
                "/metrics",
                web::get().to(routes::metrics::get_metrics_internal),
            )
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(AppError::new(
                    crate::error::ErrorCode::RouteNotFound,
                ))
            }))
    })
    .listen(listener)?
    .workers(1)
    .shutdown_timeout(shutdown_seconds)
    .disable_signals()
    .run();
    Ok((port, server))
}

/// CORS for the origins in `CORS_ALLOWED_ORIGINS` (none: no cross-origin access). Requests from other
/// origins are served without CORS headers (so browsers withhold the response) rather than refused, so
/// same-origin and non-browser clients are unaffected.
fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .block_on_origin_mismatch(false)
        .allowed_methods(["GET", "HEAD", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
            header::RANGE,
            // tus 1.0 (resumable uploads from browsers: tus-js-client).
            header::HeaderName::from_static("tus-resumable"),
            header::HeaderName::from_static("upload-length"),
            header::HeaderName::from_static("upload-offset"),
            header::HeaderName::from_static("upload-metadata"),
            header::HeaderName::from_static("upload-checksum"),
            header::HeaderName::from_static("upload-defer-length"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-next-cursor"),
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotency-replayed"),
            header::CONTENT_DISPOSITION,
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::HeaderName::from_static("tus-resumable"),
            header::HeaderName::from_static("tus-version"),
            header::HeaderName::from_static("tus-extension"),
            header::HeaderName::from_static("tus-max-size"),
            header::HeaderName::from_static("tus-checksum-algorithm"),
            header::HeaderName::from_static("upload-offset"),
            header::HeaderName::from_static("upload-length"),
            header::HeaderName::from_static("upload-expires"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

fn json_config() -> web::JsonConfig {
    json_config_with(JSON_BODY_LIMIT)
}

/// JSON bodies up to `limit` bytes, errors as problem documents (routes with larger bodies use their own).
pub fn json_config_with(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req| AppError::from(error).into())
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| AppError::from(error).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, req| {
        // `PATCH /org-units/reorganizations` matches `PATCH /org-units/{id}` with an id that is not
        // one; the request was really for the literal path, which does not support this method.
        let literal = req
            .app_data::<web::Data<ApiSpec>>()
            .and_then(|spec| spec.methods_at(req.path(), None));
        match literal {
            Some(methods) => AppError::method_not_allowed(methods).into(),
            None => AppError::from(error).into(),
        }
    })
}

/// The pool settings from the configuration.
pub fn pool_options(settings: &Settings) -> PoolOptions {
    PoolOptions {
        size: settings.db_pool_size,
        checkout_timeout: settings.db_pool_timeout,
        statement_timeout: settings.db_statement_timeout,
    }
}

/// The pools for the primary at `url` and, with `READ_DATABASE_URL`, the read replica.
pub fn pools(url: &SecretString, settings: &Settings) -> Db {
    let db = Db::new(url, &pool_options(settings));
    match &settings.read_database_url {
        Some(replica) => {
            tracing::info!("reports and list reads go to the read replica (READ_DATABASE_URL)");
            db.with_replica(replica, &pool_options(settings), settings.read_your_writes)
        }
        None => db,
    }
}

/// The database the service uses: `DATABASE_URL`, or else an embedded PostgreSQL started now (returned
/// so the caller stops it on shutdown). Waits up to 30 s for the database to answer.
pub fn open_database(settings: &Settings) -> anyhow::Result<(Db, Option<EmbeddedPostgres>)> {
    let (url, embedded): (SecretString, _) = match &settings.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let embedded = EmbeddedPostgres::start(&crate::backup::embedded_options(settings))
                .context(
                    "starting the embedded PostgreSQL (set DATABASE_URL to use your own server)",
                )?;
            tracing::info!(
                data_dir = %embedded.pgdata().display(),
                port = embedded.port(),
                "embedded PostgreSQL started"
            );
            (embedded.database_url(), Some(embedded))
        }
    };
    let db = pools(&url, settings);
    db.wait_until_reachable(DATABASE_STARTUP_PATIENCE)?;
    Ok((db, embedded))
}

/// Starts the thread that keeps the backup figures of `/metrics` and `/readyz` current and, with
/// `BACKUP_SCHEDULE`, takes the scheduled backups (see [`crate::backup::schedule`]).
fn spawn_backup_schedule(
    settings: &Settings,
    embedded: Option<&EmbeddedPostgres>,
    status: std::sync::Arc<crate::backup::schedule::BackupStatus>,
) -> anyhow::Result<()> {
    use crate::backup::Source;
    let url = match (embedded, &settings.database_url) {
        (Some(embedded), _) => embedded.database_url(),
        (None, Some(url)) => url.clone(),
        (None, None) => return Ok(()),
    };
    let source = match (settings.backups.schedule, embedded) {
        (None, _) => None,
        (Some(_), Some(embedded)) => Some(Source::embedded(embedded)),
        (Some(_), None) => match Source::external(&url, settings) {
            Ok(source) => Some(source),
            Err(error) => {
                tracing::error!(
                    error = %format!("{error:#}"),
                    "BACKUP_SCHEDULE is set but backups cannot be taken from this host"
                );
                None
            }
        },
    };
    let settings = settings.clone();
    std::thread::Builder::new()
        .name("backup-schedule".to_owned())
        .spawn(move || crate::backup::schedule::run(settings, url, source, status))
        .context("starting the backup schedule")?;
    Ok(())
}

/// Applies pending migrations and logs what was applied.
pub fn migrate(db: &Db) -> anyhow::Result<Vec<String>> {
    let mut conn = db.blocking_connection()?;
    let applied = migrations::run_pending(&mut conn)?;
    if applied.is_empty() {
        tracing::info!("database schema is current");
    } else {
        tracing::info!(?applied, "applied migrations");
    }
    Ok(applied)
}

/// `cdt-api serve [--demo]`: database, migrations, demo data when asked, HTTP server until a shutdown
/// signal, then the embedded PostgreSQL (if any) is stopped.
pub fn serve(settings: &Settings, demo: bool) -> anyhow::Result<()> {
    let (db, mut embedded) = open_database(settings)?;
    migrate(&db)?;
    if demo {
        let mut conn = db.blocking_connection()?;
        crate::commands::load_demo(&mut conn, settings)?;
    }
    let result = actix_web::rt::System::new().block_on(async {
        let application = Application::build(settings, db)?;
        let address = format!("{}:{}", settings.bind_addr.ip(), application.port());
        tracing::info!(
            "cdt-api {} listening on http://{address} (documentation at http://{address}/docs/)",
            env!("CARGO_PKG_VERSION")
        );
        spawn_backup_schedule(settings, embedded.as_ref(), application.backups.clone())?;
        application.run_until_stopped().await?;
        tracing::info!("HTTP server stopped");
        anyhow::Ok(())
    });
    if let Some(embedded) = embedded.as_mut() {
        embedded.stop()?;
        tracing::info!("embedded PostgreSQL stopped");
    }
    result
}
