//! Local overload control (RFC 3261 §21.5.4, RFC 6357 §4): when the server is behind,
//! new out-of-dialog requests are refused with `503 Service Unavailable` and a
//! `Retry-After`, statelessly and cheaply, so that the work already accepted (dialogs,
//! subscriptions, transactions in progress, registration refreshes) keeps flowing and
//! the backlog drains by itself.
//!
//! Two signs of overload, either enough:
//! - requests waited too long between the transport and their worker (CPU, or a store
//!   that answers slowly to requests handled in the worker: REGISTER), or a worker's
//!   queue is three quarters full;
//! - too many requests are being handled by service tasks at once (PUBLISH, SUBSCRIBE,
//!   MESSAGE, INVITE run in tasks of their own, so a slow store or slow endpoints show
//!   up as tasks piling up, not as queue delay).
//!
//! The first sign keeps shedding on for a short hold period after it was last seen,
//! so the server does not flap between accepting and refusing on every message.
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Settings of overload control.
#[derive(Clone, Debug)]
pub struct OverloadConfig {
    /// A request that waited longer than this in a worker queue means the workers are
    /// behind. UDP clients retransmit after 500 ms: waiting longer than that only
    /// multiplies the load. Default 200 ms.
    pub max_queue_delay: Duration,
    /// Requests handled by service tasks at once above which new out-of-dialog
    /// requests are refused. Each holds a transaction and some state (a few KiB), so
    /// this also bounds memory. Default 20 000.
    pub max_in_flight: usize,
    /// Shedding lasts this long after the queues were last seen behind. Default 1 s.
    pub hold: Duration,
    /// `Retry-After` sent with the 503, in seconds: a value drawn from this range, so
    /// the refused clients do not all come back in the same second. Default 2..=6.
    pub retry_after_secs: RangeInclusive<u32>,
}

impl Default for OverloadConfig {
    fn default() -> Self {
        OverloadConfig {
            max_queue_delay: Duration::from_millis(200),
            max_in_flight: 20_000,
            hold: Duration::from_secs(1),
            retry_after_secs: 2..=6,
        }
    }
}

/// What overload control has done since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OverloadStats {
    /// Requests refused with 503.
    pub shed: u64,
    /// Times the server went from accepting to shedding.
    pub episodes: u64,
    /// Requests being handled by service tasks now.
    pub in_flight: usize,
}

/// The overload state shared by the workers and the router.
pub struct Overload {
    config: OverloadConfig,
    epoch: Instant,
    /// Shedding (for queue delay) until this many ms after `epoch`; 0 = not shedding.
    shed_until_ms: AtomicU64,
    in_flight: Arc<AtomicUsize>,
    shed: AtomicU64,
    episodes: AtomicU64,
    /// Set once, when the server starts shutting down: from then on every new
    /// out-of-dialog request is refused as under overload, and only the work already
    /// accepted goes on.
    draining: AtomicBool,
}

/// Counts one request handled by a service task for as long as it lives.
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Overload {
    pub fn new(config: OverloadConfig) -> Self {
        Overload {
            config,
            epoch: Instant::now(),
            shed_until_ms: AtomicU64::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
            shed: AtomicU64::new(0),
            episodes: AtomicU64::new(0),
            draining: AtomicBool::new(false),
        }
    }

    /// The server is shutting down: refuse new out-of-dialog requests from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    fn ms_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// A worker took a request that was queued at `queued_at`.
    pub fn note_queue_delay(&self, queued_at: Instant, now: Instant) {
        if now.saturating_duration_since(queued_at) > self.config.max_queue_delay {
            self.behind(now);
        }
    }

    /// A worker saw `waiting` events behind the one it took, in a queue of `capacity`.
    /// A queue three quarters full is behind before any wait grows long: a burst that
    /// fills the rest is dropped (UDP) or stalls its connections (TCP).
    pub fn note_event_backlog(&self, waiting: usize, capacity: usize, now: Instant) {
        if waiting.saturating_mul(4) > capacity.saturating_mul(3) {
            self.behind(now);
        }
    }

    fn behind(&self, now: Instant) {
        let until = self.ms_since_epoch(now + self.config.hold).max(1);
        let before = self.shed_until_ms.swap(until, Ordering::Relaxed);
        if before < self.ms_since_epoch(now) {
            self.episodes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                in_flight = self.in_flight.load(Ordering::Relaxed),
                "overloaded: new out-of-dialog requests get 503 until the queues drain"
            );
        }
    }

    /// Whether new out-of-dialog requests are to be refused now.
    pub fn shedding(&self, now: Instant) -> bool {
        self.draining.load(Ordering::Relaxed)
            || self.in_flight.load(Ordering::Relaxed) >= self.config.max_in_flight
            || self.ms_since_epoch(now) < self.shed_until_ms.load(Ordering::Relaxed)
    }

    /// Counts a request handed to a service task until the returned guard drops.
    pub fn enter(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    /// Records one refused request and gives the `Retry-After` to send with its 503.
    pub fn refuse(&self) -> u32 {
        self.shed.fetch_add(1, Ordering::Relaxed);
        let range = &self.config.retry_after_secs;
        if range.is_empty() {
            return *range.start();
        }
        rand::Rng::gen_range(&mut rand::thread_rng(), range.clone())
    }

    pub fn stats(&self) -> OverloadStats {
        OverloadStats {
            shed: self.shed.load(Ordering::Relaxed),
            episodes: self.episodes.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overload(max_in_flight: usize) -> Overload {
        Overload::new(OverloadConfig {
            max_in_flight,
            ..OverloadConfig::default()
        })
    }

    #[test]
    fn a_short_wait_is_not_overload() {
        let o = overload(10);
        let now = Instant::now();
        o.note_queue_delay(now, now + Duration::from_millis(150));
        o.note_event_backlog(768, 1024, now);
        assert!(!o.shedding(now + Duration::from_millis(150)));
        assert_eq!(o.stats().episodes, 0);
    }

    #[test]
    fn a_long_wait_sheds_for_the_hold_period_then_recovers() {
        let o = overload(10);
        let start = Instant::now();
        let seen = start + Duration::from_secs(5);
        o.note_queue_delay(start + Duration::from_secs(4), seen);
        assert!(o.shedding(seen));
        assert!(o.shedding(seen + Duration::from_millis(999)));
        assert!(!o.shedding(seen + Duration::from_millis(1001)));
        // Seen again while shedding: the same episode, extended.
        o.note_event_backlog(769, 1024, seen + Duration::from_millis(500));
        assert!(o.shedding(seen + Duration::from_millis(1400)));
        assert_eq!(o.stats().episodes, 1);
        // And again after recovering: a second episode.
        let later = seen + Duration::from_secs(10);
        o.note_event_backlog(1024, 1024, later);
        assert_eq!(o.stats().episodes, 2);
    }

    #[test]
    fn too_many_requests_in_flight_shed_until_some_finish() {
        let o = overload(2);
        let now = Instant::now();
        let a = o.enter();
        assert!(!o.shedding(now));
        let b = o.enter();
        assert!(o.shedding(now));
        assert_eq!(o.stats().in_flight, 2);
        drop(a);
        assert!(!o.shedding(now));
        drop(b);
        assert_eq!(o.stats().in_flight, 0);
    }

    #[test]
    fn draining_sheds_for_good_and_still_counts_the_work_in_flight() {
        let o = overload(10);
        let now = Instant::now();
        let working = o.enter();
        o.start_draining();
        assert!(o.shedding(now));
        assert!(o.shedding(now + Duration::from_secs(3600)));
        assert_eq!(o.stats().in_flight, 1);
        drop(working);
        assert_eq!(o.stats().in_flight, 0);
        assert!(o.shedding(now));
    }

    #[test]
    fn retry_after_comes_from_the_range_and_refusals_are_counted() {
        let o = overload(1);
        for _ in 0..100 {
            let r = o.refuse();
            assert!((2..=6).contains(&r), "{r}");
        }
        assert_eq!(o.stats().shed, 100);
    }
}
