//! Accounting of conference messages.
//!
//! - [`MessageBook`]: every message of the run, by its number: the step it belongs to,
//!   how many copies it is owed (the other participants when it was sent), whether the
//!   focus accepted it, and how many copies arrived. What a step's accepted messages
//!   are still owed is missing (late, or lost if it never comes).
//! - [`SenderOrder`]: one sender's messages as one recipient sees them, by the sender's
//!   sequence number: a number above every one seen is in order (skipping leaves gaps),
//!   one that fills a gap came out of order, any other was seen already.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use serde::Serialize;

/// How far ahead of the last one seen a sequence number may jump (anything further
/// is not a message of this run).
const MAX_JUMP: u64 = 100_000;

/// What one arrival was for its (recipient, sender) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Higher than every number seen before.
    InOrder,
    /// Fills a gap: a later message of the same sender arrived first.
    OutOfOrder,
    /// Seen before.
    Repeated,
    /// Too far ahead to be real.
    Implausible,
}

/// One sender's messages as seen by one recipient.
#[derive(Clone, Debug, Default)]
pub struct SenderOrder {
    /// One above the highest number seen.
    next: u64,
    /// Numbers below `next` not seen yet.
    gaps: BTreeSet<u64>,
}

impl SenderOrder {
    /// Takes the arrival of the sender's message number `seq`.
    pub fn arrive(&mut self, seq: u64) -> Arrival {
        if seq >= self.next {
            if seq - self.next > MAX_JUMP {
                return Arrival::Implausible;
            }
            self.gaps.extend(self.next..seq);
            self.next = seq + 1;
            Arrival::InOrder
        } else if self.gaps.remove(&seq) {
            Arrival::OutOfOrder
        } else {
            Arrival::Repeated
        }
    }
}

const PENDING: u8 = 0;
const ACCEPTED: u8 = 1;
const FAILED: u8 = 2;
const UNUSED: u8 = 3;

/// One message's record.
#[derive(Debug)]
struct Slot {
    step: AtomicU32,
    status: AtomicU8,
    owed: AtomicU32,
    received: AtomicU32,
}

/// What became of a copy handed to [`MessageBook::copy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyFate {
    /// Counted for its message.
    Counted,
    /// No such message was sent in this run.
    Unknown,
}

/// The messages of a run, numbered from 0 up to a capacity fixed in advance (the sum
/// of every step's schedule).
#[derive(Debug)]
pub struct MessageBook {
    slots: Vec<Slot>,
}

/// A step's messages and copies, as far as they are known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BookSummary {
    /// Messages sent.
    pub sent: u64,
    /// Messages the focus answered 2xx.
    pub accepted: u64,
    /// Messages answered otherwise or not at all.
    pub failed: u64,
    /// Messages still without a final answer.
    pub unanswered: u64,
    /// Copies owed for the accepted messages: each one's other participants when it
    /// was sent.
    pub copies_expected: u64,
    /// Copies of the accepted messages received (repeats not counted).
    pub copies_received: u64,
    /// Copies owed and not received (yet).
    pub copies_missing: u64,
    /// Accepted messages some participant is still owed.
    pub incomplete_messages: u64,
    /// Copies received of messages that were not accepted (or not yet answered).
    pub copies_of_unaccepted: u64,
}

impl MessageBook {
    /// A book for messages `0..capacity`.
    pub fn new(capacity: usize) -> Self {
        let slots = (0..capacity)
            .map(|_| Slot {
                step: AtomicU32::new(0),
                status: AtomicU8::new(UNUSED),
                owed: AtomicU32::new(0),
                received: AtomicU32::new(0),
            })
            .collect();
        MessageBook { slots }
    }

    /// How many messages it can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Message `id` of `step` is about to be sent, owed `owed` copies; false when `id`
    /// is beyond the capacity.
    pub fn sent(&self, id: u64, step: u32, owed: u32) -> bool {
        let Some(slot) = self.slot(id) else {
            return false;
        };
        slot.step.store(step, Ordering::Relaxed);
        slot.owed.store(owed, Ordering::Relaxed);
        slot.received.store(0, Ordering::Relaxed);
        slot.status.store(PENDING, Ordering::Release);
        true
    }

    /// The focus's final answer to message `id` (accepted: a 2xx).
    pub fn answered(&self, id: u64, accepted: bool) {
        if let Some(slot) = self.slot(id) {
            let status = if accepted { ACCEPTED } else { FAILED };
            let _ =
                slot.status
                    .compare_exchange(PENDING, status, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// One copy of message `id` arrived (the caller has ruled out repeats).
    pub fn copy(&self, id: u64) -> CopyFate {
        match self.slot(id) {
            Some(slot) if slot.status.load(Ordering::Acquire) != UNUSED => {
                slot.received.fetch_add(1, Ordering::Relaxed);
                CopyFate::Counted
            }
            _ => CopyFate::Unknown,
        }
    }

    /// The messages of `step` so far.
    pub fn summary(&self, step: u32) -> BookSummary {
        let mut s = BookSummary::default();
        for slot in &self.slots {
            let status = slot.status.load(Ordering::Acquire);
            if status == UNUSED || slot.step.load(Ordering::Relaxed) != step {
                continue;
            }
            s.sent += 1;
            let owed = u64::from(slot.owed.load(Ordering::Relaxed));
            let received = u64::from(slot.received.load(Ordering::Relaxed));
            match status {
                ACCEPTED => {
                    s.accepted += 1;
                    s.copies_expected += owed;
                    s.copies_received += received.min(owed);
                    let missing = owed.saturating_sub(received);
                    s.copies_missing += missing;
                    if missing > 0 {
                        s.incomplete_messages += 1;
                    }
                }
                FAILED => {
                    s.failed += 1;
                    s.copies_of_unaccepted += received;
                }
                _ => {
                    s.unanswered += 1;
                    s.copies_of_unaccepted += received;
                }
            }
        }
        s
    }

    fn slot(&self, id: u64) -> Option<&Slot> {
        usize::try_from(id).ok().and_then(|i| self.slots.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_per_sender() {
        let mut o = SenderOrder::default();
        assert_eq!(o.arrive(0), Arrival::InOrder);
        assert_eq!(o.arrive(1), Arrival::InOrder);
        assert_eq!(o.arrive(1), Arrival::Repeated);
        // 2 and 3 skipped (not sent, or still on their way).
        assert_eq!(o.arrive(4), Arrival::InOrder);
        assert_eq!(o.arrive(3), Arrival::OutOfOrder);
        assert_eq!(o.arrive(3), Arrival::Repeated);
        assert_eq!(o.arrive(0), Arrival::Repeated);
        assert_eq!(o.arrive(5), Arrival::InOrder);
        assert_eq!(o.arrive(2), Arrival::OutOfOrder);
        assert_eq!(o.arrive(5 + 2 + MAX_JUMP), Arrival::Implausible);
        assert_eq!(o.arrive(6 + MAX_JUMP), Arrival::InOrder);
        assert_eq!(o.gaps.len() as u64, MAX_JUMP);
        assert_eq!(o.arrive(u64::MAX), Arrival::Implausible);
    }

    #[test]
    fn a_sender_starting_late_is_in_order() {
        let mut o = SenderOrder::default();
        assert_eq!(o.arrive(7), Arrival::InOrder);
        assert_eq!(o.arrive(8), Arrival::InOrder);
        assert_eq!(o.arrive(6), Arrival::OutOfOrder);
    }

    #[test]
    fn book_accounts_copies_by_step_and_answer() {
        let book = MessageBook::new(6);
        assert_eq!(book.capacity(), 6);
        assert!(book.sent(0, 0, 19));
        assert!(book.sent(1, 0, 19));
        assert!(book.sent(2, 0, 18));
        assert!(book.sent(3, 1, 19));
        assert!(!book.sent(6, 1, 19));
        for _ in 0..19 {
            assert_eq!(book.copy(0), CopyFate::Counted);
        }
        for _ in 0..17 {
            book.copy(1);
        }
        book.copy(2);
        book.copy(3);
        assert_eq!(book.copy(4), CopyFate::Unknown, "never sent");
        assert_eq!(book.copy(99), CopyFate::Unknown);
        book.answered(0, true);
        book.answered(1, true);
        book.answered(2, false);
        // A second answer (a late retransmission) changes nothing.
        book.answered(2, true);
        let s = book.summary(0);
        assert_eq!(
            s,
            BookSummary {
                sent: 3,
                accepted: 2,
                failed: 1,
                unanswered: 0,
                copies_expected: 38,
                copies_received: 36,
                copies_missing: 2,
                incomplete_messages: 1,
                copies_of_unaccepted: 1,
            }
        );
        let s = book.summary(1);
        assert_eq!((s.sent, s.unanswered, s.copies_of_unaccepted), (1, 1, 1));
        assert_eq!(s.copies_expected, 0);
        assert_eq!(book.summary(2), BookSummary::default());
    }

    #[test]
    fn surplus_copies_do_not_hide_missing_ones_elsewhere() {
        let book = MessageBook::new(2);
        book.sent(0, 0, 2);
        book.sent(1, 0, 2);
        for _ in 0..3 {
            book.copy(0);
        }
        book.copy(1);
        book.answered(0, true);
        book.answered(1, true);
        let s = book.summary(0);
        assert_eq!((s.copies_received, s.copies_missing), (3, 1));
        assert_eq!(s.incomplete_messages, 1);
    }
}
