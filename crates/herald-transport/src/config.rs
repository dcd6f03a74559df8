//! Transport configuration and its defaults.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::flood_config::FloodConfig;
use crate::listen_spec::ListenSpec;

/// Certificate chain and private key, as PEM files.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// Certificate chain, leaf first.
    pub cert_pem: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: PathBuf,
}

/// Mutual TLS for server-to-server traffic (pool members, trusted peers).
#[derive(Clone, Debug)]
pub struct PeerTlsSettings {
    /// CA certificates (PEM bundle) a peer's client certificate must chain to. Also
    /// trusted for outbound TLS.
    pub ca_pem: PathBuf,
    /// TLS listeners, by their address as configured in [`TransportConfig::listen`], that
    /// refuse any client without such a certificate at the handshake.
    pub listeners: Vec<SocketAddr>,
}

/// Everything [`crate::start`] needs. Build it with `..Default::default()` so that
/// fields added later keep existing code compiling.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Listeners to bind, in order; [`crate::TransportHandle::local_addrs`] keeps it.
    pub listen: Vec<ListenSpec>,
    /// Server certificate; required if any listener is TLS.
    pub tls: Option<TlsSettings>,
    /// Largest message accepted. A bigger stream message closes the connection; a
    /// bigger datagram is dropped. Default 65535.
    pub max_message_size: usize,
    /// A connection with no bytes in either direction for this long is closed.
    /// Default 600 s.
    pub idle_timeout: Duration,
    /// Open TCP/TLS connections (inbound and outbound, handshakes included).
    /// Default 200 000.
    pub max_connections: usize,
    /// Inbound connections from one IP address (addresses in `flood.trusted` are
    /// exempt). Default 1000.
    pub max_connections_per_ip: usize,
    /// Capacity of the event channel returned by [`crate::start`], shared evenly by the
    /// queues of [`crate::start_sharded`] (each at least [`crate::MIN_SHARD_QUEUE`]).
    /// Default 65536.
    pub event_queue: usize,
    /// Messages queued for writing on one connection before sends fail with
    /// [`crate::TransportError::QueueFull`] (after waiting up to 2 s). Default 4096.
    pub connection_write_queue: usize,
    /// A message that has started arriving on a stream must complete within this time,
    /// or the connection is closed (slowloris defence). Default 30 s.
    pub partial_message_timeout: Duration,
    /// Time allowed for a TLS handshake, inbound or outbound. Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// Time allowed for an outbound TCP connect. Default 10 s.
    pub connect_timeout: Duration,
    /// Outbound TLS: when `true`, any server certificate is accepted (the handshake
    /// signatures are still checked, so only an active attacker can intercept).
    /// For lab setups only. Default `false`: the peer must present a certificate
    /// signed by (or equal to) our own certificate from [`TransportConfig::tls`] or
    /// one in [`TransportConfig::tls_client_ca`]; public web roots are not built in.
    pub tls_client_insecure: bool,
    /// Outbound TLS: extra trusted CA certificates (PEM bundle).
    pub tls_client_ca: Option<PathBuf>,
    /// Mutual TLS: listeners that require a client certificate. Outbound TLS always
    /// presents [`TransportConfig::tls`] when a server asks for a certificate.
    pub tls_peer: Option<PeerTlsSettings>,
    /// Per-source-address rate limits, bans and trusted networks.
    pub flood: FloodConfig,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            listen: Vec::new(),
            tls: None,
            max_message_size: 65_535,
            idle_timeout: Duration::from_secs(600),
            max_connections: 200_000,
            max_connections_per_ip: 1_000,
            event_queue: 65_536,
            connection_write_queue: 4_096,
            partial_message_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            tls_client_insecure: false,
            tls_client_ca: None,
            tls_peer: None,
            flood: FloodConfig::default(),
        }
    }
}
