//! Failed-password lockout, keyed on (digest username, source address).
//!
//! Password guessing is slowed per pair: after `max_failures` wrong answers within
//! `window` from one address for one username, that pair is locked for `first_lock`;
//! every further attempt while locked doubles the lock (up to `max_lock`). While locked,
//! the caller answers like a wrong password without looking at the password, so a right
//! guess during a lock teaches nothing. Keying on the address as well as the username
//! means nobody can lock a user out from elsewhere: the user's own devices, on other
//! addresses, are never affected. IPv6 clients are keyed on their /64 (one subscriber's
//! network), since one attacker there holds far more addresses than a lock could count.
//!
//! The username is kept as a keyed 64-bit hash: entries stay small whatever the client
//! sends, and a collision could only merge two names tried from the same address.
//! Unknown and known usernames go through the same code: nothing here looks at the
//! directory, so lockout behaviour reveals nothing about which users exist.
//!
//! Memory is bounded: entries no longer locked nor counting (nor remembered for the
//! next lock's doubling) are swept, and a full table drops the entries that would end
//! soonest.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Settings of the lockout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Wrong answers from one address for one username, within `window`, that lock the
    /// pair. Default 5.
    pub max_failures: u32,
    /// How long failures count towards a lock, and how long after a lock ends the next
    /// one still starts at double the last. Default 5 min.
    pub window: Duration,
    /// Length of a first lock. Default 30 s.
    pub first_lock: Duration,
    /// Longest lock: doubling stops here. Default 15 min.
    pub max_lock: Duration,
    /// (username, address) pairs tracked at most. Default 100 000.
    pub max_tracked: usize,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 5,
            window: Duration::from_secs(300),
            first_lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(900),
            max_tracked: 100_000,
        }
    }
}

/// What a failure did to its pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureEffect {
    /// Counted; the pair is not locked.
    Counted,
    /// The pair was not locked and now is, for this long (log it).
    Locked(Duration),
    /// The pair was locked and its lock now lasts this long from now.
    Extended(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PairKey {
    username: u64,
    /// An IPv4 address, or an IPv6 /64 prefix (lower 64 bits zero).
    network: IpAddr,
}

#[derive(Clone, Copy, Debug)]
struct Pair {
    /// Failures counted since `window_start` while not locked.
    failures: u32,
    window_start: Instant,
    /// The current or last lock: its end and its length (zero: never locked).
    locked_until: Option<Instant>,
    lock: Duration,
}

impl Pair {
    fn is_locked(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// When the entry stops mattering: failures no longer count and the last lock is
    /// no longer remembered for doubling.
    fn forgotten_at(&self, window: Duration) -> Instant {
        let counting_until = self.window_start + window;
        match self.locked_until {
            Some(until) => counting_until.max(until + window),
            None => counting_until,
        }
    }
}

/// The lockout table. `Send + Sync`; every call takes the clock reading `now` so that
/// tests can drive time.
pub struct Lockout {
    config: LockoutConfig,
    hasher: RandomState,
    pairs: Mutex<Table>,
}

struct Table {
    pairs: HashMap<PairKey, Pair>,
    next_sweep: Option<Instant>,
}

/// A full table drops this fraction of its entries at once, so eviction (O(n)) runs
/// once per n/8 new pairs.
const EVICT_DIVISOR: usize = 8;

impl Lockout {
    pub fn new(config: LockoutConfig) -> Self {
        Lockout {
            config,
            hasher: RandomState::new(),
            pairs: Mutex::new(Table {
                pairs: HashMap::new(),
                next_sweep: None,
            }),
        }
    }

    pub fn config(&self) -> &LockoutConfig {
        &self.config
    }

    fn key(&self, username: &str, client: IpAddr) -> PairKey {
        PairKey {
            username: self.hasher.hash_one(username.to_lowercase()),
            network: network_of(client),
        }
    }

    /// Whether attempts for `username` from `client` are refused right now.
    pub fn is_locked(&self, username: &str, client: IpAddr, now: Instant) -> bool {
        let key = self.key(username, client);
        self.pairs
            .lock()
            .pairs
            .get(&key)
            .is_some_and(|p| p.is_locked(now))
    }

    /// Records a wrong answer (or any attempt while locked) for `username` from `client`.
    pub fn record_failure(&self, username: &str, client: IpAddr, now: Instant) -> FailureEffect {
        let key = self.key(username, client);
        let config = &self.config;
        let mut table = self.pairs.lock();
        table.sweep_if_due(now, config);
        if !table.pairs.contains_key(&key) {
            table.make_room(now, config);
        }
        let pair = table.pairs.entry(key).or_insert(Pair {
            failures: 0,
            window_start: now,
            locked_until: None,
            lock: Duration::ZERO,
        });
        if pair.is_locked(now) {
            pair.lock = pair.lock.saturating_mul(2).min(config.max_lock);
            pair.locked_until = Some(now + pair.lock);
            return FailureEffect::Extended(pair.lock);
        }
        if now.saturating_duration_since(pair.window_start) >= config.window {
            pair.failures = 0;
            pair.window_start = now;
        }
        if pair
            .locked_until
            .is_some_and(|until| now.saturating_duration_since(until) >= config.window)
        {
            // The last lock ended long enough ago: the next starts from the beginning.
            pair.lock = Duration::ZERO;
            pair.locked_until = None;
        }
        pair.failures = pair.failures.saturating_add(1);
        if pair.failures < config.max_failures {
            return FailureEffect::Counted;
        }
        pair.lock = if pair.lock.is_zero() {
            config.first_lock
        } else {
            pair.lock.saturating_mul(2)
        }
        .min(config.max_lock);
        pair.locked_until = Some(now + pair.lock);
        pair.failures = 0;
        pair.window_start = now;
        FailureEffect::Locked(pair.lock)
    }

    /// Records a successful authentication: the pair starts afresh.
    pub fn record_success(&self, username: &str, client: IpAddr) {
        let key = self.key(username, client);
        self.pairs.lock().pairs.remove(&key);
    }

    /// Pairs currently tracked.
    pub fn tracked(&self) -> usize {
        self.pairs.lock().pairs.len()
    }
}

impl Table {
    /// Drops forgotten entries every `window`, so an idle table does not keep them.
    fn sweep_if_due(&mut self, now: Instant, config: &LockoutConfig) {
        if self.next_sweep.is_some_and(|at| now < at) {
            return;
        }
        self.pairs
            .retain(|_, p| p.forgotten_at(config.window) > now);
        self.next_sweep = Some(now + config.window);
    }

    /// Ensures one more pair fits: forgotten entries go first, then those that would be
    /// forgotten soonest (the table stays bounded under any flood of names or addresses,
    /// and long locks are the last to go).
    fn make_room(&mut self, now: Instant, config: &LockoutConfig) {
        let capacity = config.max_tracked.max(1);
        if self.pairs.len() < capacity {
            return;
        }
        self.pairs
            .retain(|_, p| p.forgotten_at(config.window) > now);
        if self.pairs.len() < capacity {
            return;
        }
        let mut by_end: Vec<(Instant, PairKey)> = self
            .pairs
            .iter()
            .map(|(key, p)| (p.forgotten_at(config.window), *key))
            .collect();
        let evict = (by_end.len() / EVICT_DIVISOR).max(1);
        by_end.select_nth_unstable_by_key(evict - 1, |(end, _)| *end);
        for (_, key) in by_end.iter().take(evict) {
            self.pairs.remove(key);
        }
    }
}

/// The address a pair is keyed on: IPv4 as is (IPv4-mapped IPv6 counts as IPv4), IPv6
/// by its /64.
fn network_of(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(prefix.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66));
    const OWNER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    const SEC: Duration = Duration::from_secs(1);

    fn lockout() -> Lockout {
        Lockout::new(LockoutConfig::default())
    }

    /// Fails `n` times at `now`; returns the last effect.
    fn fail(l: &Lockout, user: &str, ip: IpAddr, now: Instant, n: u32) -> FailureEffect {
        let mut last = FailureEffect::Counted;
        for _ in 0..n {
            last = l.record_failure(user, ip, now);
        }
        last
    }

    #[test]
    fn the_fifth_failure_locks_for_thirty_seconds() {
        let l = lockout();
        let t0 = Instant::now();
        assert_eq!(fail(&l, "alice", ATTACKER, t0, 4), FailureEffect::Counted);
        assert!(!l.is_locked("alice", ATTACKER, t0));
        assert_eq!(
            l.record_failure("alice", ATTACKER, t0 + SEC),
            FailureEffect::Locked(30 * SEC)
        );
        assert!(l.is_locked("alice", ATTACKER, t0 + SEC));
        assert!(l.is_locked("alice", ATTACKER, t0 + 30 * SEC));
        assert!(!l.is_locked("alice", ATTACKER, t0 + 31 * SEC));
    }

    #[test]
    fn other_addresses_and_other_names_are_never_affected() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 50);
        assert!(l.is_locked("alice", ATTACKER, t0));
        assert!(!l.is_locked("alice", OWNER, t0));
        assert!(!l.is_locked("bob", ATTACKER, t0));
        // The owner's own mistakes count separately from the attacker's.
        assert_eq!(fail(&l, "alice", OWNER, t0, 4), FailureEffect::Counted);
        assert!(!l.is_locked("alice", OWNER, t0));
    }

    #[test]
    fn the_username_is_case_insensitive() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "Alice", ATTACKER, t0, 3);
        fail(&l, "ALICE", ATTACKER, t0, 2);
        assert!(l.is_locked("alice", ATTACKER, t0));
    }

    #[test]
    fn attempts_while_locked_double_the_lock_up_to_the_cap() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 5);
        let mut expected = 30;
        for i in 1..=8u32 {
            expected = (expected * 2).min(900);
            let at = t0 + i * SEC;
            assert_eq!(
                l.record_failure("alice", ATTACKER, at),
                FailureEffect::Extended(expected * SEC),
                "attempt {i} while locked"
            );
            assert!(l.is_locked("alice", ATTACKER, at + (expected - 1) * SEC));
            assert!(!l.is_locked("alice", ATTACKER, at + expected * SEC));
        }
        assert_eq!(expected, 900, "capped at 15 minutes");
    }

    #[test]
    fn after_a_lock_the_next_lock_is_longer_until_the_window_forgets() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 5);
        // The lock (30 s) ends; five more failures lock for twice as long.
        let t1 = t0 + 31 * SEC;
        assert_eq!(fail(&l, "alice", ATTACKER, t1, 4), FailureEffect::Counted);
        assert_eq!(
            l.record_failure("alice", ATTACKER, t1),
            FailureEffect::Locked(60 * SEC)
        );
        // Quiet for the lock and a whole window afterwards: back to the first length.
        let t2 = t1 + 60 * SEC + 300 * SEC;
        assert_eq!(
            fail(&l, "alice", ATTACKER, t2, 5),
            FailureEffect::Locked(30 * SEC)
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 4);
        let later = t0 + 301 * SEC;
        assert_eq!(
            fail(&l, "alice", ATTACKER, later, 4),
            FailureEffect::Counted
        );
        assert!(!l.is_locked("alice", ATTACKER, later));
    }

    #[test]
    fn success_resets_the_pair() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 4);
        l.record_success("alice", ATTACKER);
        assert_eq!(fail(&l, "alice", ATTACKER, t0, 4), FailureEffect::Counted);
        assert!(!l.is_locked("alice", ATTACKER, t0));
        assert_eq!(l.tracked(), 1);
        l.record_success("alice", ATTACKER);
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn ipv6_is_keyed_on_the_64_bit_prefix_and_mapped_ipv4_on_the_address() {
        let l = lockout();
        let t0 = Instant::now();
        let a = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1));
        let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        let other_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        fail(&l, "alice", a, t0, 5);
        assert!(l.is_locked("alice", same_64, t0));
        assert!(!l.is_locked("alice", other_64, t0));

        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 66).to_ipv6_mapped());
        fail(&l, "bob", mapped, t0, 5);
        assert!(l.is_locked("bob", ATTACKER, t0));
    }

    #[test]
    fn the_table_is_bounded_and_keeps_long_locks_longest() {
        let l = Lockout::new(LockoutConfig {
            max_tracked: 64,
            ..LockoutConfig::default()
        });
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 5);
        // Attempts while locked push alice's lock to the cap.
        fail(&l, "alice", ATTACKER, t0, 10);
        for i in 0..1_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            l.record_failure(&format!("user{i}"), ip, t0 + SEC);
            assert!(l.tracked() <= 64, "bounded: {}", l.tracked());
        }
        assert!(l.is_locked("alice", ATTACKER, t0 + 2 * SEC));
    }

    #[test]
    fn forgotten_pairs_are_swept() {
        let l = lockout();
        let t0 = Instant::now();
        fail(&l, "alice", ATTACKER, t0, 5);
        fail(&l, "bob", ATTACKER, t0, 1);
        assert_eq!(l.tracked(), 2);
        // Past bob's window and alice's lock plus a window, the next call sweeps both.
        let later = t0 + 400 * SEC;
        l.record_failure("carol", OWNER, later);
        assert_eq!(l.tracked(), 1);
    }
}
