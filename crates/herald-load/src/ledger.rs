//! Publish-to-NOTIFY accounting for one presentity.
//!
//! Every PUBLISH of the presentity is entered with the availability it states and the
//! instant it was sent; every NOTIFY to one of its watchers ("slot") carrying a value
//! delivers the newest outstanding publish with that value, and with it every older
//! outstanding publish that watcher has not seen yet: the server coalesces changes
//! within its notify interval, so a watcher may only ever see the latest of a burst.
//! Each (publish, watcher) pair gives one latency sample, the first time it is
//! delivered. A publish is complete when every watcher whose subscription is active
//! has seen it; complete publishes leave the ledger.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A fixed-size set of watcher slots.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SlotSet {
    words: Vec<u64>,
}

impl SlotSet {
    fn new(slots: usize) -> Self {
        SlotSet {
            words: vec![0; slots.div_ceil(64)],
        }
    }

    fn contains(&self, slot: usize) -> bool {
        self.words
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// Adds `slot`; false when it was there already or is out of range.
    fn insert(&mut self, slot: usize) -> bool {
        match self.words.get_mut(slot / 64) {
            Some(word) if *word & (1 << (slot % 64)) == 0 => {
                *word |= 1 << (slot % 64);
                true
            }
            _ => false,
        }
    }

    fn remove(&mut self, slot: usize) -> bool {
        match self.words.get_mut(slot / 64) {
            Some(word) if *word & (1 << (slot % 64)) != 0 => {
                *word &= !(1 << (slot % 64));
                true
            }
            _ => false,
        }
    }
}

/// One publish that some active watcher has not seen yet.
#[derive(Clone, Debug)]
struct Outstanding {
    seq: u64,
    value: u32,
    sent: Instant,
    /// Watchers that saw it, plus the slots that were not active when it was sent
    /// (nobody waits for those).
    seen: SlotSet,
    seen_count: usize,
}

/// What a NOTIFY did to the ledger.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyEffect {
    /// It delivered this many (publish, watcher) pairs for the first time; their
    /// latencies were appended to the caller's vector.
    Delivered(usize),
    /// Its value is an outstanding publish's, but this watcher had seen that already.
    Repeated,
    /// Its value matches no outstanding publish (the initial state, a publish that
    /// completed or failed, or an unexpected value).
    Unmatched,
    /// The slot is not an active subscription of this presentity.
    InactiveSlot,
}

/// The publishes of one presentity awaiting delivery to its watchers.
#[derive(Clone, Debug)]
pub struct Ledger {
    slots: usize,
    active: SlotSet,
    active_count: usize,
    next_seq: u64,
    outstanding: VecDeque<Outstanding>,
}

impl Ledger {
    /// A ledger for a presentity with `slots` watchers, none active yet.
    pub fn new(slots: usize) -> Self {
        Ledger {
            slots,
            active: SlotSet::new(slots),
            active_count: 0,
            next_seq: 0,
            outstanding: VecDeque::new(),
        }
    }

    /// The subscription of watcher `slot` is established: later publishes wait for it.
    pub fn activate(&mut self, slot: usize) {
        if slot < self.slots && self.active.insert(slot) {
            self.active_count += 1;
        }
    }

    /// The subscription of watcher `slot` ended: nothing waits for it any more.
    pub fn deactivate(&mut self, slot: usize) {
        if !self.active.remove(slot) {
            return;
        }
        self.active_count -= 1;
        for publish in &mut self.outstanding {
            if publish.seen.insert(slot) {
                publish.seen_count += 1;
            }
        }
        self.drop_complete();
    }

    /// Active watchers.
    pub fn active_watchers(&self) -> usize {
        self.active_count
    }

    /// A PUBLISH stating `value` is sent at `sent`; returns its sequence number.
    pub fn published(&mut self, value: u32, sent: Instant) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut seen = SlotSet::new(self.slots);
        for slot in 0..self.slots {
            if !self.active.contains(slot) {
                seen.insert(slot);
            }
        }
        self.outstanding.push_back(Outstanding {
            seq,
            value,
            sent,
            seen,
            seen_count: self.slots - self.active_count,
        });
        self.drop_complete();
        seq
    }

    /// The PUBLISH `seq` failed: no NOTIFY is owed for it.
    pub fn abandoned(&mut self, seq: u64) {
        self.outstanding.retain(|p| p.seq != seq);
    }

    /// A NOTIFY carrying `value` reached watcher `slot` at `at`. Latencies of the pairs
    /// it delivers are appended to `latencies`.
    pub fn notified(
        &mut self,
        slot: usize,
        value: u32,
        at: Instant,
        latencies: &mut Vec<Duration>,
    ) -> NotifyEffect {
        if !self.active.contains(slot) {
            return NotifyEffect::InactiveSlot;
        }
        let Some(newest) = self.outstanding.iter().rposition(|p| p.value == value) else {
            return NotifyEffect::Unmatched;
        };
        let mut delivered = 0;
        for publish in self.outstanding.iter_mut().take(newest + 1) {
            if publish.seen.insert(slot) {
                publish.seen_count += 1;
                latencies.push(at.saturating_duration_since(publish.sent));
                delivered += 1;
            }
        }
        self.drop_complete();
        if delivered == 0 {
            NotifyEffect::Repeated
        } else {
            NotifyEffect::Delivered(delivered)
        }
    }

    /// Outstanding publishes and the (publish, watcher) deliveries they still miss.
    pub fn incomplete(&self) -> (usize, usize) {
        let missing = self
            .outstanding
            .iter()
            .map(|p| self.slots.saturating_sub(p.seen_count))
            .sum();
        (self.outstanding.len(), missing)
    }

    /// Forgets every outstanding publish (a new measurement starts).
    pub fn clear(&mut self) {
        self.outstanding.clear();
    }

    /// Removes the publishes every watcher has seen. Usually only the front can be
    /// complete (a watcher that saw a publish saw the older ones too), but a
    /// deactivation can complete any of them.
    fn drop_complete(&mut self) {
        let slots = self.slots;
        self.outstanding.retain(|p| p.seen_count < slots);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn ledger(slots: usize, active: &[usize]) -> Ledger {
        let mut l = Ledger::new(slots);
        for s in active {
            l.activate(*s);
        }
        l
    }

    #[test]
    fn every_watcher_once_per_publish() {
        let t0 = Instant::now();
        let mut l = ledger(3, &[0, 1, 2]);
        l.published(3500, t0);
        let mut lat = Vec::new();
        assert_eq!(
            l.notified(0, 3500, t0 + 5 * MS, &mut lat),
            NotifyEffect::Delivered(1)
        );
        assert_eq!(
            l.notified(0, 3500, t0 + 9 * MS, &mut lat),
            NotifyEffect::Repeated
        );
        assert_eq!(l.incomplete(), (1, 2));
        l.notified(1, 3500, t0 + 7 * MS, &mut lat);
        assert_eq!(
            l.notified(2, 3500, t0 + 8 * MS, &mut lat),
            NotifyEffect::Delivered(1)
        );
        assert_eq!(lat, vec![5 * MS, 7 * MS, 8 * MS]);
        assert_eq!(l.incomplete(), (0, 0));
        // After completion, the same value is nothing outstanding.
        assert_eq!(
            l.notified(2, 3500, t0 + 9 * MS, &mut lat),
            NotifyEffect::Unmatched
        );
    }

    #[test]
    fn a_newer_value_delivers_the_older_publishes_it_coalesced() {
        let t0 = Instant::now();
        let mut l = ledger(2, &[0, 1]);
        l.published(3500, t0);
        l.published(6500, t0 + 10 * MS);
        l.published(15500, t0 + 20 * MS);
        let mut lat = Vec::new();
        // Watcher 0 saw the first value, then only the last (coalesced).
        l.notified(0, 3500, t0 + 2 * MS, &mut lat);
        assert_eq!(
            l.notified(0, 15500, t0 + 1000 * MS, &mut lat),
            NotifyEffect::Delivered(2)
        );
        assert_eq!(lat, vec![2 * MS, 990 * MS, 980 * MS]);
        // Watcher 1 only ever sees the last: all three delivered by it.
        lat.clear();
        assert_eq!(
            l.notified(1, 15500, t0 + 1020 * MS, &mut lat),
            NotifyEffect::Delivered(3)
        );
        assert_eq!(lat, vec![1020 * MS, 1010 * MS, 1000 * MS]);
        assert_eq!(l.incomplete(), (0, 0));
    }

    #[test]
    fn an_older_value_does_not_deliver_newer_publishes() {
        let t0 = Instant::now();
        let mut l = ledger(1, &[0]);
        l.published(3500, t0);
        l.published(6500, t0 + MS);
        let mut lat = Vec::new();
        assert_eq!(
            l.notified(0, 3500, t0 + 3 * MS, &mut lat),
            NotifyEffect::Delivered(1)
        );
        assert_eq!(l.incomplete(), (1, 1));
        assert_eq!(
            l.notified(0, 18000, t0 + 4 * MS, &mut lat),
            NotifyEffect::Unmatched
        );
        assert_eq!(l.incomplete(), (1, 1));
    }

    #[test]
    fn the_newest_publish_of_a_repeated_value_is_the_one_delivered() {
        let t0 = Instant::now();
        let mut l = ledger(1, &[0]);
        l.published(3500, t0);
        l.published(6500, t0 + MS);
        l.published(3500, t0 + 2 * MS);
        let mut lat = Vec::new();
        assert_eq!(
            l.notified(0, 3500, t0 + 10 * MS, &mut lat),
            NotifyEffect::Delivered(3)
        );
        assert_eq!(l.incomplete(), (0, 0));
    }

    #[test]
    fn inactive_watchers_are_not_waited_for() {
        let t0 = Instant::now();
        let mut l = ledger(4, &[0, 2]);
        assert_eq!(l.active_watchers(), 2);
        l.published(3500, t0);
        assert_eq!(l.incomplete(), (1, 2));
        let mut lat = Vec::new();
        assert_eq!(
            l.notified(1, 3500, t0 + MS, &mut lat),
            NotifyEffect::InactiveSlot
        );
        assert_eq!(
            l.notified(9, 3500, t0 + MS, &mut lat),
            NotifyEffect::InactiveSlot
        );
        l.notified(0, 3500, t0 + MS, &mut lat);
        // Watcher 2's subscription ends: the publish completes without it.
        l.deactivate(2);
        assert_eq!(l.incomplete(), (0, 0));
        assert_eq!(lat.len(), 1);
        // With no active watcher a publish is complete at once.
        l.deactivate(0);
        l.published(6500, t0);
        assert_eq!(l.incomplete(), (0, 0));
    }

    #[test]
    fn failed_publishes_are_not_owed() {
        let t0 = Instant::now();
        let mut l = ledger(2, &[0, 1]);
        let first = l.published(3500, t0);
        let failed = l.published(6500, t0 + MS);
        l.abandoned(failed);
        assert_eq!(l.incomplete(), (1, 2));
        let mut lat = Vec::new();
        assert_eq!(
            l.notified(0, 6500, t0 + 2 * MS, &mut lat),
            NotifyEffect::Unmatched
        );
        l.abandoned(first);
        assert_eq!(l.incomplete(), (0, 0));
    }

    #[test]
    fn clear_forgets_outstanding_work_but_keeps_watchers() {
        let t0 = Instant::now();
        let mut l = ledger(70, &[0, 65, 69]);
        l.published(3500, t0);
        assert_eq!(l.incomplete(), (1, 3));
        l.clear();
        assert_eq!(l.incomplete(), (0, 0));
        l.published(6500, t0);
        let mut lat = Vec::new();
        assert_eq!(
            l.notified(65, 6500, t0 + MS, &mut lat),
            NotifyEffect::Delivered(1)
        );
        assert_eq!(l.incomplete(), (1, 2));
    }
}
