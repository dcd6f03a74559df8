//! Administration: one set of commands, run against the store directly when no server
//! uses the data directory, or sent over the server's local admin socket
//! (`DATA_DIR/admin.sock`, JSON lines) so that changes take effect at once (cached
//! credentials dropped, registrations of removed or disabled users ended, presence
//! re-evaluated for watchers after a change of contact lists, access levels or presence
//! limits). Who may create conferences needs no such step: the conference service reads the
//! policy from the store each time a conference is created.
use crate::{presence_admin, users};
use anyhow::{Context, Result, anyhow};
use herald_store::{NewUser, PolicyLimits, SharedStore, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminCommand {
    UserAdd {
        address: String,
        password: String,
        display_name: Option<String>,
    },
    UserList,
    UserRemove {
        address: String,
    },
    UserPasswd {
        address: String,
        password: String,
    },
    UserEnable {
        address: String,
        enabled: bool,
    },
    /// Users already hashed by the CLI (the CSV is read where the file is).
    UserImport {
        users: Vec<ImportedUser>,
    },
    /// Sets the user's archiving override; `None` follows the server-wide setting.
    UserArchiving {
        address: String,
        archiving: Option<bool>,
    },
    /// Adds `contact` to `owner`'s list or updates the entry (groups merged; a given
    /// display name replaces the stored one, an empty one clears it).
    ContactAdd {
        owner: String,
        contact: String,
        groups: Vec<String>,
        display_name: Option<String>,
    },
    ContactList {
        owner: String,
    },
    ContactRemove {
        owner: String,
        contact: String,
    },
    /// Gives `subject` (an address or a domain) an access level to `owner`'s presence;
    /// `None` removes the level given before.
    AccessSet {
        owner: String,
        subject: String,
        level: Option<String>,
    },
    /// Lists `owner`'s access levels and privacy mode.
    AccessList {
        owner: String,
    },
    AccessPrivacy {
        owner: String,
        on: bool,
    },
    /// Sets the settings given (the others keep their stored value), for `user` or
    /// server-wide.
    PolicySet {
        user: Option<String>,
        max_contacts: Option<u32>,
        max_subscriptions: Option<u32>,
        max_prompted: Option<u32>,
        /// Whether the user may create conferences. Absent from a command sent by an older
        /// CLI: it then means "keep".
        #[serde(default)]
        create_conferences: Option<bool>,
    },
    /// Drops the stored policy of `user`, or the server-wide one.
    PolicyClear {
        user: Option<String>,
    },
    /// The policy in force for `user` (or server-wide) and where each setting comes from.
    PolicyShow {
        user: Option<String>,
    },
    /// Replaces the running server's store with a copy of the backup `file` (an absolute
    /// path, read by the server).
    Restore {
        file: PathBuf,
    },
}

/// Runs [`AdminCommand::Restore`] in the server, which alone can swap its store.
pub type Restorer = Arc<dyn Fn(PathBuf) -> BoxedReply + Send + Sync>;

/// What a [`Restorer`] answers.
pub type BoxedReply = std::pin::Pin<Box<dyn std::future::Future<Output = Result<String>> + Send>>;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportedUser {
    pub username: String,
    pub domain: String,
    pub display_name: Option<String>,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl From<NewUser> for ImportedUser {
    fn from(u: NewUser) -> Self {
        ImportedUser {
            username: u.username,
            domain: u.domain,
            display_name: u.display_name,
            ha1_md5: u.ha1_md5,
            ha1_sha256: u.ha1_sha256,
        }
    }
}

impl From<ImportedUser> for NewUser {
    fn from(u: ImportedUser) -> Self {
        NewUser {
            username: u.username,
            domain: u.domain,
            display_name: u.display_name,
            ha1_md5: u.ha1_md5,
            ha1_sha256: u.ha1_sha256,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AdminReply {
    pub ok: bool,
    /// Human-readable output (one line per user for `UserList`).
    pub output: String,
}

/// What a command changed that a running server must act on.
#[derive(Debug)]
pub enum Effect {
    None,
    UserChanged {
        aor: String,
        enabled: bool,
    },
    /// `owner`'s contact list, access levels, privacy mode or policy changed; `"*"`: the
    /// server-wide policy, which concerns every user.
    PresenceRulesChanged {
        owner: String,
    },
}

/// `user@domain` (domain lower-cased) from an address typed with or without `sip:`.
pub(crate) fn aor_of(address: &str) -> Result<String> {
    let (u, d) = users::split_address(address)?;
    Ok(format!("{u}@{d}"))
}

pub(crate) fn store_err(e: StoreError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Runs a command on the store.
pub async fn execute(store: &SharedStore, cmd: AdminCommand) -> Result<(String, Effect)> {
    match cmd {
        AdminCommand::UserAdd {
            address,
            password,
            display_name,
        } => {
            let u = store
                .add_user(users::new_user(&address, &password, display_name)?)
                .await
                .map_err(store_err)?;
            Ok((
                format!("added {}", u.aor),
                Effect::UserChanged {
                    aor: u.aor,
                    enabled: true,
                },
            ))
        }
        AdminCommand::UserList => {
            let list = store.list_users().await.map_err(store_err)?;
            let mut out = String::new();
            for u in list {
                out.push_str(&format!(
                    "{}\t{}\tarchiving={}\t{}\n",
                    u.aor,
                    if u.enabled { "enabled" } else { "disabled" },
                    archiving_word(u.archiving),
                    u.display_name.unwrap_or_default()
                ));
            }
            Ok((out.trim_end().to_owned(), Effect::None))
        }
        AdminCommand::UserRemove { address } => {
            let aor = aor_of(&address)?;
            store.remove_user(&aor).await.map_err(store_err)?;
            Ok((
                format!("removed {aor}"),
                Effect::UserChanged {
                    aor,
                    enabled: false,
                },
            ))
        }
        AdminCommand::UserPasswd { address, password } => {
            let nu = users::new_user(&address, &password, None)?;
            let aor = format!("{}@{}", nu.username, nu.domain);
            store
                .set_password(&aor, &nu.ha1_md5, &nu.ha1_sha256)
                .await
                .map_err(store_err)?;
            Ok((
                format!("password changed for {aor}"),
                Effect::UserChanged { aor, enabled: true },
            ))
        }
        AdminCommand::UserEnable { address, enabled } => {
            let aor = aor_of(&address)?;
            store.set_enabled(&aor, enabled).await.map_err(store_err)?;
            let word = if enabled { "enabled" } else { "disabled" };
            Ok((
                format!("{word} {aor}"),
                Effect::UserChanged { aor, enabled },
            ))
        }
        AdminCommand::UserImport { users } => {
            let new: Vec<NewUser> = users.into_iter().map(NewUser::from).collect();
            let n = store.import_users(new).await.map_err(store_err)?;
            Ok((format!("imported {n} users"), Effect::None))
        }
        AdminCommand::UserArchiving { address, archiving } => {
            let aor = aor_of(&address)?;
            store
                .set_archiving(&aor, archiving)
                .await
                .map_err(store_err)?;
            // The server re-reads the whole user on a change, so report whether they are
            // enabled as they are now: this change must not end their registrations.
            let enabled = store
                .get_user(&aor)
                .await
                .map_err(store_err)?
                .is_some_and(|u| u.enabled);
            Ok((
                format!("archiving {} for {aor}", archiving_word(archiving)),
                Effect::UserChanged { aor, enabled },
            ))
        }
        AdminCommand::ContactAdd {
            owner,
            contact,
            groups,
            display_name,
        } => presence_admin::contact_add(store, &owner, &contact, groups, display_name).await,
        AdminCommand::ContactList { owner } => presence_admin::contact_list(store, &owner).await,
        AdminCommand::ContactRemove { owner, contact } => {
            presence_admin::contact_remove(store, &owner, &contact).await
        }
        AdminCommand::AccessSet {
            owner,
            subject,
            level,
        } => presence_admin::access_set(store, &owner, &subject, level.as_deref()).await,
        AdminCommand::AccessList { owner } => presence_admin::access_list(store, &owner).await,
        AdminCommand::AccessPrivacy { owner, on } => {
            presence_admin::access_privacy(store, &owner, on).await
        }
        AdminCommand::PolicySet {
            user,
            max_contacts,
            max_subscriptions,
            max_prompted,
            create_conferences,
        } => {
            let limits = PolicyLimits {
                max_contacts,
                max_subscriptions,
                max_prompted,
                create_conferences,
            };
            presence_admin::policy_set(store, user.as_deref(), limits).await
        }
        AdminCommand::PolicyClear { user } => {
            presence_admin::policy_clear(store, user.as_deref()).await
        }
        AdminCommand::PolicyShow { user } => {
            presence_admin::policy_show(store, user.as_deref()).await
        }
        AdminCommand::Restore { .. } => Err(anyhow!(
            "a live restore is done by the running server (without one, `herald restore` replaces the file)"
        )),
    }
}

/// How an archiving override reads in command output: `on`, `off`, or `default` (follows
/// the server-wide setting).
fn archiving_word(archiving: Option<bool>) -> &'static str {
    match archiving {
        Some(true) => "on",
        Some(false) => "off",
        None => "default",
    }
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// Sends `cmd` to a running server, if one listens on the data directory's socket.
/// `Ok(None)`: no server there (the caller works on the store itself).
pub async fn try_remote(data_dir: &Path, cmd: &AdminCommand) -> Result<Option<AdminReply>> {
    let path = socket_path(data_dir);
    let Ok(stream) = UnixStream::connect(&path).await else {
        return Ok(None);
    };
    let (r, mut w) = stream.into_split();
    let mut line = serde_json::to_string(cmd)?;
    line.push('\n');
    w.write_all(line.as_bytes())
        .await
        .context("writing to the admin socket")?;
    w.shutdown().await.ok();
    let mut reply = String::new();
    BufReader::new(r)
        .read_line(&mut reply)
        .await
        .context("reading from the admin socket")?;
    let reply: AdminReply =
        serde_json::from_str(&reply).context("bad reply from the server's admin socket")?;
    Ok(Some(reply))
}

/// Serves the admin socket. `on_effect` applies changes to the running server;
/// `restore` runs [`AdminCommand::Restore`].
pub async fn serve<F, Fut>(
    data_dir: &Path,
    store: SharedStore,
    on_effect: F,
    restore: Restorer,
) -> Result<()>
where
    F: Fn(Effect) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let path = socket_path(data_dir);
    // A socket file left by a killed server is stale: nobody answers on it.
    if path.exists() && UnixStream::connect(&path).await.is_err() {
        std::fs::remove_file(&path).ok();
    }
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).ok();
    }
    let on_effect = Arc::new(on_effect);
    loop {
        let (stream, _) = listener.accept().await.context("admin socket accept")?;
        let store = store.clone();
        let on_effect = on_effect.clone();
        let restore = restore.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(r);
            if reader.read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match serde_json::from_str::<AdminCommand>(&line) {
                Err(e) => AdminReply {
                    ok: false,
                    output: format!("bad admin command: {e}"),
                },
                Ok(AdminCommand::Restore { file }) => match restore(file).await {
                    Ok(output) => AdminReply { ok: true, output },
                    Err(e) => AdminReply {
                        ok: false,
                        output: format!("{e:#}"),
                    },
                },
                Ok(cmd) => match execute(&store, cmd).await {
                    Ok((output, effect)) => {
                        on_effect(effect).await;
                        AdminReply { ok: true, output }
                    }
                    Err(e) => AdminReply {
                        ok: false,
                        output: format!("{e:#}"),
                    },
                },
            };
            if let Ok(mut s) = serde_json::to_string(&reply) {
                s.push('\n');
                let _ = w.write_all(s.as_bytes()).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_store::SqliteStore;

    async fn store_with_alice() -> SharedStore {
        let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let add = AdminCommand::UserAdd {
            address: "alice@example.com".to_owned(),
            password: "pw".to_owned(),
            display_name: Some("Alice".to_owned()),
        };
        execute(&store, add).await.unwrap();
        store
    }

    async fn set_archiving(
        store: &SharedStore,
        address: &str,
        archiving: Option<bool>,
    ) -> Result<(String, Effect)> {
        let cmd = AdminCommand::UserArchiving {
            address: address.to_owned(),
            archiving,
        };
        execute(store, cmd).await
    }

    async fn user_list(store: &SharedStore) -> String {
        execute(store, AdminCommand::UserList).await.unwrap().0
    }

    #[tokio::test]
    async fn archiving_override_is_stored_listed_and_reported_to_the_server() {
        let store = store_with_alice().await;
        assert_eq!(
            user_list(&store).await,
            "alice@example.com\tenabled\tarchiving=default\tAlice"
        );

        let (output, effect) = set_archiving(&store, "sip:alice@EXAMPLE.com", Some(true))
            .await
            .unwrap();
        assert_eq!(output, "archiving on for alice@example.com");
        assert!(
            matches!(&effect, Effect::UserChanged { aor, enabled: true } if aor == "alice@example.com"),
            "the running server re-reads the user without ending their registrations"
        );
        let alice = store.get_user("alice@example.com").await.unwrap().unwrap();
        assert_eq!(alice.archiving, Some(true));
        assert!(user_list(&store).await.contains("\tarchiving=on\t"));

        set_archiving(&store, "alice@example.com", Some(false))
            .await
            .unwrap();
        assert!(user_list(&store).await.contains("\tarchiving=off\t"));
        let (output, _) = set_archiving(&store, "alice@example.com", None)
            .await
            .unwrap();
        assert_eq!(output, "archiving default for alice@example.com");
        assert!(store.archiving_overrides().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn archiving_change_for_a_disabled_user_keeps_them_disabled() {
        let store = store_with_alice().await;
        let disable = AdminCommand::UserEnable {
            address: "alice@example.com".to_owned(),
            enabled: false,
        };
        execute(&store, disable).await.unwrap();
        let (_, effect) = set_archiving(&store, "alice@example.com", Some(true))
            .await
            .unwrap();
        assert!(matches!(effect, Effect::UserChanged { enabled: false, .. }));
    }

    #[tokio::test]
    async fn archiving_for_an_unknown_user_or_address_fails() {
        let store = store_with_alice().await;
        let err = set_archiving(&store, "bob@example.com", Some(true))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("no such user"), "{err:#}");
        assert!(
            set_archiving(&store, "bob", Some(true)).await.is_err(),
            "not an address"
        );
    }

    #[tokio::test]
    async fn conf_user_names_are_refused_by_add_and_import() {
        let store = store_with_alice().await;
        let reserved = "user names beginning with conf- are reserved for conference URIs";
        let add = AdminCommand::UserAdd {
            address: "sip:Conf-Room@example.com".to_owned(),
            password: "pw".to_owned(),
            display_name: None,
        };
        let err = execute(&store, add).await.err().unwrap();
        assert!(err.to_string().contains(reserved), "{err:#}");

        let users = ["bob@example.com", "conf-1@example.com"]
            .into_iter()
            .map(|address| ImportedUser::from(users::new_user(address, "pw", None).unwrap()))
            .collect();
        let err = execute(&store, AdminCommand::UserImport { users })
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains(reserved), "{err:#}");
        assert_eq!(
            user_list(&store).await,
            "alice@example.com\tenabled\tarchiving=default\tAlice",
            "nothing was added"
        );
    }

    #[test]
    fn archiving_command_crosses_the_admin_socket_intact() {
        let cmd = AdminCommand::UserArchiving {
            address: "alice@example.com".to_owned(),
            archiving: None,
        };
        let line = serde_json::to_string(&cmd).unwrap();
        match serde_json::from_str::<AdminCommand>(&line).unwrap() {
            AdminCommand::UserArchiving { address, archiving } => {
                assert_eq!(address, "alice@example.com");
                assert_eq!(archiving, None);
            }
            other => panic!("decoded as {other:?}"),
        }
    }
}
