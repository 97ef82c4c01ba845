//! Password hashing (argon2id, PHC strings) and the password rules.
//!
//! Hashing is CPU-heavy by design, so callers run it on the blocking pool (inside `Db::run` or
//! `web::block`), never on an async worker.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::OnceLock;

use crate::{
    config::PasswordHashCost,
    error::{AppError, FieldError, Text},
};

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 10;
/// Longest accepted password (bounds hashing work).
pub const MAX_LENGTH: usize = 128;

/// Hashes and verifies passwords at one configured cost.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    params: Params,
    dummy_hash: std::sync::Arc<OnceLock<String>>,
}

impl PasswordHashing {
    /// A hasher with this cost.
    pub fn new(cost: PasswordHashCost) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
            .map_err(|error| anyhow::anyhow!("invalid argon2 parameters: {error}"))?;
        Ok(Self {
            params,
            dummy_hash: std::sync::Arc::new(OnceLock::new()),
        })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string (`$argon2id$v=19$m=...`) for `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, AppError> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::internal(anyhow::anyhow!("hashing a password: {error}")))
    }

    /// True when `password` matches the PHC string `hash`. Hashes made with other parameters verify too
    /// (the parameters are in the string).
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        self.argon2()
            .verify_password(password.as_bytes(), hash)
            .is_ok()
    }

    /// Spends the same time as a real verification, for unknown or disabled users, so that response
    /// times do not reveal which usernames exist.
    pub fn verify_dummy(&self, password: &str) {
        let hash = self.dummy_hash.get_or_init(|| {
            self.hash("dummy password for timing equalisation")
                .unwrap_or_default()
        });
        let _ = self.verify(password, hash);
    }
}

/// Checks the password rules: 10 to 128 characters, not the username, and not weak by zxcvbn's estimate
/// (score 3 of 4 or better). Returns a field error for `field` saying why.
pub fn check_strength(
    field: &'static str,
    password: &str,
    user_inputs: &[&str],
) -> Result<(), AppError> {
    let length = password.chars().count();
    let error = |code: &'static str, en: String, vi: String| {
        Err(AppError::validation(vec![FieldError::new(
            field,
            code,
            Text::new(en, vi),
        )]))
    };
    if length < MIN_LENGTH {
        return error(
            "too_short",
            format!("must be at least {MIN_LENGTH} characters"),
            format!("phải có ít nhất {MIN_LENGTH} ký tự"),
        );
    }
    if length > MAX_LENGTH {
        return error(
            "too_long",
            format!("must be at most {MAX_LENGTH} characters"),
            format!("không được quá {MAX_LENGTH} ký tự"),
        );
    }
    if user_inputs
        .iter()
        .any(|input| !input.is_empty() && password.to_lowercase().contains(&input.to_lowercase()))
    {
        return error(
            "contains_username",
            "must not contain the username".to_owned(),
            "không được chứa tên đăng nhập".to_owned(),
        );
    }
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(estimate.score()) < 3 {
        let mut en = "is too easy to guess".to_owned();
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                en = format!("{en}: {warning}");
            }
            if let Some(suggestion) = feedback.suggestions().first() {
                en = format!("{en}. {suggestion}");
            }
        }
        return error(
            "too_weak",
            en,
            "quá dễ đoán; hãy dùng một cụm từ dài hơn, ít phổ biến hơn".to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashing() -> PasswordHashing {
        PasswordHashing::new(PasswordHashCost {
            memory_kib: 1024,
            iterations: 1,
        })
        .unwrap()
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hashing = hashing();
        let hash = hashing.hash("correct horse battery staple").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
        assert!(hashing.verify("correct horse battery staple", &hash));
        assert!(!hashing.verify("correct horse battery stapler", &hash));
        assert!(!hashing.verify("x", "not a phc string"));
    }

    #[test]
    fn password_rules_say_why() {
        let code = |password: &str| {
            check_strength("password", password, &["nguyenvana"])
                .err()
                .map(|e| e.field_errors()[0].code.to_string())
        };
        assert_eq!(code("short").as_deref(), Some("too_short"));
        assert_eq!(code(&"x".repeat(129)).as_deref(), Some("too_long"));
        assert_eq!(
            code("NguyenVanA2024!").as_deref(),
            Some("contains_username")
        );
        assert_eq!(code("password123").as_deref(), Some("too_weak"));
        assert_eq!(code("qwertyuiop").as_deref(), Some("too_weak"));
        assert_eq!(code("Mây trắng bay qua đỉnh Pha Luông"), None);
    }
}
