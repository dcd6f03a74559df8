//! What the hold scenario counts while it runs, and the JSON it writes at the end.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

use crate::stats::Outcomes;

/// Totals shared by every connection's task.
#[derive(Default)]
pub struct HoldCounters {
    /// Connections established (TCP connected, TLS handshake done).
    pub opened: AtomicU64,
    /// Connections whose first REGISTER got a 2xx.
    pub registered: AtomicU64,
    /// Connections that gave up during setup, by kind.
    pub setup_failures: Mutex<Outcomes>,
    /// First REGISTERs tried again after a 503.
    pub setup_retries: AtomicU64,
    /// Connections done with their setup, either way.
    pub settled: AtomicU64,
    /// Refreshing REGISTERs answered with 2xx.
    pub reregisters_ok: AtomicU64,
    /// Refreshing REGISTERs that failed, by kind.
    pub reregister_failures: Mutex<Outcomes>,
    /// Pings sent.
    pub pings: AtomicU64,
    /// Pongs read.
    pub pongs: AtomicU64,
    /// Requests the server sent (answered with 200).
    pub server_requests: AtomicU64,
    /// Challenges answered.
    pub challenges: AtomicU64,
    /// Registered connections lost before the end of the hold, by kind.
    pub lost: Mutex<Outcomes>,
}

impl HoldCounters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The result of a run (`--json`).
#[derive(Debug, Serialize)]
pub struct HoldReport {
    /// `tcp` or `tls`.
    pub transport: String,
    /// The server's address.
    pub server: String,
    /// Connections asked for.
    pub connections: u64,
    /// Connections established.
    pub opened: u64,
    /// Connections registered.
    pub registered: u64,
    /// Setup failures by kind (`connect`, `connect_timeout`, `tls`, `timeout`,
    /// `closed`, a status code, ...).
    pub failures: Outcomes,
    /// Total of `failures`.
    pub failed: u64,
    /// First REGISTERs tried again after a 503 (up to 3 times each, backing off).
    pub setup_retries_503: u64,
    /// Seconds from the first connect to the last setup done.
    pub setup_s: f64,
    /// Seconds of hold after all were set up.
    pub hold_s: f64,
    /// Refreshing REGISTERs answered with 2xx (setup and hold together).
    pub reregisters_ok: u64,
    /// Refreshing REGISTERs that failed, by kind.
    pub reregister_failures: Outcomes,
    /// Total of `reregister_failures`.
    pub reregisters_failed: u64,
    /// Double-CRLF pings sent.
    pub keepalive_pings: u64,
    /// CRLF pongs read.
    pub keepalive_pongs: u64,
    /// Requests the server sent (answered with 200).
    pub server_requests: u64,
    /// Digest challenges answered.
    pub challenges: u64,
    /// Registered connections lost before the end of the hold, by kind.
    pub lost: Outcomes,
    /// Registered connections still up at the end of the hold.
    pub held: u64,
}

impl HoldReport {
    /// The one-line summary printed at the end.
    pub fn describe(&self) -> String {
        format!(
            "{} connections to {} over {}: opened {}, registered {}, failed {} ({}), retried after 503 {}, setup {:.1} s, \
             held {} for {:.1} s (lost: {}), re-REGISTERs ok {} failed {} ({}), pings {} pongs {}, \
             challenges {}, server requests {}",
            self.connections,
            self.server,
            self.transport,
            self.opened,
            self.registered,
            self.failed,
            self.failures.describe(),
            self.setup_retries_503,
            self.setup_s,
            self.held,
            self.hold_s,
            self.lost.describe(),
            self.reregisters_ok,
            self.reregisters_failed,
            self.reregister_failures.describe(),
            self.keepalive_pings,
            self.keepalive_pongs,
            self.challenges,
            self.server_requests,
        )
    }
}
