//! The IM service: policy for requests to our users, then the proxy carries them.
use crate::archive::{Archiver, ImRecord};
use crate::config::ImConfig;
use crate::content::{is_im_content, is_typing};
use crate::offline::Offline;
use herald_proxy::{
    BranchLabel, BranchTarget, ForkOptions, ForkResult, Hop, InDialog, Proxy, Upstream,
};
use herald_registrar::{Authenticator, ChallengeKind, LocationService, ServedDomains};
use herald_sip::{Method, Request, Response};
use herald_store::{ImMode, SharedStore};
use std::sync::Arc;
use std::time::Duration;

pub struct ImService {
    pub(crate) proxy: Arc<Proxy>,
    auth: Arc<Authenticator>,
    pub(crate) domains: ServedDomains,
    pub(crate) location: Arc<dyn LocationService>,
    pub(crate) config: ImConfig,
    archiver: Arc<Archiver>,
    pub(crate) offline: Offline,
    /// Who blocked whom (set once the presence service exists).
    filter: std::sync::OnceLock<Arc<dyn crate::SenderFilter>>,
}

/// Branch statuses that mean no device ever saw the message (as opposed to a device
/// that answered, even with an error).
fn unreachable(status: Option<u16>) -> bool {
    matches!(status, None | Some(408) | Some(430) | Some(503))
}

impl ImService {
    pub fn new(
        proxy: Arc<Proxy>,
        auth: Arc<Authenticator>,
        domains: ServedDomains,
        location: Arc<dyn LocationService>,
        store: SharedStore,
        config: ImConfig,
    ) -> Arc<Self> {
        let archiver = Arc::new(Archiver::new(
            store.clone(),
            config.archiving,
            config.archiving_critical,
        ));
        let offline = Offline::new(store, config.offline_queue_limit, config.offline_expiry);
        Arc::new(ImService {
            proxy,
            auth,
            domains,
            location,
            config,
            archiver,
            offline,
            filter: std::sync::OnceLock::new(),
        })
    }

    /// Loads what the service keeps in memory from the store, and starts its
    /// housekeeping (offline expiry, idle dialogs).
    pub async fn start(self: &Arc<Self>) -> Result<(), herald_store::StoreError> {
        let overrides = self.archiver.load().await?;
        let waiting = self.offline.load().await?;
        tracing::info!(
            archiving_overrides = overrides,
            offline_recipients = waiting,
            "IM service ready"
        );
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { break };
                me.offline.expire().await;
                me.proxy.sweep();
            }
        });
        Ok(())
    }

    /// The store was replaced under the running service (a restore): the archiving
    /// overrides and who has offline messages are read again, and those messages are
    /// handed over at once to recipients who are registered.
    pub async fn store_replaced(self: &Arc<Self>) -> Result<(), herald_store::StoreError> {
        self.archiver.load().await?;
        for aor in self.offline.reload().await? {
            self.offline.wake(self, &aor);
        }
        Ok(())
    }

    /// The archiving policy, shared with the conference service (a conference's IM is
    /// archived when any participant's is).
    pub fn archiver(&self) -> Arc<Archiver> {
        self.archiver.clone()
    }

    /// Sets who decides whether a recipient blocked a sender (once).
    pub fn set_sender_filter(&self, filter: Arc<dyn crate::SenderFilter>) {
        if self.filter.set(filter).is_err() {
            tracing::warn!("sender filter already set");
        }
    }

    async fn blocked(&self, recipient: &str, sender: &str) -> bool {
        match self.filter.get() {
            Some(f) => f.blocks(recipient, sender).await,
            None => false,
        }
    }

    /// An administrator changed `aor`: pick up its archiving setting.
    pub async fn user_changed(&self, aor: &str) {
        self.archiver.reload_user(aor).await;
    }

    /// `aor` registered an endpoint: hand over what waited for it.
    pub fn registered(self: &Arc<Self>, aor: &str) {
        self.offline.wake(self, aor);
    }

    async fn reply(&self, up: &Upstream, status: u16, reason: Option<&str>) {
        let resp = self.proxy.local_response(&up.request, status, reason);
        self.proxy.wire().respond(&up.key, &resp).await;
    }

    /// The endpoints of `aor`, as fork targets.
    pub(crate) async fn targets(&self, aor: &str) -> Vec<BranchTarget> {
        self.location
            .lookup(aor)
            .await
            .into_iter()
            .map(|b| BranchTarget {
                uri: Some(b.uri().clone()),
                hop: Hop::from_source(&b.source),
                label: BranchLabel::Contact(b.contact.uri.clone()),
            })
            .collect()
    }

    pub(crate) fn fork_options(&self, method: &Method) -> ForkOptions {
        match method {
            Method::Invite => ForkOptions {
                record_route: true,
                timeout: self.config.invite_timeout,
                return_on_2xx: false,
            },
            _ => ForkOptions {
                record_route: false,
                timeout: self.config.message_timeout,
                return_on_2xx: false,
            },
        }
    }

    /// A new request (no To tag) for one of our users: MESSAGE, INVITE, or OPTIONS.
    /// Answers the server transaction itself.
    pub async fn out_of_dialog(self: Arc<Self>, mut up: Upstream) {
        let req = &up.request;
        if self.proxy.is_loop(req) {
            return self.reply(&up, 482, None).await;
        }
        let Some(recipient) = self.domains.local_aor(&req.uri) else {
            return self
                .reply(&up, 403, Some("Forbidden (relaying denied)"))
                .await;
        };
        let Some(sender) = self.authenticate(&up).await else {
            return;
        };
        // The credentials were for us (RFC 3261 §22.3): they go no further.
        up.request
            .headers
            .remove(&herald_sip::HeaderName::ProxyAuthorization);
        let req = &up.request;
        if req.method == Method::Message && req.body.len() > self.config.max_body_bytes {
            return self
                .reply(
                    &up,
                    413,
                    Some("Request Entity Too Large (message body over the limit)"),
                )
                .await;
        }
        if !self
            .auth
            .lookup_user(&recipient)
            .await
            .is_some_and(|u| u.enabled)
        {
            return self.reply(&up, 404, None).await;
        }
        if self.blocked(&recipient, &sender).await {
            // The blocked sender learns nothing: the answer is the one an offline
            // recipient gives (202 for a message, which is then dropped; 480 for the
            // rest), and nothing reaches the recipient.
            tracing::info!(from = %sender, to = %recipient, method = %req.method, "blocked sender: not delivered");
            let status = if is_im_content(req) { 202 } else { 480 };
            return self.reply(&up, status, None).await;
        }
        let call_id = req.call_id().unwrap_or_default().to_owned();
        if is_im_content(req)
            && self
                .archiver
                .record(ImRecord {
                    sender: &sender,
                    recipient: &recipient,
                    call_id: &call_id,
                    mode: ImMode::Pager,
                    content_type: req.content_type().unwrap_or("text/plain"),
                    body: &req.body,
                })
                .await
                .is_err()
        {
            return self
                .reply(
                    &up,
                    480,
                    Some("Temporarily Unavailable (archiving unavailable)"),
                )
                .await;
        }
        let targets = self.targets(&recipient).await;
        if targets.is_empty() {
            return self.recipient_offline(&up, &sender, &recipient).await;
        }
        let opts = self.fork_options(&req.method);
        let result = self.proxy.fork(Some(&up), req, targets, &opts).await;
        log_delivery(req, &sender, &recipient, &result);
        let Some(final_response) = result.final_response else {
            return;
        };
        // No device could be reached at all: as good as offline, so a MESSAGE is kept
        // rather than lost.
        if is_im_content(req) && result.branches.iter().all(|b| unreachable(b.status)) {
            return self.recipient_offline(&up, &sender, &recipient).await;
        }
        self.proxy.wire().respond(&up.key, &final_response).await;
    }

    /// The recipient has no endpoint to take the request.
    async fn recipient_offline(&self, up: &Upstream, sender: &str, recipient: &str) {
        let req = &up.request;
        if !is_im_content(req) {
            // Typing indications, invitations and capability queries make no sense later.
            return self.reply(up, 480, None).await;
        }
        match self.offline.store(req, sender, recipient).await {
            Ok(()) => self.reply(up, 202, None).await,
            Err(reason) => self.reply(up, 480, Some(&reason)).await,
        }
    }

    /// Challenges or checks the sender (407); Some(AOR) when it is an enabled user of
    /// ours whose From is its own address. Answers the request otherwise.
    async fn authenticate(&self, up: &Upstream) -> Option<String> {
        let refusal = match self
            .auth
            .authenticate_sender(
                &up.request,
                ChallengeKind::Proxy,
                &self.domains,
                up.source.remote.ip(),
            )
            .await
        {
            Ok(aor) => return Some(aor),
            Err(r) => r,
        };
        let mut resp: Response =
            self.proxy
                .local_response(&up.request, refusal.status, refusal.reason);
        for (name, value) in refusal.headers {
            resp.headers.push(name, value);
        }
        self.proxy.wire().respond(&up.key, &resp).await;
        None
    }

    /// A request within a dialog we record-routed (our Route entries already taken off
    /// into `found`). Answers the server transaction itself.
    pub async fn in_dialog(self: Arc<Self>, up: Upstream, found: InDialog) {
        let req = &up.request;
        if self.proxy.is_loop(req) {
            return self.reply(&up, 482, None).await;
        }
        let Some(hop) = self.in_dialog_hop(req, &up.source, &found).await else {
            return self
                .reply(&up, 481, Some("Call/Transaction Does Not Exist (no route)"))
                .await;
        };
        self.proxy.note_in_dialog(req);
        if is_im_content(req) {
            let sender = req.from().ok().and_then(|f| self.domains.local_aor(&f.uri));
            let recipient = req.to().ok().and_then(|t| self.domains.local_aor(&t.uri));
            if let (Some(sender), Some(recipient)) = (sender, recipient) {
                let archived = self
                    .archiver
                    .record(ImRecord {
                        sender: &sender,
                        recipient: &recipient,
                        call_id: req.call_id().unwrap_or_default(),
                        mode: ImMode::Session,
                        content_type: req.content_type().unwrap_or("text/plain"),
                        body: &req.body,
                    })
                    .await;
                if archived.is_err() {
                    return self
                        .reply(
                            &up,
                            480,
                            Some("Temporarily Unavailable (archiving unavailable)"),
                        )
                        .await;
                }
            }
        }
        let target = BranchTarget {
            uri: None,
            hop,
            label: BranchLabel::Named("in-dialog"),
        };
        let mut opts = self.fork_options(&req.method);
        opts.record_route = false;
        let result = self.proxy.fork(Some(&up), req, vec![target], &opts).await;
        if let Some(resp) = result.final_response {
            self.proxy.wire().respond(&up.key, &resp).await;
        }
    }

    /// An ACK for a 2xx within a dialog we record-routed: forwarded as is.
    pub async fn ack(&self, req: Request, source: herald_transport::Source, found: InDialog) {
        if let Some(hop) = self.in_dialog_hop(&req, &source, &found).await {
            self.proxy.forward_ack(&req, &hop).await;
        }
    }

    /// The next hop of an in-dialog request: by the flow token, or — when the sender
    /// reconnected since — by the endpoint whose Contact is the Request-URI. Nothing
    /// without a valid token of ours: we do not relay for strangers.
    async fn in_dialog_hop(
        &self,
        req: &Request,
        source: &herald_transport::Source,
        found: &InDialog,
    ) -> Option<Hop> {
        found.peers?;
        if let Some(hop) = self.proxy.next_hop(req, source, found).await {
            return Some(hop);
        }
        if let Some(hop) = self.endpoint_with_contact(req).await {
            return Some(hop);
        }
        self.proxy.resolve_uri(&req.uri).await
    }

    /// A registered endpoint whose Contact is the Request-URI (same user part, in any
    /// of our domains).
    async fn endpoint_with_contact(&self, req: &Request) -> Option<Hop> {
        let user = req.uri.user_unescaped()?;
        let user = std::str::from_utf8(&user).ok()?;
        let aor = format!("{user}@{}", self.domains.primary());
        self.location
            .lookup(&aor)
            .await
            .into_iter()
            .find(|b| b.uri().equivalent(&req.uri))
            .map(|b| Hop::from_source(&b.source))
    }
}

fn log_delivery(req: &Request, sender: &str, recipient: &str, result: &ForkResult) {
    for b in &result.branches {
        tracing::info!(
            method = %req.method,
            from = %sender,
            to = %recipient,
            endpoint = %b.label,
            status = b.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            typing = is_typing(req),
            "delivery"
        );
    }
}
