//! rustls configuration: the server side for TLS listeners and the client side for
//! outbound connections, always on the `ring` provider with an explicit suite list.
//!
//! Only TLS 1.3 and TLS 1.2 are offered, and in TLS 1.2 only ECDHE key exchange with
//! AEAD ciphers: a TLS 1.0/1.1 client, or one offering only CBC or static-RSA suites,
//! fails the handshake. Listeners named in [`PeerTlsSettings`] additionally require a
//! client certificate that chains to the peer CA bundle (mutual TLS between servers),
//! and outbound connections present our certificate when a server asks for one.
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio_rustls::TlsAcceptor;

use crate::config::{PeerTlsSettings, TlsSettings, TransportConfig};
use crate::error::TransportError;
use crate::listen_spec::ListenSpec;
use crate::transport::Transport;

/// TLS 1.2 and 1.3 only.
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ring provider restricted to AEAD suites with forward secrecy. The TLS 1.2
/// ECDHE-AES-GCM suites stay because PJSIP-based clients stop at TLS 1.2.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    use ring::cipher_suite::*;
    let mut provider = ring::default_provider();
    provider.cipher_suites = vec![
        TLS13_AES_256_GCM_SHA384,
        TLS13_AES_128_GCM_SHA256,
        TLS13_CHACHA20_POLY1305_SHA256,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(provider)
}

/// Reads every certificate in a PEM file, leaf first.
pub(crate) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let pem_error = |reason: String| TransportError::Pem {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(format!("cannot read certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(format!("bad certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(pem_error("no CERTIFICATE section found".into()));
    }
    Ok(certs)
}

/// Reads the first private key in a PEM file.
pub(crate) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TransportError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TransportError::Pem {
        path: path.to_owned(),
        reason: format!("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM expected): {e}"),
    })
}

/// The acceptors of the TLS listeners: one for ordinary listeners and, when peer TLS is
/// configured, one requiring a client certificate for the peer listeners.
pub(crate) struct ServerTls {
    public: Option<TlsAcceptor>,
    peer: Option<(TlsAcceptor, Vec<SocketAddr>)>,
}

impl ServerTls {
    /// Builds what the configured TLS listeners need (nothing when there are none).
    /// Errors: a TLS listener without certificate settings, unusable files, or a peer
    /// listener address that is not one of the TLS listeners.
    pub(crate) fn new(config: &TransportConfig) -> Result<ServerTls, TransportError> {
        let tls_listeners: Vec<&ListenSpec> = config
            .listen
            .iter()
            .filter(|s| s.transport == Transport::Tls)
            .collect();
        if let Some(peer) = &config.tls_peer
            && let Some(stray) = peer
                .listeners
                .iter()
                .find(|addr| !tls_listeners.iter().any(|s| s.addr == **addr))
        {
            return Err(TransportError::TlsConfig(format!(
                "peer TLS listener {stray} is not one of the TLS listeners (add tls:{stray} to listen)"
            )));
        }
        let Some(first_tls) = tls_listeners.first() else {
            return Ok(ServerTls {
                public: None,
                peer: None,
            });
        };
        let settings = config
            .tls
            .as_ref()
            .ok_or(TransportError::TlsNotConfigured(**first_tls))?;
        let public = TlsAcceptor::from(server_config(settings, None)?);
        let peer = match &config.tls_peer {
            Some(peer) if !peer.listeners.is_empty() => Some((
                TlsAcceptor::from(server_config(settings, Some(peer))?),
                peer.listeners.clone(),
            )),
            _ => None,
        };
        Ok(ServerTls {
            public: Some(public),
            peer,
        })
    }

    /// The acceptor for the listener `spec` (None unless it is TLS).
    pub(crate) fn acceptor_for(&self, spec: &ListenSpec) -> Option<TlsAcceptor> {
        if spec.transport != Transport::Tls {
            return None;
        }
        match &self.peer {
            Some((acceptor, addrs)) if addrs.contains(&spec.addr) => Some(acceptor.clone()),
            _ => self.public.clone(),
        }
    }
}

/// Server configuration for TLS listeners; with `peer`, clients must present a
/// certificate chaining to its CA bundle.
fn server_config(
    settings: &TlsSettings,
    peer: Option<&PeerTlsSettings>,
) -> Result<Arc<ServerConfig>, TransportError> {
    let certs = load_certs(&settings.cert_pem)?;
    let key = load_key(&settings.key_pem)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| TransportError::TlsConfig(e.to_string()))?;
    let builder = match peer {
        None => builder.with_no_client_auth(),
        Some(peer) => {
            let roots = trust_anchors([peer.ca_pem.as_path()])?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| {
                    TransportError::TlsConfig(format!(
                        "peer CA bundle {} is not usable: {e}",
                        peer.ca_pem.display()
                    ))
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| {
        TransportError::TlsConfig(format!(
            "{} and {} do not make a usable certificate and key: {e}",
            settings.cert_pem.display(),
            settings.key_pem.display()
        ))
    })?;
    Ok(Arc::new(config))
}

/// Every certificate of the PEM `files` as trust anchors.
fn trust_anchors<'a>(
    files: impl IntoIterator<Item = &'a Path>,
) -> Result<RootCertStore, TransportError> {
    let mut roots = RootCertStore::empty();
    for file in files {
        for cert in load_certs(file)? {
            roots.add(cert).map_err(|e| TransportError::Pem {
                path: file.to_owned(),
                reason: format!("certificate unusable as a trust anchor: {e}"),
            })?;
        }
    }
    Ok(roots)
}

/// Client configuration for outbound TLS. Trusts our own certificate (so that servers
/// sharing it, e.g. pool members with the self-signed one, accept each other), the CAs
/// of `tls_client_ca` and of the peer bundle; or anything at all when
/// `tls_client_insecure`. Presents our certificate to servers that ask for one (peers
/// requiring mutual TLS).
pub(crate) fn client_config(config: &TransportConfig) -> Result<Arc<ClientConfig>, TransportError> {
    let provider = provider();
    let own = config.tls.as_ref();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(VERSIONS)
        .map_err(|e| TransportError::TlsConfig(e.to_string()))?;
    let builder = if config.tls_client_insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert {
                algorithms: provider.signature_verification_algorithms,
            }))
    } else {
        let files = own
            .map(|s| s.cert_pem.as_path())
            .into_iter()
            .chain(config.tls_client_ca.as_deref())
            .chain(config.tls_peer.as_ref().map(|p| p.ca_pem.as_path()));
        builder.with_root_certificates(trust_anchors(files)?)
    };
    let config = match own {
        None => builder.with_no_client_auth(),
        Some(settings) => builder
            .with_client_auth_cert(
                load_certs(&settings.cert_pem)?,
                load_key(&settings.key_pem)?,
            )
            .map_err(|e| {
                TransportError::TlsConfig(format!(
                    "{} and {} do not make a usable client certificate: {e}",
                    settings.cert_pem.display(),
                    settings.key_pem.display()
                ))
            })?,
    };
    Ok(Arc::new(config))
}

/// Accepts any server certificate but still checks that the handshake was signed by the
/// key in it, so the connection is at least bound to that certificate.
#[derive(Debug)]
struct AcceptAnyServerCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::SupportedCipherSuite;

    /// The suites offered, by name: TLS 1.3's three, and in TLS 1.2 only ECDHE key
    /// exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (AEAD).
    #[test]
    fn only_forward_secret_aead_suites_are_offered() {
        let names: Vec<String> = provider()
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(
            names,
            [
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
        for suite in &provider().cipher_suites {
            let name = format!("{:?}", suite.suite());
            let aead = name.contains("_GCM_") || name.contains("_CHACHA20_POLY1305_");
            match suite {
                SupportedCipherSuite::Tls13(_) => assert!(aead, "{name}"),
                SupportedCipherSuite::Tls12(_) => {
                    assert!(aead && name.starts_with("TLS_ECDHE_"), "{name}")
                }
            }
        }
    }

    #[test]
    fn only_tls12_and_tls13_are_enabled() {
        let versions: Vec<_> = VERSIONS.iter().map(|v| v.version).collect();
        assert_eq!(
            versions,
            [
                rustls::ProtocolVersion::TLSv1_3,
                rustls::ProtocolVersion::TLSv1_2
            ]
        );
    }
}
