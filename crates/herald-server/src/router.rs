//! Which service a new request goes to: the registrar, the server itself (OPTIONS),
//! the presence service (PUBLISH, SUBSCRIBE), the conference focus (requests to
//! `conf-...` URIs and within its dialogs), or — for requests to our users and within
//! IM sessions — the IM service. Services that may wait (on the store, on an
//! endpoint) answer in a task of their own so nothing holds up a worker.
use crate::checks::{self, ACCEPTED_TYPES, PROXIED_METHODS, Reject, SUPPORTED_EXTENSIONS};
use crate::overload::Overload;
use herald_conference::ConferenceService;
use herald_im::ImService;
use herald_presence::PresenceService;
use herald_proxy::{Proxy, Upstream};
use herald_registrar::{Registered, Registrar, ServedDomains};
use herald_sip::{HeaderName, Method, Request, Response, Scheme, Uri, response};
use herald_transaction::TransactionKey;
use herald_transport::Source;
use std::sync::Arc;

/// What became of a new request.
pub enum Routed {
    /// Answer the server transaction with this.
    Respond(Response),
    /// A service task took the transaction and answers it.
    Taken,
}

pub struct Router {
    registrar: Arc<Registrar>,
    im: Arc<ImService>,
    presence: Arc<PresenceService>,
    conference: Arc<ConferenceService>,
    proxy: Arc<Proxy>,
    domains: ServedDomains,
    /// Ports we listen on: a Route to one of our names with one of them is us.
    ports: Vec<u16>,
    product: String,
    tag: String,
    /// Counts the requests handed to service tasks (a sign of overload).
    overload: Arc<Overload>,
}

/// The services requests are routed to.
pub struct Services {
    pub registrar: Arc<Registrar>,
    pub im: Arc<ImService>,
    pub presence: Arc<PresenceService>,
    pub conference: Arc<ConferenceService>,
    pub proxy: Arc<Proxy>,
}

impl Router {
    pub fn new(
        services: Services,
        domains: ServedDomains,
        ports: Vec<u16>,
        product: String,
        overload: Arc<Overload>,
    ) -> Self {
        let Services {
            registrar,
            im,
            presence,
            conference,
            proxy,
        } = services;
        Router {
            registrar,
            im,
            presence,
            conference,
            proxy,
            domains,
            ports,
            product,
            tag: format!("{:016x}", rand::random::<u64>()),
            overload,
        }
    }

    /// Whether a URI without a user names this server (a preloaded Route).
    fn is_us(&self, uri: &Uri) -> bool {
        self.domains.resolve(&uri.host).is_some()
            && uri.port.is_none_or(|p| self.ports.contains(&p))
    }

    /// A new server transaction (not ACK/CANCEL: the transaction layer takes those).
    pub async fn route(&self, mut req: Request, source: Source, key: TransactionKey) -> Routed {
        let found = self.proxy.take_own_routes(&mut req, |u| self.is_us(u));
        if found.peers.is_none() && self.conference.owns(&req.uri) {
            // Boxed: the conference focus's future is several KiB, and every request
            // routed here would otherwise carry (and copy) room for it.
            return Box::pin(self.focus(req, source, key)).await;
        }
        if found.peers.is_some() {
            if let Err(reject) = checks::check_proxied(&req) {
                return Routed::Respond(self.reject(&req, reject));
            }
            let up = Upstream {
                key: key.clone(),
                request: req,
                source,
            };
            let (im, proxy) = (self.im.clone(), self.proxy.clone());
            let in_flight = self.overload.enter();
            // The service's future (about 5 KiB) is boxed: a task is copied whole when it
            // is spawned and again when it finishes, and a small one costs less to move.
            tokio::spawn(async move {
                let _in_flight = in_flight;
                Box::pin(im.in_dialog(up, found)).await;
                proxy.forget_upstream(&key);
            });
            return Routed::Taken;
        }
        if matches!(req.method, Method::Publish | Method::Subscribe) {
            return self.presence(req, source, key);
        }
        let sip = matches!(req.uri.scheme, Scheme::Sip | Scheme::Sips);
        let names_user = sip && req.uri.user.is_some();
        let local_user = names_user && self.domains.local_aor(&req.uri).is_some();
        if req.method != Method::Register && req.method != Method::Options && names_user {
            if has_to_tag(&req) {
                // A dialog we are not part of (or one from before a restart).
                return Routed::Respond(self.reply(&req, 481, "Call/Transaction Does Not Exist"));
            }
            if !local_user {
                if let Err(reject) = checks::check_proxied(&req) {
                    return Routed::Respond(self.reject(&req, reject));
                }
                return Routed::Respond(self.reply(&req, 403, "Forbidden (relaying denied)"));
            }
            if PROXIED_METHODS.contains(&req.method) {
                if let Err(reject) = checks::check_proxied(&req) {
                    return Routed::Respond(self.reject(&req, reject));
                }
                let up = Upstream {
                    key: key.clone(),
                    request: req,
                    source,
                };
                let (im, proxy) = (self.im.clone(), self.proxy.clone());
                let in_flight = self.overload.enter();
                tokio::spawn(async move {
                    let _in_flight = in_flight;
                    Box::pin(im.out_of_dialog(up)).await;
                    proxy.forget_upstream(&key);
                });
                return Routed::Taken;
            }
        }
        Routed::Respond(self.local(&req, &source).await)
    }

    /// PUBLISH and SUBSCRIBE: the server is the presence agent of its users (a
    /// SUBSCRIBE with a To tag is a refresh within one of our subscriptions).
    fn presence(&self, req: Request, source: Source, key: TransactionKey) -> Routed {
        if let Err(reject) = checks::check(&req) {
            let mut resp = self.reject(&req, reject);
            resp.headers.push(HeaderName::Server, self.product.clone());
            return Routed::Respond(resp);
        }
        let in_dialog = req.method == Method::Subscribe && has_to_tag(&req);
        let up = Upstream {
            key,
            request: req,
            source,
        };
        let presence = self.presence.clone();
        let in_flight = self.overload.enter();
        tokio::spawn(async move {
            let _in_flight = in_flight;
            if in_dialog {
                Box::pin(presence.in_dialog(up)).await;
            } else {
                Box::pin(presence.request(up)).await;
            }
        });
        Routed::Taken
    }

    /// A request to the conference focus. Within one of its dialogs it is handled in
    /// this worker, so one participant's messages fan out in the order they came; a
    /// new one (INVITE, SUBSCRIBE: authentication, the store) in a task of its own.
    async fn focus(&self, req: Request, source: Source, key: TransactionKey) -> Routed {
        if let Err(reject) = checks::check_focus(&req) {
            let mut resp = self.reject(&req, reject);
            resp.headers.push(HeaderName::Server, self.product.clone());
            return Routed::Respond(resp);
        }
        let in_dialog = has_to_tag(&req);
        let up = Upstream {
            key,
            request: req,
            source,
        };
        if in_dialog {
            self.conference.request(up).await;
        } else {
            let conference = self.conference.clone();
            let in_flight = self.overload.enter();
            tokio::spawn(async move {
                let _in_flight = in_flight;
                Box::pin(conference.request(up)).await
            });
        }
        Routed::Taken
    }

    /// Requests the server answers itself.
    async fn local(&self, req: &Request, source: &Source) -> Response {
        let mut resp = match checks::check(req) {
            Err(reject) => self.reject(req, reject),
            Ok(()) => match req.method {
                Method::Register => {
                    let registered = self.registrar.handle(req, source).await;
                    self.after_register(req, &registered);
                    registered.response
                }
                Method::Options => self.options(req),
                // The checks let only allowed methods through; this keeps a new entry in
                // ALLOWED_METHODS without a service from falling through silently.
                _ => self.reject(req, Reject::method_not_allowed()),
            },
        };
        resp.headers.push(HeaderName::Server, self.product.clone());
        resp
    }

    /// A registration may change the user's endpoints (their presence); one that left
    /// the user with endpoints may release stored messages.
    fn after_register(&self, req: &Request, registered: &Registered) {
        let resp = &registered.response;
        if resp.status != 200 {
            return;
        }
        let Some(aor) = req.to().ok().and_then(|t| self.domains.local_aor(&t.uri)) else {
            return;
        };
        if registered.endpoints_changed {
            self.presence.endpoints_changed(&aor);
        }
        if resp.headers.get(&HeaderName::Contact).is_some() {
            self.im.registered(&aor);
        }
    }

    /// An ACK that matched no transaction: the ACK for a 2xx, end to end through the
    /// route set of an IM session.
    pub async fn ack(&self, mut req: Request, source: Source) {
        let found = self.proxy.take_own_routes(&mut req, |u| self.is_us(u));
        if found.peers.is_some() {
            self.im.ack(req, source, found).await;
        } else if self.conference.owns(&req.uri) {
            self.conference.ack(&req);
        }
    }

    fn reply(&self, req: &Request, status: u16, reason: &str) -> Response {
        let mut resp = response::from_request(req, status, Some(reason), Some(&self.tag));
        resp.headers.push(HeaderName::Server, self.product.clone());
        resp
    }

    fn reject(&self, req: &Request, reject: Reject) -> Response {
        let mut resp =
            response::from_request(req, reject.status, Some(&reject.reason), Some(&self.tag));
        for (name, value) in reject.headers {
            resp.headers.push(name, value);
        }
        resp
    }

    /// OPTIONS is answered by the server itself with what it can do (RFC 3261 §11.2),
    /// also when it names a user: it serves as a keep-alive and capability probe of the
    /// server, and answering it needs no authentication.
    fn options(&self, req: &Request) -> Response {
        let mut resp = response::from_request(req, 200, None, Some(&self.tag));
        resp.headers.push(HeaderName::Allow, checks::allow_header());
        resp.headers
            .push(HeaderName::Accept, ACCEPTED_TYPES.join(", "));
        resp.headers
            .push(HeaderName::Supported, SUPPORTED_EXTENSIONS.join(", "));
        resp.headers.push(
            HeaderName::AllowEvents,
            format!(
                "{}, {}",
                herald_presence::ALLOW_EVENTS,
                herald_conference::EVENT_PACKAGE
            ),
        );
        resp
    }
}

fn has_to_tag(req: &Request) -> bool {
    req.to().ok().is_some_and(|t| t.tag().is_some())
}
