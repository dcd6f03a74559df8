//! TLS: self-signed certificates, TLS 1.3 and forced TLS 1.2 clients, outbound TLS.
mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use herald_transport::{
    Target, TlsSettings, Transport, TransportConfig, TransportError, ensure_self_signed, start,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

fn trusting(cert_pem: &std::path::Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

fn tls_config(settings: &TlsSettings) -> TransportConfig {
    TransportConfig {
        tls: Some(settings.clone()),
        ..config(&["tls:127.0.0.1:0"])
    }
}

async fn connect(
    client: ClientConfig,
    addr: std::net::SocketAddr,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
}

async fn exchange(
    stream: &mut TlsStream<TcpStream>,
    events: &mut tokio::sync::mpsc::Receiver<herald_transport::Event>,
    handle: &herald_transport::TransportHandle,
) {
    let request = sip_request("tls", "secret");
    stream.write_all(&request).await.unwrap();
    let (source, data) = next_message(events).await;
    assert_eq!(&data[..], &request[..]);
    assert_eq!(source.transport, Transport::Tls);
    let flow = source.flow.unwrap();

    // Keep-alives work inside TLS too.
    stream.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, stream.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");

    let reply = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    handle
        .send(Target::Flow(flow), Bytes::from_static(reply))
        .await
        .unwrap();
    let mut got = vec![0u8; reply.len()];
    tokio::time::timeout(WAIT, stream.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[..], reply);

    stream.shutdown().await.unwrap();
    assert_eq!(next_closed(events).await.0, flow);
}

#[tokio::test]
async fn tls13_handshake_with_the_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let (handle, mut events) = start(tls_config(&settings)).await.unwrap();
    let server = addr_of(&handle, Transport::Tls);

    let client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(trusting(&settings.cert_pem))
            .with_no_client_auth();
    for name in ["sip.example.test", "localhost", "127.0.0.1"] {
        let mut stream = connect(client.clone(), server, name).await.unwrap();
        assert_eq!(
            stream.get_ref().1.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        exchange(&mut stream, &mut events, &handle).await;
    }
    // A name the certificate does not carry is refused by the client.
    assert!(connect(client, server, "other.example.test").await.is_err());
    handle.shutdown().await;
}

#[tokio::test]
async fn tls12_client_with_ecdhe_aes_gcm_works() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let (handle, mut events) = start(tls_config(&settings)).await.unwrap();
    let server = addr_of(&handle, Transport::Tls);

    for suite in [
        rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ] {
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites = vec![suite];
        let client = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(trusting(&settings.cert_pem))
            .with_no_client_auth();
        let mut stream = connect(client, server, "localhost").await.unwrap();
        let session = stream.get_ref().1;
        assert_eq!(
            session.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
        assert_eq!(
            session.negotiated_cipher_suite().map(|s| s.suite()),
            Some(suite.suite())
        );
        exchange(&mut stream, &mut events, &handle).await;
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let config = TransportConfig {
        tls_handshake_timeout: std::time::Duration::from_millis(200),
        ..tls_config(&settings)
    };
    let (handle, _events) = start(config).await.unwrap();
    let mut silent = TcpStream::connect(addr_of(&handle, Transport::Tls))
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, silent.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    assert_eq!(handle.stats().tls_handshake_failures, 1);
    handle.shutdown().await;
}

#[tokio::test]
async fn tls_over_ipv6_with_the_self_signed_certificate() {
    if !ipv6_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let config = TransportConfig {
        tls: Some(settings.clone()),
        ..config(&["tls:[::1]:0"])
    };
    let (server, mut events) = start(config).await.unwrap();
    let (client, _e) = start(TransportConfig {
        tls: Some(settings),
        ..Default::default()
    })
    .await
    .unwrap();
    let target = Target::Addr {
        transport: Transport::Tls,
        addr: addr_of(&server, Transport::Tls),
    };
    let request = sip_request("v6tls", "");
    client
        .send(target, Bytes::from(request.clone()))
        .await
        .unwrap();
    let (source, data) = next_message(&mut events).await;
    assert_eq!(&data[..], &request[..]);
    assert!(source.remote.is_ipv6());
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn failed_handshakes_are_counted_and_no_flow_appears() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let (handle, mut events) = start(tls_config(&settings)).await.unwrap();
    let mut plain = TcpStream::connect(addr_of(&handle, Transport::Tls))
        .await
        .unwrap();
    plain.write_all(&sip_request("plain", "")).await.unwrap();
    let mut buf = [0u8; 64];
    // The server answers garbage with an alert or a close, never a SIP event.
    let _ = tokio::time::timeout(WAIT, plain.read(&mut buf))
        .await
        .unwrap();
    assert_no_event(&mut events, std::time::Duration::from_millis(100)).await;
    assert_eq!(handle.stats().tls_handshake_failures, 1);
    assert_eq!(handle.connection_count(), 0);
    handle.shutdown().await;
}

#[tokio::test]
async fn outbound_tls_trusts_our_own_certificate_or_anything_when_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let (server, mut server_events) = start(tls_config(&settings)).await.unwrap();
    let target = Target::Addr {
        transport: Transport::Tls,
        addr: addr_of(&server, Transport::Tls),
    };

    // A pool member with the same certificate trusts it.
    let (peer, _peer_events) = start(TransportConfig {
        tls: Some(settings.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let request = sip_request("out-tls", "hi");
    let flow = peer
        .send(target, Bytes::from(request.clone()))
        .await
        .unwrap()
        .unwrap();
    let (source, data) = next_message(&mut server_events).await;
    assert_eq!(&data[..], &request[..]);
    assert_eq!(source.transport, Transport::Tls);
    assert!(peer.flow_alive(flow));

    // Without anything to trust, the handshake fails...
    let (stranger, _e) = start(TransportConfig::default()).await.unwrap();
    let err = stranger
        .send(target, Bytes::from(request.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::ConnectFailed { .. }), "{err}");
    assert_eq!(stranger.connection_count(), 0);

    // ...unless told to be insecure.
    let (lab, _e) = start(TransportConfig {
        tls_client_insecure: true,
        ..Default::default()
    })
    .await
    .unwrap();
    lab.send(target, Bytes::from(request.clone()))
        .await
        .unwrap();
    let (_, data) = next_message(&mut server_events).await;
    assert_eq!(&data[..], &request[..]);

    // A CA bundle given explicitly is trusted too.
    let (with_ca, _e) = start(TransportConfig {
        tls_client_ca: Some(settings.cert_pem.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    with_ca
        .send(target, Bytes::from(request.clone()))
        .await
        .unwrap();
    let (_, data) = next_message(&mut server_events).await;
    assert_eq!(&data[..], &request[..]);

    for handle in [peer, stranger, lab, with_ca, server] {
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn tls_configuration_errors_are_clear() {
    let err = start(config(&["tls:127.0.0.1:0"])).await.unwrap_err();
    assert!(matches!(err, TransportError::TlsNotConfigured(_)), "{err}");
    assert!(err.to_string().contains("tls:127.0.0.1:0"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = TlsSettings {
        cert_pem: dir.path().join("nope.pem"),
        key_pem: dir.path().join("nope.key"),
    };
    let err = start(tls_config(&missing)).await.unwrap_err();
    assert!(err.to_string().contains("nope.pem"), "{err}");

    // A key that does not match the certificate.
    let a = ensure_self_signed(&dir.path().join("a"), "a.test").unwrap();
    let b = ensure_self_signed(&dir.path().join("b"), "b.test").unwrap();
    let mismatched = TlsSettings {
        cert_pem: a.cert_pem,
        key_pem: b.key_pem,
    };
    let err = start(tls_config(&mismatched)).await.unwrap_err();
    assert!(matches!(err, TransportError::TlsConfig(_)), "{err}");
}
