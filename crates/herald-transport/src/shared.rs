//! State shared by the handle and every I/O task.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::config::TransportConfig;
use crate::event::{Event, FlowId};
use crate::flood::{self, FloodGuard, Kind, Verdict};
use crate::flow_table::FlowTable;
use crate::limits::ConnectionLimiter;
use crate::listen_spec::ListenSpec;
use crate::stats::Counters;
use crate::transport::Transport;

/// A bound UDP listener socket.
#[derive(Debug)]
pub(crate) struct UdpEndpoint {
    pub local: SocketAddr,
    pub socket: Arc<UdpSocket>,
}

/// One async mutex per outbound destination being connected to.
pub(crate) type ConnectLocks = Mutex<HashMap<(Transport, SocketAddr), Arc<tokio::sync::Mutex<()>>>>;

/// One per [`crate::start`]; tasks hold it through an `Arc`.
pub(crate) struct Shared {
    pub config: TransportConfig,
    pub flows: FlowTable,
    pub limiter: Arc<ConnectionLimiter>,
    /// Per-source rate limits and bans; `None` when `config.flood.enabled` is false.
    pub flood: Option<Arc<FloodGuard>>,
    pub counters: Counters,
    /// The consumer's queues; a peer's messages always go to the same one
    /// ([`Shared::events_for`]).
    pub events: Box<[mpsc::Sender<Event>]>,
    /// Flips to `true` once, on shutdown; every task watches it.
    pub shutdown: watch::Sender<bool>,
    pub udp: Vec<Arc<UdpEndpoint>>,
    pub local_addrs: Vec<ListenSpec>,
    pub tls_connector: TlsConnector,
    /// Serialises outbound connects per destination, so that concurrent sends to an
    /// address without a flow open one connection, not one each.
    pub connect_locks: ConnectLocks,
    /// UDP receive and housekeeping tasks, awaited on shutdown.
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    /// TCP and TLS accept loops, stopped first: a server that drains before shutting
    /// down takes no new connection but keeps reading the open ones.
    pub listeners: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// The queue for everything from `remote`: one peer's messages, and the end of its
    /// connection, are seen in order by one consumer.
    pub(crate) fn events_for(&self, remote: SocketAddr) -> &mpsc::Sender<Event> {
        // In range: `start_sharded` makes at least one queue, and the index is below
        // their number.
        &self.events[queue_index(remote, self.events.len())]
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Whether a datagram or framed message from `ip` may go on to the consumer.
    pub(crate) fn admit_message(&self, ip: IpAddr) -> bool {
        self.admit(ip, Kind::Message)
    }

    /// Whether a new inbound connection from `ip` may be served.
    pub(crate) fn admit_connection(&self, ip: IpAddr) -> bool {
        self.admit(ip, Kind::Connection)
    }

    fn admit(&self, ip: IpAddr, kind: Kind) -> bool {
        let Some(guard) = &self.flood else {
            return true;
        };
        match guard.check(ip, kind, Instant::now()) {
            Verdict::Admit => true,
            Verdict::Refuse => false,
            Verdict::Ban => {
                // A banned source keeps no connection: the idle ones would otherwise
                // stay open until they spoke.
                let closed = self.flows.close_from(ip);
                if closed > 0 {
                    tracing::debug!(%ip, closed, "closing the connections of a banned address");
                }
                false
            }
        }
    }

    /// Closes a just-registered inbound flow if its address was banned meanwhile: a
    /// ban closes the flows in the table, and this catches the one that was between
    /// its admission and the table (a TLS handshake, for one) when the ban came.
    pub(crate) fn close_if_banned(&self, flow: FlowId, ip: IpAddr) {
        if self.flood.as_ref().is_some_and(|guard| guard.is_banned(ip)) {
            self.flows.close(flow);
        }
    }

    /// Whether `ip` is in a trusted network (exempt from per-address limits).
    pub(crate) fn is_trusted(&self, ip: IpAddr) -> bool {
        flood::is_trusted(&self.config.flood.trusted, ip)
    }
}

/// Resolves when `shutdown` flips to `true` (or its sender is gone, which also means
/// the transport is going away).
pub(crate) async fn shut_down(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// Spreads peers over `queues` queues. Not keyed: a peer picks its own address and port
/// anyway, so it can always load one queue; this only has to spread honest peers.
fn queue_index(remote: SocketAddr, queues: usize) -> usize {
    if queues <= 1 {
        return 0;
    }
    let ip = match remote.ip() {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            (bits as u64) ^ ((bits >> 64) as u64)
        }
    };
    let mixed = (ip << 16 | u64::from(remote.port())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The high bits are the well-mixed ones; `queues` is small.
    ((mixed >> 32) % queues as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::queue_index;
    use std::collections::HashSet;
    use std::net::SocketAddr;

    #[test]
    fn one_peer_keeps_its_queue_and_peers_spread() {
        let peer: SocketAddr = "192.0.2.7:5060".parse().expect("address");
        assert_eq!(queue_index(peer, 1), 0);
        assert_eq!(queue_index(peer, 64), queue_index(peer, 64));
        let used: HashSet<usize> = (0..512u16)
            .map(|port| queue_index(SocketAddr::new(peer.ip(), 40_000 + port), 64))
            .collect();
        assert!(
            used.len() > 48,
            "512 ports of one host use {} of 64 queues",
            used.len()
        );
        assert!(used.iter().all(|&q| q < 64));
        let v6: SocketAddr = "[2001:db8::1]:5060".parse().expect("address");
        assert!(queue_index(v6, 7) < 7);
    }
}
