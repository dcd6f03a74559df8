//! Command-line interface.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Herald: an instant-messaging and presence server (SIP/SIMPLE).
///
/// Without a command's flags, `herald serve` starts a demo server for the domain
/// `herald.test` on ports 5060 (UDP, TCP) and 5061 (TLS), creating the users `alice`
/// and `bob` with random passwords on first start.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about, long_about)]
pub struct Cli {
    /// Data directory: the user store, TLS material, the admin socket, herald.toml.
    #[arg(
        long,
        global = true,
        default_value = "./herald-data",
        env = "HERALD_DATA_DIR"
    )]
    pub data_dir: PathBuf,
    /// Configuration file (default: DATA_DIR/herald.toml if it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage users (works through the running server when one uses this data directory).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Served SIP domain (repeat for several; the first is primary). Default: herald.test.
    #[arg(long = "domain")]
    pub domains: Vec<String>,
    /// Listener as TRANSPORT:ADDRESS:PORT, e.g. udp:127.0.0.1:5060, tcp:[::]:5060, tls:0.0.0.0:5061.
    /// Repeatable. Default: udp and tcp on 0.0.0.0:5060, tls on 0.0.0.0:5061.
    #[arg(long = "listen")]
    pub listen: Vec<String>,
    /// TLS certificate chain (PEM). Without it a self-signed certificate is made in DATA_DIR/tls.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Log filter (tracing syntax), e.g. info, debug, herald_server=debug.
    #[arg(long, env = "HERALD_LOG")]
    pub log: Option<String>,
    /// Do not create the demo users on first start.
    #[arg(long)]
    pub no_demo_users: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user: herald user add alice@example.com --password S [--display-name "Alice"]
    Add {
        /// Address, as user@domain or sip:user@domain.
        address: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Remove a user; their registrations end at once.
    Remove {
        address: String,
    },
    /// Change a user's password.
    Passwd {
        address: String,
        #[arg(long)]
        password: String,
    },
    /// Disable a user (their registrations end at once) or enable them again.
    Disable {
        address: String,
    },
    Enable {
        address: String,
    },
    /// Import users from a CSV file: sip-uri,password[,display name] per line.
    Import {
        file: PathBuf,
    },
}
