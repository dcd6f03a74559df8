//! User directory CRUD, duplicates and validation through the `Store` trait.

mod common;

use common::new_user;
use herald_store::{NewUser, SharedStore, SqliteStore, StoreError};
use std::sync::Arc;

async fn store() -> SharedStore {
    Arc::new(SqliteStore::open_in_memory().await.unwrap())
}

#[tokio::test]
async fn add_then_get_returns_the_normalised_user() {
    let store = store().await;
    let mut new = new_user("alice", "Example.COM", 7);
    new.ha1_md5 = "ABCDEF0123456789ABCDEF0123456789".to_owned();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let added = store.add_user(new).await.unwrap();

    assert_eq!(added.aor, "alice@example.com");
    assert_eq!(added.username, "alice");
    assert_eq!(added.domain, "example.com");
    assert_eq!(added.display_name.as_deref(), Some("User alice"));
    assert_eq!(added.ha1_md5, "abcdef0123456789abcdef0123456789");
    assert_eq!(added.ha1_sha256, format!("{:064x}", 7));
    assert!(added.enabled);
    assert!(added.created_at >= before && added.created_at <= before + 5);

    let fetched = store.get_user("alice@example.com").await.unwrap();
    assert_eq!(fetched, Some(added));
}

#[tokio::test]
async fn lookups_ignore_domain_case_but_not_user_case() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();

    assert!(store.get_user("alice@EXAMPLE.Com").await.unwrap().is_some());
    assert!(store.get_user("Alice@example.com").await.unwrap().is_none());
    assert!(store.get_user("bob@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn display_name_may_be_absent() {
    let store = store().await;
    let mut new = new_user("carol", "example.com", 1);
    new.display_name = None;
    store.add_user(new).await.unwrap();
    let carol = store.get_user("carol@example.com").await.unwrap().unwrap();
    assert_eq!(carol.display_name, None);
}

#[tokio::test]
async fn duplicate_add_is_rejected_even_with_other_domain_case() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();

    match store.add_user(new_user("alice", "EXAMPLE.COM", 2)).await {
        Err(StoreError::AlreadyExists(aor)) => assert_eq!(aor, "alice@example.com"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    // The original credentials are untouched.
    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.ha1_md5, format!("{:032x}", 1));
    assert_eq!(store.user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn same_user_part_in_two_domains_are_two_users() {
    let store = store().await;
    store
        .add_user(new_user("alice", "a.example", 1))
        .await
        .unwrap();
    store
        .add_user(new_user("alice", "b.example", 2))
        .await
        .unwrap();
    assert_eq!(store.user_count().await.unwrap(), 2);
}

#[tokio::test]
async fn list_is_ordered_by_aor() {
    let store = store().await;
    for (name, domain) in [
        ("carol", "example.com"),
        ("alice", "z.example"),
        ("alice", "example.com"),
        ("bob", "example.com"),
    ] {
        store.add_user(new_user(name, domain, 1)).await.unwrap();
    }
    let aors: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.aor)
        .collect();
    assert_eq!(
        aors,
        [
            "alice@example.com",
            "alice@z.example",
            "bob@example.com",
            "carol@example.com"
        ]
    );
}

#[tokio::test]
async fn remove_deletes_and_reports_missing_users() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    store
        .add_user(new_user("bob", "example.com", 2))
        .await
        .unwrap();

    store.remove_user("alice@Example.com").await.unwrap();

    assert!(store.get_user("alice@example.com").await.unwrap().is_none());
    assert!(store.get_user("bob@example.com").await.unwrap().is_some());
    assert_eq!(store.user_count().await.unwrap(), 1);
    assert!(matches!(
        store.remove_user("alice@example.com").await,
        Err(StoreError::NotFound(aor)) if aor == "alice@example.com"
    ));
}

#[tokio::test]
async fn removed_user_can_be_added_again() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    store.remove_user("alice@example.com").await.unwrap();
    store
        .add_user(new_user("alice", "example.com", 2))
        .await
        .unwrap();
    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.ha1_md5, format!("{:032x}", 2));
}

#[tokio::test]
async fn set_password_replaces_both_ha1_values() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    let md5 = "F".repeat(32);
    let sha = "e".repeat(64);

    store
        .set_password("alice@EXAMPLE.com", &md5, &sha)
        .await
        .unwrap();

    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.ha1_md5, "f".repeat(32));
    assert_eq!(alice.ha1_sha256, sha);
    assert!(matches!(
        store.set_password("bob@example.com", &md5, &sha).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn set_password_rejects_malformed_ha1_and_keeps_the_old_one() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    for (md5, sha) in [
        ("short".to_owned(), "e".repeat(64)),
        ("g".repeat(32), "e".repeat(64)),
        ("f".repeat(32), "e".repeat(63)),
        ("f".repeat(64), "e".repeat(64)),
    ] {
        assert!(
            matches!(
                store.set_password("alice@example.com", &md5, &sha).await,
                Err(StoreError::Invalid(_))
            ),
            "{md5}/{sha} should be rejected"
        );
    }
    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.ha1_md5, format!("{:032x}", 1));
}

#[tokio::test]
async fn set_enabled_toggles_and_reports_missing_users() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();

    store.set_enabled("alice@example.com", false).await.unwrap();
    assert!(
        !store
            .get_user("alice@example.com")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    store.set_enabled("alice@example.com", true).await.unwrap();
    assert!(
        store
            .get_user("alice@example.com")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );

    assert!(matches!(
        store.set_enabled("nobody@example.com", false).await,
        Err(StoreError::NotFound(aor)) if aor == "nobody@example.com"
    ));
}

#[tokio::test]
async fn invalid_new_users_are_rejected_and_not_stored() {
    let store = store().await;
    let cases: Vec<(&str, NewUser)> = vec![
        ("empty username", new_user("", "example.com", 1)),
        ("@ in username", new_user("al@ice", "example.com", 1)),
        ("+ in username", new_user("alice+phone", "example.com", 1)),
        ("space in username", new_user("ali ce", "example.com", 1)),
        (
            "control char in username",
            new_user("ali\u{7}ce", "example.com", 1),
        ),
        ("conf- prefix", new_user("conf-1234", "example.com", 1)),
        ("empty domain", new_user("alice", "", 1)),
        ("space in domain", new_user("alice", "exa mple.com", 1)),
        (
            "bad md5",
            NewUser {
                ha1_md5: "xyz".to_owned(),
                ..new_user("alice", "example.com", 1)
            },
        ),
        (
            "bad sha256",
            NewUser {
                ha1_sha256: "00".to_owned(),
                ..new_user("alice", "example.com", 1)
            },
        ),
        (
            "CRLF in display name",
            NewUser {
                display_name: Some("A\r\nB".to_owned()),
                ..new_user("alice", "example.com", 1)
            },
        ),
    ];
    for (what, new) in cases {
        assert!(
            matches!(store.add_user(new).await, Err(StoreError::Invalid(_))),
            "{what} should be Invalid"
        );
    }
    assert_eq!(store.user_count().await.unwrap(), 0);
}

#[tokio::test]
async fn conf_user_names_are_reserved_for_conferences_in_any_case() {
    let store = store().await;
    for name in ["conf-1234", "CONF-room", "Conf-"] {
        match store.add_user(new_user(name, "example.com", 1)).await {
            Err(StoreError::Invalid(why)) => assert!(
                why.contains("user names beginning with conf- are reserved for conference URIs"),
                "{why}"
            ),
            other => panic!("{name} should be refused, got {other:?}"),
        }
    }
    for name in ["conf", "conference", "myconf-1", "con-f"] {
        store
            .add_user(new_user(name, "example.com", 1))
            .await
            .unwrap_or_else(|e| panic!("{name} is an ordinary name: {e}"));
    }
    assert_eq!(store.user_count().await.unwrap(), 4);
}

#[tokio::test]
async fn malformed_aors_are_invalid_not_missing() {
    let store = store().await;
    for aor in ["alice", "@example.com", "alice@", "a@b@c"] {
        assert!(
            matches!(store.get_user(aor).await, Err(StoreError::Invalid(_))),
            "{aor}"
        );
        assert!(
            matches!(store.remove_user(aor).await, Err(StoreError::Invalid(_))),
            "{aor}"
        );
        assert!(
            matches!(
                store.set_enabled(aor, true).await,
                Err(StoreError::Invalid(_))
            ),
            "{aor}"
        );
    }
}

#[tokio::test]
async fn errors_have_readable_messages() {
    assert_eq!(
        StoreError::AlreadyExists("a@b".into()).to_string(),
        "user a@b already exists"
    );
    assert_eq!(
        StoreError::NotFound("a@b".into()).to_string(),
        "no such user a@b"
    );
    let store = store().await;
    let err = store
        .add_user(new_user("a+b", "example.com", 1))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("invalid input: "), "{err}");
    assert!(err.to_string().contains('+'), "{err}");
}
