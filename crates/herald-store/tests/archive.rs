//! The IM archive (queries by user and time) and the per-user archiving override.

mod common;

use common::{archive_record, new_user};
use herald_store::{ArchiveRecord, ImMode, SharedStore, SqliteStore, StoreError};
use std::sync::Arc;

const T0: i64 = 1_790_000_000_000;

async fn store() -> SharedStore {
    Arc::new(SqliteStore::open_in_memory().await.unwrap())
}

fn bodies(records: &[ArchiveRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test]
async fn a_user_sees_what_they_sent_and_received_oldest_first() {
    let store = store().await;
    for rec in [
        archive_record(T0 + 30, "bob@example.com", "alice@example.com", "b->a"),
        archive_record(T0 + 10, "alice@example.com", "bob@example.com", "a->b"),
        archive_record(T0 + 20, "carol@example.com", "dave@example.com", "c->d"),
        archive_record(T0 + 40, "alice@example.com", "alice@example.com", "a->a"),
        archive_record(T0 + 50, "carol@example.com", "bob@example.com", "c->b"),
    ] {
        store.archive(rec).await.unwrap();
    }

    let alice = store
        .archived_for("alice@example.com", 0, None)
        .await
        .unwrap();
    assert_eq!(bodies(&alice), ["a->b", "b->a", "a->a"]);
    assert_eq!(alice[0].sender, "alice@example.com");
    assert_eq!(alice[0].recipient, "bob@example.com");
    assert_eq!(alice[0].at_ms, T0 + 10);
    assert_eq!(alice[0].call_id, format!("call-{}@client", T0 + 10));
    let bob = store
        .archived_for("bob@example.com", 0, None)
        .await
        .unwrap();
    assert_eq!(bodies(&bob), ["a->b", "b->a", "c->b"]);
    assert!(
        store
            .archived_for("erin@example.com", 0, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn since_is_inclusive_and_until_exclusive() {
    let store = store().await;
    for (offset, body) in [(0, "t0"), (10, "t10"), (20, "t20"), (30, "t30")] {
        store
            .archive(archive_record(
                T0 + offset,
                "alice@example.com",
                "bob@example.com",
                body,
            ))
            .await
            .unwrap();
    }
    let range = |since, until| {
        let store = store.clone();
        async move {
            bodies(
                &store
                    .archived_for("alice@example.com", since, until)
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(range(T0 + 10, Some(T0 + 30)).await, ["t10", "t20"]);
    assert_eq!(range(T0 + 11, Some(T0 + 30)).await, ["t20"]);
    assert_eq!(range(T0 + 10, None).await, ["t10", "t20", "t30"]);
    assert_eq!(range(T0 + 10, Some(T0 + 10)).await, Vec::<String>::new());
    assert_eq!(range(i64::MIN, Some(T0 + 1)).await, ["t0"]);
}

#[tokio::test]
async fn records_at_the_same_time_keep_their_order_and_every_field() {
    let store = store().await;
    let mut session = archive_record(T0, "Bob@EXAMPLE.com", "alice@Example.Com", "");
    session.mode = ImMode::Session;
    session.content_type = "application/octet-stream".to_owned();
    session.body = vec![0xff, 0xfe, 0x00, 0x41];
    let pager = archive_record(T0, "alice@example.com", "Bob@example.com", "second");
    store.archive(session.clone()).await.unwrap();
    store.archive(pager.clone()).await.unwrap();

    let found = store
        .archived_for("alice@EXAMPLE.COM", T0, Some(T0 + 1))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0],
        ArchiveRecord {
            sender: "Bob@example.com".to_owned(),
            recipient: "alice@example.com".to_owned(),
            ..session
        }
    );
    assert_eq!(found[1], pager);
    // The user part is case-sensitive: "bob" is someone else than "Bob".
    assert!(
        store
            .archived_for("bob@example.com", 0, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_archive_input_is_refused() {
    let store = store().await;
    let no_domain = archive_record(T0, "alice", "bob@example.com", "x");
    assert!(matches!(
        store.archive(no_domain).await,
        Err(StoreError::Invalid(_))
    ));
    let mut injected = archive_record(T0, "alice@example.com", "bob@example.com", "x");
    injected.content_type = "text/plain\r\nX: y".to_owned();
    assert!(matches!(
        store.archive(injected).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.archived_for("alice", 0, None).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(
        store
            .archived_for("alice@example.com", 0, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn conference_messages_are_archived_with_their_mode() {
    let store = store().await;
    let mut rec = archive_record(T0, "alice@example.com", "conf-42@example.com", "to all");
    rec.mode = ImMode::Conference;
    // The focus knows the conference by its URI.
    store
        .archive(ArchiveRecord {
            recipient: "sip:conf-42@EXAMPLE.com".to_owned(),
            ..rec.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .archived_for("conf-42@example.com", 0, None)
            .await
            .unwrap(),
        [rec.clone()]
    );
    assert_eq!(
        store
            .archived_for("alice@example.com", 0, None)
            .await
            .unwrap(),
        [rec]
    );
}

#[tokio::test]
async fn im_mode_spellings() {
    assert_eq!(ImMode::Pager.as_str(), "pager");
    assert_eq!(ImMode::Session.to_string(), "session");
    assert_eq!("pager".parse::<ImMode>().unwrap(), ImMode::Pager);
    assert_eq!("session".parse::<ImMode>().unwrap(), ImMode::Session);
    assert_eq!(ImMode::Conference.as_str(), "conference");
    assert_eq!("conference".parse::<ImMode>().unwrap(), ImMode::Conference);
    assert!(matches!(
        "Pager".parse::<ImMode>(),
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn archiving_overrides_are_stored_per_user() {
    let store = store().await;
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        store
            .add_user(new_user(name, "example.com", i as u64))
            .await
            .unwrap();
    }
    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.archiving, None, "new users follow the global setting");
    assert!(store.archiving_overrides().await.unwrap().is_empty());

    store
        .set_archiving("carol@EXAMPLE.com", Some(true))
        .await
        .unwrap();
    store
        .set_archiving("alice@example.com", Some(false))
        .await
        .unwrap();
    assert_eq!(
        store.archiving_overrides().await.unwrap(),
        [
            ("alice@example.com".to_owned(), false),
            ("carol@example.com".to_owned(), true)
        ]
    );
    let listed: Vec<_> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.aor, u.archiving))
        .collect();
    assert_eq!(
        listed,
        [
            ("alice@example.com".to_owned(), Some(false)),
            ("bob@example.com".to_owned(), None),
            ("carol@example.com".to_owned(), Some(true)),
        ]
    );

    store
        .set_archiving("alice@example.com", None)
        .await
        .unwrap();
    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.archiving, None);
    assert_eq!(
        store.archiving_overrides().await.unwrap(),
        [("carol@example.com".to_owned(), true)]
    );

    match store.set_archiving("dave@example.com", Some(true)).await {
        Err(StoreError::NotFound(aor)) => assert_eq!(aor, "dave@example.com"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // Other user changes leave the override alone.
    store.set_enabled("carol@example.com", false).await.unwrap();
    let carol = store.get_user("carol@example.com").await.unwrap().unwrap();
    assert_eq!(carol.archiving, Some(true));
}

#[tokio::test]
async fn removing_a_user_keeps_their_archive_and_drops_their_override() {
    let store = store().await;
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    store
        .set_archiving("alice@example.com", Some(true))
        .await
        .unwrap();
    store
        .archive(archive_record(
            T0,
            "alice@example.com",
            "bob@example.com",
            "kept",
        ))
        .await
        .unwrap();

    store.remove_user("alice@example.com").await.unwrap();
    let kept = store
        .archived_for("alice@example.com", 0, None)
        .await
        .unwrap();
    assert_eq!(bodies(&kept), ["kept"]);
    assert!(store.archiving_overrides().await.unwrap().is_empty());

    // Re-created, the account starts without an override but sees the old archive.
    store
        .add_user(new_user("alice", "example.com", 2))
        .await
        .unwrap();
    let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
    assert_eq!(alice.archiving, None);
}
