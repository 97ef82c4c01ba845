//! The change feed (`changes`, the `sync_changes` migration): one row per synced record, rewritten by every
//! change to it, read in (txid, seq) order below the oldest running transaction.

use crate::reference::{
    ConflictResolution, ConflictStatus, PushRecordType, SyncOp, SyncRecordType,
};
use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Bool, Nullable, Text, Uuid as SqlUuid},
};
use uuid::Uuid;

use crate::db::{prepared::prepared, schema::sync_conflicts};

/// A position in the feed: after this transaction id and sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub txid: i64,
    pub seq: i64,
}

/// One changed record.
#[derive(Debug, Clone, QueryableByName)]
pub struct Change {
    #[diesel(sql_type = Text)]
    pub entity: SyncRecordType,
    #[diesel(sql_type = SqlUuid)]
    pub record_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub txid: i64,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Bool)]
    pub deleted: bool,
}

impl Change {
    /// Its position in the feed.
    pub fn position(&self) -> Position {
        Position {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

/// Whose records a reader sees.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Everything (admins).
    All,
    /// Team records under this path, org units under it or above it, every campaign (officers, viewers).
    Subtree(String),
    /// One team's records, the org units above its unit and under its commune, every campaign (team leaders).
    Team {
        team: Uuid,
        team_path: String,
        commune_path: String,
    },
}

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = BigInt)]
    xmin: i64,
}

/// The changes after `after` that `audience` sees, oldest first, at most `limit`, only from transactions
/// older than every transaction still running (those rows come in a later read, never skipped).
pub fn read(
    conn: &mut PgConnection,
    audience: &Audience,
    after: Position,
    limit: i64,
) -> QueryResult<Vec<Change>> {
    // The horizon: the oldest transaction of this database still running (its 32-bit id matched against
    // the snapshot's in-progress list), else the snapshot's xmax. Transactions of other databases on the
    // same server do not hold the feed back.
    let horizon: Horizon = prepared(diesel::sql_query(
        "WITH s AS (SELECT pg_current_snapshot() AS snap), \
         ours AS (SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity \
                  WHERE datname = current_database() AND backend_xid IS NOT NULL \
                    AND pid <> pg_backend_pid()) \
         SELECT coalesce( \
           (SELECT min(x::text::bigint) FROM s, pg_snapshot_xip(s.snap) AS x \
            WHERE x::text::bigint % 4294967296 IN (SELECT xid FROM ours)), \
           (SELECT pg_snapshot_xmax(snap)::text::bigint FROM s)) AS xmin",
    ))
    .get_result(conn)?;
    let window = "(c.txid, c.seq) > ($1, $2) AND c.txid < $3";
    let columns = "c.entity, c.record_id, c.txid, c.seq, c.deleted";
    let (team_part, shared_part) = match audience {
        Audience::All => ("TRUE".to_owned(), None),
        Audience::Subtree(_) => (
            "c.team_id IS NOT NULL AND c.unit_path ~>=~ $5 AND c.unit_path ~<~ $8".to_owned(),
            Some(SHARED),
        ),
        Audience::Team { .. } => ("c.team_id = $6".to_owned(), Some(SHARED)),
    };
    // Shared rows (no team) are org units and campaigns (whose path is ''): the units above the reader
    // ($9: the prefixes of their path, and '') and those in their area ($5 to $8), as index lookups on
    // the path rather than a LIKE over every unit of the country.
    const SHARED: &str = "c.unit_path = ANY($9) OR (c.unit_path ~>=~ $5 AND c.unit_path ~<~ $8)";
    let sql = match shared_part {
        None => format!(
            "SELECT {columns} FROM changes c WHERE {window} ORDER BY c.txid, c.seq LIMIT $4"
        ),
        Some(shared) => format!(
            "SELECT * FROM ( \
               (SELECT {columns} FROM changes c WHERE {team_part} AND {window} \
                ORDER BY c.txid, c.seq LIMIT $4) \
               UNION ALL \
               (SELECT {columns} FROM changes c WHERE c.team_id IS NULL AND ({shared}) AND {window} \
                ORDER BY c.txid, c.seq LIMIT $4) \
             ) x ORDER BY txid, seq LIMIT $4"
        ),
    };
    let (path, team, team_path) = match audience {
        Audience::All => (String::new(), None, String::new()),
        Audience::Subtree(path) => (path.clone(), None, String::new()),
        Audience::Team {
            team,
            team_path,
            commune_path,
        } => (commune_path.clone(), Some(*team), team_path.clone()),
    };
    let upper = super::subtree_upper_bound(&path);
    let above = if team_path.is_empty() {
        path_and_ancestors(&path)
    } else {
        path_and_ancestors(&team_path)
    };
    prepared(
        diesel::sql_query(sql)
            .bind::<BigInt, _>(after.txid)
            .bind::<BigInt, _>(after.seq)
            .bind::<BigInt, _>(horizon.xmin)
            .bind::<BigInt, _>(limit)
            .bind::<Text, _>(path)
            .bind::<Nullable<SqlUuid>, _>(team)
            .bind::<Text, _>(team_path)
            .bind::<Text, _>(upper)
            .bind::<diesel::sql_types::Array<Text>, _>(above),
    )
    .load(conn)
}

/// `path` and every path above it (`a/`, `a/b/`, `a/b/c/` for `a/b/c/`), and '' (campaigns).
fn path_and_ancestors(path: &str) -> Vec<String> {
    let mut paths = vec![String::new()];
    for (index, _) in path.match_indices('/') {
        paths.push(path[..=index].to_owned());
    }
    paths
}

/// A pushed edit that met a newer server version.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sync_conflicts, check_for_backend(diesel::pg::Pg))]
pub struct Conflict {
    pub id: Uuid,
    pub entity: PushRecordType,
    pub record_id: Uuid,
    pub op: SyncOp,
    pub team_id: Uuid,
    pub unit_path: String,
    pub pushed_by: Uuid,
    pub base_version: Option<i32>,
    pub server_version: i32,
    pub client_data: Option<serde_json::Value>,
    pub server_data: serde_json::Value,
    pub status: ConflictStatus,
    pub resolution: Option<ConflictResolution>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A new conflict.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sync_conflicts)]
pub struct NewConflict {
    pub id: Uuid,
    pub entity: PushRecordType,
    pub record_id: Uuid,
    pub op: SyncOp,
    pub team_id: Uuid,
    pub unit_path: String,
    pub pushed_by: Uuid,
    pub base_version: Option<i32>,
    pub server_version: i32,
    pub client_data: Option<serde_json::Value>,
    pub server_data: serde_json::Value,
}

/// Stores a conflict, or returns the open one the same user already has for the same push (a retried batch
/// records nothing twice).
pub fn record_conflict(conn: &mut PgConnection, new: &NewConflict) -> QueryResult<Conflict> {
    let open: Vec<Conflict> = sync_conflicts::table
        .filter(sync_conflicts::entity.eq(new.entity))
        .filter(sync_conflicts::record_id.eq(new.record_id))
        .filter(sync_conflicts::status.eq(ConflictStatus::Open))
        .filter(sync_conflicts::pushed_by.eq(new.pushed_by))
        .filter(sync_conflicts::op.eq(new.op))
        .select(Conflict::as_select())
        .load(conn)?;
    if let Some(same) = open
        .into_iter()
        .find(|c| c.base_version == new.base_version && c.client_data == new.client_data)
    {
        return Ok(same);
    }
    diesel::insert_into(sync_conflicts::table)
        .values(new)
        .returning(Conflict::as_returning())
        .get_result(conn)
}

/// One conflict.
pub fn find_conflict(conn: &mut PgConnection, id: Uuid) -> QueryResult<Conflict> {
    sync_conflicts::table
        .find(id)
        .select(Conflict::as_select())
        .first(conn)
}

/// Conflicts of one team, or of the teams under a path, newest first (`status`: `open`, `resolved`, or
/// both when `None`).
pub fn list_conflicts(
    conn: &mut PgConnection,
    team: Option<Uuid>,
    within_path: Option<&str>,
    status: Option<ConflictStatus>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Conflict>> {
    let mut query = sync_conflicts::table
        .select(Conflict::as_select())
        .into_boxed();
    if let Some(team) = team {
        query = query.filter(sync_conflicts::team_id.eq(team));
    }
    if let Some(path) = within_path {
        query = query.filter(crate::models::in_subtree(sync_conflicts::unit_path, path));
    }
    if let Some(status) = status {
        query = query.filter(sync_conflicts::status.eq(status));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            sync_conflicts::created_at
                .lt(created_at)
                .or(sync_conflicts::created_at
                    .eq(created_at)
                    .and(sync_conflicts::id.lt(id))),
        );
    }
    query
        .order((sync_conflicts::created_at.desc(), sync_conflicts::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Marks a conflict resolved; `None` when it was resolved already.
pub fn resolve_conflict(
    conn: &mut PgConnection,
    id: Uuid,
    resolution: ConflictResolution,
    by: Uuid,
) -> QueryResult<Option<Conflict>> {
    diesel::update(
        sync_conflicts::table
            .filter(sync_conflicts::id.eq(id))
            .filter(sync_conflicts::status.eq(ConflictStatus::Open)),
    )
    .set((
        sync_conflicts::status.eq(ConflictStatus::Resolved),
        sync_conflicts::resolution.eq(Some(resolution)),
        sync_conflicts::resolved_by.eq(Some(by)),
        sync_conflicts::resolved_at.eq(Some(Utc::now())),
    ))
    .returning(Conflict::as_returning())
    .get_result(conn)
    .optional()
}
