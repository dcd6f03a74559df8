//! RFC 3261 §17.2.1 and RFC 6026 §7.1: the INVITE server transaction.
mod common;

use common::*;
use herald_sip::{Request, response::from_request};
use herald_transaction::{Incoming, TransactionError, TransactionKey, TransactionLayer};

/// Receives `invite(branch)` at time 0 and checks the automatic 100 Trying.
fn start(
    layer: &mut TransactionLayer<Ctx>,
    clock: &Clock,
    branch: &str,
    reliable: bool,
) -> (Request, TransactionKey) {
    let request = invite(branch);
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(&request, PEER, reliable, clock.start(), &mut outputs)
        .expect("valid");
    let Incoming::New { key } = incoming else {
        panic!("expected New, got {incoming:?}")
    };
    let trying = sent(&outputs);
    assert_eq!(trying.len(), 1, "exactly the 100 Trying");
    assert_eq!(sent_status(&trying[0]), 100);
    (request, key)
}

fn respond(
    layer: &mut TransactionLayer<Ctx>,
    key: &TransactionKey,
    request: &Request,
    status: u16,
    at: std::time::Instant,
) -> Vec<bytes::Bytes> {
    let response = from_request(request, status, None, Some("uas"));
    let mut outputs = Vec::new();
    layer
        .respond(key, &response, at, &mut outputs)
        .expect("respond");
    sent(&outputs)
}

#[test]
fn retransmitted_invite_gets_the_latest_provisional() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (request, key) = start(&mut layer, &clock, "z9hG4bKist1", false);

    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(&request, PEER, false, clock.ms(500), &mut outputs)
        .expect("valid");
    assert_eq!(incoming, Incoming::Retransmission);
    let resent = sent(&outputs);
    assert_eq!(resent.len(), 1);
    assert_eq!(sent_status(&resent[0]), 100);

    let ringing = respond(&mut layer, &key, &request, 180, clock.ms(600));
    let mut outputs = Vec::new();
    layer
        .on_request(&request, PEER, false, clock.ms(1000), &mut outputs)
        .expect("valid");
    assert_eq!(sent(&outputs), ringing);
    assert_eq!(layer.len(), 1);
}

#[test]
fn non_2xx_is_retransmitted_on_timer_g_until_ack_then_timer_i() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (request, key) = start(&mut layer, &clock, "z9hG4bKist2", false);
    let busy = respond(&mut layer, &key, &request, 486, clock.start());
    assert_eq!(busy.len(), 1);

    // G: T1, 2*T1, 4*T1, then capped at T2 = 4 s.
    let (times, outputs) = run_until(&mut layer, &clock, 12_000);
    assert_eq!(times, vec![500, 1_500, 3_500, 7_500, 11_500]);
    assert!(
        sent(&outputs).iter().all(|data| *data == busy[0]),
        "the same bytes every time"
    );

    // A retransmitted INVITE also gets the final response.
    let mut outputs = Vec::new();
    assert_eq!(
        layer
            .on_request(&request, PEER, false, clock.ms(12_000), &mut outputs)
            .expect("valid"),
        Incoming::Retransmission
    );
    assert_eq!(sent(&outputs), busy);

    // The ACK is absorbed and stops G.
    let mut outputs = Vec::new();
    let ack = ack_for_non_2xx("z9hG4bKist2", "uas");
    assert_eq!(
        layer
            .on_request(&ack, PEER, false, clock.ms(12_100), &mut outputs)
            .expect("valid"),
        Incoming::AckAbsorbed
    );
    assert!(outputs.is_empty());
    // Confirmed: ACK retransmissions are absorbed too, for T4.
    assert_eq!(
        layer
            .on_request(&ack, PEER, false, clock.ms(13_000), &mut outputs)
            .expect("valid"),
        Incoming::AckAbsorbed
    );
    let (times, outputs) = run_until(&mut layer, &clock, 12_100 + 4_999);
    assert!(times.is_empty(), "no retransmission after the ACK");
    assert!(outputs.is_empty());
    assert_eq!(layer.len(), 1);
    let (_, outputs) = run_until(&mut layer, &clock, 12_100 + 5_000);
    assert!(outputs.is_empty(), "Timer I ends quietly");
    assert!(layer.is_empty());
}

#[test]
fn unacknowledged_final_ends_on_timer_h() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (request, key) = start(&mut layer, &clock, "z9hG4bKist3", false);
    respond(&mut layer, &key, &request, 603, clock.start());

    let (times, outputs) = run_until(&mut layer, &clock, T64);
    assert_eq!(
        times,
        vec![
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(server_terminations(&outputs), vec![key]);
    assert!(layer.is_empty());
}

#[test]
fn reliable_transport_skips_g_and_i() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (request, key) = start(&mut layer, &clock, "z9hG4bKist4", true);
    respond(&mut layer, &key, &request, 486, clock.start());
    let (times, _) = run_until(&mut layer, &clock, 20_000);
    assert!(times.is_empty(), "no Timer G over TCP: {times:?}");

    let mut outputs = Vec::new();
    let ack = ack_for_non_2xx("z9hG4bKist4", "uas");
    assert_eq!(
        layer
            .on_request(&ack, PEER, true, clock.ms(20_000), &mut outputs)
            .expect("valid"),
        Incoming::AckAbsorbed
    );
    assert!(layer.is_empty(), "Timer I is zero over TCP");
}

#[test]
fn reliable_transport_still_runs_timer_h() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (request, key) = start(&mut layer, &clock, "z9hG4bKist5", true);
    respond(&mut layer, &key, &request, 486, clock.start());
    let (_, outputs) = run_until(&mut layer, &clock, T64);
    assert_eq!(server_terminations(&outputs), vec![key]);
}

#[test]
fn two_xx_enters_accepted_until_timer_l() {
    for reliable in [false, true] {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let (request, key) = start(&mut layer, &clock, "z9hG4bKist6", reliable);
        let ok = respond(&mut layer, &key, &request, 200, clock.ms(100));
        assert_eq!(sent_status(&ok[0]), 200);

        // Accepted: INVITE retransmissions are absorbed without a resend (the TU owns
        // 2xx retransmission), the TU's own 2xx retransmissions still go out.
        let mut outputs = Vec::new();
        assert_eq!(
            layer
                .on_request(&request, PEER, reliable, clock.ms(600), &mut outputs)
                .expect("valid"),
            Incoming::Retransmission
        );
        assert!(outputs.is_empty());
        assert_eq!(
            respond(&mut layer, &key, &request, 200, clock.ms(700)).len(),
            1
        );
        let refused = from_request(&request, 486, None, Some("uas"));
        assert_eq!(
            layer.respond(&key, &refused, clock.ms(800), &mut outputs),
            Err(TransactionError::AlreadyFinal)
        );

        // An ACK that matches goes to the TU (it acknowledges the 2xx).
        let ack = ack_for_non_2xx("z9hG4bKist6", "uas");
        assert_eq!(
            layer
                .on_request(&ack, PEER, reliable, clock.ms(900), &mut outputs)
                .expect("valid"),
            Incoming::StrayAck
        );

        let (_, outputs) = run_until(&mut layer, &clock, 100 + T64 - 1);
        assert!(outputs.is_empty());
        assert_eq!(layer.len(), 1);
        let (_, outputs) = run_until(&mut layer, &clock, 100 + T64);
        assert!(outputs.is_empty(), "Timer L ends quietly");
        assert!(layer.is_empty());
    }
}

#[test]
fn ack_for_2xx_with_its_own_branch_is_stray() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (request, key) = start(&mut layer, &clock, "z9hG4bKist7", false);
    respond(&mut layer, &key, &request, 200, clock.ms(100));
    let mut outputs = Vec::new();
    let ack = ack_for_non_2xx("z9hG4bKfreshbranch", "uas");
    assert_eq!(
        layer
            .on_request(&ack, PEER, false, clock.ms(200), &mut outputs)
            .expect("valid"),
        Incoming::StrayAck
    );
    assert!(outputs.is_empty());
}

#[test]
fn unanswered_invite_is_dropped_after_the_proceeding_limit() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let (_, key) = start(&mut layer, &clock, "z9hG4bKist8", false);
    let limit =
        u64::try_from(herald_transaction::INVITE_PROCEEDING_LIMIT.as_millis()).expect("fits");
    let (times, outputs) = run_until(&mut layer, &clock, limit - 1);
    assert!(
        times.is_empty(),
        "provisional responses are not retransmitted by the layer"
    );
    assert!(outputs.is_empty());
    let (_, outputs) = run_until(&mut layer, &clock, limit);
    assert_eq!(server_terminations(&outputs), vec![key]);
    assert!(layer.is_empty());
}

#[test]
fn hundred_trying_mirrors_the_request() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let text = "INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKist9
Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKinner
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: ts-1
CSeq: 1 INVITE
Timestamp: 54
Content-Length: 0

";
    let mut outputs = Vec::new();
    layer
        .on_request(&request(text), PEER, false, clock.start(), &mut outputs)
        .expect("valid");
    let trying = sent(&outputs);
    let herald_sip::Message::Response(trying) = reparse(&trying[0]) else {
        panic!("a response")
    };
    assert_eq!(trying.status, 100);
    assert_eq!(trying.headers.values(&herald_sip::HeaderName::Via).len(), 2);
    assert_eq!(
        trying
            .headers
            .get(&herald_sip::HeaderName::Timestamp)
            .map(|v| v.as_str()),
        Some("54")
    );
    assert_eq!(trying.headers.count(&herald_sip::HeaderName::Timestamp), 1);
    assert_eq!(
        trying
            .headers
            .get(&herald_sip::HeaderName::To)
            .map(|v| v.as_str()),
        Some("<sip:bob@example.com>")
    );
}
