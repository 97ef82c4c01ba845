//! [`ErrorCode`]: the stable catalogue of problem codes, with their status, title, type URI and
//! description in English and Vietnamese, and its OpenAPI schema.

use super::*;

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
    /// The record's unit-month is signed off (accepted; for team leaders also submitted).
    PeriodSignedOff,
    /// A unit-month cannot be submitted while records of it await verification.
    SignOffIncomplete,
    /// The database cannot be reached or every connection is busy; retry after `Retry-After`.
    DatabaseUnavailable,
    /// The service is running but not ready to serve (database down or migrations pending).
    NotReady,
    /// An unexpected failure inside the service.
    Internal,
    /// A tus `PATCH` whose `Upload-Offset` is not where the upload stands.
    UploadOffsetMismatch,
    /// A tus `Upload-Checksum` that does not match the bytes sent (tus status 460).
    ChecksumMismatch,
    /// The upload expired or was removed.
    UploadGone,
    /// The team's daily upload allowance is used up.
    UploadQuotaExceeded,
    /// A `Range` outside the file.
    RangeNotSatisfiable,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [Self; 33] = [
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
        Self::PeriodSignedOff,
        Self::SignOffIncomplete,
        Self::DatabaseUnavailable,
        Self::NotReady,
        Self::Internal,
        Self::UploadOffsetMismatch,
        Self::ChecksumMismatch,
        Self::UploadGone,
        Self::UploadQuotaExceeded,
        Self::RangeNotSatisfiable,
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
            Self::PeriodSignedOff => "period_signed_off",
            Self::SignOffIncomplete => "sign_off_incomplete",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::NotReady => "not_ready",
            Self::Internal => "internal_error",
            Self::UploadOffsetMismatch => "upload_offset_mismatch",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::UploadGone => "upload_gone",
            Self::UploadQuotaExceeded => "upload_quota_exceeded",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
        }
    }

    /// The HTTP status this code is sent with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::InvalidQuery | Self::InvalidPath | Self::InvalidBody => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized
            | Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyInProgress
            | Self::PeriodLocked
            | Self::SessionVerified
            | Self::PeriodSignedOff
            | Self::SignOffIncomplete => StatusCode::CONFLICT,
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
            Self::UploadOffsetMismatch => StatusCode::CONFLICT,
            // tus 1.0's checksum extension: "460 Checksum Mismatch".
            Self::ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            Self::UploadGone => StatusCode::GONE,
            Self::UploadQuotaExceeded => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
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
            Self::PeriodSignedOff => ("The month is signed off", "Tháng đã được chốt số liệu"),
            Self::SignOffIncomplete => (
                "The month has records awaiting verification",
                "Tháng còn số liệu chờ xác minh",
            ),
            Self::DatabaseUnavailable => (
                "Service temporarily unavailable",
                "Dịch vụ tạm thời không khả dụng",
            ),
            Self::NotReady => ("Service not ready", "Dịch vụ chưa sẵn sàng"),
            Self::Internal => ("Internal server error", "Lỗi máy chủ"),
            Self::UploadOffsetMismatch => (
                "The upload is at another offset",
                "Tệp đang tải lên ở vị trí khác",
            ),
            Self::ChecksumMismatch => (
                "The checksum does not match the bytes sent",
                "Mã kiểm tra không khớp với dữ liệu gửi lên",
            ),
            Self::UploadGone => (
                "The upload expired or was removed",
                "Tệp tải lên đã hết hạn hoặc bị xoá",
            ),
            Self::UploadQuotaExceeded => (
                "The team's upload allowance for today is used up",
                "Tổ đã dùng hết dung lượng tải lên của hôm nay",
            ),
            Self::RangeNotSatisfiable => {
                ("The range is outside the file", "Khoảng byte nằm ngoài tệp")
            }
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
            Self::PeriodSignedOff => (
                "The record's commune and month are signed off: accepted months are frozen for everyone until an \
                 admin reopens them, submitted months for team leaders until the province returns them.",
                "Tháng của xã đã được chốt: tháng đã duyệt bị khoá với mọi người cho đến khi quản trị mở lại; \
                 tháng đã gửi bị khoá với tổ trưởng cho đến khi tỉnh trả lại.",
            ),
            Self::SignOffIncomplete => (
                "Records of the month still await verification: verify or reject them first (`pending` names how \
                 many of each kind, `links` the lists).",
                "Tháng còn số liệu chờ xác minh: hãy xác minh hoặc từ chối trước (`pending` cho biết số lượng, \
                 `links` dẫn tới danh sách).",
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
            Self::UploadOffsetMismatch => (
                "A tus `PATCH` must start where the upload stands: send `HEAD` for its `Upload-Offset` and \
                 continue from there.",
                "Hãy gửi `HEAD` để biết `Upload-Offset` rồi tải tiếp từ vị trí đó.",
            ),
            Self::ChecksumMismatch => (
                "The bytes of this `PATCH` do not have the `Upload-Checksum` sent with them (tus status 460); \
                 nothing of them was kept. Send the same bytes again.",
                "Dữ liệu lần gửi này không khớp `Upload-Checksum` nên không được lưu; hãy gửi lại.",
            ),
            Self::UploadGone => (
                "The upload was not finished within `UPLOAD_EXPIRY_HOURS`, or was removed; start a new one.",
                "Tệp tải lên đã hết hạn hoặc bị xoá; hãy tải lại từ đầu.",
            ),
            Self::UploadQuotaExceeded => (
                "The users of this team may upload `TEAM_UPLOAD_BYTES_PER_DAY` bytes per day (Vietnam time); \
                 `detail` says how much is left. Try again tomorrow or ask an officer to upload.",
                "Tổ đã dùng hết dung lượng tải lên trong ngày; thử lại vào ngày mai hoặc nhờ cán bộ tải lên.",
            ),
            Self::RangeNotSatisfiable => (
                "`Range` asks for bytes the file does not have; `Content-Range: bytes */<size>` gives its size.",
                "`Range` yêu cầu byte ngoài tệp; `Content-Range` cho biết kích thước tệp.",
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
