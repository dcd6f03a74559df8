//! `herald.toml` and its merge with command-line flags (flags win).
use crate::cli::ServeArgs;
use anyhow::{Context, Result, bail};
use herald_auth::Algorithm;
use herald_server::ServerConfig;
use herald_transport::{ListenSpec, TlsSettings, Transport};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEMO_DOMAIN: &str = "herald.test";

/// Room left for headers when a MESSAGE body is as large as `im.max_body_bytes`.
const MIN_HEADER_ROOM: usize = 4096;

/// The file format. Every field is optional; see README.md for an example.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub domains: Option<Vec<String>>,
    pub aliases: Option<Vec<String>>,
    pub listen: Option<Vec<String>>,
    pub log: Option<String>,
    pub tls: Option<TlsFile>,
    pub registrar: Option<RegistrarFile>,
    pub auth: Option<AuthFile>,
    pub limits: Option<LimitsFile>,
    /// Host name or address to advertise in Via and Record-Route (behind NAT, or to
    /// give clients a DNS name).
    pub advertise: Option<String>,
    pub im: Option<ImFile>,
    pub archiving: Option<ArchivingFile>,
    pub presence: Option<PresenceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub cert: PathBuf,
    pub key: PathBuf,
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
        _ if wants_tls => Some(
            herald_transport::ensure_self_signed(data_dir, &cfg.domains[0])
                .context("making a self-signed TLS certificate")?,
        ),
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
    if let Some(l) = &file.limits {
        let t = &mut cfg.transport;
        t.max_message_size = l.max_message_size.unwrap_or(t.max_message_size);
        if let Some(s) = l.idle_timeout_secs {
            t.idle_timeout = Duration::from_secs(s);
        }
        t.max_connections = l.max_connections.unwrap_or(t.max_connections);
        t.max_connections_per_ip = l.max_connections_per_ip.unwrap_or(t.max_connections_per_ip);
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
    Ok(cfg)
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
}
