//! The IM proxy path through the whole server over real sockets on loopback: pager
//! MESSAGE forked to every device (RFC 3428, RFC 3261 §16), the sender's identity and
//! the request's limits checked, offline store-and-forward across a restart, INVITE
//! sessions with a record-routed route set, CANCEL, BYE when a device's connection
//! closes, forged routes refused, and archiving.
mod common;

use common::{
    DOMAIN, Endpoint, Pager, Session, TYPING_BODY, TYPING_TYPE, TestServer, add_users, im_config,
    param, tag_of, unique, uri_of,
};
use herald_im::ImConfig;
use herald_store::{ArchiveRecord, ImMode, SqliteStore, Store};
use std::time::{Duration, Instant};

const SHORT: Duration = Duration::from_millis(700);

fn bob() -> String {
    format!("bob@{DOMAIN}")
}

/// A UDP device of `user`, registered.
async fn device(srv: &TestServer, user: &str) -> Endpoint {
    let mut d = srv.udp(user).await;
    d.register(600).await;
    d
}

/// Skips provisional responses to `method` and returns the final one.
async fn final_response(ep: &mut Endpoint, method: &str) -> common::Sip {
    loop {
        let r = ep.expect_response(method).await;
        if r.status() >= 200 {
            return r;
        }
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`, as §20.17 wants it.
fn is_sip_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split(' ').collect();
    let days = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let time_ok = |t: &str| {
        let fields: Vec<&str> = t.split(':').collect();
        fields.len() == 3 && fields.iter().all(|f| digits(f, 2))
    };
    matches!(parts.as_slice(), [day, dd, mon, yyyy, time, "GMT"]
        if days.contains(day) && digits(dd, 2) && months.contains(mon)
            && digits(yyyy, 4) && time_ok(time))
}

#[tokio::test]
async fn pager_message_reaches_every_device_and_a_2xx_from_any_wins() {
    let srv = TestServer::start(im_config()).await;
    let mut dev1 = device(&srv, "bob").await;
    let mut dev2 = srv.udp("bob").await;
    let ok = dev2.register(600).await;
    assert_eq!(ok.all("Contact").len(), 2, "two bindings:\n{}", ok.text);
    let mut alice = srv.udp("alice").await;
    let bob = bob();

    // The 486 comes first, then the 200: the 200 goes up, the 486 does not.
    let call_id = alice.send_pager(&Pager::text(&bob, "hello bob")).await;
    let m1 = dev1.expect_request("MESSAGE").await;
    let m2 = dev2.expect_request("MESSAGE").await;
    for (dev, m) in [(&dev1, &m1), (&dev2, &m2)] {
        assert_eq!(m.uri(), dev.contact, "R-URI is the binding's Contact");
        assert_eq!(m.must("Max-Forwards"), "69", "{}", m.text);
        let vias = m.all("Via");
        assert_eq!(vias.len(), 2, "ours on top of the sender's:\n{}", m.text);
        assert!(
            vias[0].starts_with(&format!("SIP/2.0/UDP {}", srv.udp)),
            "{}",
            m.text
        );
        assert!(m.top_branch().starts_with("z9hG4bKhx"), "{}", m.text);
        assert!(
            m.get("Proxy-Authorization").is_none(),
            "credentials were for the server (RFC 3261 §22.3):\n{}",
            m.text
        );
        assert_eq!(m.must("Call-ID"), call_id);
        assert_eq!(m.body, "hello bob");
        assert_eq!(m.tag("To"), None);
    }
    assert_ne!(m1.top_branch(), m2.top_branch(), "one branch per device");
    dev2.reply(&m2, 486, "d2").await;
    dev1.reply(&m1, 200, "d1").await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);
    assert_eq!(resp.tag("To").as_deref(), Some("d1"), "{}", resp.text);
    assert_eq!(resp.all("Via").len(), 1, "our Via removed:\n{}", resp.text);
    alice
        .expect_silence(SHORT, "one final response per request")
        .await;

    // The 200 first, then the 486: still only the 200.
    alice.send_pager(&Pager::text(&bob, "again")).await;
    let m1 = dev1.expect_request("MESSAGE").await;
    let m2 = dev2.expect_request("MESSAGE").await;
    dev1.reply(&m1, 200, "d1").await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);
    dev2.reply(&m2, 486, "d2").await;
    alice
        .expect_silence(SHORT, "a later 486 is not forwarded after the 200")
        .await;
}

#[tokio::test]
async fn without_a_2xx_the_best_final_response_goes_up() {
    let srv = TestServer::start(im_config()).await;
    let mut dev1 = device(&srv, "bob").await;
    let mut dev2 = device(&srv, "bob").await;
    let mut alice = srv.udp("alice").await;
    let bob = bob();

    // §16.7 item 6: a 6xx beats a 4xx.
    alice.send_pager(&Pager::text(&bob, "busy?")).await;
    let m1 = dev1.expect_request("MESSAGE").await;
    let m2 = dev2.expect_request("MESSAGE").await;
    dev1.reply(&m1, 486, "d1").await;
    dev2.reply(&m2, 603, "d2").await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 603, "{}", resp.text);

    // A 503 from the only device is not passed on as is (§16.7 item 6). A typing
    // notification, so that nothing is kept for later.
    let mut carol_dev = device(&srv, "carol").await;
    let carol = format!("carol@{DOMAIN}");
    let typing = Pager {
        content_type: TYPING_TYPE,
        body: TYPING_BODY,
        ..Pager::text(&carol, "")
    };
    alice.send_pager(&typing).await;
    let m = carol_dev.expect_request("MESSAGE").await;
    carol_dev.reply(&m, 503, "c1").await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 500, "{}", resp.text);
}

/// One device never answers, the other says 480: once message_timeout (2 s) ends the
/// silent branch, the device's 480 goes up rather than the 408 the proxy made up for
/// the silent one, whichever of the two registered first. RFC 3261 §16.7 item 6 lets a
/// proxy pick any response of the lowest class; Herald's selection promises more ("an
/// answer a device actually gave beats a timeout we made up"), and that is tested here.
#[tokio::test]
async fn a_silent_device_does_not_hide_the_answer_of_another() {
    let srv = TestServer::start(im_config()).await;
    let mut dev1 = device(&srv, "bob").await;
    let mut dev2 = device(&srv, "bob").await;
    let mut alice = srv.udp("alice").await;
    let bob = bob();
    let mut outcomes = Vec::new();
    for silent in ["first", "second"] {
        let sent = Instant::now();
        alice.send_pager(&Pager::text(&bob, "anyone?")).await;
        let m1 = dev1.expect_request("MESSAGE").await;
        let m2 = dev2.expect_request("MESSAGE").await;
        if silent == "first" {
            dev2.reply(&m2, 480, "d2").await;
        } else {
            dev1.reply(&m1, 480, "d1").await;
        }
        let resp = alice.expect_response("MESSAGE").await;
        let took = sent.elapsed();
        assert!(
            took >= Duration::from_millis(1800) && took < Duration::from_secs(4),
            "answered after {took:?}, expected about message_timeout (2 s)"
        );
        outcomes.push((silent, resp.status()));
    }
    assert_eq!(
        outcomes,
        vec![("first", 480), ("second", 480)],
        "(which device was silent, status Alice got)"
    );
}

#[tokio::test]
async fn the_sender_must_be_who_it_says_and_the_request_within_limits() {
    let srv = TestServer::start(im_config()).await;
    let mut bob_dev = device(&srv, "bob").await;
    let mut alice = srv.udp("alice").await;
    let bob = bob();

    // No credentials: 407 with a challenge per configured algorithm, SHA-256 first.
    let mut anonymous = Pager::text(&bob, "hi");
    anonymous.authenticate = false;
    alice.send_pager(&anonymous).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 407, "{}", resp.text);
    let challenges = resp.all("Proxy-Authenticate");
    assert_eq!(challenges.len(), 2, "{}", resp.text);
    assert!(
        challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"),
        "{}",
        resp.text
    );
    assert!(
        challenges
            .iter()
            .all(|c| c.contains(&format!("realm=\"{DOMAIN}\""))),
        "{}",
        resp.text
    );

    // Authenticated as alice, writing as bob.
    let spoofed = Pager {
        from_user: Some("bob"),
        ..Pager::text(&bob, "it is me, bob")
    };
    alice.send_pager(&spoofed).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 403, "{}", resp.text);

    // An unknown recipient is told only to an authenticated sender.
    let nobody = format!("nobody@{DOMAIN}");
    let mut probe = Pager::text(&nobody, "hello?");
    probe.authenticate = false;
    alice.send_pager(&probe).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 407, "no user enumeration:\n{}", resp.text);
    alice.send_pager(&Pager::text(&nobody, "hello?")).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 404, "{}", resp.text);

    // max_body_bytes is 1000: 1001 bytes are refused, 1000 carried.
    let big = "x".repeat(1001);
    alice.send_pager(&Pager::text(&bob, &big)).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 413, "{}", resp.text);
    let limit = "y".repeat(1000);
    alice.send_pager(&Pager::text(&bob, &limit)).await;
    let m = bob_dev.expect_request("MESSAGE").await;
    assert_eq!(m.body.len(), 1000);
    bob_dev.reply(&m, 200, "b1").await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);

    // Not our domain: no relaying.
    let foreign = "someone@elsewhere.example.org";
    alice.send_pager(&Pager::text(foreign, "relay me")).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 403, "{}", resp.text);

    // No hops left (§16.3 item 2).
    let exhausted = Pager {
        max_forwards: 0,
        ..Pager::text(&bob, "last hop")
    };
    alice.send_pager(&exhausted).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 483, "{}", resp.text);

    bob_dev
        .expect_silence(SHORT, "no refused request reaches the device")
        .await;
}

#[tokio::test]
async fn offline_messages_survive_a_restart_and_are_delivered_once_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("herald.db");
    let store = SqliteStore::open(&path).await.expect("file store");
    add_users(&store).await;
    let srv = TestServer::start_on(store, im_config()).await;

    // Bob was here and left.
    let mut gone = srv.udp("bob").await;
    gone.register(600).await;
    let bye = gone.register(0).await;
    assert!(bye.all("Contact").is_empty(), "{}", bye.text);

    let mut alice = srv.udp("alice").await;
    let bob = bob();
    for body in ["1", "2", "3"] {
        alice.send_pager(&Pager::text(&bob, body)).await;
        let resp = alice.expect_response("MESSAGE").await;
        assert_eq!(resp.status(), 202, "stored for later:\n{}", resp.text);
    }
    // Typing and invitations make no sense later.
    let typing = Pager {
        content_type: TYPING_TYPE,
        body: TYPING_BODY,
        ..Pager::text(&bob, "")
    };
    alice.send_pager(&typing).await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 480, "{}", resp.text);
    let call = alice.invite("bob").await;
    let resp = final_response(&mut alice, "INVITE").await;
    assert_eq!(resp.status(), 480, "{}", resp.text);
    alice.ack_failure(&call, &resp).await;
    gone.expect_silence(SHORT, "nothing goes to a removed binding")
        .await;

    srv.server.shutdown().await;
    srv.store.close().await;
    let store = SqliteStore::open(&path).await.expect("store reopened");
    let srv = TestServer::start_on(store, im_config()).await;

    let mut dev = srv.udp("bob").await;
    dev.register(600).await;
    for body in ["1", "2", "3"] {
        let m = dev.expect_request("MESSAGE").await;
        assert_eq!(m.body, body, "in order:\n{}", m.text);
        assert_eq!(m.uri(), dev.contact, "{}", m.text);
        assert_eq!(
            uri_of(&m.must("From")),
            format!("sip:alice@{DOMAIN}"),
            "{}",
            m.text
        );
        assert!(m.tag("From").is_some(), "a From tag:\n{}", m.text);
        assert_eq!(uri_of(&m.must("To")), format!("sip:{bob}"), "{}", m.text);
        assert!(
            is_sip_date(&m.must("Date")),
            "an RFC 1123 Date (RFC 3261 §20.17):\n{}",
            m.text
        );
        assert_eq!(m.must("Content-Type"), "text/plain", "{}", m.text);
        dev.reply(&m, 200, &unique("b")).await;
    }
    dev.expect_silence(Duration::from_millis(1500), "three messages, no more")
        .await;
    dev.register(600).await;
    dev.expect_silence(Duration::from_millis(1500), "delivered ones are gone")
        .await;
}

#[tokio::test]
async fn invite_session_rings_every_device_and_keeps_to_the_route_set() {
    let srv = TestServer::start(im_config()).await;
    let mut dev1 = device(&srv, "bob").await;
    let mut dev2 = device(&srv, "bob").await;
    let mut alice = srv.udp("alice").await;

    let mut call = alice.invite("bob").await;
    let inv1 = dev1.expect_request("INVITE").await;
    let inv2 = dev2.expect_request("INVITE").await;
    let rr_prefix = format!("<sip:{};transport=udp;lr;ftok=", srv.udp);
    for (dev, inv) in [(&dev1, &inv1), (&dev2, &inv2)] {
        assert_eq!(inv.uri(), dev.contact);
        assert_eq!(inv.must("Max-Forwards"), "69");
        assert!(inv.get("Proxy-Authorization").is_none(), "{}", inv.text);
        let rr = inv.all("Record-Route");
        assert_eq!(rr.len(), 1, "one entry, same transport:\n{}", inv.text);
        assert!(rr[0].starts_with(&rr_prefix), "{}", inv.text);
    }
    dev1.reply(&inv1, 180, "d1").await;
    dev2.reply(&inv2, 180, "d2").await;
    let ringing = alice.expect_response("INVITE").await;
    assert_eq!(ringing.status(), 180, "{}", ringing.text);
    dev1.reply(&inv1, 200, "d1").await;
    let ok = final_response(&mut alice, "INVITE").await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    assert_eq!(ok.tag("To").as_deref(), Some("d1"));
    assert_eq!(uri_of(&ok.must("Contact")), dev1.contact);
    assert_eq!(ok.all("Record-Route"), inv1.all("Record-Route"));
    assert_eq!(srv.server.dialog_count(), 1);

    // The other device stops ringing.
    let cancel = dev2.expect_request("CANCEL").await;
    assert_eq!(cancel.top_branch(), inv2.top_branch(), "{}", cancel.text);
    assert_eq!(cancel.uri(), inv2.uri());
    dev2.reply(&cancel, 200, "d2").await;
    dev2.reply(&inv2, 487, "d2").await;
    let ack = dev2.expect_request("ACK").await;
    assert_eq!(
        ack.top_branch(),
        inv2.top_branch(),
        "hop-by-hop ACK of the 487"
    );

    call.confirmed_by(&ok);
    alice.in_dialog(&mut call, "ACK", "", "").await;
    let ack = dev1.expect_request("ACK").await;
    assert_eq!(ack.uri(), dev1.contact);
    assert!(
        ack.all("Route").is_empty(),
        "our Route popped:\n{}",
        ack.text
    );
    assert_eq!(ack.cseq(), (1, "ACK".to_owned()));

    alice
        .in_dialog(&mut call, "MESSAGE", "text/plain", "in session")
        .await;
    let m = dev1.expect_request("MESSAGE").await;
    assert_eq!(m.uri(), dev1.contact);
    assert!(m.all("Route").is_empty(), "{}", m.text);
    assert_eq!(m.all("Via").len(), 2, "{}", m.text);
    assert_eq!(m.body, "in session");
    dev1.reply(&m, 200, "d1").await;
    let resp = alice.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);
    dev2.expect_silence(SHORT, "device 2 is not in the dialog")
        .await;

    // And back, with the route set in Record-Route order.
    let mut bob_side = Session::answering(&inv1, "d1", 100);
    dev1.in_dialog(&mut bob_side, "MESSAGE", "text/plain", "from bob")
        .await;
    let m = alice.expect_request("MESSAGE").await;
    assert_eq!(m.uri(), alice.contact);
    assert!(m.all("Route").is_empty(), "{}", m.text);
    assert_eq!(m.body, "from bob");
    assert_eq!(m.tag("From").as_deref(), Some("d1"));
    assert_eq!(m.tag("To"), tag_of(&call.local));
    alice.reply(&m, 200, "").await;
    let resp = dev1.expect_response("MESSAGE").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);

    alice.in_dialog(&mut call, "BYE", "", "").await;
    let bye = dev1.expect_request("BYE").await;
    dev1.reply(&bye, 200, "d1").await;
    let resp = alice.expect_response("BYE").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);
    assert_eq!(srv.server.dialog_count(), 0, "BYE ends the dialog");
    dev2.expect_silence(SHORT, "device 2 hears nothing of the session")
        .await;
}

#[tokio::test]
async fn caller_cancel_stops_the_ringing_device_and_gets_487() {
    let srv = TestServer::start(im_config()).await;
    let mut dev = device(&srv, "bob").await;
    let mut alice = srv.udp("alice").await;

    let call = alice.invite("bob").await;
    let inv = dev.expect_request("INVITE").await;
    dev.reply(&inv, 180, "d1").await;
    let ringing = alice.expect_response("INVITE").await;
    assert_eq!(ringing.status(), 180, "{}", ringing.text);

    alice.cancel(&call).await;
    let resp = alice.expect_response("CANCEL").await;
    assert_eq!(resp.status(), 200, "{}", resp.text);
    let cancel = dev.expect_request("CANCEL").await;
    assert_eq!(cancel.top_branch(), inv.top_branch());
    dev.reply(&cancel, 200, "d1").await;
    dev.reply(&inv, 487, "d1").await;
    let ack = dev.expect_request("ACK").await;
    assert_eq!(ack.top_branch(), inv.top_branch());

    let resp = alice.expect_response("INVITE").await;
    assert_eq!(resp.status(), 487, "{}", resp.text);
    alice.ack_failure(&call, &resp).await;
    alice
        .expect_silence(SHORT, "the ACK stops the 487 retransmissions")
        .await;
    assert_eq!(srv.server.dialog_count(), 0);
}

#[tokio::test]
async fn a_closed_tcp_connection_ends_its_sessions_with_a_bye() {
    let srv = TestServer::start(im_config()).await;
    let mut bob_tcp = srv.tcp("bob").await;
    bob_tcp.register(600).await;
    let mut alice = srv.udp("alice").await;

    let mut call = alice.invite("bob").await;
    let inv = bob_tcp.expect_request("INVITE").await;
    assert_eq!(inv.uri(), bob_tcp.contact);
    let rr = inv.all("Record-Route");
    assert_eq!(rr.len(), 2, "UDP in, TCP out: two entries:\n{}", inv.text);
    assert!(
        rr[0].starts_with(&format!("<sip:{};transport=tcp;lr;ftok=", srv.tcp)),
        "the callee-facing entry on top:\n{}",
        inv.text
    );
    assert!(
        rr[1].starts_with(&format!("<sip:{};transport=udp;lr;ftok=", srv.udp)),
        "{}",
        inv.text
    );
    bob_tcp.reply(&inv, 200, "b1").await;
    let ok = final_response(&mut alice, "INVITE").await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    call.confirmed_by(&ok);
    alice.in_dialog(&mut call, "ACK", "", "").await;
    bob_tcp.expect_request("ACK").await;
    assert_eq!(srv.server.dialog_count(), 1);

    drop(bob_tcp);
    let bye = alice.expect_request("BYE").await;
    assert_eq!(bye.uri(), alice.contact, "{}", bye.text);
    assert_eq!(bye.must("Call-ID"), call.call_id);
    assert_eq!(uri_of(&bye.must("From")), uri_of(&ok.must("To")));
    assert_eq!(bye.tag("From").as_deref(), Some("b1"), "{}", bye.text);
    assert_eq!(uri_of(&bye.must("To")), uri_of(&call.local));
    assert_eq!(bye.tag("To"), tag_of(&call.local), "{}", bye.text);
    alice.reply(&bye, 200, "").await;
    assert_eq!(srv.server.dialog_count(), 0);
}

#[tokio::test]
async fn in_dialog_requests_without_a_genuine_route_get_481() {
    let srv = TestServer::start(im_config()).await;
    let mut dev = device(&srv, "bob").await;
    let mut alice = srv.udp("alice").await;

    // A real session, to have a genuine token to tamper with.
    let mut call = alice.invite("bob").await;
    let inv = dev.expect_request("INVITE").await;
    dev.reply(&inv, 200, "d1").await;
    let ok = final_response(&mut alice, "INVITE").await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    call.confirmed_by(&ok);
    alice.in_dialog(&mut call, "ACK", "", "").await;
    dev.expect_request("ACK").await;

    let genuine = call.route.clone();
    let token = genuine
        .first()
        .and_then(|r| param(r, "ftok"))
        .expect("flow token in the Record-Route");
    let flipped: String = token
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (4, '0') => '1',
            (4, _) => '0',
            (_, c) => c,
        })
        .collect();
    let made_up = "00".repeat(token.len() / 2);
    let forged_routes = [
        vec![genuine[0].replace(&token, &flipped)],
        vec![format!("<sip:{};transport=udp;lr;ftok={made_up}>", srv.udp)],
        Vec::new(),
    ];
    for route in forged_routes {
        let mut forged: Session = call.clone();
        forged.route = route.clone();
        alice
            .in_dialog(&mut forged, "MESSAGE", "text/plain", "let me in")
            .await;
        let resp = alice.expect_response("MESSAGE").await;
        assert_eq!(resp.status(), 481, "Route {route:?}:\n{}", resp.text);
    }
    dev.expect_silence(SHORT, "nothing forwarded on a forged route")
        .await;

    // The genuine route still works.
    alice
        .in_dialog(&mut call, "MESSAGE", "text/plain", "genuine")
        .await;
    let m = dev.expect_request("MESSAGE").await;
    assert_eq!(m.body, "genuine");
}

/// A pager MESSAGE, a typing notification, then an INVITE session with a MESSAGE and
/// a typing notification in it, all from alice to bob. Returns the pager's and the
/// session's Call-IDs.
async fn im_exchange(srv: &TestServer) -> (String, String) {
    let mut dev = device(srv, "bob").await;
    let mut alice = srv.udp("alice").await;
    let bob = bob();

    let pager_call_id = alice.send_pager(&Pager::text(&bob, "archived pager")).await;
    let m = dev.expect_request("MESSAGE").await;
    dev.reply(&m, 200, "d1").await;
    assert_eq!(alice.expect_response("MESSAGE").await.status(), 200);
    let typing = Pager {
        content_type: TYPING_TYPE,
        body: TYPING_BODY,
        ..Pager::text(&bob, "")
    };
    alice.send_pager(&typing).await;
    let m = dev.expect_request("MESSAGE").await;
    dev.reply(&m, 200, "d1").await;
    assert_eq!(alice.expect_response("MESSAGE").await.status(), 200);

    let mut call = alice.invite("bob").await;
    let inv = dev.expect_request("INVITE").await;
    dev.reply(&inv, 200, "d2").await;
    let ok = final_response(&mut alice, "INVITE").await;
    assert_eq!(ok.status(), 200, "{}", ok.text);
    call.confirmed_by(&ok);
    alice.in_dialog(&mut call, "ACK", "", "").await;
    dev.expect_request("ACK").await;
    for (ctype, body) in [
        ("text/plain", "archived session"),
        (TYPING_TYPE, TYPING_BODY),
    ] {
        alice.in_dialog(&mut call, "MESSAGE", ctype, body).await;
        let m = dev.expect_request("MESSAGE").await;
        assert_eq!(m.body, body);
        dev.reply(&m, 200, "d2").await;
        assert_eq!(alice.expect_response("MESSAGE").await.status(), 200);
    }
    alice.in_dialog(&mut call, "BYE", "", "").await;
    let bye = dev.expect_request("BYE").await;
    dev.reply(&bye, 200, "d2").await;
    assert_eq!(alice.expect_response("BYE").await.status(), 200);
    (pager_call_id, call.call_id)
}

async fn archived(srv: &TestServer, aor: &str) -> Vec<ArchiveRecord> {
    srv.store
        .archived_for(aor, 0, None)
        .await
        .expect("archive readable")
}

#[tokio::test]
async fn archiving_records_pager_and_session_messages_but_not_typing() {
    let srv = TestServer::start(ImConfig {
        archiving: true,
        ..im_config()
    })
    .await;
    let (pager_call_id, session_call_id) = im_exchange(&srv).await;
    let alice = format!("alice@{DOMAIN}");
    let records = archived(&srv, &alice).await;
    let summary: Vec<(ImMode, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.mode,
                r.call_id.as_str(),
                std::str::from_utf8(&r.body).unwrap_or("<binary>"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (ImMode::Pager, pager_call_id.as_str(), "archived pager"),
            (
                ImMode::Session,
                session_call_id.as_str(),
                "archived session"
            ),
        ]
    );
    for r in &records {
        assert_eq!(r.sender, alice);
        assert_eq!(r.recipient, bob());
        assert_eq!(r.content_type, "text/plain");
    }
    assert_eq!(
        archived(&srv, &bob()).await,
        records,
        "bob's view is the same"
    );
}

#[tokio::test]
async fn with_archiving_off_nothing_is_recorded() {
    let srv = TestServer::start(im_config()).await;
    im_exchange(&srv).await;
    assert!(archived(&srv, &format!("alice@{DOMAIN}")).await.is_empty());
    assert!(archived(&srv, &bob()).await.is_empty());
}
