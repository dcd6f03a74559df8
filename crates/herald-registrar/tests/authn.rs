//! The Authenticator against a real (in-memory) user directory: lockout per (username,
//! address), per-user rates and their 503 answers, and that a known and an unknown user
//! cannot be told apart by the challenge, the answer or its timing.
use bytes::Bytes;
use herald_auth::{Algorithm, Credentials};
use herald_registrar::{
    AuthOutcome, Authenticator, ChallengeKind, LimitedMethod, LockoutConfig, MemoryLocation,
    RateLimit, Registrar, RegistrarConfig, ServedDomains, UserLimitsConfig,
};
use herald_sip::message::ParseLimits;
use herald_sip::{HeaderName, Message, Request};
use herald_store::{NewUser, SharedStore, SqliteStore, Store};
use herald_transport::{Source, Transport};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOMAIN: &str = "example.com";
const PASSWORD: &str = "correct horse";
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const OWNER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

async fn store_with(users: &[&str]) -> SharedStore {
    let store = SqliteStore::open_in_memory().await.unwrap();
    for user in users {
        store
            .add_user(NewUser {
                username: (*user).into(),
                domain: DOMAIN.into(),
                display_name: None,
                ha1_md5: herald_auth::ha1(Algorithm::Md5, user, DOMAIN, PASSWORD),
                ha1_sha256: herald_auth::ha1(Algorithm::Sha256, user, DOMAIN, PASSWORD),
            })
            .await
            .unwrap();
    }
    Arc::new(store)
}

async fn authenticator(users: &[&str]) -> Authenticator {
    Authenticator::new(
        store_with(users).await,
        Duration::from_secs(300),
        vec![Algorithm::Sha256, Algorithm::Md5],
    )
}

/// A request of `method` from `user` to `user` with `authorization` (a full header line).
fn request(method: &str, user: &str, authorization: Option<&str>) -> Request {
    let uri = format!("sip:{DOMAIN}");
    let mut text = format!(
        "{method} {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK{}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{DOMAIN}>;tag=t1\r\n\
         To: <sip:{user}@{DOMAIN}>\r\n\
         Call-ID: c{}@test\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:{user}@127.0.0.2:5060>\r\n",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    if let Some(line) = authorization {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    match Message::parse(Bytes::from(text), &ParseLimits::default()) {
        Ok(Message::Request(req)) => req,
        other => panic!("test request did not parse: {other:?}"),
    }
}

fn param<'a>(challenge: &'a str, name: &str) -> &'a str {
    let start = challenge
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("{name} in {challenge}"))
        + name.len()
        + 1;
    let rest = &challenge[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"').unwrap()],
        None => rest.split(',').next().unwrap().trim(),
    }
}

/// Asks for a challenge as `client`, then answers it for `user` with `password` (SHA-256).
async fn answer(
    auth: &Authenticator,
    method: &str,
    user: &str,
    password: &str,
    client: IpAddr,
    kind: ChallengeKind,
) -> AuthOutcome {
    let req = authorized_request(auth, method, user, password, client, kind).await;
    auth.authenticate(&req, kind, DOMAIN, client).await
}

async fn authorized_request(
    auth: &Authenticator,
    method: &str,
    user: &str,
    password: &str,
    client: IpAddr,
    kind: ChallengeKind,
) -> Request {
    let bare = request(method, user, None);
    let challenge = match auth.authenticate(&bare, kind, DOMAIN, client).await {
        AuthOutcome::Challenge(c) => c.values[0].clone(),
        other => panic!("expected a challenge, got {other:?}"),
    };
    let mut creds = Credentials {
        username: user.into(),
        realm: DOMAIN.into(),
        nonce: param(&challenge, "nonce").into(),
        uri: format!("sip:{DOMAIN}"),
        response: String::new(),
        algorithm: Algorithm::Sha256,
        cnonce: Some("0a4f113b".into()),
        qop: Some("auth".into()),
        nc: Some(1),
        opaque: Some(param(&challenge, "opaque").into()),
        userhash: false,
    };
    let ha1 = herald_auth::ha1(Algorithm::Sha256, user, DOMAIN, password);
    creds.response = herald_auth::expected_response(&creds, &ha1, method);
    let header = match kind {
        ChallengeKind::Www => "Authorization",
        ChallengeKind::Proxy => "Proxy-Authorization",
    };
    let line = format!(
        "{header}: Digest username=\"{user}\", realm=\"{DOMAIN}\", nonce=\"{}\", \
         uri=\"{}\", response=\"{}\", algorithm=SHA-256, cnonce=\"0a4f113b\", qop=auth, \
         nc=00000001, opaque=\"{}\"",
        creds.nonce,
        creds.uri,
        creds.response,
        creds.opaque.as_deref().unwrap_or_default()
    );
    request(method, user, Some(&line))
}

fn is_forbidden(outcome: &AuthOutcome) -> bool {
    matches!(outcome, AuthOutcome::Forbidden)
}

fn is_authenticated(outcome: &AuthOutcome) -> bool {
    matches!(outcome, AuthOutcome::Authenticated(u) if u.aor == format!("alice@{DOMAIN}"))
}

#[tokio::test]
async fn the_right_password_authenticates() {
    let auth = authenticator(&["alice"]).await;
    let outcome = answer(
        &auth,
        "REGISTER",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Www,
    )
    .await;
    assert!(is_authenticated(&outcome), "{outcome:?}");
}

#[tokio::test]
async fn five_wrong_passwords_lock_that_address_out_but_not_the_owner() {
    let auth = authenticator(&["alice"]).await;
    for i in 0..5 {
        let outcome = answer(
            &auth,
            "REGISTER",
            "alice",
            &format!("guess{i}"),
            ATTACKER,
            ChallengeKind::Www,
        )
        .await;
        assert!(is_forbidden(&outcome), "guess {i}: {outcome:?}");
    }
    // The right password from the attacker's address is now refused like a wrong one...
    let outcome = answer(
        &auth,
        "REGISTER",
        "alice",
        PASSWORD,
        ATTACKER,
        ChallengeKind::Www,
    )
    .await;
    assert!(is_forbidden(&outcome), "locked: {outcome:?}");
    // ...while the owner, elsewhere, is never affected.
    let outcome = answer(
        &auth,
        "REGISTER",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Www,
    )
    .await;
    assert!(is_authenticated(&outcome), "owner: {outcome:?}");
    // The username is matched case-insensitively for the lock.
    let outcome = answer(
        &auth,
        "MESSAGE",
        "ALICE",
        "x",
        ATTACKER,
        ChallengeKind::Proxy,
    )
    .await;
    assert!(is_forbidden(&outcome), "{outcome:?}");
}

#[tokio::test]
async fn a_success_before_the_limit_resets_the_count() {
    let auth = authenticator(&["alice"]).await;
    for round in 0..3 {
        for i in 0..4 {
            let outcome = answer(
                &auth,
                "REGISTER",
                "alice",
                &format!("typo{i}"),
                OWNER,
                ChallengeKind::Www,
            )
            .await;
            assert!(is_forbidden(&outcome), "round {round} typo {i}");
        }
        let outcome = answer(
            &auth,
            "REGISTER",
            "alice",
            PASSWORD,
            OWNER,
            ChallengeKind::Www,
        )
        .await;
        assert!(is_authenticated(&outcome), "round {round}: {outcome:?}");
    }
}

#[tokio::test]
async fn lockout_settings_apply() {
    let auth = authenticator(&["alice"]).await.with_lockout(LockoutConfig {
        max_failures: 2,
        first_lock: Duration::from_millis(300),
        ..LockoutConfig::default()
    });
    for i in 0..2 {
        let outcome = answer(&auth, "REGISTER", "alice", "bad", OWNER, ChallengeKind::Www).await;
        assert!(is_forbidden(&outcome), "{i}");
    }
    let outcome = answer(
        &auth,
        "REGISTER",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Www,
    )
    .await;
    assert!(is_forbidden(&outcome), "locked after two: {outcome:?}");
    // That attempt doubled the lock to 600 ms; after it, the password works again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let outcome = answer(
        &auth,
        "REGISTER",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Www,
    )
    .await;
    assert!(is_authenticated(&outcome), "after the lock: {outcome:?}");
}

#[tokio::test]
async fn unknown_users_get_the_same_lockout_behaviour_as_known_ones() {
    let auth = authenticator(&["alice"]).await.with_lockout(LockoutConfig {
        max_failures: 3,
        ..LockoutConfig::default()
    });
    let mut seen = Vec::new();
    for user in ["alice", "nobody"] {
        let mut outcomes = Vec::new();
        for _ in 0..6 {
            let o = answer(&auth, "REGISTER", user, "bad", ATTACKER, ChallengeKind::Www).await;
            outcomes.push(format!("{o:?}"));
        }
        seen.push(outcomes);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0].iter().all(|o| o == "Forbidden"), "{:?}", seen[0]);
}

fn small_message_budget() -> UserLimitsConfig {
    UserLimitsConfig {
        message: RateLimit {
            burst: 3,
            per_minute: 6,
        },
        register: RateLimit {
            burst: 2,
            per_minute: 1,
        },
        ..UserLimitsConfig::default()
    }
}

#[tokio::test]
async fn over_the_rate_an_authenticated_user_is_told_to_retry_later() {
    let auth = authenticator(&["alice", "bob"])
        .await
        .with_user_limits(small_message_budget());
    for i in 0..3 {
        let o = answer(
            &auth,
            "MESSAGE",
            "alice",
            PASSWORD,
            OWNER,
            ChallengeKind::Proxy,
        )
        .await;
        assert!(is_authenticated(&o), "message {i}: {o:?}");
    }
    let o = answer(
        &auth,
        "MESSAGE",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Proxy,
    )
    .await;
    match o {
        AuthOutcome::RateLimited(over) => {
            assert_eq!(over.method, LimitedMethod::Message);
            assert!((1..=10).contains(&over.retry_after_secs()), "{over:?}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    // Another user, and another method, have budgets of their own; INVITE has none.
    let o = answer(
        &auth,
        "MESSAGE",
        "bob",
        PASSWORD,
        OWNER,
        ChallengeKind::Proxy,
    )
    .await;
    assert!(matches!(o, AuthOutcome::Authenticated(_)), "{o:?}");
    for _ in 0..5 {
        let o = answer(
            &auth,
            "INVITE",
            "alice",
            PASSWORD,
            OWNER,
            ChallengeKind::Proxy,
        )
        .await;
        assert!(is_authenticated(&o), "{o:?}");
    }
    // Failed and unauthenticated attempts spend nothing: nobody can use up alice's budget.
    let auth = authenticator(&["alice"])
        .await
        .with_user_limits(small_message_budget())
        .with_lockout(LockoutConfig {
            max_failures: 1000,
            ..LockoutConfig::default()
        });
    for _ in 0..20 {
        let o = answer(
            &auth,
            "MESSAGE",
            "alice",
            "bad",
            ATTACKER,
            ChallengeKind::Proxy,
        )
        .await;
        assert!(is_forbidden(&o));
        let bare = request("MESSAGE", "alice", None);
        let o = auth
            .authenticate(&bare, ChallengeKind::Proxy, DOMAIN, ATTACKER)
            .await;
        assert!(matches!(o, AuthOutcome::Challenge(_)));
    }
    let o = answer(
        &auth,
        "MESSAGE",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Proxy,
    )
    .await;
    assert!(is_authenticated(&o), "{o:?}");
}

#[tokio::test]
async fn the_sender_check_answers_503_with_retry_after() {
    let auth = authenticator(&["alice"])
        .await
        .with_user_limits(small_message_budget());
    let domains = ServedDomains::new(vec![DOMAIN.into()], Vec::new());
    let mut last = None;
    for _ in 0..4 {
        let req = authorized_request(
            &auth,
            "MESSAGE",
            "alice",
            PASSWORD,
            OWNER,
            ChallengeKind::Proxy,
        )
        .await;
        last = Some(
            auth.authenticate_sender(&req, ChallengeKind::Proxy, &domains, OWNER)
                .await,
        );
    }
    let refusal = last.unwrap().unwrap_err();
    assert_eq!(refusal.status, 503);
    assert_eq!(
        refusal.reason,
        Some("Service Unavailable (too many MESSAGE requests from this user)")
    );
    assert_eq!(refusal.headers.len(), 1);
    assert_eq!(refusal.headers[0].0, HeaderName::RetryAfter);
    let secs: u64 = refusal.headers[0].1.parse().unwrap();
    assert!((1..=10).contains(&secs), "{secs}");
}

#[tokio::test]
async fn the_registrar_answers_503_with_retry_after_over_the_register_rate() {
    let auth = Arc::new(
        authenticator(&["alice"])
            .await
            .with_user_limits(small_message_budget()),
    );
    let registrar = Registrar::new(
        RegistrarConfig::default(),
        ServedDomains::new(vec![DOMAIN.into()], Vec::new()),
        Arc::new(MemoryLocation::new()),
        auth.clone(),
    );
    let source = Source {
        transport: Transport::Udp,
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
        remote: SocketAddr::new(OWNER, 5060),
        flow: None,
    };
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let req = authorized_request(
            &auth,
            "REGISTER",
            "alice",
            PASSWORD,
            OWNER,
            ChallengeKind::Www,
        )
        .await;
        let resp = registrar.handle(&req, &source).await.response;
        statuses.push(resp.status);
        last = Some(resp);
    }
    assert_eq!(statuses, vec![200, 200, 503]);
    let resp = last.unwrap();
    assert_eq!(
        resp.reason.as_str(),
        "Service Unavailable (too many REGISTER requests from this user)"
    );
    let retry: u64 = resp
        .headers
        .get(&HeaderName::RetryAfter)
        .unwrap()
        .to_string()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

/// The challenge header values with the nonce taken out.
fn challenge_shape(outcome: AuthOutcome) -> (u16, String, Vec<String>) {
    match outcome {
        AuthOutcome::Challenge(c) => {
            let values = c
                .values
                .iter()
                .map(|v| v.replace(param(v, "nonce"), "NONCE"))
                .collect();
            (c.status, c.header.to_string(), values)
        }
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[tokio::test]
async fn challenges_for_known_and_unknown_users_differ_only_in_the_nonce() {
    let auth = authenticator(&["alice"]).await;
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        let known = auth
            .authenticate(&request("REGISTER", "alice", None), kind, DOMAIN, ATTACKER)
            .await;
        let unknown = auth
            .authenticate(&request("REGISTER", "nobody", None), kind, DOMAIN, ATTACKER)
            .await;
        let known = challenge_shape(known);
        assert_eq!(known, challenge_shape(unknown));
        assert_eq!(known.2.len(), 2, "SHA-256 and MD5: {known:?}");
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A wrong password for a user who exists and for one who does not take the same time
/// (the decoy HA1 gets the same hashing), locked or not: medians of many interleaved
/// samples agree within noise.
#[tokio::test]
async fn wrong_password_timing_does_not_tell_known_from_unknown_users() {
    let auth = authenticator(&["alice"]).await;
    const SAMPLES: usize = 400;
    let mut known = Vec::with_capacity(SAMPLES);
    let mut unknown = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        // 40 addresses, ten wrong answers each per user: half the samples are of
        // unlocked pairs, half of locked ones, for both users alike.
        let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, (i % 40) as u8));
        for (user, into) in [("alice", &mut known), ("nobody", &mut unknown)] {
            let req =
                authorized_request(&auth, "REGISTER", user, "wrong", client, ChallengeKind::Www)
                    .await;
            let started = Instant::now();
            let outcome = auth
                .authenticate(&req, ChallengeKind::Www, DOMAIN, client)
                .await;
            into.push(started.elapsed());
            assert!(is_forbidden(&outcome));
        }
    }
    let (known, unknown) = (median(known), median(unknown));
    let (fast, slow) = if known < unknown {
        (known, unknown)
    } else {
        (unknown, known)
    };
    eprintln!("median wrong-password authenticate(): known {known:?}, unknown {unknown:?}");
    // A directory hit on one side only would cost a store query (tens of microseconds
    // and more); equal work agrees within a quarter or 5 µs.
    assert!(
        slow <= fast + fast / 4 || slow <= fast + Duration::from_micros(5),
        "known {known:?} vs unknown {unknown:?}"
    );
}

#[tokio::test]
async fn a_store_that_cannot_answer_gives_503_not_a_wrong_password() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let shared: SharedStore = Arc::new(store.clone());
    let auth = Authenticator::new(
        shared,
        Duration::from_secs(300),
        vec![Algorithm::Sha256, Algorithm::Md5],
    );
    // The challenge needs no store; the directory lookup after the answer does.
    let req = authorized_request(
        &auth,
        "REGISTER",
        "alice",
        PASSWORD,
        OWNER,
        ChallengeKind::Www,
    )
    .await;
    store.close().await;
    for _ in 0..10 {
        let outcome = auth
            .authenticate(&req, ChallengeKind::Www, DOMAIN, OWNER)
            .await;
        assert!(
            matches!(outcome, AuthOutcome::Unavailable { retry_after_secs } if retry_after_secs > 0),
            "{outcome:?}"
        );
    }
}

/// Presence recomputes a user's state only when a REGISTER changed their endpoints: a
/// refresh from where the binding was made does not, a new binding or a move does.
#[tokio::test]
async fn the_registrar_says_when_endpoints_changed() {
    let auth = Arc::new(authenticator(&["alice"]).await);
    let registrar = Registrar::new(
        RegistrarConfig::default(),
        ServedDomains::new(vec![DOMAIN.into()], Vec::new()),
        Arc::new(MemoryLocation::new()),
        auth.clone(),
    );
    let from_port = |port| Source {
        transport: Transport::Udp,
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
        remote: SocketAddr::new(OWNER, port),
        flow: None,
    };
    let mut changed = Vec::new();
    for port in [5060, 5060, 5062] {
        let req = authorized_request(
            &auth,
            "REGISTER",
            "alice",
            PASSWORD,
            OWNER,
            ChallengeKind::Www,
        )
        .await;
        let registered = registrar.handle(&req, &from_port(port)).await;
        assert_eq!(registered.response.status, 200);
        changed.push(registered.endpoints_changed);
    }
    assert_eq!(changed, vec![true, false, true]);
}
