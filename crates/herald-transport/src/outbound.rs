//! Opening TCP/TLS connections for sends to an address with no flow yet.
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::connection;
use crate::error::TransportError;
use crate::event::FlowId;
use crate::limits::Direction;
use crate::shared::Shared;
use crate::transport::Transport;

/// The open flow to `addr` over `transport` (TCP or TLS), connecting if there is none.
pub(crate) async fn flow_to(
    shared: &Arc<Shared>,
    transport: Transport,
    addr: SocketAddr,
) -> Result<FlowId, TransportError> {
    if let Some(flow) = shared.flows.find(transport, addr) {
        return Ok(flow);
    }
    let key = (transport, addr);
    let lock = Arc::clone(shared.connect_locks.lock().entry(key).or_default());
    let result = {
        let _connecting = lock.lock().await;
        // Whoever held the lock before us may have connected already.
        match shared.flows.find(transport, addr) {
            Some(flow) => Ok(flow),
            None => connect(shared, transport, addr).await,
        }
    };
    {
        let mut locks = shared.connect_locks.lock();
        // Only the map and our clone left: nobody else is waiting on it.
        if locks.get(&key).is_some_and(|l| Arc::strong_count(l) <= 2) {
            locks.remove(&key);
        }
    }
    result
}

async fn connect(
    shared: &Arc<Shared>,
    transport: Transport,
    addr: SocketAddr,
) -> Result<FlowId, TransportError> {
    let failed = |source: io::Error| TransportError::ConnectFailed {
        transport,
        addr,
        source,
    };
    let timed_out = |what: &str| {
        failed(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} timed out"),
        ))
    };
    let permit = shared
        .limiter
        .try_acquire(addr.ip(), Direction::Outbound)
        .ok_or_else(|| TransportError::TooManyConnections(shared.limiter.in_use()))?;
    let tcp = tokio::time::timeout(shared.config.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out("TCP connect"))?
        .map_err(failed)?;
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(%addr, "cannot set TCP_NODELAY: {e}");
    }
    let local = tcp.local_addr().map_err(failed)?;
    match transport {
        Transport::Tcp => Ok(connection::spawn(
            shared, tcp, transport, local, addr, permit,
        )),
        Transport::Tls => {
            // Only an address is known here, so the certificate must name the IP.
            let name = ServerName::IpAddress(addr.ip().into());
            let handshake = shared.tls_connector.connect(name, tcp);
            let stream = tokio::time::timeout(shared.config.tls_handshake_timeout, handshake)
                .await
                .map_err(|_| timed_out("TLS handshake"))?
                .map_err(failed)?;
            Ok(connection::spawn(
                shared, stream, transport, local, addr, permit,
            ))
        }
        Transport::Udp | Transport::Ws | Transport::Wss => {
            Err(TransportError::UnsupportedTransport(transport))
        }
    }
}
