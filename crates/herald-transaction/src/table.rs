//! The transaction table: live transactions by key, and their wake-up times.
//!
//! Transactions live in a slab so the timer heap can name them with a small
//! (slot, generation) pair instead of a cloned key; the generation also retires heap
//! entries of a transaction whose deadline moved or that ended.
use crate::{
    client::ClientTransaction,
    key::{KeyHash, TransactionKey},
    machine::Step,
    server::ServerTransaction,
    timer_queue::{TimerEntry, TimerQueue},
};
use std::{collections::HashMap, time::Instant};

/// Stale heap entries tolerated before a compaction, on top of one per live transaction.
const COMPACTION_SLACK: usize = 1024;

#[derive(Debug)]
pub(crate) enum Transaction<C> {
    Server(ServerTransaction<C>),
    Client(ClientTransaction<C>),
}

impl<C: Clone> Transaction<C> {
    fn deadline(&self) -> Instant {
        match self {
            Transaction::Server(server) => server.deadline(),
            Transaction::Client(client) => client.deadline(),
        }
    }
}

#[derive(Debug)]
struct Entry<C> {
    key: TransactionKey,
    tx: Transaction<C>,
    /// The deadline of this transaction's one valid heap entry.
    scheduled: Option<Instant>,
}

#[derive(Debug)]
struct Slot<C> {
    generation: u32,
    entry: Option<Entry<C>>,
}

/// Handle of a live transaction, valid until the next removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId(u32);

#[derive(Debug)]
pub(crate) struct Table<C> {
    slots: Vec<Slot<C>>,
    free: Vec<u32>,
    index: HashMap<TransactionKey, u32, KeyHash>,
    timers: TimerQueue,
}

impl<C> Default for Table<C> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::default(),
            timers: TimerQueue::default(),
        }
    }
}

impl<C: Clone> Table<C> {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn find(&self, key: &TransactionKey) -> Option<SlotId> {
        self.index.get(key).copied().map(SlotId)
    }

    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.index.contains_key(key)
    }

    /// The transaction in `slot`, if it is still live.
    pub fn get(&self, slot: SlotId) -> Option<&Transaction<C>> {
        self.slots
            .get(slot.0 as usize)?
            .entry
            .as_ref()
            .map(|entry| &entry.tx)
    }

    /// Adds a transaction (the caller checked the key is free) and schedules it.
    pub fn insert(&mut self, key: TransactionKey, tx: Transaction<C>) -> SlotId {
        let entry = Entry {
            key: key.clone(),
            tx,
            scheduled: None,
        };
        let index = match self.free.pop() {
            Some(index) => {
                if let Some(slot) = self.slots.get_mut(index as usize) {
                    slot.entry = Some(entry);
                }
                index
            }
            None => {
                // More than u32::MAX live transactions cannot fit in memory anyway.
                let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Slot {
                    generation: 0,
                    entry: Some(entry),
                });
                index
            }
        };
        self.index.insert(key, index);
        self.reschedule(SlotId(index));
        SlotId(index)
    }

    /// Runs `event` on a live transaction, then applies the `Step` it returns: removes
    /// the transaction or moves its wake-up time.
    pub fn update<R>(
        &mut self,
        slot: SlotId,
        event: impl FnOnce(&TransactionKey, &mut Transaction<C>) -> (Step, R),
    ) -> Option<R> {
        let entry = self.slots.get_mut(slot.0 as usize)?.entry.as_mut()?;
        let (step, result) = event(&entry.key, &mut entry.tx);
        match step {
            Step::Terminate => self.remove(slot),
            Step::Continue => self.reschedule(slot),
        }
        Some(result)
    }

    /// Forgets a transaction; its heap entries become stale.
    pub fn remove(&mut self, slot: SlotId) {
        let Some(record) = self.slots.get_mut(slot.0 as usize) else {
            return;
        };
        let Some(entry) = record.entry.take() else {
            return;
        };
        record.generation = record.generation.wrapping_add(1);
        self.index.remove(&entry.key);
        self.free.push(slot.0);
    }

    /// The earliest time `pop_due` may return something (possibly a stale wake-up).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// The next live transaction whose deadline has come, consuming its heap entry.
    pub fn pop_due(&mut self, now: Instant) -> Option<SlotId> {
        while let Some(timer) = self.timers.pop_due(now) {
            let Some(record) = self.slots.get_mut(timer.slot as usize) else {
                continue;
            };
            if record.generation != timer.generation {
                continue;
            }
            if let Some(entry) = record.entry.as_mut() {
                entry.scheduled = None;
                return Some(SlotId(timer.slot));
            }
        }
        None
    }

    /// Makes the heap hold exactly one valid entry for the transaction's deadline.
    fn reschedule(&mut self, slot: SlotId) {
        let Some(record) = self.slots.get_mut(slot.0 as usize) else {
            return;
        };
        let Some(entry) = record.entry.as_mut() else {
            return;
        };
        let deadline = entry.tx.deadline();
        if entry.scheduled == Some(deadline) {
            return;
        }
        entry.scheduled = Some(deadline);
        record.generation = record.generation.wrapping_add(1);
        self.timers.push(TimerEntry {
            at: deadline,
            slot: slot.0,
            generation: record.generation,
        });
        self.compact_if_needed();
    }

    fn compact_if_needed(&mut self) {
        if self.timers.len() <= 2 * self.index.len() + COMPACTION_SLACK {
            return;
        }
        let slots = &self.slots;
        self.timers.retain(|timer| {
            slots.get(timer.slot as usize).is_some_and(|record| {
                record.generation == timer.generation && record.entry.is_some()
            })
        });
    }

    /// Heap size, for tests of the compaction.
    #[cfg(test)]
    pub fn timer_entries(&self) -> usize {
        self.timers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timers::Timers;
    use herald_sip::{Message, Request, message::ParseLimits};
    use std::time::Duration;

    fn request(branch: &str) -> Request {
        let text = format!(
            "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch={branch}\r\n\
             From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: {branch}\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        match Message::parse(bytes::Bytes::from(text), &ParseLimits::default()) {
            Ok(Message::Request(request)) => request,
            other => panic!("test request did not parse: {other:?}"),
        }
    }

    fn server(now: Instant) -> Transaction<()> {
        Transaction::Server(ServerTransaction::non_invite(
            (),
            false,
            now,
            &Timers::default(),
        ))
    }

    #[test]
    fn insert_find_remove_and_slot_reuse() {
        let now = Instant::now();
        let mut table = Table::default();
        let a = TransactionKey::for_request(&request("z9hG4bKa")).expect("key");
        let b = TransactionKey::for_request(&request("z9hG4bKb")).expect("key");
        let slot_a = table.insert(a.clone(), server(now));
        table.insert(b.clone(), server(now));
        assert_eq!(table.len(), 2);
        assert_eq!(table.find(&a), Some(slot_a));

        table.remove(slot_a);
        assert_eq!(table.len(), 1);
        assert!(table.find(&a).is_none());
        assert!(table.get(slot_a).is_none());
        // The removed transaction's timer is stale: nothing due for it.
        assert_eq!(table.pop_due(now + Duration::from_secs(31)), None);

        let slot_c = table.insert(a.clone(), server(now));
        assert_eq!(slot_c, slot_a, "freed slots are reused");
        // One valid timer per live transaction, both due at 64*T1.
        let due = now + Duration::from_secs(32);
        let mut fired = 0;
        while let Some(slot) = table.pop_due(due) {
            assert!(table.get(slot).is_some());
            fired += 1;
        }
        assert_eq!(fired, 2);
    }

    #[test]
    fn stale_timer_entries_are_compacted() {
        let now = Instant::now();
        let mut table = Table::default();
        let keys: Vec<_> = (0..5000)
            .map(|i| TransactionKey::for_request(&request(&format!("z9hG4bK{i}"))).expect("key"))
            .collect();
        for key in &keys {
            let slot = table.insert(key.clone(), server(now));
            table.remove(slot);
        }
        assert_eq!(table.len(), 0);
        assert!(
            table.timer_entries() <= COMPACTION_SLACK + 1,
            "heap holds {} entries for no live transaction",
            table.timer_entries()
        );
    }
}
