//! Runs the built `herald` binary: CLI commands, and a server on a data directory.
#![allow(dead_code)]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Long enough for a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn herald() -> Command {
    Command::new(env!("CARGO_BIN_EXE_herald"))
}

/// `herald --data-dir DIR ARGS...`, its output.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    herald()
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("herald runs")
}

/// Like [`cli`], and it must succeed: its stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "herald {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Like [`cli`], and it must fail: its stderr.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        !out.status.success(),
        "herald {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The users `herald user list` shows, in order.
pub fn users(dir: &Path) -> Vec<String> {
    ok(dir, &["user", "list"])
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|aor| !aor.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A `herald serve` on loopback ports picked by the kernel, logging to `DIR/server.log`.
pub struct Server {
    pub child: Child,
    pub dir: PathBuf,
}

impl Server {
    /// Starts a server on `dir` and waits until its admin socket answers.
    pub fn start(dir: &Path) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .expect("log file");
        let child = herald()
            .arg("--data-dir")
            .arg(dir)
            .args([
                "serve",
                "--domain",
                "example.com",
                "--listen",
                "udp:127.0.0.1:0",
                "--listen",
                "tcp:127.0.0.1:0",
                "--log",
                "debug,sqlx=warn",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("herald serve starts");
        let server = Server {
            child,
            dir: dir.to_owned(),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let socket = self.dir.join("admin.sock");
        let deadline = Instant::now() + WAIT;
        while UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "server did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Sends `signal` (a `kill` name: TERM, KILL) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the server to exit; its exit code (None: killed by a signal).
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "server still running after {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
