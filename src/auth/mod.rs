//! Authentication and authorisation: password hashing, tokens, the [`AuthUser`] extractor, login
//! throttling, and the one policy module.
//!
//! A request is signed in when its bearer token verifies AND the user it names is still active with the
//! same token generation: disabling a user or changing their role, scope or password cuts them off on
//! their next request. The user's current role and scope are read from the database on every request, so
//! authorisation never trusts stale claims.

pub mod client_addr;
pub mod password;
pub mod policy;
pub mod session;
pub mod throttle;
pub mod token;

use std::sync::Arc;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use crate::{
    config::Settings,
    db::Db,
    error::{AppError, ErrorCode, Text},
    models::{audit::AuditContext, user},
    request_context::RequestId,
};
pub use policy::{Operation, Role};

/// Everything authentication needs, built once per process and shared by all workers.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// Token keys and lifetimes.
    pub keys: token::TokenKeys,
    /// Password hashing at the configured cost.
    pub hashing: password::PasswordHashing,
    /// Per-user API limit and per-IP login limit, shared by all workers.
    pub throttle: Arc<throttle::Throttle>,
    /// `TRUSTED_PROXIES`: whose `Forwarded` / `X-Forwarded-For` name the client ([`client_addr`]).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl AuthState {
    /// Builds the state from the settings.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let secret = settings.resolve_jwt_secret()?;
        Ok(Self {
            keys: token::TokenKeys::new(
                &secret,
                settings.access_token_ttl,
                settings.refresh_token_ttl,
            )?,
            hashing: password::PasswordHashing::new(
                settings.password_hash_cost,
                settings.password_hash_threads,
            )?,
            throttle: Arc::new(throttle::Throttle::new(
                settings.rate_limit_per_minute,
                settings.login_rate_limit_per_minute,
            )),
            trusted_proxies: Arc::new(settings.trusted_proxies.clone()),
        })
    }
}

/// The signed-in user of a request, with their current role and scope.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    /// Scope root (officers, viewers, team leaders).
    pub org_unit_id: Option<Uuid>,
    /// Materialised path of the scope root.
    pub scope_path: Option<String>,
    pub team_id: Option<Uuid>,
    /// The token generation the user is at.
    pub token_generation: i32,
    /// For audit records.
    pub request_id: Option<String>,
    /// For audit records.
    pub client_ip: Option<String>,
}

impl AuthUser {
    /// Who acts, for audit records.
    pub fn audit_context(&self) -> AuditContext {
        AuditContext {
            actor_id: Some(self.id),
            actor_username: Some(self.username.clone()),
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone(),
        }
    }
}

/// The client's address (behind trusted proxies: [`client_addr`]).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let trusted = req
        .app_data::<web::Data<AuthState>>()
        .map(|state| state.trusted_proxies.clone())
        .unwrap_or_default();
    client_addr::client_ip(req, &trusted)
}

/// The request id and client address, for audit records of unauthenticated requests (login).
pub fn anonymous_audit_context(req: &HttpRequest) -> AuditContext {
    AuditContext {
        actor_id: None,
        actor_username: None,
        request_id: req.extensions().get::<RequestId>().map(|id| id.0.clone()),
        client_ip: client_ip(req).map(|ip| ip.to_string()),
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if there is one.
pub fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let (scheme, token) = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// 401 `unauthorized` with a reason.
pub fn unauthorized(en: &'static str, vi: &'static str) -> AppError {
    AppError::new(ErrorCode::Unauthorized).with_detail(Text::new(en, vi))
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = bearer_token(req.headers()).map(str::to_owned);
        let state = req.app_data::<web::Data<AuthState>>().cloned();
        let db = req.app_data::<web::Data<Db>>().cloned();
        let context = anonymous_audit_context(req);
        let writes = !req.method().is_safe();
        Box::pin(async move {
            let (Some(state), Some(db)) = (state, db) else {
                return Err(AppError::internal(anyhow::anyhow!(
                    "authentication state is not configured"
                )));
            };
            let token = token.ok_or_else(|| {
                unauthorized(
                    "Send an access token: Authorization: Bearer <token>",
                    "Hãy gửi mã truy cập: Authorization: Bearer <token>",
                )
            })?;
            let claims = state.keys.verify(&token)?;
            let found = db
                .run(move |conn| user::find_with_scope(conn, claims.sub).optional_app())
                .await?;
            let Some(found) = found else {
                return Err(unauthorized(
                    "The session has ended",
                    "Phiên đăng nhập đã kết thúc",
                ));
            };
            if found.user.status != crate::reference::UserStatus::Active
                || found.user.token_generation != claims.generation
            {
                return Err(unauthorized(
                    "The session has ended; sign in again",
                    "Phiên đăng nhập đã kết thúc; hãy đăng nhập lại",
                ));
            }
            let role = found.user.role;
            state.throttle.check_user(found.user.id)?;
            if writes {
                // Read-your-writes: this user's reads stay on the primary for a while.
                db.note_write(found.user.id);
            }
            Ok(AuthUser {
                id: found.user.id,
                username: found.user.username,
                role,
                org_unit_id: found.user.org_unit_id,
                scope_path: found.scope_path,
                team_id: found.user.team_id,
                token_generation: found.user.token_generation,
                request_id: context.request_id,
                client_ip: context.client_ip,
            })
        })
    }
}

/// `QueryResult<T>` -> `Result<Option<T>, AppError>` with `NotFound` as `None`.
pub trait OptionalApp<T> {
    /// See the trait.
    fn optional_app(self) -> Result<Option<T>, AppError>;
}

impl<T> OptionalApp<T> for diesel::QueryResult<T> {
    fn optional_app(self) -> Result<Option<T>, AppError> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(diesel::result::Error::NotFound) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}
