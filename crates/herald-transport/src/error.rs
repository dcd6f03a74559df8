//! Errors of the transport layer; each names the address, flow or file concerned.
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::event::FlowId;
use crate::listen_spec::{ListenSpec, ListenSpecError};
use crate::transport::Transport;

/// What can go wrong starting transports or sending.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A listener could not be bound (address in use, not local, no permission...).
    #[error("cannot bind {spec}: {source}")]
    Bind {
        /// The listener.
        spec: ListenSpec,
        /// The OS error.
        source: io::Error,
    },
    /// A listen string could not be parsed.
    #[error(transparent)]
    ListenSpec(#[from] ListenSpecError),
    /// A listener for a transport that has no implementation yet (WS/WSS).
    #[error("cannot listen on {0}: WebSocket listeners are not implemented yet")]
    UnsupportedListener(ListenSpec),
    /// A send over a transport that cannot be used for that (WS/WSS for now).
    #[error("sending over {0} is not supported")]
    UnsupportedTransport(Transport),
    /// A TLS listener without certificate settings.
    #[error("TLS listener {0} needs a certificate: set `tls` in the transport configuration")]
    TlsNotConfigured(ListenSpec),
    /// The flow is unknown or already closed.
    #[error("no such flow: {0}")]
    NoSuchFlow(FlowId),
    /// The connection's write queue is full (the peer is not reading fast enough).
    #[error("write queue of flow {0} is full")]
    QueueFull(FlowId),
    /// No UDP listener of the destination's address family.
    #[error("no UDP socket of the right address family to send to {0}")]
    NoUdpSocket(SocketAddr),
    /// A datagram could not be sent.
    #[error("sending to {addr} failed: {source}")]
    SendFailed {
        /// Destination.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// An outbound connection (TCP connect or TLS handshake) failed or timed out.
    #[error("connecting over {transport} to {addr} failed: {source}")]
    ConnectFailed {
        /// TCP or TLS.
        transport: Transport,
        /// Destination.
        addr: SocketAddr,
        /// The cause (I/O, timeout or TLS error).
        source: io::Error,
    },
    /// The connection limit is reached.
    #[error("connection limit reached ({0} open)")]
    TooManyConnections(usize),
    /// TLS certificates or keys could not be used.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// A PEM file could not be read or holds nothing usable.
    #[error("{}: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    CertificateGeneration(String),
    /// A file or directory could not be created or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// [`crate::TransportHandle::shutdown`] was called.
    #[error("transport is shut down")]
    ShutDown,
}
