//! `transport:address:port` strings naming a listener, as written in configuration.
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::transport::Transport;

/// One listener: a transport and the local address to bind, written as
/// `udp:127.0.0.1:5060`, `tcp:[::]:5060` or `tls:0.0.0.0:5061`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenSpec {
    /// Protocol served on this address.
    pub transport: Transport,
    /// Local address; port 0 asks the OS for a free port.
    pub addr: SocketAddr,
}

/// Why a listen string could not be understood; the message quotes the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid listen address '{input}': {reason}")]
pub struct ListenSpecError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for ListenSpec {
    type Err = ListenSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| ListenSpecError {
            input: s.to_owned(),
            reason,
        };
        let (name, addr) = s.trim().split_once(':').ok_or_else(|| {
            fail("expected transport:address:port, e.g. udp:0.0.0.0:5060 or tcp:[::]:5060".into())
        })?;
        let transport = name.parse::<Transport>().map_err(|e| fail(e.to_string()))?;
        let addr = addr.parse::<SocketAddr>().map_err(|_| {
            fail(format!(
                "'{addr}' is not an IP address with a port (write IPv6 as [::1]:5060)"
            ))
        })?;
        Ok(ListenSpec { transport, addr })
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.transport.as_str().to_ascii_lowercase(),
            self.addr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_ipv4_and_ipv6() {
        for text in ["udp:127.0.0.1:5060", "tcp:[::]:5060", "tls:0.0.0.0:5061"] {
            let spec: ListenSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        let spec: ListenSpec = "TCP:[::1]:0".parse().unwrap();
        assert_eq!(spec.transport, Transport::Tcp);
        assert_eq!(spec.addr, "[::1]:0".parse().unwrap());
    }

    #[test]
    fn errors_quote_the_input_and_say_what_is_wrong() {
        let err = "127.0.0.1:5060".parse::<ListenSpec>().unwrap_err();
        assert!(
            err.to_string().contains("unknown transport '127.0.0.1'"),
            "{err}"
        );
        let err = "sctp:0.0.0.0:5060".parse::<ListenSpec>().unwrap_err();
        assert!(err.to_string().contains("'sctp:0.0.0.0:5060'"), "{err}");
        let err = "udp:localhost:5060".parse::<ListenSpec>().unwrap_err();
        assert!(err.to_string().contains("not an IP address"), "{err}");
        let err = "udp:::1:5060".parse::<ListenSpec>().unwrap_err();
        assert!(err.to_string().contains("[::1]:5060"), "{err}");
        assert!("udp".parse::<ListenSpec>().is_err());
        assert!("tcp:0.0.0.0".parse::<ListenSpec>().is_err());
    }
}
