//! Merged-request detection (RFC 3261 §8.2.2.2): the same out-of-dialog request
//! reaching us twice by different paths (a forking proxy upstream) carries the same
//! From tag, Call-ID and CSeq under a different branch. The copy gets 482 Loop
//! Detected instead of being processed a second time.
use herald_sip::Request;
use herald_transaction::TransactionKey;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a request is remembered: a transaction's lifetime on UDP (64*T1).
const WINDOW: Duration = Duration::from_secs(32);
/// Bound on memory; when full, entries older than the window are purged first and,
/// failing that, the map starts over (detection is best-effort by nature).
const MAX_ENTRIES: usize = 200_000;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Identity {
    from_tag: String,
    call_id: String,
    cseq: u32,
    method: String,
}

#[derive(Default)]
pub struct MergedRequests {
    seen: Mutex<HashMap<Identity, (TransactionKey, Instant)>>,
}

impl MergedRequests {
    /// Records `req` as the request of transaction `key`; returns true when another
    /// transaction already carried the same request (a merged copy).
    pub fn is_merged(&self, req: &Request, key: &TransactionKey, now: Instant) -> bool {
        let Ok(to) = req.to() else { return false };
        if to.tag().is_some() {
            return false; // in-dialog: the dialog layer owns ordering
        }
        let (Ok(from), Some(call_id), Ok(cseq)) = (req.from(), req.call_id(), req.cseq()) else {
            return false;
        };
        let Some(from_tag) = from.tag() else {
            return false;
        };
        let id = Identity {
            from_tag: from_tag.to_owned(),
            call_id: call_id.to_owned(),
            cseq: cseq.seq,
            method: req.method.as_str().to_owned(),
        };
        let mut seen = self.seen.lock();
        if let Some((other, at)) = seen.get(&id)
            && now.duration_since(*at) < WINDOW
        {
            return other != key;
        }
        if seen.len() >= MAX_ENTRIES {
            seen.retain(|_, (_, at)| now.duration_since(*at) < WINDOW);
            if seen.len() >= MAX_ENTRIES {
                seen.clear();
            }
        }
        seen.insert(id, (key.clone(), now));
        false
    }
}
