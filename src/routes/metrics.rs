//! `GET /metrics`: Prometheus metrics for monitoring systems (outside `/api/v1`).

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};

use crate::{
    auth::policy,
    config::Settings,
    error::{AppError, Problem},
    metrics::{self, Metrics},
};

/// Prometheus metrics.
///
/// Requests answered and their latency (histogram) by method, route pattern and status; the primary
/// connection pool (in use, idle, size, waiting); failed database work by kind; 429 rejections by
/// route; failed sign-ins. OpenMetrics text format, which Prometheus scrapes natively.
///
/// On `BIND_ADDR` this answers only with `Authorization: Bearer <METRICS_TOKEN>` (401 for a missing
/// or other token, and for every request when no `METRICS_TOKEN` is configured); a listener on the internal
/// `METRICS_BIND_ADDR` serves it without a token unless `METRICS_TOKEN` is set. User access tokens
/// never open it.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_metrics",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "The metrics, in OpenMetrics text.", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String,
         example = "# HELP cdt_http_requests Number of HTTP requests answered, by method, route pattern and status\n# TYPE cdt_http_requests counter\ncdt_http_requests_total{method=\"GET\",route=\"/api/v1/teams\",status=\"200\"} 1042\n# EOF\n"),
        (status = 401, description = "No `Authorization: Bearer <METRICS_TOKEN>`, another token, or no `METRICS_TOKEN` configured for this address (`unauthorized`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn get_metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    serve(&req, &metrics, &settings, false)
}

/// The handler of the internal `METRICS_BIND_ADDR` listener: the token is required only when one is
/// configured.
pub async fn get_metrics_internal(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    serve(&req, &metrics, &settings, true)
}

fn serve(
    req: &HttpRequest,
    metrics: &Metrics,
    settings: &Settings,
    internal: bool,
) -> Result<HttpResponse, AppError> {
    let presented = crate::auth::bearer_token(req.headers());
    policy::authorize_metrics(settings.metrics_token.as_ref(), presented, internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, metrics::CONTENT_TYPE))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(metrics.encode()))
}
