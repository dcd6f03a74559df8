//! The server after kill -9 and after SIGTERM: nothing acknowledged lost, a restart with
//! no manual step, a prompt exit 0 on SIGTERM.
mod common;

use common::{Server, ok, users};
use std::time::{Duration, Instant};

#[test]
fn after_kill_9_a_restart_needs_no_manual_step_and_keeps_every_acknowledged_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let mut server = Server::start(&dir);
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let aor = format!("user{i:02}@example.com");
        ok(&dir, &["user", "add", &aor, "--password", "pw"]);
        acknowledged.push(aor);
    }
    ok(
        &dir,
        &[
            "contacts",
            "add",
            "user00@example.com",
            "user01@example.com",
        ],
    );
    server.signal("KILL");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), None, "killed");
    assert!(
        dir.join("admin.sock").exists(),
        "kill -9 leaves the admin socket behind"
    );
    assert!(
        dir.join("herald.db-wal").exists(),
        "and the write-ahead log unmerged"
    );

    let mut again = Server::start(&dir);
    assert_eq!(users(&dir), acknowledged);
    assert!(ok(&dir, &["contacts", "list", "user00@example.com"]).contains("user01@example.com"));
    // Server::start waited for the admin socket to answer: the stale one was replaced.
    ok(
        &dir,
        &["user", "add", "late@example.com", "--password", "pw"],
    );
    assert!(users(&dir).contains(&"late@example.com".to_owned()));
    again.signal("TERM");
    assert_eq!(again.wait_exit(Duration::from_secs(15)), Some(0));
    assert!(
        !dir.join("admin.sock").exists(),
        "a clean stop removes its socket"
    );
    assert!(
        !dir.join("herald.db-wal").exists(),
        "a clean stop folds the log back into the database"
    );
}

#[test]
fn sigterm_on_an_idle_server_exits_0_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let mut server = Server::start(&dir);
    let start = Instant::now();
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "nothing to wait for, yet it took {:?}",
        start.elapsed()
    );
    let log = server.log();
    assert!(log.contains("draining"), "{log}");
    assert!(log.contains("drained"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
