//! Presence administration: contact lists, access levels, privacy mode, and user policies
//! (presence limits and who may create conferences).
//!
//! These run inside [`admin::execute`](crate::admin::execute), so they work the same on the
//! store directly and through a running server's admin socket; every change that can alter
//! what watchers see reports [`Effect::PresenceRulesChanged`] so a running server
//! re-evaluates it.
use crate::admin::{AdminCommand, Effect, aor_of, store_err};
use crate::cli::{AccessCommand, ContactsCommand, PolicyCommand, YesNo};
use anyhow::{Result, anyhow};
use herald_store::{
    AccessSubject, ContactEntry, NewContact, PolicyLimits, SharedStore, StoreError,
};

/// The owner named by a change of the server-wide policy, which concerns every user.
pub const EVERY_OWNER: &str = "*";

impl From<ContactsCommand> for AdminCommand {
    fn from(cmd: ContactsCommand) -> Self {
        match cmd {
            ContactsCommand::Add {
                owner,
                contact,
                groups,
                name,
            } => AdminCommand::ContactAdd {
                owner,
                contact,
                groups,
                display_name: name,
            },
            ContactsCommand::List { owner } => AdminCommand::ContactList { owner },
            ContactsCommand::Remove { owner, contact } => {
                AdminCommand::ContactRemove { owner, contact }
            }
        }
    }
}

impl From<AccessCommand> for AdminCommand {
    fn from(cmd: AccessCommand) -> Self {
        match cmd {
            AccessCommand::Set {
                owner,
                subject,
                level,
            } => AdminCommand::AccessSet {
                owner,
                subject,
                level: Some(level),
            },
            AccessCommand::Clear { owner, subject } => AdminCommand::AccessSet {
                owner,
                subject,
                level: None,
            },
            AccessCommand::List { owner } => AdminCommand::AccessList { owner },
            AccessCommand::Privacy { owner, setting } => AdminCommand::AccessPrivacy {
                owner,
                on: setting.is_on(),
            },
        }
    }
}

impl From<PolicyCommand> for AdminCommand {
    fn from(cmd: PolicyCommand) -> Self {
        match cmd {
            PolicyCommand::Set(args) => AdminCommand::PolicySet {
                user: args.user,
                max_contacts: args.max_contacts,
                max_subscriptions: args.max_subscriptions,
                max_prompted: args.max_prompted,
                create_conferences: args.create_conferences.map(YesNo::is_yes),
            },
            PolicyCommand::Clear { user } => AdminCommand::PolicyClear { user },
            PolicyCommand::Show { user } => AdminCommand::PolicyShow { user },
        }
    }
}

/// Adds or updates an entry of `owner`'s list, within `owner`'s contact limit.
pub async fn contact_add(
    store: &SharedStore,
    owner: &str,
    contact: &str,
    groups: Vec<String>,
    display_name: Option<String>,
) -> Result<(String, Effect)> {
    let owner = aor_of(owner)?;
    let contact = aor_of(contact)?;
    let limit = store
        .effective_policy(&owner)
        .await
        .map_err(store_err)?
        .max_contacts;
    let listed = store
        .contacts_of(&owner)
        .await
        .map_err(store_err)?
        .iter()
        .any(|entry| entry.contact == contact);
    let new = NewContact {
        contact,
        display_name,
        groups,
    };
    let entry = store
        .add_contact(&owner, new, limit)
        .await
        .map_err(|e| match e {
            StoreError::LimitReached { recipient, limit } => anyhow!(
                "{recipient} already has {limit} contacts (the limit); raise it with \
                 `herald policy set`"
            ),
            other => store_err(other),
        })?;
    let done = if listed { "updated" } else { "added" };
    let name = entry.display_name.as_deref().unwrap_or("none");
    let groups = match entry.groups.as_slice() {
        [] => "none".to_owned(),
        groups => groups.join(", "),
    };
    Ok((
        format!(
            "{done} {} {} the contacts of {owner} (name: {name}; groups: {groups})",
            entry.contact,
            if listed { "in" } else { "to" }
        ),
        Effect::PresenceRulesChanged { owner },
    ))
}

/// `owner`'s contacts, one `address<TAB>name<TAB>group,group` line each.
pub async fn contact_list(store: &SharedStore, owner: &str) -> Result<(String, Effect)> {
    let owner = aor_of(owner)?;
    let entries = store.contacts_of(&owner).await.map_err(store_err)?;
    let lines: Vec<String> = entries.iter().map(contact_line).collect();
    Ok((lines.join("\n"), Effect::None))
}

fn contact_line(entry: &ContactEntry) -> String {
    format!(
        "{}\t{}\t{}",
        entry.contact,
        entry.display_name.as_deref().unwrap_or_default(),
        entry.groups.join(",")
    )
}

pub async fn contact_remove(
    store: &SharedStore,
    owner: &str,
    contact: &str,
) -> Result<(String, Effect)> {
    let owner = aor_of(owner)?;
    let contact = aor_of(contact)?;
    store
        .remove_contact(&owner, &contact)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(key) if key == contact && key != owner => {
                anyhow!("{contact} is not on the contact list of {owner}")
            }
            other => store_err(other),
        })?;
    Ok((
        format!("removed {contact} from the contacts of {owner}"),
        Effect::PresenceRulesChanged { owner },
    ))
}

/// Gives `subject` an access level to `owner`'s presence, or (`None`) removes it.
pub async fn access_set(
    store: &SharedStore,
    owner: &str,
    subject: &str,
    level: Option<&str>,
) -> Result<(String, Effect)> {
    let owner = aor_of(owner)?;
    let subject = access_subject(subject)?;
    store
        .set_access(&owner, &subject, level)
        .await
        .map_err(store_err)?;
    let output = match level {
        Some(level) => format!(
            "{subject} has access level {} to the presence of {owner}",
            level.trim().to_ascii_lowercase()
        ),
        None => format!("{subject} has the default access to the presence of {owner}"),
    };
    Ok((output, Effect::PresenceRulesChanged { owner }))
}

/// A subject as typed: an address like the user commands take, or a domain.
fn access_subject(subject: &str) -> Result<AccessSubject> {
    let subject = if subject.contains('@') {
        aor_of(subject)?
    } else {
        subject.trim().to_owned()
    };
    AccessSubject::parse(&subject).map_err(store_err)
}

/// `owner`'s access levels, one `subject<TAB>level` line each, then the privacy mode.
pub async fn access_list(store: &SharedStore, owner: &str) -> Result<(String, Effect)> {
    let owner = aor_of(owner)?;
    let rules = store.access_rules(&owner).await.map_err(store_err)?;
    let privacy = store.privacy_mode(&owner).await.map_err(store_err)?;
    let mut lines: Vec<String> = rules
        .iter()
        .map(|rule| format!("{}\t{}", rule.subject, rule.level))
        .collect();
    lines.push(format!("privacy-mode\t{}", on_off(privacy)));
    Ok((lines.join("\n"), Effect::None))
}

pub async fn access_privacy(
    store: &SharedStore,
    owner: &str,
    on: bool,
) -> Result<(String, Effect)> {
    let owner = aor_of(owner)?;
    store
        .set_privacy_mode(&owner, on)
        .await
        .map_err(store_err)?;
    Ok((
        format!("privacy mode {} for {owner}", on_off(on)),
        Effect::PresenceRulesChanged { owner },
    ))
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Sets the settings given in `limits` for `user` (or server-wide), keeping the others.
pub async fn policy_set(
    store: &SharedStore,
    user: Option<&str>,
    limits: PolicyLimits,
) -> Result<(String, Effect)> {
    let user = user.map(aor_of).transpose()?;
    let stored = store.policy(user.as_deref()).await.map_err(store_err)?;
    store
        .set_policy(user.as_deref(), limits.or(stored))
        .await
        .map_err(store_err)?;
    let done = match &user {
        Some(user) => format!("policy set for {user}"),
        None => "server-wide policy set".to_owned(),
    };
    let presence_changed = !PolicyLimits {
        create_conferences: None,
        ..limits
    }
    .is_empty();
    policy_changed(store, user, done, presence_changed).await
}

/// Drops the stored policy of `user` (or the server-wide one).
pub async fn policy_clear(store: &SharedStore, user: Option<&str>) -> Result<(String, Effect)> {
    let user = user.map(aor_of).transpose()?;
    store
        .set_policy(user.as_deref(), PolicyLimits::default())
        .await
        .map_err(store_err)?;
    let done = match &user {
        Some(user) => format!("policy of {user} cleared"),
        None => "server-wide policy cleared".to_owned(),
    };
    policy_changed(store, user, done, true).await
}

/// `done`, then the policy now in force; the change concerns `user`, or everyone. Only a
/// change of presence limits makes a running server re-evaluate presence: the conference
/// service reads who may create conferences when one is created.
async fn policy_changed(
    store: &SharedStore,
    user: Option<String>,
    done: String,
    presence_changed: bool,
) -> Result<(String, Effect)> {
    let in_force = policy_in_force(store, user.as_deref()).await?;
    let effect = if presence_changed {
        Effect::PresenceRulesChanged {
            owner: user.unwrap_or_else(|| EVERY_OWNER.to_owned()),
        }
    } else {
        Effect::None
    };
    Ok((format!("{done}\n{in_force}"), effect))
}

pub async fn policy_show(store: &SharedStore, user: Option<&str>) -> Result<(String, Effect)> {
    let user = user.map(aor_of).transpose()?;
    Ok((policy_in_force(store, user.as_deref()).await?, Effect::None))
}

/// One `setting<TAB>value<TAB>source` line per setting: the value in force for `user` (or
/// server-wide) and whether it comes from the user's policy, the server-wide one or the
/// built-in default.
async fn policy_in_force(store: &SharedStore, user: Option<&str>) -> Result<String> {
    let server = store.policy(None).await.map_err(store_err)?;
    let own = match user {
        Some(user) => store.policy(Some(user)).await.map_err(store_err)?,
        None => PolicyLimits::default(),
    };
    let default = PolicyLimits::DEFAULT;
    let limits = [
        (
            "max-contacts",
            own.max_contacts,
            server.max_contacts,
            default.max_contacts,
        ),
        (
            "max-subscriptions",
            own.max_subscriptions,
            server.max_subscriptions,
            default.max_subscriptions,
        ),
        (
            "max-prompted",
            own.max_prompted,
            server.max_prompted,
            default.max_prompted,
        ),
    ];
    let mut lines: Vec<String> = limits
        .into_iter()
        .map(|(name, own, server, default)| setting_line(name, own, server, default))
        .collect();
    lines.push(setting_line(
        "create-conferences",
        own.create_conferences.map(yes_no),
        server.create_conferences.map(yes_no),
        yes_no(default.create_conferences),
    ));
    Ok(lines.join("\n"))
}

/// `name<TAB>value<TAB>source`: the user's value, else the server's, else the default.
fn setting_line<T: std::fmt::Display>(
    name: &str,
    own: Option<T>,
    server: Option<T>,
    default: T,
) -> String {
    let (value, source) = match (own, server) {
        (Some(value), _) => (value, "user"),
        (None, Some(value)) => (value, "server"),
        (None, None) => (default, "default"),
    };
    format!("{name}\t{value}\t{source}")
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::execute;
    use crate::cli::{OnOff, PolicySetArgs};
    use herald_store::SqliteStore;
    use std::sync::Arc;

    const ALICE: &str = "alice@example.com";

    /// An in-memory store with the users alice and bob at example.com.
    async fn store_with_users() -> SharedStore {
        let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        for address in [ALICE, "bob@example.com"] {
            let add = AdminCommand::UserAdd {
                address: address.to_owned(),
                password: "pw".to_owned(),
                display_name: None,
            };
            execute(&store, add).await.unwrap();
        }
        store
    }

    async fn run(store: &SharedStore, cmd: AdminCommand) -> (String, Effect) {
        execute(store, cmd).await.unwrap()
    }

    async fn output(store: &SharedStore, cmd: AdminCommand) -> String {
        run(store, cmd).await.0
    }

    async fn error(store: &SharedStore, cmd: AdminCommand) -> String {
        format!("{:#}", execute(store, cmd).await.err().unwrap())
    }

    fn add(owner: &str, contact: &str, groups: &[&str], name: Option<&str>) -> AdminCommand {
        AdminCommand::ContactAdd {
            owner: owner.to_owned(),
            contact: contact.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            display_name: name.map(str::to_owned),
        }
    }

    fn list(owner: &str) -> AdminCommand {
        AdminCommand::ContactList {
            owner: owner.to_owned(),
        }
    }

    fn access_set(subject: &str, level: Option<&str>) -> AdminCommand {
        AdminCommand::AccessSet {
            owner: ALICE.to_owned(),
            subject: subject.to_owned(),
            level: level.map(str::to_owned),
        }
    }

    fn access_list() -> AdminCommand {
        AdminCommand::AccessList {
            owner: ALICE.to_owned(),
        }
    }

    fn policy_set(
        user: Option<&str>,
        contacts: Option<u32>,
        subscriptions: Option<u32>,
    ) -> AdminCommand {
        AdminCommand::PolicySet {
            user: user.map(str::to_owned),
            max_contacts: contacts,
            max_subscriptions: subscriptions,
            max_prompted: None,
            create_conferences: None,
        }
    }

    fn conferences_set(user: Option<&str>, allowed: bool) -> AdminCommand {
        AdminCommand::PolicySet {
            user: user.map(str::to_owned),
            max_contacts: None,
            max_subscriptions: None,
            max_prompted: None,
            create_conferences: Some(allowed),
        }
    }

    fn policy_show(user: Option<&str>) -> AdminCommand {
        AdminCommand::PolicyShow {
            user: user.map(str::to_owned),
        }
    }

    /// The owner a change reports to the running server.
    fn changed_owner(effect: Effect) -> String {
        match effect {
            Effect::PresenceRulesChanged { owner } => owner,
            other => panic!("expected PresenceRulesChanged, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn contacts_are_added_updated_listed_and_removed() {
        let store = store_with_users().await;
        let (out, effect) = run(
            &store,
            add(
                "sip:alice@EXAMPLE.com",
                "sip:bob@Example.COM",
                &["Team", "Friends"],
                Some("Bob B."),
            ),
        )
        .await;
        assert_eq!(
            out,
            "added bob@example.com to the contacts of alice@example.com \
             (name: Bob B.; groups: Friends, Team)"
        );
        assert_eq!(changed_owner(effect), ALICE);
        let out = output(&store, add(ALICE, "carol@partner.org", &[], None)).await;
        assert_eq!(
            out,
            "added carol@partner.org to the contacts of alice@example.com \
             (name: none; groups: none)"
        );
        let out = output(&store, add(ALICE, "bob@example.com", &["Extra"], None)).await;
        assert_eq!(
            out,
            "updated bob@example.com in the contacts of alice@example.com \
             (name: Bob B.; groups: Extra, Friends, Team)"
        );

        let (out, effect) = run(&store, list("alice@Example.com")).await;
        assert_eq!(
            out,
            "bob@example.com\tBob B.\tExtra,Friends,Team\ncarol@partner.org\t\t"
        );
        assert!(matches!(effect, Effect::None));

        let remove = AdminCommand::ContactRemove {
            owner: ALICE.to_owned(),
            contact: "sip:bob@EXAMPLE.com".to_owned(),
        };
        let (out, effect) = run(&store, remove).await;
        assert_eq!(
            out,
            "removed bob@example.com from the contacts of alice@example.com"
        );
        assert_eq!(changed_owner(effect), ALICE);
        assert_eq!(output(&store, list(ALICE)).await, "carol@partner.org\t\t");
        assert_eq!(output(&store, list("bob@example.com")).await, "");
    }

    #[tokio::test]
    async fn contact_errors_say_what_is_wrong() {
        let store = store_with_users().await;
        let remove = |owner: &str| AdminCommand::ContactRemove {
            owner: owner.to_owned(),
            contact: "zed@example.com".to_owned(),
        };
        assert_eq!(
            error(&store, remove(ALICE)).await,
            "zed@example.com is not on the contact list of alice@example.com"
        );
        assert_eq!(
            error(&store, remove("nobody@example.com")).await,
            "no such user nobody@example.com"
        );
        assert_eq!(
            error(&store, list("nobody@example.com")).await,
            "no such user nobody@example.com"
        );
        let err = error(&store, add(ALICE, "sip:alice@example.com", &[], None)).await;
        assert!(err.contains("own contact list"), "{err}");
        let err = error(&store, add(ALICE, "bob", &[], None)).await;
        assert!(err.contains("not an address"), "{err}");
        let err = error(&store, add(ALICE, "bob@example.com", &[""], None)).await;
        assert!(err.contains("group name"), "{err}");
        assert_eq!(output(&store, list(ALICE)).await, "", "nothing was added");
    }

    #[tokio::test]
    async fn adding_contacts_stops_at_the_owners_effective_limit() {
        let store = store_with_users().await;
        // The server-wide limit applies to everyone without their own.
        output(&store, policy_set(None, Some(1), None)).await;
        output(&store, add(ALICE, "bob@example.com", &[], None)).await;
        assert_eq!(
            error(&store, add(ALICE, "carol@example.com", &[], None)).await,
            "alice@example.com already has 1 contacts (the limit); raise it with \
             `herald policy set`"
        );
        // Updating a contact already listed is not limited.
        output(&store, add(ALICE, "bob@example.com", &["Team"], None)).await;
        // A user's own limit counts before the server-wide one.
        output(&store, policy_set(Some(ALICE), Some(2), None)).await;
        output(&store, add(ALICE, "carol@example.com", &[], None)).await;
        let err = error(&store, add(ALICE, "dave@example.com", &[], None)).await;
        assert!(
            err.starts_with("alice@example.com already has 2 contacts"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn access_levels_and_privacy_mode_are_set_listed_and_cleared() {
        let store = store_with_users().await;
        assert_eq!(output(&store, access_list()).await, "privacy-mode\toff");

        let (out, effect) = run(&store, access_set("sip:bob@EXAMPLE.com", Some("friends"))).await;
        assert_eq!(
            out,
            "bob@example.com has access level friends to the presence of alice@example.com"
        );
        assert_eq!(changed_owner(effect), ALICE);
        output(&store, access_set("Partner.ORG", Some("colleagues"))).await;
        output(&store, access_set("carol@partner.org", Some("blocked"))).await;
        let privacy = AdminCommand::AccessPrivacy {
            owner: "alice@EXAMPLE.com".to_owned(),
            on: true,
        };
        let (out, effect) = run(&store, privacy).await;
        assert_eq!(out, "privacy mode on for alice@example.com");
        assert_eq!(changed_owner(effect), ALICE);
        let (out, effect) = run(&store, access_list()).await;
        assert_eq!(
            out,
            "bob@example.com\tfriends\ncarol@partner.org\tblocked\npartner.org\tcolleagues\n\
             privacy-mode\ton"
        );
        assert!(matches!(effect, Effect::None));

        let (out, effect) = run(&store, access_set("partner.org", None)).await;
        assert_eq!(
            out,
            "partner.org has the default access to the presence of alice@example.com"
        );
        assert_eq!(changed_owner(effect), ALICE);
        assert_eq!(
            output(&store, access_list()).await,
            "bob@example.com\tfriends\ncarol@partner.org\tblocked\nprivacy-mode\ton"
        );
    }

    #[tokio::test]
    async fn access_errors_say_what_is_wrong() {
        let store = store_with_users().await;
        // The admin socket takes any text: the store refuses unknown levels.
        let err = error(&store, access_set("bob@example.com", Some("family"))).await;
        assert!(
            err.contains("public, colleagues, workgroup, friends, blocked"),
            "{err}"
        );
        let err = error(&store, access_set("not a domain", Some("friends"))).await;
        assert!(err.contains("invalid input"), "{err}");
        let err = error(&store, access_set("alice@example.com", Some("friends"))).await;
        assert!(err.contains("for themselves"), "{err}");
        let nobody = AdminCommand::AccessList {
            owner: "nobody@example.com".to_owned(),
        };
        assert_eq!(
            error(&store, nobody).await,
            "no such user nobody@example.com"
        );
        assert_eq!(output(&store, access_list()).await, "privacy-mode\toff");
    }

    #[tokio::test]
    async fn policy_limits_merge_show_their_source_and_clear() {
        let store = store_with_users().await;
        assert_eq!(
            output(&store, policy_show(None)).await,
            "max-contacts\t250\tdefault\nmax-subscriptions\t1000\tdefault\nmax-prompted\t200\tdefault\n\
             create-conferences\tyes\tdefault"
        );

        let (out, effect) = run(&store, policy_set(None, None, Some(50))).await;
        assert_eq!(
            out,
            "server-wide policy set\nmax-contacts\t250\tdefault\nmax-subscriptions\t50\tserver\n\
             max-prompted\t200\tdefault\ncreate-conferences\tyes\tdefault"
        );
        assert_eq!(changed_owner(effect), EVERY_OWNER);

        let (out, effect) = run(
            &store,
            policy_set(Some("sip:alice@EXAMPLE.com"), Some(20), None),
        )
        .await;
        assert!(
            out.starts_with("policy set for alice@example.com\n"),
            "{out}"
        );
        assert_eq!(changed_owner(effect), ALICE);
        // A second set keeps the limits it does not name.
        let prompted = AdminCommand::PolicySet {
            user: Some(ALICE.to_owned()),
            max_contacts: None,
            max_subscriptions: None,
            max_prompted: Some(7),
            create_conferences: None,
        };
        output(&store, prompted).await;
        assert_eq!(
            output(&store, policy_show(Some(ALICE))).await,
            "max-contacts\t20\tuser\nmax-subscriptions\t50\tserver\nmax-prompted\t7\tuser\n\
             create-conferences\tyes\tdefault"
        );
        assert_eq!(
            store.effective_policy(ALICE).await.unwrap(),
            herald_store::EffectivePolicy {
                max_contacts: 20,
                max_subscriptions: 50,
                max_prompted: 7,
                create_conferences: true,
            },
            "show agrees with what the presence service applies"
        );
        assert_eq!(
            output(&store, policy_show(Some("bob@example.com"))).await,
            "max-contacts\t250\tdefault\nmax-subscriptions\t50\tserver\nmax-prompted\t200\tdefault\n\
             create-conferences\tyes\tdefault"
        );

        let clear = AdminCommand::PolicyClear {
            user: Some(ALICE.to_owned()),
        };
        let (out, effect) = run(&store, clear).await;
        assert_eq!(
            out,
            "policy of alice@example.com cleared\nmax-contacts\t250\tdefault\n\
             max-subscriptions\t50\tserver\nmax-prompted\t200\tdefault\n\
             create-conferences\tyes\tdefault"
        );
        assert_eq!(changed_owner(effect), ALICE);
        let (out, effect) = run(&store, AdminCommand::PolicyClear { user: None }).await;
        assert!(out.starts_with("server-wide policy cleared\n"), "{out}");
        assert_eq!(changed_owner(effect), EVERY_OWNER);
        assert_eq!(store.policy(None).await.unwrap(), PolicyLimits::default());
    }

    #[tokio::test]
    async fn who_may_create_conferences_is_set_shown_and_cleared() {
        let store = store_with_users().await;
        let (out, effect) = run(&store, conferences_set(None, false)).await;
        assert_eq!(
            out,
            "server-wide policy set\nmax-contacts\t250\tdefault\nmax-subscriptions\t1000\tdefault\n\
             max-prompted\t200\tdefault\ncreate-conferences\tno\tserver"
        );
        assert!(
            matches!(effect, Effect::None),
            "presence is not re-evaluated for a conference setting: {effect:?}"
        );
        assert!(
            !store
                .effective_policy("bob@example.com")
                .await
                .unwrap()
                .create_conferences
        );

        let (out, effect) = run(&store, conferences_set(Some("sip:alice@EXAMPLE.com"), true)).await;
        assert!(out.ends_with("\ncreate-conferences\tyes\tuser"), "{out}");
        assert!(matches!(effect, Effect::None), "{effect:?}");
        assert!(
            store
                .effective_policy(ALICE)
                .await
                .unwrap()
                .create_conferences
        );

        // Limits set later keep the conference setting; with a limit, presence is re-evaluated.
        let (out, effect) = run(&store, policy_set(Some(ALICE), Some(5), None)).await;
        assert!(out.contains("\nmax-contacts\t5\tuser\n"), "{out}");
        assert!(out.ends_with("\ncreate-conferences\tyes\tuser"), "{out}");
        assert_eq!(changed_owner(effect), ALICE);

        let clear = AdminCommand::PolicyClear {
            user: Some(ALICE.to_owned()),
        };
        let (out, _) = run(&store, clear).await;
        assert!(out.ends_with("\ncreate-conferences\tno\tserver"), "{out}");
        assert!(
            !store
                .effective_policy(ALICE)
                .await
                .unwrap()
                .create_conferences
        );
    }

    #[test]
    fn a_policy_set_without_the_conference_field_keeps_it() {
        // What a CLI from before conferences sends over the admin socket.
        let line = r#"{"op":"policy_set","user":null,"max_contacts":3,"max_subscriptions":null,"max_prompted":null}"#;
        assert_eq!(
            serde_json::from_str::<AdminCommand>(line).unwrap(),
            policy_set(None, Some(3), None)
        );
    }

    #[tokio::test]
    async fn policy_errors_say_what_is_wrong() {
        let store = store_with_users().await;
        let err = error(&store, policy_set(None, Some(1001), None)).await;
        assert!(err.contains("ceiling of 1000"), "{err}");
        let err = error(&store, policy_set(Some(ALICE), None, Some(0))).await;
        assert!(err.contains("at least 1"), "{err}");
        assert_eq!(
            error(&store, policy_show(Some("nobody@example.com"))).await,
            "no such user nobody@example.com"
        );
        assert_eq!(
            error(
                &store,
                policy_set(Some("nobody@example.com"), Some(5), None)
            )
            .await,
            "no such user nobody@example.com"
        );
        assert!(
            error(&store, policy_show(Some("alice")))
                .await
                .contains("not an address")
        );
    }

    /// Every presence command, as the CLI builds it.
    fn every_presence_command() -> Vec<AdminCommand> {
        vec![
            ContactsCommand::Add {
                owner: ALICE.to_owned(),
                contact: "bob@example.com".to_owned(),
                groups: vec!["Team".to_owned(), "Friends".to_owned()],
                name: Some("Bob \"B\"".to_owned()),
            }
            .into(),
            ContactsCommand::List {
                owner: ALICE.to_owned(),
            }
            .into(),
            ContactsCommand::Remove {
                owner: ALICE.to_owned(),
                contact: "bob@example.com".to_owned(),
            }
            .into(),
            AccessCommand::Set {
                owner: ALICE.to_owned(),
                subject: "example.com".to_owned(),
                level: "workgroup".to_owned(),
            }
            .into(),
            AccessCommand::Clear {
                owner: ALICE.to_owned(),
                subject: "example.com".to_owned(),
            }
            .into(),
            AccessCommand::List {
                owner: ALICE.to_owned(),
            }
            .into(),
            AccessCommand::Privacy {
                owner: ALICE.to_owned(),
                setting: OnOff::On,
            }
            .into(),
            PolicyCommand::Set(PolicySetArgs {
                user: None,
                max_contacts: Some(1000),
                max_subscriptions: None,
                max_prompted: Some(u32::MAX),
                create_conferences: Some(YesNo::No),
            })
            .into(),
            PolicyCommand::Clear {
                user: Some(ALICE.to_owned()),
            }
            .into(),
            PolicyCommand::Show { user: None }.into(),
        ]
    }

    #[test]
    fn cli_commands_become_the_matching_admin_commands() {
        let commands = every_presence_command();
        assert_eq!(
            commands[0],
            AdminCommand::ContactAdd {
                owner: ALICE.to_owned(),
                contact: "bob@example.com".to_owned(),
                groups: vec!["Team".to_owned(), "Friends".to_owned()],
                display_name: Some("Bob \"B\"".to_owned()),
            }
        );
        assert_eq!(
            commands[4],
            AdminCommand::AccessSet {
                owner: ALICE.to_owned(),
                subject: "example.com".to_owned(),
                level: None,
            },
            "clear is a set without a level"
        );
        assert_eq!(
            commands[6],
            AdminCommand::AccessPrivacy {
                owner: ALICE.to_owned(),
                on: true,
            }
        );
        assert_eq!(
            commands[7],
            AdminCommand::PolicySet {
                user: None,
                max_contacts: Some(1000),
                max_subscriptions: None,
                max_prompted: Some(u32::MAX),
                create_conferences: Some(false),
            }
        );
    }

    #[test]
    fn every_presence_command_crosses_the_admin_socket_intact() {
        let mut ops = std::collections::HashSet::new();
        for cmd in every_presence_command() {
            let line = serde_json::to_string(&cmd).unwrap();
            assert!(!line.contains('\n'), "one JSON line: {line}");
            let op = serde_json::from_str::<serde_json::Value>(&line).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_owned();
            ops.insert(op);
            let decoded: AdminCommand = serde_json::from_str(&line).unwrap();
            assert_eq!(decoded, cmd, "{line}");
        }
        let expected = [
            "contact_add",
            "contact_list",
            "contact_remove",
            "access_set",
            "access_list",
            "access_privacy",
            "policy_set",
            "policy_clear",
            "policy_show",
        ];
        assert_eq!(ops, expected.map(str::to_owned).into_iter().collect());
    }
}
