//! The subscriptions the server is notifier for (RFC 6665): their dialogs, what they
//! watch, and the indexes that find them by dialog, by watched user, by watcher, by
//! connection and by expiry. Pure state; the service drives it.
use crate::event::Event;
use herald_pidf::AccessLevel;
use herald_pidf::watcherinfo::WatcherEvent;
use herald_proxy::Hop;
use herald_transport::FlowId;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

pub type SubId = u64;

/// The dialog a subscription lives in, from the notifier's side.
#[derive(Clone, Debug)]
pub struct Dialog {
    pub call_id: String,
    /// Our tag (To tag of the SUBSCRIBE's 200, From tag of our NOTIFYs).
    pub local_tag: String,
    /// The SUBSCRIBE's To URI, as written: the From of our NOTIFYs.
    pub local_uri: String,
    /// The user part of our Contact (the watched user, or `presence`).
    pub contact_user: String,
    /// The SUBSCRIBE's From header value, tag included: the To of our NOTIFYs.
    pub remote: String,
    /// The watcher's Contact URI: the Request-URI of our NOTIFYs.
    pub remote_target: String,
    /// Record-Route of the SUBSCRIBE, in order: the Route of our NOTIFYs.
    pub route_set: Vec<String>,
    /// Our last CSeq.
    pub cseq: u32,
    /// The watcher's last CSeq (a refresh must go up).
    pub remote_cseq: u32,
}

/// One contact of a resource-list subscription.
#[derive(Clone, Debug)]
pub struct ListResource {
    pub aor: String,
    /// The contact's name as the list owner set it.
    pub name: Option<String>,
    /// RLMI instance id.
    pub instance: String,
    /// What the list owner may see of this contact; None: not one of our users.
    pub level: Option<AccessLevel>,
    /// Hash of the last document sent for this resource.
    pub last_hash: Option<u64>,
    /// Changed since the last NOTIFY.
    pub dirty: bool,
}

#[derive(Clone, Debug)]
pub enum Kind {
    /// Watching one user's presence at an access level.
    Presence {
        presentity: String,
        level: AccessLevel,
    },
    /// Watching who watches `owner`.
    Winfo {
        owner: String,
        /// Watchers that left since the last NOTIFY, reported once as terminated.
        ended: Vec<(String, SubId, WatcherEvent)>,
    },
    /// `owner`'s contact list (RFC 4662).
    List {
        owner: String,
        uri: String,
        resources: Vec<ListResource>,
    },
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: SubId,
    /// The authenticated user who subscribed.
    pub watcher: String,
    pub event: Event,
    pub kind: Kind,
    pub dialog: Dialog,
    /// Where NOTIFYs go: the flow (or UDP address) the SUBSCRIBE came over.
    pub hop: Hop,
    pub created: Instant,
    pub expires_at: Instant,
    /// Something changed since the last NOTIFY.
    pub dirty: bool,
    /// The next NOTIFY carries full state (initial, refresh, list changed).
    pub full_state: bool,
    /// A notifier task is running for it (at most one: NOTIFYs leave in CSeq order).
    pub running: bool,
    /// The next NOTIFY is the last, with this reason.
    pub ending: Option<&'static str>,
    /// Hash of the last presence document sent.
    pub last_hash: Option<u64>,
    /// Version of the last watcherinfo / RLMI document.
    pub version: u32,
}

impl Subscription {
    /// The users this subscription watches.
    pub fn watched(&self) -> Vec<&str> {
        match &self.kind {
            Kind::Presence { presentity, .. } => vec![presentity.as_str()],
            Kind::Winfo { .. } => vec![],
            Kind::List { resources, .. } => resources.iter().map(|r| r.aor.as_str()).collect(),
        }
    }

    /// Marks it for a NOTIFY; whether a notifier task must be started for it.
    pub fn touch(&mut self) -> bool {
        self.dirty = true;
        !std::mem::replace(&mut self.running, true)
    }
}

#[derive(Default)]
pub struct Subscriptions {
    subs: HashMap<SubId, Subscription>,
    by_dialog: HashMap<(String, String), SubId>,
    /// Watched user -> presence and list subscriptions watching them.
    watching: HashMap<String, Vec<SubId>>,
    /// Owner -> winfo subscriptions.
    winfo: HashMap<String, Vec<SubId>>,
    /// Owner -> list subscriptions.
    lists: HashMap<String, Vec<SubId>>,
    per_watcher: HashMap<String, u32>,
    by_flow: HashMap<FlowId, Vec<SubId>>,
    expiry: BTreeSet<(Instant, SubId)>,
    next_id: SubId,
}

fn unlink(map: &mut HashMap<String, Vec<SubId>>, key: &str, id: SubId) {
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|i| *i != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

impl Subscriptions {
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    pub fn next_id(&mut self) -> SubId {
        self.next_id += 1;
        self.next_id
    }

    /// Subscriptions `watcher` holds now.
    pub fn count_for(&self, watcher: &str) -> u32 {
        self.per_watcher.get(watcher).copied().unwrap_or(0)
    }

    pub fn insert(&mut self, sub: Subscription) {
        let id = sub.id;
        self.by_dialog.insert(
            (sub.dialog.call_id.clone(), sub.dialog.local_tag.clone()),
            id,
        );
        self.link_watched(&sub);
        match &sub.kind {
            Kind::Winfo { owner, .. } => self.winfo.entry(owner.clone()).or_default().push(id),
            Kind::List { owner, .. } => self.lists.entry(owner.clone()).or_default().push(id),
            Kind::Presence { .. } => {}
        }
        *self.per_watcher.entry(sub.watcher.clone()).or_default() += 1;
        if let Some(flow) = sub.hop.flow {
            self.by_flow.entry(flow).or_default().push(id);
        }
        self.expiry.insert((sub.expires_at, id));
        self.subs.insert(id, sub);
    }

    fn link_watched(&mut self, sub: &Subscription) {
        for aor in sub.watched() {
            self.watching
                .entry(aor.to_owned())
                .or_default()
                .push(sub.id);
        }
    }

    fn unlink_watched(&mut self, sub: &Subscription) {
        for aor in sub.watched() {
            unlink(&mut self.watching, aor, sub.id);
        }
    }

    pub fn remove(&mut self, id: SubId) -> Option<Subscription> {
        let sub = self.subs.remove(&id)?;
        self.by_dialog
            .remove(&(sub.dialog.call_id.clone(), sub.dialog.local_tag.clone()));
        self.unlink_watched(&sub);
        match &sub.kind {
            Kind::Winfo { owner, .. } => unlink(&mut self.winfo, owner, id),
            Kind::List { owner, .. } => unlink(&mut self.lists, owner, id),
            Kind::Presence { .. } => {}
        }
        if let Some(n) = self.per_watcher.get_mut(&sub.watcher) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_watcher.remove(&sub.watcher);
            }
        }
        if let Some(flow) = sub.hop.flow
            && let Some(ids) = self.by_flow.get_mut(&flow)
        {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_flow.remove(&flow);
            }
        }
        self.expiry.remove(&(sub.expires_at, id));
        Some(sub)
    }

    pub fn get(&self, id: SubId) -> Option<&Subscription> {
        self.subs.get(&id)
    }

    pub fn get_mut(&mut self, id: SubId) -> Option<&mut Subscription> {
        self.subs.get_mut(&id)
    }

    pub fn find_dialog(&self, call_id: &str, local_tag: &str) -> Option<SubId> {
        self.by_dialog
            .get(&(call_id.to_owned(), local_tag.to_owned()))
            .copied()
    }

    /// Moves a subscription's expiry (a refresh).
    pub fn set_expiry(&mut self, id: SubId, at: Instant) {
        if let Some(sub) = self.subs.get_mut(&id) {
            self.expiry.remove(&(sub.expires_at, id));
            sub.expires_at = at;
            self.expiry.insert((at, id));
        }
    }

    /// Moves a subscription to the connection its latest request came over.
    pub fn set_hop(&mut self, id: SubId, hop: Hop) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        if let Some(old) = sub.hop.flow
            && let Some(ids) = self.by_flow.get_mut(&old)
        {
            ids.retain(|i| *i != id);
        }
        sub.hop = hop;
        if let Some(flow) = hop.flow {
            self.by_flow.entry(flow).or_default().push(id);
        }
    }

    /// Replaces the resources of a list subscription (the owner's list changed).
    pub fn set_resources(&mut self, id: SubId, resources: Vec<ListResource>) {
        let Some(mut sub) = self.subs.remove(&id) else {
            return;
        };
        self.unlink_watched(&sub);
        if let Kind::List { resources: r, .. } = &mut sub.kind {
            *r = resources;
        }
        self.link_watched(&sub);
        self.subs.insert(id, sub);
    }

    /// Subscriptions whose time is up at `now`, not yet ending.
    pub fn expired(&self, now: Instant) -> Vec<SubId> {
        self.expiry
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .filter(|id| self.subs.get(id).is_some_and(|s| s.ending.is_none()))
            .collect()
    }

    pub fn watching(&self, aor: &str) -> &[SubId] {
        self.watching.get(aor).map_or(&[], Vec::as_slice)
    }

    pub fn winfo_of(&self, owner: &str) -> &[SubId] {
        self.winfo.get(owner).map_or(&[], Vec::as_slice)
    }

    pub fn lists_of(&self, owner: &str) -> &[SubId] {
        self.lists.get(owner).map_or(&[], Vec::as_slice)
    }

    pub fn on_flow(&self, flow: FlowId) -> Vec<SubId> {
        self.by_flow.get(&flow).cloned().unwrap_or_default()
    }

    /// Subscriptions held by `watcher`.
    pub fn held_by(&self, watcher: &str) -> Vec<SubId> {
        if self.count_for(watcher) == 0 {
            return Vec::new();
        }
        self.subs
            .values()
            .filter(|s| s.watcher == watcher)
            .map(|s| s.id)
            .collect()
    }
}
