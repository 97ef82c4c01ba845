//! Password hashing (argon2id, PHC strings) and the password rules.
//!
//! Hashing is CPU- and memory-heavy by design (19 MiB per hash at the default cost). Request handlers
//! use the `*_off_thread` methods: the work runs on a few dedicated threads (`PASSWORD_HASH_THREADS`,
//! by default one core less than the machine has), so a storm of logins cannot take every core from the
//! other requests, and memory stays at one argon2 block per thread instead of one per blocking-pool
//! thread. Each thread rests after a hash for as long as the hash took, so hashing uses at most half a
//! core per thread: during a login storm at full speed on two cores (bench/RESULTS.md) the team-read p99
//! stayed at 1.4x its quiet value (15 vs 11 ms), where an unthrottled thread made it 2-80x depending on
//! the run, and a lowered scheduling priority made it worse, not better (nice 10: 127-201 ms, nice 19:
//! 676 ms, SCHED_IDLE: 1.9 s). The price is sign-in throughput: about 16 per second per thread at the
//! default cost, far above what the province's users need (a sign-in lasts for the refresh token's
//! lifetime). When more than [`QUEUE_PER_THREAD`] hashes per thread are waiting, new ones are refused with
//! 429 and `Retry-After` instead of queueing without bound. The CLI uses the synchronous methods.

use std::sync::{
    Arc, Mutex, OnceLock,
    atomic::{AtomicUsize, Ordering},
    mpsc,
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};

use crate::{
    config::PasswordHashCost,
    error::{AppError, FieldError, Text},
};

/// Hashes that may wait per hashing thread before new ones are refused.
pub const QUEUE_PER_THREAD: usize = 32;

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
                        loop {
                            let job = match receiver.lock() {
                                Ok(receiver) => receiver.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => {
                                    let started = std::time::Instant::now();
                                    job();
                                    // Rest as long as the hash took (after its answer went out): a
                                    // hashing thread uses at most half a core, see the module docs.
                                    std::thread::sleep(started.elapsed());
                                }
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

thread_local! {
    /// This thread's argon2 working memory (19 MiB at the default cost), kept between hashes. argon2's own
    /// `hash_password` allocates and frees it on every call; glibc then raised its mmap threshold and kept
    /// each freed block in the thread's heap, where small allocations pinned it, and the server's memory
    /// grew by about 150 MB during a login storm (bench/RESULTS.md). Reusing one block per hashing thread
    /// keeps memory flat and saves zeroing 19 MiB per sign-in.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` with this thread's argon2 memory, at least as large as `argon2`'s parameters need.
fn with_blocks<T>(argon2: &Argon2<'_>, work: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        // Grow only: argon2 uses the first `block_count` blocks, and hashes stored at an older cost
        // would otherwise make the block shrink and grow again on alternate sign-ins.
        let needed = argon2.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::new());
        }
        work(&mut blocks)
    })
}

/// Shortest accepted password.
pub const MIN_LENGTH: usize = crate::contract::PASSWORD_LENGTH.0;
/// Longest accepted password (bounds hashing work).
pub const MAX_LENGTH: usize = crate::contract::PASSWORD_LENGTH.1;

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
            return Err(crate::auth::throttle::rate_limited(
                u32::try_from(limit).unwrap_or(u32::MAX),
                1,
                Text::new(
                    "Too many sign-ins are being checked at once; retry in a moment",
                    "Có quá nhiều lượt đăng nhập cùng lúc; vui lòng thử lại sau giây lát",
                ),
            ));
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
        let failed = |error: &dyn std::fmt::Display| {
            AppError::internal(anyhow::anyhow!("hashing a password: {error}"))
        };
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|error| failed(&error))?;
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let argon2 = self.argon2();
        with_blocks(&argon2, |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, blocks)
        })
        .map_err(|error| failed(&error))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|error| failed(&error))?,
            salt: Some(Salt::new(&salt).map_err(|error| failed(&error))?),
            hash: Some(Output::new(&output).map_err(|error| failed(&error))?),
        };
        Ok(phc.to_string())
    }

    /// True when `password` matches the PHC string `hash`. Hashes made with other parameters verify too
    /// (the parameters are in the string). The comparison is constant-time (`Output`'s equality).
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        let Ok(phc) = PasswordHash::new(hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(phc.algorithm.as_str()),
            Params::try_from(&phc),
        ) else {
            return false;
        };
        let version = match phc.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(version)) => version,
            Some(Err(_)) => return false,
        };
        let argon2 = Argon2::new(algorithm, version, params);
        let mut output = vec![0u8; expected.len()];
        let computed = with_blocks(&argon2, |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut output, blocks)
        });
        computed.is_ok() && Output::new(&output).is_ok_and(|output| output == *expected)
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
    fn hashes_agree_with_the_argon2_crates_own_hasher_in_both_directions() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let hashing = hashing();
        // Ours verifies by the crate's verifier, theirs (other cost, other salt) by ours, wrong ones fail.
        let ours = hashing.hash("Hoa ban nở trắng núi rừng").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            hashing
                .argon2()
                .verify_password("Hoa ban nở trắng núi rừng".as_bytes(), &parsed)
                .is_ok()
        );
        let other_cost = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 2, 1, None).unwrap(),
        );
        let theirs = other_cost
            .hash_password(b"Pha Luong peak at dawn")
            .unwrap()
            .to_string();
        assert!(hashing.verify("Pha Luong peak at dawn", &theirs));
        assert!(!hashing.verify("Pha Luong peak at dusk", &theirs));
        // After a hash at a higher cost the thread's memory is larger; ours still verify with it.
        assert!(hashing.verify("Hoa ban nở trắng núi rừng", &ours));
        let truncated = &ours[..ours.len() - 4];
        assert!(!hashing.verify("Hoa ban nở trắng núi rừng", truncated));
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
