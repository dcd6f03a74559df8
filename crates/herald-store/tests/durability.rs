//! File-backed behaviour: persistence across reopen and readers running beside a writer.

mod common;

use common::{archive_record, contact, new_user, numbered_users, offline_message};
use herald_store::{
    AccessRule, AccessSubject, ContactEntry, EffectivePolicy, PolicyLimits, SharedStore,
    SqliteStore, Store, StoreError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");

    let store = SqliteStore::open(&path).await.unwrap();
    let alice = store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    store
        .add_user(new_user("bob", "example.com", 2))
        .await
        .unwrap();
    store.import_users(numbered_users(50)).await.unwrap();
    store.set_enabled("bob@example.com", false).await.unwrap();
    store.close().await;

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.user_count().await.unwrap(), 52);
    assert_eq!(
        reopened.get_user("alice@example.com").await.unwrap(),
        Some(alice)
    );
    assert!(
        !reopened
            .get_user("bob@example.com")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    reopened.remove_user("alice@example.com").await.unwrap();
    reopened.close().await;

    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(again.user_count().await.unwrap(), 51);
    assert!(again.get_user("alice@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn presence_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let alice = "alice@example.com";
    let partner = AccessSubject::parse("partner.org").unwrap();
    let user_limits = PolicyLimits {
        max_contacts: Some(30),
        ..PolicyLimits::default()
    };
    let server_limits = PolicyLimits {
        max_prompted: Some(9),
        create_conferences: Some(false),
        ..PolicyLimits::default()
    };

    let store = SqliteStore::open(&path).await.unwrap();
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    for c in ["bob@example.com", "carol@partner.org"] {
        store
            .add_contact(alice, contact(c, Some("Name"), &["Team", "Friends"]), 10)
            .await
            .unwrap();
    }
    store
        .set_access(alice, &partner, Some("colleagues"))
        .await
        .unwrap();
    store.set_privacy_mode(alice, true).await.unwrap();
    store.set_policy(Some(alice), user_limits).await.unwrap();
    store.set_policy(None, server_limits).await.unwrap();
    store.close().await;

    let reopened = SqliteStore::open(&path).await.unwrap();
    let groups = vec!["Friends".to_owned(), "Team".to_owned()];
    assert_eq!(
        reopened.contacts_of(alice).await.unwrap(),
        ["bob@example.com", "carol@partner.org"].map(|c| ContactEntry {
            contact: c.to_owned(),
            display_name: Some("Name".to_owned()),
            groups: groups.clone(),
        })
    );
    assert_eq!(
        reopened.access_rules(alice).await.unwrap(),
        [AccessRule {
            subject: partner,
            level: "colleagues".to_owned(),
        }]
    );
    assert!(reopened.privacy_mode(alice).await.unwrap());
    assert_eq!(reopened.policy(Some(alice)).await.unwrap(), user_limits);
    assert_eq!(reopened.policy(None).await.unwrap(), server_limits);
    assert_eq!(
        reopened.effective_policy(alice).await.unwrap(),
        EffectivePolicy {
            max_contacts: 30,
            max_subscriptions: 1000,
            max_prompted: 9,
            create_conferences: false,
        }
    );
}

#[tokio::test]
async fn committed_data_survives_without_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .add_user(new_user("alice", "example.com", 1))
            .await
            .unwrap();
        // Dropped without close(): the WAL is not checkpointed.
    }
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert!(
        reopened
            .get_user("alice@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn two_stores_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let first = SqliteStore::open(&path).await.unwrap();
    let second = SqliteStore::open(&path).await.unwrap();
    first
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    assert!(
        second
            .get_user("alice@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_run_while_a_writer_writes() {
    const WRITES: u64 = 300;
    const BULK_EVERY: u64 = 50;
    const READERS: usize = 4;
    let expected_total = 1 + WRITES + WRITES.div_ceil(BULK_EVERY);
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(
        SqliteStore::open(&dir.path().join("herald.db"))
            .await
            .unwrap(),
    );
    store
        .add_user(new_user("seed", "example.com", 0))
        .await
        .unwrap();
    let writer_done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let store = store.clone();
            let writer_done = writer_done.clone();
            tokio::spawn(async move {
                let mut last_count = 0;
                let mut reads = 0u64;
                loop {
                    // Checked before reading so the last round sees everything the writer did.
                    let finished = writer_done.load(Ordering::Acquire);
                    let count = store.user_count().await?;
                    // Only inserts happen, so a reader must never see the directory shrink.
                    assert!(
                        count >= last_count,
                        "count went from {last_count} to {count}"
                    );
                    last_count = count;
                    assert!(store.get_user("seed@example.com").await?.is_some());
                    assert!(store.list_users().await?.len() as u64 >= count);
                    reads += 1;
                    if finished {
                        return Ok::<_, StoreError>((reads, count));
                    }
                }
            })
        })
        .collect();

    let writer = {
        let store = store.clone();
        let writer_done = writer_done.clone();
        tokio::spawn(async move {
            let mut result = Ok(());
            for i in 0..WRITES {
                let name = format!("w{i}");
                result = store
                    .add_user(new_user(&name, "example.com", i))
                    .await
                    .map(drop);
                if result.is_ok() && i % BULK_EVERY == 0 {
                    let bulk = vec![new_user(&format!("bulk{i}"), "example.com", i)];
                    result = store.import_users(bulk).await.map(drop);
                }
                if result.is_err() {
                    break;
                }
            }
            // Set even on failure so readers stop instead of spinning forever.
            writer_done.store(true, Ordering::Release);
            result
        })
    };

    writer.await.unwrap().unwrap();
    for reader in readers {
        let (reads, final_count) = reader.await.unwrap().unwrap();
        assert!(reads > 0);
        assert_eq!(final_count, expected_total);
    }
    assert_eq!(store.user_count().await.unwrap(), expected_total);
}

#[tokio::test]
async fn im_data_survives_reopen_without_a_clean_close() {
    const T0: i64 = 1_790_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let (first_id, second_id) = {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .add_user(new_user("alice", "example.com", 1))
            .await
            .unwrap();
        store
            .set_archiving("alice@example.com", Some(true))
            .await
            .unwrap();
        let first = offline_message("alice@example.com", "bob@example.com", 0, T0, T0 + 1_000);
        let second = offline_message("alice@example.com", "bob@example.com", 1, T0, T0 + 1_000);
        let first_id = store.enqueue_offline(first, 10).await.unwrap();
        let second_id = store.enqueue_offline(second, 10).await.unwrap();
        store
            .archive(archive_record(
                T0,
                "bob@example.com",
                "alice@example.com",
                "hi",
            ))
            .await
            .unwrap();
        // Dropped without close(), as after kill -9: only committed writes count.
        (first_id, second_id)
    };

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        reopened.offline_recipients(T0).await.unwrap(),
        ["alice@example.com"]
    );
    let queued = reopened
        .offline_for("alice@example.com", T0, 10)
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|m| m.id).collect::<Vec<_>>(),
        [first_id, second_id]
    );
    assert_eq!(queued[1].body, b"message 1");
    let archived = reopened
        .archived_for("alice@example.com", 0, None)
        .await
        .unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].body, b"hi");
    assert_eq!(
        reopened.archiving_overrides().await.unwrap(),
        [("alice@example.com".to_owned(), true)]
    );

    reopened.offline_delivered(first_id).await.unwrap();
    reopened.close().await;
    let again = SqliteStore::open(&path).await.unwrap();
    let queued = again
        .offline_for("alice@example.com", T0, 10)
        .await
        .unwrap();
    assert_eq!(queued.iter().map(|m| m.id).collect::<Vec<_>>(), [second_id]);
    // Ids keep growing across restarts.
    let third = offline_message("alice@example.com", "bob@example.com", 2, T0, T0 + 1_000);
    assert!(again.enqueue_offline(third, 10).await.unwrap() > second_id);
}
