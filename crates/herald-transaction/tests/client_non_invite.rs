//! RFC 3261 §17.1.2: the non-INVITE client transaction.
mod common;

use common::*;
use herald_transaction::{TransactionError, TransactionKey, TransactionLayer};

fn send(
    layer: &mut TransactionLayer<Ctx>,
    clock: &Clock,
    branch: &str,
    reliable: bool,
) -> TransactionKey {
    let request = message_request(branch);
    let mut outputs = Vec::new();
    let key = layer
        .send_request(&request, PEER, reliable, clock.start(), &mut outputs)
        .expect("send");
    let first = sent(&outputs);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0], request.to_bytes());
    assert!(key.is_client());
    key
}

#[test]
fn timer_e_doubles_to_t2_then_timer_f_times_out() {
    // (reliable, expected retransmission times)
    let table: [(bool, Vec<u64>); 2] = [
        (
            false,
            vec![
                500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
            ],
        ),
        (true, vec![]),
    ];
    for (reliable, expected) in table {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let key = send(&mut layer, &clock, "z9hG4bKnicc1", reliable);
        let (times, outputs) = run_until(&mut layer, &clock, T64 - 1);
        assert_eq!(times, expected, "reliable={reliable}");
        assert!(timeouts(&outputs).is_empty());
        let (_, outputs) = run_until(&mut layer, &clock, T64);
        assert_eq!(timeouts(&outputs), vec![key], "Timer F");
        assert!(layer.is_empty());
    }
}

#[test]
fn provisional_sets_timer_e_to_t2() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKnicc2", false);
    let (times, _) = run_until(&mut layer, &clock, 600);
    assert_eq!(times, vec![500]);

    let mut outputs = Vec::new();
    let trying = response_to("z9hG4bKnicc2", 100, "Trying", "1 MESSAGE", "b1");
    assert_eq!(
        layer.on_response(&trying, clock.ms(600), &mut outputs),
        Ok(true)
    );
    assert_eq!(tu_responses(&outputs), vec![100]);

    let (times, outputs) = run_until(&mut layer, &clock, 14_000);
    assert_eq!(times, vec![1_500, 5_500, 9_500, 13_500]);
    assert!(timeouts(&outputs).is_empty());
    assert_eq!(layer.len(), 1);
    drop(key);
}

#[test]
fn final_response_goes_up_once_and_timer_k_ends_it() {
    for (reliable, timer_k) in [(false, 5_000), (true, 0)] {
        let clock = Clock::new();
        let mut layer = TransactionLayer::new(timers());
        let key = send(&mut layer, &clock, "z9hG4bKnicc3", reliable);
        let ok = response_to("z9hG4bKnicc3", 200, "OK", "1 MESSAGE", "b1");
        let mut outputs = Vec::new();
        assert_eq!(
            layer.on_response(&ok, clock.ms(100), &mut outputs),
            Ok(true)
        );
        let [herald_transaction::Output::Response { key: got, response }] = outputs.as_slice()
        else {
            panic!("one response for the TU: {outputs:?}")
        };
        assert_eq!(got, &key);
        assert_eq!(response, &ok);

        if reliable {
            assert!(layer.is_empty(), "Timer K is zero over TCP");
            continue;
        }
        // Retransmissions of the final response are absorbed, and E has stopped.
        let mut outputs = Vec::new();
        assert_eq!(
            layer.on_response(&ok, clock.ms(600), &mut outputs),
            Ok(true)
        );
        assert!(outputs.is_empty());
        let (times, outputs) = run_until(&mut layer, &clock, 100 + timer_k - 1);
        assert!(times.is_empty());
        assert!(outputs.is_empty());
        assert_eq!(layer.len(), 1);
        let (_, outputs) = run_until(&mut layer, &clock, 100 + timer_k);
        assert!(outputs.is_empty(), "Timer K ends quietly");
        assert!(layer.is_empty());
    }
}

#[test]
fn unmatched_responses_are_not_ours() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    send(&mut layer, &clock, "z9hG4bKnicc4", false);
    let mut outputs = Vec::new();
    let other_branch = response_to("z9hG4bKnope", 200, "OK", "1 MESSAGE", "b1");
    assert_eq!(
        layer.on_response(&other_branch, clock.ms(1), &mut outputs),
        Ok(false)
    );
    // Same branch, other CSeq method: another transaction (§17.1.3).
    let other_method = response_to("z9hG4bKnicc4", 200, "OK", "1 OPTIONS", "b1");
    assert_eq!(
        layer.on_response(&other_method, clock.ms(1), &mut outputs),
        Ok(false)
    );
    assert!(outputs.is_empty());
}

#[test]
fn send_request_refuses_what_is_not_a_client_transaction() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let mut outputs = Vec::new();
    send(&mut layer, &clock, "z9hG4bKnicc5", false);
    assert_eq!(
        layer.send_request(
            &message_request("z9hG4bKnicc5"),
            PEER,
            false,
            clock.ms(1),
            &mut outputs
        ),
        Err(TransactionError::DuplicateTransaction)
    );
    assert_eq!(
        layer.send_request(
            &message_request("legacy-branch"),
            PEER,
            false,
            clock.ms(1),
            &mut outputs
        ),
        Err(TransactionError::NotRfc3261Branch)
    );
    assert_eq!(
        layer.send_request(
            &ack_for_non_2xx("z9hG4bKnicc6", "x"),
            PEER,
            false,
            clock.ms(1),
            &mut outputs
        ),
        Err(TransactionError::AckIsNotATransaction)
    );
    assert!(outputs.is_empty());
    assert_eq!(layer.len(), 1);
}

#[test]
fn transport_error_times_the_transaction_out() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let key = send(&mut layer, &clock, "z9hG4bKnicc7", true);
    let mut outputs = Vec::new();
    assert!(layer.on_transport_error(&key, &mut outputs));
    assert_eq!(timeouts(&outputs), vec![key.clone()]);
    assert!(layer.is_empty());
    assert!(!layer.on_transport_error(&key, &mut outputs));
}

#[test]
fn new_branch_starts_a_valid_client_transaction() {
    let clock = Clock::new();
    let mut layer = TransactionLayer::new(timers());
    let branch = herald_transaction::new_branch();
    let key = send(&mut layer, &clock, &branch, false);
    let ok = response_to(&branch, 200, "OK", "1 MESSAGE", "b1");
    assert_eq!(TransactionKey::for_response(&ok).expect("key"), key);
}
