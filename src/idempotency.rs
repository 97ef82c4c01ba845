//! `Idempotency-Key` for writes, as ../shared/API.md defines it, stored in PostgreSQL so it holds across
//! restarts and instances.
//!
//! For a POST or PATCH with the header and a valid bearer token, the middleware claims `(user, key)`
//! before the handler runs. A successful (2xx) first response is stored and replayed for 24 hours with
//! `Idempotency-Replayed: true`; the same key with another body is 422 `idempotency_key_reused`; while
//! the first request still runs, 409 `idempotency_in_progress`. An error response releases the key, so a
//! corrected or later retry runs again (nothing was written: writes are transactional).
//! Requests without a valid token (login, refresh) pass through untouched.

use std::time::Duration;

use actix_web::{
    Error, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::AuthState,
    db::Db,
    error::{AppError, ErrorCode, FieldError, Text},
    models::idempotency,
    openapi::ApiSpec,
};

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header on replayed responses.
pub const REPLAYED: &str = "idempotency-replayed";
/// How long a key is remembered.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// After this long an unfinished request is considered abandoned (its process died) and may be retried.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(300);
/// Response headers kept with a stored response.
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

/// What to do with a request.
enum Claim {
    /// This request owns the key: run it.
    Run,
    /// Replay the stored response.
    Replay(idempotency::IdempotencyRecord),
}

/// The middleware function; install with `actix_web::middleware::from_fn(idempotency)`.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(key) = idempotency_key(&req) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let user_id = match user_of(&req) {
        Some(user_id) => user_id,
        None => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    let key = match key {
        Ok(key) => key,
        Err(error) => return Ok(req.error_response(error)),
    };
    let Some(db) = req.app_data::<web::Data<Db>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };

    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(error) => return Ok(req.error_response(error)),
    };
    let hash = request_hash(&req, &body);
    req.set_payload(Payload::from(body));

    let claim = {
        let key = key.clone();
        db.run(move |conn| claim(conn, user_id, &key, &hash)).await
    };
    match claim {
        Err(error) => Ok(req.error_response(error)),
        Ok(Claim::Replay(record)) => {
            let response = replay(&record);
            Ok(req.into_response(response))
        }
        Ok(Claim::Run) => {
            let response = next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
            finish(&db, user_id, key, response).await
        }
    }
}

fn idempotency_key(req: &ServiceRequest) -> Option<Result<String, AppError>> {
    if !matches!(*req.method(), Method::POST | Method::PATCH) {
        return None;
    }
    // tus uploads carry their own retry protocol (`Upload-Offset`), and their bodies are streamed, never
    // buffered for a hash.
    if req.path().starts_with(crate::routes::uploads::UPLOADS_PATH) {
        return None;
    }
    let value = req.headers().get(IDEMPOTENCY_KEY)?;
    // Only documented operations: a method the path does not support gets its 405 from the router,
    // whatever key it carries.
    let documented = req.app_data::<web::Data<ApiSpec>>().is_some_and(|spec| {
        spec.methods_at(req.path(), req.match_pattern().as_deref())
            .is_some_and(|methods| methods.contains(&req.method().as_str()))
    });
    if !documented {
        return None;
    }
    let key =
        value.to_str().ok().map(str::trim).filter(|key| {
            (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        });
    Some(key.map(str::to_owned).ok_or_else(|| {
        AppError::validation(vec![FieldError::new(
            "Idempotency-Key",
            "invalid_header",
            Text::new(
                "must be 1-255 visible ASCII characters (a UUID is a good choice)",
                "phải gồm 1-255 ký tự ASCII nhìn thấy được (nên dùng UUID)",
            ),
        )])
    }))
}

/// The user a valid bearer token names; `None` without one (the handler answers for itself).
fn user_of(req: &ServiceRequest) -> Option<Uuid> {
    let state = req.app_data::<web::Data<AuthState>>()?;
    let token = crate::auth::bearer_token(req.headers())?;
    state.keys.verify(token).ok().map(|claims| claims.sub)
}

fn request_hash(req: &ServiceRequest, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(req.uri().to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().to_vec()
}

fn claim(
    conn: &mut diesel::PgConnection,
    user_id: Uuid,
    key: &str,
    hash: &[u8],
) -> Result<Claim, AppError> {
    if idempotency::claim(conn, user_id, key, hash)? {
        return Ok(Claim::Run);
    }
    let now = Utc::now();
    let expired_before = now - chrono::Duration::from_std(RETENTION).map_err(AppError::internal)?;
    let abandoned_before =
        now - chrono::Duration::from_std(ABANDONED_AFTER).map_err(AppError::internal)?;
    if idempotency::reclaim(conn, user_id, key, hash, expired_before, abandoned_before)? {
        return Ok(Claim::Run);
    }
    let Some(record) = idempotency::find(conn, user_id, key)? else {
        // Released between our insert attempt and the read: claim again.
        return if idempotency::claim(conn, user_id, key, hash)? {
            Ok(Claim::Run)
        } else {
            Err(in_progress())
        };
    };
    if record.request_hash != hash {
        return Err(AppError::new(ErrorCode::IdempotencyKeyReused).with_detail(Text::new(
            "This Idempotency-Key was used with a different request; use a new key for a new request",
            "Idempotency-Key này đã dùng cho một yêu cầu khác; hãy dùng khoá mới",
        )));
    }
    if record.state != "completed" {
        return Err(in_progress());
    }
    Ok(Claim::Replay(record))
}

fn in_progress() -> AppError {
    AppError::new(ErrorCode::IdempotencyInProgress)
        .with_detail(Text::new(
            "The first request with this Idempotency-Key is still running; retry shortly",
            "Yêu cầu đầu tiên với khoá này đang được xử lý; hãy thử lại sau ít giây",
        ))
        .with_retry_after(1)
}

fn replay(record: &idempotency::IdempotencyRecord) -> HttpResponse {
    let status = record
        .response_status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if let Some(headers) = record.response_headers.as_ref().and_then(|h| h.as_object()) {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                response.insert_header((name.as_str(), value));
            }
        }
    }
    response.insert_header((REPLAYED, "true"));
    response.body(record.response_body.clone().unwrap_or_default())
}

async fn finish(
    db: &Db,
    user_id: Uuid,
    key: String,
    response: Result<ServiceResponse<BoxBody>, Error>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            settle(db, "release", release_key(user_id, key)).await;
            return Err(error);
        }
    };
    let status = response.status();
    if !status.is_success() {
        settle(db, "release", release_key(user_id, key)).await;
        return Ok(response);
    }
    let (req, res) = response.into_parts();
    let (res, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            settle(db, "release", release_key(user_id, key)).await;
            return Ok(ServiceResponse::new(
                req,
                HttpResponse::InternalServerError().finish(),
            ));
        }
    };
    let mut headers = serde_json::Map::new();
    for name in KEPT_HEADERS {
        if let Some(value) = res.headers().get(&name).and_then(|v| v.to_str().ok()) {
            headers.insert(
                name.as_str().to_owned(),
                serde_json::Value::String(value.to_owned()),
            );
        }
    }
    let stored = bytes.clone();
    let status_code = i16::try_from(status.as_u16()).unwrap_or(200);
    let headers = serde_json::Value::Object(headers);
    settle(db, "store the response of", move |conn| {
        Ok(idempotency::complete(
            conn,
            user_id,
            &key,
            status_code,
            headers.clone(),
            &stored,
        )?)
    })
    .await;
    let res = res.set_body(BoxBody::new(bytes));
    Ok(ServiceResponse::new(req, res))
}

fn release_key(
    user_id: Uuid,
    key: String,
) -> impl Fn(&mut diesel::PgConnection) -> Result<usize, AppError> + Clone + Send + 'static {
    move |conn| Ok(idempotency::release(conn, user_id, &key)?)
}

/// Settles a claimed key (stores its response, or releases it) now; while the database is unavailable,
/// keeps trying in the background every second, up to [`ABANDONED_AFTER`]. A key claimed just before an
/// outage is thus settled as soon as the database returns, instead of answering the client's retries
/// with 409 `idempotency_in_progress` until it counts as abandoned.
async fn settle<F>(db: &Db, what: &'static str, work: F)
where
    F: Fn(&mut diesel::PgConnection) -> Result<usize, AppError> + Clone + Send + 'static,
{
    let error = match db.run(work.clone()).await {
        Ok(_) => return,
        Err(error) => error,
    };
    if error.code() != ErrorCode::DatabaseUnavailable {
        tracing::error!(error = %error, "could not {what} an idempotency key");
        return;
    }
    tracing::warn!(error = %error, "could not {what} an idempotency key yet; retrying in the background");
    let db = db.clone();
    actix_web::rt::spawn(async move {
        let deadline = std::time::Instant::now() + ABANDONED_AFTER;
        while std::time::Instant::now() < deadline {
            actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            match db.run(work.clone()).await {
                Ok(_) => {
                    tracing::info!("settled an idempotency key after the database returned");
                    return;
                }
                Err(error) if error.code() == ErrorCode::DatabaseUnavailable => {}
                Err(error) => {
                    tracing::error!(error = %error, "could not {what} an idempotency key");
                    return;
                }
            }
        }
    });
}

/// How often expired keys are deleted.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes expired keys now and then every [`PURGE_INTERVAL`], for as long as the server runs.
pub async fn purge_expired_keys(db: Db) {
    let mut interval = actix_web::rt::time::interval(PURGE_INTERVAL);
    loop {
        interval.tick().await;
        let purged = db
            .run(|conn| {
                let before = Utc::now()
                    - chrono::Duration::from_std(RETENTION).map_err(AppError::internal)?;
                Ok(idempotency::purge(conn, before)?)
            })
            .await;
        match purged {
            Ok(count) if count > 0 => tracing::info!(count, "expired idempotency keys deleted"),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error, "could not delete expired idempotency keys")
            }
        }
    }
}
