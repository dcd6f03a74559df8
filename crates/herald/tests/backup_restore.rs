//! `herald backup` and `herald restore`, without a server and under a running one.
mod common;

use common::{Server, fails, ok, users};
use std::time::Duration;

fn add(dir: &std::path::Path, user: &str) {
    ok(dir, &["user", "add", user, "--password", "pw"]);
}

#[test]
fn backup_and_restore_without_a_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let backup = tmp.path().join("herald-backup.db");
    let backup_arg = backup.to_str().unwrap();
    add(&dir, "alice@example.com");
    add(&dir, "bob@example.com");

    let out = ok(&dir, &["backup", backup_arg]);
    assert!(out.starts_with(&format!("wrote {backup_arg}: ")), "{out}");
    assert!(out.contains(" 2 users, 0 offline messages"), "{out}");
    let err = fails(&dir, &["backup", backup_arg]);
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(ok(&dir, &["backup", backup_arg, "--force"]).contains(" 2 users"));

    add(&dir, "carol@example.com");
    let out = ok(&dir, &["restore", backup_arg]);
    assert!(out.contains("restored"), "{out}");
    assert!(!out.contains("server running"), "{out}");
    assert!(out.contains(" 2 users"), "{out}");
    assert!(out.contains("the replaced store is kept as"), "{out}");
    assert_eq!(users(&dir), ["alice@example.com", "bob@example.com"]);

    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("herald.db.before-restore-") && !name.ends_with("-wal"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // The CLI working on the file directly leaves its WAL: it is kept with the database.
    let old_dir = tmp.path().join("old");
    std::fs::create_dir(&old_dir).unwrap();
    std::fs::copy(dir.join(&kept[0]), old_dir.join("herald.db")).unwrap();
    let kept_wal = dir.join(format!("{}-wal", kept[0]));
    if kept_wal.exists() {
        std::fs::copy(kept_wal, old_dir.join("herald.db-wal")).unwrap();
    }
    assert_eq!(
        users(&old_dir),
        ["alice@example.com", "bob@example.com", "carol@example.com"],
        "the replaced store is intact"
    );

    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, "alice@example.com,secret\n").unwrap();
    let err = fails(&dir, &["restore", junk.to_str().unwrap()]);
    assert!(err.contains("not a SQLite database"), "{err}");
    let empty = tmp.path().join("empty");
    let err = fails(
        &empty,
        &["backup", tmp.path().join("e.db").to_str().unwrap()],
    );
    assert!(err.contains("no store at"), "{err}");
    assert!(!empty.join("herald.db").exists(), "no store was created");
    assert_eq!(users(&dir), ["alice@example.com", "bob@example.com"]);
}

#[test]
fn backup_and_restore_while_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let backup = tmp.path().join("b.db");
    let backup_arg = backup.to_str().unwrap();
    let mut server = Server::start(&dir);
    add(&dir, "alice@example.com");
    ok(
        &dir,
        &["contacts", "add", "alice@example.com", "bob@example.com"],
    );
    let out = ok(&dir, &["backup", backup_arg]);
    assert!(out.contains(" 1 users,"), "{out}");
    assert!(out.contains(" 1 contact entries"), "{out}");

    add(&dir, "bob@example.com");
    let out = ok(&dir, &["restore", backup_arg]);
    assert!(out.contains("(server running)"), "{out}");
    assert_eq!(users(&dir), ["alice@example.com"]);
    assert!(
        server.log().contains("store restored from a backup"),
        "the running server did the restore"
    );
    // The server goes on with the restored store.
    add(&dir, "carol@example.com");
    assert_eq!(users(&dir), ["alice@example.com", "carol@example.com"]);
    let err = fails(&dir, &["restore", "/nonexistent/backup.db"]);
    assert!(err.contains("backup.db"), "{err}");
    assert_eq!(users(&dir), ["alice@example.com", "carol@example.com"]);

    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    assert_eq!(
        users(&dir),
        ["alice@example.com", "carol@example.com"],
        "what the server wrote after the restore is in the file"
    );
}
