//! Vocabulary shared by the server and client state machines.
use std::time::{Duration, Instant};

/// What the owner of a state machine must do after feeding it an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Step {
    /// The transaction lives on; its deadline may have moved.
    Continue,
    /// The transaction reached the Terminated state: forget it now.
    Terminate,
}

/// A pending retransmission (Timers A, E, G): when it fires and the interval it was
/// armed with, from which the next interval is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retransmit {
    pub at: Instant,
    pub interval: Duration,
}

/// Floor of a retransmission interval: a zero T1 would otherwise make a timer fire
/// again at the same instant forever.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

impl Retransmit {
    /// Armed to fire `interval` after `now`.
    pub fn first(now: Instant, interval: Duration) -> Retransmit {
        let interval = interval.max(MIN_INTERVAL);
        Retransmit {
            at: now + interval,
            interval,
        }
    }

    pub fn is_due(&self, now: Instant) -> bool {
        self.at <= now
    }
}
