//! Access rules and privacy mode: setting, replacing, clearing, listing order, refused input,
//! and what removing a user does to them.

mod common;

use common::new_user;
use herald_store::{AccessRule, AccessSubject, SharedStore, SqliteStore, StoreError};
use std::sync::Arc;

const ALICE: &str = "alice@example.com";

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

fn subject(s: &str) -> AccessSubject {
    AccessSubject::parse(s).unwrap()
}

fn rule(s: &str, level: &str) -> AccessRule {
    AccessRule {
        subject: subject(s),
        level: level.to_owned(),
    }
}

#[tokio::test]
async fn rules_are_set_replaced_listed_by_subject_and_cleared() {
    let store = store_with_users().await;
    store
        .set_access(ALICE, &subject("sip:bob@EXAMPLE.com"), Some("friends"))
        .await
        .unwrap();
    store
        .set_access(ALICE, &subject("Partner.ORG"), Some("Colleagues"))
        .await
        .unwrap();
    store
        .set_access(
            "alice@EXAMPLE.com",
            &subject("carol@partner.org"),
            Some("blocked"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.access_rules(ALICE).await.unwrap(),
        [
            rule("bob@example.com", "friends"),
            rule("carol@partner.org", "blocked"),
            rule("partner.org", "colleagues"),
        ]
    );
    let domain_rule = &store.access_rules(ALICE).await.unwrap()[2];
    assert_eq!(
        domain_rule.subject,
        AccessSubject::Domain("partner.org".to_owned())
    );

    // One rule per subject: setting again replaces it.
    store
        .set_access(ALICE, &subject("bob@example.com"), Some("workgroup"))
        .await
        .unwrap();
    store
        .set_access(ALICE, &subject("partner.org"), None)
        .await
        .unwrap();
    assert_eq!(
        store.access_rules(ALICE).await.unwrap(),
        [
            rule("bob@example.com", "workgroup"),
            rule("carol@partner.org", "blocked"),
        ]
    );
    // Clearing a rule that is not there is fine.
    store
        .set_access(ALICE, &subject("partner.org"), None)
        .await
        .unwrap();
    assert!(
        store
            .access_rules("bob@example.com")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_known_level_is_accepted_and_others_are_refused() {
    let store = store_with_users().await;
    for level in herald_store::ACCESS_LEVELS {
        store
            .set_access(ALICE, &subject("bob@example.com"), Some(level))
            .await
            .unwrap();
        assert_eq!(
            store.access_rules(ALICE).await.unwrap(),
            [rule("bob@example.com", level)]
        );
    }
    match store
        .set_access(ALICE, &subject("bob@example.com"), Some("family"))
        .await
    {
        Err(StoreError::Invalid(why)) => {
            assert!(
                why.contains("public, colleagues, workgroup, friends, blocked"),
                "{why}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(
        store.access_rules(ALICE).await.unwrap(),
        [rule("bob@example.com", "blocked")],
        "the refused level changed nothing"
    );
}

#[tokio::test]
async fn bad_subjects_owners_and_self_rules_are_refused() {
    let store = store_with_users().await;
    let invalid = |r: Result<(), StoreError>, what: &str| {
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{what}: {r:?}");
    };
    invalid(
        store
            .set_access(ALICE, &subject("sip:alice@Example.com"), Some("friends"))
            .await,
        "oneself",
    );
    invalid(
        store
            .set_access(
                ALICE,
                &AccessSubject::User("example.com".into()),
                Some("friends"),
            )
            .await,
        "a user subject without a user",
    );
    invalid(
        store
            .set_access(
                ALICE,
                &AccessSubject::Domain("bob@example.com".into()),
                Some("friends"),
            )
            .await,
        "a domain subject holding an address",
    );
    invalid(
        store
            .set_access(ALICE, &AccessSubject::Domain("bad domain".into()), None)
            .await,
        "a malformed domain, even to clear",
    );
    invalid(
        store
            .set_access("alice", &subject("bob@example.com"), Some("friends"))
            .await,
        "a malformed owner",
    );
    for bad in ["", "bob@", "@example.com", "exa mple.com", "x..org"] {
        assert!(
            matches!(AccessSubject::parse(bad), Err(StoreError::Invalid(_))),
            "{bad:?}"
        );
    }

    let nobody = "nobody@example.com";
    for result in [
        store
            .set_access(nobody, &subject("bob@example.com"), Some("friends"))
            .await,
        store
            .set_access(nobody, &subject("bob@example.com"), None)
            .await,
        store.access_rules(nobody).await.map(drop),
        store.set_privacy_mode(nobody, true).await,
        store.privacy_mode(nobody).await.map(drop),
    ] {
        match result {
            Err(StoreError::NotFound(key)) => assert_eq!(key, nobody),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
    assert!(store.access_rules(ALICE).await.unwrap().is_empty());
}

#[tokio::test]
async fn privacy_mode_is_off_until_turned_on_and_is_per_user() {
    let store = store_with_users().await;
    assert!(!store.privacy_mode(ALICE).await.unwrap());
    store
        .set_privacy_mode("alice@EXAMPLE.com", true)
        .await
        .unwrap();
    assert!(store.privacy_mode(ALICE).await.unwrap());
    assert!(!store.privacy_mode("bob@example.com").await.unwrap());
    store.set_privacy_mode(ALICE, false).await.unwrap();
    assert!(!store.privacy_mode(ALICE).await.unwrap());
    assert!(matches!(
        store.privacy_mode("alice").await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn removing_a_user_drops_their_rules_and_privacy_mode_but_not_rules_naming_them() {
    let store = store_with_users().await;
    store
        .set_access(ALICE, &subject("bob@example.com"), Some("friends"))
        .await
        .unwrap();
    store.set_privacy_mode(ALICE, true).await.unwrap();
    store
        .set_access("bob@example.com", &subject(ALICE), Some("blocked"))
        .await
        .unwrap();

    store.remove_user(ALICE).await.unwrap();
    assert!(matches!(
        store.access_rules(ALICE).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.access_rules("bob@example.com").await.unwrap(),
        [rule(ALICE, "blocked")]
    );
    store
        .add_user(new_user("alice", "example.com", 9))
        .await
        .unwrap();
    assert!(store.access_rules(ALICE).await.unwrap().is_empty());
    assert!(!store.privacy_mode(ALICE).await.unwrap());
}
