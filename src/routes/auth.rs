//! Sign-in: login, refresh-token rotation with reuse detection, logout.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use diesel::Connection;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    auth::{
        AuthState, OptionalApp, anonymous_audit_context,
        session::{SignInResponse, issue_session},
        throttle, token,
    },
    db::Db,
    error::{AppError, ErrorCode, Problem},
    models::{
        audit::{self, NewAuditEvent},
        refresh_token, user,
    },
};

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "lo.van.minh", "password": "Mây trắng bay qua đỉnh Pha Luông"}))]
pub struct LoginRequest {
    /// Username (case-insensitive).
    pub username: String,
    /// Password.
    pub password: String,
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "Jx2cQ1l0vR8..."}))]
pub struct RefreshRequest {
    /// The refresh token from login or the last refresh.
    pub refresh_token: String,
}

/// Sign in.
///
/// Exchanges a username and password for an access token (JWT, 15 minutes by default) and a refresh
/// token (30 days, single use). A wrong username, a wrong password and a disabled account all give the
/// same 401 `invalid_credentials`. After 5 failures the username is locked for 1 minute, doubling with
/// each further failure up to 1 hour (429 with `Retry-After`); each client IP may also try only a limited
/// number of times per minute.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = SignInResponse),
        (status = 401, description = "Wrong credentials (`invalid_credentials`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked, rate limited, or too many sign-ins being checked at once (`rate_limited`); see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    body: web::Json<LoginRequest>,
    state: web::Data<AuthState>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    if let Some(ip) = crate::auth::client_ip(&req) {
        state.throttle.check_login_ip(ip)?;
    }
    let context = anonymous_audit_context(&req);
    let LoginRequest { username, password } = body.into_inner();
    let now = Utc::now();
    let lookup = username.clone();
    let found = db
        .run(move |conn| user::find_by_username(conn, &lookup).map_err(Into::into))
        .await?;

    let Some(found) = found else {
        if let Some(until) = state.throttle.unknown_username_locked_until(&username, now) {
            return Err(throttle::locked(until, now));
        }
        state.hashing.verify_dummy_off_thread(password).await?;
        state
            .throttle
            .record_unknown_username_failure(&username, now);
        let changes = serde_json::json!({"username": username, "reason": "unknown_user"});
        db.run(move |conn| {
            audit::record(
                conn,
                &context,
                NewAuditEvent {
                    action: "login_failed",
                    entity_type: "user",
                    entity_id: None,
                    org_unit_path: None,
                    changes,
                },
            )
            .map_err(Into::into)
        })
        .await?;
        return Err(AppError::new(ErrorCode::InvalidCredentials));
    };

    if let Some(until) = found.locked_until.filter(|until| *until > now) {
        return Err(throttle::locked(until, now));
    }
    let password_ok = state
        .hashing
        .verify_off_thread(password, found.password_hash.clone())
        .await?;
    let active = found.status == crate::reference::UserStatus::Active;

    let state = state.into_inner();
    db.run(move |conn| {
        conn.transaction(|conn| {
            let mut context = context;
            context.actor_id = Some(found.id);
            context.actor_username = Some(found.username.clone());
            if password_ok && active {
                user::record_login(conn, found.id)?;
                audit::record(
                    conn,
                    &context,
                    NewAuditEvent {
                        action: "login_succeeded",
                        entity_type: "user",
                        entity_id: Some(found.id),
                        org_unit_path: None,
                        changes: serde_json::json!({}),
                    },
                )?;
                let session = issue_session(conn, &state, &found, None)?;
                return Ok(Ok(session));
            }
            let failures = found.failed_logins + 1;
            let locked_until = throttle::lockout_after(failures)
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| now + d);
            if password_ok {
                // A disabled account: no counting, the same answer as a wrong password.
            } else {
                user::record_failed_login(conn, found.id, failures, locked_until)?;
            }
            let reason = if password_ok {
                "disabled"
            } else {
                "wrong_password"
            };
            audit::record(
                conn,
                &context,
                NewAuditEvent {
                    action: "login_failed",
                    entity_type: "user",
                    entity_id: Some(found.id),
                    org_unit_path: None,
                    changes: serde_json::json!({"reason": reason, "failed_logins": failures}),
                },
            )?;
            Ok::<_, AppError>(Err(AppError::new(ErrorCode::InvalidCredentials)))
        })
    })
    .await?
    .map(|session| {
        HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(session)
    })
}

/// Rotate the refresh token.
///
/// Exchanges a refresh token for a new access token and a new refresh token of the same sign-in; the
/// presented token can never be used again. Presenting an already-rotated token means it was copied: the
/// whole sign-in is revoked and the answer is 401 `refresh_token_reused`.
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh_session",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new session.", body = SignInResponse),
        (status = 401, description = "Unknown, expired or revoked (`invalid_refresh_token`), or reused (`refresh_token_reused`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh_session(
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
    state: web::Data<AuthState>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let hash = token::hash_refresh_token(&body.refresh_token);
    let context = anonymous_audit_context(&req);
    let state = state.into_inner();
    db.run(move |conn| {
        conn.transaction(|conn| {
            let Some(stored) = refresh_token::find_for_update(conn, &hash)? else {
                return Ok(Err(AppError::new(ErrorCode::InvalidRefreshToken)));
            };
            if stored.revoked_at.is_some() || stored.expires_at <= Utc::now() {
                return Ok(Err(AppError::new(ErrorCode::InvalidRefreshToken)));
            }
            if stored.rotated_at.is_some() {
                refresh_token::revoke_family(conn, stored.family_id)?;
                let mut context = context;
                context.actor_id = Some(stored.user_id);
                audit::record(
                    conn,
                    &context,
                    NewAuditEvent {
                        action: "refresh_token_reused",
                        entity_type: "user",
                        entity_id: Some(stored.user_id),
                        org_unit_path: None,
                        changes: serde_json::json!({"family_id": stored.family_id}),
                    },
                )?;
                return Ok(Err(AppError::new(ErrorCode::RefreshTokenReused)));
            }
            let Some(found) = user::find_with_scope(conn, stored.user_id).optional_app()? else {
                return Ok(Err(AppError::new(ErrorCode::InvalidRefreshToken)));
            };
            if found.user.status != crate::reference::UserStatus::Active {
                refresh_token::revoke_family(conn, stored.family_id)?;
                return Ok(Err(AppError::new(ErrorCode::InvalidRefreshToken)));
            }
            refresh_token::mark_rotated(conn, stored.id)?;
            let session = issue_session(conn, &state, &found.user, Some(stored.family_id))?;
            Ok::<_, AppError>(Ok(session))
        })
    })
    .await?
    .map(|session| {
        HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(session)
    })
}

/// Sign out.
///
/// Revokes the sign-in the refresh token belongs to (every token of its family). Answers 204 whether or
/// not the token was known, so it is safe to retry.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out."),
        (status = 422, description = "Malformed request.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let hash = token::hash_refresh_token(&body.refresh_token);
    let context = anonymous_audit_context(&req);
    db.run(move |conn| {
        conn.transaction(|conn| {
            if let Some(stored) = refresh_token::find_for_update(conn, &hash)? {
                let revoked = refresh_token::revoke_family(conn, stored.family_id)?;
                if revoked > 0 {
                    let mut context = context;
                    context.actor_id = Some(stored.user_id);
                    audit::record(
                        conn,
                        &context,
                        NewAuditEvent {
                            action: "logout",
                            entity_type: "user",
                            entity_id: Some(stored.user_id),
                            org_unit_path: None,
                            changes: serde_json::json!({}),
                        },
                    )?;
                }
            }
            Ok::<_, AppError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
