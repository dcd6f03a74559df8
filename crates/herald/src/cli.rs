//! Command-line interface.
use clap::{Args, Parser, Subcommand, ValueEnum};
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
    /// Read the IM archive (works on the store directly, whether a server runs or not).
    #[command(subcommand)]
    Archive(ArchiveCommand),
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
    /// Archive this user's instant messages (on), never archive them (off), or follow the
    /// server-wide setting (default).
    Archiving {
        address: String,
        setting: ArchivingSetting,
    },
}

/// A user's archiving override as typed on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArchivingSetting {
    On,
    Off,
    Default,
}

impl ArchivingSetting {
    /// The stored override: `None` follows the server-wide setting.
    pub fn as_override(self) -> Option<bool> {
        match self {
            ArchivingSetting::On => Some(true),
            ArchivingSetting::Off => Some(false),
            ArchivingSetting::Default => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Export one user's archived messages (sent and received), oldest first:
    /// herald archive export --user alice@example.com --since 2026-01-01 [--until 2026-02-01]
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The user whose messages to export, as user@domain or sip:user@domain.
    #[arg(long)]
    pub user: String,
    /// First instant to include: YYYY-MM-DD (midnight UTC) or RFC 3339 (2026-01-01T09:30:00+01:00).
    #[arg(long, value_name = "DATE", value_parser = crate::archive::parse_time)]
    pub since: i64,
    /// Instant to stop before (excluded), same forms as --since. Default: no end.
    #[arg(long, value_name = "DATE", value_parser = crate::archive::parse_time)]
    pub until: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write here instead of standard output (an existing file is replaced).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// How `archive export` writes records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("herald").chain(args.iter().copied()))
    }

    #[test]
    fn archive_export_defaults_to_jsonl_on_stdout_without_end() {
        let cli = parse(&[
            "archive",
            "export",
            "--user",
            "alice@example.com",
            "--since",
            "2026-01-01",
        ])
        .unwrap();
        let Command::Archive(ArchiveCommand::Export(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.user, "alice@example.com");
        assert_eq!(args.since, 1_767_225_600_000);
        assert_eq!(args.until, None);
        assert_eq!(args.format, ExportFormat::Jsonl);
        assert_eq!(args.output, None);
    }

    #[test]
    fn archive_export_takes_every_option() {
        let cli = parse(&[
            "--data-dir",
            "/tmp/d",
            "archive",
            "export",
            "--user",
            "alice@example.com",
            "--since",
            "2026-01-01T00:00:00+01:00",
            "--until",
            "2026-02-01",
            "--format",
            "csv",
            "--output",
            "out.csv",
        ])
        .unwrap();
        let Command::Archive(ArchiveCommand::Export(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.since, 1_767_225_600_000 - 3_600_000);
        assert_eq!(args.until, Some(1_769_904_000_000));
        assert_eq!(args.format, ExportFormat::Csv);
        assert_eq!(args.output, Some(PathBuf::from("out.csv")));
    }

    #[test]
    fn archive_export_rejects_bad_dates_unknown_formats_and_a_missing_since() {
        let base = ["archive", "export", "--user", "alice@example.com"];
        let with = |extra: &[&'static str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            parse(&args).map(drop)
        };
        let err = with(&["--since", "2026-13-01"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        let err = with(&["--since", "2026-01-01", "--until", "soon"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        let err = with(&["--since", "2026-01-01", "--format", "xml"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        let err = with(&[]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn user_archiving_takes_on_off_or_default() {
        for (word, expected) in [("on", Some(true)), ("off", Some(false)), ("default", None)] {
            let cli = parse(&["user", "archiving", "alice@example.com", word]).unwrap();
            let Command::User(UserCommand::Archiving { address, setting }) = cli.command else {
                panic!("parsed as {:?}", cli.command);
            };
            assert_eq!(address, "alice@example.com");
            assert_eq!(setting.as_override(), expected);
        }
        assert!(parse(&["user", "archiving", "alice@example.com", "maybe"]).is_err());
        assert!(parse(&["user", "archiving", "alice@example.com"]).is_err());
    }
}
