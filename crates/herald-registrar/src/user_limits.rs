//! Per-user request rates: one token bucket per (user, method) for REGISTER, SUBSCRIBE,
//! PUBLISH and MESSAGE, charged only after the user authenticated, so nobody can spend
//! another user's budget.
//!
//! The defaults are far above what a real client does, so only a runaway client or a
//! stolen account meets them:
//! - REGISTER: burst 60, 60/min. A device re-registers every few minutes (at most every
//!   `min_expires` = 60 s), and a user has at most 32 devices, so even every device of
//!   a user starting at once stays within the burst and refreshes stay near 0.5/s.
//! - SUBSCRIBE: burst 1000, 600/min. A client logging in subscribes to its whole contact
//!   list at once (Lync's limit is 1000 contacts), one SUBSCRIBE each unless it uses a
//!   resource list; refreshes of a full list average well under 1/s, and 10/s refills a
//!   full burst in under two minutes for a second device logging in.
//! - PUBLISH: burst 100, 120/min. A client publishes a few documents on login, on every
//!   state change and on refresh: a handful a minute.
//! - MESSAGE: burst 100, 600/min. Fast typing is a few messages a second, plus an
//!   is-composing MESSAGE (RFC 3994) when typing starts and stops; 10/s sustained is
//!   beyond any person, and a bot needing more gets a setting.
use herald_sip::Method;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One method's budget: `burst` requests at once, refilled at `per_minute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub burst: u32,
    pub per_minute: u32,
}

/// Settings of the per-user limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserLimitsConfig {
    pub register: RateLimit,
    pub subscribe: RateLimit,
    pub publish: RateLimit,
    pub message: RateLimit,
    /// Users tracked at most (each holds one bucket per method). Default 500 000.
    pub max_tracked_users: usize,
}

impl Default for UserLimitsConfig {
    fn default() -> Self {
        UserLimitsConfig {
            register: RateLimit {
                burst: 60,
                per_minute: 60,
            },
            subscribe: RateLimit {
                burst: 1000,
                per_minute: 600,
            },
            publish: RateLimit {
                burst: 100,
                per_minute: 120,
            },
            message: RateLimit {
                burst: 100,
                per_minute: 600,
            },
            max_tracked_users: 500_000,
        }
    }
}

impl UserLimitsConfig {
    fn limit(&self, method: LimitedMethod) -> RateLimit {
        match method {
            LimitedMethod::Register => self.register,
            LimitedMethod::Subscribe => self.subscribe,
            LimitedMethod::Publish => self.publish,
            LimitedMethod::Message => self.message,
        }
    }
}

/// The methods with a per-user rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedMethod {
    Register,
    Subscribe,
    Publish,
    Message,
}

impl LimitedMethod {
    const ALL: [LimitedMethod; 4] = [
        LimitedMethod::Register,
        LimitedMethod::Subscribe,
        LimitedMethod::Publish,
        LimitedMethod::Message,
    ];

    /// The limited method `method` is, if any.
    pub fn of(method: &Method) -> Option<Self> {
        match method {
            Method::Register => Some(LimitedMethod::Register),
            Method::Subscribe => Some(LimitedMethod::Subscribe),
            Method::Publish => Some(LimitedMethod::Publish),
            Method::Message => Some(LimitedMethod::Message),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LimitedMethod::Register => "REGISTER",
            LimitedMethod::Subscribe => "SUBSCRIBE",
            LimitedMethod::Publish => "PUBLISH",
            LimitedMethod::Message => "MESSAGE",
        }
    }

    /// The reason phrase of the 503 (SIP has no 429): says why, so a person reading a
    /// client's log knows it was their own rate.
    pub fn reason(self) -> &'static str {
        match self {
            LimitedMethod::Register => {
                "Service Unavailable (too many REGISTER requests from this user)"
            }
            LimitedMethod::Subscribe => {
                "Service Unavailable (too many SUBSCRIBE requests from this user)"
            }
            LimitedMethod::Publish => {
                "Service Unavailable (too many PUBLISH requests from this user)"
            }
            LimitedMethod::Message => {
                "Service Unavailable (too many MESSAGE requests from this user)"
            }
        }
    }

    fn index(self) -> usize {
        match self {
            LimitedMethod::Register => 0,
            LimitedMethod::Subscribe => 1,
            LimitedMethod::Publish => 2,
            LimitedMethod::Message => 3,
        }
    }
}

/// A refused request: which budget, and how long until it has a token again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverLimit {
    pub method: LimitedMethod,
    pub retry_after: Duration,
}

impl OverLimit {
    /// The `Retry-After` value: whole seconds until a token, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let rounded_up = if self.retry_after.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        };
        rounded_up.max(1)
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

struct UserBuckets {
    buckets: [Bucket; 4],
    last_used: Instant,
}

/// The per-user buckets. `Send + Sync`; calls take the clock reading `now` so tests can
/// drive time.
pub struct UserLimits {
    config: UserLimitsConfig,
    users: Mutex<HashMap<String, UserBuckets>>,
}

/// A full table drops this fraction of its least recently used users at once.
const EVICT_DIVISOR: usize = 8;

impl UserLimits {
    pub fn new(config: UserLimitsConfig) -> Self {
        UserLimits {
            config,
            users: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &UserLimitsConfig {
        &self.config
    }

    /// Takes one token of `method` from `aor`'s budget, or says how long until there is one.
    pub fn take(&self, aor: &str, method: LimitedMethod, now: Instant) -> Result<(), OverLimit> {
        let limit = self.config.limit(method);
        let mut users = self.users.lock();
        // A known user (nearly every request) costs one lookup.
        if let Some(user) = users.get_mut(aor) {
            return spend(user, method, limit, now);
        }
        self.make_room(&mut users, now);
        let full = Bucket {
            tokens: 0.0,
            updated: now,
        };
        let mut buckets = [full; 4];
        for m in LimitedMethod::ALL {
            if let Some(b) = buckets.get_mut(m.index()) {
                b.tokens = f64::from(self.config.limit(m).burst);
            }
        }
        let user = users.entry(aor.to_owned()).or_insert(UserBuckets {
            buckets,
            last_used: now,
        });
        spend(user, method, limit, now)
    }

    /// Users currently tracked.
    pub fn tracked(&self) -> usize {
        self.users.lock().len()
    }

    /// Ensures one more user fits: users whose buckets are all full again are dropped
    /// first (they are as good as new), then the least recently used eighth.
    fn make_room(&self, users: &mut HashMap<String, UserBuckets>, now: Instant) {
        let capacity = self.config.max_tracked_users.max(1);
        if users.len() < capacity {
            return;
        }
        users.retain(|_, u| !self.all_full(u, now));
        if users.len() < capacity {
            return;
        }
        let mut by_use: Vec<(Instant, String)> = users
            .iter()
            .map(|(aor, u)| (u.last_used, aor.clone()))
            .collect();
        let evict = (by_use.len() / EVICT_DIVISOR).max(1);
        by_use.select_nth_unstable_by_key(evict - 1, |(used, _)| *used);
        for (_, aor) in by_use.iter().take(evict) {
            users.remove(aor);
        }
    }

    fn all_full(&self, user: &UserBuckets, now: Instant) -> bool {
        LimitedMethod::ALL.iter().all(|&m| {
            user.buckets.get(m.index()).is_none_or(|b| {
                let mut b = *b;
                let limit = self.config.limit(m);
                refill(&mut b, limit, now);
                b.tokens >= f64::from(limit.burst)
            })
        })
    }
}

/// Takes one token of `method` from `user`'s bucket, or says how long until there is one.
fn spend(
    user: &mut UserBuckets,
    method: LimitedMethod,
    limit: RateLimit,
    now: Instant,
) -> Result<(), OverLimit> {
    user.last_used = user.last_used.max(now);
    let Some(bucket) = user.buckets.get_mut(method.index()) else {
        return Ok(());
    };
    refill(bucket, limit, now);
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    let missing = 1.0 - bucket.tokens;
    let per_second = f64::from(limit.per_minute.max(1)) / 60.0;
    Err(OverLimit {
        method,
        retry_after: Duration::from_secs_f64(missing / per_second),
    })
}

fn refill(bucket: &mut Bucket, limit: RateLimit, now: Instant) {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    let per_second = f64::from(limit.per_minute) / 60.0;
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(f64::from(limit.burst));
    bucket.updated = bucket.updated.max(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn limits(message: RateLimit) -> UserLimits {
        UserLimits::new(UserLimitsConfig {
            message,
            ..UserLimitsConfig::default()
        })
    }

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let l = limits(RateLimit {
            burst: 10,
            per_minute: 60,
        });
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(
                l.take("alice@example.com", LimitedMethod::Message, t0),
                Ok(()),
                "message {i} of the burst"
            );
        }
        let over = l
            .take("alice@example.com", LimitedMethod::Message, t0)
            .unwrap_err();
        assert_eq!(over.method, LimitedMethod::Message);
        assert_eq!(over.retry_after, SEC);
        assert_eq!(over.retry_after_secs(), 1);
        // Half a second later: still half a token short.
        let half = t0 + SEC / 2;
        let over = l
            .take("alice@example.com", LimitedMethod::Message, half)
            .unwrap_err();
        assert_eq!(over.retry_after_secs(), 1);
        assert!(over.retry_after <= SEC / 2 + Duration::from_millis(1));
        assert_eq!(
            l.take("alice@example.com", LimitedMethod::Message, t0 + SEC),
            Ok(())
        );
    }

    #[test]
    fn users_and_methods_have_separate_budgets() {
        let l = limits(RateLimit {
            burst: 2,
            per_minute: 1,
        });
        let t0 = Instant::now();
        for _ in 0..2 {
            l.take("alice@example.com", LimitedMethod::Message, t0)
                .unwrap();
        }
        let over = l
            .take("alice@example.com", LimitedMethod::Message, t0)
            .unwrap_err();
        assert_eq!(over.retry_after_secs(), 60);
        assert_eq!(
            l.take("bob@example.com", LimitedMethod::Message, t0),
            Ok(())
        );
        assert_eq!(
            l.take("alice@example.com", LimitedMethod::Subscribe, t0),
            Ok(())
        );
        assert_eq!(
            l.take("alice@example.com", LimitedMethod::Register, t0),
            Ok(())
        );
    }

    #[test]
    fn the_defaults_let_a_whole_contact_list_subscribe_at_login() {
        let l = UserLimits::new(UserLimitsConfig::default());
        let t0 = Instant::now();
        for i in 0..1000 {
            assert_eq!(
                l.take("alice@example.com", LimitedMethod::Subscribe, t0),
                Ok(()),
                "SUBSCRIBE {i}"
            );
        }
        assert!(
            l.take("alice@example.com", LimitedMethod::Subscribe, t0)
                .is_err()
        );
        // A second device logging in two minutes later gets a full list again.
        let later = t0 + 100 * SEC;
        for _ in 0..1000 {
            l.take("alice@example.com", LimitedMethod::Subscribe, later)
                .unwrap();
        }
    }

    #[test]
    fn the_defaults_let_a_person_type_fast_for_an_hour() {
        let l = UserLimits::new(UserLimitsConfig::default());
        let t0 = Instant::now();
        // Three messages and an is-composing every second, for an hour.
        for s in 0..3600u32 {
            for _ in 0..4 {
                assert_eq!(
                    l.take("alice@example.com", LimitedMethod::Message, t0 + s * SEC),
                    Ok(()),
                    "second {s}"
                );
            }
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let over = |ms| OverLimit {
            method: LimitedMethod::Publish,
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(over(0).retry_after_secs(), 1);
        assert_eq!(over(1).retry_after_secs(), 1);
        assert_eq!(over(1000).retry_after_secs(), 1);
        assert_eq!(over(1001).retry_after_secs(), 2);
        assert_eq!(over(59_999).retry_after_secs(), 60);
    }

    #[test]
    fn the_table_is_bounded_and_forgets_idle_users_first() {
        let l = UserLimits::new(UserLimitsConfig {
            max_tracked_users: 16,
            ..UserLimitsConfig::default()
        });
        let t0 = Instant::now();
        // A busy user with an empty bucket must not get a fresh one through eviction.
        for _ in 0..100 {
            l.take("busy@example.com", LimitedMethod::Message, t0)
                .unwrap();
        }
        for i in 0..15 {
            l.take(&format!("u{i}@example.com"), LimitedMethod::Register, t0)
                .unwrap();
        }
        assert_eq!(l.tracked(), 16);
        // Two seconds on, the others' REGISTER buckets are full again (1/s); busy's
        // MESSAGE bucket has 20 of its 100 tokens back (10/s).
        let t1 = t0 + 2 * SEC;
        for i in 15..30 {
            l.take(&format!("u{i}@example.com"), LimitedMethod::Register, t1)
                .unwrap();
            assert!(l.tracked() <= 16, "bounded: {}", l.tracked());
        }
        for i in 0..20 {
            assert_eq!(
                l.take("busy@example.com", LimitedMethod::Message, t1),
                Ok(()),
                "token {i}"
            );
        }
        assert!(
            l.take("busy@example.com", LimitedMethod::Message, t1)
                .is_err(),
            "the busy user kept their bucket"
        );
        // Past that, the least recently used go, and the table stays bounded.
        for i in 30..200 {
            l.take(&format!("u{i}@example.com"), LimitedMethod::Register, t1)
                .unwrap();
            assert!(l.tracked() <= 16, "bounded: {}", l.tracked());
        }
    }

    #[test]
    fn methods_map_to_their_budgets() {
        assert_eq!(
            LimitedMethod::of(&Method::Subscribe),
            Some(LimitedMethod::Subscribe)
        );
        assert_eq!(LimitedMethod::of(&Method::Invite), None);
        assert_eq!(LimitedMethod::of(&Method::Options), None);
        for m in LimitedMethod::ALL {
            assert!(m.reason().contains(m.as_str()));
            assert!(m.reason().starts_with("Service Unavailable"));
        }
    }
}
