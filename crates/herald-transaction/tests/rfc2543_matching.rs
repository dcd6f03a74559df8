//! RFC 3261 §17.2.3 fallback matching for requests without an RFC 3261 branch, on the
//! RFC 4475 messages `inv2543` (no branch at all) and `badbranch` (branch = the bare
//! magic cookie), read from the shared conformance set.
mod common;

use bytes::Bytes;
use common::*;
use herald_sip::{
    HeaderName, Message, Method, Request, message::ParseLimits, response::from_request,
};
use herald_transaction::{Incoming, TransactionKey, TransactionLayer};
use std::{fs, path::PathBuf};

fn torture(name: &str) -> Request {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/rfc4475"
    ))
    .join(name);
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match Message::parse(Bytes::from(bytes), &ParseLimits::default()) {
        Ok(Message::Request(request)) => request,
        other => panic!("{name}: expected a request, got {other:?}"),
    }
}

/// `inv2543` rewritten as the ACK an RFC 2543 UAC sends for our non-2xx (To gets our tag).
fn ack_2543(invite: &Request, to_tag: &str) -> Request {
    let mut ack = invite.clone();
    ack.method = Method::Ack;
    let to = invite.headers.get(&HeaderName::To).expect("To").to_string();
    ack.headers
        .set(HeaderName::To, format!("{to};tag={to_tag}"));
    ack.headers.set(HeaderName::CSeq, "56 ACK");
    ack.headers.remove(&HeaderName::ContentType);
    ack.body = Bytes::new();
    reparsed(&ack)
}

fn cancel_2543(invite: &Request) -> Request {
    let mut cancel = invite.clone();
    cancel.method = Method::Cancel;
    cancel.headers.set(HeaderName::CSeq, "56 CANCEL");
    cancel.headers.remove(&HeaderName::ContentType);
    cancel.body = Bytes::new();
    reparsed(&cancel)
}

/// Through the wire format, as the layer would receive it.
fn reparsed(request: &Request) -> Request {
    match reparse(&request.to_bytes()) {
        Message::Request(request) => request,
        Message::Response(_) => panic!("a request"),
    }
}

#[test]
fn inv2543_invite_ack_and_retransmissions_match() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let invite = torture("inv2543.dat");
    let mut outputs = Vec::new();
    let Incoming::New { key } = layer
        .on_request(&invite, PEER, false, clock.start(), &mut outputs)
        .expect("valid")
    else {
        panic!("a new transaction")
    };
    assert_eq!(sent_status(&sent(&outputs)[0]), 100);

    let mut outputs = Vec::new();
    assert_eq!(
        layer
            .on_request(&invite, PEER, false, clock.ms(500), &mut outputs)
            .expect("valid"),
        Incoming::Retransmission
    );
    assert_eq!(sent_status(&sent(&outputs)[0]), 100);

    let mut outputs = Vec::new();
    layer
        .respond(
            &key,
            &from_request(&invite, 486, None, Some("srv2543")),
            clock.ms(600),
            &mut outputs,
        )
        .expect("respond");
    let mut outputs = Vec::new();
    let ack = ack_2543(&invite, "srv2543");
    assert_eq!(
        TransactionKey::for_request(&ack).expect("key"),
        key,
        "the ACK carries our To tag, yet matches"
    );
    assert_eq!(
        layer
            .on_request(&ack, PEER, false, clock.ms(700), &mut outputs)
            .expect("valid"),
        Incoming::AckAbsorbed
    );
    let (times, _) = run_until(&mut layer, &clock, 10_000);
    assert!(times.is_empty(), "the ACK stopped Timer G");
}

#[test]
fn inv2543_cancel_finds_its_invite() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let invite = torture("inv2543.dat");
    let mut outputs = Vec::new();
    let Incoming::New { key } = layer
        .on_request(&invite, PEER, false, clock.start(), &mut outputs)
        .expect("valid")
    else {
        panic!("a new transaction")
    };
    let mut outputs = Vec::new();
    let incoming = layer
        .on_request(
            &cancel_2543(&invite),
            PEER,
            false,
            clock.ms(100),
            &mut outputs,
        )
        .expect("valid");
    assert_eq!(incoming, Incoming::Cancel { invite: Some(key) });
    assert_eq!(sent_status(&sent(&outputs)[0]), 200);
}

#[test]
fn badbranch_matches_retransmissions_by_the_2543_rules() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let options = torture("badbranch.dat");
    let mut outputs = Vec::new();
    let Incoming::New { key } = layer
        .on_request(&options, PEER, false, clock.start(), &mut outputs)
        .expect("valid")
    else {
        panic!("a new transaction")
    };
    layer
        .respond(
            &key,
            &from_request(&options, 200, None, Some("srv")),
            clock.ms(10),
            &mut outputs,
        )
        .expect("respond");
    let answer = sent(&outputs);

    let mut outputs = Vec::new();
    assert_eq!(
        layer
            .on_request(&options, PEER, false, clock.ms(500), &mut outputs)
            .expect("valid"),
        Incoming::Retransmission
    );
    assert_eq!(sent(&outputs), answer);

    // Another request with the same bare-cookie branch is NOT a retransmission: the
    // branch identifies nothing, the Call-ID differs.
    let mut other = options.clone();
    other.headers.set(HeaderName::CallId, "another-call");
    let other = reparsed(&other);
    let mut outputs = Vec::new();
    assert!(matches!(
        layer
            .on_request(&other, PEER, false, clock.ms(600), &mut outputs)
            .expect("valid"),
        Incoming::New { .. }
    ));
    assert_eq!(layer.len(), 2);
}

#[test]
fn legacy_non_invite_keys_include_every_field() {
    let base = "BYE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1
From: <sip:alice@example.com>;tag=f1
To: <sip:bob@example.com>;tag=t1
Call-ID: legacy-1
CSeq: 2 BYE
Content-Length: 0

";
    let key = |text: &str| TransactionKey::for_request(&request(text)).expect("key");
    let original = key(base);
    assert_eq!(original, key(base));
    for (from, to) in [
        ("tag=t1", "tag=t2"),
        ("tag=f1", "tag=f2"),
        ("legacy-1", "legacy-2"),
        ("CSeq: 2", "CSeq: 3"),
        ("sip:bob@example.com SIP", "sip:carol@example.com SIP"),
        ("192.0.2.1", "192.0.2.2"),
    ] {
        assert_ne!(
            original,
            key(&base.replace(from, to)),
            "changing {from} -> {to}"
        );
    }
}

#[test]
fn rfc3261_keys_compare_sent_by_host_case_insensitively() {
    let text = |host: &str| {
        format!(
            "OPTIONS sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bKcase
From: <sip:alice@example.com>;tag=f1
To: <sip:bob@example.com>
Call-ID: case-1
CSeq: 1 OPTIONS
Content-Length: 0

"
        )
    };
    let lower = TransactionKey::for_request(&request(&text("client.example.com"))).expect("key");
    let upper = TransactionKey::for_request(&request(&text("Client.EXAMPLE.com"))).expect("key");
    assert_eq!(lower, upper);
    let other = TransactionKey::for_request(&request(&text("other.example.com"))).expect("key");
    assert_ne!(lower, other);
}
