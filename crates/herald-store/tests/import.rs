//! Bulk import: all-or-nothing semantics and throughput.

mod common;

use common::{new_user, numbered_users};
use herald_store::{SqliteStore, Store, StoreError};
use std::time::Instant;

#[tokio::test]
async fn import_of_100k_users_completes_and_counts_right() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("herald.db"))
        .await
        .unwrap();
    let users = numbered_users(100_000);

    let started = Instant::now();
    let imported = store.import_users(users).await.unwrap();
    let elapsed = started.elapsed();
    eprintln!("import of 100000 users into a file database took {elapsed:?}");

    assert_eq!(imported, 100_000);
    assert_eq!(store.user_count().await.unwrap(), 100_000);
    let last = store
        .get_user("user99999@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.ha1_md5, format!("{:032x}", 99_999));
    assert_eq!(last.display_name.as_deref(), Some("User user99999"));
    assert!(last.enabled);
    let first = store.get_user("user0@example.com").await.unwrap().unwrap();
    assert_eq!(first.ha1_sha256, format!("{:064x}", 0));
}

#[tokio::test]
async fn import_normalises_like_add() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let mut user = new_user("Alice", "EXAMPLE.com", 1);
    user.ha1_md5 = "A".repeat(32);
    store.import_users(vec![user]).await.unwrap();
    let alice = store.get_user("Alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.domain, "example.com");
    assert_eq!(alice.ha1_md5, "a".repeat(32));
}

#[tokio::test]
async fn empty_import_is_a_no_op() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    assert_eq!(store.import_users(Vec::new()).await.unwrap(), 0);
    assert_eq!(store.user_count().await.unwrap(), 0);
}

#[tokio::test]
async fn import_colliding_with_a_stored_user_fails_as_a_whole() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store
        .add_user(new_user("user1234", "example.com", 1))
        .await
        .unwrap();

    // Spans several INSERT statements, with the clash in a later one, so rows from earlier
    // statements must be rolled back too.
    let result = store.import_users(numbered_users(3_000)).await;

    match result {
        Err(StoreError::AlreadyExists(aor)) => assert_eq!(aor, "user1234@example.com"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(store.user_count().await.unwrap(), 1);
    assert!(store.get_user("user0@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn import_collision_is_found_regardless_of_domain_case() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store
        .add_user(new_user("bob", "example.com", 1))
        .await
        .unwrap();
    let batch = vec![
        new_user("alice", "example.com", 2),
        new_user("bob", "Example.COM", 3),
    ];
    assert!(matches!(
        store.import_users(batch).await,
        Err(StoreError::AlreadyExists(aor)) if aor == "bob@example.com"
    ));
    assert_eq!(store.user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn import_repeating_a_user_within_the_batch_fails_as_a_whole() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let mut batch = numbered_users(10);
    batch.push(new_user("user3", "EXAMPLE.COM", 99));
    assert!(matches!(
        store.import_users(batch).await,
        Err(StoreError::AlreadyExists(aor)) if aor == "user3@example.com"
    ));
    assert_eq!(store.user_count().await.unwrap(), 0);
}

#[tokio::test]
async fn import_with_one_invalid_user_fails_as_a_whole() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let mut batch = numbered_users(10);
    batch.push(new_user("Conf-room", "example.com", 1));
    match store.import_users(batch).await {
        Err(StoreError::Invalid(why)) => assert!(
            why.contains("\"Conf-room\": user names beginning with conf- are reserved"),
            "{why}"
        ),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(store.user_count().await.unwrap(), 0);
}

#[tokio::test]
async fn store_stays_usable_after_a_failed_import() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store
        .add_user(new_user("user5", "example.com", 1))
        .await
        .unwrap();
    assert!(store.import_users(numbered_users(10)).await.is_err());

    let mut fresh = numbered_users(10);
    fresh.remove(5);
    assert_eq!(store.import_users(fresh).await.unwrap(), 9);
    assert_eq!(store.user_count().await.unwrap(), 10);
}
