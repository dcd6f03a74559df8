//! The `herald` binary's library: the command line, the settings file, the admin socket
//! and the wiring of the crates. `main.rs` only starts the runtime; keeping the rest here
//! lets fuzz targets and tests reach the parsers of outside input (settings, CSV).
pub mod admin;
pub mod archive;
pub mod backup;
pub mod cli;
pub mod conferences;
pub mod demo;
pub mod presence_admin;
pub mod settings;
pub mod users;

use admin::{AdminCommand, Effect, ImportedUser};
use anyhow::{Context, Result, bail};
pub use cli::Cli;
use cli::{Command, ServeArgs, UserCommand};
use herald_server::Server;
use herald_store::{SharedStore, SqliteStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs one command line.
pub async fn run(cli: Cli) -> Result<()> {
    std::fs::create_dir_all(&cli.data_dir)
        .with_context(|| format!("creating the data directory {}", cli.data_dir.display()))?;
    match cli.command {
        Command::Serve(args) => serve(&cli.data_dir, cli.config.as_deref(), args).await,
        Command::User(cmd) => user(&cli.data_dir, cmd).await,
        Command::Archive(cmd) => archive::run(&cli.data_dir, cmd).await,
        Command::Contacts(cmd) => administer(&cli.data_dir, cmd.into()).await,
        Command::Access(cmd) => administer(&cli.data_dir, cmd.into()).await,
        Command::Policy(cmd) => administer(&cli.data_dir, cmd.into()).await,
        Command::Conferences(args) => conferences::run(&cli.data_dir, args).await,
        Command::Backup(args) => {
            println!(
                "{}",
                backup::backup(&cli.data_dir, &args.file, args.force).await?
            );
            Ok(())
        }
        Command::Restore(args) => {
            println!("{}", backup::restore(&cli.data_dir, &args.file).await?);
            Ok(())
        }
    }
}

/// The async runtime's thread count for this command line (`[server] threads` of the
/// settings file for `serve`; `None`: one per core). Read before the runtime starts.
pub fn runtime_threads(cli: &Cli) -> Result<Option<usize>> {
    match &cli.command {
        Command::Serve(_) => {
            let file = settings::load_file(cli.config.as_deref(), &cli.data_dir)?;
            settings::runtime_threads(&file)
        }
        _ => Ok(None),
    }
}

async fn open_store(data_dir: &Path) -> Result<SharedStore> {
    let path = data_dir.join("herald.db");
    let store = SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening the store {}", path.display()))?;
    Ok(Arc::new(store))
}

async fn serve(data_dir: &Path, config: Option<&Path>, args: ServeArgs) -> Result<()> {
    let file = settings::load_file(config, data_dir)?;
    let filter = args
        .log
        .clone()
        .or_else(|| file.log.clone())
        .unwrap_or_else(|| "info,sqlx=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).context("bad --log filter")?,
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let demo_mode = args.domains.is_empty() && file.domains.is_none();
    let cfg = settings::server_config(&file, &args, data_dir)?;
    let durability = settings::store_durability(&file)?;
    let drain_timeout = settings::drain_timeout(&file, &cfg)?;
    if admin::try_remote(data_dir, &AdminCommand::UserList)
        .await?
        .is_some()
    {
        bail!(
            "another herald server is already running on {}",
            data_dir.display()
        );
    }
    let path = backup::store_path(data_dir);
    let sqlite = SqliteStore::open_with(&path, durability)
        .await
        .with_context(|| format!("opening the store {}", path.display()))?;
    tracing::info!(path = %path.display(), synchronous = %durability, "store open");
    let store: SharedStore = Arc::new(sqlite.clone());
    let created = if demo_mode && !args.no_demo_users {
        demo::create_demo_users(&store, &cfg).await?
    } else {
        vec![]
    };

    let server = Arc::new(Server::start(cfg.clone(), store.clone()).await?);
    demo::print_banner(&cfg, &server.local_addrs(), &created, data_dir);

    let admin_task = tokio::spawn(serve_admin(
        data_dir.to_path_buf(),
        store,
        sqlite.clone(),
        server.clone(),
    ));

    shutdown_signal().await;
    tracing::info!("shutting down");
    admin_task.abort();
    std::fs::remove_file(admin::socket_path(data_dir)).ok();
    // A second signal stops at once, without waiting for the drain.
    tokio::select! {
        _ = server.drain(drain_timeout) => {}
        () = shutdown_signal() => tracing::warn!("second signal: not waiting for requests in progress"),
    }
    server.stop().await;
    sqlite.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves the admin socket for the running server: changes take effect at once, and a
/// restore swaps the server's store.
async fn serve_admin(
    data_dir: PathBuf,
    store: SharedStore,
    sqlite: SqliteStore,
    server: Arc<Server>,
) {
    let restorer: admin::Restorer = {
        let server = server.clone();
        Arc::new(move |file| {
            let (sqlite, server) = (sqlite.clone(), server.clone());
            Box::pin(async move { backup::restore_live(&sqlite, &server, &file).await })
        })
    };
    let on_effect = move |effect| {
        let server = server.clone();
        async move {
            match effect {
                Effect::None => {}
                Effect::UserChanged { aor, enabled } => {
                    server.user_changed(&aor, enabled).await;
                }
                Effect::PresenceRulesChanged { owner } => {
                    server.presence_rules_changed(&owner).await;
                }
            }
        }
    };
    if let Err(e) = admin::serve(&data_dir, store, on_effect, restorer).await {
        tracing::error!("admin socket stopped: {e:#}");
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn user(data_dir: &Path, cmd: UserCommand) -> Result<()> {
    let cmd = match cmd {
        UserCommand::Add {
            address,
            password,
            display_name,
        } => AdminCommand::UserAdd {
            address,
            password,
            display_name,
        },
        UserCommand::List => AdminCommand::UserList,
        UserCommand::Remove { address } => AdminCommand::UserRemove { address },
        UserCommand::Passwd { address, password } => AdminCommand::UserPasswd { address, password },
        UserCommand::Disable { address } => AdminCommand::UserEnable {
            address,
            enabled: false,
        },
        UserCommand::Enable { address } => AdminCommand::UserEnable {
            address,
            enabled: true,
        },
        UserCommand::Import { file } => {
            let users = users::read_csv(&file)?
                .into_iter()
                .map(ImportedUser::from)
                .collect();
            AdminCommand::UserImport { users }
        }
        UserCommand::Archiving { address, setting } => AdminCommand::UserArchiving {
            address,
            archiving: setting.as_override(),
        },
    };
    administer(data_dir, cmd).await
}

/// Runs an admin command through the running server when one uses `data_dir` (so it takes
/// effect at once), else on the store directly, and prints its output.
async fn administer(data_dir: &Path, cmd: AdminCommand) -> Result<()> {
    let output = match admin::try_remote(data_dir, &cmd).await? {
        Some(reply) if reply.ok => reply.output,
        Some(reply) => bail!("{}", reply.output),
        None => {
            let store = open_store(data_dir).await?;
            admin::execute(&store, cmd).await?.0
        }
    };
    if !output.is_empty() {
        println!("{output}");
    }
    Ok(())
}
