//! Wake-up times for the transaction table.
//!
//! Entries are never removed when a transaction's deadline moves or the transaction
//! ends: each carries the generation of its slot, and an entry whose generation no
//! longer matches is skipped when it surfaces. The owner compacts the queue when stale
//! entries pile up.
//!
//! SIP timers come in a handful of durations (multiples of T1, 64*T1 for Timers F and
//! J, 5 s for Timer K), each armed at "now + duration" by a clock that only moves
//! forward: the entries of one duration arrive in order. So the queue is a few sorted
//! runs, each taking only entries no earlier than its last. A push is an append and the
//! earliest entry is the least of a few run fronts. A binary heap of the same entries
//! (one per transaction for up to 32 s: a few hundred thousand at load) cost a cache
//! miss per level on every pop. Entries that fit no run, when more distinct durations
//! are in use than there are runs, go to a heap.
use std::{
    cmp::Reverse,
    collections::{BinaryHeap, VecDeque},
    time::Instant,
};

/// Runs kept at most; every earliest-entry question looks at each run's front.
const MAX_RUNS: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerEntry {
    pub at: Instant,
    pub slot: u32,
    pub generation: u32,
}

/// Where the earliest entry is.
#[derive(Clone, Copy)]
enum Source {
    Run(usize),
    Heap,
}

#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    /// Each sorted by `at`, earliest at the front.
    runs: Vec<VecDeque<TimerEntry>>,
    /// What fitted no run.
    overflow: BinaryHeap<Reverse<TimerEntry>>,
    len: usize,
}

impl TimerQueue {
    pub fn push(&mut self, entry: TimerEntry) {
        self.len += 1;
        // The run whose last entry is the latest not after this one keeps the runs
        // tight; an empty run takes what fits nowhere else.
        let mut best: Option<(usize, Instant)> = None;
        let mut empty = None;
        for (i, run) in self.runs.iter().enumerate() {
            match run.back() {
                Some(last) if last.at <= entry.at => {
                    if best.is_none_or(|(_, at)| last.at > at) {
                        best = Some((i, last.at));
                    }
                }
                Some(_) => {}
                None => {
                    empty.get_or_insert(i);
                }
            }
        }
        if let Some(run) = best
            .map(|(i, _)| i)
            .or(empty)
            .and_then(|i| self.runs.get_mut(i))
        {
            run.push_back(entry);
        } else if self.runs.len() < MAX_RUNS {
            self.runs.push(VecDeque::from([entry]));
        } else {
            self.overflow.push(Reverse(entry));
        }
    }

    fn earliest_source(&self) -> Option<(Source, Instant)> {
        let mut earliest = self
            .overflow
            .peek()
            .map(|Reverse(entry)| (Source::Heap, entry.at));
        for (i, run) in self.runs.iter().enumerate() {
            if let Some(front) = run.front()
                && earliest.is_none_or(|(_, at)| front.at < at)
            {
                earliest = Some((Source::Run(i), front.at));
            }
        }
        earliest
    }

    /// The earliest entry's time (it may be stale: then the caller wakes up for nothing).
    pub fn earliest(&self) -> Option<Instant> {
        self.earliest_source().map(|(_, at)| at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerEntry> {
        let (source, at) = self.earliest_source()?;
        if at > now {
            return None;
        }
        let entry = match source {
            Source::Run(i) => self.runs.get_mut(i).and_then(VecDeque::pop_front),
            Source::Heap => self.overflow.pop().map(|Reverse(entry)| entry),
        };
        if entry.is_some() {
            self.len -= 1;
        }
        entry
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Drops every entry `keep` rejects.
    pub fn retain(&mut self, mut keep: impl FnMut(&TimerEntry) -> bool) {
        for run in &mut self.runs {
            run.retain(&mut keep);
        }
        self.overflow.retain(|Reverse(entry)| keep(entry));
        self.len = self.runs.iter().map(VecDeque::len).sum::<usize>() + self.overflow.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(base: Instant, ms: u64, slot: u32) -> TimerEntry {
        TimerEntry {
            at: base + Duration::from_millis(ms),
            slot,
            generation: 0,
        }
    }

    #[test]
    fn pops_due_entries_in_time_order_only() {
        let base = Instant::now();
        let mut queue = TimerQueue::default();
        queue.push(entry(base, 30, 3));
        queue.push(entry(base, 10, 1));
        queue.push(entry(base, 20, 2));
        assert_eq!(queue.earliest(), Some(base + Duration::from_millis(10)));

        let now = base + Duration::from_millis(25);
        let mut popped = Vec::new();
        while let Some(e) = queue.pop_due(now) {
            popped.push(e.slot);
        }
        assert_eq!(popped, vec![1, 2]);
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.earliest(), Some(base + Duration::from_millis(30)));
    }

    #[test]
    fn retain_drops_rejected_entries() {
        let base = Instant::now();
        let mut queue = TimerQueue::default();
        for slot in 0..10 {
            queue.push(entry(base, u64::from(slot), slot));
        }
        queue.retain(|e| e.slot % 2 == 0);
        assert_eq!(queue.len(), 5);
        let mut slots = Vec::new();
        while let Some(e) = queue.pop_due(base + Duration::from_secs(1)) {
            slots.push(e.slot);
        }
        assert_eq!(slots, vec![0, 2, 4, 6, 8]);
    }

    /// Entries pushed in any order, with more distinct durations than there are runs
    /// (so the overflow heap is used too), come out in time order.
    #[test]
    fn any_push_order_pops_in_time_order() {
        let base = Instant::now();
        let mut queue = TimerQueue::default();
        let mut expected = Vec::new();
        // A deterministic shuffle: several interleaved "durations" plus out-of-order times.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for slot in 0..2_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ms = if slot % 3 == 0 {
                x % 40_000
            } else {
                u64::from(slot) + (x % 30) * 1_000
            };
            queue.push(entry(base, ms, slot));
            expected.push((base + Duration::from_millis(ms), slot));
        }
        assert_eq!(queue.len(), 2_000);
        expected.sort();
        let half = base + Duration::from_millis(20_000);
        let mut popped = Vec::new();
        while let Some(e) = queue.pop_due(half) {
            popped.push(e.at);
        }
        let due = expected.iter().filter(|(at, _)| *at <= half).count();
        assert_eq!(popped.len(), due);
        assert_eq!(queue.len(), 2_000 - due);
        assert!(queue.earliest().is_some_and(|at| at > half));
        while let Some(e) = queue.pop_due(base + Duration::from_secs(60)) {
            popped.push(e.at);
        }
        let times: Vec<Instant> = expected.iter().map(|(at, _)| *at).collect();
        assert_eq!(popped, times);
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.earliest(), None);
    }

    /// Timers armed at now + a few fixed durations by a moving clock fill one run per
    /// duration, not the overflow heap.
    #[test]
    fn fixed_durations_append_to_runs() {
        let base = Instant::now();
        let mut queue = TimerQueue::default();
        for step in 0..1_000u64 {
            for (k, duration) in [500u64, 5_000, 32_000, 1_000].into_iter().enumerate() {
                let slot = u32::try_from(step * 4 + k as u64).expect("slot");
                queue.push(entry(base, step + duration, slot));
            }
        }
        assert_eq!(queue.runs.len(), 4);
        assert!(queue.overflow.is_empty());
        let mut last = base;
        while let Some(e) = queue.pop_due(base + Duration::from_secs(60)) {
            assert!(e.at >= last);
            last = e.at;
        }
    }
}
