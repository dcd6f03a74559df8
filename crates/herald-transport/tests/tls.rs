//! TLS: self-signed certificates, TLS 1.3 and forced TLS 1.2 clients, outbound TLS, the
//! refusal of TLS 1.0/1.1 and of weak TLS 1.2 suites, and mutual TLS for peer listeners.
mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use herald_transport::{
    PeerTlsSettings, Target, TlsSettings, Transport, TransportConfig, TransportError,
    ensure_self_signed, start,
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

// --- What the server refuses at the handshake: old versions, weak suites ---

/// A hand-made TLS ClientHello record: `version` in the record and the hello, the given
/// cipher suites, and the extensions a TLS 1.2 ECDHE handshake needs (rustls cannot be
/// made to send TLS 1.0/1.1 or CBC suites, which is the point of this test).
fn client_hello(version: u16, suites: &[u16]) -> Vec<u8> {
    fn with_len16(body: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }
    fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = kind.to_be_bytes().to_vec();
        out.extend(with_len16(body));
        out
    }
    let groups: Vec<u8> = [0x001d_u16, 0x0017, 0x0018]
        .iter()
        .flat_map(|g| g.to_be_bytes())
        .collect();
    let schemes: Vec<u8> = [0x0403_u16, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501]
        .iter()
        .flat_map(|s| s.to_be_bytes())
        .collect();
    let mut extensions = extension(0x000a, &with_len16(&groups)); // supported_groups
    extensions.extend(extension(0x000b, &[1, 0])); // ec_point_formats: uncompressed
    extensions.extend(extension(0x000d, &with_len16(&schemes))); // signature_algorithms
    extensions.extend(extension(0xff01, &[0])); // renegotiation_info (empty)

    let mut hello = version.to_be_bytes().to_vec();
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // no session id
    let suite_bytes: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
    hello.extend(with_len16(&suite_bytes));
    hello.extend_from_slice(&[1, 0]); // compression: null only
    hello.extend(with_len16(&extensions));

    let mut handshake = vec![1]; // client_hello
    handshake.extend_from_slice(&u32::try_from(hello.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16]; // handshake
    // The record layer says TLS 1.0 whatever the hello offers, as real clients do.
    record.extend_from_slice(&0x0301_u16.to_be_bytes());
    record.extend(with_len16(&handshake));
    record
}

/// What the server first answered to a raw ClientHello.
#[derive(Debug, PartialEq, Eq)]
enum FirstAnswer {
    /// A fatal alert with this description (40 handshake_failure, 70 protocol_version).
    Alert(u8),
    /// A ServerHello choosing this version and cipher suite.
    ServerHello { version: u16, suite: u16 },
    /// The connection closed without a word.
    Closed,
}

async fn first_answer(server: std::net::SocketAddr, hello: &[u8]) -> FirstAnswer {
    let mut tcp = TcpStream::connect(server).await.unwrap();
    tcp.write_all(hello).await.unwrap();
    let mut header = [0u8; 5];
    match tokio::time::timeout(WAIT, tcp.read_exact(&mut header))
        .await
        .unwrap()
    {
        Ok(_) => {}
        Err(_) => return FirstAnswer::Closed,
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = vec![0u8; len];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut body))
        .await
        .unwrap()
        .unwrap();
    match header[0] {
        0x15 => {
            assert_eq!(body[0], 2, "a fatal alert: {body:?}");
            FirstAnswer::Alert(body[1])
        }
        0x16 => {
            assert_eq!(body[0], 2, "a ServerHello: {body:?}");
            // type(1) len(3) version(2) random(32) session_id(1 + n) suite(2)
            let version = u16::from_be_bytes([body[4], body[5]]);
            let sid_len = usize::from(body[38]);
            let at = 39 + sid_len;
            let suite = u16::from_be_bytes([body[at], body[at + 1]]);
            FirstAnswer::ServerHello { version, suite }
        }
        other => panic!("unexpected record type {other}: {body:?}"),
    }
}

/// Waits (a bounded time) until the server has counted `expected` failed handshakes:
/// it counts them in the connection's task, a moment after the client saw the alert.
async fn wait_for_failures(handle: &herald_transport::TransportHandle, expected: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while handle.stats().tls_handshake_failures < expected && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(handle.stats().tls_handshake_failures, expected);
}

const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
/// Every CBC suite with ECDHE, DHE or RSA key exchange, SHA-1 and SHA-2 MACs.
const CBC_SUITES: &[u16] = &[
    0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028, 0x0033, 0x0039, 0x0067, 0x006b,
    0x002f, 0x0035, 0x003c, 0x003d, 0x000a,
];
/// AEAD and stream suites without forward secrecy (static RSA key exchange), and RC4.
const NON_PFS_SUITES: &[u16] = &[0x009c, 0x009d, 0xc09c, 0xc09d, 0x0005, 0x0004];

#[tokio::test]
async fn tls10_and_tls11_clients_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let (handle, mut events) = start(tls_config(&settings)).await.unwrap();
    let server = addr_of(&handle, Transport::Tls);

    for (name, version) in [("TLS 1.0", 0x0301), ("TLS 1.1", 0x0302)] {
        let mut suites = vec![ECDHE_ECDSA_AES128_GCM];
        suites.extend_from_slice(CBC_SUITES);
        let answer = first_answer(server, &client_hello(version, &suites)).await;
        assert_eq!(answer, FirstAnswer::Alert(70), "{name}: protocol_version");
    }
    assert_no_event(&mut events, std::time::Duration::from_millis(100)).await;
    wait_for_failures(&handle, 2).await;

    // The control: the same hand-made hello as TLS 1.2 with a modern suite is accepted,
    // so the refusals are about the version, not a malformed hello.
    let modern = client_hello(0x0303, &[ECDHE_ECDSA_AES128_GCM]);
    assert_eq!(
        first_answer(server, &modern).await,
        FirstAnswer::ServerHello {
            version: 0x0303,
            suite: ECDHE_ECDSA_AES128_GCM
        }
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn tls12_clients_offering_only_cbc_or_non_forward_secret_suites_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ensure_self_signed(dir.path(), "sip.example.test").unwrap();
    let (handle, mut events) = start(tls_config(&settings)).await.unwrap();
    let server = addr_of(&handle, Transport::Tls);

    for (name, suites) in [
        ("CBC only", CBC_SUITES),
        ("no forward secrecy", NON_PFS_SUITES),
    ] {
        let answer = first_answer(server, &client_hello(0x0303, suites)).await;
        assert_eq!(answer, FirstAnswer::Alert(40), "{name}: handshake_failure");
    }
    // Each suite alone, too: none of them is ever chosen.
    for &suite in CBC_SUITES.iter().chain(NON_PFS_SUITES) {
        let answer = first_answer(server, &client_hello(0x0303, &[suite])).await;
        assert_eq!(answer, FirstAnswer::Alert(40), "suite {suite:#06x}");
    }
    // With a modern suite among weak ones, the modern one is chosen.
    let mut mixed = CBC_SUITES.to_vec();
    mixed.extend_from_slice(NON_PFS_SUITES);
    mixed.push(ECDHE_ECDSA_AES128_GCM);
    assert_eq!(
        first_answer(server, &client_hello(0x0303, &mixed)).await,
        FirstAnswer::ServerHello {
            version: 0x0303,
            suite: ECDHE_ECDSA_AES128_GCM
        }
    );
    assert_no_event(&mut events, std::time::Duration::from_millis(100)).await;
    handle.shutdown().await;
}

// --- Mutual TLS for server-to-server traffic ---

/// A private CA, a server certificate and a peer certificate it signed, and a stranger's
/// self-signed certificate, written as PEM files.
struct Pki {
    ca_pem: std::path::PathBuf,
    server: TlsSettings,
    peer: TlsSettings,
    stranger: TlsSettings,
}

fn write_pair(dir: &std::path::Path, name: &str, cert: &str, key: &str) -> TlsSettings {
    let settings = TlsSettings {
        cert_pem: dir.join(format!("{name}.pem")),
        key_pem: dir.join(format!("{name}.key")),
    };
    std::fs::write(&settings.cert_pem, cert).unwrap();
    std::fs::write(&settings.key_pem, key).unwrap();
    settings
}

fn pki(dir: &std::path::Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let names = || {
        vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "127.0.0.2".to_owned(),
        ]
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Herald pool CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca_pem = dir.join("pool-ca.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let signed = |name: &str| {
        let mut params = CertificateParams::new(names()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        write_pair(dir, name, &cert.pem(), &key.serialize_pem())
    };
    let server = signed("server");
    let peer = signed("peer");

    let stranger_key = KeyPair::generate().unwrap();
    let stranger_cert = CertificateParams::new(names())
        .unwrap()
        .self_signed(&stranger_key)
        .unwrap();
    let stranger = write_pair(
        dir,
        "stranger",
        &stranger_cert.pem(),
        &stranger_key.serialize_pem(),
    );
    Pki {
        ca_pem,
        server,
        peer,
        stranger,
    }
}

/// A server with an ordinary TLS listener on 127.0.0.1 and a peer listener (client
/// certificate required) on 127.0.0.2.
async fn server_with_peer_listener(
    pki: &Pki,
) -> (
    herald_transport::TransportHandle,
    tokio::sync::mpsc::Receiver<herald_transport::Event>,
    std::net::SocketAddr,
    std::net::SocketAddr,
) {
    let peer_spec = spec("tls:127.0.0.2:0");
    let config = TransportConfig {
        tls: Some(pki.server.clone()),
        tls_peer: Some(PeerTlsSettings {
            ca_pem: pki.ca_pem.clone(),
            listeners: vec![peer_spec.addr],
        }),
        ..config(&["tls:127.0.0.1:0", "tls:127.0.0.2:0"])
    };
    let (handle, events) = start(config).await.unwrap();
    let addrs = handle.local_addrs();
    let public = addrs[0].addr;
    let peer = addrs[1].addr;
    assert_eq!(peer.ip(), peer_spec.addr.ip());
    (handle, events, public, peer)
}

fn client_with(pki: &Pki, client_cert: Option<&TlsSettings>, tls12_only: bool) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider);
    let builder = if tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .unwrap()
    .with_root_certificates(trusting(&pki.ca_pem));
    match client_cert {
        None => builder.with_no_client_auth(),
        Some(s) => {
            let certs = CertificateDer::pem_file_iter(&s.cert_pem)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&s.key_pem).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
    }
}

/// Whether a SIP request sent on a connection made with `client` reaches the server.
/// A refused TLS 1.3 client may believe its handshake done (the server's verdict on its
/// certificate comes after the client's Finished), so what counts is whether the request
/// arrives and whether the connection is then usable.
async fn request_gets_through(
    client: ClientConfig,
    addr: std::net::SocketAddr,
    events: &mut tokio::sync::mpsc::Receiver<herald_transport::Event>,
) -> bool {
    let Ok(mut stream) = connect(client, addr, "localhost").await else {
        return false;
    };
    let request = sip_request("peer", "hello");
    if stream.write_all(&request).await.is_err() || stream.flush().await.is_err() {
        return false;
    }
    let quiet = tokio::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        match tokio::time::timeout_at(quiet, events.recv()).await {
            Ok(Some(herald_transport::Event::Message { data, .. })) => {
                assert_eq!(&data[..], &request[..]);
                return true;
            }
            // Earlier connections of the test closing.
            Ok(Some(herald_transport::Event::FlowClosed { .. })) => {}
            Ok(other) => panic!("unexpected event {other:?}"),
            Err(_) => {
                // Nothing arrived: the server must have closed the connection too.
                let mut buf = [0u8; 16];
                let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
                    .await
                    .unwrap();
                assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
                return false;
            }
        }
    }
}

#[tokio::test]
async fn a_peer_listener_requires_a_client_certificate_from_the_peer_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let (handle, mut events, public, peer) = server_with_peer_listener(&pki).await;

    for tls12_only in [false, true] {
        let version = if tls12_only { "TLS 1.2" } else { "TLS 1.3" };
        // A peer with a certificate from the pool CA gets through.
        let client = client_with(&pki, Some(&pki.peer), tls12_only);
        assert!(
            request_gets_through(client, peer, &mut events).await,
            "{version}: peer certificate"
        );
        // No certificate, or one the CA did not sign: refused.
        let failures = handle.stats().tls_handshake_failures;
        let client = client_with(&pki, None, tls12_only);
        assert!(
            !request_gets_through(client, peer, &mut events).await,
            "{version}: no certificate"
        );
        let client = client_with(&pki, Some(&pki.stranger), tls12_only);
        assert!(
            !request_gets_through(client, peer, &mut events).await,
            "{version}: self-signed certificate"
        );
        wait_for_failures(&handle, failures + 2).await;
        // The ordinary listener still takes clients without a certificate.
        let client = client_with(&pki, None, tls12_only);
        assert!(
            request_gets_through(client, public, &mut events).await,
            "{version}: public listener"
        );
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn outbound_tls_presents_our_certificate_to_a_peer_listener() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let (server, mut server_events, _public, peer_addr) = server_with_peer_listener(&pki).await;
    let target = Target::Addr {
        transport: Transport::Tls,
        addr: peer_addr,
    };
    let request = sip_request("pool", "hi");

    // A pool member: its own certificate from the pool CA, which it also trusts.
    let (member, _e) = start(TransportConfig {
        tls: Some(pki.peer.clone()),
        tls_peer: Some(PeerTlsSettings {
            ca_pem: pki.ca_pem.clone(),
            listeners: Vec::new(),
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    member
        .send(target, Bytes::from(request.clone()))
        .await
        .unwrap();
    let (source, data) = next_message(&mut server_events).await;
    assert_eq!(&data[..], &request[..]);
    assert_eq!(source.transport, Transport::Tls);

    // A stranger that trusts the server but holds no certificate from the pool CA.
    let (stranger, _e) = start(TransportConfig {
        tls: Some(pki.stranger.clone()),
        tls_client_ca: Some(pki.ca_pem.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let failures = server.stats().tls_handshake_failures;
    // TLS 1.3 lets the client finish first, so the send itself may report success.
    let _ = stranger.send(target, Bytes::from(request.clone())).await;
    assert_no_event(&mut server_events, std::time::Duration::from_millis(500)).await;
    wait_for_failures(&server, failures + 1).await;

    for handle in [member, stranger, server] {
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn peer_tls_configuration_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    // A peer listener that is not one of the TLS listeners.
    let err = start(TransportConfig {
        tls: Some(pki.server.clone()),
        tls_peer: Some(PeerTlsSettings {
            ca_pem: pki.ca_pem.clone(),
            listeners: vec!["127.0.0.1:5999".parse().unwrap()],
        }),
        ..config(&["tls:127.0.0.1:0", "tcp:127.0.0.1:5999"])
    })
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("peer TLS listener 127.0.0.1:5999 is not one of the TLS listeners"),
        "{err}"
    );
    // A CA bundle that does not exist.
    let err = start(TransportConfig {
        tls: Some(pki.server.clone()),
        tls_peer: Some(PeerTlsSettings {
            ca_pem: dir.path().join("missing-ca.pem"),
            listeners: vec!["127.0.0.1:0".parse().unwrap()],
        }),
        ..config(&["tls:127.0.0.1:0"])
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("missing-ca.pem"), "{err}");
}
