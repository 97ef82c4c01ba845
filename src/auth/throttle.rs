//! Rate limits and login lockout, built once per process so they hold across all workers.
//!
//! - Every signed-in user may make `RATE_LIMIT_PER_MINUTE` requests per minute (GCRA via `governor`).
//! - Every client IP may try `LOGIN_RATE_LIMIT_PER_MINUTE` logins per minute.
//! - Failed logins lock a username progressively: 5 failures -> 1 minute, then doubling, capped at 1 hour.
//!   For existing users the counters live in the `users` row (durable, shared by instances); for
//!   usernames that do not exist they live here, so a lockout does not reveal whether a name exists.

use std::{collections::HashMap, net::IpAddr, num::NonZeroU32, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use uuid::Uuid;

use crate::error::{AppError, ErrorCode, Text};

/// Failures before the first lockout.
pub const FAILURES_BEFORE_LOCKOUT: i32 = 5;
/// First lockout.
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(60);
/// Longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(3600);

/// How long a username is locked after `failures` consecutive failures (`None`: not locked).
pub fn lockout_after(failures: i32) -> Option<Duration> {
    if failures < FAILURES_BEFORE_LOCKOUT {
        return None;
    }
    let doublings = u32::try_from(failures - FAILURES_BEFORE_LOCKOUT)
        .unwrap_or(0)
        .min(12);
    Some((FIRST_LOCKOUT * 2u32.pow(doublings)).min(MAX_LOCKOUT))
}

/// Consecutive failures and lock end of one username.
type FailureRecord = (i32, Option<DateTime<Utc>>);

/// The process-wide limiters.
#[derive(Debug)]
pub struct Throttle {
    per_user: DefaultKeyedRateLimiter<Uuid>,
    per_user_quota: u32,
    login_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_per_ip_quota: u32,
    unknown_usernames: Mutex<HashMap<String, FailureRecord>>,
}

impl Throttle {
    /// Limiters with these per-minute quotas.
    pub fn new(per_user_per_minute: u32, login_per_ip_per_minute: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_user: RateLimiter::keyed(quota(per_user_per_minute)),
            per_user_quota: per_user_per_minute,
            login_per_ip: RateLimiter::keyed(quota(login_per_ip_per_minute)),
            login_per_ip_quota: login_per_ip_per_minute,
            unknown_usernames: Mutex::new(HashMap::new()),
        }
    }

    /// 429 when `user` exceeded the API limit.
    pub fn check_user(&self, user: Uuid) -> Result<(), AppError> {
        if self.per_user.len() > 100_000 {
            self.per_user.retain_recent();
        }
        self.per_user.check_key(&user).map_err(|not_until| {
            too_many(
                self.per_user_quota,
                not_until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    /// 429 when `ip` exceeded the login limit.
    pub fn check_login_ip(&self, ip: IpAddr) -> Result<(), AppError> {
        if self.login_per_ip.len() > 100_000 {
            self.login_per_ip.retain_recent();
        }
        self.login_per_ip.check_key(&ip).map_err(|not_until| {
            too_many(
                self.login_per_ip_quota,
                not_until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    /// The lock end of a username that does not exist, if locked now.
    pub fn unknown_username_locked_until(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let map = self.unknown_usernames.lock().ok()?;
        map.get(&username.to_lowercase())
            .and_then(|(_, until)| *until)
            .filter(|until| *until > now)
    }

    /// Counts a failure for a username that does not exist.
    pub fn record_unknown_username_failure(&self, username: &str, now: DateTime<Utc>) {
        if let Ok(mut map) = self.unknown_usernames.lock() {
            if map.len() > 100_000 {
                map.retain(|_, (_, until)| until.is_some_and(|u| u > now));
            }
            let entry = map.entry(username.to_lowercase()).or_insert((0, None));
            entry.0 += 1;
            entry.1 = lockout_after(entry.0)
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| now + d);
        }
    }
}

/// 429 `rate_limited` with `Retry-After` and the `RateLimit-*` headers (IETF draft
/// `ratelimit-headers`): `limit` requests per window, none left, the window resets in `seconds`. Every
/// 429 of the API is made here, so each carries the same headers.
pub fn rate_limited(limit: u32, seconds: u32, detail: Text) -> AppError {
    let seconds = seconds.max(1);
    AppError::new(ErrorCode::RateLimited)
        .with_detail(detail)
        .with_retry_after(seconds)
        .with_header("RateLimit-Limit", limit.to_string())
        .with_header("RateLimit-Remaining", "0".to_owned())
        .with_header("RateLimit-Reset", seconds.to_string())
}

/// 429 for a keyed limit of `limit` per minute, free again after `wait`.
pub fn too_many(limit: u32, wait: Duration) -> AppError {
    let seconds = u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).max(1);
    rate_limited(
        limit,
        seconds,
        Text::new(
            format!("Too many requests; retry in {seconds} s"),
            format!("Quá nhiều yêu cầu; hãy thử lại sau {seconds} giây"),
        ),
    )
}

/// 429 for a locked username: the limit is the failures allowed before a lockout.
pub fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    let seconds = u32::try_from((until - now).num_seconds().max(1)).unwrap_or(1);
    rate_limited(
        FAILURES_BEFORE_LOCKOUT.unsigned_abs(),
        seconds,
        Text::new(
            format!("Too many failed sign-ins; try again in {seconds} s"),
            format!("Đăng nhập sai quá nhiều lần; hãy thử lại sau {seconds} giây"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_doubles_from_one_minute_to_one_hour() {
        assert_eq!(lockout_after(4), None);
        assert_eq!(lockout_after(5), Some(Duration::from_secs(60)));
        assert_eq!(lockout_after(6), Some(Duration::from_secs(120)));
        assert_eq!(lockout_after(9), Some(Duration::from_secs(960)));
        assert_eq!(lockout_after(11), Some(Duration::from_secs(3600)));
        assert_eq!(lockout_after(400), Some(Duration::from_secs(3600)));
    }
}
