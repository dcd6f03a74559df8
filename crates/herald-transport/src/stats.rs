//! Counters of transport activity, kept as plain atomics until a metrics layer exists.
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Datagrams received (including dropped ones).
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Datagrams dropped because the event queue was full.
    pub datagrams_dropped: u64,
    /// Datagrams dropped for exceeding `max_message_size`.
    pub datagrams_too_large: u64,
    /// Messages received on TCP/TLS connections.
    pub stream_messages_in: u64,
    /// Messages queued for TCP/TLS connections and written.
    pub stream_messages_out: u64,
    /// CRLFCRLF keep-alive pings received (each answered with a CRLF pong).
    pub keepalive_pings: u64,
    /// Connections established (inbound after the TLS handshake, and outbound).
    pub connections_opened: u64,
    /// Connections ended.
    pub connections_closed: u64,
    /// Inbound connections refused by a connection limit or by the flood guard.
    pub connections_rejected: u64,
    /// Inbound TLS handshakes that failed or timed out.
    pub tls_handshake_failures: u64,
    /// Connections closed for a framing error or an oversized message.
    pub framing_errors: u64,
    /// Bytes received on all transports.
    pub bytes_in: u64,
    /// Bytes sent on all transports.
    pub bytes_out: u64,
    /// Datagrams and stream messages dropped by the flood guard (their source was
    /// banned or went over its rate).
    pub dropped_flood: u64,
    /// Bans the flood guard has started (an extended ban counts once).
    pub bans: u64,
    /// Source addresses banned right now.
    pub banned_now: u64,
    /// Source addresses the flood guard is tracking right now.
    pub tracked_ips: u64,
    /// Messages and connections let through unchecked because the flood guard's table
    /// was full (`max_tracked_ips`).
    pub flood_untracked: u64,
}

/// The live counters (the flood guard keeps its own); `Relaxed` ordering suffices because nothing synchronises on them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub datagrams_in: AtomicU64,
    pub datagrams_out: AtomicU64,
    pub datagrams_dropped: AtomicU64,
    pub datagrams_too_large: AtomicU64,
    pub stream_messages_in: AtomicU64,
    pub stream_messages_out: AtomicU64,
    pub keepalive_pings: AtomicU64,
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    pub framing_errors: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    add(counter, 1);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> TransportStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TransportStats {
            datagrams_in: get(&self.datagrams_in),
            datagrams_out: get(&self.datagrams_out),
            datagrams_dropped: get(&self.datagrams_dropped),
            datagrams_too_large: get(&self.datagrams_too_large),
            stream_messages_in: get(&self.stream_messages_in),
            stream_messages_out: get(&self.stream_messages_out),
            keepalive_pings: get(&self.keepalive_pings),
            connections_opened: get(&self.connections_opened),
            connections_closed: get(&self.connections_closed),
            connections_rejected: get(&self.connections_rejected),
            tls_handshake_failures: get(&self.tls_handshake_failures),
            framing_errors: get(&self.framing_errors),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            ..TransportStats::default()
        }
    }
}
