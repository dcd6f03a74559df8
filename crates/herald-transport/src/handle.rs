//! Starting the transports and the handle the server uses to send and manage flows.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::TransportConfig;
use crate::error::TransportError;
use crate::event::{Event, FlowId, Target};
use crate::flood::{self, FloodGuard};
use crate::flow_table::{FlowTable, Queued};
use crate::limits::ConnectionLimiter;
use crate::listen_spec::ListenSpec;
use crate::listener;
use crate::outbound;
use crate::shared::{Shared, UdpEndpoint};
use crate::socket;
use crate::stats::{TransportStats, bump};

/// How long a send waits for room in a connection's full writer queue.
const WRITE_QUEUE_WAIT: Duration = Duration::from_secs(2);
use crate::tls;
use crate::transport::Transport;
use crate::udp;

/// Receive tasks per UDP socket: enough to keep a socket drained while another task
/// waits on the event queue, without outnumbering the cores.
const UDP_RECEIVERS_PER_SOCKET: usize = 2;
/// How long [`TransportHandle::shutdown`] waits for connections to finish closing.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// A cheap, clonable handle on running transports.
#[derive(Clone)]
pub struct TransportHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TransportHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportHandle")
            .field("listen", &self.shared.local_addrs)
            .field("connections", &self.shared.flows.len())
            .finish()
    }
}

/// A listener socket, bound but not yet served.
enum Bound {
    Udp(Arc<UdpEndpoint>),
    Tcp(TcpListener, SocketAddr, Option<TlsAcceptor>),
}

/// Fewest events a queue of [`start_sharded`] holds. All of one peer's messages go to
/// one queue, and a busy peer (a load generator, an edge proxy in front of many users)
/// must be able to queue a pause's worth of them: at 20 000 requests/s a 1 024-event
/// queue filled in 50 ms and shed load the server kept up with.
pub const MIN_SHARD_QUEUE: usize = 4096;

/// Binds every listener (errors name the address), spawns the I/O tasks, and returns
/// the handle and the bounded event receiver.
///
/// Backpressure: when the consumer is slow, TCP/TLS readers wait (and so do their
/// peers); UDP datagrams are dropped and counted in
/// [`TransportStats::datagrams_dropped`] when the queue is full.
pub async fn start(
    config: TransportConfig,
) -> Result<(TransportHandle, mpsc::Receiver<Event>), TransportError> {
    let (handle, events, _none) = start_queues(config, 1).await?;
    Ok((handle, events))
}

/// Like [`start`], with the events spread over `queues` receivers (at least one) of
/// `config.event_queue / queues` events each, but never fewer than
/// [`MIN_SHARD_QUEUE`], for as many consumers working in parallel. Everything from one peer address (its messages, the end of its
/// connection) goes to the same receiver, in order. Taking events straight from the
/// transport saves the consumer a task that only passes them on.
pub async fn start_sharded(
    config: TransportConfig,
    queues: usize,
) -> Result<(TransportHandle, Vec<mpsc::Receiver<Event>>), TransportError> {
    let (handle, first, rest) = start_queues(config, queues).await?;
    Ok((handle, std::iter::once(first).chain(rest).collect()))
}

/// The first receiver apart, so that there always is one.
async fn start_queues(
    config: TransportConfig,
    queues: usize,
) -> Result<
    (
        TransportHandle,
        mpsc::Receiver<Event>,
        Vec<mpsc::Receiver<Event>>,
    ),
    TransportError,
> {
    let server_tls = tls::ServerTls::new(&config)?;
    let tls_connector = TlsConnector::from(tls::client_config(&config)?);

    let mut bound = Vec::with_capacity(config.listen.len());
    let mut local_addrs = Vec::with_capacity(config.listen.len());
    for &spec in &config.listen {
        let bind_error = |source| TransportError::Bind { spec, source };
        let (listener, local) = match spec.transport {
            Transport::Udp => {
                let socket = UdpSocket::from_std(socket::bind_udp(spec.addr).map_err(bind_error)?)
                    .map_err(bind_error)?;
                let local = socket.local_addr().map_err(bind_error)?;
                let endpoint = UdpEndpoint {
                    local,
                    socket: Arc::new(socket),
                };
                (Bound::Udp(Arc::new(endpoint)), local)
            }
            Transport::Tcp | Transport::Tls => {
                let listener =
                    TcpListener::from_std(socket::bind_tcp(spec.addr).map_err(bind_error)?)
                        .map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                let tls = server_tls.acceptor_for(&spec);
                (Bound::Tcp(listener, local, tls), local)
            }
            Transport::Ws | Transport::Wss => {
                return Err(TransportError::UnsupportedListener(spec));
            }
        };
        bound.push(listener);
        local_addrs.push(ListenSpec {
            transport: spec.transport,
            addr: local,
        });
    }

    let queues = queues.max(1);
    let capacity = if queues == 1 {
        config.event_queue.max(1)
    } else {
        (config.event_queue / queues).max(MIN_SHARD_QUEUE)
    };
    let (first_events, first) = mpsc::channel(capacity);
    let (more_events, rest): (Vec<_>, Vec<_>) =
        (1..queues).map(|_| mpsc::channel(capacity)).unzip();
    let events: Vec<_> = std::iter::once(first_events).chain(more_events).collect();
    let (shutdown, _) = watch::channel(false);
    let udp = bound
        .iter()
        .filter_map(|b| match b {
            Bound::Udp(endpoint) => Some(Arc::clone(endpoint)),
            Bound::Tcp(..) => None,
        })
        .collect();
    let flood = config
        .flood
        .enabled
        .then(|| Arc::new(FloodGuard::new(&config.flood, std::time::Instant::now())));
    let shared = Arc::new(Shared {
        flows: FlowTable::new(),
        limiter: ConnectionLimiter::new(config.max_connections, config.max_connections_per_ip),
        flood,
        counters: Default::default(),
        events: events.into_boxed_slice(),
        shutdown,
        udp,
        local_addrs,
        tls_connector,
        connect_locks: Mutex::new(HashMap::new()),
        tasks: Mutex::new(Vec::new()),
        listeners: Mutex::new(Vec::new()),
        config,
    });

    let mut tasks = Vec::new();
    if let Some(guard) = &shared.flood {
        let sweep = flood::sweep_loop(Arc::clone(guard), shared.shutdown.subscribe());
        tasks.push(tokio::spawn(sweep));
    }
    for listener in bound {
        match listener {
            Bound::Udp(endpoint) => {
                tracing::info!(local = %endpoint.local, "listening on UDP");
                for _ in 0..UDP_RECEIVERS_PER_SOCKET {
                    let receive = udp::receive_loop(Arc::clone(&shared), Arc::clone(&endpoint));
                    tasks.push(tokio::spawn(receive));
                }
            }
            Bound::Tcp(listener, local, tls) => {
                let transport = if tls.is_some() { "TLS" } else { "TCP" };
                tracing::info!(%local, "listening on {transport}");
                let accept = listener::accept_loop(Arc::clone(&shared), listener, local, tls);
                shared.listeners.lock().push(tokio::spawn(accept));
            }
        }
    }
    shared.tasks.lock().extend(tasks);
    Ok((TransportHandle { shared }, first, rest))
}

impl TransportHandle {
    /// Sends one message.
    ///
    /// - `Target::Flow`: queued on that connection's bounded writer queue; when it is
    ///   full the send waits up to 2 s for room, then fails with
    ///   [`TransportError::QueueFull`].
    /// - `Target::Addr` over UDP: sent from a UDP listener socket of the same address
    ///   family (preferring one bound to the peer's IP, then a wildcard one).
    /// - `Target::Addr` over TCP/TLS: reuses the newest open flow to exactly that
    ///   address, or connects (TLS verification: see
    ///   [`TransportConfig::tls_client_insecure`]).
    ///
    /// Returns the flow used, `None` for UDP.
    pub async fn send(
        &self,
        target: Target,
        data: Bytes,
    ) -> Result<Option<FlowId>, TransportError> {
        if self.shared.is_shut_down() {
            return Err(TransportError::ShutDown);
        }
        let flow = match target {
            Target::Flow(flow) => flow,
            Target::Addr {
                transport: Transport::Udp,
                addr,
            } => {
                udp::send(&self.shared, addr, &data).await?;
                return Ok(None);
            }
            Target::Addr {
                transport: transport @ (Transport::Tcp | Transport::Tls),
                addr,
            } => {
                // Boxed: connecting is rare, and its future would make every send's
                // future (copied for each message sent) a KiB larger.
                Box::pin(outbound::flow_to(&self.shared, transport, addr)).await?
            }
            Target::Addr {
                transport: transport @ (Transport::Ws | Transport::Wss),
                ..
            } => return Err(TransportError::UnsupportedTransport(transport)),
        };
        match self.shared.flows.queue(flow, data) {
            Ok(()) => {}
            Err(Queued::Gone) => return Err(TransportError::NoSuchFlow(flow)),
            // A peer that reads slower than we write: wait a little (back-pressure on
            // the sender) rather than drop a message at the first burst.
            Err(Queued::Full(writer, data)) => {
                writer
                    .send_timeout(data, WRITE_QUEUE_WAIT)
                    .await
                    .map_err(|e| match e {
                        mpsc::error::SendTimeoutError::Timeout(_) => {
                            TransportError::QueueFull(flow)
                        }
                        mpsc::error::SendTimeoutError::Closed(_) => {
                            TransportError::NoSuchFlow(flow)
                        }
                    })?;
            }
        }
        bump(&self.shared.counters.stream_messages_out);
        Ok(Some(flow))
    }

    /// Is this flow still open?
    pub fn flow_alive(&self, flow: FlowId) -> bool {
        self.shared.flows.contains(flow)
    }

    /// Remote address of an open flow.
    pub fn flow_remote(&self, flow: FlowId) -> Option<SocketAddr> {
        self.shared.flows.remote(flow)
    }

    /// Closes a flow; a [`Event::FlowClosed`] follows. Unknown flows are ignored.
    pub fn close_flow(&self, flow: FlowId) {
        self.shared.flows.close(flow);
    }

    /// Local addresses actually bound (port 0 resolved), in `config.listen` order.
    pub fn local_addrs(&self) -> Vec<ListenSpec> {
        self.shared.local_addrs.clone()
    }

    /// Open TCP/TLS flows.
    pub fn connection_count(&self) -> usize {
        self.shared.flows.len()
    }

    /// Counters since start.
    pub fn stats(&self) -> TransportStats {
        let mut stats = self.shared.counters.snapshot();
        if let Some(guard) = &self.shared.flood {
            guard.fill(&mut stats);
        }
        stats
    }

    /// Closes the TCP and TLS listening sockets: new connections are refused by the
    /// kernel, while open flows and UDP go on (the first step of a graceful shutdown,
    /// so that transactions in progress can still hear from their peers).
    pub fn stop_accepting(&self) {
        let listeners = std::mem::take(&mut *self.shared.listeners.lock());
        for listener in &listeners {
            // The listening socket closes when the task is dropped.
            listener.abort();
        }
        if !listeners.is_empty() {
            tracing::info!("no longer accepting connections");
        }
    }

    /// Stops the listeners, closes all flows and waits (up to a few seconds) for them
    /// to finish closing: each writes what was queued for it, sends its FIN (TLS
    /// close_notify first) and reads until the peer closes too, so that the peer sees
    /// an orderly close rather than a reset. Later sends fail with
    /// [`TransportError::ShutDown`].
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        self.stop_accepting();
        let tasks = std::mem::take(&mut *self.shared.tasks.lock());
        for task in tasks {
            if let Err(e) = task.await {
                tracing::warn!("transport task ended abnormally: {e}");
            }
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_DRAIN;
        // Handshakes in progress hold permits without being flows yet.
        while (self.shared.flows.len() > 0 || self.shared.limiter.in_use() > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
