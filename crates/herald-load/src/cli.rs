//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

/// Load generator for Herald's benchmarks.
#[derive(Debug, Parser)]
#[command(name = "herald-load", version, about)]
pub struct Cli {
    /// What to load.
    #[command(subcommand)]
    pub command: Command,
}

/// The load scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Presence over TCP: every user watches the next W users (SUBSCRIBE), then
    /// PUBLISH at fixed rates while measuring NOTIFYs and publish-to-NOTIFY latency.
    ///
    /// Users are PREFIX00000 .. (0-based, at least 5 digits) in DOMAIN, all with the
    /// same password. After the subscriptions it prints `READY subscriptions=N` and
    /// waits for a line on stdin (or --settle seconds) before publishing.
    Presence(PresenceArgs),
    /// Group IM conferences over TCP: C conferences of P participants each (made by
    /// INVITE to the conference factory, joined by INVITE to the conference URI), then
    /// MESSAGEs at fixed total rates, each fanned out by the focus to the P-1 others;
    /// measures copies delivered per second, loss, order and send-to-arrival latency.
    ///
    /// Users are PREFIX00000 .. (0-based, at least 5 digits) in DOMAIN, all with the
    /// same password; conference c holds users c*P .. c*P+P-1, the first one creating it.
    Conference(ConferenceArgs),
    /// Concurrent TCP or TLS connections, one registered user each (digest auth),
    /// held with REGISTER refreshes and CRLF keep-alives: a server's cost per client.
    ///
    /// Prints `READY ...` when all are set up and `HELD ...` when the hold ends.
    Hold(crate::hold::HoldArgs),
}

/// Options of the presence scenario.
#[derive(Debug, Args)]
pub struct PresenceArgs {
    /// Server address (TCP).
    #[arg(long, default_value = "127.0.0.1:5062")]
    pub server: SocketAddr,
    /// Served domain (also the digest realm the users belong to).
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    /// Number of users.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Users each user watches (and watchers of each user).
    #[arg(long, default_value_t = 50)]
    pub watch: usize,
    /// Password of every user.
    #[arg(long)]
    pub password: String,
    /// User name prefix.
    #[arg(long, default_value = "u")]
    pub prefix: String,
    /// TCP connections; user i uses connection i % connections.
    #[arg(long, default_value_t = 50)]
    pub connections: usize,
    /// Users subscribing at the same time in the subscription phase.
    #[arg(long, default_value_t = 2000)]
    pub concurrency: usize,
    /// PUBLISH rates (per second), one publish step each, in order: 200,500,1000.
    #[arg(long, value_delimiter = ',', required = true)]
    pub rate: Vec<u32>,
    /// Seconds of publishing per step.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds after each step's publishing for the NOTIFYs still owed.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Seconds of pause between steps.
    #[arg(long, default_value_t = 2.0)]
    pub pause: f64,
    /// Stop after the first step that fails.
    #[arg(long)]
    pub stop_on_fail: bool,
    /// After READY, wait at most this many seconds for a line on stdin (without it:
    /// until a line comes or stdin ends).
    #[arg(long)]
    pub settle: Option<f64>,
    /// Seconds to wait for the first NOTIFY of every subscription.
    #[arg(long, default_value_t = 30.0)]
    pub notify_wait: f64,
    /// Seconds a request waits for its final response.
    #[arg(long, default_value_t = 32.0)]
    pub timeout: f64,
    /// The server challenges PUBLISH and SUBSCRIBE as a proxy (407 with
    /// Proxy-Authenticate, as Kamailio's auth_challenge does) rather than 401.
    #[arg(long)]
    pub proxy_auth: bool,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Options of the conference scenario.
#[derive(Debug, Args)]
pub struct ConferenceArgs {
    /// Server address (TCP).
    #[arg(long, default_value = "127.0.0.1:5062")]
    pub server: SocketAddr,
    /// Served domain (also the digest realm the users belong to).
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    /// Password of every user.
    #[arg(long)]
    pub password: String,
    /// User name prefix.
    #[arg(long, default_value = "u")]
    pub prefix: String,
    /// Number of conferences.
    #[arg(long, default_value_t = 50)]
    pub conferences: usize,
    /// Participants of each conference (its creator included).
    #[arg(long, default_value_t = 20)]
    pub participants: usize,
    /// TCP connections; user i uses connection i % connections. 0: one per user, as
    /// real clients have.
    #[arg(long, default_value_t = 0)]
    pub connections: usize,
    /// INVITEs (create or join) in flight at the same time during the setup.
    #[arg(long, default_value_t = 50)]
    pub setup_concurrency: usize,
    /// Total MESSAGE rates (per second, all participants together), one step each, in
    /// order: 50,100,200.
    #[arg(long, value_delimiter = ',', required = true)]
    pub rate: Vec<u32>,
    /// Seconds of sending per step.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds after each step's sending for the copies still owed.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Seconds of pause between steps.
    #[arg(long, default_value_t = 2.0)]
    pub pause: f64,
    /// Pad each message body to this many bytes (the stamp alone is about 60).
    #[arg(long, default_value_t = 0)]
    pub body_bytes: usize,
    /// Participants say they take message/cpim: the focus wraps every copy.
    #[arg(long)]
    pub cpim: bool,
    /// A step fails when the p99 send-to-arrival latency is above this (ms).
    #[arg(long, default_value_t = 1000.0)]
    pub max_p99_ms: f64,
    /// Stop after the first step that fails.
    #[arg(long)]
    pub stop_on_fail: bool,
    /// Seconds of pause after the setup, before the first step.
    #[arg(long, default_value_t = 1.0)]
    pub settle: f64,
    /// Seconds a request waits for its final response.
    #[arg(long, default_value_t = 32.0)]
    pub timeout: f64,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// A duration option given in seconds.
pub fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("{flag} must be a non-negative number of seconds"))
}
