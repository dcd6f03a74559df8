//! A token bucket: up to `burst` events at once, `rate` per second sustained.
//!
//! The bucket keeps no configuration (its owner passes the same [`Rate`] every time),
//! so that the flood guard's per-address entries stay small.

/// Tokens are counted in thousandths, so that `per_sec` tokens a second is exactly
/// `per_sec` thousandths a millisecond: integer arithmetic, no rounding drift.
const MILLI: u64 = 1000;

/// Sustained events per second and the burst allowed on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    /// Thousandths of a token added per millisecond (= tokens per second).
    per_sec: u64,
    /// Most thousandths of a token held.
    burst_milli: u64,
}

impl Rate {
    /// `per_sec` sustained, `burst` at once; zeros are raised to one so that a bucket
    /// can always refill and hold a token.
    pub(crate) fn new(per_sec: u32, burst: u32) -> Rate {
        Rate {
            per_sec: u64::from(per_sec.max(1)),
            burst_milli: u64::from(burst.max(1)) * MILLI,
        }
    }
}

/// One source's bucket. Times are milliseconds on the owner's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenBucket {
    /// Thousandths of a token.
    tokens_milli: u64,
    /// When `tokens_milli` was last brought up to date.
    updated_ms: u64,
    /// When the bucket was last full: the start of the run that emptied it.
    full_ms: u64,
    /// Events taken since the bucket was last full.
    taken_since_full: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn full(rate: Rate, now_ms: u64) -> TokenBucket {
        TokenBucket {
            tokens_milli: rate.burst_milli,
            updated_ms: now_ms,
            full_ms: now_ms,
            taken_since_full: 0,
        }
    }

    fn refill(&mut self, rate: Rate, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.updated_ms);
        if elapsed == 0 {
            return;
        }
        let earned = elapsed.saturating_mul(rate.per_sec);
        self.tokens_milli = self
            .tokens_milli
            .saturating_add(earned)
            .min(rate.burst_milli);
        self.updated_ms = now_ms;
        if self.tokens_milli >= rate.burst_milli {
            self.full_ms = now_ms;
            self.taken_since_full = 0;
        }
    }

    /// Takes a token if there is one; `false` means the source is over its rate.
    pub(crate) fn take(&mut self, rate: Rate, now_ms: u64) -> bool {
        self.refill(rate, now_ms);
        self.taken_since_full = self.taken_since_full.saturating_add(1);
        if self.tokens_milli >= MILLI {
            self.tokens_milli -= MILLI;
            true
        } else {
            false
        }
    }

    /// Counts an event that is refused anyway (its source is banned): it still uses up
    /// a token when there is one, so the bucket only refills while the source sends
    /// slower than `rate`.
    pub(crate) fn drain(&mut self, rate: Rate, now_ms: u64) {
        self.refill(rate, now_ms);
        self.taken_since_full = self.taken_since_full.saturating_add(1);
        self.tokens_milli = self.tokens_milli.saturating_sub(MILLI);
    }

    /// Whether the bucket is (back to) full: the source has been slower than `rate`
    /// long enough to earn its whole burst back. A full bucket says nothing a fresh
    /// one would not, so its owner may forget it.
    pub(crate) fn is_full(&mut self, rate: Rate, now_ms: u64) -> bool {
        self.refill(rate, now_ms);
        self.tokens_milli >= rate.burst_milli
    }

    /// Whether the bucket holds at least half its burst: the source has recently been
    /// sending slower than `rate`. Unlike [`TokenBucket::is_full`], this does not
    /// depend on how long ago the source's last event was.
    pub(crate) fn is_half_full(&mut self, rate: Rate, now_ms: u64) -> bool {
        self.refill(rate, now_ms);
        self.tokens_milli.saturating_mul(2) >= rate.burst_milli
    }

    /// Events taken since the bucket was last full, and over how many milliseconds:
    /// the run that emptied it, for the ban log.
    pub(crate) fn run(&self, now_ms: u64) -> (u64, u64) {
        (self.taken_since_full, now_ms.saturating_sub(self.full_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let rate = Rate::new(10, 5);
        let mut bucket = TokenBucket::full(rate, 0);
        for _ in 0..5 {
            assert!(bucket.take(rate, 0));
        }
        assert!(!bucket.take(rate, 0), "burst used up");
        assert!(!bucket.take(rate, 99), "a token takes 100 ms at 10/s");
        assert!(bucket.take(rate, 100));
        assert!(!bucket.take(rate, 150));
        // Ten per second, sustained, are all served.
        for i in 0..100u64 {
            assert!(bucket.take(rate, 200 + i * 100), "event {i}");
        }
        assert_eq!(bucket.run(10_100), (109, 10_100));
    }

    #[test]
    fn refills_to_burst_and_no_further() {
        let rate = Rate::new(10, 5);
        let mut bucket = TokenBucket::full(rate, 0);
        assert!(bucket.take(rate, 0));
        assert!(!bucket.is_full(rate, 50));
        assert!(bucket.is_full(rate, 100));
        assert_eq!(bucket.run(100), (0, 0), "the run restarts when full");
        // An hour of silence still leaves only the burst.
        for _ in 0..5 {
            assert!(bucket.take(rate, 3_600_000));
        }
        assert!(!bucket.take(rate, 3_600_000));
    }

    #[test]
    fn draining_keeps_a_fast_sender_empty_and_a_slow_one_refills() {
        let rate = Rate::new(10, 5);
        let mut bucket = TokenBucket::full(rate, 0);
        for _ in 0..6 {
            bucket.take(rate, 0);
        }
        // Twenty per second for ten seconds: never full again.
        for i in 0..200u64 {
            bucket.drain(rate, i * 50);
            assert!(!bucket.is_full(rate, i * 50));
        }
        // Then five per second: it gains five tokens a second and is full in a second.
        let mut now = 10_000;
        let mut half_full_at = None;
        while !bucket.is_full(rate, now) {
            if bucket.is_half_full(rate, now) {
                half_full_at.get_or_insert(now);
            }
            bucket.drain(rate, now);
            now += 200;
            assert!(now < 12_000, "never refilled");
        }
        assert_eq!(half_full_at, Some(10_400), "3 of 5 tokens 400 ms later");
    }

    #[test]
    fn zero_rates_are_raised_to_one() {
        let rate = Rate::new(0, 0);
        let mut bucket = TokenBucket::full(rate, 0);
        assert!(bucket.take(rate, 0));
        assert!(!bucket.take(rate, 500));
        assert!(bucket.take(rate, 1000));
    }
}
