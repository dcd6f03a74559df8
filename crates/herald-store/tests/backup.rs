//! Backups taken while a writer writes, and restores: offline, and under a store in use.

mod common;

use common::{new_user, offline_message};
use herald_store::{SqliteStore, Store, StoreError};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

const T0: i64 = 1_790_000_000_000;
const ALICE: &str = "alice@example.com";

/// A store at `path` with alice and `messages` messages queued for her.
async fn store_with_messages(path: &Path, messages: u32) -> SqliteStore {
    let store = SqliteStore::open(path).await.unwrap();
    store
        .add_user(new_user("alice", "example.com", 1))
        .await
        .unwrap();
    for n in 0..messages {
        let m = offline_message(ALICE, "bob@example.com", n, T0, T0 + 60_000);
        store.enqueue_offline(m, u32::MAX).await.unwrap();
    }
    store
}

async fn queued_bodies(store: &SqliteStore) -> Vec<String> {
    store
        .offline_for(ALICE, T0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| String::from_utf8(m.body).unwrap())
        .collect()
}

fn bodies(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|n| format!("message {n}")).collect()
}

fn invalid_reason(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_a_writer_writes_is_a_consistent_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("herald.db");
    let store = Arc::new(store_with_messages(&db, 0).await);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU32::new(0));
    let writer = {
        let (store, stop, written) = (store.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Acquire) || n < 50 {
                let m = offline_message(ALICE, "bob@example.com", n, T0, T0 + 60_000);
                store.enqueue_offline(m, u32::MAX).await.unwrap();
                n += 1;
                written.store(n, Ordering::Release);
            }
            n
        })
    };
    while written.load(Ordering::Acquire) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let backup = dir.path().join("backup.db");
    let summary = SqliteStore::backup_file(&db, &backup, false).await.unwrap();
    stop.store(true, Ordering::Release);
    let total = writer.await.unwrap();

    assert_eq!(summary.users, 1);
    let in_backup = u32::try_from(summary.offline_messages).unwrap();
    assert!(
        in_backup >= 20,
        "the backup holds what was committed before it"
    );
    assert!(in_backup <= total);
    assert_eq!(summary.bytes, std::fs::metadata(&backup).unwrap().len());
    assert_eq!(summary.schema.version, summary.schema.latest);
    assert!(
        !dir.path().join("backup.db-wal").exists(),
        "a backup is one file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");

    let reopened = SqliteStore::open(&backup).await.unwrap();
    assert_eq!(
        queued_bodies(&reopened).await,
        bodies(0..in_backup),
        "every message up to the snapshot and none after it"
    );
}

#[tokio::test]
async fn a_backup_never_overwrites_unless_asked_and_needs_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("herald.db");
    let store = store_with_messages(&db, 3).await;
    let backup = dir.path().join("backup.db");
    std::fs::write(&backup, b"precious").unwrap();

    let reason = invalid_reason(SqliteStore::backup_file(&db, &backup, false).await);
    assert!(reason.contains("already exists"), "{reason}");
    assert!(reason.contains("--force"), "{reason}");
    assert_eq!(std::fs::read(&backup).unwrap(), b"precious");
    let reason = invalid_reason(store.backup_to(&backup, false).await);
    assert!(reason.contains("already exists"), "{reason}");

    let summary = store.backup_to(&backup, true).await.unwrap();
    assert_eq!(summary.offline_messages, 3);

    let reason = invalid_reason(
        SqliteStore::backup_file(
            &dir.path().join("none.db"),
            &dir.path().join("b2.db"),
            false,
        )
        .await,
    );
    assert!(reason.contains("no store at"), "{reason}");
    assert!(!dir.path().join("none.db").exists(), "nothing was created");
}

#[tokio::test]
async fn inspect_refuses_what_is_not_one_of_our_stores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("herald.db");
    store_with_messages(&db, 1).await.close().await;
    let good = dir.path().join("good.db");
    SqliteStore::backup_file(&db, &good, false).await.unwrap();

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "user,password\n".repeat(20)).unwrap();
    assert!(invalid_reason(SqliteStore::inspect(&text).await).contains("not a SQLite database"));
    let short = dir.path().join("short.db");
    std::fs::write(&short, b"SQLite").unwrap();
    assert!(invalid_reason(SqliteStore::inspect(&short).await).contains("not a SQLite database"));
    assert!(invalid_reason(SqliteStore::inspect(dir.path()).await).contains("not a regular file"));
    let missing = invalid_reason(SqliteStore::inspect(&dir.path().join("missing.db")).await);
    assert!(missing.contains("missing.db"), "{missing}");

    let foreign = dir.path().join("foreign.db");
    let conn = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&foreign)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&conn)
        .await
        .unwrap();
    conn.close().await;
    assert!(invalid_reason(SqliteStore::inspect(&foreign).await).contains("not a Herald store"));

    let newer = edited_copy(
        &good,
        "newer.db",
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, x'00', 0)",
    )
    .await;
    let reason = invalid_reason(SqliteStore::inspect(&newer).await);
    assert!(reason.contains("newer Herald"), "{reason}");
    assert!(reason.contains("9999"), "{reason}");

    let altered = edited_copy(
        &good,
        "altered.db",
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1",
    )
    .await;
    assert!(invalid_reason(SqliteStore::inspect(&altered).await).contains("differs"));

    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&good).unwrap();
    assert!(bytes.len() > 8192);
    // Scribble over the second page (the first holds the header and the schema).
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    for b in &mut bytes[page + 8..page * 2] {
        *b = 0xA5;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let reason = invalid_reason(SqliteStore::inspect(&damaged).await);
    assert!(
        reason.contains("integrity") || reason.contains("malformed") || reason.contains("readable"),
        "{reason}"
    );

    assert_eq!(
        SqliteStore::inspect(&good).await.unwrap().offline_messages,
        1
    );
}

/// A copy of `file` named `name` beside it, changed by `sql`.
async fn edited_copy(file: &Path, name: &str, sql: &str) -> std::path::PathBuf {
    let copy = file.with_file_name(name);
    std::fs::copy(file, &copy).unwrap();
    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&copy))
            .await
            .unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
    copy
}

#[tokio::test]
async fn an_offline_restore_replaces_the_store_and_keeps_the_old_one_with_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("herald.db");
    let store = store_with_messages(&db, 5).await;
    let backup = dir.path().join("backup.db");
    store.backup_to(&backup, false).await.unwrap();
    for n in 5..8 {
        let m = offline_message(ALICE, "bob@example.com", n, T0, T0 + 60_000);
        store.enqueue_offline(m, u32::MAX).await.unwrap();
    }
    // The files as a kill -9 leaves them: the last commits only in the WAL.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    let db = crashed.join("herald.db");
    std::fs::copy(dir.path().join("herald.db"), &db).unwrap();
    let wal = std::fs::copy(
        dir.path().join("herald.db-wal"),
        crashed.join("herald.db-wal"),
    );
    assert!(wal.unwrap() > 0, "the last commits are in the WAL");

    let restored = SqliteStore::restore_file(&db, &backup).await.unwrap();
    assert_eq!(restored.summary.offline_messages, 5);
    let previous = restored.previous.expect("the replaced store is kept");
    assert!(
        previous
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("herald.db.before-restore-")
    );
    assert!(
        !crashed.join("herald.db-wal").exists(),
        "the old WAL is gone"
    );

    let now = SqliteStore::open(&db).await.unwrap();
    assert_eq!(
        queued_bodies(&now).await,
        bodies(0..5),
        "the restored data, untouched by the old WAL"
    );
    now.close().await;
    let kept = SqliteStore::open(&previous).await.unwrap();
    assert_eq!(
        queued_bodies(&kept).await,
        bodies(0..8),
        "the kept store has the commits that were only in its WAL"
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a store").unwrap();
    invalid_reason(SqliteStore::restore_file(&db, &text).await);
    let still = SqliteStore::open(&db).await.unwrap();
    assert_eq!(
        queued_bodies(&still).await,
        bodies(0..5),
        "a refused file changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_restore_swaps_the_data_under_running_operations() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("herald.db");
    let store = Arc::new(store_with_messages(&db, 4).await);
    let backup = dir.path().join("backup.db");
    store.backup_to(&backup, false).await.unwrap();
    store
        .add_user(new_user("carol", "example.com", 3))
        .await
        .unwrap();
    for n in 4..10 {
        let m = offline_message(ALICE, "bob@example.com", n, T0, T0 + 60_000);
        store.enqueue_offline(m, u32::MAX).await.unwrap();
    }

    // Readers keep going through the restore: none may fail, each sees one store or the
    // other, never a mix or an error.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut reads = 0u32;
                while !stop.load(Ordering::Acquire) {
                    let users = store.user_count().await.unwrap();
                    assert!(users == 1 || users == 2, "{users} users");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let restored = store.restore_from(&backup).await.unwrap();
    stop.store(true, Ordering::Release);
    for r in readers {
        assert!(r.await.unwrap() > 0);
    }

    assert_eq!(restored.summary.users, 1);
    assert_eq!(store.user_count().await.unwrap(), 1);
    assert!(store.get_user("carol@example.com").await.unwrap().is_none());
    assert_eq!(queued_bodies(&store).await, bodies(0..4));
    // The store keeps working on the restored file, and writes go to it.
    let m = offline_message(ALICE, "bob@example.com", 4, T0, T0 + 60_000);
    store.enqueue_offline(m, u32::MAX).await.unwrap();
    store.close().await;
    let reopened = SqliteStore::open(&db).await.unwrap();
    assert_eq!(queued_bodies(&reopened).await, bodies(0..5));
    let kept = SqliteStore::open(&restored.previous.unwrap())
        .await
        .unwrap();
    assert_eq!(kept.user_count().await.unwrap(), 2);
}

#[tokio::test]
async fn a_live_restore_of_a_bad_file_leaves_the_store_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("herald.db");
    let store = store_with_messages(&db, 2).await;
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a store").unwrap();
    invalid_reason(store.restore_from(&text).await);
    assert_eq!(queued_bodies(&store).await, bodies(0..2));
    let memory = SqliteStore::open_in_memory().await.unwrap();
    assert!(invalid_reason(memory.restore_from(&text).await).contains("in memory"));
}
