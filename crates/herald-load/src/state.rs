//! What the presence benchmark shares between its phases and the connection readers:
//! the users (digest state, publication), the subscriptions, the per-presentity
//! ledgers and the per-connection NOTIFY tallies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::anomalies::Anomalies;
use crate::connection::Connection;
use crate::digest::DigestSession;
use crate::exchange::Requester;
use crate::ledger::Ledger;
use crate::population::Population;
use crate::stats::Outcomes;

/// Subscription flag: the SUBSCRIBE got a 2xx.
pub const SUB_ESTABLISHED: u8 = 1;
/// Subscription flag: a NOTIFY arrived for it.
pub const SUB_NOTIFIED: u8 = 2;
/// Subscription flag: a NOTIFY said it is terminated.
pub const SUB_TERMINATED: u8 = 4;

/// One simulated user.
#[derive(Debug)]
pub struct User {
    /// Digest state and publication, touched by one request of this user at a time.
    pub state: Mutex<UserState>,
    /// A PUBLISH of this user is in flight.
    pub publishing: AtomicBool,
}

/// A user's mutable state.
#[derive(Debug)]
pub struct UserState {
    /// Digest credentials state.
    pub digest: DigestSession,
    /// Entity tag of the user's publication, for SIP-If-Match.
    pub etag: Option<String>,
    /// PUBLISH requests started (drives the availability cycle).
    pub publishes: u64,
}

/// NOTIFY counts of one connection's reader (merged by the phases).
#[derive(Debug, Default)]
pub struct NotifyTally {
    /// NOTIFYs received.
    pub notifies: u64,
    /// NOTIFYs in state pending.
    pub pending: u64,
    /// (publish, watcher) pairs delivered for the first time.
    pub deliveries: u64,
    /// NOTIFYs repeating a value the watcher had seen.
    pub repeated: u64,
    /// NOTIFYs whose value matched no outstanding publish.
    pub unmatched: u64,
    /// NOTIFYs to a watcher whose subscription is not active.
    pub inactive: u64,
    /// Terminated subscriptions by reason.
    pub terminated: Outcomes,
    /// Publish-to-NOTIFY latencies of the deliveries.
    pub latencies: Vec<Duration>,
}

/// Shared state of a presence run.
pub struct PresenceState {
    /// Users and topology.
    pub population: Population,
    /// The password of every user.
    pub password: String,
    /// How long a request waits for its final response.
    pub request_timeout: Duration,
    /// Users by index.
    pub users: Vec<User>,
    /// Flags of each subscription (`SUB_*`).
    pub subscriptions: Vec<AtomicU8>,
    /// Subscriptions that received a NOTIFY.
    pub notified_subscriptions: AtomicUsize,
    /// Ledgers by presentity.
    pub ledgers: Vec<Mutex<Ledger>>,
    /// NOTIFY tallies by connection.
    pub tallies: Vec<Mutex<NotifyTally>>,
    /// 401 challenges received (all requests).
    pub challenges: AtomicU64,
    /// Unexpected input.
    pub anomalies: Arc<Anomalies>,
}

impl PresenceState {
    /// State for `population` over `connections` connections.
    pub fn new(
        population: Population,
        password: String,
        request_timeout: Duration,
        connections: usize,
        anomalies: Arc<Anomalies>,
    ) -> Self {
        let users = (0..population.users())
            .map(|i| User {
                state: Mutex::new(UserState {
                    digest: DigestSession::new(population.name(i)),
                    etag: None,
                    publishes: 0,
                }),
                publishing: AtomicBool::new(false),
            })
            .collect();
        let subscriptions = (0..population.subscriptions())
            .map(|_| AtomicU8::new(0))
            .collect();
        let ledgers = (0..population.users())
            .map(|_| Mutex::new(Ledger::new(population.watch())))
            .collect();
        let tallies = (0..connections)
            .map(|_| Mutex::new(NotifyTally::default()))
            .collect();
        PresenceState {
            population,
            password,
            request_timeout,
            users,
            subscriptions,
            notified_subscriptions: AtomicUsize::new(0),
            ledgers,
            tallies,
            challenges: AtomicU64::new(0),
            anomalies,
        }
    }

    /// The connection user `i` uses.
    pub fn connection_of<'a>(
        &self,
        conns: &'a [Arc<Connection>],
        i: usize,
    ) -> Option<&'a Arc<Connection>> {
        conns.get(i % conns.len().max(1))
    }

    /// Sets `flag` on subscription `sub`; returns the flags it had before.
    pub fn flag_subscription(&self, sub: usize, flag: u8) -> u8 {
        self.subscriptions
            .get(sub)
            .map_or(0, |f| f.fetch_or(flag, Ordering::AcqRel))
    }

    /// Subscriptions having every bit of `flags`.
    pub fn count_subscriptions(&self, flags: u8) -> usize {
        self.subscriptions
            .iter()
            .filter(|f| f.load(Ordering::Acquire) & flags == flags)
            .count()
    }
}

impl Requester for PresenceState {
    fn with_digest<R>(&self, user: usize, f: impl FnOnce(&mut DigestSession) -> R) -> Option<R> {
        self.users.get(user).map(|u| f(&mut u.state.lock().digest))
    }

    fn password(&self) -> &str {
        &self.password
    }

    fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    fn challenges(&self) -> &AtomicU64 {
        &self.challenges
    }

    fn anomalies(&self) -> &Anomalies {
        &self.anomalies
    }
}

/// The counters of every connection's NOTIFY tally, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TallyCounts {
    /// NOTIFYs received.
    pub notifies: u64,
    /// NOTIFYs in state pending.
    pub pending: u64,
    /// (publish, watcher) pairs delivered.
    pub deliveries: u64,
    /// NOTIFYs repeating a value already seen.
    pub repeated: u64,
    /// NOTIFYs matching no outstanding publish.
    pub unmatched: u64,
    /// NOTIFYs to inactive subscriptions.
    pub inactive: u64,
}

impl TallyCounts {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &TallyCounts) -> TallyCounts {
        TallyCounts {
            notifies: self.notifies.saturating_sub(earlier.notifies),
            pending: self.pending.saturating_sub(earlier.pending),
            deliveries: self.deliveries.saturating_sub(earlier.deliveries),
            repeated: self.repeated.saturating_sub(earlier.repeated),
            unmatched: self.unmatched.saturating_sub(earlier.unmatched),
            inactive: self.inactive.saturating_sub(earlier.inactive),
        }
    }
}

impl PresenceState {
    /// Current totals of the NOTIFY tallies.
    pub fn tally_counts(&self) -> TallyCounts {
        let mut sum = TallyCounts::default();
        for tally in &self.tallies {
            let t = tally.lock();
            sum.notifies += t.notifies;
            sum.pending += t.pending;
            sum.deliveries += t.deliveries;
            sum.repeated += t.repeated;
            sum.unmatched += t.unmatched;
            sum.inactive += t.inactive;
        }
        sum
    }

    /// Takes the latency samples gathered so far.
    pub fn take_latencies(&self) -> Vec<Duration> {
        let mut all = Vec::new();
        for tally in &self.tallies {
            all.append(&mut tally.lock().latencies);
        }
        all
    }

    /// Terminated subscriptions by reason, over the whole run.
    pub fn terminations(&self) -> Outcomes {
        let mut all = Outcomes::default();
        for tally in &self.tallies {
            all.merge(&tally.lock().terminated);
        }
        all
    }
}
