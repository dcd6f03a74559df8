//! Settings of the presence service (the `[presence]` section of herald.toml).
//!
//! Policy limits (contacts, subscriptions, prompted watchers) are not here: they are
//! durable, kept in the store and changed with `herald policy` while the server runs.
use std::time::Duration;

/// Bounds of a requested expiry, in seconds (RFC 3903 §4.1, RFC 6665 §4.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryBounds {
    /// Used when the request has no Expires.
    pub default: u32,
    /// Below it the request gets 423 with Min-Expires.
    pub min: u32,
    /// Above it the expiry is lowered to this.
    pub max: u32,
}

impl ExpiryBounds {
    /// Whether the bounds make sense (min <= default <= max, min > 0).
    pub fn is_valid(&self) -> bool {
        self.min > 0 && self.min <= self.default && self.default <= self.max
    }
}

#[derive(Clone, Debug)]
pub struct PresenceConfig {
    /// At most one NOTIFY per subscription per this interval: bursts of changes are
    /// coalesced into the last state.
    pub notify_interval: Duration,
    /// Expiry of subscriptions (presence, watcher info, resource lists).
    pub subscribe_expires: ExpiryBounds,
    /// Expiry of publications.
    pub publish_expires: ExpiryBounds,
    /// PUBLISH bodies above this get 413.
    pub max_document_bytes: usize,
    /// NOTIFYs to a UDP watcher larger than this go over TCP to its contact address
    /// (RFC 3261 §18.1.1), falling back to UDP when no connection can be made.
    pub udp_notify_max: usize,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            notify_interval: Duration::from_secs(1),
            subscribe_expires: ExpiryBounds {
                default: 3600,
                min: 60,
                max: 43200,
            },
            publish_expires: ExpiryBounds {
                default: 3600,
                min: 60,
                max: 43200,
            },
            max_document_bytes: 16 * 1024,
            udp_notify_max: 1300,
        }
    }
}
