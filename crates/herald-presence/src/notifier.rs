//! Sending NOTIFYs. One task per subscription while it has something to send, so
//! NOTIFYs of one dialog never overlap (each waits for the previous one's answer, and
//! CSeq goes up in sending order); after a NOTIFY the task waits the notify interval
//! and sends the latest state once if anything changed meanwhile: a burst of changes
//! becomes at most one NOTIFY per interval.
use crate::documents::{self, ListItem, RenderedItem, Views};
use crate::notify::{self, Body, NotifyParts, SubState, Template};
use crate::service::{PresenceService, State};
use crate::subscriptions::{Dialog, Kind, SubId, Subscription};
use herald_pidf::AccessLevel;
use herald_pidf::watcherinfo::{Watcher, WatcherEvent, WatcherStatus};
use herald_proxy::{Hop, Sent};
use herald_sip::Uri;
use herald_transport::{Target, Transport};
use std::sync::Arc;
use std::time::Instant;

/// What to send, taken from the state under the lock; rendered outside it.
enum Content {
    Presence {
        aggregate: Arc<herald_pidf::Aggregate>,
        views: Arc<Views>,
        aor: String,
        level: AccessLevel,
        last_hash: Option<u64>,
    },
    Winfo(Body),
    List {
        uri: String,
        version: u32,
        items: Vec<(ListItem, Option<u64>)>,
    },
}

struct Job {
    /// The dialog, for a NOTIFY too large for UDP (sent over TCP with its own
    /// Contact); only taken for UDP subscriptions.
    dialog: Option<Dialog>,
    /// The NOTIFY as sent over the subscription's hop; None when the watcher's Contact
    /// is not a URI we can send to.
    template: Option<Template>,
    cseq: u32,
    event: String,
    state: SubState,
    hop: Hop,
    full_state: bool,
    ending: bool,
    content: Content,
}

impl PresenceService {
    /// Starts a notifier task for each subscription (each was marked running by
    /// [`Subscription::touch`]).
    pub(crate) fn start_notifiers(self: &Arc<Self>, ids: Vec<SubId>) {
        for id in ids {
            let me = self.clone();
            tokio::spawn(async move { me.run_notifier(id).await });
        }
    }

    async fn run_notifier(self: Arc<Self>, id: SubId) {
        loop {
            let Some(mut job) = self.next_job(id) else {
                return;
            };
            let ending = job.ending;
            let Some((body, hashes)) = self.render(&mut job) else {
                // Nothing the watcher would see changed.
                continue;
            };
            let sent = self.send(&job, body).await;
            let delivered = matches!(&sent, Sent::Answered(r) if r.status < 300);
            if !delivered {
                tracing::debug!(
                    sub = id,
                    outcome = ?sent_status(&sent),
                    "NOTIFY not accepted: subscription ended"
                );
            }
            {
                let mut st = self.state.lock();
                if ending || !delivered {
                    // An ending subscription was reported to watcher-info subscribers
                    // when it began to end; one that failed is reported now.
                    if let Some(sub) = st.subs.remove(id)
                        && !ending
                    {
                        let starts = self.watcher_left(&mut st, &sub, WatcherEvent::Giveup);
                        drop(st);
                        self.start_notifiers(starts);
                    }
                    return;
                }
                if let Some(sub) = st.subs.get_mut(id) {
                    record_hashes(sub, hashes);
                }
            }
            tokio::time::sleep(self.config.notify_interval).await;
        }
    }

    /// Takes what the next NOTIFY must say, or ends the task when there is nothing.
    fn next_job(&self, id: SubId) -> Option<Job> {
        let mut st = self.state.lock();
        let (dirty, winfo_owner) = {
            let sub = st.subs.get(id)?;
            let owner = match &sub.kind {
                Kind::Winfo { owner, .. } => Some(owner.clone()),
                _ => None,
            };
            (sub.dirty, owner)
        };
        if !dirty {
            if let Some(sub) = st.subs.get_mut(id) {
                sub.running = false;
            }
            return None;
        }
        let winfo = winfo_owner.map(|owner| self.winfo_watchers(&st, &owner));
        let offline = self.offline();
        let views = match st.subs.get(id).map(|s| &s.kind) {
            Some(Kind::Presence { presentity, .. }) => {
                let presentity = presentity.clone();
                Some(Self::views_of(&mut st, &presentity))
            }
            _ => None,
        };
        let aggregates = {
            let sub = st.subs.get(id)?;
            match &sub.kind {
                Kind::Presence { presentity, .. } => vec![self.aggregate_of(&st, presentity)],
                Kind::List { resources, .. } => resources
                    .iter()
                    .map(|r| self.aggregate_of(&st, &r.aor))
                    .collect(),
                Kind::Winfo { .. } => vec![],
            }
        };
        let sub = st.subs.get_mut(id)?;
        sub.dirty = false;
        sub.dialog.cseq += 1;
        let full_state = std::mem::take(&mut sub.full_state);
        let ending = sub.ending.is_some();
        let now = Instant::now();
        let state = match sub.ending {
            Some(reason) => SubState::Terminated { reason },
            None => SubState::Active {
                expires: u32::try_from(sub.expires_at.saturating_duration_since(now).as_secs())
                    .unwrap_or(u32::MAX),
            },
        };
        let content = match &mut sub.kind {
            Kind::Presence { presentity, level } => Content::Presence {
                aggregate: aggregates.first().cloned().unwrap_or(offline),
                views: views.unwrap_or_default(),
                aor: presentity.clone(),
                level: *level,
                last_hash: if full_state || ending {
                    None
                } else {
                    sub.last_hash
                },
            },
            Kind::Winfo { owner, ended } => {
                sub.version += 1;
                let mut doc = documents::winfo_doc(owner, sub.version);
                for w in winfo.into_iter().flatten() {
                    doc = doc.with_watcher(w);
                }
                for (watcher, wid, event) in ended.drain(..) {
                    doc = doc.with_watcher(Watcher::new(
                        format!("{wid:x}"),
                        documents::sip_uri(&watcher),
                        WatcherStatus::Terminated,
                        event,
                    ));
                }
                Content::Winfo(documents::watcherinfo(&doc))
            }
            Kind::List { uri, resources, .. } => {
                sub.version += 1;
                let items = resources
                    .iter_mut()
                    .zip(aggregates)
                    .filter(|(r, _)| full_state || r.dirty)
                    .map(|(r, aggregate)| {
                        r.dirty = false;
                        let last = if full_state { None } else { r.last_hash };
                        (
                            ListItem {
                                aor: r.aor.clone(),
                                name: r.name.clone(),
                                instance: r.instance.clone(),
                                level: r.level,
                                aggregate,
                            },
                            last,
                        )
                    })
                    .collect();
                Content::List {
                    uri: uri.clone(),
                    version: sub.version,
                    items,
                }
            }
        };
        let eventlist = matches!(sub.kind, Kind::List { .. });
        // Written per NOTIFY, not kept with the subscription: kept, it cost about
        // 2.7 KiB of RSS per subscription (100 000 subscriptions: +270 MiB) for no
        // CPU gain the benchmark could tell from noise.
        let contact = self.contact_uri(&sub.dialog.contact_user, sub.hop.transport, sub.hop.remote);
        let template = Template::new(
            &sub.dialog,
            &contact,
            sub.event.header_value(),
            &self.product,
            eventlist,
        );
        let udp = sub.hop.transport == Transport::Udp;
        Some(Job {
            dialog: udp.then(|| sub.dialog.clone()),
            template,
            cseq: sub.dialog.cseq,
            event: if udp {
                sub.event.header_value()
            } else {
                String::new()
            },
            state,
            hop: sub.hop,
            full_state,
            ending,
            content,
        })
    }

    /// The body to send and the hashes to remember; None when it would repeat what the
    /// watcher already has.
    fn render(&self, job: &mut Job) -> Option<(Body, Vec<(String, u64)>)> {
        match &mut job.content {
            Content::Presence {
                aggregate,
                views,
                aor,
                level,
                last_hash,
            } => {
                let rendered = views.presence(aggregate, aor, *level);
                if *last_hash == Some(rendered.hash) {
                    return None;
                }
                Some((rendered.body, vec![(aor.clone(), rendered.hash)]))
            }
            Content::Winfo(body) => Some((body.clone(), vec![])),
            Content::List {
                uri,
                version,
                items,
            } => {
                let forced = job.full_state || job.ending;
                let rendered: Vec<RenderedItem> = std::mem::take(items)
                    .into_iter()
                    .map(|(item, last)| (documents::render_item(item), last))
                    .filter(|(r, last)| forced || Some(r.hash) != *last)
                    .map(|(r, _)| r)
                    .collect();
                if rendered.is_empty() && !forced {
                    return None;
                }
                let hashes = rendered
                    .iter()
                    .map(|r| (r.item.aor.clone(), r.hash))
                    .collect();
                match documents::list(
                    uri,
                    self.domains.primary(),
                    *version,
                    job.full_state,
                    &rendered,
                ) {
                    Ok(body) => Some((body, hashes)),
                    Err(e) => {
                        tracing::warn!(error = %e, "resource list NOTIFY could not be built");
                        None
                    }
                }
            }
        }
    }

    async fn send(&self, job: &Job, body: Body) -> Sent {
        let large = body.bytes.len() + 800 > self.config.udp_notify_max;
        let eventlist = matches!(job.content, Content::List { .. });
        // Too large for a datagram (RFC 3261 §18.1.1): over TCP to the watcher's
        // contact address, and over UDP only if no connection can be made.
        if job.hop.transport == Transport::Udp
            && large
            && let Some(dialog) = &job.dialog
            && let Some(addr) = tcp_address(&dialog.remote_target, &job.hop)
            && let Some(req) = notify::build(NotifyParts {
                dialog,
                cseq: job.cseq,
                event: job.event.clone(),
                state: job.state,
                contact: self.contact_uri(&dialog.contact_user, Transport::Tcp, addr),
                user_agent: &self.product,
                eventlist,
                body: Some(body.clone()),
            })
        {
            let target = Target::Addr {
                transport: Transport::Tcp,
                addr,
            };
            let sent = self
                .proxy
                .send_request(req, target, Transport::Tcp, addr)
                .await;
            if matches!(sent, Sent::Answered(_)) {
                return sent;
            }
        }
        if !self.proxy.hop_alive(&job.hop) {
            return Sent::Failed;
        }
        match &job.template {
            Some(template) => {
                let req = template.notify(job.cseq, job.state, Some(body));
                self.proxy.send_to_hop(req, &job.hop).await
            }
            None => Sent::Failed,
        }
    }

    /// The current watchers of `owner`, for a watcher-info document: active when the
    /// owner knows them (a rule or their contact list), pending when not (someone to
    /// prompt about: at most `max_prompted` are listed), terminated/rejected when
    /// blocked.
    fn winfo_watchers(&self, st: &State, owner: &str) -> Vec<Watcher> {
        let rules = st.rules.get(owner).cloned().unwrap_or_default();
        let now = Instant::now();
        let mut pending = 0u32;
        let mut out = Vec::new();
        for id in st.subs.watching(owner) {
            let Some(sub) = st.subs.get(*id) else {
                continue;
            };
            if sub.ending.is_some() {
                continue;
            }
            let level = match &sub.kind {
                Kind::Presence { level, .. } => Some(*level),
                Kind::List { resources, .. } => resources
                    .iter()
                    .find(|r| r.aor == owner)
                    .and_then(|r| r.level),
                Kind::Winfo { .. } => None,
            };
            let Some(level) = level else { continue };
            let (status, event) = if level == AccessLevel::Blocked {
                (WatcherStatus::Terminated, WatcherEvent::Rejected)
            } else if sub.watcher != owner && !rules.knows(&sub.watcher) {
                (WatcherStatus::Pending, WatcherEvent::Subscribe)
            } else {
                (WatcherStatus::Active, WatcherEvent::Approved)
            };
            if status == WatcherStatus::Pending {
                pending += 1;
                if pending > rules.limits.max_prompted {
                    continue;
                }
            }
            let mut w = Watcher::new(
                format!("{id:x}"),
                documents::sip_uri(&sub.watcher),
                status,
                event,
            );
            w.expiration = Some(sub.expires_at.saturating_duration_since(now).as_secs());
            w.duration_subscribed = Some(now.saturating_duration_since(sub.created).as_secs());
            out.push(w);
        }
        out
    }

    /// Makes the subscription's next NOTIFY its last (with `reason`), and tells the
    /// watched users' watcher-info subscribers at once. Returns the notifier tasks to
    /// start.
    pub(crate) fn end(
        &self,
        st: &mut State,
        id: SubId,
        reason: &'static str,
        event: WatcherEvent,
    ) -> Vec<SubId> {
        let Some(sub) = st.subs.get_mut(id) else {
            return Vec::new();
        };
        if sub.ending.is_some() {
            return Vec::new();
        }
        sub.ending = Some(reason);
        let mut starts = Vec::new();
        if sub.touch() {
            starts.push(id);
        }
        if let Some(sub) = st.subs.get(id).cloned() {
            starts.extend(self.watcher_left(st, &sub, event));
        }
        starts
    }

    /// A subscription ended: the watched users' watcher-info subscribers hear of it.
    pub(crate) fn watcher_left(
        &self,
        st: &mut State,
        sub: &Subscription,
        event: WatcherEvent,
    ) -> Vec<SubId> {
        let mut starts = Vec::new();
        for owner in sub.watched() {
            for wid in st.subs.winfo_of(owner).to_vec() {
                if let Some(w) = st.subs.get_mut(wid) {
                    if let Kind::Winfo { ended, .. } = &mut w.kind {
                        ended.push((sub.watcher.clone(), sub.id, event));
                    }
                    if w.touch() {
                        starts.push(wid);
                    }
                }
            }
        }
        starts
    }

    /// A new or changed watcher of the users `sub` watches: their watcher-info
    /// subscribers get a NOTIFY.
    pub(crate) fn watcher_changed(&self, st: &mut State, watched: &[String]) -> Vec<SubId> {
        let mut starts = Vec::new();
        for owner in watched {
            for wid in st.subs.winfo_of(owner).to_vec() {
                if let Some(w) = st.subs.get_mut(wid)
                    && w.touch()
                {
                    starts.push(wid);
                }
            }
        }
        starts
    }
}

fn record_hashes(sub: &mut Subscription, hashes: Vec<(String, u64)>) {
    match &mut sub.kind {
        Kind::Presence { .. } => {
            if let Some((_, h)) = hashes.first() {
                sub.last_hash = Some(*h);
            }
        }
        Kind::List { resources, .. } => {
            for (aor, h) in hashes {
                if let Some(r) = resources.iter_mut().find(|r| r.aor == aor) {
                    r.last_hash = Some(h);
                }
            }
        }
        Kind::Winfo { .. } => {}
    }
}

fn sent_status(sent: &Sent) -> Option<u16> {
    match sent {
        Sent::Answered(r) => Some(r.status),
        Sent::Failed => None,
    }
}

/// Where to open a TCP connection to the watcher: its Contact's host when that is an
/// address, else the address its SUBSCRIBE came from.
fn tcp_address(remote_target: &str, hop: &Hop) -> Option<std::net::SocketAddr> {
    let uri = Uri::parse_str(remote_target).ok()?;
    let port = uri.port.unwrap_or(5060);
    let ip = match uri.host {
        herald_sip::Host::Ip(ip) => ip,
        herald_sip::Host::Domain(_) => hop.remote.ip(),
    };
    Some(std::net::SocketAddr::new(ip, port))
}
