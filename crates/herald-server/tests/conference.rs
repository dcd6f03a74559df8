//! Group IM conferences end to end over real sockets: a conference made by INVITE to
//! the factory URI, joined by others, messages fanned out naming their sender (P-
//! Asserted-Identity, CPIM for those who take it), typing fanned out, order kept per
//! sender, the roster (RFC 4575) full then partial, REFER invitations with sipfrag
//! progress, Replaces carried for escalation, policy and size limits, a slow
//! participant dropped without holding up the others, archiving and the monitoring
//! record.
#[allow(dead_code)]
mod common;

use common::{
    DOMAIN, Digest, Endpoint, Session, Sip, TestServer, authorization, challenge_params, unique,
};
use herald_auth::Algorithm;
use herald_conference::ConferenceConfig;
use herald_server::ServerConfig;
use herald_store::{NewUser, PolicyLimits, SqliteStore, Store};
use std::collections::VecDeque;
use std::time::Duration;

const SDP_AUDIO: &str = "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n";

async fn server(conference: ConferenceConfig, setup: impl AsyncFnOnce(&SqliteStore)) -> TestServer {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let store = SqliteStore::open_in_memory().await.expect("store");
    common::add_users(&store).await;
    // A fourth user, with the password the harness uses for users it does not list.
    let pw = common::password("dave");
    store
        .add_user(NewUser {
            username: "dave".into(),
            domain: DOMAIN.into(),
            display_name: None,
            ha1_md5: herald_auth::ha1(Algorithm::Md5, "dave", DOMAIN, pw),
            ha1_sha256: herald_auth::ha1(Algorithm::Sha256, "dave", DOMAIN, pw),
        })
        .await
        .expect("dave added");
    setup(&store).await;
    let cfg = ServerConfig {
        domains: vec![DOMAIN.into()],
        workers: 4,
        im: common::im_config(),
        presence: common::presence_config(),
        conference,
        ..ServerConfig::default()
    };
    TestServer::start_config(store, cfg).await
}

/// A user's device in (or about to be in) a conference: every request it gets is
/// answered 200 at once (INVITEs excepted) and kept for the test to look at.
struct Member {
    ep: Endpoint,
    session: Option<Session>,
    inbox: VecDeque<Sip>,
    nonce: Option<(String, String)>,
    nc: u32,
}

impl Member {
    async fn new(srv: &TestServer, user: &str, udp: bool) -> Member {
        let mut ep = if udp {
            srv.udp(user).await
        } else {
            srv.tcp(user).await
        };
        ep.register(300).await;
        Member {
            ep,
            session: None,
            inbox: VecDeque::new(),
            nonce: None,
            nc: 0,
        }
    }

    fn user(&self) -> String {
        self.ep.user.clone()
    }

    /// Reads one message; requests other than INVITE are answered 200 and kept.
    async fn read(&mut self, what: &str) -> Sip {
        let m = self.ep.expect(what).await;
        if m.is_request() && m.method() != "INVITE" && m.method() != "ACK" {
            self.ep.reply(&m, 200, &unique("m")).await;
        }
        m
    }

    /// The next `method` request (kept ones first).
    async fn request(&mut self, method: &str) -> Sip {
        if let Some(at) = self.inbox.iter().position(|m| m.method() == method)
            && let Some(m) = self.inbox.remove(at)
        {
            return m;
        }
        loop {
            let m = self.read(method).await;
            if m.is_request() && m.method() == method {
                return m;
            }
            if m.is_request() {
                self.inbox.push_back(m);
            }
        }
    }

    /// The final response to `method`; requests meanwhile are kept.
    async fn final_response(&mut self, method: &str) -> Sip {
        loop {
            let m = self.read(&format!("response to {method}")).await;
            if m.is_request() {
                self.inbox.push_back(m);
                continue;
            }
            if m.cseq().1 == method && m.status() >= 200 {
                return m;
            }
        }
    }

    /// Joins (or, to `conf-factory`, creates) a conference; the final response. On
    /// 200 the dialog is confirmed with an ACK.
    async fn join(&mut self, conf_user: &str, cpim: bool) -> Sip {
        let uri = format!("sip:{conf_user}@{DOMAIN}");
        let auth = self.ep.proxy_authorization("INVITE", &uri).await;
        let mut s = Session {
            call_id: unique("conf-call-"),
            local: format!("<sip:{}@{DOMAIN}>;tag={}", self.user(), unique("j")),
            remote: format!("<{uri}>"),
            target: uri.clone(),
            route: Vec::new(),
            cseq: 1,
            invite_branch: unique("z9hG4bKj"),
            invite_cseq: 1,
        };
        let accept = if cpim {
            "Accept: application/sdp, message/cpim, text/plain\r\n"
        } else {
            ""
        };
        let msg = format!(
            "INVITE {uri} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
             Call-ID: {}\r\nCSeq: 1 INVITE\r\nContact: <{}>\r\n{auth}{accept}\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP_AUDIO}",
            self.ep.via(&s.invite_branch),
            s.local,
            s.remote,
            s.call_id,
            self.ep.contact,
            SDP_AUDIO.len(),
        );
        self.ep.send(&msg).await;
        let resp = self.final_response("INVITE").await;
        if resp.status() == 200 {
            s.confirmed_by(&resp);
            self.ep.in_dialog(&mut s, "ACK", "", "").await;
            self.session = Some(s);
        } else {
            self.ep.ack_failure(&s, &resp).await;
        }
        resp
    }

    /// A request in our dialog with the focus; its final response.
    async fn in_dialog(&mut self, method: &str, ctype: &str, body: &str) -> Sip {
        let mut s = self.session.take().expect("in a conference");
        self.ep.in_dialog(&mut s, method, ctype, body).await;
        self.session = Some(s);
        self.final_response(method).await
    }

    async fn say(&mut self, text: &str) {
        let resp = self.in_dialog("MESSAGE", "text/plain", text).await;
        assert_eq!(resp.status(), 200, "MESSAGE accepted:\n{}", resp.text);
    }

    /// REFER to the focus with this Refer-To; the final response.
    async fn refer(&mut self, refer_to: &str) -> Sip {
        let mut s = self.session.take().expect("in a conference");
        s.cseq += 1;
        let routes: String = s.route.iter().map(|r| format!("Route: {r}\r\n")).collect();
        let msg = format!(
            "REFER {} SIP/2.0\r\n{}Max-Forwards: 70\r\n{routes}From: {}\r\nTo: {}\r\n\
             Call-ID: {}\r\nCSeq: {} REFER\r\nRefer-To: {refer_to}\r\nContact: <{}>\r\n\
             Content-Length: 0\r\n\r\n",
            s.target,
            self.ep.via(&unique("z9hG4bKr")),
            s.local,
            s.remote,
            s.call_id,
            s.cseq,
            self.ep.contact,
        );
        self.ep.send(&msg).await;
        self.session = Some(s);
        self.final_response("REFER").await
    }

    /// SUBSCRIBE to a conference's roster (answering the 401); the final response.
    async fn subscribe_roster(&mut self, conf_uri: &str, expires: u32) -> Sip {
        let call_id = unique("roster-");
        let tag = unique("rs");
        let mut cseq = 0;
        loop {
            cseq += 1;
            let auth = match &self.nonce {
                Some((nonce, opaque)) => {
                    self.nc += 1;
                    let user = self.user();
                    authorization(
                        &Digest {
                            header: "Authorization",
                            user: &user,
                            password: common::password(&user),
                            method: "SUBSCRIBE",
                            uri: conf_uri,
                            nc: self.nc,
                        },
                        nonce,
                        opaque,
                    )
                }
                None => String::new(),
            };
            let msg = format!(
                "SUBSCRIBE {conf_uri} SIP/2.0\r\n{}Max-Forwards: 70\r\n\
                 From: <sip:{}@{DOMAIN}>;tag={tag}\r\nTo: <{conf_uri}>\r\nCall-ID: {call_id}\r\n\
                 CSeq: {cseq} SUBSCRIBE\r\nEvent: conference\r\nExpires: {expires}\r\n\
                 Contact: <{}>\r\n{auth}Content-Length: 0\r\n\r\n",
                self.ep.via(&unique("z9hG4bKs")),
                self.user(),
                self.ep.contact,
            );
            self.ep.send(&msg).await;
            let resp = self.final_response("SUBSCRIBE").await;
            if resp.status() == 401 && self.nonce.is_none() {
                self.nonce = Some(challenge_params(
                    &resp,
                    "WWW-Authenticate",
                    Algorithm::Sha256,
                ));
                self.nc = 0;
                continue;
            }
            return resp;
        }
    }

    /// Nothing but `ignored` requests arrive within `wait`.
    async fn quiet(&mut self, wait: Duration, why: &str) {
        if let Some(m) = self.inbox.iter().find(|m| m.method() == "MESSAGE") {
            panic!("{}: {why}, but got:\n{}", self.user(), m.text);
        }
        if let Some(m) = self.ep.recv(wait).await {
            panic!("{}: {why}, but got:\n{}", self.user(), m.text);
        }
    }
}

/// The conference URI in a 200's Contact (checked: `conf-` + 32 hex digits, isfocus).
fn conference_uri(ok: &Sip) -> String {
    let contact = ok.must("Contact");
    assert!(contact.contains(";isfocus"), "focus Contact:\n{}", ok.text);
    let uri = common::uri_of(&contact);
    let user = uri
        .strip_prefix("sip:")
        .and_then(|u| u.split('@').next())
        .unwrap_or_default()
        .to_owned();
    let id = user.strip_prefix("conf-").unwrap_or_default();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "conference URI carries 128 random bits: {uri}"
    );
    assert!(uri.ends_with(&format!("@{DOMAIN}")), "{uri}");
    uri
}

fn conf_user(uri: &str) -> String {
    uri.trim_start_matches("sip:")
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn three_participants_hear_each_other_named_and_the_roster_follows() {
    let srv = server(ConferenceConfig::default(), async |store| {
        store
            .set_archiving("alice@example.com", Some(true))
            .await
            .expect("archiving for alice");
    })
    .await;
    let mut alice = Member::new(&srv, "alice", false).await;
    let mut bob = Member::new(&srv, "bob", true).await;
    let mut carol = Member::new(&srv, "carol", false).await;

    let ok = alice.join("conf-factory", false).await;
    assert_eq!(ok.status(), 200, "conference created:\n{}", ok.text);
    let uri = conference_uri(&ok);
    assert!(!ok.all("Record-Route").is_empty(), "{}", ok.text);
    assert!(
        ok.body.contains("m=audio 9 RTP/AVP 0\r\na=inactive"),
        "audio kept, inactive:\n{}",
        ok.text
    );

    assert_eq!(bob.join(&conf_user(&uri), false).await.status(), 200);
    // Over UDP the focus resends its 200 after 500 ms unless the ACK arrived.
    bob.quiet(Duration::from_millis(800), "the ACK stops the 200")
        .await;
    assert_eq!(carol.join(&conf_user(&uri), true).await.status(), 200);

    let sub = carol.subscribe_roster(&uri, 600).await;
    assert_eq!(sub.status(), 200, "{}", sub.text);
    let full = carol.request("NOTIFY").await;
    assert_eq!(full.get("Event").as_deref(), Some("conference"));
    for user in ["alice", "bob", "carol"] {
        assert!(
            full.body
                .contains(&format!("entity=\"sip:{user}@{DOMAIN}\"")),
            "{user} in the roster:\n{}",
            full.body
        );
    }
    assert!(full.body.contains("state=\"full\""), "{}", full.body);

    alice.say("hello from alice").await;
    let to_bob = bob.request("MESSAGE").await;
    assert_eq!(to_bob.body, "hello from alice");
    assert!(
        to_bob
            .get("P-Asserted-Identity")
            .is_some_and(|v| v.contains(&format!("sip:alice@{DOMAIN}"))),
        "{}",
        to_bob.text
    );
    assert!(
        to_bob.must("From").contains(&uri),
        "From is the conference:\n{}",
        to_bob.text
    );
    let to_carol = carol.request("MESSAGE").await;
    assert_eq!(
        to_carol.get("Content-Type").as_deref(),
        Some("message/cpim")
    );
    assert!(
        to_carol
            .body
            .contains(&format!("From: <sip:alice@{DOMAIN}>")),
        "CPIM names the sender:\n{}",
        to_carol.body
    );
    assert!(
        to_carol.body.ends_with("hello from alice"),
        "{}",
        to_carol.body
    );

    // Order per sender: five in a row arrive in order.
    let mut s = bob.session.take().expect("bob is in");
    for i in 1..=5 {
        bob.ep
            .in_dialog(&mut s, "MESSAGE", "text/plain", &format!("bob {i}"))
            .await;
    }
    bob.session = Some(s);
    for _ in 1..=5 {
        assert_eq!(bob.final_response("MESSAGE").await.status(), 200);
    }
    for i in 1..=5 {
        let m = alice.request("MESSAGE").await;
        assert_eq!(m.body, format!("bob {i}"));
        assert!(
            m.get("P-Asserted-Identity")
                .is_some_and(|v| v.contains("sip:bob@"))
        );
    }
    for i in 1..=5 {
        let m = carol.request("MESSAGE").await;
        assert!(m.body.ends_with(&format!("bob {i}")), "{}", m.body);
    }

    // Typing goes to the others too, not counted as a message.
    let typing = carol
        .in_dialog("MESSAGE", common::TYPING_TYPE, common::TYPING_BODY)
        .await;
    assert_eq!(typing.status(), 200);
    for m in [&mut alice, &mut bob] {
        let t = m.request("MESSAGE").await;
        assert_eq!(t.get("Content-Type").as_deref(), Some(common::TYPING_TYPE));
        assert!(
            t.get("P-Asserted-Identity")
                .is_some_and(|v| v.contains("sip:carol@"))
        );
    }
    alice
        .quiet(
            Duration::from_millis(300),
            "a sender gets no copy of its own",
        )
        .await;

    // Bob leaves: the roster says so.
    assert_eq!(bob.in_dialog("BYE", "", "").await.status(), 200);
    let partial = carol.request("NOTIFY").await;
    assert!(
        partial.body.contains("state=\"partial\""),
        "{}",
        partial.body
    );
    assert!(
        partial
            .body
            .contains(&format!("entity=\"sip:bob@{DOMAIN}\" state=\"deleted\"")),
        "bob deleted:\n{}",
        partial.body
    );

    assert_eq!(alice.in_dialog("BYE", "", "").await.status(), 200);
    assert_eq!(carol.in_dialog("BYE", "", "").await.status(), 200);
    // Alice's and carol's leaving are reported, then the end of the conference.
    let alice_left = carol.request("NOTIFY").await;
    assert!(
        alice_left.body.contains("sip:alice@"),
        "{}",
        alice_left.body
    );
    let carol_left = carol.request("NOTIFY").await;
    assert!(
        carol_left.body.contains("sip:carol@"),
        "{}",
        carol_left.body
    );
    let last = carol.request("NOTIFY").await;
    assert!(
        last.get("Subscription-State")
            .is_some_and(|s| s.starts_with("terminated")),
        "{}",
        last.text
    );
    assert!(
        last.body.contains("<active>false</active>"),
        "{}",
        last.body
    );
    // Ended with its last participant: the URI is gone.
    let again = bob.join(&conf_user(&uri), false).await;
    assert_eq!(again.status(), 404, "{}", again.text);

    let records = srv.store.conference_records(10).await.expect("records");
    let address = uri.trim_start_matches("sip:");
    let record = records
        .iter()
        .find(|r| r.uri == address)
        .expect("monitoring record");
    assert_eq!(record.creator, format!("alice@{DOMAIN}"));
    assert_eq!(record.message_count, 6);
    assert!(record.ended_ms.is_some());
    let mut who = record.participants.clone();
    who.sort();
    assert_eq!(
        who,
        ["alice@example.com", "bob@example.com", "carol@example.com"]
    );
    // Alice is archived, so the whole conference is: bob's messages too.
    let archived = srv
        .store
        .archived_for("bob@example.com", 0, None)
        .await
        .expect("archive");
    let conf_msgs: Vec<_> = archived
        .iter()
        .filter(|r| r.recipient == address && r.mode == herald_store::ImMode::Conference)
        .collect();
    assert_eq!(conf_msgs.len(), 5, "bob's five messages archived");
}

#[tokio::test]
async fn refer_invites_another_user_and_carries_replaces_for_escalation() {
    let srv = server(ConferenceConfig::default(), async |_| {}).await;
    let mut alice = Member::new(&srv, "alice", false).await;
    let mut dave = Member::new(&srv, "dave", false).await;
    let mut bob = Member::new(&srv, "bob", false).await;
    let uri = conference_uri(&alice.join("conf-factory", false).await);

    let accepted = alice.refer(&format!("<sip:dave@{DOMAIN}>")).await;
    assert_eq!(accepted.status(), 202, "{}", accepted.text);
    let trying = alice.request("NOTIFY").await;
    assert_eq!(trying.get("Event").as_deref(), Some("refer"));
    assert!(trying.body.starts_with("SIP/2.0 100"), "{}", trying.body);

    let invite = dave.request("INVITE").await;
    assert!(invite.must("From").contains(&uri), "{}", invite.text);
    assert!(
        invite.must("Contact").contains(";isfocus"),
        "{}",
        invite.text
    );
    assert!(
        invite
            .get("Referred-By")
            .is_some_and(|v| v.contains("sip:alice@")),
        "{}",
        invite.text
    );
    let tag = unique("d");
    dave.ep.reply(&invite, 200, &tag).await;
    let ack = dave.request("ACK").await;
    assert!(ack.uri().starts_with("sip:dave@"), "{}", ack.text);
    dave.session = Some(Session::answering(&invite, &tag, 0));
    let done = alice.request("NOTIFY").await;
    assert!(done.body.starts_with("SIP/2.0 200"), "{}", done.body);
    assert!(done.must("Subscription-State").starts_with("terminated"));

    alice.say("welcome dave").await;
    let m = dave.request("MESSAGE").await;
    assert_eq!(m.body, "welcome dave");
    dave.say("thanks").await;
    let back = alice.request("MESSAGE").await;
    assert_eq!(back.body, "thanks");
    assert!(
        back.get("P-Asserted-Identity")
            .is_some_and(|v| v.contains("sip:dave@"))
    );

    // Escalation: the Replaces of an attended transfer rides on the focus's INVITE.
    let refer_to = format!(
        "<sip:bob@{DOMAIN}?Require=replaces&Replaces=p2p-call%40host%3Bto-tag%3Dbt%3Bfrom-tag%3Dat>"
    );
    assert_eq!(alice.refer(&refer_to).await.status(), 202);
    let invite = bob.request("INVITE").await;
    assert_eq!(
        invite.get("Replaces").as_deref(),
        Some("p2p-call@host;to-tag=bt;from-tag=at"),
        "{}",
        invite.text
    );
    assert_eq!(invite.get("Require").as_deref(), Some("replaces"));
    bob.ep.reply(&invite, 486, &unique("b")).await;
    let mut finals = Vec::new();
    while finals.is_empty() {
        let n = alice.request("NOTIFY").await;
        if n.must("Subscription-State").starts_with("terminated") {
            finals.push(n);
        }
    }
    assert!(
        finals[0].body.starts_with("SIP/2.0 486"),
        "{}",
        finals[0].body
    );
}

#[tokio::test]
async fn who_may_create_join_and_how_many() {
    let config = ConferenceConfig {
        max_participants: 2,
        open_to_domain: false,
        ..ConferenceConfig::default()
    };
    let srv = server(config, async |store| {
        let no = PolicyLimits {
            create_conferences: Some(false),
            ..PolicyLimits::default()
        };
        store
            .set_policy(Some("carol@example.com"), no)
            .await
            .expect("carol may not create");
    })
    .await;
    let mut carol = Member::new(&srv, "carol", false).await;
    let refused = carol.join("conf-factory", false).await;
    assert_eq!(refused.status(), 403, "{}", refused.text);

    let mut alice = Member::new(&srv, "alice", false).await;
    let uri = conference_uri(&alice.join("conf-factory", false).await);
    let mut bob = Member::new(&srv, "bob", true).await;
    let uninvited = bob.join(&conf_user(&uri), false).await;
    assert_eq!(
        uninvited.status(),
        403,
        "closed to the domain:\n{}",
        uninvited.text
    );
    let nobody = bob.join(&format!("conf-{}", "0".repeat(32)), false).await;
    assert_eq!(nobody.status(), 404);

    // Invited, bob may join by himself.
    assert_eq!(
        alice.refer(&format!("<sip:bob@{DOMAIN}>")).await.status(),
        202
    );
    let invite = bob.request("INVITE").await;
    bob.ep.reply(&invite, 603, &unique("b")).await;
    let joined = bob.join(&conf_user(&uri), false).await;
    assert_eq!(joined.status(), 200, "{}", joined.text);

    // Full at two.
    assert_eq!(
        alice.refer(&format!("<sip:carol@{DOMAIN}>")).await.status(),
        202
    );
    let mut last = None;
    while last.is_none() {
        let n = alice.request("NOTIFY").await;
        if n.must("Subscription-State").starts_with("terminated") && n.body.contains("486") {
            last = Some(n);
        }
    }
    carol
        .quiet(Duration::from_millis(300), "no INVITE to a full conference")
        .await;
    let foreign = alice.refer("<sip:someone@elsewhere.test>").await;
    assert_eq!(foreign.status(), 403);
}

#[tokio::test]
async fn a_participant_that_stops_answering_is_dropped_and_the_others_keep_up() {
    let config = ConferenceConfig {
        participant_queue: 4,
        stall_timeout: Duration::from_millis(600),
        ..ConferenceConfig::default()
    };
    let srv = server(config, async |_| {}).await;
    let mut alice = Member::new(&srv, "alice", false).await;
    let mut carol = Member::new(&srv, "carol", false).await;
    let mut bob = Member::new(&srv, "bob", false).await;
    let uri = conference_uri(&alice.join("conf-factory", false).await);
    assert_eq!(carol.join(&conf_user(&uri), false).await.status(), 200);
    assert_eq!(bob.join(&conf_user(&uri), false).await.status(), 200);
    assert_eq!(carol.subscribe_roster(&uri, 600).await.status(), 200);
    let _full = carol.request("NOTIFY").await;

    // Bob reads nothing from now on: his first MESSAGE is never answered and his queue
    // fills. Until he has been silent for the stall timeout, alice is asked to retry
    // (503: nobody is dropped for what could be the server's own backlog); then bob is
    // dropped and every message reaches carol, in order.
    let mut deferred = 0;
    for i in 1..=10 {
        loop {
            let resp = alice
                .in_dialog("MESSAGE", "text/plain", &format!("m{i}"))
                .await;
            if resp.status() == 200 {
                break;
            }
            assert_eq!(resp.status(), 503, "{}", resp.text);
            assert_eq!(resp.get("Retry-After").as_deref(), Some("1"));
            deferred += 1;
            assert!(deferred < 50, "bob was never dropped");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let m = carol.request("MESSAGE").await;
        assert_eq!(m.body, format!("m{i}"));
    }
    assert!(
        deferred > 0,
        "the full queue first pushed back on the sender"
    );
    let booted = carol.request("NOTIFY").await;
    assert!(
        booted
            .body
            .contains(&format!("entity=\"sip:bob@{DOMAIN}\" state=\"deleted\"")),
        "{}",
        booted.body
    );
    assert!(booted.body.contains("booted"), "{}", booted.body);
    let stats = srv.server.conference_stats();
    assert_eq!((stats.dropped_slow, stats.participants), (1, 2));
    assert_eq!(stats.deferred, deferred);
    drop(bob);
}
