//! Versions as ETags, `If-Match`, and keyset-pagination cursors: shared by every resource.

use actix_web::{HttpRequest, http::header};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{AppError, ErrorCode, FieldError, Text};

/// The `ETag` of a record at `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The raw `If-Match` header (read on the async side; requests cannot cross to the blocking pool).
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|value| value.to_str().unwrap_or("").to_owned())
}

/// The version to write at: `current` when `If-Match` is absent, `*` or names `current`; 412
/// `precondition_failed` when it names another version.
pub fn check_if_match(if_match: Option<&str>, current: i32) -> Result<i32, AppError> {
    let Some(value) = if_match else {
        return Ok(current);
    };
    let value = value.trim();
    if value == "*" {
        return Ok(current);
    }
    let matches = value
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|tag| tag.parse::<i32>().ok() == Some(current));
    if matches {
        Ok(current)
    } else {
        Err(
            AppError::new(ErrorCode::PreconditionFailed).with_detail(Text::new(
                format!("The current version is {current}; reload and apply your change again"),
                format!("Phiên bản hiện tại là {current}; hãy tải lại và sửa lại"),
            )),
        )
    }
}

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = crate::contract::PAGE_LIMIT_MAX;

/// Checks `limit` (1..=500, default 50).
pub fn page_limit(limit: Option<i64>) -> Result<i64, AppError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        Some(_) => Err(AppError::validation(vec![FieldError::new(
            "limit",
            "out_of_range",
            Text::new(
                format!("must be from 1 to {MAX_LIMIT}"),
                format!("phải từ 1 đến {MAX_LIMIT}"),
            ),
        )])),
    }
}

/// An opaque cursor for a keyset position.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

/// The keyset position in a cursor; 400 `invalid_query` when it was not made by us.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, AppError> {
    cursor
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    AppError::new(ErrorCode::InvalidQuery)
                        .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ"))
                })
        })
        .transpose()
}

/// A cursor for a two-part keyset position (`held_on` or `at`, then the id as a tie-breaker).
pub fn encode_keyset(first: &str, id: uuid::Uuid) -> String {
    encode_cursor(&format!("{first}|{id}"))
}

/// The two-part keyset position in a cursor made by [`encode_keyset`]; 400 `invalid_query` otherwise.
pub fn decode_keyset<T: std::str::FromStr>(
    cursor: Option<&str>,
) -> Result<Option<(T, uuid::Uuid)>, AppError> {
    decode_pair(cursor)
}

/// A two-part keyset position `"{first}|{second}"` (the second a tie-breaker: an id, or a code that is
/// unique); 400 `invalid_query` when the cursor was not made by us.
pub fn decode_pair<T: std::str::FromStr, U: std::str::FromStr>(
    cursor: Option<&str>,
) -> Result<Option<(T, U)>, AppError> {
    decode_cursor(cursor)?
        .map(|position| {
            position
                .split_once('|')
                .and_then(|(first, second)| Some((first.parse().ok()?, second.parse().ok()?)))
                .ok_or_else(|| {
                    AppError::new(ErrorCode::InvalidQuery)
                        .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ"))
                })
        })
        .transpose()
}

/// The cursor for the page after `items`, when the page was full.
pub fn next_cursor<T>(items: &[T], limit: i64, position: impl Fn(&T) -> String) -> Option<String> {
    if items.len() as i64 == limit {
        items.last().map(|last| encode_cursor(&position(last)))
    } else {
        None
    }
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`).
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
