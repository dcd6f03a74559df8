//! The offline message queue: ordering, per-user limit (also under concurrency), expiry,
//! delivery, start-up listing, and what removing a user does to it.

mod common;

use common::{new_user, offline_message};
use herald_store::{SharedStore, SqliteStore, StoreError};
use std::sync::Arc;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const T0: i64 = 1_790_000_000_000;

/// An in-memory store with the users alice, bob and carol at example.com.
async fn store_with_users() -> SharedStore {
    let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        store
            .add_user(new_user(name, "example.com", i as u64))
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn messages_come_back_in_arrival_order_with_every_field() {
    let store = store_with_users().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        // Arrival times deliberately not monotonic: order is by arrival (id), not by timestamp.
        let received = T0 - i64::from(n);
        let m = offline_message(
            "alice@EXAMPLE.com",
            "Bob@Example.COM",
            n,
            received,
            received + DAY_MS,
        );
        ids.push(store.enqueue_offline(m, 100).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids {ids:?}");

    let queued = store
        .offline_for("alice@example.com", T0, 100)
        .await
        .unwrap();
    assert_eq!(queued.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    let first = &queued[0];
    assert_eq!(first.recipient, "alice@example.com");
    assert_eq!(first.sender, "Bob@example.com");
    assert_eq!(first.from_header, "\"Sender\" <sip:Bob@Example.COM>");
    assert_eq!(first.content_type, "text/plain;charset=UTF-8");
    assert_eq!(first.body, b"message 0");
    assert_eq!(first.date, "Sat, 21 Nov 2026 12:00:00 GMT");
    assert_eq!(first.call_id, "call-0@client");
    assert_eq!(first.received_at_ms, T0);
    assert_eq!(first.expires_at_ms, T0 + DAY_MS);
    assert_eq!(queued[4].body, b"message 4");

    let oldest_two = store.offline_for("alice@example.com", T0, 2).await.unwrap();
    assert_eq!(
        oldest_two.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[..2]
    );
}

#[tokio::test]
async fn binary_bodies_are_kept_byte_for_byte() {
    let store = store_with_users().await;
    let mut m = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + DAY_MS);
    m.body = (0..=255u8).collect();
    m.content_type = "application/octet-stream".to_owned();
    store.enqueue_offline(m.clone(), 10).await.unwrap();
    let queued = store
        .offline_for("alice@example.com", T0, 10)
        .await
        .unwrap();
    assert_eq!(queued[0].body, m.body);
}

#[tokio::test]
async fn queues_are_per_recipient() {
    let store = store_with_users().await;
    let to_alice = offline_message("alice@example.com", "bob@example.com", 1, T0, T0 + DAY_MS);
    let to_bob = offline_message("bob@example.com", "alice@example.com", 2, T0, T0 + DAY_MS);
    let alice_id = store.enqueue_offline(to_alice, 10).await.unwrap();
    let bob_id = store.enqueue_offline(to_bob, 10).await.unwrap();

    let alice = store
        .offline_for("alice@example.com", T0, 10)
        .await
        .unwrap();
    let bob = store.offline_for("bob@example.com", T0, 10).await.unwrap();
    assert_eq!(alice.iter().map(|m| m.id).collect::<Vec<_>>(), [alice_id]);
    assert_eq!(bob.iter().map(|m| m.id).collect::<Vec<_>>(), [bob_id]);
    assert!(
        store
            .offline_for("carol@example.com", T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_limit_is_per_user_and_frees_up_on_delivery_and_expiry() {
    let store = store_with_users().await;
    let limit = 3;
    let mut ids = Vec::new();
    for n in 0..3 {
        let m = offline_message("alice@example.com", "bob@example.com", n, T0, T0 + DAY_MS);
        ids.push(store.enqueue_offline(m, limit).await.unwrap());
    }
    let one_more = offline_message("alice@example.com", "bob@example.com", 9, T0, T0 + DAY_MS);
    match store.enqueue_offline(one_more.clone(), limit).await {
        Err(StoreError::LimitReached { recipient, limit }) => {
            assert_eq!(recipient, "alice@example.com");
            assert_eq!(limit, 3);
        }
        other => panic!("expected LimitReached, got {other:?}"),
    }
    let err = store
        .enqueue_offline(one_more.clone(), limit)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "limit of 3 reached for alice@example.com");
    // Another recipient is not affected.
    let to_bob = offline_message("bob@example.com", "alice@example.com", 0, T0, T0 + DAY_MS);
    store.enqueue_offline(to_bob, limit).await.unwrap();

    store.offline_delivered(ids[0]).await.unwrap();
    store.enqueue_offline(one_more, limit).await.unwrap();

    // A message past its expiry no longer takes a place, even before it is purged.
    let store = store_with_users().await;
    let short_lived = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + 10);
    store.enqueue_offline(short_lived, 1).await.unwrap();
    let later = offline_message(
        "alice@example.com",
        "bob@example.com",
        1,
        T0 + 10,
        T0 + DAY_MS,
    );
    store.enqueue_offline(later, 1).await.unwrap();
    let still_later = offline_message(
        "alice@example.com",
        "bob@example.com",
        2,
        T0 + 20,
        T0 + DAY_MS,
    );
    assert!(matches!(
        store.enqueue_offline(still_later, 1).await,
        Err(StoreError::LimitReached { .. })
    ));
    // A zero limit queues nothing.
    let m = offline_message("carol@example.com", "bob@example.com", 0, T0, T0 + DAY_MS);
    assert!(matches!(
        store.enqueue_offline(m, 0).await,
        Err(StoreError::LimitReached { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enqueues_never_exceed_the_limit() {
    const LIMIT: u32 = 10;
    const SENDERS: u32 = 20;
    let dir = tempfile::tempdir().unwrap();
    // A file database: several pooled connections really do race (in-memory has only one).
    let store: SharedStore = Arc::new(
        SqliteStore::open(&dir.path().join("herald.db"))
            .await
            .unwrap(),
    );
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();

    let tasks: Vec<_> = (0..SENDERS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let m = offline_message("alice@example.com", "bob@example.com", n, T0, T0 + DAY_MS);
                store.enqueue_offline(m, LIMIT).await
            })
        })
        .collect();
    let mut accepted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(StoreError::LimitReached { .. }) => refused += 1,
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(accepted, LIMIT);
    assert_eq!(refused, SENDERS - LIMIT);
    let queued = store
        .offline_for("alice@example.com", T0, 100)
        .await
        .unwrap();
    assert_eq!(queued.len(), LIMIT as usize);
}

#[tokio::test]
async fn expired_messages_are_not_delivered_and_are_purged() {
    let store = store_with_users().await;
    let soon = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + 1_000);
    let later = offline_message("alice@example.com", "bob@example.com", 1, T0, T0 + 2_000);
    let for_bob = offline_message("bob@example.com", "carol@example.com", 2, T0, T0 + 1_000);
    let soon_id = store.enqueue_offline(soon, 10).await.unwrap();
    let later_id = store.enqueue_offline(later, 10).await.unwrap();
    store.enqueue_offline(for_bob, 10).await.unwrap();

    let ids_at = |now| {
        let store = store.clone();
        async move {
            store
                .offline_for("alice@example.com", now, 10)
                .await
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids_at(T0 + 999).await, [soon_id, later_id]);
    // The expiry instant itself is already too late.
    assert_eq!(ids_at(T0 + 1_000).await, [later_id]);
    assert_eq!(ids_at(T0 + 2_000).await, Vec::<i64>::new());

    assert_eq!(store.expire_offline(T0 + 999).await.unwrap(), 0);
    assert_eq!(store.expire_offline(T0 + 1_000).await.unwrap(), 2);
    assert_eq!(store.expire_offline(T0 + 1_000).await.unwrap(), 0);
    // Purged means gone even for a reader that asks about an earlier time.
    assert_eq!(ids_at(T0).await, [later_id]);
    assert!(
        store
            .offline_for("bob@example.com", T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn delivered_messages_are_deleted_idempotently_and_ids_are_not_reused() {
    let store = store_with_users().await;
    let first = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + DAY_MS);
    let second = offline_message("alice@example.com", "bob@example.com", 1, T0, T0 + DAY_MS);
    let first_id = store.enqueue_offline(first, 10).await.unwrap();
    let second_id = store.enqueue_offline(second, 10).await.unwrap();

    store.offline_delivered(second_id).await.unwrap();
    store.offline_delivered(second_id).await.unwrap();
    store.offline_delivered(i64::MAX).await.unwrap();
    let left = store
        .offline_for("alice@example.com", T0, 10)
        .await
        .unwrap();
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), [first_id]);

    store.offline_delivered(first_id).await.unwrap();
    assert!(
        store
            .offline_for("alice@example.com", T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A late duplicate "delivered" for an old id must never hit a newer message.
    let third = offline_message("alice@example.com", "bob@example.com", 2, T0, T0 + DAY_MS);
    let third_id = store.enqueue_offline(third, 10).await.unwrap();
    assert!(third_id > second_id);
}

#[tokio::test]
async fn recipients_with_unexpired_messages_are_listed_once() {
    let store = store_with_users().await;
    for (recipient, n, expires) in [
        ("bob@example.com", 0, T0 + DAY_MS),
        ("alice@example.com", 1, T0 + DAY_MS),
        ("alice@example.com", 2, T0 + DAY_MS),
        ("carol@example.com", 3, T0 + 1),
    ] {
        let m = offline_message(recipient, "bob@example.com", n, T0, expires);
        store.enqueue_offline(m, 10).await.unwrap();
    }
    assert_eq!(
        store.offline_recipients(T0).await.unwrap(),
        ["alice@example.com", "bob@example.com", "carol@example.com"]
    );
    assert_eq!(
        store.offline_recipients(T0 + 1).await.unwrap(),
        ["alice@example.com", "bob@example.com"]
    );
    assert!(
        store
            .offline_recipients(T0 + DAY_MS)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_stored_users_get_a_queue_and_bad_input_is_refused() {
    let store = store_with_users().await;
    let m = offline_message("dave@example.com", "bob@example.com", 0, T0, T0 + DAY_MS);
    match store.enqueue_offline(m, 10).await {
        Err(StoreError::NotFound(aor)) => assert_eq!(aor, "dave@example.com"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let m = offline_message("alice", "bob@example.com", 0, T0, T0 + DAY_MS);
    assert!(matches!(
        store.enqueue_offline(m, 10).await,
        Err(StoreError::Invalid(_))
    ));
    let mut m = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + DAY_MS);
    m.from_header = "<sip:bob@example.com>\r\nX-Evil: 1".to_owned();
    assert!(matches!(
        store.enqueue_offline(m, 10).await,
        Err(StoreError::Invalid(_))
    ));
    let m = offline_message("alice@example.com", "bob@example.com", 0, T0, T0);
    assert!(matches!(
        store.enqueue_offline(m, 10).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.offline_for("alice", T0, 10).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(
        store
            .offline_for("alice@example.com", T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn removing_a_user_drops_the_queue_for_them_but_not_what_they_sent() {
    let store = store_with_users().await;
    let to_alice = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + DAY_MS);
    let from_alice = offline_message("bob@example.com", "alice@example.com", 1, T0, T0 + DAY_MS);
    store.enqueue_offline(to_alice, 10).await.unwrap();
    let from_alice_id = store.enqueue_offline(from_alice, 10).await.unwrap();

    store.remove_user("alice@example.com").await.unwrap();
    assert_eq!(
        store.offline_recipients(T0).await.unwrap(),
        ["bob@example.com"]
    );
    let bob = store.offline_for("bob@example.com", T0, 10).await.unwrap();
    assert_eq!(
        bob.iter().map(|m| m.id).collect::<Vec<_>>(),
        [from_alice_id]
    );

    // A new account with the same address starts with an empty queue.
    store
        .add_user(new_user("alice", "example.com", 9))
        .await
        .unwrap();
    assert!(
        store
            .offline_for("alice@example.com", T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
