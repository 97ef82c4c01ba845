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

/// Stable, machine-readable error codes. Clients switch on these; a unit test pins them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The body is not well-formed JSON.
    MalformedJson,
    /// The query string does not parse.
    InvalidQuery,
    /// A path segment does not parse (for example an id that is not a UUID).
    InvalidPath,
    /// The body could not be read (truncated or broken transfer).
    InvalidBody,
    /// No, expired or invalid credentials.
    Unauthorized,
    /// Authenticated, but the role may not do this at all.
    Forbidden,
    /// No such resource, or the caller may not see it.
    NotFound,
    /// No route has this path.
    RouteNotFound,
    /// The path exists but not with this method.
    MethodNotAllowed,
    /// The `Accept` header asks for a representation this endpoint cannot produce.
    NotAcceptable,
    /// A state conflict.
    Conflict,
    /// `If-Match` does not match the current version.
    PreconditionFailed,
    /// The body is larger than this endpoint accepts.
    PayloadTooLarge,
    /// The body's `Content-Type` is not accepted here.
    UnsupportedMediaType,
    /// Well-formed but invalid input; see `errors`.
    ValidationFailed,
    /// Too many requests; wait for `Retry-After`.
    RateLimited,
    /// Wrong username or password, or a disabled account (indistinguishable on purpose).
    InvalidCredentials,
    /// The refresh token is unknown, expired or revoked.
    InvalidRefreshToken,
    /// A refresh token was presented again after it had been rotated; its whole family is revoked.
    RefreshTokenReused,
    /// The `Idempotency-Key` was used before with a different request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyInProgress,
    /// The reporting period of this record is closed for this role.
    PeriodLocked,
    /// A verified session is frozen (except for admins).
    SessionVerified,
    /// The database cannot be reached or every connection is busy; retry after `Retry-After`.
    DatabaseUnavailable,
    /// The service is running but not ready to serve (database down or migrations pending).
    NotReady,
    /// An unexpected failure inside the service.
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [Self; 26] = [
        Self::MalformedJson,
        Self::InvalidQuery,
        Self::InvalidPath,
        Self::InvalidBody,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::RouteNotFound,
        Self::MethodNotAllowed,
        Self::NotAcceptable,
        Self::Conflict,
        Self::PreconditionFailed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::ValidationFailed,
        Self::RateLimited,
        Self::InvalidCredentials,
        Self::InvalidRefreshToken,
        Self::RefreshTokenReused,
        Self::IdempotencyKeyReused,
        Self::IdempotencyInProgress,
        Self::PeriodLocked,
        Self::SessionVerified,
        Self::DatabaseUnavailable,
        Self::NotReady,
        Self::Internal,
    ];

    /// The snake_case code sent as `code` and at the end of `type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidPath => "invalid_path",
            Self::InvalidBody => "invalid_body",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotAcceptable => "not_acceptable",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::RateLimited => "rate_limited",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyInProgress => "idempotency_in_progress",
            Self::PeriodLocked => "period_locked",
            Self::SessionVerified => "session_verified",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::NotReady => "not_ready",
            Self::Internal => "internal_error",
        }
    }

    /// The HTTP status this code is sent with.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::InvalidQuery | Self::InvalidPath | Self::InvalidBody => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized
            | Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyInProgress | Self::PeriodLocked | Self::SessionVerified => {
                StatusCode::CONFLICT
            }
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::DatabaseUnavailable | Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, fixed summary of the problem for people.
    pub fn title(self) -> Text {
        let (en, vi) = match self {
            Self::MalformedJson => (
                "Request body is not valid JSON",
                "Nội dung yêu cầu không phải JSON hợp lệ",
            ),
            Self::InvalidQuery => ("Query string is invalid", "Tham số truy vấn không hợp lệ"),
            Self::InvalidPath => (
                "Path parameter is invalid",
                "Tham số đường dẫn không hợp lệ",
            ),
            Self::InvalidBody => (
                "Request body could not be read",
                "Không đọc được nội dung yêu cầu",
            ),
            Self::Unauthorized => ("Authentication required", "Cần đăng nhập"),
            Self::Forbidden => ("Not allowed", "Không có quyền thực hiện"),
            Self::NotFound => ("Resource not found", "Không tìm thấy dữ liệu"),
            Self::RouteNotFound => ("No such endpoint", "Không có địa chỉ này"),
            Self::MethodNotAllowed => ("Method not allowed", "Phương thức không được hỗ trợ"),
            Self::NotAcceptable => (
                "Representation not available",
                "Không có định dạng được yêu cầu",
            ),
            Self::Conflict => (
                "Conflict with the current state",
                "Xung đột với trạng thái hiện tại",
            ),
            Self::PreconditionFailed => ("Version does not match", "Phiên bản không khớp"),
            Self::PayloadTooLarge => ("Request body is too large", "Nội dung yêu cầu quá lớn"),
            Self::UnsupportedMediaType => (
                "Unsupported content type",
                "Kiểu nội dung không được hỗ trợ",
            ),
            Self::ValidationFailed => ("Request body is invalid", "Dữ liệu gửi lên không hợp lệ"),
            Self::RateLimited => ("Too many requests", "Quá nhiều yêu cầu"),
            Self::InvalidCredentials => (
                "Wrong username or password",
                "Sai tên đăng nhập hoặc mật khẩu",
            ),
            Self::InvalidRefreshToken => ("Refresh token is not valid", "Mã làm mới không hợp lệ"),
            Self::RefreshTokenReused => (
                "Refresh token was already used; all sessions of this sign-in are ended",
                "Mã làm mới đã được dùng; mọi phiên của lần đăng nhập này đã bị huỷ",
            ),
            Self::IdempotencyKeyReused => (
                "Idempotency-Key was used with another request",
                "Idempotency-Key đã được dùng cho một yêu cầu khác",
            ),
            Self::IdempotencyInProgress => (
                "A request with this Idempotency-Key is still in progress",
                "Yêu cầu với Idempotency-Key này đang được xử lý",
            ),
            Self::PeriodLocked => ("The reporting period is locked", "Kỳ báo cáo đã khoá"),
            Self::SessionVerified => (
                "The session is verified and frozen",
                "Buổi đã được xác nhận, không thể sửa",
            ),
            Self::DatabaseUnavailable => (
                "Service temporarily unavailable",
                "Dịch vụ tạm thời không khả dụng",
            ),
            Self::NotReady => ("Service not ready", "Dịch vụ chưa sẵn sàng"),
            Self::Internal => ("Internal server error", "Lỗi máy chủ"),
        };
        Text::new(en, vi)
    }
}

impl ErrorCode {
    /// When the problem happens and what a client should do, for `GET /problems/{code}`.
    pub fn explanation(self) -> Text {
        let (en, vi) = match self {
            Self::MalformedJson => (
                "The body is not JSON. Fix the syntax and send again.",
                "Nội dung không phải JSON; sửa cú pháp rồi gửi lại.",
            ),
            Self::InvalidQuery => (
                "A query parameter does not parse (a bad date, number or cursor).",
                "Một tham số truy vấn không đọc được (ngày, số hoặc cursor sai).",
            ),
            Self::InvalidPath => (
                "A path parameter does not parse (usually not a UUID).",
                "Một tham số đường dẫn không đọc được (thường không phải UUID).",
            ),
            Self::InvalidBody => (
                "The body could not be read (broken transfer or encoding).",
                "Không đọc được nội dung (truyền hỏng hoặc mã hoá sai).",
            ),
            Self::Unauthorized => (
                "No valid access token: sign in, or refresh an expired token.",
                "Không có mã truy cập hợp lệ: đăng nhập hoặc làm mới mã đã hết hạn.",
            ),
            Self::Forbidden => (
                "Your role may never do this; asking again will not help.",
                "Vai trò của bạn không được làm việc này.",
            ),
            Self::NotFound => (
                "No such record, or it is outside your scope (the two look the same).",
                "Không có bản ghi này, hoặc nó ngoài phạm vi của bạn.",
            ),
            Self::RouteNotFound => (
                "No endpoint at this address; see /docs/.",
                "Không có địa chỉ này; xem /docs/.",
            ),
            Self::MethodNotAllowed => (
                "The address exists but not with this method; see `Allow`.",
                "Địa chỉ có nhưng không hỗ trợ phương thức này; xem `Allow`.",
            ),
            Self::NotAcceptable => (
                "The endpoint cannot answer in a format your `Accept` allows.",
                "Không có định dạng mà `Accept` cho phép.",
            ),
            Self::Conflict => (
                "The request conflicts with the current state (a duplicate code, a reused client id, a record that can no longer change).",
                "Yêu cầu xung đột với trạng thái hiện tại (trùng mã, id đã dùng, bản ghi không thể sửa).",
            ),
            Self::PreconditionFailed => (
                "`If-Match` names an older version: read the record again and reapply your change.",
                "`If-Match` là phiên bản cũ: tải lại bản ghi rồi sửa lại.",
            ),
            Self::PayloadTooLarge => (
                "The body is larger than this operation accepts.",
                "Nội dung lớn hơn mức cho phép.",
            ),
            Self::UnsupportedMediaType => (
                "The body's `Content-Type` is not one this operation takes.",
                "`Content-Type` không được hỗ trợ.",
            ),
            Self::ValidationFailed => (
                "Well-formed but invalid input; `errors` names every field and rule at once.",
                "Dữ liệu không hợp lệ; `errors` liệt kê mọi trường và quy tắc.",
            ),
            Self::RateLimited => (
                "Too many requests or failed sign-ins; wait `Retry-After` seconds.",
                "Quá nhiều yêu cầu hoặc đăng nhập sai; chờ `Retry-After` giây.",
            ),
            Self::InvalidCredentials => (
                "The username or password is wrong, or the account is disabled.",
                "Sai tên đăng nhập, mật khẩu, hoặc tài khoản đã bị khoá.",
            ),
            Self::InvalidRefreshToken => (
                "The refresh token is unknown, expired or revoked: sign in again.",
                "Mã làm mới không tồn tại, hết hạn hoặc bị thu hồi: đăng nhập lại.",
            ),
            Self::RefreshTokenReused => (
                "A rotated refresh token came back, so every token of that sign-in was revoked: sign in again.",
                "Mã làm mới cũ bị dùng lại nên mọi phiên của lần đăng nhập đó bị huỷ: đăng nhập lại.",
            ),
            Self::IdempotencyKeyReused => (
                "This `Idempotency-Key` was used with another body; use a new key for a new request.",
                "`Idempotency-Key` đã dùng cho nội dung khác; dùng khoá mới.",
            ),
            Self::IdempotencyInProgress => (
                "The first request with this `Idempotency-Key` is still running; retry shortly.",
                "Yêu cầu đầu tiên với khoá này còn đang chạy; thử lại sau.",
            ),
            Self::PeriodLocked => (
                "The month is closed for team leaders (`REPORTING_LOCK_DAYS` after it ended); ask an officer.",
                "Tháng đã khoá với tổ trưởng; liên hệ cán bộ.",
            ),
            Self::SessionVerified => (
                "The record is verified and frozen; only an admin may change it.",
                "Bản ghi đã được xác minh; chỉ quản trị viên được sửa.",
            ),
            Self::DatabaseUnavailable => (
                "The database is unreachable or busy; retry after `Retry-After` seconds. Nothing was written.",
                "Cơ sở dữ liệu tạm không truy cập được; thử lại sau `Retry-After` giây. Chưa có gì được ghi.",
            ),
            Self::NotReady => (
                "The service is starting or its database is behind; a load balancer should wait.",
                "Dịch vụ đang khởi động hoặc cơ sở dữ liệu chưa sẵn sàng.",
            ),
            Self::Internal => (
                "An unexpected failure; quote the `request_id` to an operator.",
                "Lỗi không mong đợi; báo `request_id` cho người vận hành.",
            ),
        };
        Text::new(en, vi)
    }

    /// The code with this name.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl utoipa::PartialSchema for ErrorCode {
    /// Every code, each with its status and title: the catalogue `GET /problems/{code}` describes.
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let values: String = Self::ALL
            .iter()
            .map(|code| {
                format!(
                    "\n- `{code}` ({}): {}",
                    code.status().as_u16(),
                    code.title().en
                )
            })
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::ALL.iter().map(|code| code.as_str())))
            .description(Some(format!(
                "A problem's stable code; `GET /problems/{{code}}` describes each.{values}"
            )))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    headers: Vec<(&'static str, String)>,
    source: Option<anyhow::Error>,
}

impl AppError {
    /// An error with only a code (the title says it all).
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            errors: Vec::new(),
            retry_after_seconds: None,
            headers: Vec::new(),
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

    /// Adds a response header (`Allow`, `RateLimit-Limit`, ...).
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
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
        for (name, value) in &self.headers {
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

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::new(ErrorCode::NotFound),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self::database_unavailable(error),
            // A race lost to a concurrent write of the same record: the client may reload and retry.
            Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
                _,
            ) => Self::new(ErrorCode::Conflict)
                .with_detail(Text::new(
                    "This conflicts with an existing record or a concurrent change; reload and retry",
                    "Trùng với dữ liệu đã có hoặc thay đổi đồng thời; hãy tải lại và thử lại",
                ))
                .with_source(error),
            // Transient: a deadlock victim or a statement over `statement_timeout` (diesel keeps no
            // SQLSTATE for these; the server's messages are English, the cluster runs without a locale).
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().starts_with("deadlock detected")
                    || info.message().starts_with("canceling statement due to statement timeout") =>
            {
                Self::new(ErrorCode::DatabaseUnavailable)
                    .with_detail(Text::new(
                        "The database was too busy to finish this request; retry after the indicated delay",
                        "Cơ sở dữ liệu đang bận; vui lòng thử lại sau",
                    ))
                    .with_retry_after(1)
                    .with_source(error)
            }
            // A reference to a record that does not exist, which validation missed: 422 naming the column
            // (`users_person_id_fkey` -> `person_id`), not 500.
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, ref info)
                if info.message().starts_with("insert or update") =>
            {
                let field = constraint_column(info.as_ref(), "_fkey");
                missed_by_validation(
                    error,
                    field,
                    "not_found",
                    Text::new("no such record", "không có bản ghi này"),
                )
            }
            // Deleting a record others still point at: the client may remove those first.
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Self::new(ErrorCode::Conflict)
                    .with_detail(Text::new(
                        "Other records still refer to this one",
                        "Còn bản ghi khác đang tham chiếu đến bản ghi này",
                    ))
                    .with_source(error)
            }
            // A rule the database enforces that validation missed: the client's input broke it, so 422
            // naming the column the constraint is about (`campaigns_code_check` -> `code`), not 500.
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, ref info) => {
                let field = constraint_column(info.as_ref(), "_check");
                missed_by_validation(
                    error,
                    field,
                    "invalid",
                    Text::new(
                        "breaks a rule of the stored record",
                        "vi phạm quy tắc của dữ liệu lưu trữ",
                    ),
                )
            }
            // Text with U+0000, which PostgreSQL cannot store in `text` or `jsonb` (SQLSTATE 22021 and
            // 22P05). Caught here so that every text input, body or query string, gets a 422 instead of a
            // 500; the statement failed, so its transaction wrote nothing.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info
                    .message()
                    .starts_with("invalid byte sequence for encoding \"UTF8\": 0x00")
                    || info
                        .message()
                        .starts_with("unsupported Unicode escape sequence") =>
            {
                Self::validation(vec![FieldError::new(
                    "request",
                    "nul_character",
                    Text::new(
                        "text must not contain the NUL character (U+0000)",
                        "văn bản không được chứa ký tự NUL (U+0000)",
                    ),
                )])
                .with_source(error)
            }
            other => Self::internal(other),
        }
    }
}

/// 422 for input a database constraint refused after validation let it through, logged as a warning
/// (validation should have caught it: the log line says which rule to add).
fn missed_by_validation(
    error: diesel::result::Error,
    field: String,
    code: &'static str,
    message: Text,
) -> AppError {
    tracing::warn!(error = %error, "a database constraint caught input that validation let through");
    AppError::validation(vec![FieldError::new(field, code, message)]).with_source(error)
}

/// The column a constraint named `<table>_<column><suffix>` (PostgreSQL's default names) is about, or
/// `body` when the name has another shape.
fn constraint_column(
    info: &(dyn diesel::result::DatabaseErrorInformation + Send + Sync),
    suffix: &str,
) -> String {
    info.constraint_name()
        .zip(info.table_name())
        .and_then(|(constraint, table)| {
            constraint
                .strip_prefix(table)
                .and_then(|rest| rest.strip_prefix('_'))
                .and_then(|rest| rest.strip_suffix(suffix))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "body".to_owned())
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::database_unavailable(error)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::internal(error)
    }
}

impl From<actix_web::error::JsonPayloadError> for AppError {
    fn from(error: actix_web::error::JsonPayloadError) -> Self {
        use actix_web::error::{JsonPayloadError, PayloadError};
        match error {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => payload_too_large(limit),
            JsonPayloadError::Payload(PayloadError::Overflow) => {
                Self::new(ErrorCode::PayloadTooLarge)
            }
            JsonPayloadError::ContentType => Self::new(ErrorCode::UnsupportedMediaType)
                .with_detail(Text::new(
                    "Send JSON with `Content-Type: application/json`",
                    "Hãy gửi JSON với `Content-Type: application/json`",
                )),
            JsonPayloadError::Deserialize(error) => Self::from_json_error(&error),
            JsonPayloadError::Serialize(error) => Self::internal(error),
            other => Self::new(ErrorCode::InvalidBody).with_source(anyhow::anyhow!("{other}")),
        }
    }
}

fn payload_too_large(limit: usize) -> AppError {
    AppError::new(ErrorCode::PayloadTooLarge).with_detail(Text::new(
        format!("The body may be at most {limit} bytes"),
        format!("Nội dung tối đa {limit} byte"),
    ))
}

impl AppError {
    /// Maps a JSON decoding error: syntax errors are 400 `malformed_json`; well-formed JSON of the wrong
    /// shape (unknown or missing field, wrong type) is 422 `validation_failed` naming the field when serde
    /// does.
    pub fn from_json_error(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => {
                Self::validation(vec![field_error_from_serde(None, &error.to_string())])
            }
            Category::Syntax | Category::Eof | Category::Io => Self::new(ErrorCode::MalformedJson)
                .with_detail(Text::new(
                    error.to_string(),
                    format!("JSON không hợp lệ: {error}"),
                )),
        }
    }
}

/// Turns serde's message (``unknown field `x`, expected ...``) into a field error for the value at `at`
/// (`None`: the request body itself; `items[3].data` for part of it).
pub fn field_error_from_serde(at: Option<&str>, message: &str) -> FieldError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let code = if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("invalid type") {
        "invalid_type"
    } else {
        "invalid"
    };
    // serde names a missing or unknown field in its message, not in where the value sits.
    let named = matches!(code, "unknown_field" | "required")
        .then(|| message.split('`').nth(1))
        .flatten();
    let field = match (at, named) {
        // serde_path_to_error's path already ends in an unknown key; a missing one sits below it.
        (Some(at), Some(name)) if at.ends_with(&format!(".{name}")) => at.to_owned(),
        (Some(at), Some(name)) => format!("{at}.{name}"),
        (Some(at), None) => at.to_owned(),
        (None, Some(name)) => name.to_owned(),
        (None, None) => "body".to_owned(),
    };
    FieldError::new(field, code, Text::new(message.clone(), message))
}

impl From<actix_web::error::QueryPayloadError> for AppError {
    fn from(error: actix_web::error::QueryPayloadError) -> Self {
        let message = error.to_string();
        let message = message
            .trim_start_matches("Query deserialize error: ")
            .to_owned();
        Self::new(ErrorCode::InvalidQuery).with_detail(Text::new(
            message.clone(),
            format!("Tham số truy vấn không hợp lệ: {message}"),
        ))
    }
}

impl From<actix_web::error::PathError> for AppError {
    fn from(error: actix_web::error::PathError) -> Self {
        let message = error.to_string();
        let message = message
            .trim_start_matches("Path deserialize error: ")
            .to_owned();
        Self::new(ErrorCode::InvalidPath).with_detail(Text::new(
            message.clone(),
            format!("Tham số đường dẫn không hợp lệ: {message}"),
        ))
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
mod tests {

    #[test]
    fn serde_messages_name_the_field_wherever_the_value_sits() {
        use super::field_error_from_serde;
        let pairs = |at: Option<&str>, message: &str| {
            let error = field_error_from_serde(at, message);
            (error.field.into_owned(), error.code.into_owned())
        };
        assert_eq!(
            pairs(None, "missing field `kind` at line 1 column 2"),
            ("kind".to_owned(), "required".to_owned())
        );
        assert_eq!(
            pairs(Some("items[0].data"), "missing field `kind`"),
            ("items[0].data.kind".to_owned(), "required".to_owned())
        );
        assert_eq!(
            pairs(
                Some("items[0].data.colour"),
                "unknown field `colour`, expected `id`"
            ),
            (
                "items[0].data.colour".to_owned(),
                "unknown_field".to_owned()
            )
        );
        assert_eq!(
            pairs(None, "invalid type: string \"x\", expected i32"),
            ("body".to_owned(), "invalid_type".to_owned())
        );
    }

    #[test]
    fn deadlocks_and_statement_timeouts_are_retryable() {
        use diesel::result::{DatabaseErrorKind, Error};
        for message in [
            "deadlock detected",
            "canceling statement due to statement timeout",
        ] {
            let error = AppError::from(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(message.to_owned()),
            ));
            assert_eq!(error.code(), ErrorCode::DatabaseUnavailable, "{message}");
            assert_eq!(error.status().as_u16(), 503);
        }
        let other = AppError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("division by zero".to_owned()),
        ));
        assert_eq!(other.code(), ErrorCode::Internal);
    }

    #[derive(Debug)]
    struct Violation {
        message: &'static str,
        table: &'static str,
        constraint: &'static str,
    }

    impl diesel::result::DatabaseErrorInformation for Violation {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            Some(self.table)
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some(self.constraint)
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    #[test]
    fn input_the_database_refuses_is_a_4xx_not_a_500() {
        use diesel::result::{DatabaseErrorKind, Error};
        let violation = |kind, message, table, constraint| {
            AppError::from(Error::DatabaseError(
                kind,
                Box::new(Violation {
                    message,
                    table,
                    constraint,
                }),
            ))
        };
        let check = violation(
            DatabaseErrorKind::CheckViolation,
            "new row for relation \"campaigns\" violates check constraint \"campaigns_code_check\"",
            "campaigns",
            "campaigns_code_check",
        );
        assert_eq!(check.status().as_u16(), 422);
        assert_eq!(check.field_errors()[0].field, "code");
        let reference = violation(
            DatabaseErrorKind::ForeignKeyViolation,
            "insert or update on table \"users\" violates foreign key constraint \"users_person_id_fkey\"",
            "users",
            "users_person_id_fkey",
        );
        assert_eq!(reference.status().as_u16(), 422);
        assert_eq!(reference.field_errors()[0].field, "person_id");
        assert_eq!(reference.field_errors()[0].code, "not_found");
        let referenced = violation(
            DatabaseErrorKind::ForeignKeyViolation,
            "update or delete on table \"people\" violates foreign key constraint \"memberships_person_id_fkey\"",
            "people",
            "memberships_person_id_fkey",
        );
        assert_eq!(referenced.code(), ErrorCode::Conflict);
        let nul = AppError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("invalid byte sequence for encoding \"UTF8\": 0x00".to_owned()),
        ));
        assert_eq!(nul.status().as_u16(), 422);
        assert_eq!(nul.field_errors()[0].code, "nul_character");
    }
    use super::*;

    #[test]
    fn error_codes_are_stable() {
        let codes: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "malformed_json",
                "invalid_query",
                "invalid_path",
                "invalid_body",
                "unauthorized",
                "forbidden",
                "not_found",
                "route_not_found",
                "method_not_allowed",
                "not_acceptable",
                "conflict",
                "precondition_failed",
                "payload_too_large",
                "unsupported_media_type",
                "validation_failed",
                "rate_limited",
                "invalid_credentials",
                "invalid_refresh_token",
                "refresh_token_reused",
                "idempotency_key_reused",
                "idempotency_in_progress",
                "period_locked",
                "session_verified",
                "database_unavailable",
                "not_ready",
                "internal_error",
            ]
        );
    }

    #[test]
    fn problem_json_shape_is_pinned() {
        let error = AppError::validation(vec![FieldError::new(
            "participants_female",
            "exceeds_total",
            Text::new(
                "must not exceed participants_total",
                "không được lớn hơn participants_total",
            ),
        )]);
        let json = serde_json::to_value(error.problem(Lang::En, Some("req-1"))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "/problems/validation_failed",
                "title": "Request body is invalid",
                "status": 422,
                "detail": "1 field is invalid",
                "code": "validation_failed",
                "request_id": "req-1",
                "errors": [{"field": "participants_female", "code": "exceeds_total",
                            "message": "must not exceed participants_total"}]
            })
        );
    }

    #[test]
    fn internal_errors_never_show_their_cause() {
        let error = AppError::internal(anyhow::anyhow!("password=hunter2 in connection string"));
        let json = serde_json::to_string(&error.problem(Lang::En, None)).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert_eq!(
            error.cause_chain().as_deref(),
            Some("password=hunter2 in connection string")
        );
    }

    #[test]
    fn vietnamese_is_chosen_by_accept_language() {
        assert_eq!(Lang::from_accept_language(Some("vi")), Lang::Vi);
        assert_eq!(
            Lang::from_accept_language(Some("vi-VN,vi;q=0.9,en;q=0.8")),
            Lang::Vi
        );
        assert_eq!(Lang::from_accept_language(Some("en;q=0.5, vi")), Lang::Vi);
        assert_eq!(Lang::from_accept_language(Some("en, vi;q=0.5")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr")), Lang::En);
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        let title = AppError::new(ErrorCode::NotFound)
            .problem(Lang::Vi, None)
            .title;
        assert_eq!(title, "Không tìm thấy dữ liệu");
    }
}
