//! RFC 3261 §9.2: CANCEL arriving at a server.
mod common;

use common::*;
use herald_sip::{HeaderName, Message, Method, response::from_request};
use herald_transaction::{Incoming, TransactionKey, TransactionLayer};

/// The CANCEL answer the layer sent: (status, CSeq method, To has a tag).
fn answer(outputs: &[herald_transaction::Output<Ctx>]) -> (u16, Method, bool) {
    let data = sent(outputs);
    assert_eq!(data.len(), 1, "one answer to the CANCEL: {outputs:?}");
    let Message::Response(response) = reparse(&data[0]) else {
        panic!("a response")
    };
    let to = herald_sip::NameAddr::parse(response.headers.get(&HeaderName::To).expect("To"))
        .expect("To parses");
    (
        response.status,
        response.cseq().expect("CSeq").method,
        to.tag().is_some(),
    )
}

#[test]
fn cancel_of_a_pending_invite_gets_200_and_names_the_invite() {
    for reliable in [false, true] {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let invite = invite("z9hG4bKcan1");
        let mut outputs = Vec::new();
        let Incoming::New { key: invite_key } = layer
            .on_request(&invite, PEER, reliable, clock.start(), &mut outputs)
            .expect("valid")
        else {
            panic!("new INVITE")
        };

        let cancel = cancel_for("z9hG4bKcan1");
        let mut outputs = Vec::new();
        let incoming = layer
            .on_request(&cancel, PEER, reliable, clock.ms(100), &mut outputs)
            .expect("valid");
        assert_eq!(
            incoming,
            Incoming::Cancel {
                invite: Some(invite_key.clone())
            }
        );
        assert_eq!(
            TransactionKey::for_cancelled_invite(&cancel).expect("key"),
            invite_key
        );
        assert_eq!(answer(&outputs), (200, Method::Cancel, true));

        // The TU ends the INVITE with 487 and the UAC ACKs it.
        let terminated = from_request(&invite, 487, None, Some("uas"));
        let mut outputs = Vec::new();
        layer
            .respond(&invite_key, &terminated, clock.ms(110), &mut outputs)
            .expect("487");
        assert_eq!(sent_status(&sent(&outputs)[0]), 487);
        let ack = ack_for_non_2xx("z9hG4bKcan1", "uas");
        assert_eq!(
            layer
                .on_request(&ack, PEER, reliable, clock.ms(120), &mut outputs)
                .expect("valid"),
            Incoming::AckAbsorbed
        );
    }
}

#[test]
fn retransmitted_cancel_gets_the_same_answer() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let mut outputs = Vec::new();
    layer
        .on_request(
            &invite("z9hG4bKcan2"),
            PEER,
            false,
            clock.start(),
            &mut outputs,
        )
        .expect("valid");
    let cancel = cancel_for("z9hG4bKcan2");
    let mut first = Vec::new();
    layer
        .on_request(&cancel, PEER, false, clock.ms(100), &mut first)
        .expect("valid");
    let mut again = Vec::new();
    assert_eq!(
        layer
            .on_request(&cancel, PEER, false, clock.ms(600), &mut again)
            .expect("valid"),
        Incoming::Retransmission
    );
    assert_eq!(sent(&again), sent(&first), "byte-identical, same To tag");
}

#[test]
fn cancel_without_invite_gets_481() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(
            &cancel_for("z9hG4bKcan3"),
            PEER,
            false,
            clock.start(),
            &mut outputs,
        )
        .expect("valid");
    assert_eq!(incoming, Incoming::Cancel { invite: None });
    assert_eq!(answer(&outputs), (481, Method::Cancel, true));
}

#[test]
fn cancel_after_the_final_response_gets_200_and_cancels_nothing() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let invite = invite("z9hG4bKcan4");
    let mut outputs = Vec::new();
    let Incoming::New { key } = layer
        .on_request(&invite, PEER, false, clock.start(), &mut outputs)
        .expect("valid")
    else {
        panic!("new INVITE")
    };
    layer
        .respond(
            &key,
            &from_request(&invite, 200, None, Some("uas")),
            clock.ms(50),
            &mut outputs,
        )
        .expect("200");

    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(
            &cancel_for("z9hG4bKcan4"),
            PEER,
            false,
            clock.ms(100),
            &mut outputs,
        )
        .expect("valid");
    assert_eq!(incoming, Incoming::Cancel { invite: None });
    assert_eq!(answer(&outputs).0, 200);
}

#[test]
fn cancel_from_another_sent_by_does_not_match() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let mut outputs = Vec::new();
    layer
        .on_request(
            &invite("z9hG4bKcan5"),
            PEER,
            false,
            clock.start(),
            &mut outputs,
        )
        .expect("valid");
    let text = "CANCEL sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKcan5
Max-Forwards: 70
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-z9hG4bKcan5
CSeq: 7 CANCEL
Content-Length: 0

";
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(&request(text), PEER, false, clock.ms(10), &mut outputs)
        .expect("valid");
    assert_eq!(incoming, Incoming::Cancel { invite: None });
    assert_eq!(answer(&outputs).0, 481);
}
