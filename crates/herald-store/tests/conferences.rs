//! Conference monitoring records: start, joins (once each, in order), end, listing newest
//! first, closing what a crash left open, refused input, and records outliving their users.

mod common;

use common::new_user;
use herald_store::{ConferenceRecord, SharedStore, SqliteStore, Store, StoreError};
use std::sync::Arc;

const ROOM: &str = "conf-0123abcd@example.com";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

async fn store() -> SharedStore {
    Arc::new(SqliteStore::open_in_memory().await.unwrap())
}

/// The one record listed for `uri`.
async fn record_of(store: &SharedStore, uri: &str) -> ConferenceRecord {
    let records = store.conference_records(1000).await.unwrap();
    let mut matching = records.into_iter().filter(|r| r.uri == uri);
    let record = matching.next().expect("the conference is listed");
    assert!(matching.next().is_none(), "{uri} listed once");
    record
}

#[tokio::test]
async fn a_conference_is_recorded_from_start_to_end() {
    let store = store().await;
    store
        .conference_started(
            "sip:conf-0123abcd@EXAMPLE.com",
            "sip:alice@Example.com",
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        record_of(&store, ROOM).await,
        ConferenceRecord {
            uri: ROOM.to_owned(),
            creator: ALICE.to_owned(),
            started_ms: 1_000,
            ended_ms: None,
            end_reason: None,
            message_count: 0,
            participants: vec![],
        },
        "running: no end, no participants yet"
    );

    store.conference_joined(ROOM, ALICE, 1_001).await.unwrap();
    store
        .conference_joined(ROOM, "carol@partner.org", 1_500)
        .await
        .unwrap();
    store.conference_joined(ROOM, BOB, 1_500).await.unwrap();
    // Joining again (a second device, a rejoin) keeps the first join.
    store
        .conference_joined(
            "sip:conf-0123abcd@example.com",
            "sip:alice@example.com",
            1_900,
        )
        .await
        .unwrap();
    store
        .conference_ended(ROOM, 2_000, 42, "last participant left")
        .await
        .unwrap();

    assert_eq!(
        record_of(&store, ROOM).await,
        ConferenceRecord {
            uri: ROOM.to_owned(),
            creator: ALICE.to_owned(),
            started_ms: 1_000,
            ended_ms: Some(2_000),
            end_reason: Some("last participant left".to_owned()),
            message_count: 42,
            participants: vec![
                ALICE.to_owned(),
                "carol@partner.org".to_owned(),
                BOB.to_owned(),
            ],
        },
        "participants in join order, ties in the order recorded"
    );
}

#[tokio::test]
async fn records_are_listed_newest_first_up_to_the_limit() {
    let store = store().await;
    for (i, started_ms) in [300, 100, 200, 200].into_iter().enumerate() {
        let uri = format!("conf-{i}@example.com");
        store
            .conference_started(&uri, ALICE, started_ms)
            .await
            .unwrap();
        store
            .conference_joined(&uri, BOB, started_ms)
            .await
            .unwrap();
    }
    let records = store.conference_records(50).await.unwrap();
    let uris: Vec<&str> = records.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "conf-0@example.com",
            "conf-3@example.com",
            "conf-2@example.com",
            "conf-1@example.com",
        ],
        "by start, the later recorded first on a tie"
    );
    assert!(records.iter().all(|r| r.participants == [BOB]));

    let newest: Vec<String> = store
        .conference_records(2)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri)
        .collect();
    assert_eq!(newest, ["conf-0@example.com", "conf-3@example.com"]);
    assert!(store.conference_records(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_duplicate_and_ended_conferences_are_refused() {
    let store = store().await;
    let unknown = "conf-ffff@example.com";
    match store.conference_joined(unknown, ALICE, 1).await {
        Err(StoreError::NoSuchConference(uri)) => assert_eq!(uri, unknown),
        other => panic!("expected NoSuchConference, got {other:?}"),
    }
    let err = store
        .conference_ended("sip:conf-FFFF@Example.com", 1, 0, "idle")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no such conference conf-FFFF@example.com");

    store.conference_started(ROOM, ALICE, 10).await.unwrap();
    let err = store
        .conference_started(&format!("sip:{ROOM}"), BOB, 20)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::ConferenceExists(uri) if uri == ROOM),
        "{err:?}"
    );
    assert_eq!(
        record_of(&store, ROOM).await.creator,
        ALICE,
        "the first start stands"
    );

    store.conference_ended(ROOM, 30, 5, "idle").await.unwrap();
    match store.conference_ended(ROOM, 50, 9, "again").await {
        Err(StoreError::Invalid(why)) => assert!(why.contains("already ended"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // A join written after the end (concurrent writers) is still history.
    store.conference_joined(ROOM, BOB, 29).await.unwrap();
    let record = record_of(&store, ROOM).await;
    assert_eq!(
        (
            record.ended_ms,
            record.end_reason.as_deref(),
            record.message_count,
            record.participants
        ),
        (Some(30), Some("idle"), 5, vec![BOB.to_owned()]),
        "the first end stands"
    );
}

#[tokio::test]
async fn malformed_input_is_invalid_and_stores_nothing() {
    let store = store().await;
    for (uri, creator) in [
        ("alice@example.com", ALICE),
        ("room@example.com", ALICE),
        ("conf-1", ALICE),
        ("conf-1@exa mple.com", ALICE),
        ("conf-1@example.com", "alice"),
        ("conf-1@example.com", "alice\r\n@example.com"),
    ] {
        assert!(
            matches!(
                store.conference_started(uri, creator, 1).await,
                Err(StoreError::Invalid(_))
            ),
            "{uri:?} by {creator:?}"
        );
    }
    assert!(store.conference_records(10).await.unwrap().is_empty());

    store.conference_started(ROOM, ALICE, 1).await.unwrap();
    assert!(matches!(
        store.conference_joined(ROOM, "bob", 2).await,
        Err(StoreError::Invalid(_))
    ));
    for reason in ["", "  ", "line\nbreak", &"r".repeat(257)] {
        assert!(
            matches!(
                store.conference_ended(ROOM, 3, 0, reason).await,
                Err(StoreError::Invalid(_))
            ),
            "{reason:?}"
        );
        assert!(matches!(
            store.close_open_conferences(3, reason).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(matches!(
        store.conference_ended(ROOM, 3, u64::MAX, "idle").await,
        Err(StoreError::Invalid(_))
    ));
    let record = record_of(&store, ROOM).await;
    assert_eq!(record.ended_ms, None, "still running");
    assert!(record.participants.is_empty());

    let largest = u64::try_from(i64::MAX).unwrap();
    store
        .conference_ended(ROOM, 3, largest, &"r".repeat(256))
        .await
        .unwrap();
    assert_eq!(record_of(&store, ROOM).await.message_count, largest);
}

#[tokio::test]
async fn closing_open_conferences_ends_only_the_running_ones() {
    let store = store().await;
    for (uri, started_ms) in [
        ("conf-a@example.com", 10),
        ("conf-b@example.com", 20),
        ("conf-c@example.com", 30),
    ] {
        store
            .conference_started(uri, ALICE, started_ms)
            .await
            .unwrap();
    }
    store
        .conference_ended("conf-b@example.com", 25, 3, "idle")
        .await
        .unwrap();
    assert_eq!(
        store
            .close_open_conferences(99, "server restart")
            .await
            .unwrap(),
        2
    );
    let ends: Vec<(String, Option<i64>, Option<String>, u64)> = store
        .conference_records(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.uri, r.ended_ms, r.end_reason, r.message_count))
        .collect();
    let end = |uri: &str, at, reason: &str, count| {
        (uri.to_owned(), Some(at), Some(reason.to_owned()), count)
    };
    assert_eq!(
        ends,
        [
            end("conf-c@example.com", 99, "server restart", 0),
            end("conf-b@example.com", 25, "idle", 3),
            end("conf-a@example.com", 99, "server restart", 0),
        ]
    );
    assert_eq!(
        store
            .close_open_conferences(100, "server restart")
            .await
            .unwrap(),
        0,
        "nothing left open"
    );
}

#[tokio::test]
async fn records_outlive_their_users_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let store = SqliteStore::open(&path).await.unwrap();
    for (i, name) in ["alice", "bob"].into_iter().enumerate() {
        store
            .add_user(new_user(name, "example.com", i as u64))
            .await
            .unwrap();
    }
    store.conference_started(ROOM, ALICE, 1).await.unwrap();
    store.conference_joined(ROOM, ALICE, 1).await.unwrap();
    store.conference_joined(ROOM, BOB, 2).await.unwrap();
    store.remove_user(ALICE).await.unwrap();
    store.remove_user(BOB).await.unwrap();
    store.close().await;

    let reopened: SharedStore = Arc::new(SqliteStore::open(&path).await.unwrap());
    let record = record_of(&reopened, ROOM).await;
    assert_eq!(record.creator, ALICE);
    assert_eq!(record.participants, [ALICE, BOB]);
    assert_eq!(record.ended_ms, None);
}
