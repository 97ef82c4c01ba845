//! How the errors of diesel, r2d2 and actix-web's extractors become [`AppError`]s that name the field
//! and the rule, never a 500 for bad input.

use super::*;

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::new(ErrorCode::NotFound),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self::database_unavailable(error),
            // A failover under way: a connection that reached a server being demoted (now a standby), or
            // a session its server ended while shutting down. The retry gets a connection to the primary.
            Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => {
                Self::database_unavailable(error)
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().starts_with("terminating connection") =>
            {
                Self::database_unavailable(error)
            }
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
