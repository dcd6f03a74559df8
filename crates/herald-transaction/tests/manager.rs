//! The thread-safe driver on a real tokio runtime with paused time.
mod common;

use common::*;
use herald_sip::response::from_request;
use herald_transaction::{Incoming, Output, OutputSink, Timers, TransactionManager, new_branch};
use std::{
    sync::{Arc, Mutex, OnceLock, Weak},
    time::{Duration, Instant},
};

type Collected = Arc<Mutex<Vec<Output<Ctx>>>>;

fn collecting_sink() -> (Collected, OutputSink<Ctx>) {
    let collected: Collected = Arc::default();
    let store = collected.clone();
    let sink: OutputSink<Ctx> =
        Arc::new(move |output| store.lock().expect("not poisoned").push(output));
    (collected, sink)
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn taken(collected: &Collected) -> Vec<Output<Ctx>> {
    std::mem::take(&mut *collected.lock().expect("not poisoned"))
}

#[tokio::test(start_paused = true)]
async fn timer_f_timeout_reaches_the_sink() {
    let (collected, sink) = collecting_sink();
    let manager = TransactionManager::new(Timers::default(), 4, sink);
    let mut outputs = Vec::new();
    let key = manager
        .send_request(
            &message_request(&new_branch()),
            PEER,
            true,
            now(),
            &mut outputs,
        )
        .expect("send");
    assert_eq!(
        sent(&outputs).len(),
        1,
        "the first send comes back to the caller"
    );
    assert_eq!(manager.len(), 1);

    tokio::time::sleep(Duration::from_millis(31_900)).await;
    assert!(
        taken(&collected).is_empty(),
        "nothing before Timer F, and no retransmissions over TCP"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(timeouts(&taken(&collected)), vec![key]);
    assert_eq!(manager.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn retransmissions_go_to_the_sink_on_schedule() {
    let (collected, sink) = collecting_sink();
    let manager = TransactionManager::new(Timers::default(), 2, sink);
    let mut outputs = Vec::new();
    let request = message_request(&new_branch());
    manager
        .send_request(&request, PEER, false, now(), &mut outputs)
        .expect("send");

    tokio::time::sleep(Duration::from_millis(3_600)).await;
    let resent = sent(&taken(&collected));
    assert_eq!(resent.len(), 3, "Timer E at 0.5 s, 1.5 s, 3.5 s");
    assert!(resent.iter().all(|data| *data == request.to_bytes()));

    // A final response stops them.
    let branch = request
        .top_via()
        .expect("Via")
        .branch()
        .expect("branch")
        .to_owned();
    let ok = response_to(&branch, 200, "OK", "1 MESSAGE", "b");
    let mut outputs = Vec::new();
    assert_eq!(manager.on_response(&ok, now(), &mut outputs), Ok(true));
    assert_eq!(tu_responses(&outputs), vec![200]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(taken(&collected).is_empty());
    assert_eq!(manager.len(), 0, "Timer K ended it");
}

#[tokio::test(start_paused = true)]
async fn server_transactions_and_cancel_work_across_many_shards() {
    let (collected, sink) = collecting_sink();
    let manager = TransactionManager::new(Timers::default(), 64, sink);
    for _ in 0..50 {
        let branch = new_branch();
        let invite = invite(&branch);
        let mut outputs = Vec::new();
        let Incoming::New { key } = manager
            .on_request(&invite, PEER, false, now(), &mut outputs)
            .expect("valid")
        else {
            panic!("new INVITE")
        };
        assert_eq!(sent_status(&sent(&outputs)[0]), 100);

        // The CANCEL's own key hashes elsewhere in general; it must still find the INVITE.
        let mut outputs = Vec::new();
        let incoming = manager
            .on_request(&cancel_for(&branch), PEER, false, now(), &mut outputs)
            .expect("valid");
        assert_eq!(
            incoming,
            Incoming::Cancel {
                invite: Some(key.clone())
            }
        );
        assert_eq!(sent_status(&sent(&outputs)[0]), 200);

        let mut outputs = Vec::new();
        manager
            .respond(
                &key,
                &from_request(&invite, 487, None, Some("uas")),
                now(),
                &mut outputs,
            )
            .expect("487");
        let ack = ack_for_non_2xx(&branch, "uas");
        assert_eq!(
            manager
                .on_request(&ack, PEER, false, now(), &mut outputs)
                .expect("valid"),
            Incoming::AckAbsorbed
        );
    }
    assert_eq!(manager.len(), 100, "50 INVITE + 50 CANCEL transactions");
    tokio::time::sleep(Duration::from_secs(33)).await;
    assert!(manager.is_empty(), "Timers I and J ended them all");
    assert!(server_terminations(&taken(&collected)).is_empty());
}

#[tokio::test(start_paused = true)]
async fn sink_may_call_back_into_the_manager() {
    let seen_len: Arc<Mutex<Vec<usize>>> = Arc::default();
    let manager_cell: Arc<OnceLock<Weak<TransactionManager<Ctx>>>> = Arc::default();
    let sink: OutputSink<Ctx> = {
        let seen_len = seen_len.clone();
        let manager_cell = manager_cell.clone();
        Arc::new(move |output| {
            if let (Output::Timeout { .. }, Some(manager)) =
                (&output, manager_cell.get().and_then(Weak::upgrade))
            {
                // Would deadlock if the sink ran under a shard lock.
                seen_len.lock().expect("not poisoned").push(manager.len());
            }
        })
    };
    let manager = TransactionManager::new(Timers::default(), 1, sink);
    manager_cell
        .set(Arc::downgrade(&manager))
        .expect("set once");
    let mut outputs = Vec::new();
    manager
        .send_request(&invite(&new_branch()), PEER, true, now(), &mut outputs)
        .expect("send");
    tokio::time::sleep(Duration::from_millis(32_100)).await;
    assert_eq!(*seen_len.lock().expect("not poisoned"), vec![0]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_manager_stops_its_timer_task() {
    let (collected, sink) = collecting_sink();
    let manager = TransactionManager::new(Timers::default(), 2, sink);
    let mut outputs = Vec::new();
    manager
        .send_request(
            &message_request(&new_branch()),
            PEER,
            false,
            now(),
            &mut outputs,
        )
        .expect("send");
    drop(manager);
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert!(
        taken(&collected).is_empty(),
        "no timer fired for a dropped manager"
    );
    assert_eq!(
        Arc::strong_count(&collected),
        1,
        "the sink (and the manager) were freed"
    );
}
