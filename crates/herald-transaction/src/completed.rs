//! Non-INVITE server transactions in the Completed state on an unreliable transport
//! (RFC 3261 §17.2.2).
//!
//! All such a transaction still does until Timer J is resend its final response when
//! the request comes again, so only the key and the encoded response are kept: under
//! load they are the bulk of the live transactions (64*T1 = 32 s of requests), and the
//! full state machine with its timer entries would hold several times the memory.
//! Timer J is the same for all of them, so they expire in the order they completed:
//! a queue stands in for the timer heap.
use crate::key::{KeyHash, TransactionKey};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

#[derive(Debug)]
struct Held {
    response: Bytes,
    /// Timer J; also tells a queue entry from one of an earlier transaction that had
    /// the same key.
    ends_at: Instant,
}

/// Final responses kept for retransmissions, by transaction key.
#[derive(Debug, Default)]
pub(crate) struct Completed {
    held: HashMap<TransactionKey, Held, KeyHash>,
    /// (Timer J, key) in the order the transactions completed.
    expiry: VecDeque<(Instant, TransactionKey)>,
}

impl Completed {
    /// Keeps `response` for `key` until `ends_at`. The caller passes times that do not
    /// go backwards by more than a lock's wait, so the queue stays (nearly) in order;
    /// an entry a little out of order only ends a little late.
    pub fn insert(&mut self, key: TransactionKey, response: Bytes, ends_at: Instant) {
        self.expiry.push_back((ends_at, key.clone()));
        self.held.insert(key, Held { response, ends_at });
    }

    /// The final response to resend for a retransmission of `key`'s request.
    pub fn response(&self, key: &TransactionKey) -> Option<&Bytes> {
        self.held.get(key).map(|held| &held.response)
    }

    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.held.contains_key(key)
    }

    /// Forgets `key` before its time (the transport failed); its queue entry is left to
    /// expire harmlessly.
    pub fn remove(&mut self, key: &TransactionKey) -> bool {
        self.held.remove(key).is_some()
    }

    /// Forgets every transaction whose Timer J has fired by `now`.
    pub fn expire(&mut self, now: Instant) {
        while let Some((ends_at, _)) = self.expiry.front()
            && *ends_at <= now
        {
            let Some((ends_at, key)) = self.expiry.pop_front() else {
                break;
            };
            if self
                .held
                .get(&key)
                .is_some_and(|held| held.ends_at == ends_at)
            {
                self.held.remove(&key);
            }
        }
        // After a burst, give back what it took (rarely: only once 3/4 of it is idle).
        let floor = self.held.len().max(1024);
        if self.held.capacity() > 4 * floor {
            self.held.shrink_to(2 * floor);
        }
        if self.expiry.capacity() > 4 * floor {
            self.expiry.shrink_to(2 * floor);
        }
    }

    /// The earliest Timer J still queued.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.expiry.front().map(|(at, _)| *at)
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::{Message, Request, message::ParseLimits};
    use std::time::Duration;

    fn key(branch: &str) -> TransactionKey {
        let text = format!(
            "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch={branch}\r\n\
             From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: {branch}\r\n\
             CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
        );
        let request: Request = match Message::parse(Bytes::from(text), &ParseLimits::default()) {
            Ok(Message::Request(request)) => request,
            other => panic!("test request did not parse: {other:?}"),
        };
        TransactionKey::for_request(&request).expect("key")
    }

    #[test]
    fn responses_expire_in_completion_order() {
        let base = Instant::now();
        let at = |ms| base + Duration::from_millis(ms);
        let mut completed = Completed::default();
        completed.insert(key("z9hG4bKa"), Bytes::from_static(b"a"), at(10));
        completed.insert(key("z9hG4bKb"), Bytes::from_static(b"b"), at(20));
        assert_eq!(completed.next_deadline(), Some(at(10)));
        assert_eq!(
            completed.response(&key("z9hG4bKa")),
            Some(&Bytes::from_static(b"a"))
        );

        completed.expire(at(9));
        assert_eq!(completed.len(), 2);
        completed.expire(at(10));
        assert_eq!(completed.len(), 1);
        assert!(!completed.contains(&key("z9hG4bKa")));
        assert!(completed.contains(&key("z9hG4bKb")));
        assert_eq!(completed.next_deadline(), Some(at(20)));
        completed.expire(at(20));
        assert_eq!(completed.len(), 0);
        assert_eq!(completed.next_deadline(), None);
    }

    #[test]
    fn an_early_removal_does_not_cut_short_a_later_transaction_with_the_same_key() {
        let base = Instant::now();
        let at = |ms| base + Duration::from_millis(ms);
        let mut completed = Completed::default();
        completed.insert(key("z9hG4bKa"), Bytes::from_static(b"first"), at(10));
        assert!(completed.remove(&key("z9hG4bKa")));
        assert!(!completed.remove(&key("z9hG4bKa")));
        completed.insert(key("z9hG4bKa"), Bytes::from_static(b"second"), at(30));

        // The first transaction's queue entry comes due: the second one stays.
        completed.expire(at(10));
        assert_eq!(
            completed.response(&key("z9hG4bKa")),
            Some(&Bytes::from_static(b"second"))
        );
        completed.expire(at(30));
        assert!(!completed.contains(&key("z9hG4bKa")));
    }
}
