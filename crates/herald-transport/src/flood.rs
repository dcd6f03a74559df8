//! The flood guard: per-source-address token buckets for messages and for new
//! connections, bans with expiry, trusted networks, and a bounded table of the
//! addresses being tracked. Settings and their defaults: [`FloodConfig`].
//!
//! The table is split into shards, each behind its own mutex and picked by a keyed
//! hash of the address, so sources rarely contend and no one can aim many addresses
//! at one shard. A check takes one shard lock for a few arithmetic operations and
//! allocates nothing unless the address is new to its shard.
//!
//! Time is passed in by the caller (`now`), so tests can drive the clock.
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::cidr::Cidr;
use crate::flood_config::FloodConfig;
use crate::shared::shut_down;
use crate::stats::TransportStats;
use crate::token_bucket::{Rate, TokenBucket};

/// Shards of the address table: enough that two busy sources rarely share a lock.
const SHARDS: usize = 64;
/// How often bans are settled and forgotten addresses evicted. Also the longest a ban
/// may outlive its end for a source that has gone quiet.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// At most one "table full" warning per this long.
const TABLE_FULL_WARN_EVERY_MS: u64 = 60_000;

/// What a source is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A datagram, or a message framed on a connection.
    Message,
    /// A new inbound connection.
    Connection,
}

/// The guard's answer for one message or connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let it through.
    Admit,
    /// Drop it: its source is banned.
    Refuse,
    /// Drop it: it took its source over a limit, and the source is now banned (the
    /// caller closes the source's open connections).
    Ban,
}

/// A ban in force on one address.
#[derive(Clone, Copy, Debug)]
struct Ban {
    since_ms: u64,
    until_ms: u64,
    /// Messages and connections refused since the ban began.
    refused: u64,
}

/// What the guard knows about one source address.
#[derive(Clone, Copy, Debug)]
struct Source {
    messages: TokenBucket,
    connections: TokenBucket,
    ban: Option<Ban>,
}

/// The rates every source is held to, and the ban length.
#[derive(Clone, Copy, Debug)]
struct Limits {
    messages: Rate,
    connections: Rate,
    ban_ms: u64,
}

/// A ban that started, for the log (written once the shard lock is released).
#[derive(Debug)]
struct BanStarted {
    kind: Kind,
    /// Events in the run that emptied the bucket, the refused one included.
    events: u64,
    over_ms: u64,
}

/// A ban that reached its end, for the log.
#[derive(Debug)]
enum BanEnded {
    /// The source had calmed down.
    Lifted { lasted_ms: u64, refused: u64 },
    /// The source was still over its rate: banned for another period.
    Extended { lasted_ms: u64, refused: u64 },
}

impl Source {
    fn new(limits: &Limits, now_ms: u64) -> Source {
        Source {
            messages: TokenBucket::full(limits.messages, now_ms),
            connections: TokenBucket::full(limits.connections, now_ms),
            ban: None,
        }
    }

    /// Both buckets full and no ban: nothing a fresh entry would not know.
    fn is_forgettable(&mut self, limits: &Limits, now_ms: u64) -> bool {
        self.ban.is_none()
            && self.messages.is_full(limits.messages, now_ms)
            && self.connections.is_full(limits.connections, now_ms)
    }

    /// Ends or extends a ban whose time is up. Lifting needs both buckets at least half
    /// full again: refused events keep draining them, so a source still sending faster
    /// than its rate stays banned, while one sending slower earns tokens back whatever
    /// the moment of the check.
    fn settle(&mut self, limits: &Limits, now_ms: u64) -> Option<BanEnded> {
        let ban = self.ban?;
        if now_ms < ban.until_ms {
            return None;
        }
        let lasted_ms = now_ms.saturating_sub(ban.since_ms);
        let calm = self.messages.is_half_full(limits.messages, now_ms)
            && self.connections.is_half_full(limits.connections, now_ms);
        if calm {
            self.ban = None;
            Some(BanEnded::Lifted {
                lasted_ms,
                refused: ban.refused,
            })
        } else {
            self.ban = Some(Ban {
                until_ms: now_ms.saturating_add(limits.ban_ms),
                ..ban
            });
            Some(BanEnded::Extended {
                lasted_ms,
                refused: ban.refused,
            })
        }
    }

    /// Admits or refuses one event, banning the source when it runs out of tokens.
    fn check(&mut self, kind: Kind, limits: &Limits, now_ms: u64) -> (Verdict, Option<BanStarted>) {
        let (bucket, rate) = match kind {
            Kind::Message => (&mut self.messages, limits.messages),
            Kind::Connection => (&mut self.connections, limits.connections),
        };
        if let Some(ban) = &mut self.ban {
            bucket.drain(rate, now_ms);
            ban.refused = ban.refused.saturating_add(1);
            return (Verdict::Refuse, None);
        }
        if bucket.take(rate, now_ms) {
            return (Verdict::Admit, None);
        }
        let (events, over_ms) = bucket.run(now_ms);
        self.ban = Some(Ban {
            since_ms: now_ms,
            until_ms: now_ms.saturating_add(limits.ban_ms),
            refused: 1,
        });
        let started = BanStarted {
            kind,
            events,
            over_ms,
        };
        (Verdict::Ban, Some(started))
    }
}

/// A snapshot of the guard's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FloodStats {
    pub dropped: u64,
    pub bans: u64,
    pub banned_now: u64,
    pub tracked: u64,
    pub untracked: u64,
}

/// The per-source admission guard; one per running transport.
pub(crate) struct FloodGuard {
    epoch: Instant,
    limits: Limits,
    config: FloodConfig,
    per_shard: usize,
    /// Keyed at random per process, so that the shard an address lands in cannot be
    /// predicted.
    shard_hasher: RandomState,
    shards: Box<[Mutex<HashMap<IpAddr, Source>>]>,
    tracked: AtomicUsize,
    banned: AtomicUsize,
    bans: AtomicU64,
    dropped: AtomicU64,
    untracked: AtomicU64,
    /// When the table-full warning was last written (ms), `u64::MAX` for never.
    table_full_warned_ms: AtomicU64,
}

impl fmt::Debug for FloodGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FloodGuard")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl FloodGuard {
    /// A guard with an empty table; `now` starts its clock.
    pub(crate) fn new(config: &FloodConfig, now: Instant) -> FloodGuard {
        FloodGuard {
            epoch: now,
            limits: Limits {
                messages: Rate::new(config.requests_per_sec, config.burst),
                connections: Rate::new(config.connections_per_sec, config.connection_burst),
                ban_ms: u64::try_from(config.ban.as_millis()).unwrap_or(u64::MAX),
            },
            config: config.clone(),
            per_shard: (config.max_tracked_ips / SHARDS).max(1),
            shard_hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            tracked: AtomicUsize::new(0),
            banned: AtomicUsize::new(0),
            bans: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            untracked: AtomicU64::new(0),
            table_full_warned_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// Whether `ip` is in a trusted network (exempt from every per-address limit).
    pub(crate) fn is_trusted(&self, ip: IpAddr) -> bool {
        is_trusted(&self.config.trusted, ip)
    }

    /// Whether `ip` is under a ban (one whose time is up but that no sweep or message
    /// has settled yet counts as still in force).
    pub(crate) fn is_banned(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.shard(&ip)
            .lock()
            .get(&ip)
            .is_some_and(|source| source.ban.is_some())
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, Source>> {
        // The modulo keeps the index below SHARDS, the length of `shards`.
        let index = (self.shard_hasher.hash_one(ip) % SHARDS as u64) as usize;
        &self.shards[index]
    }

    /// Decides on one message (datagram or framed stream message) or one new
    /// connection from `ip`.
    pub(crate) fn check(&self, ip: IpAddr, kind: Kind, now: Instant) -> Verdict {
        let ip = ip.to_canonical();
        if self.is_trusted(ip) {
            return Verdict::Admit;
        }
        let now_ms = self.millis(now);
        let (verdict, ended, started) = {
            let mut shard = self.shard(&ip).lock();
            if shard.len() >= self.per_shard && !shard.contains_key(&ip) {
                drop(shard);
                self.untracked.fetch_add(1, Ordering::Relaxed);
                self.warn_table_full(now_ms);
                return Verdict::Admit;
            }
            let source = shard.entry(ip).or_insert_with(|| {
                self.tracked.fetch_add(1, Ordering::Relaxed);
                Source::new(&self.limits, now_ms)
            });
            let ended = source.settle(&self.limits, now_ms);
            let (verdict, started) = source.check(kind, &self.limits, now_ms);
            (verdict, ended, started)
        };
        if let Some(ended) = ended {
            self.ban_ended(ip, &ended);
        }
        if let Some(started) = started {
            self.ban_started(ip, &started);
        }
        if verdict != Verdict::Admit && kind == Kind::Message {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        verdict
    }

    /// Settles bans whose time is up and forgets addresses whose buckets are full.
    pub(crate) fn sweep(&self, now: Instant) {
        let now_ms = self.millis(now);
        let mut ended = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let before = shard.len();
            shard.retain(|ip, source| {
                if let Some(end) = source.settle(&self.limits, now_ms) {
                    ended.push((*ip, end));
                }
                !source.is_forgettable(&self.limits, now_ms)
            });
            let evicted = before.saturating_sub(shard.len());
            self.tracked.fetch_sub(evicted, Ordering::Relaxed);
        }
        for (ip, end) in &ended {
            self.ban_ended(*ip, end);
        }
    }

    fn ban_started(&self, ip: IpAddr, started: &BanStarted) {
        self.bans.fetch_add(1, Ordering::Relaxed);
        self.banned.fetch_add(1, Ordering::Relaxed);
        let (what, config_rate, config_burst) = match started.kind {
            Kind::Message => ("messages", self.config.requests_per_sec, self.config.burst),
            Kind::Connection => (
                "new connections",
                self.config.connections_per_sec,
                self.config.connection_burst,
            ),
        };
        let seconds = started.over_ms as f64 / 1000.0;
        let rate = started.events as f64 * 1000.0 / started.over_ms.max(1) as f64;
        tracing::warn!(
            %ip,
            events = started.events,
            seconds,
            rate = rate.round(),
            ban_secs = self.config.ban.as_secs(),
            "flood: banning {ip} for {} s: {} {what} in {seconds:.2} s ({rate:.0}/s), over the limit of {config_rate}/s with a burst of {config_burst}",
            self.config.ban.as_secs(),
            started.events,
        );
    }

    fn ban_ended(&self, ip: IpAddr, end: &BanEnded) {
        match *end {
            BanEnded::Lifted { lasted_ms, refused } => {
                self.banned.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(
                    %ip,
                    refused,
                    "flood: ban on {ip} lifted after {} s ({refused} messages and connections refused)",
                    lasted_ms / 1000
                );
            }
            BanEnded::Extended { lasted_ms, refused } => {
                tracing::info!(
                    %ip,
                    refused,
                    "flood: {ip} is still flooding after {} s ({refused} messages and connections refused): ban extended by {} s",
                    lasted_ms / 1000,
                    self.config.ban.as_secs()
                );
            }
        }
    }

    fn warn_table_full(&self, now_ms: u64) {
        let last = self.table_full_warned_ms.load(Ordering::Relaxed);
        let due = last == u64::MAX || now_ms >= last.saturating_add(TABLE_FULL_WARN_EVERY_MS);
        if due
            && self
                .table_full_warned_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                max_tracked_ips = self.config.max_tracked_ips,
                "flood: more source addresses than max_tracked_ips ({}) are active; new ones pass unchecked until idle ones are forgotten",
                self.config.max_tracked_ips
            );
        }
    }

    /// The guard's counters.
    pub(crate) fn stats(&self) -> FloodStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FloodStats {
            dropped: get(&self.dropped),
            bans: get(&self.bans),
            banned_now: self.banned.load(Ordering::Relaxed) as u64,
            tracked: self.tracked.load(Ordering::Relaxed) as u64,
            untracked: get(&self.untracked),
        }
    }

    /// Copies the guard's counters into a transport snapshot.
    pub(crate) fn fill(&self, stats: &mut TransportStats) {
        let s = self.stats();
        stats.dropped_flood = s.dropped;
        stats.bans = s.bans;
        stats.banned_now = s.banned_now;
        stats.tracked_ips = s.tracked;
        stats.flood_untracked = s.untracked;
    }
}

/// Whether `ip` lies in one of `trusted`.
pub(crate) fn is_trusted(trusted: &[Cidr], ip: IpAddr) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

/// Sweeps the guard every [`SWEEP_INTERVAL`] until shutdown.
pub(crate) async fn sweep_loop(guard: Arc<FloodGuard>, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shut_down(&mut shutdown) => return,
            _ = ticks.tick() => guard.sweep(Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// 10 messages/s with a burst of 5, 2 connections/s with a burst of 3, 2 s bans.
    fn guard(trusted: &[&str], max_tracked_ips: usize) -> (FloodGuard, Instant) {
        let config = FloodConfig {
            enabled: true,
            requests_per_sec: 10,
            burst: 5,
            connections_per_sec: 2,
            connection_burst: 3,
            ban: Duration::from_secs(2),
            trusted: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            max_tracked_ips,
        };
        let start = Instant::now();
        (FloodGuard::new(&config, start), start)
    }

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn a_source_over_its_burst_is_banned_and_others_are_not() {
        let (guard, t0) = guard(&[], 100_000);
        let flooder = ip("192.0.2.2");
        for _ in 0..5 {
            assert_eq!(guard.check(flooder, Kind::Message, t0), Verdict::Admit);
        }
        assert_eq!(guard.check(flooder, Kind::Message, t0), Verdict::Ban);
        assert_eq!(
            guard.check(flooder, Kind::Message, at(t0, 10)),
            Verdict::Refuse
        );
        assert_eq!(
            guard.check(flooder, Kind::Connection, at(t0, 10)),
            Verdict::Refuse,
            "a banned source cannot connect either"
        );
        // Another address is untouched.
        assert_eq!(
            guard.check(ip("192.0.2.3"), Kind::Message, at(t0, 10)),
            Verdict::Admit
        );
        let stats = guard.stats();
        assert_eq!(stats.bans, 1);
        assert_eq!(stats.banned_now, 1);
        assert_eq!(stats.dropped, 2, "messages only: the connection is not one");
        assert_eq!(stats.tracked, 2);
    }

    #[test]
    fn the_sustained_rate_is_never_banned() {
        let (guard, t0) = guard(&[], 100_000);
        let client = ip("192.0.2.2");
        // Ten a second for a minute, after a full burst at the start.
        for _ in 0..5 {
            assert_eq!(guard.check(client, Kind::Message, t0), Verdict::Admit);
        }
        for i in 1..=600 {
            assert_eq!(
                guard.check(client, Kind::Message, at(t0, i * 100)),
                Verdict::Admit,
                "message {i}"
            );
        }
        assert_eq!(guard.stats().bans, 0);
    }

    #[test]
    fn a_ban_ends_once_its_time_is_up_and_the_source_is_quiet() {
        let (guard, t0) = guard(&[], 100_000);
        let flooder = ip("192.0.2.2");
        for _ in 0..6 {
            guard.check(flooder, Kind::Message, t0);
        }
        assert_eq!(guard.stats().banned_now, 1);
        guard.sweep(at(t0, 1_999));
        assert_eq!(guard.stats().banned_now, 1, "not yet");
        assert_eq!(
            guard.check(flooder, Kind::Message, at(t0, 1_999)),
            Verdict::Refuse
        );
        // Quiet since: the sweep after the end lifts it and the entry is forgotten.
        guard.sweep(at(t0, 2_600));
        let stats = guard.stats();
        assert_eq!(stats.banned_now, 0);
        assert_eq!(stats.tracked, 0);
        assert_eq!(
            guard.check(flooder, Kind::Message, at(t0, 2_600)),
            Verdict::Admit
        );
        assert_eq!(guard.stats().bans, 1);
    }

    #[test]
    fn a_ban_that_ends_between_sweeps_is_settled_by_the_next_message() {
        let (guard, t0) = guard(&[], 100_000);
        let flooder = ip("192.0.2.2");
        for _ in 0..6 {
            guard.check(flooder, Kind::Message, t0);
        }
        assert_eq!(
            guard.check(flooder, Kind::Message, at(t0, 2_600)),
            Verdict::Admit
        );
        assert_eq!(guard.stats().banned_now, 0);
    }

    #[test]
    fn a_source_still_flooding_stays_banned_until_it_stops() {
        let (guard, t0) = guard(&[], 100_000);
        let flooder = ip("192.0.2.2");
        for _ in 0..6 {
            guard.check(flooder, Kind::Message, t0);
        }
        // Twenty a second (twice the rate) for ten seconds: five ban periods.
        let mut now = 0;
        while now < 10_000 {
            now += 50;
            assert_eq!(
                guard.check(flooder, Kind::Message, at(t0, now)),
                Verdict::Refuse,
                "at {now} ms"
            );
            if now % 1000 == 0 {
                guard.sweep(at(t0, now));
                assert_eq!(guard.stats().banned_now, 1, "at {now} ms");
            }
        }
        assert_eq!(guard.stats().bans, 1, "extended, not banned anew");
        // It stops. The bucket is half full a quarter of a second later, and the ban's
        // current period (extended at 10 s at the latest) ends.
        let mut lifted_at = None;
        for s in 11..=14 {
            guard.sweep(at(t0, s * 1000));
            if guard.stats().banned_now == 0 {
                lifted_at = Some(s);
                break;
            }
        }
        let lifted_at = lifted_at.expect("the ban was never lifted");
        assert!(lifted_at <= 12, "lifted at {lifted_at} s");
        assert_eq!(
            guard.check(flooder, Kind::Message, at(t0, lifted_at * 1000)),
            Verdict::Admit
        );
    }

    #[test]
    fn too_many_new_connections_ban_the_source_for_messages_too() {
        let (guard, t0) = guard(&[], 100_000);
        let client = ip("2001:db8::7");
        for _ in 0..3 {
            assert_eq!(guard.check(client, Kind::Connection, t0), Verdict::Admit);
        }
        assert_eq!(guard.check(client, Kind::Connection, t0), Verdict::Ban);
        assert_eq!(guard.check(client, Kind::Message, t0), Verdict::Refuse);
        // Its message bucket is full; the connection bucket must earn 1.5 tokens back
        // too (0.75 s), which it has by the ban's end.
        guard.sweep(at(t0, 2_000));
        assert_eq!(guard.stats().banned_now, 0);
    }

    #[test]
    fn trusted_networks_are_never_limited_nor_tracked() {
        let (guard, t0) = guard(&["127.0.0.3/32", "2001:db8:1::/48"], 100_000);
        for source in ["127.0.0.3", "::ffff:127.0.0.3", "2001:db8:1:2::9"] {
            for _ in 0..1_000 {
                assert_eq!(guard.check(ip(source), Kind::Message, t0), Verdict::Admit);
                assert_eq!(
                    guard.check(ip(source), Kind::Connection, t0),
                    Verdict::Admit
                );
            }
        }
        assert!(guard.is_trusted(ip("127.0.0.3")));
        assert!(!guard.is_trusted(ip("127.0.0.2")));
        assert_eq!(guard.stats(), FloodStats::default());
    }

    #[test]
    fn mapped_ipv4_addresses_share_their_ipv4_entry() {
        let (guard, t0) = guard(&[], 100_000);
        for _ in 0..5 {
            guard.check(ip("::ffff:192.0.2.2"), Kind::Message, t0);
        }
        assert_eq!(
            guard.check(ip("192.0.2.2"), Kind::Message, t0),
            Verdict::Ban
        );
        assert_eq!(guard.stats().tracked, 1);
    }

    #[test]
    fn the_table_is_bounded_and_banned_sources_outlive_the_churn() {
        // 64 shards of one address each.
        let (guard, t0) = guard(&[], 64);
        let flooder = ip("10.0.0.1");
        for _ in 0..6 {
            guard.check(flooder, Kind::Message, t0);
        }
        assert_eq!(guard.stats().banned_now, 1);
        // Twenty thousand addresses, each sending a few messages.
        let mut admitted = 0;
        for n in 0..20_000u32 {
            let source = IpAddr::V4((0x0b00_0000 + n).into());
            for _ in 0..3 {
                if guard.check(source, Kind::Message, at(t0, 100)) == Verdict::Admit {
                    admitted += 1;
                }
            }
        }
        let stats = guard.stats();
        assert!(stats.tracked <= 64, "{stats:?}");
        assert!(stats.untracked > 0, "{stats:?}");
        assert_eq!(admitted, 60_000, "under their limits, tracked or not");
        assert_eq!(
            guard.check(flooder, Kind::Message, at(t0, 100)),
            Verdict::Refuse,
            "still banned"
        );
        // A second later every bucket but the banned one's is full again: forgotten.
        guard.sweep(at(t0, 1_100));
        let stats = guard.stats();
        assert_eq!(stats.tracked, 1, "{stats:?}");
        assert_eq!(stats.banned_now, 1);
        // And new addresses are tracked again (all but those of the banned one's shard).
        for n in 0..100u32 {
            let source = IpAddr::V4((0x0c00_0000 + n).into());
            guard.check(source, Kind::Message, at(t0, 1_100));
        }
        let tracked = guard.stats().tracked;
        assert!((2..=64).contains(&tracked), "{tracked}");
    }

    #[test]
    fn the_table_holds_about_max_tracked_ips() {
        let (guard, t0) = guard(&[], 6_400);
        for n in 0..100_000u32 {
            guard.check(IpAddr::V4((0x0b00_0000 + n).into()), Kind::Message, t0);
        }
        let tracked = guard.stats().tracked;
        // Keyed hashing fills the shards unevenly only by chance.
        assert!((6_000..=6_400).contains(&tracked), "{tracked}");
    }
}
