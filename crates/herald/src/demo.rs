//! Demo mode: on first start without a configured domain, users `alice` and `bob` of
//! `herald.test` are created with random passwords, printed once.
use anyhow::Result;
use herald_server::ServerConfig;
use herald_store::SharedStore;
use herald_transport::{ListenSpec, Transport};
use rand::Rng;
use std::path::Path;

pub struct DemoUser {
    pub aor: String,
    pub password: String,
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Creates the demo users if the directory is empty. Returns those created.
pub async fn create_demo_users(store: &SharedStore, cfg: &ServerConfig) -> Result<Vec<DemoUser>> {
    if store.user_count().await? > 0 {
        return Ok(Vec::new());
    }
    let domain = &cfg.domains[0];
    let mut created = Vec::new();
    for (name, display) in [("alice", "Alice Liddell"), ("bob", "Bob Builder")] {
        let password = random_password();
        let aor = format!("{name}@{domain}");
        store
            .add_user(crate::users::new_user(
                &aor,
                &password,
                Some(display.to_owned()),
            )?)
            .await?;
        created.push(DemoUser { aor, password });
    }
    Ok(created)
}

pub fn print_banner(
    cfg: &ServerConfig,
    addrs: &[ListenSpec],
    created: &[DemoUser],
    data_dir: &Path,
) {
    let domain = &cfg.domains[0];
    println!(
        "Herald is serving the SIP domain {domain} (data in {}).",
        data_dir.display()
    );
    for a in addrs {
        println!("  listening: {a}");
    }
    if !created.is_empty() {
        println!("\nDemo users created (passwords are shown only this once):");
        for u in created {
            println!("  sip:{}  password: {}", u.aor, u.password);
        }
    }
    if created.is_empty() {
        return;
    }
    let port = addrs
        .iter()
        .find(|a| a.transport == Transport::Udp)
        .map(|a| a.addr.port())
        .unwrap_or(5060);
    println!(
        "\nTo connect a SIP client: account sip:alice@{domain}, user name alice, the password above,\n\
         registrar/proxy <this host>:{port} (UDP or TCP; TLS on the tls port, self-signed certificate in {}).\n\
         Manage users: herald --data-dir {} user add bob2@{domain} --password SECRET",
        data_dir.join("tls").display(),
        data_dir.display()
    );
}
