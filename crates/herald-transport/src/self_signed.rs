//! A self-signed server certificate, generated once and kept under the data directory,
//! so that TLS works out of the box and clients can pin one stable certificate.
use std::fs;
use std::io::Write;
use std::path::Path;

use rcgen::{CertificateParams, DnType, KeyPair};

use crate::config::TlsSettings;
use crate::error::TransportError;
use crate::tls;

/// TLS material for `domain`: reuses `dir/tls/cert.pem` and `dir/tls/key.pem` when both
/// exist (checking they parse), otherwise generates a self-signed certificate with
/// `domain`, "localhost", 127.0.0.1 and ::1 as subject alternative names and writes it
/// there, the key with mode 0600.
///
/// Only one of the two files existing is an error rather than a reason to overwrite:
/// it means someone replaced one half by hand.
pub fn ensure_self_signed(dir: &Path, domain: &str) -> Result<TlsSettings, TransportError> {
    let tls_dir = dir.join("tls");
    let settings = TlsSettings {
        cert_pem: tls_dir.join("cert.pem"),
        key_pem: tls_dir.join("key.pem"),
    };
    match (settings.cert_pem.exists(), settings.key_pem.exists()) {
        (true, true) => {
            tls::load_certs(&settings.cert_pem)?;
            tls::load_key(&settings.key_pem)?;
            return Ok(settings);
        }
        (false, false) => {}
        (true, false) | (false, true) => {
            return Err(TransportError::TlsConfig(format!(
                "only one of {} and {} exists; remove it to have a new certificate generated",
                settings.cert_pem.display(),
                settings.key_pem.display()
            )));
        }
    }

    let (cert_pem, key_pem) = generate(domain)?;
    fs::create_dir_all(&tls_dir).map_err(|source| TransportError::File {
        path: tls_dir.clone(),
        source,
    })?;
    // The key goes first: a crash in between leaves only the key, which the check above
    // reports instead of silently pairing a new certificate with an old key.
    write_new(&settings.key_pem, key_pem.as_bytes(), 0o600)?;
    write_new(&settings.cert_pem, cert_pem.as_bytes(), 0o644)?;
    tracing::info!(cert = %settings.cert_pem.display(), domain, "generated a self-signed TLS certificate");
    Ok(settings)
}

/// PEM certificate and key for `domain`.
fn generate(domain: &str) -> Result<(String, String), TransportError> {
    let failed = |e: rcgen::Error| TransportError::CertificateGeneration(e.to_string());
    let mut names = vec![domain.to_owned()];
    for extra in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(extra)) {
            names.push(extra.to_owned());
        }
    }
    let mut params = CertificateParams::new(names).map_err(|e| {
        TransportError::CertificateGeneration(format!("'{domain}' is not a usable name: {e}"))
    })?;
    params.distinguished_name.push(DnType::CommonName, domain);
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes a file that must not exist yet, with `mode` on Unix.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TransportError> {
    let file_error = |source| TransportError::File {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(file_error)?;
    file.write_all(contents).map_err(file_error)?;
    file.sync_all().map_err(file_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_self_signed(dir.path(), "sip.example.com").unwrap();
        let cert = fs::read(&first.cert_pem).unwrap();
        let key = fs::read(&first.key_pem).unwrap();
        assert!(cert.starts_with(b"-----BEGIN CERTIFICATE-----"));
        assert!(String::from_utf8_lossy(&key).contains("PRIVATE KEY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&first.key_pem).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = ensure_self_signed(dir.path(), "sip.example.com").unwrap();
        assert_eq!(second.cert_pem, first.cert_pem);
        assert_eq!(
            fs::read(&second.cert_pem).unwrap(),
            cert,
            "certificate reused"
        );
        assert_eq!(fs::read(&second.key_pem).unwrap(), key, "key reused");
    }

    #[test]
    fn a_lone_half_or_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let settings = ensure_self_signed(dir.path(), "example.org").unwrap();
        fs::remove_file(&settings.key_pem).unwrap();
        let err = ensure_self_signed(dir.path(), "example.org").unwrap_err();
        assert!(err.to_string().contains("only one of"), "{err}");
        fs::write(&settings.key_pem, "not a key").unwrap();
        let err = ensure_self_signed(dir.path(), "example.org").unwrap_err();
        assert!(err.to_string().contains("key.pem"), "{err}");
    }

    #[test]
    fn an_unusable_domain_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let err = ensure_self_signed(dir.path(), "bad\u{e9}domain").unwrap_err();
        assert!(err.to_string().contains("not a usable name"), "{err}");
        assert!(!dir.path().join("tls/key.pem").exists());
    }
}
