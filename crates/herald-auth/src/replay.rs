//! Nonce-count replay protection: remembers, per nonce, the highest nc accepted so far.
//!
//! The map is sharded (one `parking_lot` mutex per shard) so that many threads checking
//! different nonces rarely contend, and bounded: entries of expired nonces are purged, and
//! when a shard is still full the oldest-issued entries are evicted. An evicted nonce must
//! not become replayable, so each shard remembers up to which issue time it has evicted and
//! reports unknown nonces at or before that time as stale (the client simply gets a fresh
//! nonce).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use parking_lot::Mutex;

use crate::NonceCheck;

/// Identifies a nonce: its MAC, unique per issued nonce and not chosen by the client.
pub(crate) type NonceKey = [u8; 16];

/// Up to this many shards; fewer for small bounds so each shard still holds a useful number.
const MAX_SHARDS: usize = 64;
const MIN_ENTRIES_PER_SHARD: usize = 1024;
/// Fraction of a full shard evicted at once, so the O(n) eviction runs once per n/8 inserts.
const EVICT_DIVISOR: usize = 8;

/// Bounded, sharded map from nonce to the highest nonce-count used with it.
pub(crate) struct ReplayGuard {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    purge_interval_ms: u64,
}

/// What a nonce presentation is, from the replay point of view.
pub(crate) struct Presentation {
    pub key: NonceKey,
    pub issued_ms: u64,
    pub expires_ms: u64,
    /// `None` when the client used no qop: the nonce may then be used once only.
    pub nc: Option<u32>,
}

struct Shard {
    entries: HashMap<NonceKey, Entry, MacHash>,
    /// Unknown nonces issued at or before this instant may have been evicted.
    evicted_through_ms: Option<u64>,
    next_purge_ms: u64,
}

struct Entry {
    issued_ms: u64,
    expires_ms: u64,
    highest_nc: u32,
}

/// The nc recorded for a use without qop: nothing can follow it.
const USED_WITHOUT_QOP: u32 = u32::MAX;

impl ReplayGuard {
    /// A guard remembering at most about `max_entries` nonces (at least one per shard).
    pub(crate) fn new(max_entries: usize, purge_interval_ms: u64) -> Self {
        let shard_count = (max_entries / MIN_ENTRIES_PER_SHARD).clamp(1, MAX_SHARDS);
        let shards = (0..shard_count)
            .map(|_| {
                Mutex::new(Shard {
                    entries: HashMap::with_hasher(MacHash::random()),
                    evicted_through_ms: None,
                    next_purge_ms: 0,
                })
            })
            .collect();
        ReplayGuard {
            shards,
            shard_capacity: max_entries.div_ceil(shard_count).max(1),
            purge_interval_ms: purge_interval_ms.max(1),
        }
    }

    /// Valid when the presentation is fresh (nc above every nc seen, or a first use without
    /// qop), Replayed when it is not, Stale when the nonce may have been evicted. Records the
    /// nc only when `record` is set and the result is Valid.
    pub(crate) fn check(&self, p: &Presentation, record: bool, now_ms: u64) -> NonceCheck {
        let mut shard = self.shard_for(&p.key).lock();
        shard.purge_if_due(now_ms, self.purge_interval_ms);

        if let Some(entry) = shard.entries.get_mut(&p.key) {
            return match p.nc {
                Some(nc) if nc > entry.highest_nc => {
                    if record {
                        entry.highest_nc = nc;
                    }
                    NonceCheck::Valid
                }
                _ => NonceCheck::Replayed,
            };
        }

        if shard
            .evicted_through_ms
            .is_some_and(|through| p.issued_ms <= through)
        {
            return NonceCheck::Stale;
        }
        // A first nc must still be above the implicit 0 every nonce starts from.
        if p.nc == Some(0) {
            return NonceCheck::Replayed;
        }
        if record {
            shard.make_room(self.shard_capacity, now_ms);
            shard.entries.insert(
                p.key,
                Entry {
                    issued_ms: p.issued_ms,
                    expires_ms: p.expires_ms,
                    highest_nc: p.nc.unwrap_or(USED_WITHOUT_QOP),
                },
            );
        }
        NonceCheck::Valid
    }

    /// Number of nonces currently remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().entries.len())
            .sum()
    }

    fn shard_for(&self, key: &NonceKey) -> &Mutex<Shard> {
        // The key is a MAC, so its bytes are uniformly distributed.
        let index = usize::from(u16::from_le_bytes([key[0], key[1]])) % self.shards.len();
        &self.shards[index]
    }
}

/// Hashes nonce keys with one keyed multiply-fold per 8 bytes instead of SipHash: the
/// keys are already HMAC output, uniformly spread, so mixing them with secret per-shard
/// keys is enough to keep a client who sees its nonces (and so their MACs) from choosing
/// ones that collide. SipHash was most of the cost of a lookup here.
#[derive(Clone, Copy)]
struct MacHash {
    k1: u64,
    k2: u64,
}

impl MacHash {
    fn random() -> Self {
        MacHash {
            k1: rand::random(),
            k2: rand::random::<u64>() | 1,
        }
    }
}

impl BuildHasher for MacHash {
    type Hasher = MacHasher;

    fn build_hasher(&self) -> MacHasher {
        MacHasher {
            keys: *self,
            state: self.k1,
        }
    }
}

struct MacHasher {
    keys: MacHash,
    state: u64,
}

/// The high and low halves of the full product, folded: every output bit depends on
/// every input bit of both factors.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

impl Hasher for MacHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.iter_mut().zip(chunk).for_each(|(w, b)| *w = *b);
            self.state = folded_multiply(self.state ^ u64::from_le_bytes(word), self.keys.k2);
        }
    }

    fn write_usize(&mut self, _length: usize) {
        // Only the length prefix of a slice comes here, and every key is 16 bytes.
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.state ^ self.keys.k1, self.keys.k2.rotate_left(32))
    }
}

impl Shard {
    fn purge_if_due(&mut self, now_ms: u64, interval_ms: u64) {
        if now_ms >= self.next_purge_ms {
            self.purge_expired(now_ms);
            self.next_purge_ms = now_ms.saturating_add(interval_ms);
        }
    }

    fn purge_expired(&mut self, now_ms: u64) {
        self.entries.retain(|_, entry| entry.expires_ms >= now_ms);
    }

    /// Ensures one more entry fits: expired entries go first, then the oldest-issued eighth.
    fn make_room(&mut self, capacity: usize, now_ms: u64) {
        if self.entries.len() < capacity {
            return;
        }
        self.purge_expired(now_ms);
        if self.entries.len() < capacity {
            return;
        }
        let mut issued: Vec<u64> = self.entries.values().map(|entry| entry.issued_ms).collect();
        let cut_index = issued.len() / EVICT_DIVISOR;
        let (_, &mut cutoff, _) = issued.select_nth_unstable(cut_index);
        self.entries.retain(|_, entry| entry.issued_ms > cutoff);
        self.evicted_through_ms = Some(self.evicted_through_ms.map_or(cutoff, |t| t.max(cutoff)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presentation(id: u8, issued_ms: u64, nc: Option<u32>) -> Presentation {
        Presentation {
            key: [id; 16],
            issued_ms,
            expires_ms: issued_ms + 1_000,
            nc,
        }
    }

    #[test]
    fn the_mac_hash_spreads_keys_differing_in_any_byte() {
        let hash = MacHash::random();
        let of = |key: NonceKey| hash.hash_one(key);
        let base = of([7; 16]);
        for byte in 0..16 {
            let mut key = [7; 16];
            key[byte] ^= 1;
            assert_ne!(of(key), base, "byte {byte}");
        }
        // Another guard's keys hash the same nonce elsewhere.
        assert_ne!(MacHash::random().hash_one([7u8; 16]), base);
    }

    #[test]
    fn nc_must_strictly_increase() {
        let guard = ReplayGuard::new(16, 10_000);
        let at = |nc| presentation(1, 0, Some(nc));
        assert_eq!(guard.check(&at(1), true, 0), NonceCheck::Valid);
        assert_eq!(guard.check(&at(1), true, 0), NonceCheck::Replayed);
        assert_eq!(guard.check(&at(3), true, 0), NonceCheck::Valid);
        assert_eq!(guard.check(&at(2), true, 0), NonceCheck::Replayed);
        assert_eq!(guard.check(&at(3), false, 0), NonceCheck::Replayed);
        assert_eq!(guard.check(&at(4), false, 0), NonceCheck::Valid);
    }

    #[test]
    fn nc_zero_is_never_fresh() {
        let guard = ReplayGuard::new(16, 10_000);
        assert_eq!(
            guard.check(&presentation(1, 0, Some(0)), true, 0),
            NonceCheck::Replayed
        );
        assert_eq!(guard.len(), 0);
    }

    #[test]
    fn without_record_nothing_is_remembered() {
        let guard = ReplayGuard::new(16, 10_000);
        let p = presentation(1, 0, Some(1));
        assert_eq!(guard.check(&p, false, 0), NonceCheck::Valid);
        assert_eq!(guard.check(&p, false, 0), NonceCheck::Valid);
        assert_eq!(guard.len(), 0);
    }

    #[test]
    fn use_without_qop_is_single_and_final() {
        let guard = ReplayGuard::new(16, 10_000);
        assert_eq!(
            guard.check(&presentation(1, 0, None), true, 0),
            NonceCheck::Valid
        );
        assert_eq!(
            guard.check(&presentation(1, 0, None), true, 0),
            NonceCheck::Replayed
        );
        assert_eq!(
            guard.check(&presentation(1, 0, Some(9)), true, 0),
            NonceCheck::Replayed
        );
        // After a qop use, a use without qop is a replay too.
        assert_eq!(
            guard.check(&presentation(2, 0, Some(1)), true, 0),
            NonceCheck::Valid
        );
        assert_eq!(
            guard.check(&presentation(2, 0, None), true, 0),
            NonceCheck::Replayed
        );
    }

    #[test]
    fn expired_entries_are_purged() {
        let guard = ReplayGuard::new(16, 100);
        assert_eq!(
            guard.check(&presentation(1, 0, Some(1)), true, 0),
            NonceCheck::Valid
        );
        assert_eq!(guard.len(), 1);
        // Any later call past the purge interval and the expiry drops the entry.
        assert_eq!(
            guard.check(&presentation(2, 5_000, Some(1)), false, 5_000),
            NonceCheck::Valid
        );
        assert_eq!(guard.len(), 0);
    }

    #[test]
    fn full_guard_evicts_oldest_and_reports_them_stale() {
        let capacity = 16;
        let guard = ReplayGuard::new(capacity, 1_000_000);
        for id in 0..capacity as u8 {
            let p = presentation(id, u64::from(id), Some(1));
            assert_eq!(guard.check(&p, true, 0), NonceCheck::Valid);
        }
        assert_eq!(guard.len(), capacity);

        let newcomer = presentation(200, 100, Some(1));
        assert_eq!(guard.check(&newcomer, true, 0), NonceCheck::Valid);
        assert!(guard.len() <= capacity, "bounded: {}", guard.len());

        // The oldest nonce was evicted: it must not be usable again with an old nc.
        assert_eq!(
            guard.check(&presentation(0, 0, Some(1)), true, 0),
            NonceCheck::Stale
        );
        // The newest survive with their counters.
        assert_eq!(
            guard.check(&presentation(15, 15, Some(1)), true, 0),
            NonceCheck::Replayed
        );
        assert_eq!(guard.check(&newcomer, true, 0), NonceCheck::Replayed);
    }

    #[test]
    fn full_guard_prefers_evicting_expired_entries() {
        let guard = ReplayGuard::new(4, 1_000_000);
        for id in 0..4u8 {
            assert_eq!(
                guard.check(&presentation(id, 0, Some(1)), true, 0),
                NonceCheck::Valid
            );
        }
        // At 2s all four (expiring at 1s) are expired: they are dropped, nothing is evicted.
        let late = presentation(9, 2_000, Some(1));
        assert_eq!(guard.check(&late, true, 2_000), NonceCheck::Valid);
        assert_eq!(guard.len(), 1);
        assert_eq!(
            guard.check(&presentation(10, 1_500, Some(1)), false, 2_000),
            NonceCheck::Valid
        );
    }

    #[test]
    fn many_shards_for_large_bounds() {
        assert_eq!(ReplayGuard::new(1_000_000, 1).shards.len(), MAX_SHARDS);
        assert_eq!(ReplayGuard::new(10, 1).shards.len(), 1);
        assert_eq!(ReplayGuard::new(0, 1).shard_capacity, 1);
    }
}
