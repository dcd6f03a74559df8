//! Presence through the whole server over real sockets on loopback: PUBLISH with
//! entity tags (RFC 3903), aggregation over every endpoint of a user, SUBSCRIBE/NOTIFY
//! (RFC 6665, RFC 3856) with refresh, fetch and unsubscribe, access levels changed
//! while watchers watch, watcher info (RFC 3857) and contact lists (RFC 4662).
//!
//! NOTIFY bodies are read with herald-pidf's parsers; the SIP around them with the
//! harness's own reader.
// The harness is shared with tests/im.rs; this file uses only part of it.
#[allow(dead_code)]
mod common;

use common::{DOMAIN, Digest, Endpoint, Sip, TestServer, authorization, challenge_params, unique};
use herald_auth::Algorithm;
use herald_pidf::multipart::parse_rlmi_notify;
use herald_pidf::{AccessLevel, Aggregate, Band, Limits, Publication, parse_pidf};
use herald_store::{AccessSubject, NewContact, NewUser, PolicyLimits, SqliteStore, Store};
use std::collections::VecDeque;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(700);

/// A user's SIP client on one socket that PUBLISHes and SUBSCRIBEs with digest
/// authentication (401, like REGISTER) and answers every NOTIFY 200, keeping them.
struct Client {
    ep: Endpoint,
    notifies: VecDeque<Sip>,
    nonce: Option<(String, String)>,
    nc: u32,
}

/// One subscription from the watcher's side.
struct Watch {
    call_id: String,
    from: String,
    /// To with the notifier's tag.
    to: String,
    /// The notifier's Contact: the Request-URI of refreshes.
    target: String,
    event: String,
    cseq: u32,
}

fn aor(user: &str) -> String {
    format!("{user}@{DOMAIN}")
}

fn pidf(user: &str, activity: Option<&str>, note: Option<&str>) -> String {
    let activity = activity
        .map(|a| format!("<rpid:activities><rpid:{a}/></rpid:activities>"))
        .unwrap_or_default();
    let note = note
        .map(|n| format!("<dm:note>{n}</dm:note>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" \
         entity=\"sip:{user}@{DOMAIN}\"><tuple id=\"t1\"><status><basic>open</basic></status></tuple>\
         <dm:person id=\"p1\">{activity}{note}</dm:person></presence>"
    )
}

fn body_of(notify: &Sip) -> Publication {
    parse_pidf(notify.body.as_bytes(), &Limits::DOCUMENT)
        .unwrap_or_else(|e| panic!("NOTIFY body is not PIDF ({e}):\n{}", notify.text))
}

fn band(notify: &Sip) -> Band {
    body_of(notify).availability().band()
}

fn personal_notes(notify: &Sip) -> Vec<String> {
    body_of(notify)
        .person
        .map(|p| p.notes.into_iter().map(|n| n.text).collect())
        .unwrap_or_default()
}

impl Client {
    async fn tcp(srv: &TestServer, user: &str) -> Client {
        Client::wrap(srv.tcp(user).await)
    }

    async fn udp(srv: &TestServer, user: &str) -> Client {
        Client::wrap(srv.udp(user).await)
    }

    fn wrap(ep: Endpoint) -> Client {
        Client {
            ep,
            notifies: VecDeque::new(),
            nonce: None,
            nc: 0,
        }
    }

    /// Sends a request built by `head(cseq, auth)` (auth: an Authorization line or "")
    /// and returns its final response, answering a 401 once. NOTIFYs meanwhile are
    /// answered and kept.
    async fn exchange(
        &mut self,
        method: &str,
        uri: &str,
        cseq: &mut u32,
        build: impl Fn(u32, &str, &str) -> String,
    ) -> Sip {
        let mut challenged = false;
        loop {
            *cseq += 1;
            let auth = match &self.nonce {
                Some((nonce, opaque)) => {
                    self.nc += 1;
                    let user = self.ep.user.clone();
                    authorization(
                        &Digest {
                            header: "Authorization",
                            user: &user,
                            password: common::password(&user),
                            method,
                            uri,
                            nc: self.nc,
                        },
                        nonce,
                        opaque,
                    )
                }
                None => String::new(),
            };
            let branch = format!("z9hG4bK{}", unique("b"));
            let msg = build(*cseq, &auth, &self.ep.via(&branch));
            self.ep.send(&msg).await;
            let resp = self.final_response(method).await;
            if resp.status() == 401 && !challenged {
                challenged = true;
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

    async fn final_response(&mut self, method: &str) -> Sip {
        loop {
            let m = self.ep.expect(&format!("response to {method}")).await;
            if m.is_request() {
                assert_eq!(m.method(), "NOTIFY", "unexpected request:\n{}", m.text);
                self.ep.reply(&m, 200, "w").await;
                self.notifies.push_back(m);
                continue;
            }
            if m.cseq().1 == method && m.status() >= 200 {
                return m;
            }
        }
    }

    /// The next NOTIFY (answered 200).
    async fn notify(&mut self) -> Sip {
        if let Some(n) = self.notifies.pop_front() {
            return n;
        }
        let n = self.ep.expect_request("NOTIFY").await;
        self.ep.reply(&n, 200, "w").await;
        n
    }

    /// No NOTIFY within `wait`.
    async fn no_notify(&mut self, wait: Duration, why: &str) {
        if let Some(n) = self.notifies.pop_front() {
            panic!("{}: {why}, but got:\n{}", self.ep.user, n.text);
        }
        self.ep.expect_silence(wait, why).await;
    }

    async fn publish(&mut self, etag: Option<&str>, expires: u32, body: Option<&str>) -> Sip {
        self.publish_raw(
            &aor(&self.ep.user.clone()),
            "presence",
            etag,
            expires,
            "application/pidf+xml",
            body,
        )
        .await
    }

    async fn publish_raw(
        &mut self,
        to: &str,
        event: &str,
        etag: Option<&str>,
        expires: u32,
        ctype: &str,
        body: Option<&str>,
    ) -> Sip {
        let (call_id, tag, user) = (unique("pub-"), unique("t"), self.ep.user.clone());
        let uri = format!("sip:{to}");
        let if_match = etag
            .map(|e| format!("SIP-If-Match: {e}\r\n"))
            .unwrap_or_default();
        let (ctype_line, body) = match body {
            Some(b) => (format!("Content-Type: {ctype}\r\n"), b.to_owned()),
            None => (String::new(), String::new()),
        };
        let mut cseq = 0;
        self.exchange("PUBLISH", &uri.clone(), &mut cseq, |cseq, auth, via| {
            format!(
                "PUBLISH {uri} SIP/2.0\r\n{via}Max-Forwards: 70\r\nFrom: <sip:{user}@{DOMAIN}>;tag={tag}\r\n\
                 To: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} PUBLISH\r\nEvent: {event}\r\n\
                 Expires: {expires}\r\n{if_match}{auth}{ctype_line}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        })
        .await
    }

    /// SUBSCRIBE to `target` (an AOR or list URI user@domain) for `event`.
    async fn subscribe(
        &mut self,
        target: &str,
        event: &str,
        expires: u32,
        extra: &str,
    ) -> (Sip, Watch) {
        let (call_id, tag, user) = (unique("sub-"), unique("t"), self.ep.user.clone());
        let uri = format!("sip:{target}");
        let contact = self.ep.contact.clone();
        let from = format!("<sip:{user}@{DOMAIN}>;tag={tag}");
        let mut cseq = 0;
        let resp = self
            .exchange("SUBSCRIBE", &uri.clone(), &mut cseq, |cseq, auth, via| {
                format!(
                    "SUBSCRIBE {uri} SIP/2.0\r\n{via}Max-Forwards: 70\r\nFrom: {from}\r\nTo: <{uri}>\r\n\
                     Call-ID: {call_id}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <{contact}>\r\nEvent: {event}\r\n\
                     Expires: {expires}\r\n{extra}{auth}Content-Length: 0\r\n\r\n"
                )
            })
            .await;
        let watch = Watch {
            call_id,
            from: from.clone(),
            to: resp.get("To").unwrap_or_default(),
            target: resp
                .get("Contact")
                .map(|c| common::uri_of(&c))
                .unwrap_or_default(),
            event: event.to_owned(),
            cseq,
        };
        (resp, watch)
    }

    /// A SUBSCRIBE within the subscription's dialog (refresh; 0 unsubscribes).
    async fn resubscribe(&mut self, w: &mut Watch, expires: u32) -> Sip {
        w.cseq += 1;
        let branch = format!("z9hG4bK{}", unique("b"));
        let msg = format!(
            "SUBSCRIBE {} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\n\
             CSeq: {} SUBSCRIBE\r\nContact: <{}>\r\nEvent: {}\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n",
            w.target,
            self.ep.via(&branch),
            w.from,
            w.to,
            w.call_id,
            w.cseq,
            self.ep.contact,
            w.event,
        );
        self.ep.send(&msg).await;
        self.final_response("SUBSCRIBE").await
    }
}

async fn server() -> TestServer {
    TestServer::start(common::im_config()).await
}

async fn rules_changed(srv: &TestServer, owner: &str) {
    srv.server.presence_rules_changed(owner).await;
}

#[tokio::test]
async fn watchers_see_every_endpoint_aggregated() {
    let srv = server().await;
    let mut bob = Client::tcp(&srv, "bob").await;
    let (ok, _) = bob.subscribe(&aor("alice"), "presence", 600, "").await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    assert!(ok.get("Expires").is_some_and(|e| e == "600"), "{}", ok.text);
    let first = bob.notify().await;
    assert!(
        first
            .must("Subscription-State")
            .starts_with("active;expires="),
        "{}",
        first.text
    );
    assert_eq!(first.must("Event"), "presence");
    assert_eq!(band(&first), Band::Offline, "nobody online yet");

    // Alice's PC registers: registered and never published counts as Available.
    let mut pc = Client::udp(&srv, "alice").await;
    pc.ep.register(600).await;
    assert_eq!(band(&bob.notify().await), Band::Available);

    // The PC publishes busy with a note: bob (Public) sees busy but not the note.
    let ok = pc
        .publish(
            None,
            600,
            Some(&pidf("alice", Some("busy"), Some("budget review"))),
        )
        .await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    let pc_etag = ok.must("SIP-ETag");
    let n = bob.notify().await;
    assert_eq!(band(&n), Band::Busy);
    assert!(
        personal_notes(&n).is_empty(),
        "Public sees no note:\n{}",
        n.text
    );
    assert!(!n.body.contains("budget review"));

    // Her phone (TCP) registers and says away: busy and active still wins.
    let mut phone = Client::tcp(&srv, "alice").await;
    phone.ep.register(600).await;
    let ok = phone
        .publish(None, 600, Some(&pidf("alice", Some("away"), None)))
        .await;
    assert_eq!(ok.status(), 200);
    bob.no_notify(QUIET, "the aggregate did not change").await;

    // The PC withdraws its publication (as clients do when signing out, just before
    // un-registering): it no longer counts, so the away phone is all that is left,
    // with no "available" moment in between.
    let ok = pc.publish(Some(&pc_etag), 0, None).await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    assert_eq!(ok.get("Expires").as_deref(), Some("0"));
    assert_eq!(band(&bob.notify().await), Band::Away);
    pc.ep.register(0).await;
    bob.no_notify(QUIET, "the PC had already signed out").await;
    // A fresh registration of the PC that never publishes counts as Available again.
    let mut pc = Client::udp(&srv, "alice").await;
    pc.ep.register(600).await;
    assert_eq!(band(&bob.notify().await), Band::Available);
    pc.ep.register(0).await;
    assert_eq!(band(&bob.notify().await), Band::Away);

    // The phone's connection drops: no endpoint left, offline.
    drop(phone);
    assert_eq!(band(&bob.notify().await), Band::Offline);
}

#[tokio::test]
async fn publication_entity_tags_and_bad_publications() {
    let srv = server().await;
    let mut alice = Client::udp(&srv, "alice").await;
    let doc = pidf("alice", None, None);

    let first = alice.publish(None, 600, Some(&doc)).await;
    assert_eq!(first.status(), 200, "{}", first.text);
    let e1 = first.must("SIP-ETag");
    // A refresh (no body) gets a new tag; the old one is then unknown.
    let refreshed = alice.publish(Some(&e1), 600, None).await;
    assert_eq!(refreshed.status(), 200);
    let e2 = refreshed.must("SIP-ETag");
    assert_ne!(e1, e2);
    assert_eq!(alice.publish(Some(&e1), 600, None).await.status(), 412);
    assert_eq!(
        alice.publish(Some("nope"), 600, Some(&doc)).await.status(),
        412
    );
    // Modify with the current tag.
    let modified = alice
        .publish(Some(&e2), 600, Some(&pidf("alice", Some("busy"), None)))
        .await;
    assert_eq!(modified.status(), 200);

    let bad_xml = alice.publish(None, 600, Some("<presence><tuple>")).await;
    assert_eq!(bad_xml.status(), 400, "{}", bad_xml.text);
    assert!(
        bad_xml.text.lines().next().unwrap_or_default().len() > "SIP/2.0 400 Bad Request".len(),
        "the reason says what is wrong: {}",
        bad_xml.text
    );
    let not_pidf = alice
        .publish_raw(
            &aor("alice"),
            "presence",
            None,
            600,
            "text/plain",
            Some("hello"),
        )
        .await;
    assert_eq!(not_pidf.status(), 415);
    assert_eq!(
        not_pidf.get("Accept").as_deref(),
        Some("application/pidf+xml")
    );
    let brief = alice.publish(None, 10, Some(&doc)).await;
    assert_eq!(brief.status(), 423);
    assert_eq!(brief.get("Min-Expires").as_deref(), Some("60"));
    let no_body = alice.publish(None, 600, None).await;
    assert_eq!(no_body.status(), 400);
    let huge = pidf("alice", None, Some(&"x".repeat(20_000)));
    assert_eq!(alice.publish(None, 600, Some(&huge)).await.status(), 413);
    let for_bob = alice
        .publish_raw(
            &aor("bob"),
            "presence",
            None,
            600,
            "application/pidf+xml",
            Some(&doc),
        )
        .await;
    assert_eq!(for_bob.status(), 403, "only one's own presence");
    let wrong_event = alice
        .publish_raw(
            &aor("alice"),
            "dialog",
            None,
            600,
            "application/pidf+xml",
            Some(&doc),
        )
        .await;
    assert_eq!(wrong_event.status(), 489);
    assert_eq!(srv.server.presence_stats().publications, 1);
}

#[tokio::test]
async fn subscriptions_refresh_fetch_unsubscribe_and_limits() {
    let srv = server().await;
    let mut bob = Client::tcp(&srv, "bob").await;

    let (brief, _) = bob.subscribe(&aor("alice"), "presence", 5, "").await;
    assert_eq!(brief.status(), 423);
    assert_eq!(brief.get("Min-Expires").as_deref(), Some("60"));
    let (unknown_event, _) = bob.subscribe(&aor("alice"), "dialog", 600, "").await;
    assert_eq!(unknown_event.status(), 489);
    assert!(unknown_event.must("Allow-Events").contains("presence"));
    let (nobody, _) = bob.subscribe(&aor("nobody"), "presence", 600, "").await;
    assert_eq!(nobody.status(), 404);
    let (long, _) = bob.subscribe(&aor("carol"), "presence", 100_000, "").await;
    assert_eq!(
        long.get("Expires").as_deref(),
        Some("43200"),
        "lowered to the maximum"
    );
    let _ = bob.notify().await;

    // Fetch: one NOTIFY with the state, terminated, and nothing after.
    let (fetch, _) = bob.subscribe(&aor("alice"), "presence", 0, "").await;
    assert_eq!(fetch.status(), 200);
    let n = bob.notify().await;
    assert_eq!(n.must("Subscription-State"), "terminated;reason=timeout");
    assert_eq!(band(&n), Band::Offline);

    // Refresh within the dialog: 200 and a NOTIFY of the full state, CSeq going up.
    let (ok, mut w) = bob.subscribe(&aor("alice"), "presence", 120, "").await;
    assert_eq!(ok.status(), 200);
    let first = bob.notify().await;
    let refreshed = bob.resubscribe(&mut w, 300).await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.text);
    assert_eq!(refreshed.get("Expires").as_deref(), Some("300"));
    let second = bob.notify().await;
    assert!(second.cseq().0 > first.cseq().0);
    assert!(second.must("Subscription-State").starts_with("active"));
    // Unsubscribe: a last NOTIFY saying so.
    assert_eq!(bob.resubscribe(&mut w, 0).await.status(), 200);
    assert_eq!(
        bob.notify().await.must("Subscription-State"),
        "terminated;reason=timeout"
    );
    // The dialog is gone.
    assert_eq!(bob.resubscribe(&mut w, 300).await.status(), 481);

    // Policy: bob may hold one subscription (he holds the one to carol).
    srv.store
        .set_policy(
            Some(&aor("bob")),
            PolicyLimits {
                max_subscriptions: Some(1),
                ..PolicyLimits::default()
            },
        )
        .await
        .unwrap();
    rules_changed(&srv, &aor("bob")).await;
    let (over, _) = bob.subscribe(&aor("alice"), "presence", 600, "").await;
    assert_eq!(over.status(), 403, "{}", over.text);
    assert!(over.must("Warning").contains("limit"), "{}", over.text);
}

#[tokio::test]
async fn access_levels_decide_what_each_watcher_sees_and_changes_apply_at_once() {
    let srv = server().await;
    let (alice, bob, carol) = (aor("alice"), aor("bob"), aor("carol"));
    srv.store
        .set_access(&alice, &AccessSubject::User(bob.clone()), Some("friends"))
        .await
        .unwrap();
    srv.store
        .set_access(
            &alice,
            &AccessSubject::User(carol.clone()),
            Some("colleagues"),
        )
        .await
        .unwrap();
    let mut pc = Client::udp(&srv, "alice").await;
    pc.ep.register(600).await;
    let ok = pc
        .publish(
            None,
            600,
            Some(&pidf("alice", Some("busy"), Some("dentist at 4"))),
        )
        .await;
    assert_eq!(ok.status(), 200);

    let mut b = Client::tcp(&srv, "bob").await;
    let mut c = Client::tcp(&srv, "carol").await;
    assert_eq!(
        b.subscribe(&alice, "presence", 600, "").await.0.status(),
        200
    );
    assert_eq!(
        c.subscribe(&alice, "presence", 600, "").await.0.status(),
        200
    );
    let friend = b.notify().await;
    let colleague = c.notify().await;
    assert_eq!(band(&friend), Band::Busy);
    assert_eq!(band(&colleague), Band::Busy);
    assert_eq!(personal_notes(&friend), vec!["dentist at 4".to_owned()]);
    assert!(personal_notes(&colleague).is_empty(), "{}", colleague.text);

    // Alice blocks carol: carol is told at once that alice is offline, in exactly the
    // document of someone offline (she cannot tell she is blocked).
    srv.store
        .set_access(&alice, &AccessSubject::User(carol.clone()), Some("blocked"))
        .await
        .unwrap();
    rules_changed(&srv, &alice).await;
    let blocked = c.notify().await;
    let offline = herald_pidf::render(
        &Aggregate::offline(),
        &format!("sip:{alice}"),
        AccessLevel::Public,
    );
    assert_eq!(blocked.body, offline);
    // Changes of alice's state reach bob but carol hears nothing more.
    pc.publish(None, 600, Some(&pidf("alice", Some("away"), None)))
        .await;
    assert_eq!(band(&b.notify().await), Band::Away);
    c.no_notify(QUIET, "a blocked watcher learns nothing").await;
    // A new subscription of hers gets offline too.
    let mut c2 = Client::udp(&srv, "carol").await;
    assert_eq!(
        c2.subscribe(&alice, "presence", 600, "").await.0.status(),
        200
    );
    assert_eq!(c2.notify().await.body, offline);

    // Privacy mode: someone not on alice's list (and without a rule) sees offline.
    let mut outsider = Client::tcp(&srv, "bob").await;
    srv.store
        .set_access(&alice, &AccessSubject::User(bob.clone()), None)
        .await
        .unwrap();
    srv.store.set_privacy_mode(&alice, true).await.unwrap();
    rules_changed(&srv, &alice).await;
    assert_eq!(
        b.notify().await.body,
        offline,
        "bob is off the list: hidden"
    );
    assert_eq!(
        outsider
            .subscribe(&alice, "presence", 600, "")
            .await
            .0
            .status(),
        200
    );
    assert_eq!(outsider.notify().await.body, offline);
    // On the list he is a colleague again.
    srv.store
        .add_contact(
            &alice,
            NewContact {
                contact: bob.clone(),
                display_name: None,
                groups: vec![],
            },
            250,
        )
        .await
        .unwrap();
    rules_changed(&srv, &alice).await;
    assert_eq!(band(&b.notify().await), Band::Away);
}

#[tokio::test]
async fn watcher_info_shows_who_watches_and_only_to_the_owner() {
    let srv = server().await;
    let (alice, bob) = (aor("alice"), aor("bob"));
    let mut a = Client::tcp(&srv, "alice").await;
    let accept = "Accept: application/watcherinfo+xml\r\n";
    let (ok, _) = a.subscribe(&alice, "presence.winfo", 600, accept).await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    let empty = a.notify().await;
    assert_eq!(empty.must("Content-Type"), "application/watcherinfo+xml");
    assert!(!empty.body.contains("<watcher "), "{}", empty.text);

    let mut b = Client::tcp(&srv, "bob").await;
    let (_, mut w) = b.subscribe(&alice, "presence", 600, "").await;
    let n = a.notify().await;
    assert!(
        n.body.contains("status=\"pending\"") && n.body.contains("sip:bob@example.com"),
        "an unknown watcher is someone to prompt about:\n{}",
        n.body
    );
    // Alice adds bob to her contacts: he becomes an active watcher.
    srv.store
        .add_contact(
            &alice,
            NewContact {
                contact: bob.clone(),
                display_name: Some("Bob".into()),
                groups: vec!["Team".into()],
            },
            250,
        )
        .await
        .unwrap();
    rules_changed(&srv, &alice).await;
    let n = a.notify().await;
    assert!(n.body.contains("status=\"active\""), "{}", n.body);
    // Bob leaves: reported once as terminated.
    b.resubscribe(&mut w, 0).await;
    let n = a.notify().await;
    assert!(n.body.contains("status=\"terminated\""), "{}", n.body);
    // The next document (carol starts watching) lists carol, and bob no more.
    let mut c = Client::udp(&srv, "carol").await;
    c.subscribe(&alice, "presence", 600, "").await;
    let n = a.notify().await.body;
    assert!(n.contains("sip:carol@example.com"), "{n}");
    assert!(!n.contains("sip:bob@example.com"), "gone afterwards:\n{n}");

    // Bob may not see who watches alice.
    let (forbidden, _) = b.subscribe(&alice, "presence.winfo", 600, accept).await;
    assert_eq!(forbidden.status(), 403);
}

#[tokio::test]
async fn a_contact_list_subscription_carries_every_contact_then_only_changes() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    common::add_users(&store).await;
    let alice = aor("alice");
    for i in 1..=50 {
        let user = format!("u{i:02}");
        store
            .add_user(NewUser {
                username: user.clone(),
                domain: DOMAIN.into(),
                display_name: Some(format!("User {i}")),
                ha1_md5: herald_auth::ha1(Algorithm::Md5, &user, DOMAIN, "pw"),
                ha1_sha256: herald_auth::ha1(Algorithm::Sha256, &user, DOMAIN, "pw"),
            })
            .await
            .unwrap();
        store
            .add_contact(
                &alice,
                NewContact {
                    contact: aor(&user),
                    display_name: None,
                    groups: vec!["Everyone".into()],
                },
                250,
            )
            .await
            .unwrap();
    }
    let srv = TestServer::start_on(store, common::im_config()).await;
    let mut a = Client::tcp(&srv, "alice").await;
    let list = format!("alice+contacts@{DOMAIN}");
    let accept = "Accept: application/pidf+xml, application/rlmi+xml, multipart/related\r\n";

    let (no_ext, _) = a.subscribe(&list, "presence", 600, accept).await;
    assert_eq!(no_ext.status(), 421);
    assert_eq!(no_ext.get("Require").as_deref(), Some("eventlist"));
    let mut bob = Client::tcp(&srv, "bob").await;
    let extra = format!("Supported: eventlist\r\n{accept}");
    assert_eq!(
        bob.subscribe(&list, "presence", 600, &extra)
            .await
            .0
            .status(),
        403
    );

    let (ok, _) = a.subscribe(&list, "presence", 600, &extra).await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    assert_eq!(ok.get("Require").as_deref(), Some("eventlist"));
    let full = a.notify().await;
    assert_eq!(full.get("Require").as_deref(), Some("eventlist"));
    let parsed = parse_rlmi_notify(
        &full.must("Content-Type"),
        full.body.as_bytes(),
        &Limits::LISTS,
    )
    .unwrap_or_else(|e| panic!("bad list NOTIFY ({e}):\n{}", full.text));
    assert!(parsed.list.full_state);
    assert_eq!(parsed.list.resources.len(), 50);
    assert_eq!(parsed.parts.len(), 50, "one PIDF per contact");
    assert_eq!(parsed.list.resources[0].names[0].text, "User 1");
    for part in &parsed.parts {
        let doc = parse_pidf(&part.body, &Limits::DOCUMENT).unwrap();
        assert_eq!(doc.availability().band(), Band::Offline);
    }

    // u07 comes online: a partial NOTIFY with u07 alone.
    let mut u07 = Endpoint::udp(srv.udp, "u07").await;
    u07_register(&mut u07).await;
    let partial = a.notify().await;
    let parsed = parse_rlmi_notify(
        &partial.must("Content-Type"),
        partial.body.as_bytes(),
        &Limits::LISTS,
    )
    .unwrap();
    assert!(!parsed.list.full_state);
    assert_eq!(parsed.list.resources.len(), 1, "{}", partial.body);
    assert_eq!(parsed.list.resources[0].uri, format!("sip:u07@{DOMAIN}"));
    let doc = parse_pidf(&parsed.parts[0].body, &Limits::DOCUMENT).unwrap();
    assert_eq!(doc.availability().band(), Band::Available);
}

/// Registers `ep` (whose user's password is "pw", unlike the harness's users).
async fn u07_register(ep: &mut Endpoint) {
    let send = |auth: String, cseq: u32, ep: &Endpoint| {
        let branch = format!("z9hG4bK{}", unique("r"));
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: <sip:u07@{DOMAIN}>;tag=r1\r\n\
             To: <sip:u07@{DOMAIN}>\r\nCall-ID: reg-u07\r\nCSeq: {cseq} REGISTER\r\nContact: <{}>\r\n\
             Expires: 600\r\n{auth}Content-Length: 0\r\n\r\n",
            ep.via(&branch),
            ep.contact
        )
    };
    let msg = send(String::new(), 1, ep);
    ep.send(&msg).await;
    let challenge = ep.expect_response("REGISTER").await;
    let (nonce, opaque) = challenge_params(&challenge, "WWW-Authenticate", Algorithm::Sha256);
    let uri = format!("sip:{DOMAIN}");
    let auth = authorization(
        &Digest {
            header: "Authorization",
            user: "u07",
            password: "pw",
            method: "REGISTER",
            uri: &uri,
            nc: 1,
        },
        &nonce,
        &opaque,
    );
    let msg = send(auth, 2, ep);
    ep.send(&msg).await;
    assert_eq!(ep.expect_response("REGISTER").await.status(), 200);
}

#[tokio::test]
async fn a_blocked_sender_gets_the_offline_answer_and_nothing_is_delivered() {
    let srv = server().await;
    let alice = aor("alice");
    srv.store
        .set_access(&alice, &AccessSubject::User(aor("bob")), Some("blocked"))
        .await
        .unwrap();
    let mut device = srv.udp("alice").await;
    device.register(600).await;

    let mut bob = srv.udp("bob").await;
    bob.send_pager(&common::Pager::text(&alice, "hello?")).await;
    let answer = bob.expect_response("MESSAGE").await;
    assert_eq!(
        answer.status(),
        202,
        "what an offline user's sender gets:\n{}",
        answer.text
    );
    device
        .expect_silence(QUIET, "a blocked sender's message is not delivered")
        .await;

    // Someone not blocked reaches her.
    let mut carol = srv.udp("carol").await;
    carol
        .send_pager(&common::Pager::text(&alice, "lunch?"))
        .await;
    let delivered = device.expect_request("MESSAGE").await;
    assert_eq!(delivered.body, "lunch?");
    device.reply(&delivered, 200, "d").await;
    assert_eq!(carol.expect_response("MESSAGE").await.status(), 200);
}

/// Reads one SIP message from a TCP stream (headers, then Content-Length bytes).
async fn read_tcp_message(stream: &mut tokio::net::TcpStream) -> Sip {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Sip::parse(&buf[..end + 4 + len]);
            }
        }
        let mut chunk = vec![0u8; 65536];
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("a message over TCP in time")
            .expect("TCP read");
        assert!(n > 0, "connection closed before a whole message");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn a_list_too_large_for_a_datagram_comes_over_tcp_and_removed_users_end_subscriptions() {
    use tokio::io::AsyncWriteExt;
    let store = SqliteStore::open_in_memory().await.unwrap();
    common::add_users(&store).await;
    let alice = aor("alice");
    for contact in ["bob", "carol"] {
        store
            .add_contact(
                &alice,
                NewContact {
                    contact: aor(contact),
                    display_name: Some(format!(
                        "{contact} with a long display name to fill the datagram"
                    )),
                    groups: vec![],
                },
                250,
            )
            .await
            .unwrap();
    }
    let srv = TestServer::start_on(store, common::im_config()).await;
    let mut a = Client::udp(&srv, "alice").await;
    // The watcher listens on TCP at the port of its UDP Contact, as SIP clients do.
    let port: u16 = a.ep.contact.rsplit(':').next().unwrap().parse().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let extra = "Supported: eventlist\r\nAccept: application/pidf+xml, application/rlmi+xml, multipart/related\r\n";
    let (ok, _) = a
        .subscribe(&format!("alice+contacts@{DOMAIN}"), "presence", 600, extra)
        .await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    let (mut stream, _) = tokio::time::timeout(common::WAIT, listener.accept())
        .await
        .expect("the server connects over TCP")
        .unwrap();
    let notify = read_tcp_message(&mut stream).await;
    assert_eq!(notify.method(), "NOTIFY");
    assert!(notify.text.len() > 1300, "{} bytes", notify.text.len());
    assert!(
        notify.must("Via").starts_with("SIP/2.0/TCP"),
        "{}",
        notify.text
    );
    let parsed = parse_rlmi_notify(
        &notify.must("Content-Type"),
        notify.body.as_bytes(),
        &Limits::LISTS,
    )
    .unwrap();
    assert_eq!(parsed.list.resources.len(), 2);
    let vias: String = notify
        .all("Via")
        .iter()
        .map(|v| format!("Via: {v}\r\n"))
        .collect();
    let reply = format!(
        "SIP/2.0 200 OK\r\n{vias}From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
        notify.must("From"),
        notify.must("To"),
        notify.must("Call-ID"),
        notify.must("CSeq")
    );
    stream.write_all(reply.as_bytes()).await.unwrap();
    a.no_notify(QUIET, "nothing more over UDP").await;

    // A watcher of a user who is then removed is told the resource is gone.
    let mut bob = Client::tcp(&srv, "bob").await;
    bob.subscribe(&aor("carol"), "presence", 600, "").await;
    let _ = bob.notify().await;
    srv.store.remove_user(&aor("carol")).await.unwrap();
    srv.server.user_changed(&aor("carol"), false).await;
    assert_eq!(
        bob.notify().await.must("Subscription-State"),
        "terminated;reason=noresource"
    );
}
