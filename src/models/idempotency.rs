//! Stored first responses for `Idempotency-Key`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::idempotency_keys;

/// A stored key.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct IdempotencyRecord {
    pub user_id: Uuid,
    pub key: String,
    pub request_hash: Vec<u8>,
    pub state: String,
    pub response_status: Option<i16>,
    pub response_headers: Option<serde_json::Value>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Claims `(user, key)` for a new request. `true` when this request owns it now; `false` when a record
/// exists (see [`find`]).
pub fn claim(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> QueryResult<bool> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::state.eq("in_progress"),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|inserted| inserted == 1)
}

/// Takes over a record that expired or was abandoned, if it still is in that state.
pub fn reclaim(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    request_hash: &[u8],
    stale_created_before: DateTime<Utc>,
    abandoned_before: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(user_id))
            .filter(idempotency_keys::key.eq(key))
            .filter(
                idempotency_keys::created_at
                    .lt(stale_created_before)
                    .or(idempotency_keys::state
                        .eq("in_progress")
                        .and(idempotency_keys::created_at.lt(abandoned_before))),
            ),
    )
    .set((
        idempotency_keys::request_hash.eq(request_hash),
        idempotency_keys::state.eq("in_progress"),
        idempotency_keys::created_at.eq(diesel::dsl::now),
        idempotency_keys::response_status.eq(None::<i16>),
        idempotency_keys::response_headers.eq(None::<serde_json::Value>),
        idempotency_keys::response_body.eq(None::<Vec<u8>>),
        idempotency_keys::completed_at.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)
    .map(|updated| updated == 1)
}

/// The record of `(user, key)`.
pub fn find(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
) -> QueryResult<Option<IdempotencyRecord>> {
    idempotency_keys::table
        .find((user_id, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()
}

/// Stores the response of a completed request.
pub fn complete(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    status: i16,
    headers: serde_json::Value,
    body: &[u8],
) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set((
            idempotency_keys::state.eq("completed"),
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_headers.eq(Some(headers)),
            idempotency_keys::response_body.eq(Some(body)),
            idempotency_keys::completed_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
}

/// Forgets a key whose request failed on the server side, so that a retry runs again.
pub fn release(conn: &mut PgConnection, user_id: Uuid, key: &str) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.find((user_id, key))).execute(conn)
}

/// Deletes records older than `before` (housekeeping).
pub fn purge(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
}
