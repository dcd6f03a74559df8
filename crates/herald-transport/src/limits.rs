//! Connection limits: a permit per open TCP/TLS connection, taken before the TLS
//! handshake so that half-open handshakes count too.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Counts open connections, in total and per remote IP address.
#[derive(Debug)]
pub(crate) struct ConnectionLimiter {
    max_total: usize,
    max_per_ip: usize,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Whether the per-IP limit applies: it protects against one client hogging inbound
/// capacity, while outbound connections are ours to decide and trusted networks (the
/// flood guard's) are exempt by configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    /// Inbound from a trusted network: counted, but not limited per IP.
    TrustedInbound,
    Outbound,
}

/// Proof that a connection slot is held; releases it when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(ConnectionLimiter {
            max_total,
            max_per_ip,
            state: Mutex::new(LimiterState::default()),
        })
    }

    /// Takes a slot for a connection with `ip`, or `None` when a limit is reached.
    pub(crate) fn try_acquire(
        self: &Arc<Self>,
        ip: IpAddr,
        direction: Direction,
    ) -> Option<ConnectionPermit> {
        let mut state = self.state.lock();
        if state.total >= self.max_total {
            return None;
        }
        let from_ip = state.per_ip.entry(ip).or_insert(0);
        if direction == Direction::Inbound && *from_ip >= self.max_per_ip {
            return None;
        }
        *from_ip += 1;
        state.total += 1;
        Some(ConnectionPermit {
            limiter: Arc::clone(self),
            ip,
        })
    }

    /// Connections currently holding a permit.
    pub(crate) fn in_use(&self) -> usize {
        self.state.lock().total
    }

    fn release(&self, ip: IpAddr) {
        let mut state = self.state.lock();
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.per_ip.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.per_ip.remove(&ip);
            }
        }
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limiter.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limit_applies_to_inbound_only_and_permits_release_on_drop() {
        let limiter = ConnectionLimiter::new(3, 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = limiter.try_acquire(a, Direction::Inbound).unwrap();
        assert!(limiter.try_acquire(a, Direction::Inbound).is_none());
        let outbound = limiter.try_acquire(a, Direction::Outbound).unwrap();
        let other = limiter.try_acquire(b, Direction::Inbound).unwrap();
        assert_eq!(limiter.in_use(), 3);
        assert!(
            limiter.try_acquire(b, Direction::Outbound).is_none(),
            "total limit"
        );
        drop(first);
        drop(outbound);
        assert_eq!(limiter.in_use(), 1);
        assert!(limiter.try_acquire(a, Direction::Inbound).is_some());
        drop(other);
        assert_eq!(limiter.in_use(), 0);
    }

    #[test]
    fn trusted_inbound_connections_skip_the_per_ip_limit_but_not_the_total() {
        let limiter = ConnectionLimiter::new(3, 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let _first = limiter.try_acquire(a, Direction::Inbound).unwrap();
        assert!(limiter.try_acquire(a, Direction::Inbound).is_none());
        let _second = limiter.try_acquire(a, Direction::TrustedInbound).unwrap();
        let _third = limiter.try_acquire(a, Direction::TrustedInbound).unwrap();
        assert!(limiter.try_acquire(a, Direction::TrustedInbound).is_none());
        assert_eq!(limiter.in_use(), 3);
    }
}
