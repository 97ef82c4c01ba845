//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): `webhook-signature` is `v1,` and the
//! base64 HMAC-SHA256 of `id.timestamp.body` under the subscription's secret, shown to its owner as
//! `whsec_` + base64 of the key bytes.
//!
//! The secrets are not stored. Each is derived from `WEBHOOK_SECRET_KEY` (or the key kept in the data
//! directory) and a random per-secret salt that is stored: a database dump alone cannot sign, and rotating
//! a subscription's secret is drawing a new salt.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Bytes of a signing key (the specification asks for at least 24).
pub const KEY_BYTES: usize = 32;

/// The master key the signing secrets are derived from.
#[derive(Clone)]
pub struct SecretKey(SecretString);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// A subscription's signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

impl SecretKey {
    pub fn new(key: SecretString) -> Self {
        Self(key)
    }

    /// The signing key of the secret with this salt.
    pub fn derive(&self, salt: &[u8]) -> SigningKey {
        let mut mac = mac(self.0.expose_secret().as_bytes());
        mac.update(b"cdt-api webhook signing key\0");
        mac.update(salt);
        SigningKey(mac.finalize().into_bytes().to_vec())
    }
}

impl SigningKey {
    /// The secret as its owner is shown it once: `whsec_` + base64 of the key.
    pub fn secret(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    /// The key of a `whsec_` secret (receivers and tests).
    pub fn from_secret(secret: &str) -> Option<Self> {
        let bytes = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
            .ok()?;
        (bytes.len() >= 24).then_some(Self(bytes))
    }

    /// `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = mac(&self.0);
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per key, space-separated (during a rotation's overlap
/// the new and the previous secret both sign).
pub fn signature_header(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| key.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A random salt for a new secret.
pub fn new_salt() -> Result<Vec<u8>, crate::error::AppError> {
    let mut salt = vec![0u8; KEY_BYTES];
    getrandom::fill(&mut salt).map_err(|error| {
        crate::error::AppError::internal(anyhow::anyhow!("no randomness: {error}"))
    })?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries.
    #[test]
    fn signs_like_the_specification() {
        let key = SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let signature = key.map(|key| {
            key.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#,
            )
        });
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(SigningKey::from_secret("whsec_c2hvcnQ=").is_none());
    }

    #[test]
    fn derived_keys_differ_by_salt_and_master_key_and_round_trip() {
        let master = SecretKey::new(SecretString::from("k".repeat(40)));
        let other = SecretKey::new(SecretString::from("j".repeat(40)));
        let a = master.derive(b"salt-a");
        assert_eq!(a, master.derive(b"salt-a"));
        assert_ne!(a, master.derive(b"salt-b"));
        assert_ne!(a, other.derive(b"salt-a"));
        assert_eq!(SigningKey::from_secret(&a.secret()), Some(a.clone()));
        let header = signature_header(&[a.clone(), master.derive(b"salt-b")], "id", 1, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with(&a.sign("id", 1, b"{}")));
    }
}
