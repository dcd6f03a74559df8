//! The transport protocols a SIP message can travel over, named as in a Via header.
use std::fmt;
use std::str::FromStr;

/// A SIP transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Datagrams (RFC 3261 §18): unreliable, one message per datagram.
    Udp,
    /// A TCP byte stream, framed by Content-Length.
    Tcp,
    /// TCP with TLS (RFC 3261 §26.2, `sips:`).
    Tls,
    /// SIP over WebSocket (RFC 7118). No listener yet.
    Ws,
    /// SIP over secure WebSocket (RFC 7118). No listener yet.
    Wss,
}

impl Transport {
    /// The token used in a Via header's sent-protocol: "UDP", "TCP", "TLS", "WS", "WSS".
    pub fn as_str(&self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Whether the transport delivers reliably, in order (everything but UDP). Decides
    /// retransmission timers in the transaction layer (RFC 3261 §17).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The port used when a URI or Via names none: 5060 for UDP/TCP, 5061 for TLS
    /// (RFC 3261 §19.1.2), 80/443 for WS/WSS (RFC 7118 §5 uses the HTTP ports).
    pub fn default_port(&self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a transport name that is none of UDP, TCP, TLS, WS, WSS.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport '{0}' (expected one of udp, tcp, tls, ws, wss)")]
pub struct UnknownTransport(pub String);

impl FromStr for Transport {
    type Err = UnknownTransport;

    /// Case-insensitive, since Via tokens and URI `transport=` parameters are.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const ALL: [Transport; 5] = [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Ws,
            Transport::Wss,
        ];
        ALL.into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for t in [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Ws,
            Transport::Wss,
        ] {
            assert_eq!(t.as_str().parse::<Transport>(), Ok(t));
            assert_eq!(t.as_str().to_lowercase().parse::<Transport>(), Ok(t));
        }
        assert_eq!(
            "sctp".parse::<Transport>(),
            Err(UnknownTransport("sctp".into()))
        );
    }

    #[test]
    fn reliability_and_ports() {
        assert!(!Transport::Udp.is_reliable());
        assert!(Transport::Tcp.is_reliable());
        assert!(Transport::Tls.is_reliable());
        assert_eq!(Transport::Tcp.default_port(), 5060);
        assert_eq!(Transport::Tls.default_port(), 5061);
        assert_eq!(Transport::Wss.default_port(), 443);
    }
}
