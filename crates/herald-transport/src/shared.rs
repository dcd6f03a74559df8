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
    pub events: mpsc::Sender<Event>,
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
