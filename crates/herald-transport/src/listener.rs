//! Accepting TCP and TLS connections.
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::connection;
use crate::limits::{ConnectionPermit, Direction};
use crate::shared::{Shared, shut_down};
use crate::stats::bump;
use crate::transport::Transport;

/// Pause after an accept error such as running out of file descriptors, so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Accepts connections until shutdown; `tls` makes it a TLS listener.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    listen_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            () = shut_down(&mut shutdown) => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(%listen_addr, "accept failed: {e}");
                if !is_per_connection_error(&e) {
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        if !shared.admit_connection(remote.ip()) {
            bump(&shared.counters.connections_rejected);
            // Not a warning each: a banned source may try many times a second, and its
            // ban was logged once.
            tracing::debug!(%remote, "connection refused: address banned by the flood guard");
            continue;
        }
        let direction = if shared.is_trusted(remote.ip()) {
            Direction::TrustedInbound
        } else {
            Direction::Inbound
        };
        let Some(permit) = shared.limiter.try_acquire(remote.ip(), direction) else {
            bump(&shared.counters.connections_rejected);
            tracing::warn!(%remote, "connection refused: connection limit reached");
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%remote, "cannot set TCP_NODELAY: {e}");
        }
        let local = tcp.local_addr().unwrap_or(listen_addr);
        match &tls {
            None => {
                let flow = connection::spawn(&shared, tcp, Transport::Tcp, local, remote, permit);
                shared.close_if_banned(flow, remote.ip());
            }
            Some(acceptor) => {
                let handshake = handshake(
                    Arc::clone(&shared),
                    acceptor.clone(),
                    tcp,
                    local,
                    remote,
                    permit,
                );
                tokio::spawn(handshake);
            }
        }
    }
}

/// Errors that concern one connection only (the peer gave up before we accepted).
fn is_per_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// Completes an inbound TLS handshake within the configured time, then starts the flow.
async fn handshake(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    permit: ConnectionPermit,
) {
    let timeout = shared.config.tls_handshake_timeout;
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let flow = connection::spawn(&shared, stream, Transport::Tls, local, remote, permit);
            shared.close_if_banned(flow, remote.ip());
        }
        Ok(Err(e)) => {
            bump(&shared.counters.tls_handshake_failures);
            tracing::debug!(%remote, "TLS handshake failed: {e}");
        }
        Err(_) => {
            bump(&shared.counters.tls_handshake_failures);
            tracing::debug!(%remote, "TLS handshake timed out after {timeout:?}");
        }
    }
}
