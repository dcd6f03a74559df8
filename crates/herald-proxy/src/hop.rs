//! One side of a proxied exchange: how a peer is reached (its flow for TCP/TLS, its
//! address for UDP), and whether a received message came from it.
use herald_transport::{FlowId, Source, Target, Transport};
use std::net::SocketAddr;

/// A peer as the transports see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hop {
    pub transport: Transport,
    pub remote: SocketAddr,
    /// The connection, for TCP/TLS.
    pub flow: Option<FlowId>,
}

impl Hop {
    /// The peer a message came from.
    pub fn from_source(source: &Source) -> Hop {
        Hop {
            transport: source.transport,
            remote: source.remote,
            flow: source.flow,
        }
    }

    /// Where to send to this peer: its connection while that is open, else its
    /// address on the same transport (a new connection for TCP/TLS).
    pub fn target(&self, flow_alive: impl Fn(FlowId) -> bool) -> Target {
        match self.flow {
            Some(flow) if flow_alive(flow) => Target::Flow(flow),
            _ => Target::Addr {
                transport: self.transport,
                addr: self.remote,
            },
        }
    }

    /// Whether `source` is this peer: the same connection, or for UDP the same
    /// transport and address.
    pub fn is(&self, source: &Source) -> bool {
        match (self.flow, source.flow) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.transport == source.transport && self.remote == source.remote,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(transport: Transport, remote: &str, flow: Option<FlowId>) -> Source {
        Source {
            transport,
            local: "127.0.0.1:5060".parse().unwrap(),
            remote: remote.parse().unwrap(),
            flow,
        }
    }

    #[test]
    fn udp_peer_is_matched_by_address_and_tcp_peer_by_connection() {
        let udp = Hop::from_source(&source(Transport::Udp, "10.0.0.1:5070", None));
        assert!(udp.is(&source(Transport::Udp, "10.0.0.1:5070", None)));
        assert!(!udp.is(&source(Transport::Udp, "10.0.0.1:5071", None)));
        assert!(!udp.is(&source(Transport::Tcp, "10.0.0.1:5070", Some(3))));

        let tcp = Hop::from_source(&source(Transport::Tcp, "10.0.0.1:40000", Some(7)));
        assert!(tcp.is(&source(Transport::Tcp, "10.0.0.1:40000", Some(7))));
        assert!(!tcp.is(&source(Transport::Tcp, "10.0.0.1:40000", Some(8))));
    }

    #[test]
    fn a_closed_flow_falls_back_to_the_address() {
        let tcp = Hop::from_source(&source(Transport::Tcp, "10.0.0.1:40000", Some(7)));
        assert_eq!(tcp.target(|_| true), Target::Flow(7));
        assert_eq!(
            tcp.target(|_| false),
            Target::Addr {
                transport: Transport::Tcp,
                addr: "10.0.0.1:40000".parse().unwrap()
            }
        );
    }
}
