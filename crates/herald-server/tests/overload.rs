//! Overload control end to end: when more requests are in flight than the server
//! allows, new out-of-dialog requests get 503 with Retry-After, while requests within
//! dialogs and registration refreshes still go through, and the server recovers by
//! itself once the work drains.
// The harness is shared with the other end-to-end tests; this file uses part of it.
#[allow(dead_code)]
mod common;

use common::{DOMAIN, Endpoint, Pager, Sip, TestServer, add_users, im_config, unique};
use herald_server::{OverloadConfig, ServerConfig};
use herald_store::SqliteStore;
use std::time::Duration;

/// An out-of-dialog request with no credentials from `ep`: `method` to `uri`.
async fn send_plain(ep: &mut Endpoint, method: &str, uri: &str, to: &str, extra: &str) -> Sip {
    let msg = format!(
        "{method} {uri} SIP/2.0\r\n{}Max-Forwards: 70\r\n\
         From: <sip:{}@{DOMAIN}>;tag={}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: 1 {method}\r\n\
         {extra}Content-Length: 0\r\n\r\n",
        ep.via(&unique("z9hG4bKov")),
        ep.user,
        unique("ov"),
        unique("ov-call-"),
    );
    ep.send(&msg).await;
    ep.expect_response(method).await
}

fn retry_after(resp: &Sip) -> u32 {
    resp.get("Retry-After")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("503 without a usable Retry-After:\n{}", resp.text))
}

#[tokio::test]
async fn when_work_piles_up_new_requests_get_503_and_dialogs_and_refreshes_flow() {
    let store = SqliteStore::open_in_memory().await.expect("store");
    add_users(&store).await;
    let cfg = ServerConfig {
        domains: vec![DOMAIN.into()],
        workers: 4,
        // Long enough that the MESSAGEs stay in flight until bob answers them.
        im: herald_im::ImConfig {
            message_timeout: Duration::from_secs(20),
            ..im_config()
        },
        overload: OverloadConfig {
            max_in_flight: 2,
            ..OverloadConfig::default()
        },
        ..ServerConfig::default()
    };
    let t = TestServer::start_config(store, cfg).await;
    let mut bob = t.udp("bob").await;
    bob.register(300).await;
    let mut alice = t.udp("alice").await;
    let mut carol = t.udp("carol").await;

    // Served normally at first.
    let ok = send_plain(
        &mut carol,
        "OPTIONS",
        &format!("sip:{DOMAIN}"),
        &format!("<sip:{DOMAIN}>"),
        "",
    )
    .await;
    assert_eq!(ok.status(), 200, "{}", ok.text);

    // Two MESSAGEs reach bob's device, which does not answer yet: two requests in flight.
    let to = format!("bob@{DOMAIN}");
    alice.send_pager(&Pager::text(&to, "one")).await;
    let first = bob.expect_request("MESSAGE").await;
    alice.send_pager(&Pager::text(&to, "two")).await;
    let second = bob.expect_request("MESSAGE").await;
    assert_eq!(t.server.overload_stats().in_flight, 2);

    // New out-of-dialog requests are refused, cheaply and with a Retry-After.
    let refused = send_plain(
        &mut carol,
        "OPTIONS",
        &format!("sip:{DOMAIN}"),
        &format!("<sip:{DOMAIN}>"),
        "",
    )
    .await;
    assert_eq!(refused.status(), 503, "{}", refused.text);
    assert!((2..=6).contains(&retry_after(&refused)), "{}", refused.text);
    let carol_aor = format!("<sip:carol@{DOMAIN}>");
    let contact = format!("Contact: <{}>\r\nExpires: 300\r\n", carol.contact);
    let new_registration = send_plain(
        &mut carol,
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        &carol_aor,
        &contact,
    )
    .await;
    assert_eq!(new_registration.status(), 503, "{}", new_registration.text);

    // Bob's registration refresh (same Call-ID as his binding) goes through: challenged,
    // then accepted.
    bob.register(300).await;
    // A request within a dialog is never refused: this dialog is unknown, so 481.
    let in_dialog = format!("<sip:bob@{DOMAIN}>;tag=gone");
    let unknown_dialog = send_plain(
        &mut carol,
        "MESSAGE",
        &format!("sip:bob@{DOMAIN}"),
        &in_dialog,
        "",
    )
    .await;
    assert_eq!(unknown_dialog.status(), 481, "{}", unknown_dialog.text);

    // Bob answers; the work drains and new requests are served again.
    bob.reply(&first, 200, "b1").await;
    bob.reply(&second, 200, "b2").await;
    assert_eq!(alice.expect_response("MESSAGE").await.status(), 200);
    assert_eq!(alice.expect_response("MESSAGE").await.status(), 200);
    let mut served = None;
    for _ in 0..50 {
        if t.server.overload_stats().in_flight == 0 {
            served = Some(
                send_plain(
                    &mut carol,
                    "OPTIONS",
                    &format!("sip:{DOMAIN}"),
                    &format!("<sip:{DOMAIN}>"),
                    "",
                )
                .await,
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let served = served.expect("the work in flight drained");
    assert_eq!(served.status(), 200, "{}", served.text);
    let stats = t.server.overload_stats();
    assert_eq!(stats.shed, 2, "{stats:?}");
}
