//! Any text as herald.toml: `toml` into `FileConfig`, then `server_config_with` (the
//! settings check without the self-signed certificate file) must give Ok or an error,
//! never panic, and an accepted configuration keeps the promises the server relies on:
//! at least one lower-case domain, a listener, a certificate for every TLS listener
//! (made for the primary domain when none is configured), and every size, expiry and
//! timeout within the bounds the checks name.
#![no_main]
use herald::cli::ServeArgs;
use herald::settings::{FileConfig, server_config_with};
use herald_transport::{TlsSettings, Transport};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// Room `settings.rs` keeps for the headers of a message whose body is as large as allowed.
const HEADER_ROOM: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = toml::from_str::<FileConfig>(text) else {
        return;
    };
    let mut certificate_for = None;
    let Ok(cfg) = server_config_with(&file, &ServeArgs::default(), |domain| {
        certificate_for = Some(domain.to_owned());
        Ok(TlsSettings {
            cert_pem: "cert.pem".into(),
            key_pem: "key.pem".into(),
        })
    }) else {
        return;
    };

    let primary = cfg
        .domains
        .first()
        .expect("an accepted configuration has a domain");
    for domain in &cfg.domains {
        assert!(!domain.is_empty());
        assert_eq!(domain, &domain.to_ascii_lowercase());
        assert!(!domain.contains(|c: char| c.is_whitespace() || c == '@' || c == ':'));
    }
    assert!(!cfg.transport.listen.is_empty());
    let wants_tls = cfg
        .transport
        .listen
        .iter()
        .any(|l| l.transport == Transport::Tls);
    if wants_tls {
        assert!(
            cfg.transport.tls.is_some(),
            "a TLS listener without a certificate"
        );
    }
    if let Some(domain) = certificate_for {
        assert!(wants_tls && file.tls.is_none());
        assert_eq!(&domain, primary, "the certificate names the primary domain");
    }

    assert!(cfg.registrar.min_expires <= cfg.registrar.max_expires);
    assert!(!cfg.digest_algorithms.is_empty());
    assert!(cfg.nonce_lifetime >= Duration::from_secs(1));
    let room = cfg.transport.max_message_size.saturating_sub(HEADER_ROOM);
    assert!(cfg.im.max_body_bytes <= room);
    assert!((Duration::from_secs(1)..Duration::from_secs(32)).contains(&cfg.im.message_timeout));
    assert!(cfg.im.invite_timeout > Duration::ZERO);
    assert!(cfg.presence.max_document_bytes <= room);
    assert!(cfg.presence.subscribe_expires.is_valid());
    assert!(cfg.presence.publish_expires.is_valid());
    assert!(
        (Duration::from_millis(10)..=Duration::from_secs(60))
            .contains(&cfg.presence.notify_interval)
    );
    let c = &cfg.conference;
    assert!((1024..=room).contains(&c.max_body_bytes));
    assert!((1..=10_000).contains(&c.max_participants));
    assert!((8..=65_536).contains(&c.participant_queue));
    assert!((Duration::from_secs(60)..=Duration::from_secs(604_800)).contains(&c.idle_timeout));
    assert!((Duration::from_millis(100)..=Duration::from_secs(60)).contains(&c.stall_timeout));
});
