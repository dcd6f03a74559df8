//! What the transport layer reports to its consumer, and how the consumer addresses sends.
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::transport::Transport;

/// Identifies one TCP/TLS connection for the life of the process; never reused, so a
/// registration bound to a dead flow can never be confused with a new one (RFC 5626).
pub type FlowId = u64;

/// Where a message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// Transport it arrived on.
    pub transport: Transport,
    /// Our address. For TCP/TLS the connection's own local address; for UDP the
    /// socket's bound address (the wildcard address for a wildcard listener).
    pub local: SocketAddr,
    /// The peer's address (what RFC 3261 §18.2.1 puts in `received`/`rport`).
    pub remote: SocketAddr,
    /// The connection, for TCP/TLS; `None` for UDP.
    pub flow: Option<FlowId>,
}

/// Where to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// An existing connection, typically the one a request arrived on.
    Flow(FlowId),
    /// A transport and address; TCP/TLS reuse a connection to it or open one.
    Addr {
        /// Transport to use.
        transport: Transport,
        /// Remote address.
        addr: SocketAddr,
    },
}

/// Something that happened on the transports.
#[derive(Clone, Debug)]
pub enum Event {
    /// One framed SIP message (keep-alives never appear). `data` is the raw message, a
    /// slice of the receive buffer; parsing it is the consumer's job.
    Message {
        /// Where it came from.
        source: Source,
        /// Exactly one message: start line, headers and body.
        data: Bytes,
        /// When it was read: how long it then waits for the consumer is the queue delay
        /// that overload control watches.
        received: Instant,
    },
    /// Bytes at the front of a stream that cannot be framed (no or bad Content-Length,
    /// headers that never end within the size limit). The connection reads no more
    /// and closes after lingering briefly, so the consumer can still answer on the
    /// flow (a 400 for these bytes, and answers to the messages before them).
    Unframeable {
        /// Where it came from.
        source: Source,
        /// The unframeable bytes (at most the message size limit).
        data: Bytes,
        /// Why framing failed.
        reason: String,
        /// The status that says so to a request among the bytes: 513 for a message
        /// over the size limit, else 400.
        status: u16,
    },
    /// A connection ended, for whatever reason; bindings tied to it are now useless.
    FlowClosed {
        /// The connection that ended.
        flow: FlowId,
        /// Its peer address.
        remote: SocketAddr,
    },
}
