//! Timer base values (RFC 3261 §17.1.1.1, Table 4) and the durations derived from them.
use std::time::Duration;

/// How long an INVITE transaction may wait for a final response once it is in the
/// Proceeding state. RFC 3261 runs no timer there (a proxy's Timer C is "greater than
/// 3 minutes"); without a bound, a TU that never answers or a peer that never does
/// would leak the transaction, so both sides give up after this long.
pub const INVITE_PROCEEDING_LIMIT: Duration = Duration::from_secs(6 * 60);

/// The RFC 3261 timer base values. Everything else (A..M) is derived from these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate: first retransmission interval.
    pub t1: Duration,
    /// Ceiling of the non-INVITE request and INVITE response retransmission interval.
    pub t2: Duration,
    /// Longest time a message may stay in the network.
    pub t4: Duration,
}

impl Default for Timers {
    /// RFC 3261 values: T1 = 500 ms, T2 = 4 s, T4 = 5 s.
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64*T1: Timers B, F, H, J (unreliable), L, M; also the non-INVITE server guard.
    pub(crate) fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer D: "at least 32 seconds" on unreliable transports, and never shorter than
    /// the peer's Timer H so every retransmitted final response still finds us.
    pub(crate) fn timer_d(&self) -> Duration {
        self.transaction_timeout().max(Duration::from_secs(32))
    }
}
