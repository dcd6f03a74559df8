//! Flow tokens (RFC 5626 §5.2 style) carried in our Record-Route: they name the two
//! peers of a dialog so in-dialog requests go back over the flows the dialog was set
//! up on, even when the peers sit behind NAT.
//!
//! A token is signed (HMAC-SHA-256 with a per-process key, truncated to 64 bits), so
//! nobody can forge a Route that makes us send into another user's connection.
use crate::hop::Hop;
use herald_transport::Transport;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The URI parameter that carries the token.
pub const PARAM: &str = "ftok";

const MAC_LEN: usize = 8;

pub struct FlowTokens {
    key: [u8; 32],
}

impl FlowTokens {
    pub fn new() -> Self {
        FlowTokens {
            key: rand::random(),
        }
    }

    /// The token for a dialog between `caller` (upstream) and `callee` (downstream).
    pub fn encode(&self, caller: &Hop, callee: &Hop) -> String {
        let mut raw = Vec::with_capacity(64);
        write_hop(&mut raw, caller);
        write_hop(&mut raw, callee);
        let mac = self.mac(&raw);
        raw.extend_from_slice(&mac);
        hex::encode(raw)
    }

    /// The two peers, if the token is well formed and was made by us.
    pub fn decode(&self, token: &str) -> Option<(Hop, Hop)> {
        let raw = hex::decode(token).ok()?;
        let split = raw.len().checked_sub(MAC_LEN)?;
        let (body, mac) = raw.split_at(split);
        let mut check = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        check.update(body);
        check.verify_truncated_left(mac).ok()?;
        let mut rest = body;
        let caller = read_hop(&mut rest)?;
        let callee = read_hop(&mut rest)?;
        rest.is_empty().then_some((caller, callee))
    }

    fn mac(&self, data: &[u8]) -> [u8; MAC_LEN] {
        let mut out = [0u8; MAC_LEN];
        // An HMAC key may have any length, so this cannot fail.
        if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            mac.update(data);
            let full = mac.finalize().into_bytes();
            out.copy_from_slice(&full[..MAC_LEN]);
        }
        out
    }
}

impl Default for FlowTokens {
    fn default() -> Self {
        Self::new()
    }
}

fn transport_code(t: Transport) -> u8 {
    match t {
        Transport::Udp => 0,
        Transport::Tcp => 1,
        Transport::Tls => 2,
        Transport::Ws => 3,
        Transport::Wss => 4,
    }
}

fn transport_from(code: u8) -> Option<Transport> {
    Some(match code {
        0 => Transport::Udp,
        1 => Transport::Tcp,
        2 => Transport::Tls,
        3 => Transport::Ws,
        4 => Transport::Wss,
        _ => return None,
    })
}

/// transport, flag (bit 0: has flow, bit 1: IPv6), [flow u64], ip (4 or 16), port.
fn write_hop(out: &mut Vec<u8>, hop: &Hop) {
    out.push(transport_code(hop.transport));
    let v6 = hop.remote.is_ipv6();
    out.push(u8::from(hop.flow.is_some()) | (u8::from(v6) << 1));
    if let Some(flow) = hop.flow {
        out.extend_from_slice(&flow.to_be_bytes());
    }
    match hop.remote.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&hop.remote.port().to_be_bytes());
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn read_hop(rest: &mut &[u8]) -> Option<Hop> {
    let head = take(rest, 2)?;
    let transport = transport_from(head[0])?;
    let flags = head[1];
    let flow = if flags & 1 == 1 {
        let bytes: [u8; 8] = take(rest, 8)?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    } else {
        None
    };
    let ip = if flags & 2 == 2 {
        let bytes: [u8; 16] = take(rest, 16)?.try_into().ok()?;
        IpAddr::V6(Ipv6Addr::from(bytes))
    } else {
        let bytes: [u8; 4] = take(rest, 4)?.try_into().ok()?;
        IpAddr::V4(Ipv4Addr::from(bytes))
    };
    let port: [u8; 2] = take(rest, 2)?.try_into().ok()?;
    Some(Hop {
        transport,
        remote: SocketAddr::new(ip, u16::from_be_bytes(port)),
        flow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hops() -> (Hop, Hop) {
        (
            Hop {
                transport: Transport::Udp,
                remote: "192.0.2.7:5062".parse().unwrap(),
                flow: None,
            },
            Hop {
                transport: Transport::Tls,
                remote: "[2001:db8::1]:41000".parse().unwrap(),
                flow: Some(u64::MAX - 3),
            },
        )
    }

    #[test]
    fn round_trip() {
        let tokens = FlowTokens::new();
        let (a, b) = hops();
        let t = tokens.encode(&a, &b);
        assert_eq!(tokens.decode(&t), Some((a, b)));
        assert!(t.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let tokens = FlowTokens::new();
        let (a, b) = hops();
        let t = tokens.encode(&a, &b);
        // Another server (another key) made it.
        assert_eq!(FlowTokens::new().decode(&t), None);
        // One byte of the body changed (e.g. the flow id).
        let mut raw = hex::decode(&t).unwrap();
        raw[3] ^= 1;
        assert_eq!(tokens.decode(&hex::encode(&raw)), None);
        // Garbage of every length, and non-hex.
        for n in 0..80 {
            assert_eq!(tokens.decode(&"a".repeat(n)), None);
        }
        assert_eq!(tokens.decode("zz"), None);
    }
}
