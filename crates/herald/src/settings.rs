//! `herald.toml` and its merge with command-line flags (flags win).
mod overload;

use crate::cli::ServeArgs;
use anyhow::{Context, Result, bail};
use herald_auth::Algorithm;
use herald_server::ServerConfig;
use herald_transport::{Cidr, FloodConfig, ListenSpec, TlsSettings, Transport};
use serde::Deserialize;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEMO_DOMAIN: &str = "herald.test";

/// Room left for headers when a MESSAGE body is as large as `im.max_body_bytes`.
const MIN_HEADER_ROOM: usize = 4096;

/// Accepted `auth.lockout_failures`.
const AUTH_LOCKOUT_FAILURES: RangeInclusive<u32> = 1..=1_000;
/// Accepted `auth.lockout_window_secs`: ten seconds to a day.
const AUTH_LOCKOUT_WINDOW_SECS: RangeInclusive<u64> = 10..=86_400;
/// Accepted `auth.lockout_secs` and `auth.lockout_max_secs`: a second to a day.
const AUTH_LOCKOUT_SECS: RangeInclusive<u64> = 1..=86_400;
/// Accepted `user_limits.*_burst`.
const USER_LIMIT_BURST: RangeInclusive<u32> = 1..=100_000;
/// Accepted `user_limits.*_per_minute`.
const USER_LIMIT_PER_MINUTE: RangeInclusive<u32> = 1..=1_000_000;

/// Accepted `conference.max_participants`.
const CONFERENCE_MAX_PARTICIPANTS: RangeInclusive<usize> = 1..=10_000;
/// Accepted `conference.idle_timeout_secs`: a minute to a week.
const CONFERENCE_IDLE_TIMEOUT_SECS: RangeInclusive<u64> = 60..=604_800;
/// Accepted `conference.stall_timeout_ms`: a tenth of a second to a minute.
const CONFERENCE_STALL_TIMEOUT_MS: RangeInclusive<u64> = 100..=60_000;
/// Accepted `conference.participant_queue`.
const CONFERENCE_PARTICIPANT_QUEUE: RangeInclusive<usize> = 8..=65_536;
/// Smallest `conference.max_body_bytes`; the largest is the transport's message size minus
/// [`MIN_HEADER_ROOM`].
const CONFERENCE_MIN_BODY_BYTES: usize = 1024;
/// Accepted `flood.requests_per_sec`.
const FLOOD_REQUESTS_PER_SEC: RangeInclusive<u64> = 1..=1_000_000;
/// Accepted `flood.burst`.
const FLOOD_BURST: RangeInclusive<u64> = 1..=10_000_000;
/// Accepted `flood.connections_per_sec`.
const FLOOD_CONNECTIONS_PER_SEC: RangeInclusive<u64> = 1..=100_000;
/// Accepted `flood.connection_burst`.
const FLOOD_CONNECTION_BURST: RangeInclusive<u64> = 1..=1_000_000;
/// Accepted `flood.ban_secs`: a second to a day.
const FLOOD_BAN_SECS: RangeInclusive<u64> = 1..=86_400;
/// Accepted `flood.max_tracked_ips` (about 100 bytes each).
const FLOOD_MAX_TRACKED_IPS: RangeInclusive<usize> = 1_024..=10_000_000;

/// The file format. Every field is optional; see README.md for an example.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub domains: Option<Vec<String>>,
    pub aliases: Option<Vec<String>>,
    pub listen: Option<Vec<String>>,
    pub log: Option<String>,
    /// `[store]`: how the database keeps what it commits.
    pub store: Option<StoreFile>,
    /// `[server]`: how the server stops.
    pub server: Option<ServerFile>,
    pub tls: Option<TlsFile>,
    pub registrar: Option<RegistrarFile>,
    pub auth: Option<AuthFile>,
    pub user_limits: Option<UserLimitsFile>,
    pub limits: Option<LimitsFile>,
    /// Host name or address to advertise in Via and Record-Route (behind NAT, or to
    /// give clients a DNS name).
    pub advertise: Option<String>,
    pub im: Option<ImFile>,
    pub archiving: Option<ArchivingFile>,
    pub presence: Option<PresenceFile>,
    pub conference: Option<ConferenceFile>,
    pub flood: Option<FloodFile>,
    pub overload: Option<overload::OverloadFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Mutual TLS between servers: the CA bundle (PEM) a peer's client certificate must
    /// chain to; also trusted for outbound TLS, where `cert` is presented when asked.
    pub peer_ca: Option<PathBuf>,
    /// TLS listeners ("0.0.0.0:5062") that require such a client certificate (needs
    /// `peer_ca`); each is added to `listen` as a TLS listener if not already there.
    pub peer_listen: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarFile {
    pub min_expires: Option<u32>,
    pub max_expires: Option<u32>,
    pub default_expires: Option<u32>,
    pub max_bindings_per_user: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    pub nonce_lifetime_secs: Option<u64>,
    /// e.g. ["SHA-256", "MD5"], offered in this order.
    pub algorithms: Option<Vec<String>>,
    /// Wrong digest answers from one address for one username, within
    /// `lockout_window_secs`, that lock that pair (1..=1000).
    pub lockout_failures: Option<u32>,
    /// How long failures count towards a lock (10..=86400).
    pub lockout_window_secs: Option<u64>,
    /// First lock; every attempt while locked doubles it (1..=86400).
    pub lockout_secs: Option<u64>,
    /// Longest lock (lockout_secs..=86400).
    pub lockout_max_secs: Option<u64>,
}

/// `[user_limits]`: per-user request rates, charged after authentication; above them the
/// request gets 503 with Retry-After. Each method has a burst and a refill per minute.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserLimitsFile {
    pub register_burst: Option<u32>,
    pub register_per_minute: Option<u32>,
    pub subscribe_burst: Option<u32>,
    pub subscribe_per_minute: Option<u32>,
    pub publish_burst: Option<u32>,
    pub publish_per_minute: Option<u32>,
    pub message_burst: Option<u32>,
    pub message_per_minute: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    pub max_message_size: Option<usize>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImFile {
    /// MESSAGE bodies above this get 413.
    pub max_body_bytes: Option<usize>,
    /// Messages kept per offline recipient.
    pub offline_queue_limit: Option<u32>,
    /// How long an undelivered offline message is kept.
    pub offline_expiry_secs: Option<u64>,
    /// How long a recipient's devices get to answer a MESSAGE (below 32 s).
    pub message_timeout_secs: Option<u64>,
    /// How long an IM invitation rings.
    pub invite_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivingFile {
    /// Archive every user's IM (per-user overrides: `herald user archiving`).
    pub enabled: Option<bool>,
    /// Refuse IM (480) when the archive cannot be written.
    pub critical: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceFile {
    /// At most one NOTIFY per subscription per this many milliseconds.
    pub notify_interval_ms: Option<u64>,
    /// Subscription expiry: default, minimum (below: 423), maximum (above: lowered).
    pub subscribe_default_expires: Option<u32>,
    pub subscribe_min_expires: Option<u32>,
    pub subscribe_max_expires: Option<u32>,
    /// Publication expiry, likewise.
    pub publish_default_expires: Option<u32>,
    pub publish_min_expires: Option<u32>,
    pub publish_max_expires: Option<u32>,
    /// PUBLISH bodies above this get 413.
    pub max_document_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceFile {
    /// Most participants in one conference (1..=10000).
    pub max_participants: Option<usize>,
    /// Users of our domains may join a conference they know the URI of without an invitation.
    pub open_to_domain: Option<bool>,
    /// A conference with no activity for this long ends (60..=604800).
    pub idle_timeout_secs: Option<u64>,
    /// Messages waiting for one participant before they are dropped (8..=65536).
    pub participant_queue: Option<usize>,
    /// A participant with a full queue is dropped only after leaving a request unanswered
    /// this long (100..=60000); before that the sender gets 503 (the server is behind).
    pub stall_timeout_ms: Option<u64>,
    /// Conference MESSAGE bodies above this get 413 (1024 up to the transport's message size
    /// minus room for the headers).
    pub max_body_bytes: Option<usize>,
}

/// `[store]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreFile {
    /// "full" (default): every commit is synced to disk before the server answers, so
    /// nothing acknowledged is lost even in a power cut; "normal": nothing acknowledged is
    /// lost when the server process dies (kill -9, crash), but a power cut may lose the
    /// last second or so; several times the write rate.
    pub synchronous: Option<String>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    /// On SIGTERM or Ctrl-C, how long the requests in progress get to finish before the
    /// connections close (0..=300). Default: the MESSAGE timeout plus 2 s.
    pub drain_timeout_secs: Option<u64>,
    /// Threads of the async runtime that carries every request (1..=1024). Default: one
    /// per core. Fewer threads than cores suit a host shared with other busy processes:
    /// each hand-off of work between runtime threads wakes a sleeping one, and on a
    /// virtual machine that wake-up costs more CPU than handling a REGISTER.
    pub threads: Option<usize>,
}

/// Accepted `server.threads`.
const RUNTIME_THREADS: RangeInclusive<usize> = 1..=1024;

/// The runtime's thread count from `[server] threads`, checked; `None`: one per core.
pub fn runtime_threads(file: &FileConfig) -> Result<Option<usize>> {
    file.server
        .as_ref()
        .and_then(|s| s.threads)
        .map(|n| within("server.threads", n, RUNTIME_THREADS))
        .transpose()
}

/// Accepted `server.drain_timeout_secs`: none to five minutes.
const DRAIN_TIMEOUT_SECS: RangeInclusive<u64> = 0..=300;
/// Beyond the MESSAGE timeout in the default drain: a MESSAGE no device answered in time
/// is then stored for later (202), a few store writes.
const DRAIN_BEYOND_MESSAGE_TIMEOUT: Duration = Duration::from_secs(2);

/// How the store syncs its commits, from `[store] synchronous`.
pub fn store_durability(file: &FileConfig) -> Result<herald_store::Durability> {
    match file.store.as_ref().and_then(|s| s.synchronous.as_deref()) {
        None => Ok(herald_store::Durability::default()),
        Some(text) => text
            .parse()
            .map_err(|e| anyhow::anyhow!("store.synchronous: {e}")),
    }
}

/// How long a graceful shutdown waits for requests in progress, from `[server]`; by
/// default long enough for a MESSAGE to end in its answer (`cfg.im.message_timeout`,
/// then the offline store).
pub fn drain_timeout(file: &FileConfig, cfg: &ServerConfig) -> Result<Duration> {
    match file.server.as_ref().and_then(|s| s.drain_timeout_secs) {
        Some(secs) => Ok(Duration::from_secs(within(
            "server.drain_timeout_secs",
            secs,
            DRAIN_TIMEOUT_SECS,
        )?)),
        None => Ok(cfg.im.message_timeout + DRAIN_BEYOND_MESSAGE_TIMEOUT),
    }
}

/// `[flood]`: per-source-address rate limits and bans (herald-transport's `FloodConfig`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloodFile {
    /// `false` turns the guard off.
    pub enabled: Option<bool>,
    /// Messages per second one address may send, sustained (1..=1000000).
    pub requests_per_sec: Option<u64>,
    /// Messages one address may send at once on top of that (1..=10000000).
    pub burst: Option<u64>,
    /// New TCP/TLS connections per second from one address (1..=100000).
    pub connections_per_sec: Option<u64>,
    /// New connections one address may open at once (1..=1000000).
    pub connection_burst: Option<u64>,
    /// How long a ban lasts, extended while the address keeps flooding (1..=86400).
    pub ban_secs: Option<u64>,
    /// Networks never limited or banned, as CIDR strings ("192.0.2.0/24", "2001:db8::/32",
    /// or a bare address).
    pub trusted: Option<Vec<String>>,
    /// Most source addresses tracked at once (1024..=10000000).
    pub max_tracked_ips: Option<usize>,
}

/// Reads the config file: `explicit` if given (must exist), else `DATA_DIR/herald.toml`
/// if present, else defaults.
pub fn load_file(explicit: Option<&Path>, data_dir: &Path) -> Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = data_dir.join("herald.toml");
            if !p.exists() {
                return Ok(FileConfig::default());
            }
            p
        }
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("in {}", path.display()))
}

/// The server settings: defaults, then the file, then flags.
pub fn server_config(file: &FileConfig, args: &ServeArgs, data_dir: &Path) -> Result<ServerConfig> {
    server_config_with(file, args, |domain| {
        herald_transport::ensure_self_signed(data_dir, domain)
            .context("making a self-signed TLS certificate")
    })
}

/// [`server_config`] with the self-signed certificate (needed when a TLS listener has no
/// certificate) made by `self_signed` for the primary domain: nothing else here touches
/// a file, so the fuzz target checks the settings alone.
pub fn server_config_with(
    file: &FileConfig,
    args: &ServeArgs,
    self_signed: impl FnOnce(&str) -> Result<TlsSettings>,
) -> Result<ServerConfig> {
    let mut cfg = ServerConfig::default();
    let domains = if !args.domains.is_empty() {
        args.domains.clone()
    } else {
        file.domains
            .clone()
            .unwrap_or_else(|| vec![DEMO_DOMAIN.to_owned()])
    };
    for d in &domains {
        if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '@' || c == ':') {
            bail!("invalid domain {d:?}: give a bare host name such as example.com");
        }
    }
    let Some(primary) = domains.first().map(|d| d.to_ascii_lowercase()) else {
        bail!("domains is empty: name at least one domain, such as [\"example.com\"]");
    };
    cfg.domains = domains.iter().map(|d| d.to_ascii_lowercase()).collect();
    cfg.aliases = file.aliases.clone().unwrap_or_default();

    let listen: Vec<String> = if !args.listen.is_empty() {
        args.listen.clone()
    } else {
        file.listen.clone().unwrap_or_else(|| {
            vec![
                "udp:0.0.0.0:5060".into(),
                "tcp:0.0.0.0:5060".into(),
                "tls:0.0.0.0:5061".into(),
            ]
        })
    };
    cfg.transport.listen = listen
        .iter()
        .map(|s| {
            s.parse::<ListenSpec>()
                .map_err(|e| anyhow::anyhow!("--listen {s}: {e}"))
        })
        .collect::<Result<_>>()?;
    if cfg.transport.listen.is_empty() {
        bail!("no listener configured");
    }

    if let Some(t) = &file.tls {
        apply_peer_tls(&mut cfg.transport, t)?;
    }
    let wants_tls = cfg
        .transport
        .listen
        .iter()
        .any(|l| l.transport == Transport::Tls);
    let tls = match (&args.tls_cert, &args.tls_key, &file.tls) {
        (Some(cert), Some(key), _) => Some(TlsSettings {
            cert_pem: cert.clone(),
            key_pem: key.clone(),
        }),
        (_, _, Some(t)) => Some(TlsSettings {
            cert_pem: t.cert.clone(),
            key_pem: t.key.clone(),
        }),
        _ if wants_tls => Some(self_signed(&primary)?),
        _ => None,
    };
    cfg.transport.tls = tls;

    if let Some(r) = &file.registrar {
        let reg = &mut cfg.registrar;
        reg.min_expires = r.min_expires.unwrap_or(reg.min_expires);
        reg.max_expires = r.max_expires.unwrap_or(reg.max_expires);
        reg.default_expires = r.default_expires.unwrap_or(reg.default_expires);
        reg.max_bindings_per_user = r.max_bindings_per_user.unwrap_or(reg.max_bindings_per_user);
        if reg.min_expires > reg.max_expires {
            bail!(
                "registrar.min_expires ({}) is above max_expires ({})",
                reg.min_expires,
                reg.max_expires
            );
        }
    }
    if let Some(a) = &file.auth {
        apply_lockout(&mut cfg.lockout, a)?;
        if let Some(secs) = a.nonce_lifetime_secs {
            cfg.nonce_lifetime = Duration::from_secs(secs.max(1));
        }
        if let Some(algs) = &a.algorithms {
            cfg.digest_algorithms = algs
                .iter()
                .map(|s| {
                    Algorithm::parse(s)
                        .ok_or_else(|| anyhow::anyhow!("unknown digest algorithm {s:?}"))
                })
                .collect::<Result<_>>()?;
            if cfg.digest_algorithms.is_empty() {
                bail!("auth.algorithms must name at least one algorithm");
            }
        }
    }
    if let Some(u) = &file.user_limits {
        apply_user_limits(&mut cfg.user_limits, u)?;
    }
    if let Some(l) = &file.limits {
        let t = &mut cfg.transport;
        t.max_message_size = l.max_message_size.unwrap_or(t.max_message_size);
        if let Some(s) = l.idle_timeout_secs {
            t.idle_timeout = Duration::from_secs(s);
        }
        t.max_connections = l.max_connections.unwrap_or(t.max_connections);
        t.max_connections_per_ip = l.max_connections_per_ip.unwrap_or(t.max_connections_per_ip);
    }
    if let Some(f) = &file.flood {
        apply_flood(&mut cfg.transport.flood, f)?;
    }
    if let Some(o) = &file.overload {
        overload::apply(&mut cfg.overload, o)?;
    }
    cfg.advertise = file.advertise.clone();
    if let Some(im) = &file.im {
        let c = &mut cfg.im;
        c.max_body_bytes = im.max_body_bytes.unwrap_or(c.max_body_bytes);
        c.offline_queue_limit = im.offline_queue_limit.unwrap_or(c.offline_queue_limit);
        if let Some(s) = im.offline_expiry_secs {
            c.offline_expiry = Duration::from_secs(s);
        }
        if let Some(s) = im.message_timeout_secs {
            if !(1..32).contains(&s) {
                bail!("im.message_timeout_secs must be 1..31 (below the sender's 32 s timeout)");
            }
            c.message_timeout = Duration::from_secs(s);
        }
        if let Some(s) = im.invite_timeout_secs {
            if s == 0 {
                bail!("im.invite_timeout_secs must be above 0");
            }
            c.invite_timeout = Duration::from_secs(s);
        }
    }
    let room = cfg
        .transport
        .max_message_size
        .saturating_sub(MIN_HEADER_ROOM);
    if cfg.im.max_body_bytes > room {
        bail!(
            "im.max_body_bytes ({}) must be at most limits.max_message_size ({}) minus {MIN_HEADER_ROOM} bytes for the headers",
            cfg.im.max_body_bytes,
            cfg.transport.max_message_size
        );
    }
    if let Some(a) = &file.archiving {
        cfg.im.archiving = a.enabled.unwrap_or(cfg.im.archiving);
        cfg.im.archiving_critical = a.critical.unwrap_or(cfg.im.archiving_critical);
    }
    if let Some(p) = &file.presence {
        apply_presence(&mut cfg.presence, p)?;
    }
    if cfg.presence.max_document_bytes > room {
        bail!(
            "presence.max_document_bytes ({}) must be at most limits.max_message_size ({}) minus {MIN_HEADER_ROOM} bytes for the headers",
            cfg.presence.max_document_bytes,
            cfg.transport.max_message_size
        );
    }
    if let Some(c) = &file.conference {
        apply_conference(&mut cfg, c)?;
    }
    let body = cfg.conference.max_body_bytes;
    if body < CONFERENCE_MIN_BODY_BYTES || body > room {
        bail!(
            "conference.max_body_bytes ({body}) must be at least {CONFERENCE_MIN_BODY_BYTES} and at most limits.max_message_size ({}) minus {MIN_HEADER_ROOM} bytes for the headers",
            cfg.transport.max_message_size
        );
    }
    Ok(cfg)
}

/// Fills `cfg.conference` from `[conference]`; the body size is checked by the caller
/// against the transport's message size.
fn apply_conference(cfg: &mut ServerConfig, file: &ConferenceFile) -> Result<()> {
    let c = &mut cfg.conference;
    if let Some(n) = file.max_participants {
        c.max_participants = within(
            "conference.max_participants",
            n,
            CONFERENCE_MAX_PARTICIPANTS,
        )?;
    }
    c.open_to_domain = file.open_to_domain.unwrap_or(c.open_to_domain);
    if let Some(secs) = file.idle_timeout_secs {
        let secs = within(
            "conference.idle_timeout_secs",
            secs,
            CONFERENCE_IDLE_TIMEOUT_SECS,
        )?;
        c.idle_timeout = Duration::from_secs(secs);
    }
    if let Some(n) = file.participant_queue {
        c.participant_queue = within(
            "conference.participant_queue",
            n,
            CONFERENCE_PARTICIPANT_QUEUE,
        )?;
    }
    if let Some(ms) = file.stall_timeout_ms {
        let ms = within(
            "conference.stall_timeout_ms",
            ms,
            CONFERENCE_STALL_TIMEOUT_MS,
        )?;
        c.stall_timeout = Duration::from_millis(ms);
    }
    c.max_body_bytes = file.max_body_bytes.unwrap_or(c.max_body_bytes);
    Ok(())
}

/// Mutual TLS from `peer_ca` and `peer_listen` of `[tls]`: the peer listeners become TLS
/// listeners (if `listen` lacks them) that require a client certificate from the CA.
fn apply_peer_tls(t: &mut herald_transport::TransportConfig, file: &TlsFile) -> Result<()> {
    let listen = file.peer_listen.as_deref().unwrap_or_default();
    let Some(ca_pem) = &file.peer_ca else {
        if !listen.is_empty() {
            bail!("tls.peer_listen needs tls.peer_ca (the CA that signs the peers' certificates)");
        }
        return Ok(());
    };
    let mut listeners = Vec::with_capacity(listen.len());
    for text in listen {
        let addr: std::net::SocketAddr = text.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "tls.peer_listen: '{text}' is not an IP address with a port (e.g. 0.0.0.0:5062)"
            )
        })?;
        let spec = ListenSpec {
            transport: Transport::Tls,
            addr,
        };
        if !t.listen.contains(&spec) {
            t.listen.push(spec);
        }
        listeners.push(addr);
    }
    t.tls_peer = Some(herald_transport::PeerTlsSettings {
        ca_pem: ca_pem.clone(),
        listeners,
    });
    Ok(())
}

/// Fills the failed-password lockout from the `lockout_*` keys of `[auth]`.
fn apply_lockout(c: &mut herald_registrar::LockoutConfig, a: &AuthFile) -> Result<()> {
    if let Some(n) = a.lockout_failures {
        c.max_failures = within("auth.lockout_failures", n, AUTH_LOCKOUT_FAILURES)?;
    }
    if let Some(secs) = a.lockout_window_secs {
        let secs = within("auth.lockout_window_secs", secs, AUTH_LOCKOUT_WINDOW_SECS)?;
        c.window = Duration::from_secs(secs);
    }
    if let Some(secs) = a.lockout_secs {
        c.first_lock = Duration::from_secs(within("auth.lockout_secs", secs, AUTH_LOCKOUT_SECS)?);
    }
    if let Some(secs) = a.lockout_max_secs {
        let secs = within("auth.lockout_max_secs", secs, AUTH_LOCKOUT_SECS)?;
        c.max_lock = Duration::from_secs(secs);
    }
    if c.max_lock < c.first_lock {
        bail!(
            "auth.lockout_max_secs ({}) is below auth.lockout_secs ({})",
            c.max_lock.as_secs(),
            c.first_lock.as_secs()
        );
    }
    Ok(())
}

/// Fills the per-user rates from `[user_limits]`.
fn apply_user_limits(c: &mut herald_registrar::UserLimitsConfig, u: &UserLimitsFile) -> Result<()> {
    let (register, subscribe) = (&mut c.register, &mut c.subscribe);
    apply_rate(
        "register",
        register,
        u.register_burst,
        u.register_per_minute,
    )?;
    apply_rate(
        "subscribe",
        subscribe,
        u.subscribe_burst,
        u.subscribe_per_minute,
    )?;
    apply_rate(
        "publish",
        &mut c.publish,
        u.publish_burst,
        u.publish_per_minute,
    )?;
    apply_rate(
        "message",
        &mut c.message,
        u.message_burst,
        u.message_per_minute,
    )
}

/// One method's `<method>_burst` and `<method>_per_minute`.
fn apply_rate(
    method: &str,
    limit: &mut herald_registrar::RateLimit,
    burst: Option<u32>,
    per_minute: Option<u32>,
) -> Result<()> {
    if let Some(n) = burst {
        limit.burst = within(&format!("user_limits.{method}_burst"), n, USER_LIMIT_BURST)?;
    }
    if let Some(n) = per_minute {
        let name = format!("user_limits.{method}_per_minute");
        limit.per_minute = within(&name, n, USER_LIMIT_PER_MINUTE)?;
    }
    Ok(())
}

/// Fills the transport's flood guard settings from `[flood]`, each value range-checked.
fn apply_flood(c: &mut FloodConfig, file: &FloodFile) -> Result<()> {
    let limit = |name: &str, value: Option<u64>, range: RangeInclusive<u64>, current: u32| {
        value.map_or(Ok(current), |v| {
            let v = within(name, v, range)?;
            u32::try_from(v).with_context(|| format!("{name} ({v}) is too large"))
        })
    };
    c.enabled = file.enabled.unwrap_or(c.enabled);
    c.requests_per_sec = limit(
        "flood.requests_per_sec",
        file.requests_per_sec,
        FLOOD_REQUESTS_PER_SEC,
        c.requests_per_sec,
    )?;
    c.burst = limit("flood.burst", file.burst, FLOOD_BURST, c.burst)?;
    c.connections_per_sec = limit(
        "flood.connections_per_sec",
        file.connections_per_sec,
        FLOOD_CONNECTIONS_PER_SEC,
        c.connections_per_sec,
    )?;
    c.connection_burst = limit(
        "flood.connection_burst",
        file.connection_burst,
        FLOOD_CONNECTION_BURST,
        c.connection_burst,
    )?;
    if let Some(secs) = file.ban_secs {
        c.ban = Duration::from_secs(within("flood.ban_secs", secs, FLOOD_BAN_SECS)?);
    }
    if let Some(n) = file.max_tracked_ips {
        c.max_tracked_ips = within("flood.max_tracked_ips", n, FLOOD_MAX_TRACKED_IPS)?;
    }
    if let Some(networks) = &file.trusted {
        c.trusted = networks
            .iter()
            .map(|n| {
                n.parse::<Cidr>()
                    .map_err(|e| anyhow::anyhow!("flood.trusted: {e}"))
            })
            .collect::<Result<_>>()?;
    }
    Ok(())
}

/// `value` if `range` holds it, else an error naming the setting and the range.
fn within<T: PartialOrd + Display>(name: &str, value: T, range: RangeInclusive<T>) -> Result<T> {
    if !range.contains(&value) {
        bail!(
            "{name} must be {}..={} (it is {value})",
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

fn apply_presence(c: &mut herald_presence::PresenceConfig, p: &PresenceFile) -> Result<()> {
    if let Some(ms) = p.notify_interval_ms {
        if !(10..=60_000).contains(&ms) {
            bail!("presence.notify_interval_ms must be 10..60000");
        }
        c.notify_interval = Duration::from_millis(ms);
    }
    let s = &mut c.subscribe_expires;
    s.default = p.subscribe_default_expires.unwrap_or(s.default);
    s.min = p.subscribe_min_expires.unwrap_or(s.min);
    s.max = p.subscribe_max_expires.unwrap_or(s.max);
    if !s.is_valid() {
        bail!("presence: subscribe expiry needs 0 < min <= default <= max");
    }
    let s = &mut c.publish_expires;
    s.default = p.publish_default_expires.unwrap_or(s.default);
    s.min = p.publish_min_expires.unwrap_or(s.min);
    s.max = p.publish_max_expires.unwrap_or(s.max);
    if !s.is_valid() {
        bail!("presence: publish expiry needs 0 < min <= default <= max");
    }
    c.max_document_bytes = p.max_document_bytes.unwrap_or(c.max_document_bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_server_sections_are_read_and_checked() {
        let args = ServeArgs {
            listen: vec!["udp:127.0.0.1:0".into()],
            ..ServeArgs::default()
        };
        let dir = std::env::temp_dir();
        let parse = |text: &str| toml::from_str::<FileConfig>(text).unwrap();

        let none = parse("");
        let cfg = server_config(&none, &args, &dir).unwrap();
        assert_eq!(
            store_durability(&none).unwrap(),
            herald_store::Durability::Full
        );
        assert_eq!(
            drain_timeout(&none, &cfg).unwrap(),
            cfg.im.message_timeout + Duration::from_secs(2)
        );

        let set = parse("[store]\nsynchronous = \"NORMAL\"\n[server]\ndrain_timeout_secs = 0\n");
        assert_eq!(
            store_durability(&set).unwrap(),
            herald_store::Durability::Normal
        );
        assert_eq!(drain_timeout(&set, &cfg).unwrap(), Duration::ZERO);

        let bad = parse("[store]\nsynchronous = \"off\"\n[server]\ndrain_timeout_secs = 301\n");
        let err = store_durability(&bad).unwrap_err().to_string();
        assert!(
            err.contains("store.synchronous") && err.contains("\"off\""),
            "{err}"
        );
        let err = drain_timeout(&bad, &cfg).unwrap_err().to_string();
        assert!(err.contains("server.drain_timeout_secs"), "{err}");
        assert!(toml::from_str::<FileConfig>("[store]\nsync = \"full\"\n").is_err());
        assert!(toml::from_str::<FileConfig>("[server]\ndrain_timeout_secs = -1\n").is_err());
    }

    #[test]
    fn runtime_threads_checked() {
        let parse = |text: &str| toml::from_str::<FileConfig>(text).unwrap();
        assert_eq!(runtime_threads(&parse("")).unwrap(), None);
        assert_eq!(
            runtime_threads(&parse("[server]\nthreads = 3\n")).unwrap(),
            Some(3)
        );
        let err = runtime_threads(&parse("[server]\nthreads = 0\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.threads must be 1..=1024"), "{err}");
        assert!(toml::from_str::<FileConfig>("[server]\nthreads = -2\n").is_err());
    }

    #[test]
    fn flags_override_file() {
        let file: FileConfig = toml::from_str(
            "domains = [\"example.com\"]\nlisten = [\"udp:127.0.0.1:5999\"]\n[registrar]\nmin_expires = 120\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            domains: vec!["Other.Example".into()],
            ..Default::default()
        };
        let cfg = server_config(&file, &args, dir.path()).unwrap();
        assert_eq!(cfg.domains, vec!["other.example"]);
        assert_eq!(cfg.transport.listen.len(), 1);
        assert_eq!(cfg.registrar.min_expires, 120);
        assert!(cfg.transport.tls.is_none());
    }

    /// The example in README.md is a real, complete configuration.
    #[test]
    fn the_readme_example_is_valid() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("```toml\n").expect("a toml block in README.md") + 8;
        let len = readme[start..].find("```").expect("the block ends");
        let file: FileConfig = toml::from_str(&readme[start..start + len]).unwrap();
        let im = file.im.as_ref().expect("[im] documented");
        assert_eq!(im.offline_queue_limit, Some(500));
        let dir = tempfile::tempdir().unwrap();
        // The example names certificate files that do not exist here; leave TLS out.
        let file = FileConfig { tls: None, ..file };
        let args = ServeArgs {
            listen: vec!["udp:127.0.0.1:0".into()],
            ..Default::default()
        };
        let cfg = server_config(&file, &args, dir.path()).unwrap();
        assert_eq!(cfg.im.offline_expiry, Duration::from_secs(604_800));
        assert!(!cfg.im.archiving);
        assert_eq!(cfg.advertise.as_deref(), Some("sip.example.com"));
        assert_eq!(cfg.presence.notify_interval, Duration::from_secs(1));
        assert_eq!(cfg.presence.subscribe_expires.max, 43200);
        assert_eq!(cfg.presence.publish_expires.min, 60);
    }

    #[test]
    fn presence_bounds_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            listen: vec!["udp:127.0.0.1:0".into()],
            ..Default::default()
        };
        for bad in [
            "[presence]\nnotify_interval_ms = 0\n",
            "[presence]\nsubscribe_min_expires = 7200\n",
            "[presence]\npublish_max_expires = 10\n",
            "[presence]\nmax_document_bytes = 100000\n",
        ] {
            let file: FileConfig = toml::from_str(bad).unwrap();
            let err = server_config(&file, &args, dir.path()).unwrap_err();
            assert!(err.to_string().contains("presence"), "{bad}: {err}");
        }
        let file: FileConfig =
            toml::from_str("[presence]\nnotify_interval_ms = 250\nsubscribe_min_expires = 30\n")
                .unwrap();
        let cfg = server_config(&file, &args, dir.path()).unwrap();
        assert_eq!(cfg.presence.notify_interval, Duration::from_millis(250));
        assert_eq!(cfg.presence.subscribe_expires.min, 30);
    }

    fn conference_config(toml_text: &str) -> Result<herald_server::ServerConfig> {
        let file: FileConfig = toml::from_str(toml_text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            listen: vec!["udp:127.0.0.1:0".into()],
            ..Default::default()
        };
        server_config(&file, &args, dir.path())
    }

    #[test]
    fn conference_defaults_apply_without_the_section() {
        let cfg = conference_config("").unwrap();
        let c = &cfg.conference;
        assert_eq!(c.max_participants, 250);
        assert!(c.open_to_domain);
        assert_eq!(c.idle_timeout, Duration::from_secs(3600));
        assert_eq!(c.participant_queue, 256);
        assert_eq!(c.max_body_bytes, 32_768);
    }

    #[test]
    fn conference_settings_are_filled_in_up_to_their_bounds() {
        let cfg = conference_config(
            "[conference]\nmax_participants = 10000\nopen_to_domain = false\n\
             idle_timeout_secs = 60\nparticipant_queue = 65536\nmax_body_bytes = 1024\n\
             stall_timeout_ms = 250\n",
        )
        .unwrap();
        let c = &cfg.conference;
        assert_eq!(c.max_participants, 10_000);
        assert!(!c.open_to_domain);
        assert_eq!(c.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.participant_queue, 65_536);
        assert_eq!(c.max_body_bytes, 1024);
        assert_eq!(c.stall_timeout, Duration::from_millis(250));
        let cfg = conference_config(
            "[conference]\nmax_participants = 1\nidle_timeout_secs = 604800\n\
             participant_queue = 8\n",
        )
        .unwrap();
        assert_eq!(cfg.conference.max_participants, 1);
        assert_eq!(cfg.conference.idle_timeout, Duration::from_secs(604_800));
        assert_eq!(cfg.conference.participant_queue, 8);
        assert!(cfg.conference.open_to_domain, "unset keeps the default");
        // The body may use everything but the header room of the largest message.
        let cfg = conference_config(
            "[limits]\nmax_message_size = 100000\n[conference]\nmax_body_bytes = 95904\n",
        )
        .unwrap();
        assert_eq!(cfg.conference.max_body_bytes, 100_000 - MIN_HEADER_ROOM);
    }

    #[test]
    fn conference_values_out_of_range_are_refused_by_name() {
        for (bad, says) in [
            (
                "max_participants = 0",
                "conference.max_participants must be 1..=10000 (it is 0)",
            ),
            (
                "max_participants = 10001",
                "conference.max_participants must be 1..=10000",
            ),
            (
                "idle_timeout_secs = 59",
                "conference.idle_timeout_secs must be 60..=604800",
            ),
            (
                "idle_timeout_secs = 604801",
                "conference.idle_timeout_secs must be 60..=604800",
            ),
            (
                "participant_queue = 7",
                "conference.participant_queue must be 8..=65536",
            ),
            (
                "participant_queue = 65537",
                "conference.participant_queue must be 8..=65536",
            ),
            (
                "max_body_bytes = 1023",
                "conference.max_body_bytes (1023) must be at least 1024",
            ),
        ] {
            let err = conference_config(&format!("[conference]\n{bad}\n")).unwrap_err();
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
        let err = conference_config(
            "[limits]\nmax_message_size = 100000\n[conference]\nmax_body_bytes = 95905\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("limits.max_message_size (100000) minus 4096"),
            "{err}"
        );
        // The default body size must fit a small transport limit too.
        let err =
            conference_config("[limits]\nmax_message_size = 30000\n[im]\nmax_body_bytes = 1024\n")
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("conference.max_body_bytes (32768)"),
            "{err}"
        );
        assert!(toml::from_str::<FileConfig>("[conference]\nmax_rooms = 3\n").is_err());
        assert!(toml::from_str::<FileConfig>("[conference]\nmax_participants = -1\n").is_err());
    }

    fn auth_config(toml_text: &str) -> Result<herald_server::ServerConfig> {
        let file: FileConfig = toml::from_str(toml_text)?;
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            listen: vec!["udp:127.0.0.1:0".into()],
            ..Default::default()
        };
        server_config(&file, &args, dir.path())
    }

    #[test]
    fn lockout_and_user_limits_have_defaults_and_take_settings() {
        let cfg = auth_config("").unwrap();
        assert_eq!(cfg.lockout, herald_registrar::LockoutConfig::default());
        assert_eq!(cfg.lockout.max_failures, 5);
        assert_eq!(cfg.lockout.first_lock, Duration::from_secs(30));
        assert_eq!(cfg.lockout.max_lock, Duration::from_secs(900));
        assert_eq!(cfg.user_limits.subscribe.burst, 1000);

        let cfg = auth_config(
            "[auth]\nlockout_failures = 3\nlockout_window_secs = 60\nlockout_secs = 10\n\
             lockout_max_secs = 3600\n[user_limits]\nmessage_burst = 20\n\
             message_per_minute = 120\nsubscribe_burst = 5000\nregister_per_minute = 6\n",
        )
        .unwrap();
        assert_eq!(cfg.lockout.max_failures, 3);
        assert_eq!(cfg.lockout.window, Duration::from_secs(60));
        assert_eq!(cfg.lockout.first_lock, Duration::from_secs(10));
        assert_eq!(cfg.lockout.max_lock, Duration::from_secs(3600));
        let limits = &cfg.user_limits;
        assert_eq!((limits.message.burst, limits.message.per_minute), (20, 120));
        assert_eq!(limits.subscribe.burst, 5000);
        assert_eq!(limits.register.per_minute, 6);
        assert_eq!(limits.register.burst, 60, "unset keeps the default");
        assert_eq!(
            limits.publish,
            herald_registrar::UserLimitsConfig::default().publish
        );
    }

    #[test]
    fn peer_tls_listeners_are_added_and_require_the_peer_ca() {
        let tls = "[tls]\ncert = \"/etc/herald/cert.pem\"\nkey = \"/etc/herald/key.pem\"\n";
        let cfg = auth_config(&format!(
            "{tls}peer_ca = \"/etc/herald/pool-ca.pem\"\npeer_listen = [\"127.0.0.1:5062\"]\n"
        ))
        .unwrap();
        let peer = cfg.transport.tls_peer.as_ref().unwrap();
        assert_eq!(peer.ca_pem, Path::new("/etc/herald/pool-ca.pem"));
        assert_eq!(peer.listeners, vec!["127.0.0.1:5062".parse().unwrap()]);
        assert_eq!(
            cfg.transport
                .listen
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["udp:127.0.0.1:0", "tls:127.0.0.1:5062"]
        );
        assert!(cfg.transport.tls.is_some());
        // A CA alone: trusted outbound, no listener requires certificates.
        let cfg = auth_config(&format!("{tls}peer_ca = \"/etc/herald/pool-ca.pem\"\n")).unwrap();
        assert!(
            cfg.transport
                .tls_peer
                .as_ref()
                .unwrap()
                .listeners
                .is_empty()
        );
        assert_eq!(cfg.transport.listen.len(), 1);
        // Without peer settings there is no peer TLS.
        assert!(auth_config(tls).unwrap().transport.tls_peer.is_none());

        let err = auth_config(&format!("{tls}peer_listen = [\"127.0.0.1:5062\"]\n")).unwrap_err();
        assert!(
            err.to_string()
                .contains("tls.peer_listen needs tls.peer_ca"),
            "{err}"
        );
        let err = auth_config(&format!(
            "{tls}peer_ca = \"ca.pem\"\npeer_listen = [\"localhost:5062\"]\n"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("tls.peer_listen: 'localhost:5062' is not an IP address"),
            "{err}"
        );
    }

    #[test]
    fn lockout_and_user_limit_values_out_of_range_are_refused_by_name() {
        for (bad, says) in [
            (
                "[auth]\nlockout_failures = 0",
                "auth.lockout_failures must be 1..=1000 (it is 0)",
            ),
            (
                "[auth]\nlockout_window_secs = 5",
                "auth.lockout_window_secs must be 10..=86400",
            ),
            (
                "[auth]\nlockout_secs = 0",
                "auth.lockout_secs must be 1..=86400",
            ),
            (
                "[auth]\nlockout_max_secs = 86401",
                "auth.lockout_max_secs must be 1..=86400",
            ),
            (
                "[auth]\nlockout_secs = 600\nlockout_max_secs = 60",
                "auth.lockout_max_secs (60) is below auth.lockout_secs (600)",
            ),
            (
                "[user_limits]\nsubscribe_burst = 0",
                "user_limits.subscribe_burst must be 1..=100000",
            ),
            (
                "[user_limits]\nmessage_per_minute = 1000001",
                "user_limits.message_per_minute must be 1..=1000000",
            ),
        ] {
            let err = auth_config(bad).unwrap_err();
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
        assert!(auth_config("[user_limits]\ninvite_burst = 3\n").is_err());
        assert!(auth_config("[user_limits]\nmessage_burst = -1\n").is_err());
    }

    fn flood_config(toml_text: &str) -> Result<herald_transport::FloodConfig> {
        let file: FileConfig = toml::from_str(toml_text)?;
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            listen: vec!["udp:127.0.0.1:0".into()],
            ..Default::default()
        };
        Ok(server_config(&file, &args, dir.path())?.transport.flood)
    }

    #[test]
    fn flood_settings_are_filled_in() {
        assert_eq!(flood_config("").unwrap(), FloodConfig::default());
        let c = flood_config(
            "[flood]\nrequests_per_sec = 50\nburst = 120\nconnections_per_sec = 3\n\
             connection_burst = 9\nban_secs = 300\nmax_tracked_ips = 2048\n\
             trusted = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"]\n",
        )
        .unwrap();
        assert!(c.enabled);
        assert_eq!(
            (
                c.requests_per_sec,
                c.burst,
                c.connections_per_sec,
                c.connection_burst
            ),
            (50, 120, 3, 9)
        );
        assert_eq!(c.ban, Duration::from_secs(300));
        assert_eq!(c.max_tracked_ips, 2048);
        let trusted: Vec<String> = c.trusted.iter().map(|n| n.to_string()).collect();
        assert_eq!(trusted, ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]);
        assert!(!flood_config("[flood]\nenabled = false\n").unwrap().enabled);
    }

    #[test]
    fn flood_values_out_of_range_are_refused_by_name() {
        for (bad, says) in [
            (
                "requests_per_sec = 0",
                "flood.requests_per_sec must be 1..=1000000",
            ),
            ("requests_per_sec = 1000001", "flood.requests_per_sec"),
            ("burst = 0", "flood.burst must be 1..=10000000"),
            ("connections_per_sec = 0", "flood.connections_per_sec"),
            ("connection_burst = 0", "flood.connection_burst"),
            ("ban_secs = 0", "flood.ban_secs must be 1..=86400"),
            ("ban_secs = 86401", "flood.ban_secs"),
            (
                "max_tracked_ips = 100",
                "flood.max_tracked_ips must be 1024..=10000000",
            ),
            (
                "trusted = [\"10.0.0.0/33\"]",
                "flood.trusted: invalid network \"10.0.0.0/33\"",
            ),
            ("trusted = [\"office\"]", "not an IPv4 or IPv6 address"),
        ] {
            let err = flood_config(&format!("[flood]\n{bad}\n")).unwrap_err();
            assert!(format!("{err:#}").contains(says), "{bad}: {err:#}");
        }
        assert!(toml::from_str::<FileConfig>("[flood]\nrate = 3\n").is_err());
        assert!(toml::from_str::<FileConfig>("[flood]\nburst = -1\n").is_err());
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(toml::from_str::<FileConfig>("bogus = 1").is_err());
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            listen: vec!["sctp:1.2.3.4:5".into()],
            ..Default::default()
        };
        let err = server_config(&FileConfig::default(), &args, dir.path()).unwrap_err();
        assert!(err.to_string().contains("sctp:1.2.3.4:5"), "{err}");
        let args = ServeArgs {
            domains: vec!["a b".into()],
            ..Default::default()
        };
        assert!(server_config(&FileConfig::default(), &args, dir.path()).is_err());
    }

    /// Found while writing the parse_settings fuzz target: `domains = []` with a TLS
    /// listener indexed the empty list for the certificate's name and panicked.
    #[test]
    fn an_empty_domain_list_is_refused() {
        let file: FileConfig = toml::from_str("domains = []\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = server_config(&file, &ServeArgs::default(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("domains is empty"), "{err}");
        assert!(!dir.path().join("tls").exists(), "no certificate made");
    }
}
