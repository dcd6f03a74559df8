//! RFC 3261 §17.2.2: the non-INVITE server transaction.
mod common;

use common::*;
use herald_sip::response::from_request;
use herald_transaction::{Incoming, TransactionError, TransactionKey, TransactionLayer};

fn new_transaction(
    layer: &mut TransactionLayer<Ctx>,
    clock: &Clock,
    branch: &str,
    reliable: bool,
) -> TransactionKey {
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(
            &message_request(branch),
            PEER,
            reliable,
            clock.start(),
            &mut outputs,
        )
        .expect("valid request");
    assert!(
        outputs.is_empty(),
        "no 100 Trying for non-INVITE: {outputs:?}"
    );
    match incoming {
        Incoming::New { key } => key,
        other => panic!("expected a new transaction, got {other:?}"),
    }
}

#[test]
fn final_response_is_resent_for_retransmissions_until_timer_j() {
    // (transport reliable, Timer J)
    for (reliable, timer_j) in [(false, T64), (true, 0)] {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let request = message_request("z9hG4bKnict1");
        let key = new_transaction(&mut layer, &clock, "z9hG4bKnict1", reliable);
        assert_eq!(key, TransactionKey::for_request(&request).expect("key"));

        let ok = from_request(&request, 200, None, Some("srv1"));
        let mut outputs = Vec::new();
        layer
            .respond(&key, &ok, clock.ms(10), &mut outputs)
            .expect("respond");
        let first = sent(&outputs);
        assert_eq!(first.len(), 1);
        assert_eq!(sent_status(&first[0]), 200);

        if reliable {
            assert!(
                layer.is_empty(),
                "Timer J is zero on TCP: the transaction ends at once"
            );
        } else {
            // A retransmission gets the very same bytes and creates nothing new.
            let mut outputs = Vec::new();
            let incoming = layer
                .on_request(&request, PEER, reliable, clock.ms(600), &mut outputs)
                .expect("valid");
            assert_eq!(incoming, Incoming::Retransmission);
            assert_eq!(sent(&outputs), first);
            assert_eq!(layer.len(), 1);

            // Still there just before Timer J, gone at it, and silently.
            let (_, outputs) = run_until(&mut layer, &clock, 10 + timer_j - 1);
            assert!(outputs.is_empty());
            assert_eq!(layer.len(), 1);
            let (_, outputs) = run_until(&mut layer, &clock, 10 + timer_j);
            assert!(outputs.is_empty(), "Timer J ends quietly: {outputs:?}");
            assert!(layer.is_empty());
        }

        // After Timer J the same branch starts a new transaction.
        let mut outputs = Vec::new();
        let incoming = layer
            .on_request(
                &request,
                PEER,
                reliable,
                clock.ms(10 + timer_j + 1),
                &mut outputs,
            )
            .expect("valid");
        assert_eq!(incoming, Incoming::New { key }, "reliable={reliable}");
    }
}

#[test]
fn challenges_are_stateless_other_final_responses_are_kept() {
    // RFC 3261 §8.2.7: a 401/407 leaves nothing behind, even over UDP; a retransmission
    // of the challenged request is a new transaction (and gets a fresh challenge).
    for (status, kept) in [(401, false), (407, false), (403, true), (200, true)] {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let request = message_request("z9hG4bKchal");
        let key = new_transaction(&mut layer, &clock, "z9hG4bKchal", false);
        let mut outputs = Vec::new();
        layer
            .respond(
                &key,
                &from_request(&request, status, None, Some("t")),
                clock.ms(10),
                &mut outputs,
            )
            .expect("respond");
        assert_eq!(sent(&outputs).len(), 1);
        assert_eq!(layer.len(), usize::from(kept), "{status}");
        let mut outputs = Vec::new();
        let incoming = layer
            .on_request(&request, PEER, false, clock.ms(600), &mut outputs)
            .expect("valid");
        if kept {
            assert_eq!(incoming, Incoming::Retransmission, "{status}");
            assert_eq!(sent(&outputs).len(), 1, "{status}: the answer resent");
        } else {
            assert_eq!(incoming, Incoming::New { key }, "{status}");
        }
    }
}

#[test]
fn retransmissions_before_an_answer_are_absorbed_and_provisional_is_resent() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let request = message_request("z9hG4bKnict2");
    let key = new_transaction(&mut layer, &clock, "z9hG4bKnict2", false);

    // Trying: absorbed without a word.
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(&request, PEER, false, clock.ms(500), &mut outputs)
        .expect("valid");
    assert_eq!(incoming, Incoming::Retransmission);
    assert!(outputs.is_empty());

    // Proceeding: the provisional goes out again.
    let trying = from_request(&request, 180, None, Some("srv2"));
    let mut outputs = Vec::new();
    layer
        .respond(&key, &trying, clock.ms(600), &mut outputs)
        .expect("respond");
    let provisional = sent(&outputs);
    assert_eq!(provisional.len(), 1);
    let mut outputs = Vec::new();
    layer
        .on_request(&request, PEER, false, clock.ms(1500), &mut outputs)
        .expect("valid");
    assert_eq!(sent(&outputs), provisional);

    // The final response replaces it.
    let busy = from_request(&request, 486, None, Some("srv2"));
    let mut outputs = Vec::new();
    layer
        .respond(&key, &busy, clock.ms(1600), &mut outputs)
        .expect("respond");
    let mut outputs = Vec::new();
    layer
        .on_request(&request, PEER, false, clock.ms(2000), &mut outputs)
        .expect("valid");
    let resent = sent(&outputs);
    assert_eq!(resent.len(), 1);
    assert_eq!(sent_status(&resent[0]), 486);
}

#[test]
fn unanswered_transaction_ends_with_server_terminated() {
    for reliable in [false, true] {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let key = new_transaction(&mut layer, &clock, "z9hG4bKnict3", reliable);
        let (_, outputs) = run_until(&mut layer, &clock, T64 - 1);
        assert!(outputs.is_empty());
        let (_, outputs) = run_until(&mut layer, &clock, T64);
        assert_eq!(server_terminations(&outputs), vec![key.clone()]);
        assert!(layer.is_empty());

        // The TU answering afterwards is told the transaction is gone.
        let ok = from_request(&message_request("z9hG4bKnict3"), 200, None, Some("x"));
        let mut outputs = Vec::new();
        assert_eq!(
            layer.respond(&key, &ok, clock.ms(T64 + 1), &mut outputs),
            Err(TransactionError::UnknownTransaction)
        );
        assert!(outputs.is_empty());
    }
}

#[test]
fn respond_refuses_bad_calls() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let request = message_request("z9hG4bKnict4");
    let key = new_transaction(&mut layer, &clock, "z9hG4bKnict4", false);

    let mut bogus = from_request(&request, 200, None, Some("t"));
    bogus.status = 700;
    let mut outputs = Vec::new();
    assert_eq!(
        layer.respond(&key, &bogus, clock.ms(1), &mut outputs),
        Err(TransactionError::InvalidStatus(700))
    );

    let ok = from_request(&request, 200, None, Some("t"));
    layer
        .respond(&key, &ok, clock.ms(2), &mut outputs)
        .expect("first final");
    assert_eq!(
        layer.respond(&key, &ok, clock.ms(3), &mut outputs),
        Err(TransactionError::AlreadyFinal)
    );
    let provisional = from_request(&request, 180, None, Some("t"));
    assert_eq!(
        layer.respond(&key, &provisional, clock.ms(3), &mut outputs),
        Err(TransactionError::AlreadyFinal)
    );
    assert_eq!(sent(&outputs).len(), 1, "refused responses are not sent");

    let other = TransactionKey::for_request(&message_request("z9hG4bKother")).expect("key");
    assert_eq!(
        layer.respond(&other, &ok, clock.ms(4), &mut outputs),
        Err(TransactionError::UnknownTransaction)
    );
}

#[test]
fn same_branch_from_another_sent_by_is_another_transaction() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    new_transaction(&mut layer, &clock, "z9hG4bKnict5", false);
    let text = "MESSAGE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKnict5
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-z9hG4bKnict5
CSeq: 1 MESSAGE
Content-Length: 0

";
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(&request(text), PEER, false, clock.ms(1), &mut outputs)
        .expect("valid");
    assert!(matches!(incoming, Incoming::New { .. }), "{incoming:?}");
    assert_eq!(layer.len(), 2);
}
