//! Settings of a running server (the binary fills them from herald.toml and flags).
use crate::overload::OverloadConfig;
use herald_auth::Algorithm;
use herald_conference::ConferenceConfig;
use herald_im::ImConfig;
use herald_presence::PresenceConfig;
use herald_registrar::{LockoutConfig, RegistrarConfig, UserLimitsConfig};
use herald_transport::TransportConfig;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Served domains; the first is primary and is the digest realm by default.
    pub domains: Vec<String>,
    /// Host names and addresses that mean the primary domain (e.g. the server's IPs).
    pub aliases: Vec<String>,
    pub transport: TransportConfig,
    pub registrar: RegistrarConfig,
    /// How long a digest nonce stays usable before the client is told `stale=true`.
    pub nonce_lifetime: Duration,
    /// Offered in this order in challenges.
    pub digest_algorithms: Vec<Algorithm>,
    /// Failed-password lockout per (digest username, source address).
    pub lockout: LockoutConfig,
    /// Per-user rates of REGISTER, SUBSCRIBE, PUBLISH and MESSAGE (503 above them).
    pub user_limits: UserLimitsConfig,
    /// Worker tasks that process requests; requests from one source stay in order.
    pub workers: usize,
    /// `Server` / `User-Agent` header value.
    pub product: String,
    /// Instant messaging: limits, offline delivery, archiving.
    pub im: ImConfig,
    /// Presence: notification pacing, expiry bounds, document limits.
    pub presence: PresenceConfig,
    /// Group IM conferences: size, who may join, idle timeout, queues.
    pub conference: ConferenceConfig,
    /// Host (name or address) to put in our Via and Record-Route instead of the
    /// listeners' addresses.
    pub advertise: Option<String>,
    /// When to refuse new work with 503 (queue delay, work in flight).
    pub overload: OverloadConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            domains: vec!["herald.test".into()],
            aliases: Vec::new(),
            transport: TransportConfig::default(),
            registrar: RegistrarConfig::default(),
            nonce_lifetime: Duration::from_secs(300),
            digest_algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            lockout: LockoutConfig::default(),
            user_limits: UserLimitsConfig::default(),
            workers: 64,
            product: concat!("Herald/", env!("CARGO_PKG_VERSION")).into(),
            im: ImConfig::default(),
            presence: PresenceConfig::default(),
            conference: ConferenceConfig::default(),
            advertise: None,
            overload: OverloadConfig::default(),
        }
    }
}
