//! Where responses go (RFC 3261 §18.2.2 with RFC 3581 `rport`).
use herald_sip::Via;
use herald_transport::{Source, Target, Transport};
use std::net::SocketAddr;

/// The target for responses to a request that arrived from `source` with `top` as its
/// topmost Via (already stamped with `received`/`rport`).
///
/// Reliable transports answer on the connection the request came over. Over UDP the
/// response goes to the source address (`received`) and, if the client asked with
/// `rport`, to the source port, otherwise to the port in the Via (default 5060).
/// `maddr` (multicast) is ignored: we never answer to a multicast group.
pub fn response_target(top: Option<&Via>, source: &Source) -> Target {
    if let Some(flow) = source.flow {
        return Target::Flow(flow);
    }
    let ip = source.remote.ip();
    let port = match top {
        Some(via) => match via.rport() {
            Some(_) => source.remote.port(),
            None => via.port.unwrap_or(Transport::Udp.default_port()),
        },
        None => source.remote.port(),
    };
    Target::Addr {
        transport: source.transport,
        addr: SocketAddr::new(ip, port),
    }
}
