//! The conference focus: requests to `conf-factory` and `conf-<id>` URIs come here,
//! out of dialog (INVITE to create or join, SUBSCRIBE to the roster) and within the
//! dialogs the focus made (MESSAGE, BYE, REFER, re-INVITE, roster refreshes).
use crate::conference::{Conference, Participant, RosterChange, RosterSub};
use crate::config::ConferenceConfig;
use crate::id::{ConfId, FocusTarget};
use herald_conference_docs::conference_info::DisconnectionMethod;
use herald_im::archive::Archiver;
use herald_proxy::{Proxy, Upstream};
use herald_registrar::{Authenticator, ChallengeKind, LocationService, ServedDomains};
use herald_sip::{HeaderName, Method, Request, Response, Scheme, SipStr, Uri, response};
use herald_store::SharedStore;
use herald_transport::FlowId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Methods the focus answers within its dialogs.
pub(crate) const ALLOW: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, REFER, SUBSCRIBE, NOTIFY, INFO, UPDATE";
/// The event package of the roster.
pub const EVENT_PACKAGE: &str = "conference";

/// A dialog of the focus: (Call-ID, our tag).
pub(crate) type DialogKey = (String, String);

/// Which of a conference's dialogs a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Participant(u64),
    Roster(u64),
}

#[derive(Default)]
pub(crate) struct State {
    pub conferences: HashMap<ConfId, Conference>,
    pub dialogs: HashMap<DialogKey, (ConfId, Role)>,
}

/// Counters for monitoring and the load tool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub conferences: usize,
    pub participants: usize,
    pub roster_subscriptions: usize,
    /// Messages accepted from participants since start.
    pub messages: u64,
    /// Copies queued to other participants since start.
    pub fanned_out: u64,
    /// Participants dropped because their queue overflowed while they left a request
    /// unanswered.
    pub dropped_slow: u64,
    /// Messages answered 503 because the server was behind (a queue full of copies for
    /// a participant that keeps answering).
    pub deferred: u64,
}

pub struct ConferenceService {
    pub(crate) proxy: Arc<Proxy>,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) domains: ServedDomains,
    pub(crate) location: Arc<dyn LocationService>,
    pub(crate) store: SharedStore,
    pub(crate) archiver: Arc<Archiver>,
    pub(crate) config: ConferenceConfig,
    pub(crate) product: SipStr,
    pub(crate) state: Mutex<State>,
    /// To tag of answers outside any dialog of ours.
    tag: String,
    next_id: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) fanned_out: AtomicU64,
    pub(crate) dropped_slow: AtomicU64,
    pub(crate) deferred: AtomicU64,
}

/// Milliseconds since the Unix epoch (monitoring records).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl ConferenceService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        proxy: Arc<Proxy>,
        auth: Arc<Authenticator>,
        domains: ServedDomains,
        location: Arc<dyn LocationService>,
        store: SharedStore,
        archiver: Arc<Archiver>,
        config: ConferenceConfig,
        product: String,
    ) -> Arc<Self> {
        Arc::new(ConferenceService {
            proxy,
            auth,
            domains,
            location,
            store,
            archiver,
            config,
            product: SipStr::from(product),
            state: Mutex::new(State::default()),
            tag: format!("{:016x}", rand::random::<u64>()),
            next_id: AtomicU64::new(1),
            messages: AtomicU64::new(0),
            fanned_out: AtomicU64::new(0),
            dropped_slow: AtomicU64::new(0),
            deferred: AtomicU64::new(0),
        })
    }

    /// Closes the monitoring records a crash left open, and starts the housekeeping
    /// (roster expiry, idle conferences).
    pub async fn start(self: &Arc<Self>) {
        match self
            .store
            .close_open_conferences(now_ms(), "server restart")
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "conference records closed after a restart"),
            Err(e) => tracing::warn!(error = %e, "cannot close conference records left open"),
        }
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { break };
                me.housekeeping(Instant::now());
            }
        });
    }

    /// Whether `uri` names the focus (`conf-...` at one of our domains).
    pub fn owns(&self, uri: &Uri) -> bool {
        matches!(uri.scheme, Scheme::Sip | Scheme::Sips)
            && uri
                .user
                .as_ref()
                .is_some_and(|u| FocusTarget::of_user(u.as_str()).is_some())
            && self.domains.resolve(&uri.host).is_some()
    }

    pub fn stats(&self) -> Stats {
        let state = self.state.lock();
        Stats {
            conferences: state.conferences.len(),
            participants: state
                .conferences
                .values()
                .map(|c| c.participants.len())
                .sum(),
            roster_subscriptions: state.conferences.values().map(|c| c.roster.len()).sum(),
            messages: self.messages.load(Ordering::Relaxed),
            fanned_out: self.fanned_out.load(Ordering::Relaxed),
            dropped_slow: self.dropped_slow.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A request to the focus. Those within one of our dialogs are handled before
    /// this returns (so a participant's messages fan out in the order they came);
    /// the caller spawns out-of-dialog ones, which wait on authentication.
    pub async fn request(self: &Arc<Self>, up: Upstream) {
        let to_tag = up
            .request
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_owned));
        match to_tag {
            Some(tag) => self.in_dialog(up, tag).await,
            None => self.out_of_dialog(up).await,
        }
    }

    async fn out_of_dialog(self: &Arc<Self>, up: Upstream) {
        let user = up.request.uri.user.as_ref().map(|u| u.as_str().to_owned());
        let target = user.as_deref().and_then(FocusTarget::of_user);
        let Some(domain) = self
            .domains
            .resolve(&up.request.uri.host)
            .map(str::to_owned)
        else {
            return self.reply(&up, 404, None).await;
        };
        match (up.request.method.clone(), target) {
            (_, None) | (_, Some(FocusTarget::Unknown)) => {
                self.reply(&up, 404, Some("Not Found (no such conference)"))
                    .await
            }
            (Method::Invite, Some(target)) => self.invite(up, target, &domain).await,
            (Method::Subscribe, Some(FocusTarget::Conference(id))) => self.subscribe(up, id).await,
            (Method::Options, _) => {
                let mut resp = self.response(&up.request, 200, None);
                resp.headers.push(HeaderName::Allow, ALLOW);
                resp.headers.push(HeaderName::AllowEvents, EVENT_PACKAGE);
                self.proxy.wire().respond(&up.key, &resp).await;
            }
            (Method::Message, _) => {
                self.reply(
                    &up,
                    403,
                    Some("Forbidden (join the conference to send it messages)"),
                )
                .await
            }
            _ => {
                let mut resp = self.response(&up.request, 405, None);
                resp.headers
                    .push(HeaderName::Allow, "INVITE, SUBSCRIBE, OPTIONS");
                self.proxy.wire().respond(&up.key, &resp).await;
            }
        }
    }

    async fn in_dialog(self: &Arc<Self>, up: Upstream, tag: String) {
        let Some(call_id) = up.request.call_id().map(str::to_owned) else {
            return self.reply(&up, 400, Some("Bad Request (Call-ID)")).await;
        };
        let key = (call_id, tag);
        let found = self.state.lock().dialogs.get(&key).copied();
        let Some((conf, role)) = found else {
            return self
                .reply(&up, 481, Some("Call/Transaction Does Not Exist"))
                .await;
        };
        let Ok(cseq) = up.request.cseq() else {
            return self.reply(&up, 400, Some("Bad Request (CSeq)")).await;
        };
        if !self.remote_cseq_ok(conf, role, cseq.seq) {
            return self
                .reply(&up, 500, Some("Server Internal Error (CSeq out of order)"))
                .await;
        }
        match (role, up.request.method.clone()) {
            (Role::Participant(p), Method::Message) => self.message(up, conf, p).await,
            (Role::Participant(p), Method::Bye) => {
                self.reply(&up, 200, None).await;
                self.leave(conf, p, DisconnectionMethod::Departed, false);
            }
            (Role::Participant(p), Method::Refer) => self.refer(up, conf, p).await,
            (Role::Participant(p), Method::Invite | Method::Update) => {
                self.refresh_session(up, conf, p).await
            }
            (Role::Participant(_), Method::Info | Method::Options) => {
                self.reply(&up, 200, None).await
            }
            (Role::Roster(s), Method::Subscribe) => self.resubscribe(up, conf, s).await,
            _ => {
                let mut resp = self.response(&up.request, 405, None);
                resp.headers.push(HeaderName::Allow, ALLOW);
                self.proxy.wire().respond(&up.key, &resp).await;
            }
        }
    }

    /// Checks the peer's CSeq against the dialog (RFC 3261 §12.2.2).
    fn remote_cseq_ok(&self, conf: ConfId, role: Role, cseq: u32) -> bool {
        let state = self.state.lock();
        let Some(c) = state.conferences.get(&conf) else {
            return false;
        };
        let dialog = match role {
            Role::Participant(p) => c.participant(p).map(|p| p.dialog.clone()),
            Role::Roster(s) => c
                .roster
                .iter()
                .find(|r| r.id == s)
                .map(|r| r.dialog.clone()),
        };
        dialog.is_some_and(|d| d.lock().remote_request(cseq) == herald_dialog::RemoteCseq::New)
    }

    /// The ACK of one of our 2xx (it matched no transaction).
    pub fn ack(&self, req: &Request) {
        let (Some(call_id), Ok(to)) = (req.call_id(), req.to()) else {
            return;
        };
        let Some(tag) = to.tag() else { return };
        let mut state = self.state.lock();
        let key = (call_id.to_owned(), tag.to_owned());
        let Some(&(conf, Role::Participant(p))) = state.dialogs.get(&key) else {
            return;
        };
        if let Some(p) = state
            .conferences
            .get_mut(&conf)
            .and_then(|c| c.participant_mut(p))
        {
            p.confirmed = true;
        }
    }

    /// A TCP/TLS connection closed: its participants left (nothing can reach them),
    /// its roster subscriptions ended.
    pub fn flow_closed(self: &Arc<Self>, flow: FlowId) {
        let on_flow = |hop: &herald_proxy::Hop| hop.flow == Some(flow);
        for (conf, role) in self.dialogs_where(|p| on_flow(&p.hop), |s| on_flow(&s.hop)) {
            match role {
                Role::Participant(p) => self.leave(conf, p, DisconnectionMethod::Failed, false),
                Role::Roster(s) => self.end_roster(conf, s, None),
            }
        }
    }

    /// A user was removed or disabled: out of every conference, roster watching ended.
    pub fn user_removed(self: &Arc<Self>, aor: &str) {
        for (conf, role) in self.dialogs_where(|p| p.aor == aor, |s| s.watcher == aor) {
            match role {
                Role::Participant(p) => self.leave(conf, p, DisconnectionMethod::Booted, true),
                Role::Roster(s) => self.end_roster(conf, s, Some("rejected")),
            }
        }
    }

    /// The participants and roster subscriptions, in every conference, that match.
    fn dialogs_where(
        &self,
        participant: impl Fn(&Participant) -> bool,
        sub: impl Fn(&RosterSub) -> bool,
    ) -> Vec<(ConfId, Role)> {
        let state = self.state.lock();
        let mut found = Vec::new();
        for (id, c) in &state.conferences {
            let participants = c.participants.iter().filter(|p| participant(p));
            found.extend(participants.map(|p| (*id, Role::Participant(p.id))));
            let subs = c.roster.iter().filter(|s| sub(s));
            found.extend(subs.map(|s| (*id, Role::Roster(s.id))));
        }
        found
    }

    /// A participant is gone: out of the conference, its roster watchers told; the
    /// conference ends with its last participant. With `bye`, a BYE ends its dialog.
    pub(crate) fn leave(
        self: &Arc<Self>,
        conf: ConfId,
        id: u64,
        how: DisconnectionMethod,
        bye: bool,
    ) {
        let mut state = self.state.lock();
        let Some(c) = state.conferences.get_mut(&conf) else {
            return;
        };
        let Some(p) = c.remove_participant(id) else {
            return;
        };
        p.outbox.abort(bye);
        c.last_activity = Instant::now();
        let (endpoint, key) = {
            let d = p.dialog.lock();
            (d.remote_target.clone(), d.id())
        };
        tracing::debug!(conference = %c.uri, aor = %p.aor, ?how, "participant left");
        let change = RosterChange::Left {
            aor: p.aor.clone(),
            endpoint,
            how,
        };
        let empty = c.participants.is_empty();
        let dropped = c.notify_roster(&change, |s| remaining(s.expires_at));
        state.dialogs.remove(&key);
        forget_roster_keys(&mut state, conf, &dropped);
        drop(state);
        if empty {
            self.end(conf, "last participant left");
        }
    }

    /// Ends a conference: every participant gets BYE, every roster watcher a last
    /// NOTIFY; the monitoring record is closed.
    pub(crate) fn end(self: &Arc<Self>, conf: ConfId, reason: &'static str) {
        let Some(mut c) = self.state.lock().conferences.remove(&conf) else {
            return;
        };
        c.ended = true;
        let mut keys = Vec::new();
        for p in c.participants.drain(..) {
            p.outbox.abort(true);
            keys.push(p.dialog.lock().id());
        }
        for mut sub in c.roster.drain(..).collect::<Vec<_>>() {
            sub.version += 1;
            let doc = c.full_document(sub.version, self.config.max_participants);
            sub.outbox.push(crate::conference::notify_item(
                &doc,
                crate::conference::SubState::Terminated {
                    reason: "noresource",
                },
            ));
            keys.push(sub.dialog.lock().id());
            sub.outbox.finish();
        }
        {
            let mut state = self.state.lock();
            for k in keys {
                state.dialogs.remove(&k);
            }
        }
        tracing::info!(conference = %c.uri, messages = c.messages, reason, "conference ended");
        let store = self.store.clone();
        let (uri, messages) = (c.uri.clone(), c.messages);
        tokio::spawn(async move {
            if let Err(e) = store
                .conference_ended(crate::conference::address(&uri), now_ms(), messages, reason)
                .await
            {
                tracing::warn!(conference = %uri, error = %e, "cannot close the monitoring record");
            }
        });
    }

    fn housekeeping(self: &Arc<Self>, now: Instant) {
        let mut idle = Vec::new();
        let mut expired = Vec::new();
        let mut unconfirmed = Vec::new();
        {
            let state = self.state.lock();
            for (id, c) in &state.conferences {
                if now.duration_since(c.last_activity) >= self.config.idle_timeout {
                    idle.push(*id);
                }
                for s in c.roster.iter().filter(|s| s.expires_at <= now) {
                    expired.push((*id, s.id));
                }
                for p in c.participants.iter().filter(|p| !p.confirmed) {
                    if now.duration_since(p.since) >= crate::join::ACK_WAIT {
                        unconfirmed.push((*id, p.id));
                    }
                }
            }
        }
        for (conf, s) in expired {
            self.end_roster(conf, s, Some("timeout"));
        }
        for (conf, p) in unconfirmed {
            tracing::debug!("participant never ACKed our 2xx: dropped");
            self.leave(conf, p, DisconnectionMethod::Failed, true);
        }
        for conf in idle {
            self.end(conf, "idle timeout");
        }
    }

    pub(crate) fn response(&self, req: &Request, status: u16, reason: Option<&str>) -> Response {
        let mut resp = response::from_request(req, status, reason, Some(&self.tag));
        resp.headers.push(HeaderName::Server, self.product.clone());
        resp
    }

    pub(crate) async fn reply(&self, up: &Upstream, status: u16, reason: Option<&str>) {
        let resp = self.response(&up.request, status, reason);
        self.proxy.wire().respond(&up.key, &resp).await;
    }

    /// Challenges or checks the sender (like IM: 407 for INVITE, 401 for SUBSCRIBE);
    /// `None` when it was answered.
    pub(crate) async fn authenticate(&self, up: &Upstream, kind: ChallengeKind) -> Option<String> {
        match self
            .auth
            .authenticate_sender(&up.request, kind, &self.domains, up.source.remote.ip())
            .await
        {
            Ok(aor) => Some(aor),
            Err(r) => {
                let mut resp = self.response(&up.request, r.status, r.reason);
                for (name, value) in r.headers {
                    resp.headers.push(name, value);
                }
                self.proxy.wire().respond(&up.key, &resp).await;
                None
            }
        }
    }

    /// The dialog our 2xx to `up` makes, with a fresh tag of ours; `None` when the
    /// request cannot make one (answered 400 with the reason).
    pub(crate) async fn new_dialog(&self, up: &Upstream) -> Option<herald_dialog::Dialog> {
        let tag = format!("{:016x}", rand::random::<u64>());
        match herald_dialog::Dialog::as_uas(&up.request, &tag) {
            Ok(d) => Some(d),
            Err(e) => {
                let reason = format!("Bad Request ({e})");
                self.reply(up, 400, Some(&reason)).await;
                None
            }
        }
    }

    /// Whether `aor` may join (or watch) `c`: invited, or of its domain when the
    /// conference is open to the domain.
    pub(crate) fn may_join(&self, c: &Conference, aor: &str) -> bool {
        c.invited.contains(aor)
            || c.participants.iter().any(|p| p.aor == aor)
            || (self.config.open_to_domain
                && aor
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&c.domain)))
    }
}

/// Seconds left until `at`.
pub(crate) fn remaining(at: Instant) -> u32 {
    at.saturating_duration_since(Instant::now()).as_secs() as u32
}

/// Removes the dialog keys of roster subscriptions that were dropped.
pub(crate) fn forget_roster_keys(state: &mut State, conf: ConfId, dropped: &[u64]) {
    if dropped.is_empty() {
        return;
    }
    state.dialogs.retain(|_, (c, role)| {
        !(*c == conf && matches!(role, Role::Roster(s) if dropped.contains(s)))
    });
}
