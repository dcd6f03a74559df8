//! RFC 3261 §17.1.1 and RFC 6026 §7.2: the INVITE client transaction, and CANCEL (§9.1).
mod common;

use common::*;
use herald_sip::{HeaderName, Message, Method, NameAddr, Request};
use herald_transaction::{Output, TransactionError, TransactionKey, TransactionLayer};

fn send(
    layer: &mut TransactionLayer<Ctx>,
    clock: &Clock,
    branch: &str,
    reliable: bool,
) -> TransactionKey {
    let mut outputs = Vec::new();
    let key = layer
        .send_request(&invite(branch), PEER, reliable, clock.start(), &mut outputs)
        .expect("send");
    assert_eq!(sent(&outputs).len(), 1);
    assert!(key.is_invite() && key.is_client());
    key
}

fn sent_request(data: &bytes::Bytes) -> Request {
    match reparse(data) {
        Message::Request(request) => request,
        Message::Response(_) => panic!("expected a request"),
    }
}

#[test]
fn timer_a_doubles_without_ceiling_then_timer_b_times_out() {
    let table: [(bool, Vec<u64>); 2] = [
        (false, vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]),
        (true, vec![]),
    ];
    for (reliable, expected) in table {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let key = send(&mut layer, &clock, "z9hG4bKict1", reliable);
        let (times, outputs) = run_until(&mut layer, &clock, T64 - 1);
        assert_eq!(times, expected, "reliable={reliable}");
        assert!(timeouts(&outputs).is_empty());
        let (_, outputs) = run_until(&mut layer, &clock, T64);
        assert_eq!(timeouts(&outputs), vec![key], "Timer B");
        assert!(layer.is_empty());
    }
}

#[test]
fn provisional_stops_timers_a_and_b() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    send(&mut layer, &clock, "z9hG4bKict2", false);
    let mut outputs = Vec::new();
    let ringing = response_to("z9hG4bKict2", 180, "Ringing", "7 INVITE", "b1");
    assert_eq!(
        layer.on_response(&ringing, clock.ms(200), &mut outputs),
        Ok(true)
    );
    assert_eq!(tu_responses(&outputs), vec![180]);
    let (times, outputs) = run_until(&mut layer, &clock, 60_000);
    assert!(times.is_empty(), "no retransmission once Proceeding");
    assert!(outputs.is_empty(), "no Timer B once Proceeding");
    assert_eq!(layer.len(), 1);
}

#[test]
fn non_2xx_final_is_acked_by_the_layer_with_the_invite_branch() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKict3", false);
    let busy = response_to("z9hG4bKict3", 486, "Busy Here", "7 INVITE", "callee");
    let mut outputs = Vec::new();
    assert_eq!(
        layer.on_response(&busy, clock.ms(300), &mut outputs),
        Ok(true)
    );
    assert_eq!(tu_responses(&outputs), vec![486]);
    let acks = sent(&outputs);
    assert_eq!(acks.len(), 1);

    let ack = sent_request(&acks[0]);
    let original = invite("z9hG4bKict3");
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, original.uri);
    assert_eq!(ack.top_via().expect("Via").branch(), Some("z9hG4bKict3"));
    assert_eq!(ack.headers.values(&HeaderName::Via).len(), 1);
    let cseq = ack.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method), (7, Method::Ack));
    assert_eq!(ack.to().expect("To").tag(), Some("callee"));
    assert_eq!(ack.from().expect("From").tag(), Some("a1"));
    assert_eq!(ack.call_id(), original.call_id());
    assert_eq!(
        ack.headers.get(&HeaderName::Route).map(|v| v.as_str()),
        Some("<sip:proxy.example.com;lr>")
    );
    assert!(ack.body.is_empty());

    // A retransmitted final response gets the ACK again and is not passed up.
    let mut outputs = Vec::new();
    assert_eq!(
        layer.on_response(&busy, clock.ms(800), &mut outputs),
        Ok(true)
    );
    assert!(tu_responses(&outputs).is_empty());
    assert_eq!(sent(&outputs), acks);

    // No A retransmissions any more; Timer D (32 s) ends it quietly.
    let (times, outputs) = run_until(&mut layer, &clock, 300 + 32_000 - 1);
    assert!(times.is_empty());
    assert!(outputs.is_empty());
    assert_eq!(layer.len(), 1);
    let (_, outputs) = run_until(&mut layer, &clock, 300 + 32_000);
    assert!(outputs.is_empty());
    assert!(layer.is_empty());
    drop(key);
}

#[test]
fn non_2xx_over_tcp_ends_at_once() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    send(&mut layer, &clock, "z9hG4bKict4", true);
    let mut outputs = Vec::new();
    let busy = response_to("z9hG4bKict4", 603, "Decline", "7 INVITE", "callee");
    assert_eq!(
        layer.on_response(&busy, clock.ms(300), &mut outputs),
        Ok(true)
    );
    assert_eq!(sent(&outputs).len(), 1, "the ACK");
    assert!(layer.is_empty(), "Timer D is zero over TCP");
}

#[test]
fn two_xx_go_up_unacked_until_timer_m() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKict5", false);
    let mut outputs = Vec::new();
    let ok_a = response_to("z9hG4bKict5", 200, "OK", "7 INVITE", "fork-a");
    let ok_b = response_to("z9hG4bKict5", 200, "OK", "7 INVITE", "fork-b");
    assert_eq!(
        layer.on_response(&ok_a, clock.ms(100), &mut outputs),
        Ok(true)
    );
    assert_eq!(
        layer.on_response(&ok_b, clock.ms(200), &mut outputs),
        Ok(true)
    );
    assert_eq!(
        tu_responses(&outputs),
        vec![200, 200],
        "every 2xx goes to the TU, which ACKs it"
    );
    assert!(sent(&outputs).is_empty(), "the layer never ACKs a 2xx");
    // Nothing to cancel any more.
    assert_eq!(
        layer.cancel(&key, clock.ms(300), &mut outputs),
        Err(TransactionError::AlreadyFinal)
    );

    let (times, outputs) = run_until(&mut layer, &clock, 100 + T64 - 1);
    assert!(times.is_empty());
    assert!(outputs.is_empty());
    let (_, outputs) = run_until(&mut layer, &clock, 100 + T64);
    assert!(outputs.is_empty(), "Timer M ends quietly");
    assert!(layer.is_empty());
}

#[test]
fn cancel_waits_for_a_provisional_then_goes_with_the_invite_branch() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKict6", false);

    let mut outputs = Vec::new();
    layer
        .cancel(&key, clock.ms(100), &mut outputs)
        .expect("cancel");
    assert!(
        outputs.is_empty(),
        "no CANCEL before a provisional response"
    );

    let ringing = response_to("z9hG4bKict6", 180, "Ringing", "7 INVITE", "callee");
    layer
        .on_response(&ringing, clock.ms(400), &mut outputs)
        .expect("valid");
    assert_eq!(tu_responses(&outputs), vec![180]);
    let cancels = sent(&outputs);
    assert_eq!(cancels.len(), 1);
    let cancel = sent_request(&cancels[0]);
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.top_via().expect("Via").branch(), Some("z9hG4bKict6"));
    let cseq = cancel.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method), (7, Method::Cancel));
    assert_eq!(
        cancel.to().expect("To").tag(),
        None,
        "the To of the INVITE, not of the response"
    );
    assert_eq!(cancel.uri, invite("z9hG4bKict6").uri);
    assert_eq!(layer.len(), 2, "the CANCEL has its own transaction");

    // Cancelling twice does not send a second CANCEL.
    let mut outputs = Vec::new();
    layer
        .cancel(&key, clock.ms(450), &mut outputs)
        .expect("idempotent");
    assert!(outputs.is_empty());

    // The CANCEL's 200 goes to the TU under the CANCEL's key.
    let cancel_ok = response_to("z9hG4bKict6", 200, "OK", "7 CANCEL", "callee");
    let mut outputs = Vec::new();
    assert_eq!(
        layer.on_response(&cancel_ok, clock.ms(500), &mut outputs),
        Ok(true)
    );
    let [
        Output::Response {
            key: cancel_key, ..
        },
    ] = outputs.as_slice()
    else {
        panic!("{outputs:?}")
    };
    assert_eq!(cancel_key.method(), &Method::Cancel);
    assert_ne!(cancel_key, &key);

    // The INVITE ends with 487, which the layer ACKs.
    let terminated = response_to(
        "z9hG4bKict6",
        487,
        "Request Terminated",
        "7 INVITE",
        "callee",
    );
    let mut outputs = Vec::new();
    layer
        .on_response(&terminated, clock.ms(600), &mut outputs)
        .expect("valid");
    assert_eq!(tu_responses(&outputs), vec![487]);
    assert_eq!(sent_method(&sent(&outputs)[0]), Method::Ack);
}

#[test]
fn cancelled_invite_without_final_response_times_out_64_t1_after_the_cancel() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKict7", true);
    let mut outputs = Vec::new();
    let ringing = response_to("z9hG4bKict7", 180, "Ringing", "7 INVITE", "callee");
    layer
        .on_response(&ringing, clock.ms(100), &mut outputs)
        .expect("valid");
    let mut outputs = Vec::new();
    layer
        .cancel(&key, clock.ms(1_000), &mut outputs)
        .expect("cancel");
    assert_eq!(sent_method(&sent(&outputs)[0]), Method::Cancel);
    let cancel_ok = response_to("z9hG4bKict7", 200, "OK", "7 CANCEL", "callee");
    layer
        .on_response(&cancel_ok, clock.ms(1_100), &mut outputs)
        .expect("valid");

    let (_, outputs) = run_until(&mut layer, &clock, 1_000 + T64 - 1);
    assert!(timeouts(&outputs).is_empty());
    let (_, outputs) = run_until(&mut layer, &clock, 1_000 + T64);
    assert_eq!(timeouts(&outputs), vec![key]);
    assert!(layer.is_empty());
}

#[test]
fn final_response_drops_a_pending_cancel() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKict8", false);
    let mut outputs = Vec::new();
    layer
        .cancel(&key, clock.ms(100), &mut outputs)
        .expect("cancel");
    let busy = response_to("z9hG4bKict8", 486, "Busy Here", "7 INVITE", "callee");
    layer
        .on_response(&busy, clock.ms(200), &mut outputs)
        .expect("valid");
    let methods: Vec<Method> = sent(&outputs).iter().map(sent_method).collect();
    assert_eq!(methods, vec![Method::Ack], "an ACK and no CANCEL");
}

#[test]
fn cancel_refuses_unknown_and_non_invite_transactions() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let mut outputs = Vec::new();
    let message_key = layer
        .send_request(
            &message_request("z9hG4bKict9"),
            PEER,
            false,
            clock.start(),
            &mut outputs,
        )
        .expect("send");
    assert_eq!(
        layer.cancel(&message_key, clock.ms(1), &mut outputs),
        Err(TransactionError::WrongKind)
    );
    let unknown =
        TransactionKey::for_response(&response_to("z9hG4bKnone", 180, "Ringing", "7 INVITE", "x"))
            .expect("key");
    assert_eq!(
        layer.cancel(&unknown, clock.ms(1), &mut outputs),
        Err(TransactionError::UnknownTransaction)
    );
}

#[test]
fn proceeding_invite_gives_up_after_the_limit() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKict10", false);
    let mut outputs = Vec::new();
    layer
        .on_response(
            &response_to("z9hG4bKict10", 183, "Session Progress", "7 INVITE", "c"),
            clock.start(),
            &mut outputs,
        )
        .expect("valid");
    let limit =
        u64::try_from(herald_transaction::INVITE_PROCEEDING_LIMIT.as_millis()).expect("fits");
    let (_, outputs) = run_until(&mut layer, &clock, limit);
    assert_eq!(timeouts(&outputs), vec![key]);
}

#[test]
fn ack_route_and_to_survive_a_compact_form_response() {
    // The To of the response (compact form "t", with tag) is what the ACK repeats.
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    send(&mut layer, &clock, "z9hG4bKict11", false);
    let text = "SIP/2.0 404 Not Found
v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKict11
f: \"Alice\" <sip:alice@example.com>;tag=a1
t: \"Bob\" <sip:bob@example.com>;tag=zz9
i: call-z9hG4bKict11
CSeq: 7 INVITE
l: 0

";
    let mut outputs = Vec::new();
    assert_eq!(
        layer.on_response(&response(text), clock.ms(10), &mut outputs),
        Ok(true)
    );
    let ack = sent_request(&sent(&outputs)[0]);
    let to = NameAddr::parse(ack.headers.get(&HeaderName::To).expect("To")).expect("parses");
    assert_eq!(to.tag(), Some("zz9"));
    assert_eq!(to.display.as_deref(), Some("Bob"));
}
