//! The conference scenario from start to end: connections, the conferences made and
//! filled, the message steps, everyone leaving, the report.

mod body;
mod inbound;
mod layout;
mod ledger;
mod report;
mod setup;
mod state;
mod step;

use std::sync::Arc;

use anyhow::{Context, Result, bail};

use self::layout::Layout;
use self::report::{ConferenceReport, describe_end, describe_setup, describe_step};
use self::setup::{leave_all, set_up};
use self::state::{ConferenceState, Settings};
use self::step::{Cursor, Step, message_step, planned};
use crate::anomalies::Anomalies;
use crate::cli::{ConferenceArgs, seconds};
use crate::connection::{Connection, Inbound};
use crate::population::Population;

/// Runs the scenario and prints its summary (and writes the JSON file if asked).
pub async fn run(args: ConferenceArgs) -> Result<()> {
    let layout = Layout::new(args.conferences, args.participants).map_err(anyhow::Error::msg)?;
    let population = Population::new(layout.users(), 0, &args.prefix, &args.domain)
        .map_err(anyhow::Error::msg)?;
    if args.rate.contains(&0) {
        bail!("--rate values must be positive");
    }
    let duration = seconds("--duration", args.duration)?;
    let drain = seconds("--drain", args.drain)?;
    let pause = seconds("--pause", args.pause)?;
    let settle = seconds("--settle", args.settle)?;
    let timeout = seconds("--timeout", args.timeout)?;
    let connections = match args.connections {
        0 => layout.users(),
        n => n.min(layout.users()),
    };
    let capacity: u64 = args.rate.iter().map(|r| planned(*r, duration)).sum();
    let capacity = usize::try_from(capacity)
        .ok()
        .filter(|c| *c <= 100_000_000)
        .context("the rates and duration ask for too many messages")?;

    let anomalies = Arc::new(Anomalies::default());
    let state = Arc::new(ConferenceState::new(
        layout,
        population,
        Settings {
            password: args.password.clone(),
            request_timeout: timeout,
            cpim: args.cpim,
            steps: args.rate.len(),
            capacity,
        },
        connections,
        anomalies.clone(),
    ));
    let mut conns = Vec::with_capacity(connections);
    for id in 0..connections {
        let inbound: Arc<dyn Inbound> = state.clone();
        let conn = Connection::open(args.server, id, inbound, anomalies.clone())
            .await
            .with_context(|| format!("connecting to {}", args.server))?;
        conns.push(conn);
    }
    let conns = Arc::new(conns);
    tracing::info!(
        "{} conferences x {} participants over {} connections to {}",
        layout.conferences(),
        layout.participants(),
        connections,
        args.server
    );

    let setup = set_up(&state, &conns, args.setup_concurrency).await;
    print!("{}", describe_setup(&setup));
    println!(
        "READY conferences={} participants={}",
        setup.created, setup.joined
    );
    tokio::time::sleep(settle).await;

    let mut steps = Vec::new();
    let mut cursor = Cursor::default();
    if setup.joined > 0 {
        for (i, rate) in args.rate.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            tracing::info!("message step: {rate}/s for {duration:?}");
            let step = Step {
                index: u32::try_from(i).context("too many steps")?,
                rate: *rate,
                duration,
                drain,
                body_bytes: args.body_bytes,
                max_p99_ms: args.max_p99_ms,
            };
            let report = message_step(&state, &conns, step, &mut cursor).await;
            print!("{}", describe_step(&report));
            let passed = report.pass;
            steps.push(report);
            if !passed && args.stop_on_fail {
                break;
            }
        }
    }

    let leave = leave_all(&state, &conns, args.setup_concurrency).await;
    let report = ConferenceReport {
        server: args.server.to_string(),
        conferences: layout.conferences(),
        participants: layout.participants(),
        connections,
        body_bytes: args.body_bytes,
        cpim: args.cpim,
        setup,
        steps,
        leave,
        dropped_by_focus: state.dropped.lock().len(),
        anomalies: anomalies.snapshot(),
    };
    print!("{}", describe_end(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).context("serialising the report")?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
