//! The webhook dispatcher: delivers queued events off the request path (the rules, payloads and
//! signatures are `domain::webhooks`; this is the runtime that sends them).
//!
//! Each tick, committed events not yet fanned out become deliveries (`cdt_webhook_fan_out`: one instance at a
//! time, in event order, so one record's deliveries appear in the order its changes committed). Then one
//! worker per enabled subscription (so a slow or dead receiver only ever holds its own worker),
//! each claiming a batch of due deliveries (`SKIP LOCKED` plus a lease, so with several instances each
//! delivery is attempted by one of them at a time, and a crashed instance's claims expire), sending up to
//! `WEBHOOK_CONCURRENCY` at once, and writing the batch's outcomes in one statement. Nothing is held in
//! memory between batches: a restart loses nothing pending.
//!
//! Retry schedule after a failed attempt n (1-based): `WEBHOOK_RETRY_BASE_MS` x 3^(n-1), at most 8 hours,
//! with ±20% jitter (by default 10 s, 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h, 6 h, then every 8 h),
//! or the receiver's `Retry-After` on 429 and 503; a delivery still failing `WEBHOOK_RETRY_WINDOW_HOURS`
//! (72) after its event is given up (`failed`). A subscription whose deliveries have all failed for
//! `WEBHOOK_DISABLE_AFTER_HOURS` (72), or whose receiver answers `410 Gone`, is disabled with an audit
//! event.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use reqwest::{StatusCode, header};

use crate::domain::webhooks::{
    address::{self, AllowedHosts, GuardedResolver},
    render, render_without_database,
    signing::{SecretKey, SigningKey, signature_header},
};
use crate::{
    db::Db,
    error::AppError,
    models::{
        audit::{self, AuditContext, NewAuditEvent},
        webhook::{self as model, Claimed, Outcome, Subscription},
    },
    reference::{DeliveryState, WebhookDisabledReason},
};

/// How much of a receiver's answer is read (the rest is dropped).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(8 * 3600);
/// Events fanned out to the subscriptions per statement.
const FAN_OUT_BATCH: i32 = 1000;
/// Rounds of `WEBHOOK_CONCURRENCY` attempts one worker claims at a time.
const ROUNDS_PER_BATCH: i64 = 16;

/// The dispatcher's settings.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    pub key: SecretKey,
    pub allowed_hosts: AllowedHosts,
    /// `WEBHOOK_CONCURRENCY`: attempts in flight per subscription.
    pub concurrency: usize,
    /// `WEBHOOK_POLL_MS`: how often an idle worker looks for due deliveries.
    pub poll: Duration,
    /// `WEBHOOK_RETRY_BASE_MS`: the first retry's delay.
    pub retry_base: Duration,
    /// `WEBHOOK_RETRY_WINDOW_HOURS`: how long a delivery is retried.
    pub retry_window: chrono::Duration,
    /// `WEBHOOK_DISABLE_AFTER_HOURS`: how long a subscription may fail before it is disabled.
    pub disable_after: chrono::Duration,
    /// `SIGN_OFF_DUE_DAYS` (sign-off events show their due day).
    pub sign_off_due_days: u32,
    /// `WEBHOOK_EVENT_RETENTION_DAYS`: how long events and their delivery log are kept.
    pub event_retention: chrono::Duration,
    /// Where attempts and queue depths are counted.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl DispatchSettings {
    /// From the configuration and the webhook rules' settings.
    pub fn new(
        settings: &crate::config::Settings,
        webhooks: &crate::domain::webhooks::WebhookSettings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        use crate::domain::webhooks::delta;
        let config = &settings.webhooks;
        Self {
            key: webhooks.key.clone(),
            allowed_hosts: webhooks.allowed_hosts.clone(),
            concurrency: config.concurrency,
            poll: config.poll,
            retry_base: config.retry_base,
            retry_window: delta(config.retry_window),
            disable_after: delta(config.disable_after),
            sign_off_due_days: settings.sign_off_due_days,
            event_retention: delta(config.event_retention),
            metrics,
        }
    }
}

/// How often the queue depths in `/metrics` are refreshed.
const QUEUE_METRICS_EVERY: Duration = Duration::from_secs(5);
/// How often events past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Events deleted per statement.
const PRUNE_BATCH: i64 = 10_000;

/// The HTTP client deliveries use: no redirects, the address guard in its resolver, rustls.
pub fn client(allowed: &AllowedHosts) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver {
            allowed: allowed.clone(),
        }))
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("cdt-api-webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(16)
        .build()
}

/// Runs the dispatcher until the process ends: starts a worker for every enabled subscription and stops
/// the workers of subscriptions disabled or deleted.
pub async fn run(db: Db, settings: DispatchSettings) {
    let client = match client(&settings.allowed_hosts) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(error = %error, "webhook dispatcher could not build its HTTP client");
            return;
        }
    };
    let settings = Arc::new(settings);
    let mut workers: HashMap<uuid::Uuid, actix_web::rt::task::JoinHandle<()>> = HashMap::new();
    let mut interval = actix_web::rt::time::interval(settings.poll.max(Duration::from_millis(50)));
    // `None`: not yet (an `Instant` an hour back would not exist on a machine up for less than an hour).
    let mut measured: Option<std::time::Instant> = None;
    let mut pruned: Option<std::time::Instant> = None;
    loop {
        interval.tick().await;
        // Committed events become deliveries, in event order, a batch at a time.
        loop {
            match db
                .run(|conn| Ok(model::fan_out(conn, FAN_OUT_BATCH)?))
                .await
            {
                Ok(count) if count == FAN_OUT_BATCH => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error, "webhook events not fanned out");
                    break;
                }
            }
        }
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned = Some(std::time::Instant::now());
            let before = Utc::now() - settings.event_retention;
            // In batches, so no one statement holds many locks for long.
            let mut total = 0;
            loop {
                match db
                    .run(move |conn| Ok(model::prune(conn, before, PRUNE_BATCH)?))
                    .await
                {
                    Ok(count) => {
                        total += count;
                        if count < PRUNE_BATCH as usize {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "webhook events not pruned");
                        break;
                    }
                }
            }
            if total > 0 {
                tracing::info!(count = total, "webhook events past their retention deleted");
            }
        }
        if measured.is_none_or(|at| at.elapsed() >= QUEUE_METRICS_EVERY) {
            measured = Some(std::time::Instant::now());
            match db.run(|conn| Ok(model::queue_depths(conn)?)).await {
                Ok(depths) => settings.metrics.webhook_queues(
                    &depths
                        .iter()
                        .map(|d| (d.subscription_id, d.pending, d.oldest_seconds as i64))
                        .collect::<Vec<_>>(),
                ),
                Err(error) => tracing::warn!(error = %error, "webhook queue depths not read"),
            }
        }
        let enabled = match db.run(|conn| Ok(model::enabled_ids(conn)?)).await {
            Ok(ids) => ids,
            Err(error) => {
                tracing::warn!(error = %error, "webhook dispatcher could not list subscriptions");
                continue;
            }
        };
        workers.retain(|id, handle| {
            let keep = enabled.contains(id) && !handle.is_finished();
            if !keep {
                handle.abort();
            }
            keep
        });
        for id in enabled {
            workers.entry(id).or_insert_with(|| {
                actix_web::rt::spawn(worker(
                    db.clone(),
                    client.clone(),
                    Arc::clone(&settings),
                    id,
                ))
            });
        }
    }
}

/// Delivers one subscription's events until it is disabled or deleted.
async fn worker(db: Db, client: reqwest::Client, settings: Arc<DispatchSettings>, id: uuid::Uuid) {
    // The claim must outlive the batch even when every attempt times out: rounds x timeout, plus a margin.
    let batch = ROUNDS_PER_BATCH * settings.concurrency.max(1) as i64;
    let lease = ROUNDS_PER_BATCH * ATTEMPT_TIMEOUT.as_secs() as i64 + 60;
    loop {
        let claimed = db
            .run(move |conn| {
                let subscription = model::find(conn, id)?;
                if !subscription.enabled {
                    return Ok(None);
                }
                let claimed = model::claim(conn, id, batch, lease)?;
                Ok(Some((subscription, claimed)))
            })
            .await;
        let (subscription, claimed) = match claimed {
            Ok(Some(found)) => found,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(subscription = %id, error = %error, "webhook worker could not claim deliveries");
                actix_web::rt::time::sleep(settings.poll).await;
                continue;
            }
        };
        if claimed.is_empty() {
            actix_web::rt::time::sleep(settings.poll).await;
            continue;
        }
        let subscription = Arc::new(subscription);
        let outcomes: Vec<(Outcome, Option<u16>)> = stream::iter(claimed)
            .map(|delivery| {
                let client = client.clone();
                let settings = Arc::clone(&settings);
                let subscription = Arc::clone(&subscription);
                let db = db.clone();
                async move { attempt(&db, &client, &settings, &subscription, delivery).await }
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
        for (state, result) in [
            (DeliveryState::Succeeded, "succeeded"),
            (DeliveryState::Pending, "retrying"),
            (DeliveryState::Failed, "failed"),
        ] {
            let count = outcomes.iter().filter(|(o, _)| o.state == state).count();
            if count > 0 {
                settings.metrics.webhook_attempts(result, count as u64);
            }
        }
        let settings_done = Arc::clone(&settings);
        let written = db
            .run(move |conn| finish_batch(conn, &subscription, &outcomes, &settings_done))
            .await;
        if let Err(error) = written {
            // The claims expire and the deliveries are attempted again: at least once, never lost.
            tracing::warn!(subscription = %id, error = %error, "webhook outcomes not recorded");
        }
    }
}

/// The signing keys in force: the current secret, and the previous one during a rotation's overlap.
fn keys(key: &SecretKey, subscription: &Subscription, now: DateTime<Utc>) -> Vec<SigningKey> {
    let mut keys = vec![key.derive(&subscription.secret_salt)];
    if let (Some(salt), Some(until)) = (
        &subscription.previous_secret_salt,
        subscription.previous_secret_expires_at,
    ) && until > now
    {
        keys.push(key.derive(salt));
    }
    keys
}

/// One attempt: render, sign, POST, classify. Returns the outcome and the status (for 410 handling).
async fn attempt(
    db: &Db,
    client: &reqwest::Client,
    settings: &DispatchSettings,
    subscription: &Subscription,
    delivery: Claimed,
) -> (Outcome, Option<u16>) {
    let started = std::time::Instant::now();
    let due_days = settings.sign_off_due_days;
    // Sessions and reach activities (most events) are shaped from their row alone, without a connection.
    let body = match render_without_database(&delivery) {
        Some(body) => body,
        None => {
            let (event, reader) = (delivery.clone(), subscription.owner_id);
            db.run(move |conn| render(conn, &event, reader, due_days))
                .await
        }
    };
    let result = match body {
        Ok(body) => send(client, settings, subscription, &delivery, body).await,
        Err(error) => Err(format!("could not render the event: {error}")),
    };
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let now = Utc::now();
    let (status, retry_after, error) = match result {
        Ok((status, retry_after)) => (Some(status), retry_after, None),
        Err(error) => (None, None, Some(error)),
    };
    let succeeded = status.is_some_and(|s| StatusCode::from_u16(s).is_ok_and(|s| s.is_success()));
    let gone = status == Some(410);
    let next = now + retry_after.unwrap_or_else(|| backoff(settings.retry_base, delivery.attempts));
    let state = if succeeded {
        DeliveryState::Succeeded
    } else if gone || next > delivery.created_at + settings.retry_window {
        DeliveryState::Failed
    } else {
        DeliveryState::Pending
    };
    let error = error.or_else(|| {
        (!succeeded).then(|| format!("the receiver answered {}", status.unwrap_or_default()))
    });
    (
        Outcome {
            id: delivery.id,
            state,
            next_attempt_at: if state == DeliveryState::Pending {
                next
            } else {
                now
            },
            status: status.map(i32::from),
            latency_ms,
            error,
        },
        status,
    )
}

/// POSTs the body; the status and any `Retry-After` (429, 503), or why nothing was answered.
async fn send(
    client: &reqwest::Client,
    settings: &DispatchSettings,
    subscription: &Subscription,
    delivery: &Claimed,
    body: Vec<u8>,
) -> Result<(u16, Option<chrono::Duration>), String> {
    // The URL was checked when saved; checked again (a literal address never reaches the resolver).
    let url = address::parse_url(&subscription.url, &settings.allowed_hosts)
        .map_err(|(_, english, _)| english)?;
    let now = Utc::now();
    let timestamp = now.timestamp();
    let id = delivery.event_id.to_string();
    let signature = signature_header(
        &keys(&settings.key, subscription, now),
        &id,
        timestamp,
        &body,
    );
    let response = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(describe)?;
    let status = response.status();
    let retry_after = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
    .then(|| retry_after(response.headers(), now))
    .flatten();
    // Read at most 64 KiB of the answer, then drop the connection's rest.
    let mut stream = response.bytes_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read >= MAX_RESPONSE_BYTES {
            break;
        }
    }
    Ok((status.as_u16(), retry_after))
}

/// The error without the URL's query (which may carry a token the receiver asked for).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// `Retry-After` as seconds or an HTTP date, bounded to the longest backoff.
fn retry_after(headers: &header::HeaderMap, now: DateTime<Utc>) -> Option<chrono::Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => chrono::Duration::seconds(i64::try_from(seconds).ok()?),
        Err(_) => {
            DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc)
                - now
        }
    };
    let longest = chrono::Duration::from_std(MAX_BACKOFF).ok()?;
    Some(wait.clamp(chrono::Duration::zero(), longest))
}

/// The wait after failed attempt `attempts` (1-based): base x 3^(attempts-1), at most 8 h, ±20% jitter.
pub fn backoff(base: Duration, attempts: i32) -> chrono::Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let wait = base
        .saturating_mul(3u32.saturating_pow(exponent))
        .min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let jitter = if getrandom::fill(&mut byte).is_ok() {
        0.8 + 0.4 * f64::from(byte[0]) / 255.0
    } else {
        1.0
    };
    chrono::Duration::from_std(wait.mul_f64(jitter)).unwrap_or_else(|_| chrono::Duration::hours(8))
}

/// Records a batch's outcomes and what they mean for the subscription: a 410 or a failure run longer than
/// `disable_after` disables it (audited).
fn finish_batch(
    conn: &mut diesel::PgConnection,
    subscription: &Subscription,
    outcomes: &[(Outcome, Option<u16>)],
    settings: &DispatchSettings,
) -> Result<(), AppError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let rows: Vec<Outcome> = outcomes.iter().map(|(o, _)| o.clone()).collect();
        model::record_outcomes(conn, &rows)?;
        let any_success = rows.iter().any(|o| o.state == DeliveryState::Succeeded);
        let gone = outcomes.iter().any(|(_, status)| *status == Some(410));
        let failing_since = model::note_health(conn, subscription.id, any_success)?;
        let reason = if gone {
            Some(WebhookDisabledReason::Gone)
        } else if failing_since.is_some_and(|since| Utc::now() - since > settings.disable_after) {
            Some(WebhookDisabledReason::Failing)
        } else {
            None
        };
        if let Some(reason) = reason
            && model::disable(conn, subscription.id, reason)?
        {
            tracing::warn!(subscription = %subscription.id, reason = %reason, "webhook subscription disabled");
            audit::record(
                conn,
                &AuditContext::default(),
                NewAuditEvent {
                    action: "webhook.disabled",
                    entity_type: "webhook",
                    entity_id: Some(subscription.id),
                    org_unit_path: None,
                    changes: serde_json::json!({
                        "reason": reason,
                        "url": subscription.url,
                        "failing_since": failing_since,
                    }),
                },
            )?;
        }
        Ok::<_, AppError>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_threefold_with_jitter_and_stops_at_eight_hours() {
        let base = Duration::from_secs(10);
        let first = backoff(base, 1).num_milliseconds();
        assert!((8_000..=12_000).contains(&first), "{first}");
        let third = backoff(base, 3).num_milliseconds();
        assert!((72_000..=108_000).contains(&third), "{third}");
        let late = backoff(base, 30).num_seconds();
        assert!(
            (8 * 3600 * 8 / 10..=8 * 3600 * 12 / 10).contains(&late),
            "{late}"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc::now();
        let mut headers = header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("120"));
        assert_eq!(
            retry_after(&headers, now),
            Some(chrono::Duration::seconds(120))
        );
        headers.insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static("soon"),
        );
        assert_eq!(retry_after(&headers, now), None);
    }
}
