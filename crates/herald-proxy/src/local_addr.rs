//! The address we put in our Via and Record-Route toward a peer. A listener bound to a
//! specific address advertises that address; a wildcard listener (0.0.0.0, ::)
//! advertises the local address the kernel would use to reach the peer, so a client
//! on loopback sees 127.0.0.1 and one on the LAN sees the LAN address.
use herald_sip::digits;
use herald_transport::{ListenSpec, Transport};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// Beyond this many remembered peers the cache starts over (it is only a speed-up).
const CACHE_MAX: usize = 10_000;

pub struct LocalAddresses {
    listeners: Vec<ListenSpec>,
    /// Override for every advertised host (a name or an address), e.g. behind NAT.
    advertise: Option<String>,
    route_cache: Mutex<HashMap<IpAddr, IpAddr>>,
}

impl LocalAddresses {
    pub fn new(listeners: Vec<ListenSpec>, advertise: Option<String>) -> Self {
        LocalAddresses {
            listeners,
            advertise,
            route_cache: Mutex::new(HashMap::new()),
        }
    }

    /// `host:port` (IPv6 in brackets) of our `transport` listener as seen from `peer`.
    pub fn sent_by(&self, transport: Transport, peer: SocketAddr) -> String {
        let listener = self
            .listeners
            .iter()
            .find(|l| l.transport == transport && l.addr.is_ipv4() == peer.is_ipv4())
            .or_else(|| self.listeners.iter().find(|l| l.transport == transport));
        let mut out = String::with_capacity(24);
        let port = match listener {
            Some(listener) => {
                self.push_host(&mut out, peer, Some(listener.addr.ip()));
                listener.addr.port()
            }
            // No listener of that transport (e.g. a TCP flow the client opened to a
            // port we do not list): name the peer-facing address with the default port.
            None => {
                self.push_host(&mut out, peer, None);
                transport.default_port()
            }
        };
        out.push(':');
        digits::push_decimal_str(&mut out, port);
        out
    }

    fn push_host(&self, out: &mut String, peer: SocketAddr, bound: Option<IpAddr>) {
        if let Some(name) = &self.advertise {
            out.push_str(name);
            return;
        }
        let ip = match bound {
            Some(ip) if !ip.is_unspecified() => ip,
            _ => self.route_to(peer.ip()),
        };
        if ip.is_ipv6() {
            out.push('[');
            digits::push_ip_str(out, ip);
            out.push(']');
        } else {
            digits::push_ip_str(out, ip);
        }
    }

    /// The source address the kernel picks for `peer` (a connected UDP socket sends
    /// nothing; connecting only consults the routing table).
    fn route_to(&self, peer: IpAddr) -> IpAddr {
        if peer.is_loopback() {
            return peer;
        }
        if let Some(ip) = self.route_cache.lock().get(&peer) {
            return *ip;
        }
        let unspecified: IpAddr = if peer.is_ipv4() {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        };
        let found = UdpSocket::bind(SocketAddr::new(unspecified, 0))
            .and_then(|s| {
                s.connect(SocketAddr::new(peer, 9))?;
                s.local_addr()
            })
            .map(|a| a.ip())
            .unwrap_or(unspecified);
        let mut cache = self.route_cache.lock();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(peer, found);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> ListenSpec {
        s.parse().unwrap()
    }

    #[test]
    fn a_bound_listener_advertises_its_own_address() {
        let l = LocalAddresses::new(
            vec![spec("udp:127.0.0.1:5099"), spec("tcp:127.0.0.1:5098")],
            None,
        );
        assert_eq!(
            l.sent_by(Transport::Udp, "127.0.0.1:7000".parse().unwrap()),
            "127.0.0.1:5099"
        );
        assert_eq!(
            l.sent_by(Transport::Tcp, "127.0.0.1:7000".parse().unwrap()),
            "127.0.0.1:5098"
        );
    }

    #[test]
    fn a_wildcard_listener_advertises_the_address_facing_the_peer() {
        let l = LocalAddresses::new(vec![spec("udp:0.0.0.0:5060"), spec("udp:[::]:5060")], None);
        assert_eq!(
            l.sent_by(Transport::Udp, "127.0.0.1:7000".parse().unwrap()),
            "127.0.0.1:5060"
        );
        assert_eq!(
            l.sent_by(Transport::Udp, "[::1]:7000".parse().unwrap()),
            "[::1]:5060"
        );
    }

    #[test]
    fn an_advertised_name_wins() {
        let l = LocalAddresses::new(
            vec![spec("tls:0.0.0.0:5061")],
            Some("sip.example.com".into()),
        );
        assert_eq!(
            l.sent_by(Transport::Tls, "127.0.0.1:7000".parse().unwrap()),
            "sip.example.com:5061"
        );
    }

    #[test]
    fn a_transport_without_listener_gets_its_default_port() {
        let l = LocalAddresses::new(vec![spec("udp:127.0.0.1:5099")], None);
        assert_eq!(
            l.sent_by(Transport::Tls, "127.0.0.1:7000".parse().unwrap()),
            "127.0.0.1:5061"
        );
    }
}
