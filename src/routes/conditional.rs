//! Versions as ETags, `If-Match` read into a [`Precondition`], and keyset-pagination cursors: shared by
//! every resource.

use actix_web::{
    HttpRequest,
    http::header::{self, Header},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    domain::Precondition,
    error::{AppError, ErrorCode, FieldError, Text},
};

/// The `ETag` of a record at `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The `If-Match` header as the precondition a write checks, as RFC 9110 section 13.1.1 says: absent or `*`
/// is any version; otherwise the versions its entity tags name, compared **strongly** (a weak `W/"3"`
/// never matches: a weak tag does not promise the same bytes). A header that does not parse, or tags that
/// name no version, match none (412). Read with actix-web's typed `IfMatch`.
pub fn if_match(req: &HttpRequest) -> Precondition {
    if !req.headers().contains_key(header::IF_MATCH) {
        return Precondition::Any;
    }
    match header::IfMatch::parse(req) {
        Ok(header::IfMatch::Any) => Precondition::Any,
        Ok(header::IfMatch::Items(tags)) => Precondition::OneOf(
            tags.iter()
                .filter(|tag| !tag.weak)
                .filter_map(|tag| tag.tag().parse::<i32>().ok())
                .collect(),
        ),
        Err(_) => Precondition::OneOf(Vec::new()),
    }
}

/// True when `If-None-Match` names `current` (compared **weakly**, RFC 9110 section 13.1.2: `W/"x"`
/// matches `"x"`) or is `*`: a GET answers 304. Read with actix-web's typed `IfNoneMatch`; an absent or
/// unparsable header matches nothing.
pub fn if_none_match(req: &HttpRequest, current: &header::EntityTag) -> bool {
    match header::IfNoneMatch::parse(req) {
        Ok(header::IfNoneMatch::Any) => req.headers().contains_key(header::IF_NONE_MATCH),
        Ok(header::IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(current)),
        Err(_) => false,
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

/// The position in the cursor of a list that may be searched: with a search (`searching`) it must carry
/// the rank ([`crate::models::search::ranked_position`]); 400 `invalid_query` otherwise, so a cursor of
/// another list, or of the same list without its `q`, is never read as a position of this one.
pub fn decode_search_cursor(
    cursor: Option<&str>,
    searching: bool,
) -> Result<Option<String>, AppError> {
    let position = decode_cursor(cursor)?;
    match &position {
        Some(p) if searching && crate::models::search::parse_ranked_position(p).is_none() => {
            Err(AppError::new(ErrorCode::InvalidQuery)
                .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ")))
        }
        _ => Ok(position),
    }
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

/// One page of `items` in the order of `key`: those after the cursor's key, at most `limit`, with the cursor of the next page (`null` on the last). For short lists read whole (a team's
/// members, targets, indicator values); the cursor is the last key as JSON, so a page starts right
/// whatever was added or removed since the previous one. 400 `invalid_query` for a cursor not made here.
pub fn keyset_page<T, K>(
    mut items: Vec<T>,
    cursor: Option<&str>,
    limit: i64,
    key: impl Fn(&T) -> K,
) -> Result<(Vec<T>, Option<String>), AppError>
where
    K: Ord + serde::Serialize + serde::de::DeserializeOwned,
{
    let after: Option<K> = decode_cursor(cursor)?
        .map(|position| {
            serde_json::from_str(&position).map_err(|_| {
                AppError::new(ErrorCode::InvalidQuery)
                    .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ"))
            })
        })
        .transpose()?;
    items.sort_by_cached_key(&key);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut rest = items
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|after| key(item) > *after));
    let page: Vec<T> = rest.by_ref().take(limit).collect();
    let next = if rest.next().is_some() {
        page.last()
            .and_then(|last| serde_json::to_string(&key(last)).ok())
            .map(|position| encode_cursor(&position))
    } else {
        None
    };
    Ok((page, next))
}

/// The cursor for the page after `items`, when the page was full.
pub fn next_cursor<T>(items: &[T], limit: i64, position: impl Fn(&T) -> String) -> Option<String> {
    if items.len() as i64 == limit {
        items.last().map(|last| encode_cursor(&position(last)))
    } else {
        None
    }
}
