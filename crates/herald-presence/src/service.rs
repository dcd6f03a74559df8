//! The presence service: its state, the events that change it (publications,
//! registrations, connections closing, administrators), and housekeeping.
//!
//! Publications and subscriptions are soft state in memory (clients refresh them);
//! contact lists, access rules, privacy mode and policies are durable in the store and
//! cached here per user ([`Rules`]), reloaded when an administrator changes them.
use crate::config::PresenceConfig;
use crate::documents::Views;
use crate::endpoints::aggregate_user;
use crate::publications::Publications;
use crate::rules::Rules;
use crate::subscriptions::{Kind, SubId, Subscriptions};
use herald_pidf::Aggregate;
use herald_pidf::watcherinfo::WatcherEvent;
use herald_proxy::{Proxy, Upstream};
use herald_registrar::{Authenticator, LocationService, ServedDomains};
use herald_sip::{HeaderName, Response, response};
use herald_store::SharedStore;
use herald_transport::FlowId;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct PresenceService {
    pub(crate) proxy: Arc<Proxy>,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) domains: ServedDomains,
    pub(crate) location: Arc<dyn LocationService>,
    pub(crate) store: SharedStore,
    pub(crate) config: PresenceConfig,
    pub(crate) state: Mutex<State>,
    /// To tag of our error responses.
    pub(crate) tag: String,
    pub(crate) product: String,
    offline: Arc<Aggregate>,
}

#[derive(Default)]
pub(crate) struct State {
    pub pubs: Publications,
    /// Users who are not offline.
    pub aggregates: HashMap<String, Arc<Aggregate>>,
    /// The rendered documents of those aggregates (and of offline users), made when a
    /// watcher first needs them; dropped when the aggregate changes.
    pub views: HashMap<String, Arc<Views>>,
    pub subs: Subscriptions,
    /// Users whose aggregate is being recomputed, and those asked again meanwhile.
    recomputing: HashSet<String>,
    again: HashSet<String>,
    pub rules: HashMap<String, Arc<Rules>>,
}

/// Counts for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub publications: usize,
    pub subscriptions: usize,
    pub online_users: usize,
}

impl PresenceService {
    pub fn new(
        proxy: Arc<Proxy>,
        auth: Arc<Authenticator>,
        domains: ServedDomains,
        location: Arc<dyn LocationService>,
        store: SharedStore,
        config: PresenceConfig,
        product: String,
    ) -> Arc<Self> {
        Arc::new(PresenceService {
            proxy,
            auth,
            domains,
            location,
            store,
            config,
            state: Mutex::new(State::default()),
            tag: format!("{:016x}", rand::random::<u64>()),
            product,
            offline: Arc::new(Aggregate::offline()),
        })
    }

    /// Starts housekeeping: subscriptions and publications that expire.
    pub fn start(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { break };
                me.expire(Instant::now());
            }
        });
    }

    pub fn stats(&self) -> Stats {
        let st = self.state.lock();
        Stats {
            publications: st.pubs.len(),
            subscriptions: st.subs.len(),
            online_users: st.aggregates.len(),
        }
    }

    fn expire(self: &Arc<Self>, now: Instant) {
        let (starts, changed) = {
            let mut st = self.state.lock();
            let mut starts = Vec::new();
            for id in st.subs.expired(now) {
                starts.extend(self.end(&mut st, id, "timeout", WatcherEvent::Timeout));
            }
            (starts, st.pubs.expire(now))
        };
        self.start_notifiers(starts);
        for aor in changed {
            self.endpoints_changed(&aor);
        }
    }

    /// The aggregate of a user with no endpoint.
    pub(crate) fn offline(&self) -> Arc<Aggregate> {
        self.offline.clone()
    }

    /// The aggregate of `aor` now.
    pub(crate) fn aggregate_of(&self, st: &State, aor: &str) -> Arc<Aggregate> {
        st.aggregates
            .get(aor)
            .cloned()
            .unwrap_or_else(|| self.offline.clone())
    }

    /// The rendered views of `aor`'s aggregate now (made empty when it has none yet).
    pub(crate) fn views_of(st: &mut State, aor: &str) -> Arc<Views> {
        if let Some(views) = st.views.get(aor) {
            return views.clone();
        }
        let views = Arc::new(Views::default());
        st.views.insert(aor.to_owned(), views.clone());
        views
    }

    /// `aor` registered, refreshed, unregistered or lost an endpoint, or a
    /// publication changed: its aggregate is computed again.
    pub fn endpoints_changed(self: &Arc<Self>, aor: &str) {
        let me = self.clone();
        let aor = aor.to_owned();
        tokio::spawn(async move { me.recompute(aor).await });
    }

    /// Recomputes one user's aggregate; concurrent requests for the same user collapse
    /// into one more pass, so the last pass always sees the latest bindings.
    pub(crate) async fn recompute(self: Arc<Self>, aor: String) {
        {
            let mut st = self.state.lock();
            if !st.recomputing.insert(aor.clone()) {
                st.again.insert(aor);
                return;
            }
        }
        loop {
            let bindings = self.location.lookup(&aor).await;
            let (starts, again) = {
                let mut st = self.state.lock();
                if bindings.is_empty() {
                    st.pubs.forget_withdrawn(&aor);
                }
                let aggregate =
                    aggregate_user(&bindings, st.pubs.of(&aor), st.pubs.withdrawn(&aor));
                let starts = self.set_aggregate(&mut st, &aor, aggregate);
                let again = st.again.remove(&aor);
                if !again {
                    st.recomputing.remove(&aor);
                }
                (starts, again)
            };
            self.start_notifiers(starts);
            if !again {
                break;
            }
        }
    }

    /// Stores a new aggregate; marks the watchers for a NOTIFY when it changed.
    /// Returns the subscriptions that need a notifier task started.
    fn set_aggregate(&self, st: &mut State, aor: &str, aggregate: Aggregate) -> Vec<SubId> {
        if *self.aggregate_of(st, aor) == aggregate {
            return Vec::new();
        }
        st.views.remove(aor);
        if aggregate == *self.offline {
            st.aggregates.remove(aor);
        } else {
            st.aggregates.insert(aor.to_owned(), Arc::new(aggregate));
        }
        let mut starts = Vec::new();
        for id in st.subs.watching(aor).to_vec() {
            let Some(sub) = st.subs.get_mut(id) else {
                continue;
            };
            if let Kind::List { resources, .. } = &mut sub.kind {
                for r in resources.iter_mut().filter(|r| r.aor == aor) {
                    r.dirty = true;
                }
            }
            if sub.touch() {
                starts.push(id);
            }
        }
        starts
    }

    /// A TCP/TLS connection closed: its publications end (the endpoint is gone) and its
    /// subscriptions end without a NOTIFY (nobody is there to receive it).
    pub fn flow_closed(self: &Arc<Self>, flow: FlowId) {
        let changed = {
            let mut st = self.state.lock();
            let mut starts = Vec::new();
            for id in st.subs.on_flow(flow) {
                if let Some(sub) = st.subs.remove(id)
                    && sub.ending.is_none()
                {
                    starts.extend(self.watcher_left(&mut st, &sub, WatcherEvent::Giveup));
                }
            }
            drop(st);
            self.start_notifiers(starts);
            self.state.lock().pubs.remove_flow(flow)
        };
        for aor in changed {
            self.endpoints_changed(&aor);
        }
    }

    /// An administrator changed, disabled or removed `aor`. A user who can no longer
    /// sign in loses their publications and subscriptions at once.
    pub async fn user_changed(self: &Arc<Self>, aor: &str, enabled: bool) {
        self.state.lock().rules.remove(aor);
        if enabled {
            return;
        }
        // A removed user (not merely disabled) is gone for good: those watching them
        // are told so (`noresource`) instead of seeing Offline for ever.
        let removed = matches!(self.store.get_user(aor).await, Ok(None));
        let starts = {
            let mut st = self.state.lock();
            st.pubs.remove_aor(aor);
            let mut starts = Vec::new();
            for id in st.subs.held_by(aor) {
                starts.extend(self.end(&mut st, id, "rejected", WatcherEvent::Rejected));
            }
            if removed {
                let watching: Vec<SubId> = st
                    .subs
                    .watching(aor)
                    .iter()
                    .copied()
                    .filter(|id| {
                        st.subs
                            .get(*id)
                            .is_some_and(|s| matches!(s.kind, Kind::Presence { .. }))
                    })
                    .collect();
                for id in watching {
                    starts.extend(self.end(&mut st, id, "noresource", WatcherEvent::Noresource));
                }
            }
            starts
        };
        self.start_notifiers(starts);
        self.endpoints_changed(aor);
    }

    /// Answers a request with a status of ours (and extra headers).
    pub(crate) async fn reply(
        &self,
        up: &Upstream,
        status: u16,
        reason: Option<&str>,
        headers: &[(HeaderName, String)],
    ) {
        let mut resp = response::from_request(&up.request, status, reason, Some(&self.tag));
        for (name, value) in headers {
            resp.headers.push(name.clone(), value.clone());
        }
        resp.headers.push(HeaderName::Server, self.product.clone());
        self.proxy.wire().respond(&up.key, &resp).await;
    }

    pub(crate) async fn respond(&self, up: &Upstream, mut resp: Response) {
        resp.headers.push(HeaderName::Server, self.product.clone());
        self.proxy.wire().respond(&up.key, &resp).await;
    }

    /// The seconds granted to the request's Expires within `bounds`; answers 423 with
    /// Min-Expires (and gives `None`) when it is below the minimum.
    pub(crate) async fn granted_expiry(
        &self,
        up: &Upstream,
        bounds: &crate::config::ExpiryBounds,
    ) -> Option<u32> {
        match crate::expiry::requested(&up.request, bounds) {
            Ok(granted) => Some(granted),
            Err(min) => {
                self.reply(up, 423, None, &[(HeaderName::MinExpires, min.to_string())])
                    .await;
                None
            }
        }
    }

    /// 489 Bad Event, with the packages we serve.
    pub(crate) async fn bad_event(&self, up: &Upstream, reason: Option<&str>, allow: &str) {
        self.reply(
            up,
            489,
            reason,
            &[(HeaderName::AllowEvents, allow.to_owned())],
        )
        .await;
    }

    /// Our Contact URI toward a peer reached over `transport` at `peer`, naming `user`.
    pub(crate) fn contact_uri(
        &self,
        user: &str,
        transport: herald_transport::Transport,
        peer: std::net::SocketAddr,
    ) -> String {
        format!(
            "sip:{user}@{};transport={}",
            self.proxy.sent_by(transport, peer),
            transport.as_str().to_ascii_lowercase()
        )
    }

    /// Challenges or checks the sender of an out-of-dialog SUBSCRIBE/PUBLISH (like
    /// REGISTER: 401). Some(AOR) when it is an enabled user of ours whose From is its
    /// own address; the request is answered otherwise.
    pub(crate) async fn authenticate(&self, up: &Upstream) -> Option<String> {
        match self
            .auth
            .authenticate_sender(
                &up.request,
                herald_registrar::ChallengeKind::Www,
                &self.domains,
                up.source.remote.ip(),
            )
            .await
        {
            Ok(aor) => Some(aor),
            Err(r) => {
                self.reply(up, r.status, r.reason, &r.headers).await;
                None
            }
        }
    }
}
