//! IP networks written in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`), for the flood
//! guard's trusted networks.
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network: an address and a prefix length. The address is kept with
/// its host bits cleared, so `192.0.2.7/24` and `192.0.2.0/24` are the same network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a string is not a network in CIDR notation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid network {text:?}: {reason} (expected an address with an optional /prefix, e.g. 192.0.2.0/24 or 2001:db8::/32)"
)]
pub struct CidrError {
    text: String,
    reason: &'static str,
}

impl Cidr {
    /// The network of `addr` with `prefix` leading bits, or `None` when `prefix` is
    /// longer than the address (32 for IPv4, 128 for IPv6). An IPv4-mapped IPv6
    /// address (`::ffff:192.0.2.1`) is taken as the IPv4 address it maps, with the
    /// prefix counted within the IPv6 address, so that it matches what
    /// [`Cidr::contains`] compares it with.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
                _ => (addr, prefix),
            },
            IpAddr::V4(_) => (addr, prefix),
        };
        if prefix > max_prefix(addr) {
            return None;
        }
        Some(Cidr {
            network: masked(addr, prefix),
            prefix,
        })
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses (what a
    /// dual-stack socket reports for an IPv4 peer) count as their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && masked(ip, self.prefix) == self.network
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with all but its first `prefix` bits cleared (`prefix` at most the length).
fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ADDRESS/PREFIX`, or a bare address for the single host (`/32` or `/128`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = |reason| CidrError {
            text: s.to_owned(),
            reason,
        };
        let (addr_text, prefix_text) = match s.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| error("not an IPv4 or IPv6 address"))?;
        let prefix = match prefix_text {
            None => max_prefix(addr),
            // u8's parser takes a leading '+', which no one writes in a prefix.
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .map_err(|_| error("the prefix length is too long"))?,
            Some(_) => return Err(error("the prefix length is not a number")),
        };
        Cidr::new(addr, prefix).ok_or_else(|| error("the prefix length is too long"))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_networks_contain_their_hosts_only() {
        let net: Cidr = "192.0.2.77/24".parse().unwrap();
        assert_eq!(net.to_string(), "192.0.2.0/24");
        assert!(net.contains(ip("192.0.2.0")));
        assert!(net.contains(ip("192.0.2.255")));
        assert!(!net.contains(ip("192.0.3.1")));
        assert!(!net.contains(ip("2001:db8::1")));
        // What a dual-stack socket reports for an IPv4 peer.
        assert!(net.contains(ip("::ffff:192.0.2.9")));

        let host: Cidr = "127.0.0.3".parse().unwrap();
        assert_eq!(host.prefix(), 32);
        assert!(host.contains(ip("127.0.0.3")));
        assert!(!host.contains(ip("127.0.0.2")));

        let everything: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.5")));
        assert!(!everything.contains(ip("::1")));
    }

    #[test]
    fn ipv6_networks_contain_their_hosts_only() {
        let net: Cidr = "2001:db8:1::/48".parse().unwrap();
        assert!(net.contains(ip("2001:db8:1:ffff::1")));
        assert!(!net.contains(ip("2001:db8:2::1")));
        assert!(!net.contains(ip("192.0.2.1")));
        let host: Cidr = "::1".parse().unwrap();
        assert_eq!(host.to_string(), "::1/128");
        assert!(host.contains(ip("::1")));
        assert!(!host.contains(ip("::2")));
        let all: Cidr = "::/0".parse().unwrap();
        assert!(all.contains(ip("2001:db8::5")));
    }

    #[test]
    fn mapped_networks_are_their_ipv4_networks() {
        let mapped: Cidr = "::ffff:10.1.0.0/112".parse().unwrap();
        assert_eq!(mapped.to_string(), "10.1.0.0/16");
        assert!(mapped.contains(ip("10.1.200.3")));
    }

    #[test]
    fn bad_networks_are_refused_with_the_reason() {
        for (text, reason) in [
            ("", "not an IPv4 or IPv6 address"),
            ("example.com/24", "not an IPv4 or IPv6 address"),
            ("192.0.2.0/33", "too long"),
            ("2001:db8::/129", "too long"),
            ("192.0.2.0/", "not a number"),
            ("192.0.2.0/+8", "not a number"),
            ("192.0.2.0/-1", "not a number"),
            ("192.0.2.0/999", "too long"),
            ("192.0.2.0/24/8", "not a number"),
        ] {
            let err = text.parse::<Cidr>().unwrap_err().to_string();
            assert!(err.contains(reason), "{text:?}: {err}");
            assert!(err.contains(&format!("{text:?}")), "{err}");
        }
    }
}
