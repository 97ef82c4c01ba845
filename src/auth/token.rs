//! Access tokens (JWT, HS256) and refresh tokens (256-bit random, stored only as SHA-256 hashes).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, ErrorCode, Text};

/// `iss` and `aud` of every access token.
pub const ISSUER: &str = "cdt-api";
/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer: `cdt-api`.
    pub iss: String,
    /// Audience: `cdt-api`.
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    /// The role at issue time (authorisation always reads the current role from the database).
    pub role: String,
    /// The scope root org unit, for officers and viewers.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<Uuid>,
    /// The user's token generation; a token of an older generation is rejected.
    pub generation: i32,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expires at.
    pub exp: u64,
    /// Unique token id.
    pub jti: Uuid,
}

/// Signing and verification keys with a pinned algorithm and strict validation.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from the HS256 secret.
    pub fn new(
        secret: &SecretString,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes)?,
            decoding: DecodingKey::from_secret(bytes)?,
            validation,
            access_ttl,
            refresh_ttl,
        })
    }

    /// A signed access token.
    pub fn issue(&self, claims: &Claims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(AppError::internal)
    }

    /// Claims for `user` valid from now for the access lifetime.
    pub fn claims_for(
        &self,
        user_id: Uuid,
        role: crate::reference::Role,
        scope: Option<Uuid>,
        generation: i32,
    ) -> Claims {
        let now = now_seconds();
        Claims {
            iss: ISSUER.to_owned(),
            aud: ISSUER.to_owned(),
            sub: user_id,
            role: role.as_str().to_owned(),
            scope,
            generation,
            iat: now,
            nbf: now,
            exp: now + self.access_ttl.as_secs(),
            jti: Uuid::now_v7(),
        }
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and not-before.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                let (en, vi) = match error.kind() {
                    ErrorKind::ExpiredSignature => {
                        ("The access token has expired", "Mã truy cập đã hết hạn")
                    }
                    ErrorKind::ImmatureSignature => (
                        "The access token is not valid yet",
                        "Mã truy cập chưa có hiệu lực",
                    ),
                    _ => ("The access token is invalid", "Mã truy cập không hợp lệ"),
                };
                AppError::new(ErrorCode::Unauthorized).with_detail(Text::new(en, vi))
            })
    }
}

/// A new refresh token (43 URL-safe characters) and the hash to store.
pub fn new_refresh_token() -> Result<(String, Vec<u8>), AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| AppError::internal(anyhow::anyhow!("randomness: {error}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    Ok((token, hash))
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
