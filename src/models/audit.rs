//! The audit log: append-only records of writes, logins and security events.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::audit_events;

/// An audit event row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub org_unit_path: Option<String>,
    pub changes: serde_json::Value,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

/// Who acts and from where; built once per request.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<Uuid>,
    pub org_unit_path: Option<String>,
    /// `{"field": {"from": ..., "to": ...}}` or other details; never secrets.
    pub changes: serde_json::Value,
}

/// Records an event (inside the caller's transaction, so it commits or rolls back with the write).
pub fn record(
    conn: &mut PgConnection,
    context: &AuditContext,
    event: NewAuditEvent<'_>,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(Uuid::now_v7()),
            audit_events::actor_id.eq(context.actor_id),
            audit_events::actor_username.eq(context.actor_username.clone()),
            audit_events::action.eq(event.action),
            audit_events::entity_type.eq(event.entity_type),
            audit_events::entity_id.eq(event.entity_id),
            audit_events::org_unit_path.eq(event.org_unit_path),
            audit_events::changes.eq(event.changes),
            audit_events::request_id.eq(context.request_id.clone()),
            audit_events::client_ip.eq(context.client_ip.clone()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records many events in one statement (inside the caller's transaction).
pub fn record_many(
    conn: &mut PgConnection,
    context: &AuditContext,
    events: Vec<NewAuditEvent<'_>>,
) -> QueryResult<()> {
    // 10 parameters a row; PostgreSQL takes at most 65,535 per statement.
    for chunk in events.chunks(5_000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|event| {
                (
                    audit_events::id.eq(Uuid::now_v7()),
                    audit_events::actor_id.eq(context.actor_id),
                    audit_events::actor_username.eq(context.actor_username.clone()),
                    audit_events::action.eq(event.action),
                    audit_events::entity_type.eq(event.entity_type),
                    audit_events::entity_id.eq(event.entity_id),
                    audit_events::org_unit_path.eq(event.org_unit_path.clone()),
                    audit_events::changes.eq(event.changes.clone()),
                    audit_events::request_id.eq(context.request_id.clone()),
                    audit_events::client_ip.eq(context.client_ip.clone()),
                )
            })
            .collect();
        diesel::insert_into(audit_events::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

/// The event of `action` on an entity with the fields that changed between two snapshots of its API
/// representation.
pub fn change_event<'a, T: serde::Serialize>(
    action: &'a str,
    entity_type: &'a str,
    entity_id: Uuid,
    org_unit_path: Option<String>,
    before: &T,
    after: &T,
) -> NewAuditEvent<'a> {
    let snapshot = |value: &T| serde_json::to_value(value).unwrap_or_default();
    NewAuditEvent {
        action,
        entity_type,
        entity_id: Some(entity_id),
        org_unit_path,
        changes: diff(&snapshot(before), &snapshot(after)),
    }
}

/// Records `action` on an entity with the fields that changed between two snapshots of its API
/// representation (`before` is `None` for a creation).
#[expect(
    clippy::too_many_arguments,
    reason = "one flat call per audited write reads better than a builder"
)]
pub fn record_change<T: serde::Serialize>(
    conn: &mut PgConnection,
    context: &AuditContext,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    org_unit_path: Option<String>,
    before: Option<&T>,
    after: &T,
) -> QueryResult<()> {
    let snapshot = |value: &T| serde_json::to_value(value).unwrap_or_default();
    let before = before
        .map(snapshot)
        .unwrap_or_else(|| serde_json::json!({}));
    record(
        conn,
        context,
        NewAuditEvent {
            action,
            entity_type,
            entity_id: Some(entity_id),
            org_unit_path,
            changes: diff(&before, &snapshot(after)),
        },
    )
}

/// `{"field": {"from": a, "to": b}}` for each field whose value differs.
pub fn diff(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    let mut changes = serde_json::Map::new();
    if let (Some(before), Some(after)) = (before.as_object(), after.as_object()) {
        for (field, new) in after {
            let old = before.get(field).unwrap_or(&serde_json::Value::Null);
            if old != new {
                changes.insert(field.clone(), serde_json::json!({"from": old, "to": new}));
            }
        }
    }
    serde_json::Value::Object(changes)
}

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events of entities inside this subtree.
    pub within_path: Option<String>,
}

/// Events, newest first, before the `(at, id)` cursor.
pub fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(entity_type) = &filter.entity_type {
        query = query.filter(audit_events::entity_type.eq(entity_type.clone()));
    }
    if let Some(entity_id) = filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(entity_id));
    }
    if let Some(actor_id) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor_id));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some(path) = &filter.within_path {
        query = query.filter(super::in_subtree(
            audit_events::org_unit_path.assume_not_null(),
            path,
        ));
    }
    if let Some((at, id)) = before {
        // A row comparison the (at DESC, id DESC) index serves (see `training_session::list`).
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(audit_events.at, audit_events.id) < (")
                .bind::<diesel::sql_types::Timestamptz, _>(at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    query
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit)
        .load(conn)
}
