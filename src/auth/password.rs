//! Password hashing (argon2id, PHC strings) and the password rules.
//!
//! Hashing is CPU- and memory-heavy by design (19 MiB per hash at the default cost). Request handlers
//! use the `*_off_thread` methods: the work runs on a few dedicated threads (`PASSWORD_HASH_THREADS`,
//! by default one core less than the machine has), so a storm of logins cannot take every core from the
//! other requests, and memory stays at one argon2 block per thread instead of one per blocking-pool
//! thread. The threads run at a lower scheduling priority (nice 10), so under contention the CPU goes to
//! the other requests first. When more than [`QUEUE_PER_THREAD`] hashes per thread are waiting, new ones are refused with
//! 429 and `Retry-After` instead of queueing without bound. The CLI uses the synchronous methods.

use std::sync::{
    Arc, Mutex, OnceLock,
    atomic::{AtomicUsize, Ordering},
    mpsc,
};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::{
    config::PasswordHashCost,
    error::{AppError, ErrorCode, FieldError, Text},
};

/// Hashes that may wait per hashing thread before new ones are refused.
pub const QUEUE_PER_THREAD: usize = 32;
/// Scheduling niceness of the hashing threads (0 normal, 19 lowest).
const HASHING_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The dedicated hashing threads, started on first use.
#[derive(Debug)]
struct Workers {
    threads: usize,
    waiting: AtomicUsize,
    sender: OnceLock<Mutex<mpsc::Sender<Job>>>,
}

impl Workers {
    fn sender(&self) -> &Mutex<mpsc::Sender<Job>> {
        self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Job>();
            let receiver = Arc::new(Mutex::new(receiver));
            for number in 0..self.threads {
                let receiver = Arc::clone(&receiver);
                let spawned = std::thread::Builder::new()
                    .name(format!("password-hash-{number}"))
                    .spawn(move || {
                        // Below the request workers and PostgreSQL: under contention a login waits, a
                        // page load does not (Linux applies this to the calling thread only).
                        if let Err(error) =
                            rustix::process::setpriority_process(None, HASHING_NICENESS)
                        {
                            tracing::debug!(%error, "cannot lower the hashing thread's priority");
                        }
                        loop {
                            let job = match receiver.lock() {
                                Ok(receiver) => receiver.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                if let Err(error) = spawned {
                    tracing::error!(%error, "cannot start a password hashing thread");
                }
            }
            Mutex::new(sender)
        })
    }
}

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 10;
/// Longest accepted password (bounds hashing work).
pub const MAX_LENGTH: usize = 128;

/// Hashes and verifies passwords at one configured cost.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    params: Params,
    dummy_hash: Arc<OnceLock<String>>,
    workers: Arc<Workers>,
}

impl PasswordHashing {
    /// A hasher with this cost whose `*_off_thread` methods use `threads` dedicated threads.
    pub fn new(cost: PasswordHashCost, threads: usize) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
            .map_err(|error| anyhow::anyhow!("invalid argon2 parameters: {error}"))?;
        Ok(Self {
            params,
            dummy_hash: Arc::new(OnceLock::new()),
            workers: Arc::new(Workers {
                threads: threads.max(1),
                waiting: AtomicUsize::new(0),
                sender: OnceLock::new(),
            }),
        })
    }

    /// Runs `work` on a hashing thread. 429 with `Retry-After` when the queue is full.
    async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let workers = Arc::clone(&self.workers);
        let limit = workers.threads * QUEUE_PER_THREAD;
        if workers.waiting.fetch_add(1, Ordering::AcqRel) >= limit {
            workers.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::new(ErrorCode::RateLimited)
                .with_detail(Text::new(
                    "Too many sign-ins are being checked at once; retry in a moment",
                    "Có quá nhiều lượt đăng nhập cùng lúc; vui lòng thử lại sau giây lát",
                ))
                .with_retry_after(1));
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let this = self.clone();
        let job: Job = Box::new(move || {
            let value = work(&this);
            this.workers.waiting.fetch_sub(1, Ordering::AcqRel);
            let _ = done.send(value);
        });
        let sent = workers
            .sender()
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("password hashing queue poisoned")))?
            .send(job);
        if sent.is_err() {
            workers.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::internal(anyhow::anyhow!(
                "password hashing threads stopped"
            )));
        }
        result
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("password hashing thread failed")))
    }

    /// [`Self::hash`] on a hashing thread.
    pub async fn hash_off_thread(&self, password: String) -> Result<String, AppError> {
        self.off_thread(move |this| this.hash(&password)).await?
    }

    /// [`Self::verify`] on a hashing thread.
    pub async fn verify_off_thread(
        &self,
        password: String,
        hash: String,
    ) -> Result<bool, AppError> {
        self.off_thread(move |this| this.verify(&password, &hash))
            .await
    }

    /// [`Self::verify_dummy`] on a hashing thread.
    pub async fn verify_dummy_off_thread(&self, password: String) -> Result<(), AppError> {
        self.off_thread(move |this| this.verify_dummy(&password))
            .await
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
        PasswordHashing::new(
            PasswordHashCost {
                memory_kib: 1024,
                iterations: 1,
            },
            1,
        )
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
