//! Attachments: a stored file tied to a training session or a reach activity.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::upload::Blob;
use crate::db::schema::{attachments, blobs, reach_activities, training_sessions};

/// The record an attachment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Session(Uuid),
    Activity(Uuid),
}

impl Owner {
    /// The record's id.
    pub fn id(self) -> Uuid {
        match self {
            Self::Session(id) | Self::Activity(id) => id,
        }
    }
}

/// An attachment row.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = attachments, check_for_backend(diesel::pg::Pg))]
pub struct Attachment {
    pub id: Uuid,
    pub training_session_id: Option<Uuid>,
    pub reach_activity_id: Option<Uuid>,
    pub team_id: Uuid,
    pub upload_id: Uuid,
    pub blob_sha256: String,
    pub kind: String,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<Uuid>,
}

impl Attachment {
    /// The record it belongs to.
    pub fn owner(&self) -> Owner {
        match (self.training_session_id, self.reach_activity_id) {
            (Some(session), _) => Owner::Session(session),
            (None, Some(activity)) => Owner::Activity(activity),
            // The table's check constraint rules this out.
            (None, None) => Owner::Session(Uuid::nil()),
        }
    }
}

/// A new attachment.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment {
    pub id: Uuid,
    pub training_session_id: Option<Uuid>,
    pub reach_activity_id: Option<Uuid>,
    pub team_id: Uuid,
    pub upload_id: Uuid,
    pub blob_sha256: String,
    pub kind: String,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub uploaded_by: Uuid,
}

impl NewAttachment {
    /// Sets the owner columns.
    pub fn owned_by(mut self, owner: Owner) -> Self {
        match owner {
            Owner::Session(id) => self.training_session_id = Some(id),
            Owner::Activity(id) => self.reach_activity_id = Some(id),
        }
        self
    }
}

/// Saves a new attachment.
pub fn insert(conn: &mut PgConnection, new: &NewAttachment) -> QueryResult<Attachment> {
    diesel::insert_into(attachments::table)
        .values(new)
        .returning(Attachment::as_returning())
        .get_result(conn)
}

/// The attachment made from `upload`, if any (deleted ones too).
pub fn find_by_upload(conn: &mut PgConnection, upload: Uuid) -> QueryResult<Option<Attachment>> {
    attachments::table
        .filter(attachments::upload_id.eq(upload))
        .select(Attachment::as_select())
        .get_result(conn)
        .optional()
}

fn of_owner(owner: Owner) -> attachments::BoxedQuery<'static, diesel::pg::Pg> {
    let query = attachments::table
        .filter(attachments::deleted_at.is_null())
        .into_boxed();
    match owner {
        Owner::Session(id) => query.filter(attachments::training_session_id.eq(id)),
        Owner::Activity(id) => query.filter(attachments::reach_activity_id.eq(id)),
    }
}

/// The record's attachments with their files, oldest first.
pub fn list(conn: &mut PgConnection, owner: Owner) -> QueryResult<Vec<(Attachment, Blob)>> {
    of_owner(owner)
        .inner_join(blobs::table)
        .order((attachments::created_at, attachments::id))
        .select((Attachment::as_select(), Blob::as_select()))
        .load(conn)
}

/// How many attachments the record has.
pub fn count(conn: &mut PgConnection, owner: Owner) -> QueryResult<i64> {
    of_owner(owner).count().get_result(conn)
}

/// The attachment `id` with its file, unless deleted.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<(Attachment, Blob)>> {
    attachments::table
        .find(id)
        .filter(attachments::deleted_at.is_null())
        .inner_join(blobs::table)
        .select((Attachment::as_select(), Blob::as_select()))
        .get_result(conn)
        .optional()
}

/// Marks the attachment deleted (its file is removed after the retention period).
pub fn soft_delete(conn: &mut PgConnection, id: Uuid, by: Uuid) -> QueryResult<bool> {
    let n = diesel::update(
        attachments::table
            .find(id)
            .filter(attachments::deleted_at.is_null()),
    )
    .set((
        attachments::deleted_at.eq(diesel::dsl::now),
        attachments::deleted_by.eq(by),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The attachments (with their files) of the sessions `sessions` and the activities `activities`,
/// grouped by record, each group oldest first.
pub fn list_many(
    conn: &mut PgConnection,
    sessions: &[Uuid],
    activities: &[Uuid],
) -> QueryResult<HashMap<Owner, Vec<(Attachment, Blob)>>> {
    let mut grouped: HashMap<Owner, Vec<(Attachment, Blob)>> = HashMap::new();
    if sessions.is_empty() && activities.is_empty() {
        return Ok(grouped);
    }
    let rows: Vec<(Attachment, Blob)> = attachments::table
        .filter(attachments::deleted_at.is_null())
        .filter(
            attachments::training_session_id
                .eq_any(sessions)
                .or(attachments::reach_activity_id.eq_any(activities)),
        )
        .inner_join(blobs::table)
        .order((attachments::created_at, attachments::id))
        .select((Attachment::as_select(), Blob::as_select()))
        .load(conn)?;
    for (attachment, blob) in rows {
        grouped
            .entry(attachment.owner())
            .or_default()
            .push((attachment, blob));
    }
    Ok(grouped)
}

/// Attachments by or about a person: uploaded by a user account of theirs, or on a session they ran
/// (their membership among its trainers), photos of which show them.
pub fn by_or_about_person(conn: &mut PgConnection, person: Uuid) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT a.id FROM attachments a \
         WHERE a.uploaded_by IN (SELECT u.id FROM users u WHERE u.person_id = $1) \
            OR a.training_session_id IN ( \
                SELECT s.id FROM training_sessions s \
                JOIN memberships m ON m.person_id = $1 AND m.team_id = s.team_id AND m.id = ANY (s.trainers)) \
         ORDER BY a.id",
    )
    .bind::<diesel::sql_types::Uuid, _>(person)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Removes attachments at once (an erasure): their rows and uploads; their files go with the next
/// clean-up once nothing else uses them.
pub fn erase(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<usize> {
    let uploads: Vec<Uuid> = attachments::table
        .filter(attachments::id.eq_any(ids))
        .select(attachments::upload_id)
        .load(conn)?;
    let n = diesel::delete(attachments::table.filter(attachments::id.eq_any(ids))).execute(conn)?;
    diesel::delete(
        crate::db::schema::uploads::table.filter(crate::db::schema::uploads::id.eq_any(uploads)),
    )
    .execute(conn)?;
    Ok(n)
}

/// How many sessions of `teams` held from `from` to `to` in one of `statuses` carry an attendance
/// sheet.
pub fn sessions_with_attendance_sheet(
    conn: &mut PgConnection,
    teams: &[Uuid],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    statuses: &[&str],
) -> QueryResult<i64> {
    if teams.is_empty() {
        return Ok(0);
    }
    training_sessions::table
        .filter(training_sessions::team_id.eq_any(teams))
        .filter(training_sessions::held_on.between(from, to))
        .filter(training_sessions::deleted_at.is_null())
        .filter(training_sessions::status.eq_any(statuses))
        .filter(diesel::dsl::exists(
            attachments::table
                .filter(attachments::training_session_id.eq(training_sessions::id.nullable()))
                .filter(attachments::kind.eq("attendance_sheet"))
                .filter(attachments::deleted_at.is_null()),
        ))
        .count()
        .get_result(conn)
}

/// Attachment counts of sessions.
pub fn count_sessions(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<Uuid>, i64)> = attachments::table
        .filter(attachments::deleted_at.is_null())
        .filter(attachments::training_session_id.eq_any(ids))
        .group_by(attachments::training_session_id)
        .select((attachments::training_session_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| Some((id?, n)))
        .collect())
}

/// Attachment counts of reach activities.
pub fn count_activities(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<Uuid>, i64)> = attachments::table
        .filter(attachments::deleted_at.is_null())
        .filter(attachments::reach_activity_id.eq_any(ids))
        .group_by(attachments::reach_activity_id)
        .select((attachments::reach_activity_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| Some((id?, n)))
        .collect())
}

/// Removes attachment rows deleted (or whose record was deleted) before `before`, up to `limit`;
/// their files go when nothing else uses them. Returns how many were removed.
pub fn purge_deleted(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    let session_gone = diesel::dsl::exists(
        training_sessions::table
            .filter(
                training_sessions::id
                    .nullable()
                    .eq(attachments::training_session_id),
            )
            .filter(training_sessions::deleted_at.lt(before)),
    );
    let activity_gone = diesel::dsl::exists(
        reach_activities::table
            .filter(
                reach_activities::id
                    .nullable()
                    .eq(attachments::reach_activity_id),
            )
            .filter(reach_activities::deleted_at.lt(before)),
    );
    let ids: Vec<Uuid> = attachments::table
        .filter(
            attachments::deleted_at
                .lt(before)
                .or(session_gone)
                .or(activity_gone),
        )
        .select(attachments::id)
        .limit(limit)
        .load(conn)?;
    erase(conn, &ids)
}
