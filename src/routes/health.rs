//! Liveness and readiness probes for orchestrators and load balancers (outside `/api/v1`).

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    db::{Db, migrations},
    error::{AppError, ErrorCode, Problem, Text},
};

/// `ok`: the process is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    Ok,
}

/// `ready`: the service can serve requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    Ready,
}

/// `up`: the database answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseState {
    Up,
}

/// `current`: every migration of this build is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    Current,
}

/// How the backups stand: `ok` (the last good backup is recent), `stale` (older than 26 hours with a
/// daily schedule), `failing` (the newest run failed), `none` (no good backup yet), `unknown` (not read
/// yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupHealth {
    Ok,
    Stale,
    Failing,
    None,
    Unknown,
}

/// The backups as this instance last read them from `backup_runs` (once a minute). Informational:
/// readiness does not depend on it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ok", "schedule": "02:00", "last_success_at": "2026-12-07T19:04:12Z",
                          "age_seconds": 3600}))]
pub struct BackupReadiness {
    /// How the backups stand.
    pub status: BackupHealth,
    /// `BACKUP_SCHEDULE` (daily, Vietnam time), absent when off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When the last good backup finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its age in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

/// The process is alive.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    /// Always `ok`.
    pub status: Liveness,
}

/// The service can serve requests.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ready", "database": "up", "migrations": "current",
                          "backup": {"status": "ok", "schedule": "02:00",
                                     "last_success_at": "2026-12-07T19:04:12Z", "age_seconds": 3600}}))]
pub struct ReadinessResponse {
    /// Always `ready`.
    pub status: Readiness,
    /// `up`: the database answered.
    pub database: DatabaseState,
    /// `current`: every migration of this build is applied.
    pub migrations: MigrationState,
    /// The backups (detail for operators; a stale backup does not make the instance unready).
    pub backup: BackupReadiness,
}

impl BackupReadiness {
    fn of(state: &crate::backup::schedule::BackupState) -> Self {
        let now = chrono::Utc::now();
        let age = state
            .last_success
            .as_ref()
            .map(|run| (now - run.finished_at).num_seconds().max(0));
        let status = if !state.known {
            BackupHealth::Unknown
        } else if state.last.as_ref().is_some_and(|run| !run.succeeded) {
            BackupHealth::Failing
        } else if state.last_success.is_none() {
            BackupHealth::None
        } else if state.schedule.is_some()
            && age.is_some_and(|age| age > crate::backup::schedule::STALE_AFTER.num_seconds())
        {
            BackupHealth::Stale
        } else {
            BackupHealth::Ok
        };
        Self {
            status,
            schedule: state.schedule.map(|time| time.format("%H:%M").to_string()),
            last_success_at: state.last_success.as_ref().map(|run| run.finished_at),
            age_seconds: age,
        }
    }
}

/// Liveness probe.
///
/// Answers 200 while the process runs and its HTTP workers respond. It does not touch the database,
/// so a database outage does not make an orchestrator restart the service.
#[utoipa::path(
    tag = "operations",
    operation_id = "check_health",
    security(()),
    responses(
        (status = 200, description = "The process is alive.", body = HealthResponse),
    )
)]
#[get("/healthz")]
pub async fn check_health() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(HealthResponse {
            status: Liveness::Ok,
        })
}

/// Readiness probe.
///
/// Answers 200 when the database answers and every migration of this build has been applied;
/// otherwise 503 `not_ready` with `Retry-After`. Load balancers should route traffic only to ready
/// instances. The check waits at most `DB_POOL_TIMEOUT_MS` for a connection. The answer also tells how
/// the backups stand (`backup`), for operators; that part never makes the instance unready.
#[utoipa::path(
    tag = "operations",
    operation_id = "check_readiness",
    security(()),
    responses(
        (status = 200, description = "Ready to serve.", body = ReadinessResponse),
        (status = 503, description = "The database is unreachable or migrations are pending.",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "/problems/not_ready", "title": "Service not ready", "status": 503,
                          "detail": "The database does not answer", "code": "not_ready",
                          "request_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a"})),
    )
)]
#[get("/readyz")]
pub async fn check_readiness(
    db: web::Data<Db>,
    draining: Option<web::Data<crate::startup::Draining>>,
    metrics: Option<web::Data<crate::metrics::Metrics>>,
) -> Result<HttpResponse, AppError> {
    if draining.is_some_and(|draining| draining.is_set()) {
        return Err(AppError::new(ErrorCode::NotReady)
            .with_detail(Text::new(
                "The server is shutting down",
                "Máy chủ đang dừng",
            ))
            .with_retry_after(5));
    }
    let pending = db
        // Reading the migration table is itself the proof that the database answers.
        .run(|conn| migrations::has_pending(conn).map_err(AppError::internal))
        .await
        .map_err(|error| {
            AppError::new(ErrorCode::NotReady)
                .with_detail(Text::new(
                    "The database does not answer",
                    "Cơ sở dữ liệu không phản hồi",
                ))
                .with_retry_after(5)
                .with_source(error)
        })?;
    if pending {
        return Err(AppError::new(ErrorCode::NotReady)
            .with_detail(Text::new(
                "Database migrations are pending; run `cdt-api migrate`",
                "Chưa cập nhật cấu trúc cơ sở dữ liệu; hãy chạy `cdt-api migrate`",
            ))
            .with_retry_after(30));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ReadinessResponse {
            status: Readiness::Ready,
            database: DatabaseState::Up,
            migrations: MigrationState::Current,
            backup: BackupReadiness::of(
                &metrics
                    .map(|metrics| metrics.backups().state())
                    .unwrap_or_default(),
            ),
        }))
}
