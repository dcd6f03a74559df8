//! `herald-load`: load generator for Herald's benchmarks.
//!
//! Layout (one idea per file):
//! - `cli`: the command line.
//! - `presence`: the presence scenario from start to end.
//! - `conference`: the group IM conference scenario (its parts in `conference/`).
//! - `population`: user names and who watches whom.
//! - `connection`: a TCP connection shared by many users (framing, routing, outbox).
//! - `routing`: matching responses to the requests waiting for them.
//! - `requests`: the SIP messages this tool writes.
//! - `digest`: answering digest challenges.
//! - `exchange`: one request with its digest round trips.
//! - `state`: what the phases and the connection readers share.
//! - `subscribe`: the subscription phase.
//! - `notify`: answering and accounting NOTIFYs.
//! - `publish`: a publish step at a fixed rate.
//! - `ledger`: publish-to-NOTIFY accounting of one presentity.
//! - `pidf`: the availability number in and out of PIDF documents.
//! - `stats`, `report`, `anomalies`: counting and reporting.
//! - `hold`: the concurrent connections scenario (`hold_client`: one connection's
//!   life, `hold_session`: REGISTER and keep-alives on it, `hold_tls`: the TLS client,
//!   `hold_report`: its counts).

mod anomalies;
mod cli;
mod conference;
mod connection;
mod digest;
mod exchange;
mod hold;
mod hold_client;
mod hold_report;
mod hold_session;
mod hold_tls;
mod ledger;
mod notify;
mod pidf;
mod population;
mod presence;
mod publish;
mod report;
mod requests;
mod routing;
mod state;
mod stats;
mod subscribe;

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HERALD_LOAD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Presence(args) => presence::run(args).await,
        cli::Command::Conference(args) => conference::run(args).await,
        cli::Command::Hold(args) => hold::run(args).await,
    }
}
