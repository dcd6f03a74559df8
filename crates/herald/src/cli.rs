//! Command-line interface.
use clap::builder::PossibleValuesParser;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum, value_parser};
use herald_store::{ACCESS_LEVELS, MAX_CONTACTS_CEILING};
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
    /// Manage users' contact lists (works through the running server when one uses this data
    /// directory).
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Manage who sees how much of a user's presence (works through the running server when
    /// one uses this data directory).
    #[command(subcommand)]
    Access(AccessCommand),
    /// Manage user policies, server-wide or per user: presence limits and who may create
    /// conferences (works through the running server when one uses this data directory).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List the monitoring records of group IM conferences, newest first (reads the store
    /// directly, whether a server runs or not).
    Conferences(ConferencesArgs),
    /// Write a consistent copy of the store to FILE, while the server runs or not.
    ///
    /// The copy is a snapshot of every change committed when it starts; the server keeps
    /// serving and writing meanwhile. It is written under a temporary name and renamed
    /// once complete, then read back and checked.
    Backup(BackupArgs),
    /// Replace the store with the backup FILE, checked first.
    ///
    /// With a server running on this data directory, it swaps the store live: requests
    /// that use the store wait a moment, then see the restored data; registrations of
    /// users the backup lacks end. The replaced store is kept beside it as
    /// herald.db.before-restore-<unix time>.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy; refused if it exists, unless --force.
    pub file: PathBuf,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup made by `herald backup` (or a copy of a stopped server's herald.db).
    pub file: PathBuf,
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
pub enum ContactsCommand {
    /// Put CONTACT on OWNER's contact list, or update their entry.
    ///
    /// Adding a contact already on the list adds the groups given to the ones it has, and
    /// --name replaces the name (--name "" clears it). A new contact is refused once OWNER
    /// has as many as their limit allows (see `herald policy show --user OWNER`).
    Add {
        /// The user whose list it is, as user@domain or sip:user@domain.
        owner: String,
        /// The contact, as user@domain or sip:user@domain; need not be a user of this server.
        contact: String,
        /// A group to file the contact under (repeat for several; 1 to 64 characters).
        #[arg(long = "group", value_name = "G")]
        groups: Vec<String>,
        /// OWNER's own name for the contact, shown instead of the one they publish.
        #[arg(long, value_name = "DISPLAY NAME")]
        name: Option<String>,
    },
    /// List OWNER's contacts in the order they were added.
    ///
    /// One line per contact: address, name and groups (comma-separated), separated by tabs.
    List {
        /// The user whose list it is, as user@domain or sip:user@domain.
        owner: String,
    },
    /// Take CONTACT off OWNER's contact list.
    Remove {
        /// The user whose list it is, as user@domain or sip:user@domain.
        owner: String,
        /// The contact to take off, as user@domain or sip:user@domain.
        contact: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Give SUBJECT an access level to OWNER's presence.
    ///
    /// Replaces any level OWNER gave SUBJECT before. A level given to a user counts before
    /// one given to their domain.
    Set {
        /// The user whose presence it is, as user@domain or sip:user@domain.
        owner: String,
        /// Who the level is for: a user (user@domain or sip:user@domain) or every user of a
        /// domain (example.com).
        subject: String,
        /// What SUBJECT sees of OWNER's presence.
        ///
        /// public: availability only; colleagues: also notes, contact card and activities;
        /// workgroup and friends: everything OWNER publishes (also location, time zone,
        /// devices); blocked: OWNER always looks offline.
        #[arg(long, value_parser = PossibleValuesParser::new(ACCESS_LEVELS))]
        level: String,
    },
    /// Remove the level OWNER gave SUBJECT.
    ///
    /// SUBJECT is then treated like anyone else: a level OWNER gave their domain if any,
    /// otherwise colleagues when they are on OWNER's contact list and public when not.
    Clear {
        /// The user whose presence it is, as user@domain or sip:user@domain.
        owner: String,
        /// The user (user@domain) or domain (example.com) the level was given to.
        subject: String,
    },
    /// List the access levels OWNER gave, and their privacy mode.
    ///
    /// One "subject<TAB>level" line per level, then "privacy-mode<TAB>on" or "off".
    List {
        /// The user whose presence it is, as user@domain or sip:user@domain.
        owner: String,
    },
    /// Turn OWNER's privacy mode on or off.
    ///
    /// On: only people on OWNER's contact list or given a level by address see OWNER's
    /// presence; everyone else sees OWNER offline. Off (the default): everyone not blocked
    /// sees at least OWNER's availability.
    Privacy {
        /// The user whose presence it is, as user@domain or sip:user@domain.
        owner: String,
        /// on or off.
        setting: OnOff,
    },
}

/// A switch as typed on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn is_on(self) -> bool {
        self == OnOff::On
    }
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set presence limits or who may create conferences, server-wide or (with --user) for
    /// one user.
    ///
    /// Settings not given keep their stored value. A user's setting not set for them comes
    /// from the server-wide policy, and one not set there either is the built-in default.
    Set(PolicySetArgs),
    /// Drop the stored policy, server-wide or (with --user) for one user.
    ///
    /// A user's settings then come from the server-wide ones; server-wide ones from the
    /// built-in defaults.
    Clear {
        /// The user whose limits to drop, as user@domain or sip:user@domain (default: the
        /// server-wide limits).
        #[arg(long, value_name = "ADDRESS")]
        user: Option<String>,
    },
    /// Show the policy in force, server-wide or (with --user) for one user.
    ///
    /// One "setting<TAB>value<TAB>source" line per setting, the source saying where the
    /// value comes from: user, server or default.
    Show {
        /// The user whose limits to show, as user@domain or sip:user@domain (default: the
        /// server-wide limits).
        #[arg(long, value_name = "ADDRESS")]
        user: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("limits")
        .required(true)
        .multiple(true)
        .args(["max_contacts", "max_subscriptions", "max_prompted", "create_conferences"])
))]
pub struct PolicySetArgs {
    /// The user these limits are for, as user@domain or sip:user@domain (default: the
    /// server-wide limits, for every user without their own).
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// Most contacts on a user's contact list (1 to 1000; built-in default 250).
    #[arg(long, value_name = "N",
          value_parser = value_parser!(u32).range(1..=i64::from(MAX_CONTACTS_CEILING)))]
    pub max_contacts: Option<u32>,
    /// Most presence subscriptions a user's devices may hold at once (at least 1; built-in
    /// default 1000).
    #[arg(long, value_name = "N", value_parser = value_parser!(u32).range(1..))]
    pub max_subscriptions: Option<u32>,
    /// Most people waiting for a user to allow or block them from seeing their presence
    /// (at least 1; built-in default 200).
    #[arg(long, value_name = "N", value_parser = value_parser!(u32).range(1..))]
    pub max_prompted: Option<u32>,
    /// Whether a user may create group IM conferences (joining one is not affected; built-in
    /// default yes). Takes effect for the next conference created.
    #[arg(long, value_name = "YES|NO")]
    pub create_conferences: Option<YesNo>,
}

/// A yes/no setting as typed on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum YesNo {
    Yes,
    No,
}

impl YesNo {
    pub fn is_yes(self) -> bool {
        self == YesNo::Yes
    }
}

/// Most records `herald conferences` lists at once.
pub const MAX_CONFERENCE_LIST: u32 = 100_000;

#[derive(Debug, Args)]
pub struct ConferencesArgs {
    /// How many of the most recently started conferences to list.
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = value_parser!(u32).range(1..=i64::from(MAX_CONFERENCE_LIST)))]
    pub limit: u32,
    /// One JSON object per line instead of tab-separated columns.
    #[arg(long)]
    pub json: bool,
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

    #[test]
    fn contacts_add_takes_repeated_groups_and_a_name() {
        let cli = parse(&[
            "contacts",
            "add",
            "alice@example.com",
            "sip:bob@example.com",
            "--group",
            "Team",
            "--name",
            "Bob B.",
            "--group",
            "Friends",
        ])
        .unwrap();
        let Command::Contacts(ContactsCommand::Add {
            owner,
            contact,
            groups,
            name,
        }) = cli.command
        else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(owner, "alice@example.com");
        assert_eq!(contact, "sip:bob@example.com");
        assert_eq!(groups, ["Team", "Friends"]);
        assert_eq!(name.as_deref(), Some("Bob B."));
        assert!(parse(&["contacts", "add", "alice@example.com"]).is_err());
    }

    #[test]
    fn access_set_takes_only_known_levels() {
        for level in ACCESS_LEVELS {
            let cli = parse(&["access", "set", "a@x.org", "x.org", "--level", level]).unwrap();
            let Command::Access(AccessCommand::Set { level: parsed, .. }) = cli.command else {
                panic!("parsed as {:?}", cli.command);
            };
            assert_eq!(parsed, *level);
        }
        let err = parse(&["access", "set", "a@x.org", "x.org", "--level", "family"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        let err = parse(&["access", "set", "a@x.org", "x.org"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn access_privacy_takes_on_or_off() {
        for (word, on) in [("on", true), ("off", false)] {
            let cli = parse(&["access", "privacy", "a@x.org", word]).unwrap();
            let Command::Access(AccessCommand::Privacy { setting, .. }) = cli.command else {
                panic!("parsed as {:?}", cli.command);
            };
            assert_eq!(setting.is_on(), on);
        }
        assert!(parse(&["access", "privacy", "a@x.org", "maybe"]).is_err());
    }

    #[test]
    fn policy_set_needs_a_limit_in_range() {
        let cli = parse(&[
            "policy",
            "set",
            "--user",
            "a@x.org",
            "--max-contacts",
            "1000",
            "--max-prompted",
            "1",
        ])
        .unwrap();
        let Command::Policy(PolicyCommand::Set(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.user.as_deref(), Some("a@x.org"));
        assert_eq!(args.max_contacts, Some(1000));
        assert_eq!(args.max_subscriptions, None);
        assert_eq!(args.max_prompted, Some(1));

        let err = parse(&["policy", "set"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        for bad in [
            ["--max-contacts", "1001"],
            ["--max-contacts", "0"],
            ["--max-subscriptions", "0"],
            ["--max-prompted", "-1"],
            ["--max-prompted", "lots"],
        ] {
            let mut args = vec!["policy", "set"];
            args.extend(bad);
            assert!(parse(&args).is_err(), "{bad:?}");
        }
        let cli = parse(&["policy", "show"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Policy(PolicyCommand::Show { user: None })
        ));
    }

    #[test]
    fn policy_set_takes_create_conferences_alone_or_with_limits() {
        for (word, expected) in [("yes", YesNo::Yes), ("no", YesNo::No)] {
            let cli = parse(&["policy", "set", "--create-conferences", word]).unwrap();
            let Command::Policy(PolicyCommand::Set(args)) = cli.command else {
                panic!("parsed as {:?}", cli.command);
            };
            assert_eq!(args.create_conferences, Some(expected));
            assert_eq!(args.max_contacts, None);
            assert_eq!(args.user, None);
        }
        assert!(YesNo::Yes.is_yes() && !YesNo::No.is_yes());
        let cli = parse(&[
            "policy",
            "set",
            "--user",
            "a@x.org",
            "--max-contacts",
            "5",
            "--create-conferences",
            "no",
        ])
        .unwrap();
        let Command::Policy(PolicyCommand::Set(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(
            (args.max_contacts, args.create_conferences),
            (Some(5), Some(YesNo::No))
        );
        for bad in ["maybe", "true", ""] {
            let err = parse(&["policy", "set", "--create-conferences", bad]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue, "{bad:?}");
        }
    }

    #[test]
    fn conferences_lists_fifty_as_text_by_default() {
        let cli = parse(&["conferences"]).unwrap();
        let Command::Conferences(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.limit, 50);
        assert!(!args.json);
        let cli = parse(&["conferences", "--limit", "3", "--json"]).unwrap();
        let Command::Conferences(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.limit, 3);
        assert!(args.json);
        for bad in ["0", "lots", "100001"] {
            let err = parse(&["conferences", "--limit", bad]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
        }
        assert!(parse(&["conferences", "--limit", "-1"]).is_err());
    }
}
