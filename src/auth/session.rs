//! A signed-in session: the access token (JWT) and the single-use refresh token issued together, by
//! sign-in, refresh and a password change.

use chrono::Utc;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthState, token},
    domain::users::UserResponse,
    error::AppError,
    models::{refresh_token, user},
};

/// A new session: an access token for requests and a refresh token to get the next one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9...", "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "Jx2cQ1l0vR8...", "refresh_expires_in": 2592000,
    "user": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "username": "lo.van.minh", "display_name": "Lò Văn Minh",
             "role": "officer", "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "team_id": null,
             "status": "active", "version": 1}}))]
pub struct SignInResponse {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: TokenType,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// Opaque token for `POST /api/v1/auth/refresh`; single use.
    pub refresh_token: String,
    /// Seconds the refresh token is valid.
    pub refresh_expires_in: u64,
    /// The signed-in user.
    pub user: UserResponse,
}

/// The kind of access token: always a bearer token (RFC 6750).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TokenType {
    Bearer,
}

/// Issues an access token and a refresh token of `family` (a new family when `None`).
pub fn issue_session(
    conn: &mut PgConnection,
    state: &AuthState,
    user: &user::User,
    family: Option<Uuid>,
) -> Result<SignInResponse, AppError> {
    let claims = state
        .keys
        .claims_for(user.id, user.role, user.org_unit_id, user.token_generation);
    let access_token = state.keys.issue(&claims)?;
    let (refresh, hash) = token::new_refresh_token()?;
    let ttl = state.keys.refresh_ttl;
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    refresh_token::insert(
        conn,
        user.id,
        family.unwrap_or_else(Uuid::now_v7),
        &hash,
        expires_at,
    )?;
    Ok(SignInResponse {
        access_token,
        token_type: TokenType::Bearer,
        expires_in: state.keys.access_ttl.as_secs(),
        refresh_token: refresh,
        refresh_expires_in: ttl.as_secs(),
        user: UserResponse::from_user(user, true),
    })
}
