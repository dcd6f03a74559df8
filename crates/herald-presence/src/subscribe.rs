//! SUBSCRIBE (RFC 6665): new subscriptions to a user's presence (RFC 3856), to who
//! watches oneself (RFC 3857) and to one's contact list (RFC 4662), and refreshes
//! and unsubscriptions within their dialogs.
use crate::documents::PIDF;
use crate::event::{ALLOW_EVENTS, Event, Package, accepts, lists_option};
use crate::service::PresenceService;
use crate::subscriptions::{Dialog, Kind, ListResource, SubId, Subscription};
use herald_pidf::watcherinfo::WatcherEvent;
use herald_proxy::{Hop, Upstream};
use herald_sip::{ContactValue, HeaderName, Request, response};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The suffix of a contact-list URI: `sip:alice+contacts@example.com` is Alice's list.
/// User names with `+` are refused when users are created, so it cannot clash.
pub const LIST_SUFFIX: &str = "+contacts";

/// What a new SUBSCRIBE is for, once judged acceptable.
enum Target {
    Presence(String),
    Winfo(String),
    List(String),
}

/// The user part of our Contact: the user the SUBSCRIBE is addressed to, when it is
/// plain enough to write back unescaped (else a neutral name).
fn contact_user(to: &herald_sip::Uri) -> String {
    to.user_unescaped()
        .and_then(|u| String::from_utf8(u.into_owned()).ok())
        .filter(|u| {
            !u.is_empty()
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()+".contains(c))
        })
        .unwrap_or_else(|| "presence".to_owned())
}

/// The parts of a SUBSCRIBE that make the dialog.
fn dialog_of(req: &Request) -> Result<Dialog, &'static str> {
    let call_id = req.call_id().ok_or("Call-ID")?.to_owned();
    let from = req.from().map_err(|_| "From")?;
    if from.tag().is_none() {
        return Err("From tag");
    }
    let remote = req
        .headers
        .get(&HeaderName::From)
        .ok_or("From")?
        .to_string();
    let local_uri = req.to().map_err(|_| "To")?.uri.to_string();
    let remote_target = match req.contacts().as_deref() {
        Ok(ContactValue::Addrs(addrs)) => addrs.first().map(|a| a.uri.to_string()),
        _ => None,
    }
    .ok_or("Contact")?;
    let remote_cseq = req.cseq().map_err(|_| "CSeq")?.seq;
    let contact_user = contact_user(&req.to().map_err(|_| "To")?.uri);
    Ok(Dialog {
        contact_user,
        call_id,
        local_tag: format!("{:016x}", rand::random::<u64>()),
        local_uri,
        remote,
        remote_target,
        route_set: req
            .headers
            .get_all(&HeaderName::RecordRoute)
            .map(|v| v.to_string())
            .collect(),
        cseq: 0,
        remote_cseq,
    })
}

impl PresenceService {
    /// Answers a SUBSCRIBE that starts a subscription (no To tag).
    pub(crate) async fn subscribe(self: &Arc<Self>, up: Upstream) {
        let req = &up.request;
        let Some(event) = Event::of(req) else {
            return self.bad_event(&up, None, ALLOW_EVENTS).await;
        };
        let Some(target) = self.domains.local_aor(&req.uri) else {
            return self
                .reply(&up, 403, Some("Forbidden (relaying denied)"), &[])
                .await;
        };
        let Some(watcher) = self.authenticate(&up).await else {
            return;
        };
        let Some(target) = self.judge(&up, &event, &target, &watcher).await else {
            return;
        };
        let req = &up.request;
        let Some(granted) = self
            .granted_expiry(&up, &self.config.subscribe_expires)
            .await
        else {
            return;
        };
        let watcher_rules = self.rules(&watcher).await;
        let limit = watcher_rules.limits.max_subscriptions;
        if granted > 0 && self.state.lock().subs.count_for(&watcher) >= limit {
            let warning = format!(
                "399 {} \"Subscription limit reached: {watcher} may hold {limit}\"",
                self.domains.primary()
            );
            return self
                .reply(
                    &up,
                    403,
                    Some("Forbidden (subscription limit reached)"),
                    &[(HeaderName::Warning, warning)],
                )
                .await;
        }
        let dialog = match dialog_of(req) {
            Ok(d) => d,
            Err(what) => {
                let reason = format!("Bad Request ({what} missing or malformed)");
                return self.reply(&up, 400, Some(&reason), &[]).await;
            }
        };
        let kind = match target {
            Target::Presence(presentity) => {
                let level = self
                    .rules(&presentity)
                    .await
                    .level_for(&presentity, &watcher);
                Kind::Presence { presentity, level }
            }
            Target::Winfo(owner) => {
                // Loaded now so watcher-info documents know who the owner knows.
                self.rules(&owner).await;
                Kind::Winfo {
                    owner,
                    ended: Vec::new(),
                }
            }
            Target::List(owner) => {
                let rules = self.rules(&owner).await;
                let resources = self.list_resources(&owner, &rules, &[]).await;
                Kind::List {
                    uri: format!("sip:{}", documents_list_user(&owner)),
                    owner,
                    resources,
                }
            }
        };
        let eventlist = matches!(kind, Kind::List { .. });
        let hop = Hop::from_source(&up.source);
        let mut resp = response::from_request(req, 200, None, Some(&dialog.local_tag));
        resp.headers.push(HeaderName::Expires, granted.to_string());
        resp.headers.push(
            HeaderName::Contact,
            format!(
                "<{}>",
                self.contact_uri(&dialog.contact_user, hop.transport, hop.remote)
            ),
        );
        if eventlist {
            resp.headers.push(HeaderName::Require, "eventlist");
        }
        self.respond(&up, resp).await;

        let now = Instant::now();
        let sub = {
            let mut st = self.state.lock();
            let id = st.subs.next_id();
            Subscription {
                id,
                watcher,
                event,
                kind,
                dialog,
                hop,
                created: now,
                expires_at: now + Duration::from_secs(u64::from(granted)),
                dirty: true,
                full_state: true,
                running: true,
                ending: (granted == 0).then_some("timeout"),
                last_hash: None,
                version: 0,
            }
        };
        let id = sub.id;
        let watched: Vec<String> = sub.watched().into_iter().map(str::to_owned).collect();
        let fetch = sub.ending.is_some();
        let mut starts = {
            let mut st = self.state.lock();
            st.subs.insert(sub);
            // A fetch is a glance, not a watcher.
            if fetch {
                Vec::new()
            } else {
                self.watcher_changed(&mut st, &watched)
            }
        };
        starts.push(id);
        self.start_notifiers(starts);
    }

    /// Decides whether `watcher` may subscribe to `event` of `target`, and what that
    /// means; answers the request when not.
    async fn judge(
        &self,
        up: &Upstream,
        event: &Event,
        target: &str,
        watcher: &str,
    ) -> Option<Target> {
        let req = &up.request;
        let (user, domain) = target.rsplit_once('@').unwrap_or((target, ""));
        let list_owner = user
            .strip_suffix(LIST_SUFFIX)
            .map(|u| format!("{u}@{domain}"));
        let refuse = |status: u16, reason: &'static str| (status, Some(reason), Vec::new());
        let verdict = match (event.package, list_owner) {
            (Package::Presence, Some(owner)) => {
                if owner != watcher {
                    Err(refuse(
                        403,
                        "Forbidden (a contact list is only for its owner)",
                    ))
                } else if !lists_option(req, &HeaderName::Supported, "eventlist") {
                    Err((
                        421,
                        Some("Extension Required (eventlist)"),
                        vec![(HeaderName::Require, "eventlist".to_owned())],
                    ))
                } else if !accepts(req, "multipart/related")
                    || !accepts(req, herald_pidf::rlmi::CONTENT_TYPE)
                {
                    Err((
                        406,
                        Some("Not Acceptable (a list needs multipart/related and RLMI)"),
                        vec![(
                            HeaderName::Accept,
                            "multipart/related, application/rlmi+xml, application/pidf+xml"
                                .to_owned(),
                        )],
                    ))
                } else {
                    Ok(Target::List(owner))
                }
            }
            (Package::PresenceWinfo, Some(_)) => Err(refuse(
                489,
                "Bad Event (a contact list carries presence only)",
            )),
            (Package::PresenceWinfo, None) => {
                if target != watcher {
                    Err(refuse(
                        403,
                        "Forbidden (watcher information is only for its owner)",
                    ))
                } else if !accepts(req, herald_pidf::watcherinfo::CONTENT_TYPE) {
                    Err((
                        406,
                        None,
                        vec![(
                            HeaderName::Accept,
                            herald_pidf::watcherinfo::CONTENT_TYPE.to_owned(),
                        )],
                    ))
                } else {
                    Ok(Target::Winfo(target.to_owned()))
                }
            }
            (Package::Presence, None) => {
                if !self
                    .auth
                    .lookup_user(target)
                    .await
                    .is_some_and(|u| u.enabled)
                {
                    Err(refuse(404, "Not Found"))
                } else if !accepts(req, PIDF) {
                    Err((406, None, vec![(HeaderName::Accept, PIDF.to_owned())]))
                } else {
                    Ok(Target::Presence(target.to_owned()))
                }
            }
        };
        match verdict {
            Ok(t) => Some(t),
            Err((status, reason, headers)) => {
                self.reply(up, status, reason, &headers).await;
                None
            }
        }
    }

    /// The resources of `owner`'s list: each contact with what the owner may see of it.
    /// Instance ids and last hashes of `old` resources are kept.
    pub(crate) async fn list_resources(
        &self,
        owner: &str,
        rules: &crate::rules::Rules,
        old: &[ListResource],
    ) -> Vec<ListResource> {
        let mut out = Vec::with_capacity(rules.contacts.len());
        for c in &rules.contacts {
            let user = self.auth.lookup_user(&c.aor).await.filter(|u| u.enabled);
            let level = match &user {
                Some(_) => Some(self.rules(&c.aor).await.level_for(&c.aor, owner)),
                None => None,
            };
            let previous = old.iter().find(|r| r.aor == c.aor);
            out.push(ListResource {
                aor: c.aor.clone(),
                name: c
                    .display_name
                    .clone()
                    .or_else(|| user.and_then(|u| u.display_name.clone())),
                instance: previous.map_or_else(
                    || format!("{:012x}", rand::random::<u64>() >> 16),
                    |p| p.instance.clone(),
                ),
                level,
                last_hash: previous
                    .and_then(|p| p.last_hash)
                    .filter(|_| previous.is_some_and(|p| p.level == level)),
                dirty: true,
            });
        }
        out
    }

    /// Answers a SUBSCRIBE within one of our subscription dialogs: a refresh, or an
    /// unsubscription (Expires: 0).
    pub async fn in_dialog(self: &Arc<Self>, up: Upstream) {
        let req = &up.request;
        let found = match (
            req.call_id(),
            req.to().ok().and_then(|t| t.tag().map(str::to_owned)),
        ) {
            (Some(call_id), Some(tag)) => self.state.lock().subs.find_dialog(call_id, &tag),
            _ => None,
        };
        let Some(id) = found else {
            return self
                .reply(&up, 481, Some("Subscription Does Not Exist"), &[])
                .await;
        };
        let hop = Hop::from_source(&up.source);
        let current = {
            let st = self.state.lock();
            st.subs.get(id).map(|sub| {
                (
                    sub.watcher.clone(),
                    sub.event.package,
                    sub.hop.is(&up.source),
                    sub.dialog.remote_cseq,
                )
            })
        };
        let Some((watcher, package, same_hop, last_cseq)) = current else {
            return self
                .reply(&up, 481, Some("Subscription Does Not Exist"), &[])
                .await;
        };
        if !same_hop {
            // From elsewhere (the watcher reconnected): only the watcher may refresh.
            let Some(user) = self.authenticate(&up).await else {
                return;
            };
            if user != watcher {
                return self
                    .reply(&up, 403, Some("Forbidden (not your subscription)"), &[])
                    .await;
            }
        }
        let req = &up.request;
        if !matches!(Event::of(req), Some(e) if e.package == package) {
            return self.bad_event(&up, None, ALLOW_EVENTS).await;
        }
        let cseq = req.cseq().map(|c| c.seq).unwrap_or(0);
        if cseq <= last_cseq {
            return self
                .reply(
                    &up,
                    500,
                    Some("Server Internal Error (CSeq out of order)"),
                    &[],
                )
                .await;
        }
        let Some(granted) = self
            .granted_expiry(&up, &self.config.subscribe_expires)
            .await
        else {
            return;
        };
        let tag = req
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_owned))
            .unwrap_or_default();
        let mut resp = response::from_request(req, 200, None, Some(&tag));
        resp.headers.push(HeaderName::Expires, granted.to_string());
        let start = {
            let mut st = self.state.lock();
            if !same_hop {
                st.subs.set_hop(id, hop);
            }
            let now = Instant::now();
            if granted > 0 {
                st.subs
                    .set_expiry(id, now + Duration::from_secs(u64::from(granted)));
            }
            let mut starts = Vec::new();
            if let Some(sub) = st.subs.get_mut(id) {
                sub.dialog.remote_cseq = cseq;
                // RFC 6665 §4.2.1.2: a refresh is answered with a NOTIFY of the full state.
                sub.full_state = true;
                if sub.touch() {
                    starts.push(id);
                }
            }
            if granted == 0 {
                starts.extend(self.end(&mut st, id, "timeout", WatcherEvent::Timeout));
            }
            starts
        };
        self.respond(&up, resp).await;
        self.start_notifiers(start);
    }

    /// An administrator changed `owner`'s contact list, access rules, privacy mode or
    /// policy (`"*"`: the server-wide policy). Watchers whose view changed are notified.
    pub async fn rules_changed(self: &Arc<Self>, owner: &str) {
        if owner == "*" {
            let owners: Vec<String> = self.state.lock().rules.keys().cloned().collect();
            for owner in owners {
                if let Ok(rules) = self.load_rules(&owner).await {
                    self.state.lock().rules.insert(owner, Arc::new(rules));
                }
            }
            return;
        }
        let rules = match self.load_rules(owner).await {
            Ok(r) => Arc::new(r),
            Err(e) => {
                tracing::warn!(%owner, error = %e, "presence rules not reloaded");
                return;
            }
        };
        let lists: Vec<(SubId, Vec<ListResource>)> = {
            let st = self.state.lock();
            st.subs
                .lists_of(owner)
                .iter()
                .filter_map(|id| match &st.subs.get(*id)?.kind {
                    Kind::List { resources, .. } => Some((*id, resources.clone())),
                    _ => None,
                })
                .collect()
        };
        let mut rebuilt = Vec::with_capacity(lists.len());
        for (id, old) in lists {
            rebuilt.push((id, self.list_resources(owner, &rules, &old).await));
        }
        let starts = {
            let mut st = self.state.lock();
            st.rules.insert(owner.to_owned(), rules.clone());
            let mut starts = Vec::new();
            for id in st.subs.watching(owner).to_vec() {
                let Some(sub) = st.subs.get_mut(id) else {
                    continue;
                };
                let level = rules.level_for(owner, &sub.watcher);
                let changed = match &mut sub.kind {
                    Kind::Presence { level: l, .. } => std::mem::replace(l, level) != level,
                    Kind::List { resources, .. } => {
                        let mut changed = false;
                        for r in resources.iter_mut().filter(|r| r.aor == owner) {
                            if r.level.is_some() && r.level != Some(level) {
                                r.level = Some(level);
                                r.dirty = true;
                                changed = true;
                            }
                        }
                        changed
                    }
                    Kind::Winfo { .. } => false,
                };
                if changed && sub.touch() {
                    starts.push(id);
                }
            }
            for id in st.subs.winfo_of(owner).to_vec() {
                if let Some(sub) = st.subs.get_mut(id)
                    && sub.touch()
                {
                    starts.push(id);
                }
            }
            for (id, resources) in rebuilt {
                st.subs.set_resources(id, resources);
                if let Some(sub) = st.subs.get_mut(id) {
                    sub.full_state = true;
                    if sub.touch() {
                        starts.push(id);
                    }
                }
            }
            starts
        };
        self.start_notifiers(starts);
    }
}

/// The user part of `owner`'s list URI (`alice+contacts@example.com`).
fn documents_list_user(owner: &str) -> String {
    match owner.rsplit_once('@') {
        Some((user, domain)) => format!("{user}{LIST_SUFFIX}@{domain}"),
        None => format!("{owner}{LIST_SUFFIX}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_uris_name_the_owner() {
        assert_eq!(
            documents_list_user("alice@example.com"),
            "alice+contacts@example.com"
        );
        assert_eq!(crate::documents::sip_uri("a@b"), "sip:a@b");
    }
}
