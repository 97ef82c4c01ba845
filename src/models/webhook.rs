//! Webhook subscriptions, the outbox of events and their deliveries.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{Array, BigInt, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use uuid::Uuid;

use crate::db::schema::{webhook_deliveries, webhook_events, webhook_subscriptions};
use crate::reference::{DeliveryState, WebhookDisabledReason};

/// A subscription row.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub url: String,
    pub event_types: Vec<Option<String>>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<WebhookDisabledReason>,
    pub secret_salt: Vec<u8>,
    pub previous_secret_salt: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    pub fn types(&self) -> Vec<String> {
        self.event_types.iter().flatten().cloned().collect()
    }
}

/// The fields a client sets.
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionFields {
    pub url: String,
    pub event_types: Vec<Option<String>>,
    pub description: Option<String>,
    pub enabled: bool,
}

/// Saves a new subscription.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    owner: Uuid,
    fields: &SubscriptionFields,
    salt: &[u8],
) -> QueryResult<Subscription> {
    diesel::insert_into(webhook_subscriptions::table)
        .values((
            webhook_subscriptions::id.eq(id),
            webhook_subscriptions::owner_id.eq(owner),
            fields,
            webhook_subscriptions::secret_salt.eq(salt),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Subscription> {
    webhook_subscriptions::table
        .find(id)
        .select(Subscription::as_select())
        .first(conn)
}

/// Subscriptions, newest first; only `owner`'s when given.
pub fn list(conn: &mut PgConnection, owner: Option<Uuid>) -> QueryResult<Vec<Subscription>> {
    let mut query = webhook_subscriptions::table
        .select(Subscription::as_select())
        .order(webhook_subscriptions::id.desc())
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(webhook_subscriptions::owner_id.eq(owner));
    }
    query.load(conn)
}

/// Changes the client's fields if the version still matches; re-enabling clears the failure run.
pub fn update(
    conn: &mut PgConnection,
    current: &Subscription,
    fields: &SubscriptionFields,
) -> QueryResult<Option<Subscription>> {
    let enabling = fields.enabled && !current.enabled;
    diesel::update(
        webhook_subscriptions::table
            .find(current.id)
            .filter(webhook_subscriptions::version.eq(current.version)),
    )
    .set((
        fields,
        webhook_subscriptions::disabled_reason.eq(None::<WebhookDisabledReason>),
        webhook_subscriptions::failing_since.eq(if enabling {
            None
        } else {
            current.failing_since
        }),
        webhook_subscriptions::version.eq(webhook_subscriptions::version + 1),
        webhook_subscriptions::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Subscription::as_returning())
    .get_result(conn)
    .optional()
}

/// A new secret; the current one keeps signing until `overlap_until`.
pub fn rotate(
    conn: &mut PgConnection,
    current: &Subscription,
    salt: &[u8],
    overlap_until: DateTime<Utc>,
) -> QueryResult<Subscription> {
    diesel::update(webhook_subscriptions::table.find(current.id))
        .set((
            webhook_subscriptions::secret_salt.eq(salt),
            webhook_subscriptions::previous_secret_salt.eq(Some(&current.secret_salt)),
            webhook_subscriptions::previous_secret_expires_at.eq(Some(overlap_until)),
            webhook_subscriptions::version.eq(webhook_subscriptions::version + 1),
            webhook_subscriptions::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_subscriptions::table.find(id)).execute(conn)
}

/// Disables a subscription (the dispatcher: 410 Gone, or failing too long) and cancels what it still had
/// pending. False when it was disabled already.
pub fn disable(
    conn: &mut PgConnection,
    id: Uuid,
    reason: WebhookDisabledReason,
) -> QueryResult<bool> {
    let changed = diesel::update(
        webhook_subscriptions::table
            .find(id)
            .filter(webhook_subscriptions::enabled.eq(true)),
    )
    .set((
        webhook_subscriptions::enabled.eq(false),
        webhook_subscriptions::disabled_reason.eq(Some(reason)),
        webhook_subscriptions::version.eq(webhook_subscriptions::version + 1),
        webhook_subscriptions::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    if changed > 0 {
        cancel_pending(conn, id)?;
    }
    Ok(changed > 0)
}

/// Cancels a subscription's pending deliveries.
pub fn cancel_pending(conn: &mut PgConnection, subscription: Uuid) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(subscription))
            .filter(webhook_deliveries::state.eq(DeliveryState::Pending)),
    )
    .set((
        webhook_deliveries::state.eq(DeliveryState::Cancelled),
        webhook_deliveries::finished_at.eq(Some(Utc::now())),
        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)
}

/// The enabled subscriptions (the dispatcher's work list).
pub fn enabled_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::enabled.eq(true))
        .select(webhook_subscriptions::id)
        .load(conn)
}

/// A delivery row with its event.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct Delivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub seq: i64,
    pub record_id: Option<Uuid>,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub leased_until: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_latency_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An event of the outbox.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = webhook_events, check_for_backend(diesel::pg::Pg))]
pub struct Event {
    pub id: Uuid,
    pub seq: i64,
    #[diesel(column_name = type_)]
    pub event_type: String,
    pub record_id: Option<Uuid>,
    pub unit_path: String,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
    pub fanned_out: bool,
}

/// A subscription's deliveries, newest first, after the `before` id (keyset).
pub fn deliveries(
    conn: &mut PgConnection,
    subscription: Uuid,
    state: Option<DeliveryState>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<(Delivery, Event)>> {
    let mut query = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::subscription_id.eq(subscription))
        .select((Delivery::as_select(), Event::as_select()))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(webhook_deliveries::state.eq(state));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query.load(conn)
}

pub fn find_delivery(
    conn: &mut PgConnection,
    subscription: Uuid,
    id: Uuid,
) -> QueryResult<(Delivery, Event)> {
    webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::subscription_id.eq(subscription))
        .filter(webhook_deliveries::id.eq(id))
        .select((Delivery::as_select(), Event::as_select()))
        .first(conn)
}

/// Sends a delivery again as soon as possible (whatever its state), keeping its attempt count.
pub fn retry(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::state.eq(DeliveryState::Pending),
            webhook_deliveries::next_attempt_at.eq(diesel::dsl::now),
            webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::finished_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
}

/// Queues again, for one enabled subscription, every event since `since` it receives (`webhook_recipients`,
/// as the fan-out does): new deliveries with the events' ids. Returns how many.
pub fn replay(
    conn: &mut PgConnection,
    subscription: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<usize> {
    sql_query(
        "INSERT INTO webhook_deliveries (id, subscription_id, event_id, seq, record_id) \
         SELECT cdt_uuid_v7(), r.subscription_id, r.event_id, r.seq, r.record_id FROM webhook_recipients r \
         WHERE r.subscription_id = $1 AND r.occurred_at >= $2 ORDER BY r.seq",
    )
    .bind::<SqlUuid, _>(subscription)
    .bind::<Timestamptz, _>(since)
    .execute(conn)
}

/// Writes a `ping` event and queues it for this subscription only.
pub fn ping(
    conn: &mut PgConnection,
    subscription: Uuid,
    data: &serde_json::Value,
) -> QueryResult<Uuid> {
    let event: Uuid = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::id.eq(Uuid::now_v7()),
            webhook_events::type_.eq("ping"),
            webhook_events::unit_path.eq(""),
            webhook_events::data.eq(data),
            // Queued here for this subscription only, never fanned out to the others.
            webhook_events::fanned_out.eq(true),
        ))
        .returning(webhook_events::id)
        .get_result(conn)?;
    sql_query(
        "INSERT INTO webhook_deliveries (id, subscription_id, event_id, seq) \
         SELECT cdt_uuid_v7(), $1, e.id, e.seq FROM webhook_events e WHERE e.id = $2",
    )
    .bind::<SqlUuid, _>(subscription)
    .bind::<SqlUuid, _>(event)
    .execute(conn)?;
    Ok(event)
}

/// A claimed delivery with what the dispatcher needs to send it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub data: serde_json::Value,
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` of a subscription's due deliveries for `lease_seconds` (one instance at a time:
/// `SKIP LOCKED`, and a claim another instance holds is skipped until it expires). A delivery waits while
/// an earlier event of the same record is still pending for this subscription, so one record's events
/// arrive in commit order.
pub fn claim(
    conn: &mut PgConnection,
    subscription: Uuid,
    limit: i64,
    lease_seconds: i64,
) -> QueryResult<Vec<Claimed>> {
    sql_query(
        "WITH due AS ( \
             SELECT d.id FROM webhook_deliveries d \
             WHERE d.subscription_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= now() \
               AND (d.leased_until IS NULL OR d.leased_until < now()) \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                               WHERE p.subscription_id = d.subscription_id AND p.state = 'pending' \
                                 AND p.record_id = d.record_id AND p.seq < d.seq) \
             ORDER BY d.seq LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE webhook_deliveries d \
         SET leased_until = now() + make_interval(secs => $3), attempts = d.attempts + 1, \
             last_attempt_at = now() \
         FROM due, webhook_events e \
         WHERE d.id = due.id AND e.id = d.event_id \
         RETURNING d.id, d.event_id, e.type AS event_type, e.occurred_at, e.data, d.attempts, d.created_at",
    )
    .bind::<SqlUuid, _>(subscription)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(lease_seconds)
    .load(conn)
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: Uuid,
    pub state: DeliveryState,
    pub next_attempt_at: DateTime<Utc>,
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// Writes the outcomes of a batch of attempts in one statement.
pub fn record_outcomes(conn: &mut PgConnection, outcomes: &[Outcome]) -> QueryResult<usize> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = outcomes.iter().map(|o| o.id).collect();
    let states: Vec<String> = outcomes.iter().map(|o| o.state.to_string()).collect();
    let next: Vec<DateTime<Utc>> = outcomes.iter().map(|o| o.next_attempt_at).collect();
    let statuses: Vec<Option<i32>> = outcomes.iter().map(|o| o.status).collect();
    let latencies: Vec<i32> = outcomes.iter().map(|o| o.latency_ms).collect();
    let errors: Vec<Option<String>> = outcomes.iter().map(|o| o.error.clone()).collect();
    sql_query(
        "UPDATE webhook_deliveries d SET state = r.state, next_attempt_at = r.next, leased_until = NULL, \
             last_status = r.status, last_latency_ms = r.latency, last_error = r.error, \
             finished_at = CASE WHEN r.state = 'pending' THEN NULL ELSE now() END \
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::int[], $6::text[]) \
              AS r(id, state, next, status, latency, error) \
         WHERE d.id = r.id AND d.state = 'pending'",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&states)
    .bind::<Array<Timestamptz>, _>(&next)
    .bind::<Array<Nullable<Int4>>, _>(&statuses)
    .bind::<Array<Int4>, _>(&latencies)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .execute(conn)
}

/// Notes a subscription's run of failures: cleared by a success, started by the first failure. Returns
/// when the current run started (`None` after a success).
pub fn note_health(
    conn: &mut PgConnection,
    subscription: Uuid,
    succeeded: bool,
) -> QueryResult<Option<DateTime<Utc>>> {
    if succeeded {
        diesel::update(
            webhook_subscriptions::table
                .find(subscription)
                .filter(webhook_subscriptions::failing_since.is_not_null()),
        )
        .set(webhook_subscriptions::failing_since.eq(None::<DateTime<Utc>>))
        .execute(conn)?;
        return Ok(None);
    }
    diesel::update(webhook_subscriptions::table.find(subscription))
        .set(
            webhook_subscriptions::failing_since.eq(diesel::dsl::sql::<Nullable<Timestamptz>>(
                "coalesce(failing_since, now())",
            )),
        )
        .returning(webhook_subscriptions::failing_since)
        .get_result(conn)
        .optional()
        .map(Option::flatten)
}

/// Queues the deliveries of up to `limit` committed events (`cdt_webhook_fan_out`); returns how many events
/// were fanned out (0 when none waits or another instance is at it).
pub fn fan_out(conn: &mut PgConnection, limit: i32) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Int4)]
        count: i32,
    }
    sql_query("SELECT cdt_webhook_fan_out($1) AS count")
        .bind::<Int4, _>(limit)
        .get_result::<Count>(conn)
        .map(|c| c.count)
}

/// Pending deliveries and the age of the oldest, per subscription (for `/metrics`).
#[derive(Debug, Clone, QueryableByName)]
pub struct QueueDepth {
    #[diesel(sql_type = SqlUuid)]
    pub subscription_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub oldest_seconds: f64,
}

pub fn queue_depths(conn: &mut PgConnection) -> QueryResult<Vec<QueueDepth>> {
    sql_query(
        "SELECT subscription_id, count(*) AS pending, \
                coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds \
         FROM webhook_deliveries WHERE state = 'pending' GROUP BY subscription_id",
    )
    .load(conn)
}

/// Deletes up to `batch` events older than `before` with nothing pending (their delivery log goes with
/// them). Returns how many.
pub fn prune(conn: &mut PgConnection, before: DateTime<Utc>, batch: i64) -> QueryResult<usize> {
    sql_query(
        "DELETE FROM webhook_events WHERE id IN ( \
             SELECT e.id FROM webhook_events e WHERE e.occurred_at < $1 \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 'pending') \
             ORDER BY e.occurred_at LIMIT $2)",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(batch)
    .execute(conn)
}
