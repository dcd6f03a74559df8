//! The hold scenario: many concurrent TCP or TLS connections, each registering its own
//! user with digest authentication, then held with REGISTER refreshes and CRLF
//! keep-alives, to measure what a server spends per connected client.
//!
//! Connections are opened at a bounded rate with a bounded number of setups in
//! flight, from many loopback source addresses (bound before connecting) so that
//! 100 000 connections do not run out of source ports. Stdout gets two lines the
//! benchmark script waits for: `READY ...` when every connection is set up (the hold
//! starts), and `HELD ...` when the hold ends (the connections stay up `--linger`
//! seconds more, for a memory reading).

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::hold_client::{ClientPlan, run_client};
use crate::hold_report::{HoldCounters, HoldReport};
use crate::hold_session::Registration;

/// How long the tasks get to close after the hold.
const CLOSE_WAIT: Duration = Duration::from_secs(30);
/// Interval of the progress lines on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The transport held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HoldTransport {
    /// Plain TCP.
    Tcp,
    /// TLS over TCP (any server certificate accepted).
    Tls,
}

/// Options of the hold scenario.
#[derive(Debug, Args)]
pub struct HoldArgs {
    /// Server address (a loopback address: this is a local benchmark).
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub server: SocketAddr,
    /// Transport.
    #[arg(long, value_enum, default_value_t = HoldTransport::Tcp)]
    pub transport: HoldTransport,
    /// Served domain (Request-URI `sip:DOMAIN`, users' AOR domain).
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    /// Connections, one user each.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// User name of connection i: `{n}` is i + --first, zero-padded to --digits.
    #[arg(long, default_value = "u{n}")]
    pub user: String,
    /// Password of connection i (`{n}` as in --user; without it, everyone's password).
    #[arg(long)]
    pub password: String,
    /// Number of the first user.
    #[arg(long, default_value_t = 0)]
    pub first: usize,
    /// Digits of `{n}`.
    #[arg(long, default_value_t = 6)]
    pub digits: usize,
    /// Expires asked for in every REGISTER (seconds).
    #[arg(long, default_value_t = 300)]
    pub expires: u32,
    /// Seconds between REGISTER refreshes (each drawn in 80..100 % of it); default
    /// half of --expires.
    #[arg(long)]
    pub refresh: Option<f64>,
    /// Seconds between CRLF pings on each connection; 0: none.
    #[arg(long, default_value_t = 30.0)]
    pub keepalive: f64,
    /// Seconds of hold once every connection is set up.
    #[arg(long, default_value_t = 60.0)]
    pub hold: f64,
    /// Seconds the connections stay up after the `HELD` line.
    #[arg(long, default_value_t = 0.0)]
    pub linger: f64,
    /// Connections opened per second.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Setups (connect, handshake, first REGISTER) in flight at once.
    #[arg(long, default_value_t = 500)]
    pub concurrency: usize,
    /// First source address; the next ones follow (x.y.z.1 to x.y.z.254 each).
    #[arg(long, default_value = "127.0.0.2")]
    pub source_first: Ipv4Addr,
    /// Connections from each source address.
    #[arg(long, default_value_t = 1000)]
    pub per_source: usize,
    /// Seconds a REGISTER waits for its final response.
    #[arg(long, default_value_t = 32.0)]
    pub timeout: f64,
    /// Seconds allowed for connect plus TLS handshake.
    #[arg(long, default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds allowed for the whole setup phase (default: connections / rate + 60).
    #[arg(long)]
    pub setup_timeout: Option<f64>,
    /// TLS server name (SNI); default --domain.
    #[arg(long)]
    pub tls_server_name: Option<String>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs the scenario.
pub async fn run(args: HoldArgs) -> anyhow::Result<()> {
    let checked = check(&args)?;
    let tls = match args.transport {
        HoldTransport::Tcp => None,
        HoldTransport::Tls => {
            let name = args.tls_server_name.as_deref().unwrap_or(&args.domain);
            Some((
                crate::hold_tls::any_certificate_connector()?,
                crate::hold_tls::server_name(name)?,
            ))
        }
    };
    let plan = Arc::new(ClientPlan {
        server: args.server,
        tls,
        connect_timeout: checked.connect_timeout,
        request_timeout: checked.request_timeout,
        refresh: checked.refresh,
        keepalive: checked.keepalive,
        hold_over: Default::default(),
        counters: HoldCounters::default(),
    });
    let n = args.connections;
    let setups = Arc::new(Semaphore::new(args.concurrency));
    let (stop, stopped) = watch::channel(false);
    let progress = tokio::spawn(progress(Arc::clone(&plan), n));

    let start = Instant::now();
    let setup_deadline = start + checked.setup_timeout;
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / args.rate)).await;
        let Ok(Ok(permit)) =
            tokio::time::timeout_at(setup_deadline, Arc::clone(&setups).acquire_owned()).await
        else {
            bail!("setup of {n} connections not done in time ({i} started)");
        };
        tasks.push(tokio::spawn(run_client(
            Arc::clone(&plan),
            source_address(args.source_first, i / args.per_source),
            registration(&args, i),
            permit,
            stopped.clone(),
        )));
    }
    let counters = &plan.counters;
    while HoldCounters::get(&counters.settled) < n as u64 && Instant::now() < setup_deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let setup_s = start.elapsed().as_secs_f64();
    let registered = HoldCounters::get(&counters.registered);
    let failed = counters.setup_failures.lock().total();
    println!("READY connections={n} registered={registered} failed={failed} setup_s={setup_s:.2}");
    let _ = std::io::stdout().flush();

    let hold_start = Instant::now();
    tokio::time::sleep(checked.hold).await;
    plan.hold_over.store(true, Ordering::Release);
    let hold_s = hold_start.elapsed().as_secs_f64();
    let lost = counters.lost.lock().clone();
    let held = registered.saturating_sub(lost.total());
    println!(
        "HELD held={held} lost={} reregisters_ok={} reregisters_failed={} pongs={} hold_s={hold_s:.2}",
        lost.total(),
        HoldCounters::get(&counters.reregisters_ok),
        counters.reregister_failures.lock().total(),
        HoldCounters::get(&counters.pongs),
    );
    let _ = std::io::stdout().flush();
    tokio::time::sleep(checked.linger).await;

    let _ = stop.send(true);
    progress.abort();
    let closing = async {
        for task in tasks {
            let _ = task.await;
        }
    };
    if tokio::time::timeout(CLOSE_WAIT, closing).await.is_err() {
        tracing::warn!("some connections did not close within {CLOSE_WAIT:?}");
    }

    let failures = counters.setup_failures.lock().clone();
    let reregister_failures = counters.reregister_failures.lock().clone();
    let report = HoldReport {
        transport: match args.transport {
            HoldTransport::Tcp => "tcp".into(),
            HoldTransport::Tls => "tls".into(),
        },
        server: args.server.to_string(),
        connections: n as u64,
        opened: HoldCounters::get(&counters.opened),
        registered,
        failed: failures.total(),
        failures,
        setup_retries_503: HoldCounters::get(&counters.setup_retries),
        setup_s,
        hold_s,
        reregisters_ok: HoldCounters::get(&counters.reregisters_ok),
        reregisters_failed: reregister_failures.total(),
        reregister_failures,
        keepalive_pings: HoldCounters::get(&counters.pings),
        keepalive_pongs: HoldCounters::get(&counters.pongs),
        server_requests: HoldCounters::get(&counters.server_requests),
        challenges: HoldCounters::get(&counters.challenges),
        lost,
        held,
    };
    println!("{}", report.describe());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The durations and limits of a run, checked.
struct Checked {
    connect_timeout: Duration,
    request_timeout: Duration,
    refresh: Duration,
    keepalive: Option<Duration>,
    hold: Duration,
    linger: Duration,
    setup_timeout: Duration,
}

fn seconds(name: &str, value: f64, min: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value >= min && value <= 1e6) {
        bail!("--{name} must be {min}..=1000000 seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

fn check(args: &HoldArgs) -> anyhow::Result<Checked> {
    if !args.server.ip().is_loopback() {
        bail!("--server must be a loopback address (this benchmark stays on this machine)");
    }
    if !args.source_first.is_loopback() {
        bail!("--source-first must be a loopback address");
    }
    if args.connections == 0 || args.concurrency == 0 || args.per_source == 0 {
        bail!("--connections, --concurrency and --per-source must be at least 1");
    }
    if args.expires == 0 {
        bail!("--expires must be at least 1");
    }
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!("--rate must be a positive number");
    }
    let last = source_address(args.source_first, (args.connections - 1) / args.per_source);
    if !last.is_loopback() {
        bail!(
            "{} connections at {} per source address run past 127.255.255.254: raise --per-source",
            args.connections,
            args.per_source
        );
    }
    let keepalive = seconds("keepalive", args.keepalive, 0.0)?;
    let refresh = args.refresh.unwrap_or(f64::from(args.expires) / 2.0);
    Ok(Checked {
        connect_timeout: seconds("connect-timeout", args.connect_timeout, 0.001)?,
        request_timeout: seconds("timeout", args.timeout, 0.001)?,
        refresh: seconds("refresh", refresh, 0.1)?,
        keepalive: (!keepalive.is_zero()).then_some(keepalive),
        hold: seconds("hold", args.hold, 0.0)?,
        linger: seconds("linger", args.linger, 0.0)?,
        setup_timeout: seconds(
            "setup-timeout",
            args.setup_timeout
                .unwrap_or(args.connections as f64 / args.rate + 60.0),
            0.001,
        )?,
    })
}

/// The `k`-th source address from `first`, skipping the .0 and .255 of each /24.
fn source_address(first: Ipv4Addr, k: usize) -> IpAddr {
    let first = u32::from(first);
    let block = first >> 8;
    // Position among the usable hosts (1..=254) of consecutive /24s.
    let host = (first & 0xff).clamp(1, 254) - 1;
    let position = u64::from(host) + k as u64;
    let block = u64::from(block) + position / 254;
    let host = position % 254 + 1;
    let address = u32::try_from((block << 8) | host).unwrap_or(u32::MAX);
    IpAddr::V4(Ipv4Addr::from(address))
}

fn padded(template: &str, number: usize, digits: usize) -> String {
    template.replace("{n}", &format!("{number:0digits$}"))
}

fn registration(args: &HoldArgs, i: usize) -> Registration {
    let number = i + args.first;
    let user = padded(&args.user, number, args.digits);
    Registration {
        aor: format!("sip:{user}@{}", args.domain),
        registrar: format!("sip:{}", args.domain),
        password: padded(&args.password, number, args.digits),
        user,
        expires: args.expires,
        transport: match args.transport {
            HoldTransport::Tcp => "TCP",
            HoldTransport::Tls => "TLS",
        },
    }
}

async fn progress(plan: Arc<ClientPlan>, n: usize) {
    let counters = &plan.counters;
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        tracing::info!(
            "{n} connections: opened {}, registered {}, setup failures {}, re-REGISTERs ok {}, lost {}",
            HoldCounters::get(&counters.opened),
            HoldCounters::get(&counters.registered),
            counters.setup_failures.lock().total(),
            HoldCounters::get(&counters.reregisters_ok),
            counters.lost.lock().total(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_skip_network_and_broadcast_hosts() {
        let first = Ipv4Addr::new(127, 0, 0, 2);
        assert_eq!(source_address(first, 0), IpAddr::from([127, 0, 0, 2]));
        assert_eq!(source_address(first, 252), IpAddr::from([127, 0, 0, 254]));
        assert_eq!(source_address(first, 253), IpAddr::from([127, 0, 1, 1]));
        assert_eq!(
            source_address(first, 253 + 254),
            IpAddr::from([127, 0, 2, 1])
        );
    }

    #[test]
    fn user_numbers_are_padded_into_the_templates() {
        assert_eq!(padded("u{n}", 42, 6), "u000042");
        assert_eq!(padded("p{n}x", 7, 3), "p007x");
        assert_eq!(padded("secret", 7, 3), "secret");
    }
}
