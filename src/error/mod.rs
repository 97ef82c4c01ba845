//! The one error type of the service and its RFC 9457 `application/problem+json` rendering.
//!
//! Every failure a client can see becomes an [`AppError`]: handler errors, extractor errors (through the
//! handlers installed by [`crate::startup`]), unknown routes, wrong methods, and database outages. An
//! [`AppError`] carries a stable machine-readable [`ErrorCode`], optional human text in English and
//! Vietnamese, field errors, and for server-side failures the cause chain, which is logged with the
//! request id and never sent to the client.
//!
//! The final JSON is written by the request-context middleware ([`crate::request_context`]), which knows
//! the request id and the caller's language; [`actix_web::ResponseError`] renders the same shape without
//! them as a fallback.

use std::{borrow::Cow, fmt};

use actix_web::{
    HttpResponse, ResponseError,
    http::{
        StatusCode,
        header::{self, HeaderValue},
    },
};
use serde::Serialize;
use utoipa::ToSchema;

mod codes;
mod conversions;

pub use codes::ErrorCode;
pub use conversions::field_error_from_serde;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The language human-readable error text is written in, chosen from `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Vietnamese.
    Vi,
}

impl Lang {
    /// Picks Vietnamese when the client prefers `vi` over `en`, English otherwise.
    ///
    /// Quality values are honoured (`en;q=0.5, vi` is Vietnamese); unknown languages are ignored.
    pub fn from_accept_language(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Self::En;
        };
        let mut best: Option<(f32, Self)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "vi" => Self::Vi,
                "en" => Self::En,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Self::En, |(_, lang)| lang)
    }
}

/// A piece of text for people, in both languages the API speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// English text.
    pub en: Cow<'static, str>,
    /// Vietnamese text.
    pub vi: Cow<'static, str>,
}

impl Text {
    /// Text given in both languages.
    pub fn new(en: impl Into<Cow<'static, str>>, vi: impl Into<Cow<'static, str>>) -> Self {
        Self {
            en: en.into(),
            vi: vi.into(),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Vi => &self.vi,
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (`participants_female`, `items[3].held_on`, `body`).
    pub field: Cow<'static, str>,
    /// The rule it broke, snake_case (`required`, `exceeds_total`, `unknown_field`).
    pub code: Cow<'static, str>,
    /// What is wrong, for people.
    pub message: Text,
}

impl FieldError {
    /// A field error.
    pub fn new(
        field: impl Into<Cow<'static, str>>,
        code: impl Into<Cow<'static, str>>,
        message: Text,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message,
        }
    }
}

/// Every error the service returns to a client.
#[derive(Debug)]
pub struct AppError {
    code: ErrorCode,
    detail: Option<Text>,
    errors: Vec<FieldError>,
    retry_after_seconds: Option<u32>,
    /// What few errors carry (kept out of line: errors travel in every `Result`).
    extras: Option<Box<Extras>>,
    source: Option<anyhow::Error>,
}

/// The rarer parts of an [`AppError`].
#[derive(Debug, Default)]
struct Extras {
    headers: Vec<(&'static str, String)>,
    pending: Option<PendingRecords>,
}

impl AppError {
    /// An error with only a code (the title says it all).
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            errors: Vec::new(),
            retry_after_seconds: None,
            extras: None,
            source: None,
        }
    }

    /// Adds a human-readable explanation of this occurrence.
    #[must_use]
    pub fn with_detail(mut self, detail: Text) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Keeps the underlying cause for the log (never sent to the client).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Asks the client to wait this many seconds before retrying (`Retry-After`).
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// Names the records awaiting verification (`sign_off_incomplete`).
    #[must_use]
    pub fn with_pending(mut self, pending: PendingRecords) -> Self {
        self.extras.get_or_insert_with(Box::default).pending = Some(pending);
        self
    }

    /// Adds a response header (`Allow`, `RateLimit-Limit`, ...).
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.extras
            .get_or_insert_with(Box::default)
            .headers
            .push((name, value));
        self
    }

    /// Names the fields (headers, parameters) and rules behind a 4xx other than 422.
    #[must_use]
    pub fn with_field_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// 422 listing every invalid field at once.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let count = errors.len();
        let detail = if count == 1 {
            Text::new("1 field is invalid", "1 trường không hợp lệ")
        } else {
            Text::new(
                format!("{count} fields are invalid"),
                format!("{count} trường không hợp lệ"),
            )
        };
        let mut error = Self::new(ErrorCode::ValidationFailed).with_detail(detail);
        error.errors = errors;
        error
    }

    /// 404 for a resource that does not exist or that the caller may not see.
    pub fn not_found(resource: &'static str) -> Self {
        Self::new(ErrorCode::NotFound).with_detail(Text::new(
            format!("No {resource} with this id is visible to you"),
            format!("Không tìm thấy {resource} với mã này trong phạm vi của bạn"),
        ))
    }

    /// 405 with the methods the path does support.
    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        let allow = allowed.join(", ");
        let error = Self::new(ErrorCode::MethodNotAllowed).with_detail(Text::new(
            format!("This path supports: {allow}"),
            format!("Địa chỉ này chỉ hỗ trợ: {allow}"),
        ));
        error.with_header("Allow", allow)
    }

    /// 503 because the database could not be reached or no connection was free in time.
    pub fn database_unavailable(source: impl Into<anyhow::Error>) -> Self {
        Self::new(ErrorCode::DatabaseUnavailable)
            .with_detail(Text::new(
                "The database is unavailable; retry after the indicated delay",
                "Cơ sở dữ liệu tạm thời không truy cập được; vui lòng thử lại sau",
            ))
            .with_retry_after(5)
            .with_source(source)
    }

    /// 500 for an unexpected failure; the cause is logged, the client sees only the request id.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self::new(ErrorCode::Internal).with_source(source)
    }

    /// The generic problem for a status produced outside our handlers (actix, library services).
    pub fn from_status(status: actix_web::http::StatusCode) -> Self {
        let code = match status.as_u16() {
            400 => ErrorCode::InvalidBody,
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::RouteNotFound,
            405 => ErrorCode::MethodNotAllowed,
            406 => ErrorCode::NotAcceptable,
            409 => ErrorCode::Conflict,
            412 => ErrorCode::PreconditionFailed,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::ValidationFailed,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::DatabaseUnavailable,
            _ => ErrorCode::Internal,
        };
        Self::new(code)
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The field errors of a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// True for failures of the server (5xx), whose causes are logged.
    pub fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }

    /// The logged cause chain, outermost first (`a: b: c`).
    pub fn cause_chain(&self) -> Option<String> {
        self.source.as_ref().map(|source| format!("{source:#}"))
    }

    /// The problem document for a client speaking `lang`, tagged with `request_id`.
    pub fn problem(&self, lang: Lang, request_id: Option<&str>) -> Problem {
        Problem {
            problem_type: format!("/problems/{}", self.code.as_str()),
            title: self.code.title().get(lang).to_owned(),
            status: self.status().as_u16(),
            detail: self.detail.as_ref().map(|d| d.get(lang).to_owned()),
            code: self.code.as_str().to_owned(),
            request_id: request_id.map(str::to_owned),
            errors: self
                .errors
                .iter()
                .map(|e| ProblemFieldError {
                    field: e.field.to_string(),
                    code: e.code.to_string(),
                    message: e.message.get(lang).to_owned(),
                })
                .collect(),
            pending: self.extras.as_ref().and_then(|e| e.pending.clone()),
        }
    }

    /// The full HTTP response: status, problem+json body and the headers the code calls for.
    pub fn render(&self, lang: Lang, request_id: Option<&str>) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        for (name, value) in self.extras.iter().flat_map(|e| e.headers.iter()) {
            response.insert_header((*name, value.clone()));
        }
        if self.status() == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let body = serde_json::to_vec(&self.problem(lang, request_id)).unwrap_or_default();
        response.body(body)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {}", detail.en)?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.render(Lang::En, None)
    }
}

/// RFC 9457 problem details, as sent for every error.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({
    "type": "/problems/validation_failed",
    "title": "Request body is invalid",
    "status": 422,
    "detail": "1 field is invalid",
    "code": "validation_failed",
    "request_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a",
    "errors": [{"field": "participants_female", "code": "exceeds_total", "message": "must not exceed participants_total"}]
}))]
pub struct Problem {
    /// A relative URI identifying the problem type; it ends in `code`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type (Vietnamese with `Accept-Language: vi`).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `database_unavailable`.
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// The request id (also in the `X-Request-Id` header); quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every invalid field, for `validation_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
    /// `sign_off_incomplete`: the records of the month still awaiting verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingRecords>,
}

/// Records awaiting verification, per kind, with the lists that show them.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"training_sessions": 12, "reach_activities": 3,
    "links": {"training_sessions": "/api/v1/training-sessions?org_unit_id=0193a0f4-7b1e-7c53-a8e1-000000000002&from=2026-10-01&to=2026-10-31&status=submitted",
              "reach_activities": "/api/v1/reach-activities?org_unit_id=0193a0f4-7b1e-7c53-a8e1-000000000002&from=2026-10-01&to=2026-10-31&status=submitted"}}))]
pub struct PendingRecords {
    pub training_sessions: i64,
    pub reach_activities: i64,
    pub links: PendingLinks,
}

/// The filtered lists of [`PendingRecords`].
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct PendingLinks {
    pub training_sessions: String,
    pub reach_activities: String,
}

/// One invalid field in a [`Problem`].
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProblemFieldError {
    /// The field as named in the request.
    pub field: String,
    /// The rule it broke (snake_case).
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
}

#[cfg(test)]
mod tests;
