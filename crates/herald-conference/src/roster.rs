//! The conference event package (RFC 4575): whoever may join a conference may
//! SUBSCRIBE to its URI with `Event: conference`, and gets the full roster at once,
//! then a partial document (one user) at each join and leave, each with the next
//! version number, and a last NOTIFY when the conference ends.
use crate::conference::{RosterSub, SubState, notify_item};
use crate::id::ConfId;
use crate::outbox::{Outbox, OutboxSetup};
use crate::service::{ConferenceService, EVENT_PACKAGE, Role};
use herald_proxy::{Hop, Upstream};
use herald_registrar::ChallengeKind;
use herald_sip::{HeaderName, Request};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Expires of a roster subscription: default, least, most (seconds).
const EXPIRES_DEFAULT: u32 = 3600;
const EXPIRES_MIN: u32 = 60;
const EXPIRES_MAX: u32 = 43200;
/// NOTIFYs that may wait for one roster subscriber.
const ROSTER_QUEUE: usize = 64;

/// The Event header names the conference package.
fn is_conference_event(req: &Request) -> bool {
    let mut values = req.headers.get_all(&HeaderName::Event);
    let Some(first) = values.next() else {
        return false;
    };
    values.next().is_none()
        && first
            .as_str()
            .split(';')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case(EVENT_PACKAGE))
}

/// Expires granted, or `Err(min)` for a 423.
fn granted(req: &Request) -> Result<u32, u32> {
    match req.expires() {
        None => Ok(EXPIRES_DEFAULT),
        Some(0) => Ok(0),
        Some(s) if s < EXPIRES_MIN => Err(EXPIRES_MIN),
        Some(s) => Ok(s.min(EXPIRES_MAX)),
    }
}

impl ConferenceService {
    async fn refuse_expiry(&self, up: &Upstream, min: u32) {
        let mut resp = self.response(&up.request, 423, None);
        resp.headers.push(HeaderName::MinExpires, min.to_string());
        self.proxy.wire().respond(&up.key, &resp).await;
    }

    async fn bad_event(&self, up: &Upstream) {
        let mut resp = self.response(&up.request, 489, None);
        resp.headers.push(HeaderName::AllowEvents, EVENT_PACKAGE);
        self.proxy.wire().respond(&up.key, &resp).await;
    }

    pub(crate) async fn subscribe(self: &Arc<Self>, up: Upstream, conf: ConfId) {
        if !is_conference_event(&up.request) {
            return self.bad_event(&up).await;
        }
        if !self.state.lock().conferences.contains_key(&conf) {
            return self
                .reply(&up, 404, Some("Not Found (no such conference)"))
                .await;
        }
        let expires = match granted(&up.request) {
            Ok(e) => e,
            Err(min) => return self.refuse_expiry(&up, min).await,
        };
        let Some(watcher) = self.authenticate(&up, ChallengeKind::Www).await else {
            return;
        };
        let Some(dialog) = self.new_dialog(&up).await else {
            return;
        };
        let to = dialog.local_header();
        let hop = Hop::from_source(&up.source);
        let id = self.next_id();
        let key = dialog.id();
        let dialog = Arc::new(Mutex::new(dialog));
        let weak = Arc::downgrade(self);
        let added = {
            let mut state = self.state.lock();
            match state.conferences.get_mut(&conf) {
                None => Err((404, "Not Found (the conference ended)")),
                Some(c) if !self.may_join(c, &watcher) => {
                    Err((403, "Forbidden (not invited to this conference)"))
                }
                Some(c) => {
                    let outbox = Outbox::start(OutboxSetup {
                        proxy: self.proxy.clone(),
                        dialog: dialog.clone(),
                        hop,
                        contact: Self::focus_contact(&c.uri),
                        user_agent: self.product.clone(),
                        capacity: ROSTER_QUEUE,
                        on_failure: Box::new(move || {
                            if let Some(me) = weak.upgrade() {
                                me.end_roster(conf, id, None);
                            }
                        }),
                    });
                    let doc = c.full_document(1, self.config.max_participants);
                    let first = notify_item(&doc, SubState::for_expires(expires));
                    let uri = c.uri.clone();
                    let fetch = if expires == 0 {
                        // A fetch: one NOTIFY, no subscription.
                        Some(outbox)
                    } else {
                        c.roster.push(RosterSub {
                            id,
                            watcher: watcher.clone(),
                            dialog,
                            hop,
                            outbox,
                            expires_at: Instant::now() + Duration::from_secs(expires.into()),
                            version: 1,
                        });
                        state.dialogs.insert(key, (conf, Role::Roster(id)));
                        None
                    };
                    Ok((uri, first, fetch))
                }
            }
        };
        let (uri, first, fetch) = match added {
            Ok(a) => a,
            Err((status, reason)) => return self.reply(&up, status, Some(reason)).await,
        };
        let mut resp = self.response(&up.request, 200, None);
        resp.headers.set(HeaderName::To, to);
        resp.headers.push(HeaderName::Expires, expires.to_string());
        resp.headers
            .push(HeaderName::Contact, Self::focus_contact(&uri));
        self.proxy.wire().respond(&up.key, &resp).await;
        // The first NOTIFY after the 200 (RFC 6665 lets it overtake, but why make the
        // subscriber cope).
        match fetch {
            Some(outbox) => {
                outbox.push(first);
                outbox.finish();
            }
            None => {
                let state = self.state.lock();
                if let Some(sub) = state
                    .conferences
                    .get(&conf)
                    .and_then(|c| c.roster.iter().find(|s| s.id == id))
                {
                    sub.outbox.push(first);
                }
            }
        }
    }

    /// A refresh (full state again) or, with Expires 0, the end of a subscription.
    pub(crate) async fn resubscribe(self: &Arc<Self>, up: Upstream, conf: ConfId, sub: u64) {
        if !is_conference_event(&up.request) {
            return self.bad_event(&up).await;
        }
        let expires = match granted(&up.request) {
            Ok(e) => e,
            Err(min) => return self.refuse_expiry(&up, min).await,
        };
        let refreshed = {
            let mut state = self.state.lock();
            let max = self.config.max_participants;
            state.conferences.get_mut(&conf).and_then(|c| {
                let at = c.roster.iter().position(|s| s.id == sub)?;
                let version = c.roster.get(at).map(|s| s.version + 1).unwrap_or(1);
                let doc = c.full_document(version, max);
                let s = c.roster.get_mut(at)?;
                s.version = version;
                s.dialog.lock().refresh_target(&up.request);
                s.expires_at = Instant::now() + Duration::from_secs(expires.into());
                Some((
                    c.uri.clone(),
                    notify_item(&doc, SubState::for_expires(expires)),
                ))
            })
        };
        let Some((uri, notify)) = refreshed else {
            return self.reply(&up, 481, None).await;
        };
        let mut resp = self.response(&up.request, 200, None);
        resp.headers.push(HeaderName::Expires, expires.to_string());
        resp.headers
            .push(HeaderName::Contact, Self::focus_contact(&uri));
        self.proxy.wire().respond(&up.key, &resp).await;
        {
            let state = self.state.lock();
            if let Some(s) = state
                .conferences
                .get(&conf)
                .and_then(|c| c.roster.iter().find(|s| s.id == sub))
            {
                s.outbox.push(notify);
            }
        }
        if expires == 0 {
            self.end_roster(conf, sub, None);
        }
    }

    /// Ends a roster subscription; with a reason, a last NOTIFY says so first.
    pub(crate) fn end_roster(&self, conf: ConfId, sub: u64, reason: Option<&'static str>) {
        let mut state = self.state.lock();
        let Some(c) = state.conferences.get_mut(&conf) else {
            return;
        };
        let Some(mut s) = c.remove_roster(sub) else {
            return;
        };
        if let Some(reason) = reason {
            s.version += 1;
            let doc = c.full_document(s.version, self.config.max_participants);
            s.outbox
                .push(notify_item(&doc, SubState::Terminated { reason }));
        }
        let key = s.dialog.lock().id();
        s.outbox.finish();
        state.dialogs.remove(&key);
    }
}
