//! The registrar through the whole server over real UDP/TCP sockets on loopback:
//! challenge, digest (MD5 and SHA-256), several devices per user, expiry bounds,
//! wildcard removal, retransmission absorption, no user enumeration.
use herald_auth::Algorithm;
use herald_server::{Server, ServerConfig};
use herald_store::{NewUser, SharedStore, SqliteStore};
use herald_transport::{ListenSpec, Transport};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const DOMAIN: &str = "example.com";

async fn start() -> (Server, SocketAddr, SocketAddr) {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let store: SharedStore = Arc::new(store);
    for (user, pw) in [("alice", "wonderland"), ("bob", "builder")] {
        store
            .add_user(NewUser {
                username: user.into(),
                domain: DOMAIN.into(),
                display_name: None,
                ha1_md5: herald_auth::ha1(Algorithm::Md5, user, DOMAIN, pw),
                ha1_sha256: herald_auth::ha1(Algorithm::Sha256, user, DOMAIN, pw),
            })
            .await
            .unwrap();
    }
    let mut cfg = ServerConfig {
        domains: vec![DOMAIN.into()],
        ..ServerConfig::default()
    };
    cfg.transport.listen = vec![
        ListenSpec {
            transport: Transport::Udp,
            addr: "127.0.0.1:0".parse().unwrap(),
        },
        ListenSpec {
            transport: Transport::Tcp,
            addr: "127.0.0.1:0".parse().unwrap(),
        },
    ];
    let server = Server::start(cfg, store).await.unwrap();
    let addrs = server.local_addrs();
    (server, addrs[0].addr, addrs[1].addr)
}

struct Udp {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Udp {
    async fn new(server: SocketAddr) -> Udp {
        Udp {
            sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            server,
        }
    }
    fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }
    async fn send(&self, msg: &str) -> String {
        self.sock
            .send_to(msg.as_bytes(), self.server)
            .await
            .unwrap();
        self.recv().await
    }
    async fn recv(&self) -> String {
        let mut buf = vec![0u8; 65536];
        let n = tokio::time::timeout(Duration::from_secs(3), self.sock.recv(&mut buf))
            .await
            .expect("no response")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn header<'a>(resp: &'a str, name: &str) -> Vec<&'a str> {
    resp.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn param<'a>(challenge: &'a str, name: &str) -> &'a str {
    let start = challenge.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let rest = &challenge[start..];
    if let Some(r) = rest.strip_prefix('"') {
        &r[..r.find('"').unwrap()]
    } else {
        rest.split(',').next().unwrap().trim()
    }
}

#[allow(clippy::too_many_arguments)]
fn register(
    user: &str,
    port: u16,
    transport: &str,
    call_id: &str,
    cseq: u32,
    contact: &str,
    extra: &str,
    branch: &str,
) -> String {
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:{port};rport;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{user}@{DOMAIN}>;tag=f{cseq}\r\nTo: <sip:{user}@{DOMAIN}>\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

fn authorization(challenge_401: &str, alg: Algorithm, user: &str, pw: &str, nc: u32) -> String {
    let ch = header(challenge_401, "WWW-Authenticate")
        .into_iter()
        .find(|c| c.contains(&format!("algorithm={}", alg.as_str())))
        .expect("challenge for the algorithm");
    let nonce = param(ch, "nonce");
    let opaque = param(ch, "opaque");
    let uri = format!("sip:{DOMAIN}");
    let creds = herald_auth::Credentials {
        username: user.into(),
        realm: DOMAIN.into(),
        nonce: nonce.into(),
        uri: uri.clone(),
        response: String::new(),
        algorithm: alg,
        cnonce: Some("0a4f113b".into()),
        qop: Some("auth".into()),
        nc: Some(nc),
        opaque: Some(opaque.into()),
        userhash: false,
    };
    let ha1 = herald_auth::ha1(alg, user, DOMAIN, pw);
    let response = herald_auth::expected_response(&creds, &ha1, "REGISTER");
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{DOMAIN}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={}, cnonce=\"0a4f113b\", qop=auth, nc={nc:08x}, opaque=\"{opaque}\"\r\n",
        alg.as_str()
    )
}

#[tokio::test]
async fn challenge_then_register_two_devices_then_wildcard_removal() {
    let (_server, udp_addr, tcp_addr) = start().await;
    let c = Udp::new(udp_addr).await;
    let p = c.port();
    let contact = format!("<sip:alice@127.0.0.1:{p}>");

    let r1 = c
        .send(&register(
            "alice",
            p,
            "UDP",
            "cid-1",
            1,
            &contact,
            "Expires: 600\r\n",
            "a1",
        ))
        .await;
    assert_eq!(status(&r1), 401, "{r1}");
    let chals = header(&r1, "WWW-Authenticate");
    assert_eq!(chals.len(), 2, "{r1}");
    assert!(
        chals[0].contains("algorithm=SHA-256") && chals[1].contains("algorithm=MD5"),
        "{r1}"
    );
    assert!(
        header(&r1, "Via")[0].contains(&format!("rport={p}")),
        "rport filled in: {r1}"
    );

    let auth = authorization(&r1, Algorithm::Sha256, "alice", "wonderland", 1);
    let req = register(
        "alice",
        p,
        "UDP",
        "cid-1",
        2,
        &contact,
        &format!("Expires: 600\r\n{auth}"),
        "a2",
    );
    let r2 = c.send(&req).await;
    assert_eq!(status(&r2), 200, "{r2}");
    assert_eq!(header(&r2, "Contact").len(), 1, "{r2}");
    assert!(
        header(&r2, "Contact")[0].contains("expires=600")
            || header(&r2, "Contact")[0].contains("expires=599")
    );

    // A retransmission gets the same answer, byte for byte, and is not processed again.
    let r2b = c.send(&req).await;
    assert_eq!(r2, r2b);

    // Second device over TCP, MD5 this time.
    let mut tcp = TcpStream::connect(tcp_addr).await.unwrap();
    let tp = tcp.local_addr().unwrap().port();
    let contact2 = format!("<sip:alice@127.0.0.1:{tp};transport=tcp>");
    let t1 = tcp_send(
        &mut tcp,
        &register("alice", tp, "TCP", "cid-2", 1, &contact2, "", "b1"),
    )
    .await;
    assert_eq!(status(&t1), 401, "{t1}");
    let auth = authorization(&t1, Algorithm::Md5, "alice", "wonderland", 1);
    let t2 = tcp_send(
        &mut tcp,
        &register("alice", tp, "TCP", "cid-2", 2, &contact2, &auth, "b2"),
    )
    .await;
    assert_eq!(status(&t2), 200, "{t2}");
    let contacts = header(&t2, "Contact");
    assert_eq!(contacts.len(), 2, "both devices listed: {t2}");

    // A nonce count that does not increase is a replay: challenged again.
    let t3 = tcp_send(
        &mut tcp,
        &register("alice", tp, "TCP", "cid-2", 3, &contact2, &auth, "b3"),
    )
    .await;
    assert_eq!(status(&t3), 401, "{t3}");

    // Too short an interval: 423 with Min-Expires.
    let auth = authorization(&t3, Algorithm::Md5, "alice", "wonderland", 1);
    let t4 = tcp_send(
        &mut tcp,
        &register(
            "alice",
            tp,
            "TCP",
            "cid-2",
            4,
            &contact2,
            &format!("Expires: 5\r\n{auth}"),
            "b4",
        ),
    )
    .await;
    assert_eq!(status(&t4), 423, "{t4}");
    assert_eq!(header(&t4, "Min-Expires"), vec!["60"]);

    // Contact: * with Expires: 0 removes every binding.
    let auth = authorization(&t3, Algorithm::Md5, "alice", "wonderland", 2);
    let t5 = tcp_send(
        &mut tcp,
        &register(
            "alice",
            tp,
            "TCP",
            "cid-3",
            1,
            "*",
            &format!("Expires: 0\r\n{auth}"),
            "b5",
        ),
    )
    .await;
    assert_eq!(status(&t5), 200, "{t5}");
    assert!(header(&t5, "Contact").is_empty(), "{t5}");
}

async fn tcp_send(tcp: &mut TcpStream, msg: &str) -> String {
    tcp.write_all(msg.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
            .await
            .expect("no response")
            .unwrap();
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
        if got.windows(4).any(|w| w == b"\r\n\r\n") {
            return String::from_utf8_lossy(&got).into_owned();
        }
    }
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let (_server, udp_addr, _) = start().await;
    let c = Udp::new(udp_addr).await;
    let p = c.port();
    let mut answers = Vec::new();
    for (i, (user, pw)) in [("bob", "wrong"), ("nobody", "wrong")]
        .into_iter()
        .enumerate()
    {
        let contact = format!("<sip:{user}@127.0.0.1:{p}>");
        let r1 = c
            .send(&register(
                user,
                p,
                "UDP",
                &format!("e{i}"),
                1,
                &contact,
                "",
                &format!("e{i}a"),
            ))
            .await;
        assert_eq!(status(&r1), 401, "{r1}");
        let auth = authorization(&r1, Algorithm::Md5, user, pw, 1);
        let r2 = c
            .send(&register(
                user,
                p,
                "UDP",
                &format!("e{i}"),
                2,
                &contact,
                &auth,
                &format!("e{i}b"),
            ))
            .await;
        let reason = r2.lines().next().unwrap_or_default().to_owned();
        answers.push((status(&r2), reason));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 403);
}

#[tokio::test]
async fn generic_checks_answer_with_reasons() {
    let (_server, udp_addr, _) = start().await;
    let c = Udp::new(udp_addr).await;
    let p = c.port();
    let base = |method: &str, uri: &str, extra: &str, b: &str| {
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{b}\r\nMax-Forwards: 70\r\n\
             From: <sip:x@{DOMAIN}>;tag=1\r\nTo: <sip:y@{DOMAIN}>\r\nCall-ID: {b}\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        )
    };
    let r = c
        .send(&base("OPTIONS", &format!("sip:{DOMAIN}"), "", "o1"))
        .await;
    assert_eq!(status(&r), 200, "{r}");
    assert!(header(&r, "Allow")[0].contains("REGISTER"));
    let r = c
        .send(&base("FOO", &format!("sip:{DOMAIN}"), "", "o2"))
        .await;
    assert_eq!(status(&r), 501, "{r}");
    let r = c
        .send(&base("OPTIONS", "mailto:x@example.com", "", "o3"))
        .await;
    assert_eq!(status(&r), 416, "{r}");
    let r = c
        .send(&base(
            "OPTIONS",
            &format!("sip:{DOMAIN}"),
            "Require: frobnicate\r\n",
            "o4",
        ))
        .await;
    assert_eq!(status(&r), 420, "{r}");
    assert_eq!(header(&r, "Unsupported"), vec!["frobnicate"]);
    let r = c
        // The server subscribes to nobody, so a NOTIFY outside a dialog has no place here.
        .send(&base("NOTIFY", &format!("sip:y@{DOMAIN}"), "", "o5"))
        .await;
    assert_eq!(status(&r), 405, "{r}");
    let r = c.send("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;rport;branch=z9hG4bKq\r\nCSeq: 1 OPTIONS\r\n\r\n").await;
    assert_eq!(status(&r), 400, "missing headers: {r}");
    // And the server still serves.
    let r = c
        .send(&base("OPTIONS", &format!("sip:{DOMAIN}"), "", "o6"))
        .await;
    assert_eq!(status(&r), 200, "{r}");
}

/// REGISTER is left out of merged-request detection: a copy by another path (another
/// branch, same From tag, Call-ID and CSeq) is refused by authentication (its nonce
/// count was used) or by the registrar's Call-ID/CSeq rule, never registered twice.
#[tokio::test]
async fn merged_register_copy_is_refused_by_the_registrar() {
    let (_server, udp_addr, _) = start().await;
    let c = Udp::new(udp_addr).await;
    let p = c.port();
    let contact = format!("<sip:alice@127.0.0.1:{p}>");
    let r1 = c
        .send(&register("alice", p, "UDP", "cid-m", 1, &contact, "", "m1"))
        .await;
    assert_eq!(status(&r1), 401, "{r1}");
    let auth = authorization(&r1, Algorithm::Sha256, "alice", "wonderland", 1);
    let extra = format!("Expires: 600\r\n{auth}");
    let r2 = c
        .send(&register(
            "alice", p, "UDP", "cid-m", 2, &contact, &extra, "m2",
        ))
        .await;
    assert_eq!(status(&r2), 200, "{r2}");
    let copy = c
        .send(&register(
            "alice",
            p,
            "UDP",
            "cid-m",
            2,
            &contact,
            &extra,
            "m2-other-path",
        ))
        .await;
    assert_ne!(
        status(&copy),
        200,
        "a merged copy must not register again: {copy}"
    );
    assert_ne!(status(&copy), 482, "{copy}");
}

#[tokio::test]
async fn merged_request_gets_482() {
    let (_server, udp_addr, _) = start().await;
    let c = Udp::new(udp_addr).await;
    let p = c.port();
    let opts = |branch: &str| {
        format!(
            "OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\n\
             From: <sip:x@{DOMAIN}>;tag=m1\r\nTo: <sip:{DOMAIN}>\r\nCall-ID: merged-1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let first = c.send(&opts("path1")).await;
    assert_eq!(status(&first), 200, "{first}");
    let copy = c.send(&opts("path2")).await;
    assert_eq!(status(&copy), 482, "same request by another path: {copy}");
    let again = c.send(&opts("path1")).await;
    assert_eq!(first, again, "a retransmission is not a merged request");
}
