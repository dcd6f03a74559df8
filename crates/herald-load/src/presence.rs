//! The presence scenario from start to end: connections, subscription phase, the
//! READY handshake, the publish steps, the report.

use std::io::BufRead as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::anomalies::Anomalies;
use crate::cli::{PresenceArgs, seconds};
use crate::connection::{Connection, Inbound};
use crate::exchange::ChallengeKind;
use crate::population::Population;
use crate::publish::{Step, publish_step};
use crate::report::{RunReport, describe_run_end, describe_step, describe_subscribe};
use crate::state::PresenceState;
use crate::subscribe::subscribe_all;

/// Runs the scenario and prints its summary (and writes the JSON file if asked).
pub async fn run(args: PresenceArgs) -> Result<()> {
    let population = Population::new(args.users, args.watch, &args.prefix, &args.domain)
        .map_err(anyhow::Error::msg)?;
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if args.rate.contains(&0) {
        bail!("--rate values must be positive");
    }
    let duration = seconds("--duration", args.duration)?;
    let drain = seconds("--drain", args.drain)?;
    let pause = seconds("--pause", args.pause)?;
    let notify_wait = seconds("--notify-wait", args.notify_wait)?;
    let timeout = seconds("--timeout", args.timeout)?;
    let settle = args.settle.map(|s| seconds("--settle", s)).transpose()?;

    let anomalies = Arc::new(Anomalies::default());
    let state = Arc::new(PresenceState::new(
        population,
        args.password.clone(),
        timeout,
        args.connections,
        anomalies.clone(),
    ));
    let mut conns = Vec::with_capacity(args.connections);
    for id in 0..args.connections {
        let inbound: Arc<dyn Inbound> = state.clone();
        let conn = Connection::open(args.server, id, inbound, anomalies.clone())
            .await
            .with_context(|| format!("connecting to {}", args.server))?;
        conns.push(conn);
    }
    let conns = Arc::new(conns);
    tracing::info!(
        "{} users watching {} each over {} connections to {}",
        args.users,
        args.watch,
        args.connections,
        args.server
    );

    let challenge = if args.proxy_auth {
        ChallengeKind::Proxy
    } else {
        ChallengeKind::Server
    };
    let subscribe = subscribe_all(&state, &conns, args.concurrency, notify_wait, challenge).await;
    print!("{}", describe_subscribe(&subscribe));
    println!("READY subscriptions={}", subscribe.established);
    wait_for_go(settle).await;

    let mut steps = Vec::new();
    for (i, rate) in args.rate.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        tracing::info!("publish step: {rate}/s for {duration:?}");
        let report = publish_step(
            &state,
            &conns,
            Step {
                rate: *rate,
                duration,
                drain,
                challenge,
            },
        )
        .await;
        print!("{}", describe_step(&report));
        let passed = report.pass;
        steps.push(report);
        if !passed && args.stop_on_fail {
            break;
        }
    }

    let report = RunReport {
        server: args.server.to_string(),
        users: args.users,
        watch: args.watch,
        connections: args.connections,
        subscribe,
        steps,
        terminated: state.terminations(),
        anomalies: anomalies.snapshot(),
    };
    print!("{}", describe_run_end(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).context("serialising the report")?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Waits for a line on stdin, or `settle` (whichever comes first). When stdin ends
/// without a line, only `settle` is waited for (nothing, without it).
async fn wait_for_go(settle: Option<Duration>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A plain thread: a blocked stdin read must not keep the runtime from ending.
    std::thread::spawn(move || {
        let mut line = String::new();
        let got_line = matches!(std::io::stdin().lock().read_line(&mut line), Ok(n) if n > 0);
        let _ = tx.send(got_line);
    });
    let line = async {
        match rx.await {
            Ok(true) => {}
            _ if settle.is_some() => std::future::pending::<()>().await,
            _ => {}
        }
    };
    match settle {
        Some(limit) => {
            let _ = tokio::time::timeout(limit, line).await;
        }
        None => line.await,
    }
}
