//! Per-request context: the request id, the request's tracing span and log line, and the final rendering of
//! every error as problem+json.
//!
//! - `X-Request-Id` is taken from the client when it is a sane token (1-64 of `A-Za-z0-9._-`), otherwise a
//!   UUID v7 is generated; it is echoed on the response and recorded on the span, so every log line of the
//!   request carries it.
//! - Errors are rendered here because only here are both the request id and the caller's language known:
//!   an [`AppError`] is re-rendered with them; any other error response (from actix itself or a library
//!   service such as Swagger UI) is replaced by the problem document for its status. A 5xx logs its cause
//!   chain at `error` level.
//! - Security headers go on every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//!   no-referrer`, a Content-Security-Policy (a strict one for API responses, one that lets the Swagger UI
//!   run its own files for `/docs`), and `Cache-Control: no-store` on every response that did not choose
//!   its own caching: API responses carry names, phone numbers and tokens, which no cache may keep.
//! - The request is counted in the metrics by route pattern and final status.

use std::time::Instant;

use actix_web::{
    Error, HttpMessage, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
};
use tracing::Instrument;

use crate::{
    error::{AppError, Lang, PROBLEM_JSON},
    metrics::Metrics,
};

/// Content-Security-Policy of API responses: nothing may load or frame them.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Content-Security-Policy of the Swagger UI: its own scripts, styles and the document, nothing from
/// elsewhere (it is vendored), and it may not be framed. Swagger UI sets inline styles, and shows
/// inline SVG and data: images.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; font-src 'self' data:; \
                        object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The request id header.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, available to handlers through request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The middleware function; install with `actix_web::middleware::from_fn(request_context)`.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_acceptable_request_id(id))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req.app_data::<actix_web::web::Data<Metrics>>().cloned();
    let draining = req
        .app_data::<actix_web::web::Data<crate::startup::Draining>>()
        .is_some_and(|draining| draining.is_set());
    let method = req.method().as_str().to_owned();

    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let response = next.call(req).instrument(span.clone()).await?;
    let _entered = span.enter();

    let mut response = render_error(response.map_into_boxed_body(), lang, &request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if draining {
        // Shutting down: answer, then close, so the client's next request opens a fresh connection
        // (to another instance, or to this one's successor).
        response
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    let is_docs = response.request().path().starts_with("/docs");
    add_security_headers(response.headers_mut(), is_docs);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.record(&method, response.request().match_pattern(), status, elapsed);
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, elapsed_ms, "request failed");
    } else {
        tracing::info!(status, elapsed_ms, "request completed");
    }
    Ok(response)
}

fn render_error(
    response: ServiceResponse<BoxBody>,
    lang: Lang,
    request_id: &str,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if let Some(error) = response.response().error() {
        let rendered = match error.as_error::<AppError>() {
            Some(app_error) => {
                log_cause(app_error);
                app_error.render(lang, Some(request_id))
            }
            None => {
                let app_error =
                    AppError::from_status(status).with_source(anyhow::anyhow!("{error}"));
                log_cause(&app_error);
                app_error.render(lang, Some(request_id))
            }
        };
        let (req, _) = response.into_parts();
        return ServiceResponse::new(req, rendered);
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(PROBLEM_JSON));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let rendered: HttpResponse = AppError::from_status(status).render(lang, Some(request_id));
        let (req, _) = response.into_parts();
        return ServiceResponse::new(req, rendered);
    }
    response
}

fn add_security_headers(headers: &mut header::HeaderMap, is_docs: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if is_docs { DOCS_CSP } else { API_CSP }),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

fn log_cause(error: &AppError) {
    if error.is_server_error() {
        tracing::error!(
            code = error.code().as_str(),
            cause = error.cause_chain().unwrap_or_default(),
            "request failed on the server side"
        );
    }
}

fn is_acceptable_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_client_request_ids_are_kept() {
        assert!(is_acceptable_request_id("abc-123_X.y"));
        assert!(is_acceptable_request_id(&"a".repeat(64)));
        assert!(!is_acceptable_request_id(&"a".repeat(65)));
        assert!(!is_acceptable_request_id(""));
        assert!(!is_acceptable_request_id("with space"));
        assert!(!is_acceptable_request_id("new\nline"));
    }
}
