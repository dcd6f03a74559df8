//! User policies: per-user over server-wide over built-in defaults, each setting on its own;
//! replacing, clearing, refused limits, and what removing a user does to their policy.

mod common;

use common::new_user;
use herald_store::{
    EffectivePolicy, MAX_CONTACTS_CEILING, PolicyLimits, SharedStore, SqliteStore, StoreError,
};
use std::sync::Arc;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// An in-memory store with the users alice and bob at example.com.
async fn store_with_users() -> SharedStore {
    let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    for (i, name) in ["alice", "bob"].into_iter().enumerate() {
        store
            .add_user(new_user(name, "example.com", i as u64))
            .await
            .unwrap();
    }
    store
}

fn limits(
    contacts: Option<u32>,
    subscriptions: Option<u32>,
    prompted: Option<u32>,
) -> PolicyLimits {
    PolicyLimits {
        max_contacts: contacts,
        max_subscriptions: subscriptions,
        max_prompted: prompted,
        create_conferences: None,
    }
}

fn effective(contacts: u32, subscriptions: u32, prompted: u32) -> EffectivePolicy {
    EffectivePolicy {
        max_contacts: contacts,
        max_subscriptions: subscriptions,
        max_prompted: prompted,
        create_conferences: true,
    }
}

fn conferences(allowed: Option<bool>) -> PolicyLimits {
    PolicyLimits {
        create_conferences: allowed,
        ..PolicyLimits::default()
    }
}

async fn may_create_conferences(store: &SharedStore, user: &str) -> bool {
    store
        .effective_policy(user)
        .await
        .unwrap()
        .create_conferences
}

#[tokio::test]
async fn without_stored_policies_the_built_in_defaults_apply() {
    let store = store_with_users().await;
    assert_eq!(store.policy(None).await.unwrap(), PolicyLimits::default());
    assert_eq!(
        store.policy(Some(ALICE)).await.unwrap(),
        PolicyLimits::default()
    );
    assert_eq!(
        store.effective_policy(ALICE).await.unwrap(),
        effective(250, 1000, 200)
    );
    assert_eq!(PolicyLimits::DEFAULT, effective(250, 1000, 200));
}

#[tokio::test]
async fn each_limit_comes_from_the_user_else_the_server_else_the_default() {
    let store = store_with_users().await;
    store
        .set_policy(None, limits(Some(500), Some(50), None))
        .await
        .unwrap();
    store
        .set_policy(Some("alice@EXAMPLE.com"), limits(Some(20), None, None))
        .await
        .unwrap();
    assert_eq!(
        store.policy(None).await.unwrap(),
        limits(Some(500), Some(50), None)
    );
    assert_eq!(
        store.policy(Some(ALICE)).await.unwrap(),
        limits(Some(20), None, None)
    );
    assert_eq!(
        store.effective_policy(ALICE).await.unwrap(),
        effective(20, 50, 200)
    );
    assert_eq!(
        store.effective_policy(BOB).await.unwrap(),
        effective(500, 50, 200)
    );
    assert_eq!(
        store.policy(Some(BOB)).await.unwrap(),
        PolicyLimits::default()
    );
}

#[tokio::test]
async fn setting_replaces_the_whole_row_and_all_inherited_clears_it() {
    let store = store_with_users().await;
    for user in [None, Some(ALICE)] {
        store
            .set_policy(user, limits(Some(10), Some(20), Some(30)))
            .await
            .unwrap();
        store
            .set_policy(user, limits(None, None, Some(5)))
            .await
            .unwrap();
        assert_eq!(
            store.policy(user).await.unwrap(),
            limits(None, None, Some(5)),
            "{user:?}: replaced, not merged"
        );
        store
            .set_policy(user, PolicyLimits::default())
            .await
            .unwrap();
        assert_eq!(store.policy(user).await.unwrap(), PolicyLimits::default());
        // Clearing what is not stored is fine.
        store
            .set_policy(user, PolicyLimits::default())
            .await
            .unwrap();
    }
    assert_eq!(
        store.effective_policy(ALICE).await.unwrap(),
        PolicyLimits::DEFAULT
    );
}

#[tokio::test]
async fn zero_limits_and_contacts_above_the_ceiling_are_refused() {
    let store = store_with_users().await;
    store
        .set_policy(
            Some(ALICE),
            limits(Some(MAX_CONTACTS_CEILING), Some(u32::MAX), Some(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.effective_policy(ALICE).await.unwrap(),
        effective(MAX_CONTACTS_CEILING, u32::MAX, 1),
        "the largest values survive the round trip"
    );
    for bad in [
        limits(Some(MAX_CONTACTS_CEILING + 1), None, None),
        limits(Some(0), None, None),
        limits(None, Some(0), None),
        limits(None, None, Some(0)),
    ] {
        for user in [None, Some(ALICE)] {
            assert!(
                matches!(
                    store.set_policy(user, bad).await,
                    Err(StoreError::Invalid(_))
                ),
                "{user:?} {bad:?}"
            );
        }
    }
    assert_eq!(store.policy(None).await.unwrap(), PolicyLimits::default());
    assert_eq!(
        store.policy(Some(ALICE)).await.unwrap(),
        limits(Some(MAX_CONTACTS_CEILING), Some(u32::MAX), Some(1)),
        "refused policies changed nothing"
    );
}

#[tokio::test]
async fn only_stored_users_have_policies() {
    let store = store_with_users().await;
    let nobody = "nobody@example.com";
    for result in [
        store
            .set_policy(Some(nobody), limits(Some(5), None, None))
            .await,
        store
            .set_policy(Some(nobody), PolicyLimits::default())
            .await,
        store.policy(Some(nobody)).await.map(drop),
        store.effective_policy(nobody).await.map(drop),
    ] {
        match result {
            Err(StoreError::NotFound(key)) => assert_eq!(key, nobody),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
    assert!(matches!(
        store.effective_policy("alice").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.policy(Some("@example.com")).await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn removing_a_user_drops_their_policy_but_not_the_server_wide_one() {
    let store = store_with_users().await;
    store
        .set_policy(None, limits(None, Some(40), None))
        .await
        .unwrap();
    store
        .set_policy(Some(ALICE), limits(Some(7), None, None))
        .await
        .unwrap();
    store.remove_user(ALICE).await.unwrap();
    store
        .add_user(new_user("alice", "example.com", 9))
        .await
        .unwrap();
    assert_eq!(
        store.policy(Some(ALICE)).await.unwrap(),
        PolicyLimits::default()
    );
    assert_eq!(
        store.effective_policy(ALICE).await.unwrap(),
        effective(250, 40, 200)
    );
}

#[tokio::test]
async fn creating_conferences_is_allowed_unless_the_user_or_server_policy_says_no() {
    let store = store_with_users().await;
    assert!(may_create_conferences(&store, ALICE).await);

    store
        .set_policy(None, conferences(Some(false)))
        .await
        .unwrap();
    assert!(!may_create_conferences(&store, ALICE).await);
    assert!(!may_create_conferences(&store, BOB).await);
    assert_eq!(
        store.policy(None).await.unwrap(),
        conferences(Some(false)),
        "stored and read back on its own"
    );

    // A user's own setting counts before the server-wide one, both ways.
    store
        .set_policy(Some(ALICE), conferences(Some(true)))
        .await
        .unwrap();
    assert!(may_create_conferences(&store, ALICE).await);
    assert!(!may_create_conferences(&store, BOB).await);
    store
        .set_policy(None, conferences(Some(true)))
        .await
        .unwrap();
    store
        .set_policy(Some(BOB), conferences(Some(false)))
        .await
        .unwrap();
    assert!(!may_create_conferences(&store, BOB).await);

    // It does not disturb the limits inherited beside it.
    store
        .set_policy(
            Some(BOB),
            PolicyLimits {
                max_contacts: Some(9),
                ..conferences(Some(false))
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.effective_policy(BOB).await.unwrap(),
        EffectivePolicy {
            max_contacts: 9,
            create_conferences: false,
            ..PolicyLimits::DEFAULT
        }
    );

    // Inherited again once cleared.
    store
        .set_policy(Some(BOB), PolicyLimits::default())
        .await
        .unwrap();
    assert!(may_create_conferences(&store, BOB).await);
    store
        .set_policy(None, PolicyLimits::default())
        .await
        .unwrap();
    store
        .set_policy(Some(ALICE), PolicyLimits::default())
        .await
        .unwrap();
    assert_eq!(
        store.effective_policy(ALICE).await.unwrap(),
        PolicyLimits::DEFAULT
    );
}
