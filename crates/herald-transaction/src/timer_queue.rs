//! A min-heap of wake-up times for the transaction table.
//!
//! Entries are never removed when a transaction's deadline moves or the transaction
//! ends: each carries the generation of its slot, and an entry whose generation no
//! longer matches is skipped when it surfaces. That keeps every change O(log n); the
//! owner compacts the heap when stale entries pile up.
use std::{cmp::Reverse, collections::BinaryHeap, time::Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerEntry {
    pub at: Instant,
    pub slot: u32,
    pub generation: u32,
}

#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<TimerEntry>>,
}

impl TimerQueue {
    pub fn push(&mut self, entry: TimerEntry) {
        self.heap.push(Reverse(entry));
    }

    /// The earliest entry's time (it may be stale: then the caller wakes up for nothing).
    pub fn earliest(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerEntry> {
        match self.heap.peek() {
            Some(Reverse(entry)) if entry.at <= now => self.heap.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops every entry `keep` rejects.
    pub fn retain(&mut self, mut keep: impl FnMut(&TimerEntry) -> bool) {
        self.heap.retain(|Reverse(entry)| keep(entry));
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
}
