//! Merged-request detection (RFC 3261 §8.2.2.2): the same out-of-dialog request
//! reaching us twice by different paths (a forking proxy upstream) carries the same
//! From tag, Call-ID and CSeq under a different branch. The copy gets 482 Loop
//! Detected instead of being processed a second time.
//!
//! Every out-of-dialog request passes through here, so an entry holds no strings: a
//! request is known by a 128-bit keyed fingerprint of its identity and its transaction
//! by a 64-bit one. The table is sharded (workers check in parallel) and forgets by
//! generations: each shard keeps the current and the previous generation and drops
//! the older one whole when the current one is a window old or full, instead of
//! scanning entries for their age.
use herald_sip::{Method, NameAddr, Request};
use herald_transaction::{KeyHash, TransactionKey};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::time::{Duration, Instant};

/// How long a request is remembered at least: a transaction's lifetime on UDP (64*T1).
/// An entry lives from one to three windows (its shard turns over when a window has
/// passed since the last turn and it is next used).
const WINDOW: Duration = Duration::from_secs(32);
/// Bound on memory: entries per generation over all shards. A full generation starts
/// the next one early (detection is best-effort by nature).
const MAX_ENTRIES: usize = 200_000;
const SHARDS: usize = 16;

/// Two independent keyed hashes of a request's identity. Keyed with secret random
/// keys, so a client can neither aim at another's entry nor flood one bucket.
type Fingerprint = (u64, u64);

/// The fingerprint is already keyed: its two halves are only combined.
type Table = HashMap<Fingerprint, u64, KeyHash>;

struct Shard {
    current: Table,
    previous: Table,
    /// When `current` began.
    since: Instant,
}

pub struct MergedRequests {
    keys: (RandomState, RandomState),
    shards: Box<[Mutex<Shard>]>,
}

impl Default for MergedRequests {
    fn default() -> Self {
        let now = Instant::now();
        MergedRequests {
            keys: (RandomState::new(), RandomState::new()),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        current: Table::default(),
                        previous: Table::default(),
                        since: now,
                    })
                })
                .collect(),
        }
    }
}

impl MergedRequests {
    /// Records `req` (whose To is `to`) as the request of transaction `key`; returns
    /// true when another transaction already carried the same request (a merged copy).
    pub fn is_merged(
        &self,
        req: &Request,
        to: &NameAddr,
        key: &TransactionKey,
        now: Instant,
    ) -> bool {
        if to.tag().is_some() {
            return false; // in-dialog: the dialog layer owns ordering
        }
        let (Ok(from), Some(call_id), Ok(cseq)) = (req.from(), req.call_id(), req.cseq()) else {
            return false;
        };
        let Some(from_tag) = from.tag() else {
            return false;
        };
        let fingerprint = (
            identity(&self.keys.0, from_tag, call_id, cseq.seq, &req.method),
            identity(&self.keys.1, from_tag, call_id, cseq.seq, &req.method),
        );
        let txn = self.keys.0.hash_one(key);
        let index = (fingerprint.0 % SHARDS as u64) as usize;
        let Some(shard) = self.shards.get(index) else {
            return false;
        };
        let mut shard = shard.lock();
        let age = now.saturating_duration_since(shard.since);
        // Tables are cleared, never dropped: under steady load each generation needs the
        // room the last one had, and regrowing it (rehashing) was a third of this check.
        if age >= 2 * WINDOW {
            shard.current.clear();
            shard.previous.clear();
            shard.since = now;
        } else if age >= WINDOW || shard.current.len() >= MAX_ENTRIES / SHARDS {
            let shard = &mut *shard;
            std::mem::swap(&mut shard.current, &mut shard.previous);
            shard.current.clear();
            shard.since = now;
        }
        let seen = shard
            .current
            .get(&fingerprint)
            .or_else(|| shard.previous.get(&fingerprint))
            .copied();
        if let Some(other) = seen {
            return other != txn;
        }
        shard.current.insert(fingerprint, txn);
        false
    }
}

/// One keyed hash of what makes two requests the same request (§8.2.2.2).
fn identity(keys: &RandomState, from_tag: &str, call_id: &str, cseq: u32, method: &Method) -> u64 {
    let mut h = keys.build_hasher();
    from_tag.hash(&mut h);
    call_id.hash(&mut h);
    cseq.hash(&mut h);
    method.as_str().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::{Message, message::ParseLimits};

    fn request(branch: &str, from_tag: &str, cseq: u32) -> Request {
        let text = format!(
            "MESSAGE sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{branch}\r\n\
             From: <sip:alice@example.com>;tag={from_tag}\r\n\
             To: <sip:bob@example.com>\r\n\
             Call-ID: call-1\r\nCSeq: {cseq} MESSAGE\r\nMax-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        match Message::parse(text.into_bytes().into(), &ParseLimits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn check(m: &MergedRequests, req: &Request, now: Instant) -> bool {
        let to = req.to().unwrap();
        let key = TransactionKey::for_request(req).unwrap();
        m.is_merged(req, &to, &key, now)
    }

    #[test]
    fn a_second_branch_of_the_same_request_is_merged() {
        let m = MergedRequests::default();
        let now = Instant::now();
        assert!(!check(&m, &request("a", "t1", 1), now));
        // The same transaction again (a retransmission reaching this far) is not.
        assert!(!check(&m, &request("a", "t1", 1), now));
        assert!(check(&m, &request("b", "t1", 1), now));
        // Another CSeq or From tag is another request.
        assert!(!check(&m, &request("c", "t1", 2), now));
        assert!(!check(&m, &request("d", "t2", 1), now));
    }

    #[test]
    fn remembered_for_a_window_then_forgotten() {
        let m = MergedRequests::default();
        let t0 = Instant::now();
        assert!(!check(&m, &request("a", "t1", 1), t0));
        // Still known one window later, after the generation turned over once.
        let later = t0 + WINDOW + Duration::from_secs(1);
        assert!(!check(&m, &request("x", "other", 9), later));
        assert!(check(&m, &request("b", "t1", 1), later));
        // Two turns later it is gone: a new branch is a new request.
        let much_later = later + WINDOW + Duration::from_secs(1);
        assert!(!check(&m, &request("c", "t1", 1), much_later));
    }

    #[test]
    fn in_dialog_requests_are_not_tracked() {
        let m = MergedRequests::default();
        let mut req = request("a", "t1", 1);
        req.headers.set(
            herald_sip::HeaderName::To,
            "<sip:bob@example.com>;tag=x".to_owned(),
        );
        let now = Instant::now();
        assert!(!check(&m, &req, now));
        let mut copy = request("b", "t1", 1);
        copy.headers.set(
            herald_sip::HeaderName::To,
            "<sip:bob@example.com>;tag=x".to_owned(),
        );
        assert!(!check(&m, &copy, now));
    }
}
