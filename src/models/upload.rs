//! Uploads (tus) and the stored files they become.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{attachments, blobs, uploads};

/// An upload row.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = uploads, check_for_backend(diesel::pg::Pg))]
pub struct Upload {
    pub id: Uuid,
    pub uploader_id: Uuid,
    pub team_id: Option<Uuid>,
    pub length: i64,
    pub received: i64,
    pub parts: Vec<Option<String>>,
    pub file_name: Option<String>,
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub blob_sha256: Option<String>,
}

impl Upload {
    /// The storage keys of the received parts, in order.
    pub fn part_keys(&self) -> Vec<String> {
        self.parts.iter().flatten().cloned().collect()
    }

    /// True once every byte arrived and the file was stored.
    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }
}

/// A new upload.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = uploads)]
pub struct NewUpload {
    pub id: Uuid,
    pub uploader_id: Uuid,
    pub team_id: Option<Uuid>,
    pub length: i64,
    pub file_name: Option<String>,
    pub metadata: serde_json::Value,
    pub expires_at: DateTime<Utc>,
}

/// Saves a new upload.
pub fn insert(conn: &mut PgConnection, upload: &NewUpload) -> QueryResult<Upload> {
    diesel::insert_into(uploads::table)
        .values(upload)
        .returning(Upload::as_returning())
        .get_result(conn)
}

/// The upload `id`.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Upload> {
    uploads::table
        .find(id)
        .select(Upload::as_select())
        .get_result(conn)
}

/// Records the part stored under `key` holding bytes `from..to`, if the upload still stands at `from`
/// (another request may have stored a part meanwhile). False when it did not.
pub fn append_part(
    conn: &mut PgConnection,
    id: Uuid,
    from: i64,
    to: i64,
    key: &str,
) -> QueryResult<bool> {
    let updated = diesel::update(
        uploads::table
            .find(id)
            .filter(uploads::received.eq(from))
            .filter(uploads::finished_at.is_null())
            .filter(uploads::length.ge(to)),
    )
    .set((
        uploads::received.eq(to),
        uploads::parts.eq(diesel::dsl::sql::<
            diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Text>>,
        >("array_append(parts, ")
        .bind::<diesel::sql_types::Text, _>(key.to_owned())
        .sql(")")),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks the upload finished as the stored file `sha256`, kept until `expires_at` unless attached.
pub fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    sha256: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<Upload> {
    diesel::update(uploads::table.find(id))
        .set((
            uploads::finished_at.eq(diesel::dsl::now),
            uploads::blob_sha256.eq(sha256),
            uploads::parts.eq(Vec::<Option<String>>::new()),
            uploads::expires_at.eq(expires_at),
        ))
        .returning(Upload::as_returning())
        .get_result(conn)
}

/// Removes an upload row (its parts are removed from storage by the caller).
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(uploads::table.find(id)).execute(conn)
}

/// True when an attachment uses the upload.
pub fn is_attached(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        attachments::table.filter(attachments::upload_id.eq(id)),
    ))
    .get_result(conn)
}

/// Serialises upload creations of `team` until the transaction ends.
pub fn lock_team(conn: &mut PgConnection, team: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 20))")
        .bind::<diesel::sql_types::Text, _>(team.to_string())
        .execute(conn)
        .map(drop)
}

/// Bytes the users of `team` declared in uploads created since `since`.
pub fn team_bytes_since(
    conn: &mut PgConnection,
    team: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    uploads::table
        .filter(uploads::team_id.eq(team))
        .filter(uploads::created_at.ge(since))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "coalesce(sum(length), 0)::bigint",
        ))
        .get_result(conn)
}

/// Upload rows past their expiry that no attachment uses, oldest first.
pub fn expired(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Upload>> {
    uploads::table
        .filter(uploads::expires_at.lt(now))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            attachments::table.filter(attachments::upload_id.eq(uploads::id)),
        )))
        .order(uploads::expires_at)
        .limit(limit)
        .select(Upload::as_select())
        .load(conn)
}

/// A stored file row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = blobs, check_for_backend(diesel::pg::Pg))]
pub struct Blob {
    pub sha256: String,
    pub media_type: String,
    pub bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub captured_at: Option<NaiveDateTime>,
    pub thumbnail_sha256: Option<String>,
    pub thumbnail_bytes: Option<i64>,
    #[diesel(skip_insertion)]
    pub created_at: DateTime<Utc>,
}

/// The stored file `sha256`, if there is one.
pub fn find_blob(conn: &mut PgConnection, sha256: &str) -> QueryResult<Option<Blob>> {
    blobs::table
        .find(sha256)
        .select(Blob::as_select())
        .get_result(conn)
        .optional()
}

/// Saves a stored file's row, or marks an existing one (the same bytes uploaded twice) as used again.
pub fn upsert_blob(conn: &mut PgConnection, blob: &Blob) -> QueryResult<Blob> {
    diesel::insert_into(blobs::table)
        .values(blob)
        .on_conflict(blobs::sha256)
        .do_update()
        .set(blobs::created_at.eq(diesel::dsl::now))
        .returning(Blob::as_returning())
        .get_result(conn)
}

/// Removes up to `limit` stored files' rows that no attachment and no upload uses and that were not
/// stored again within `grace`, returning them; the caller removes their objects before committing.
pub fn take_unused_blobs(
    conn: &mut PgConnection,
    grace: std::time::Duration,
    limit: i64,
) -> QueryResult<Vec<Blob>> {
    let before = Utc::now() - chrono::TimeDelta::from_std(grace).unwrap_or_default();
    let unused = blobs::table
        .filter(blobs::created_at.lt(before))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            attachments::table.filter(attachments::blob_sha256.eq(blobs::sha256)),
        )))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            uploads::table.filter(uploads::blob_sha256.eq(blobs::sha256.nullable())),
        )))
        .select(blobs::sha256)
        .limit(limit)
        .for_update()
        .skip_locked()
        .load::<String>(conn)?;
    diesel::delete(blobs::table.filter(blobs::sha256.eq_any(unused)))
        .returning(Blob::as_returning())
        .get_results(conn)
}
