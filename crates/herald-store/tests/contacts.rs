//! Server-stored contact lists: order, merge on re-add, the per-owner limit (also under
//! concurrency), removal, refused input, and what removing a user does to them.

mod common;

use common::{contact, new_user};
use herald_store::{ContactEntry, SharedStore, SqliteStore, StoreError};
use std::sync::Arc;

const ALICE: &str = "alice@example.com";

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

fn entry(contact: &str, name: Option<&str>, groups: &[&str]) -> ContactEntry {
    ContactEntry {
        contact: contact.to_owned(),
        display_name: name.map(str::to_owned),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn listed(entries: &[ContactEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.contact.as_str()).collect()
}

#[tokio::test]
async fn contacts_come_back_in_the_order_first_added_with_every_field() {
    let store = store_with_users().await;
    let bob = store
        .add_contact(
            "alice@EXAMPLE.com",
            contact(
                "sip:bob@Example.COM",
                Some("Bob B."),
                &["Team", "Friends", "Team"],
            ),
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        bob,
        entry("bob@example.com", Some("Bob B."), &["Friends", "Team"])
    );
    // Contacts need not be local users; the user part keeps its case.
    store
        .add_contact(ALICE, contact("Zed@partner.org", None, &[]), 100)
        .await
        .unwrap();
    store
        .add_contact(ALICE, contact("carol@example.com", None, &["Team"]), 100)
        .await
        .unwrap();

    let list = store.contacts_of("alice@Example.com").await.unwrap();
    assert_eq!(
        list,
        [
            entry("bob@example.com", Some("Bob B."), &["Friends", "Team"]),
            entry("Zed@partner.org", None, &[]),
            entry("carol@example.com", None, &["Team"]),
        ]
    );
    assert!(
        store
            .contacts_of("bob@example.com")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn adding_again_merges_groups_and_replaces_only_a_given_name() {
    let store = store_with_users().await;
    store
        .add_contact(
            ALICE,
            contact("bob@example.com", Some("Bob"), &["Team"]),
            100,
        )
        .await
        .unwrap();
    store
        .add_contact(ALICE, contact("carol@example.com", None, &[]), 100)
        .await
        .unwrap();

    let merged = store
        .add_contact(
            ALICE,
            contact("bob@example.com", None, &["Friends", "Team"]),
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        merged,
        entry("bob@example.com", Some("Bob"), &["Friends", "Team"])
    );

    let renamed = store
        .add_contact(
            ALICE,
            contact("sip:bob@EXAMPLE.com", Some("Robert"), &[]),
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        renamed,
        entry("bob@example.com", Some("Robert"), &["Friends", "Team"])
    );

    let cleared = store
        .add_contact(ALICE, contact("bob@example.com", Some(" "), &[]), 100)
        .await
        .unwrap();
    assert_eq!(
        cleared.display_name, None,
        "a blank name clears the override"
    );

    let list = store.contacts_of(ALICE).await.unwrap();
    assert_eq!(
        listed(&list),
        ["bob@example.com", "carol@example.com"],
        "updates keep the place"
    );
    assert_eq!(list[0], cleared);
}

#[tokio::test]
async fn the_limit_counts_new_contacts_per_owner() {
    let store = store_with_users().await;
    for c in ["bob@example.com", "carol@example.com"] {
        store
            .add_contact(ALICE, contact(c, None, &[]), 2)
            .await
            .unwrap();
    }
    let refused = store
        .add_contact(ALICE, contact("dave@example.com", None, &[]), 2)
        .await;
    match refused {
        Err(StoreError::LimitReached { recipient, limit }) => {
            assert_eq!(recipient, ALICE);
            assert_eq!(limit, 2);
        }
        other => panic!("expected LimitReached, got {other:?}"),
    }
    // At the limit (and even above a lowered one), contacts already listed can be updated.
    let updated = store
        .add_contact(ALICE, contact("bob@example.com", Some("Bob"), &["Team"]), 1)
        .await
        .unwrap();
    assert_eq!(updated, entry("bob@example.com", Some("Bob"), &["Team"]));
    assert!(matches!(
        store
            .add_contact(ALICE, contact("dave@example.com", None, &[]), 1)
            .await,
        Err(StoreError::LimitReached { limit: 1, .. })
    ));
    // Other owners have their own count.
    store
        .add_contact("bob@example.com", contact("dave@example.com", None, &[]), 2)
        .await
        .unwrap();
    // Removing one makes room again.
    store
        .remove_contact(ALICE, "carol@example.com")
        .await
        .unwrap();
    store
        .add_contact(ALICE, contact("dave@example.com", None, &[]), 2)
        .await
        .unwrap();
    assert_eq!(
        listed(&store.contacts_of(ALICE).await.unwrap()),
        ["bob@example.com", "dave@example.com"]
    );
    assert!(matches!(
        store
            .add_contact(ALICE, contact("erin@example.com", None, &[]), 0)
            .await,
        Err(StoreError::LimitReached { limit: 0, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_never_exceed_the_limit() {
    const LIMIT: u32 = 10;
    const ADDS: u32 = 20;
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
    let tasks: Vec<_> = (0..ADDS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = contact(&format!("user{n}@example.com"), None, &["Team"]);
                store.add_contact(ALICE, c, LIMIT).await
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
    assert_eq!(refused, ADDS - LIMIT);
    assert_eq!(
        store.contacts_of(ALICE).await.unwrap().len(),
        LIMIT as usize
    );
}

#[tokio::test]
async fn a_removed_contact_is_gone_with_its_groups() {
    let store = store_with_users().await;
    for c in ["bob@example.com", "carol@example.com"] {
        store
            .add_contact(ALICE, contact(c, Some("Name"), &["Team"]), 100)
            .await
            .unwrap();
    }
    store
        .remove_contact(ALICE, "sip:bob@EXAMPLE.com")
        .await
        .unwrap();
    assert_eq!(
        listed(&store.contacts_of(ALICE).await.unwrap()),
        ["carol@example.com"]
    );

    match store.remove_contact(ALICE, "bob@example.com").await {
        Err(StoreError::NotFound(key)) => assert_eq!(key, "bob@example.com"),
        other => panic!("expected NotFound naming the contact, got {other:?}"),
    }
    // Added back, bob starts afresh: at the end, without his old name and groups.
    store
        .add_contact(ALICE, contact("bob@example.com", None, &[]), 100)
        .await
        .unwrap();
    assert_eq!(
        store.contacts_of(ALICE).await.unwrap(),
        [
            entry("carol@example.com", Some("Name"), &["Team"]),
            entry("bob@example.com", None, &[]),
        ]
    );
}

#[tokio::test]
async fn only_stored_owners_have_lists_and_bad_input_is_refused() {
    let store = store_with_users().await;
    let not_found = |r: Result<_, StoreError>, who: &str| match r {
        Err(StoreError::NotFound(key)) => assert_eq!(key, who),
        other => panic!("expected NotFound({who}), got {:?}", other.map(|_| ())),
    };
    let nobody = "nobody@example.com";
    not_found(
        store
            .add_contact(nobody, contact("bob@example.com", None, &[]), 10)
            .await
            .map(drop),
        nobody,
    );
    not_found(store.contacts_of(nobody).await.map(drop), nobody);
    not_found(
        store.remove_contact(nobody, "bob@example.com").await,
        nobody,
    );

    let invalid = |r: Result<ContactEntry, StoreError>, what: &str| {
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{what}: {r:?}");
    };
    invalid(
        store
            .add_contact(ALICE, contact("sip:alice@EXAMPLE.com", None, &[]), 10)
            .await,
        "oneself",
    );
    invalid(
        store
            .add_contact(ALICE, contact("bob", None, &[]), 10)
            .await,
        "no domain",
    );
    invalid(
        store
            .add_contact(ALICE, contact("bob@exa mple.com", None, &[]), 10)
            .await,
        "bad domain",
    );
    invalid(
        store
            .add_contact(ALICE, contact("bob@example.com", None, &[""]), 10)
            .await,
        "empty group",
    );
    invalid(
        store
            .add_contact(
                ALICE,
                contact("bob@example.com", None, &[&"g".repeat(65)]),
                10,
            )
            .await,
        "long group",
    );
    invalid(
        store
            .add_contact(
                ALICE,
                contact("bob@example.com", Some("B\r\nVia: x"), &[]),
                10,
            )
            .await,
        "name with a line break",
    );
    invalid(
        store
            .add_contact("alice", contact("bob@example.com", None, &[]), 10)
            .await,
        "bad owner",
    );
    assert!(matches!(
        store.contacts_of("alice").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.remove_contact(ALICE, "bob").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(
        store.contacts_of(ALICE).await.unwrap().is_empty(),
        "nothing was stored"
    );
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_merge_past_the_group_bound_changes_nothing() {
    let store = store_with_users().await;
    let first: Vec<String> = (0..40).map(|i| format!("a{i:02}")).collect();
    let second: Vec<String> = (0..40).map(|i| format!("b{i:02}")).collect();
    store
        .add_contact(
            ALICE,
            contact("bob@example.com", Some("Bob"), &refs(&first)),
            10,
        )
        .await
        .unwrap();
    let refused = store
        .add_contact(
            ALICE,
            contact("bob@example.com", Some("Robert"), &refs(&second)),
            10,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    let list = store.contacts_of(ALICE).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].display_name.as_deref(),
        Some("Bob"),
        "the rename was rolled back"
    );
    assert_eq!(list[0].groups, first, "the merge was rolled back");
}

#[tokio::test]
async fn removing_a_user_drops_their_list_but_not_entries_naming_them() {
    let store = store_with_users().await;
    store
        .add_contact(
            ALICE,
            contact("bob@example.com", Some("Bob"), &["Team"]),
            10,
        )
        .await
        .unwrap();
    store
        .add_contact("bob@example.com", contact(ALICE, None, &["Team"]), 10)
        .await
        .unwrap();
    store.remove_user(ALICE).await.unwrap();
    assert!(matches!(
        store.contacts_of(ALICE).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.contacts_of("bob@example.com").await.unwrap(),
        [entry(ALICE, None, &["Team"])],
        "contacts need not be local users"
    );
    // A new alice does not inherit the old one's list.
    store
        .add_user(new_user("alice", "example.com", 9))
        .await
        .unwrap();
    assert!(store.contacts_of(ALICE).await.unwrap().is_empty());
}
