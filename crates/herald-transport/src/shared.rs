//! State shared by the handle and every I/O task.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::config::TransportConfig;
use crate::event::Event;
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
    /// Listener and UDP receive tasks, awaited on shutdown.
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// Resolves when `shutdown` flips to `true` (or its sender is gone, which also means
/// the transport is going away).
pub(crate) async fn shut_down(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}
