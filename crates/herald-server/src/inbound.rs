//! One received message, from bytes to the response on the wire: parse, stamp the top
//! Via with where it really came from, match it to a transaction, route it, answer.
use crate::merged::MergedRequests;
use crate::outbound::response_target;
use crate::overload::Overload;
use crate::router::{Routed, Router};
use bytes::Bytes;
use herald_proxy::{Proxy, Wire};
use herald_registrar::{LocationService, ServedDomains};
use herald_sip::message::{ParseLimits, Rejected};
use herald_sip::{HeaderName, Headers, Message, Method, NameAddr, Request, Via, response};
use herald_transaction::{Incoming, Output};
use herald_transport::{Source, Target};
use std::sync::Arc;
use std::time::Instant;

pub struct Inbound {
    pub(crate) wire: Arc<Wire>,
    pub(crate) proxy: Arc<Proxy>,
    pub(crate) router: Arc<Router>,
    pub(crate) limits: ParseLimits,
    pub(crate) merged: MergedRequests,
    pub(crate) overload: Arc<Overload>,
    /// To tell a registration refresh (let through under overload) from a new one.
    pub(crate) location: Arc<dyn LocationService>,
    pub(crate) domains: ServedDomains,
    /// To tag of responses to requests that never reach a service.
    pub(crate) tag: String,
}

impl Inbound {
    /// A message the transport received at `received`, taken from a worker queue.
    pub async fn on_message(&self, source: Source, data: Bytes, received: Instant) {
        self.overload.note_queue_delay(received, Instant::now());
        match Message::parse(data, &self.limits) {
            Ok(Message::Request(req)) => self.on_request(req, source).await,
            Ok(Message::Response(resp)) => {
                let mut out = Vec::new();
                match self.wire.tm().on_response(&resp, Instant::now(), &mut out) {
                    Ok(true) => {}
                    Ok(false) => tracing::debug!(
                        status = resp.status,
                        "response matches no transaction: dropped"
                    ),
                    Err(e) => tracing::debug!(error = %e, "unusable response dropped"),
                }
                self.send_all(out).await;
            }
            // Boxed, like the other rare branches here: an async fn's future is as large
            // as its largest branch, and the whole of it is copied as it starts, for
            // every message.
            Err(rejected) => Box::pin(self.on_rejected(rejected, source)).await,
        }
    }

    async fn on_request(&self, mut req: Request, source: Source) {
        if let Err(reason) = stamp_via(&mut req, &source) {
            // Without a usable Via there is no way to route a response safely.
            tracing::debug!(%reason, remote = %source.remote, "request with unusable Via dropped");
            return;
        }
        let target = response_target(req.top_via().ok().as_deref(), &source);
        let reliable = source.transport.is_reliable();
        let now = Instant::now();
        // Parsed once: overload control and merged-request detection both look at it.
        let to = req.to().ok();
        if self.overload.shedding(now) && self.may_shed(&req, to.as_deref()).await {
            let retry_after = self.overload.refuse();
            let mut resp = response::from_request(
                &req,
                503,
                Some("Service Unavailable (overloaded)"),
                Some(&self.tag),
            );
            resp.headers
                .push(HeaderName::RetryAfter, retry_after.to_string());
            self.send(target, resp.to_bytes()).await;
            return;
        }
        let mut out = Vec::new();
        let incoming = match self
            .wire
            .tm()
            .on_request(&req, target, reliable, now, &mut out)
        {
            Ok(i) => i,
            Err(e) => {
                let resp = response::from_request(&req, 400, Some(&e.reason), Some(&self.tag));
                self.send(target, resp.to_bytes()).await;
                return;
            }
        };
        self.send_all(std::mem::take(&mut out)).await;
        match incoming {
            Incoming::New { key } => {
                // Not for REGISTER: the registrar takes one Call-ID/CSeq once (§10.3
                // steps 6-7 answer a copy 500 Out Of Order, and the nonce's count stops
                // a second use of the credentials), so a merged copy changes nothing,
                // and the check was 2.5 % of a REGISTER's CPU for a request nobody forks.
                let merged = req.method != Method::Register
                    && to
                        .as_ref()
                        .is_some_and(|to| self.merged.is_merged(&req, to, &key, now));
                let routed = if merged {
                    Routed::Respond(response::from_request(
                        &req,
                        482,
                        Some("Loop Detected (merged request)"),
                        Some(&self.tag),
                    ))
                } else {
                    self.router.route(req, source, key.clone()).await
                };
                if let Routed::Respond(resp) = routed {
                    self.wire.respond(&key, &resp).await;
                }
            }
            // The fork of that INVITE cancels its branches and answers 487.
            Incoming::Cancel { invite: Some(key) } => self.proxy.cancel_upstream(&key),
            Incoming::StrayAck => Box::pin(self.router.ack(req, source)).await,
            Incoming::Retransmission
            | Incoming::AckAbsorbed
            | Incoming::Cancel { invite: None } => {}
        }
    }

    /// Whether `req` may be refused under overload: only new work. Requests within a
    /// dialog, ACK and CANCEL, retransmissions of transactions in progress, refreshes
    /// of publications and registrations (whose loss would end state the server
    /// already carries, and bring the client back with a costlier new one) and
    /// de-registrations (which lighten the load) always go through.
    async fn may_shed(&self, req: &Request, to: Option<&NameAddr>) -> bool {
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return false;
        }
        let Some(to) = to else {
            return true;
        };
        if to.tag().is_some() || self.wire.tm().knows(req) {
            return false;
        }
        match req.method {
            Method::Publish => req.headers.get(&HeaderName::SipIfMatch).is_none(),
            Method::Register => {
                if req.expires() == Some(0) {
                    return false;
                }
                let (Some(aor), Some(call_id)) = (self.domains.local_aor(&to.uri), req.call_id())
                else {
                    return true;
                };
                !self
                    .location
                    .lookup(&aor)
                    .await
                    .iter()
                    .any(|b| b.call_id == call_id)
            }
            _ => true,
        }
    }

    /// Bytes a stream could not frame (the connection is closing): a request among
    /// them gets `status` (400, or 513 when too large) with the reason on its flow;
    /// anything else is dropped.
    pub async fn on_unframeable(&self, source: Source, data: Bytes, reason: &str, status: u16) {
        let headers = match Message::parse(data, &self.limits) {
            Ok(Message::Request(req)) => Some(req.headers),
            Ok(Message::Response(_)) => None,
            Err(rejected) => rejected.headers,
        };
        let Some(headers) = headers else {
            tracing::debug!(%reason, remote = %source.remote, "unframeable bytes dropped");
            return;
        };
        let phrase = format!("{} ({reason})", response::reason_phrase(status));
        self.reply_from_headers(&headers, &source, status, &phrase)
            .await;
    }

    /// A message that did not parse: answer requests with the status and reason the
    /// parser gave (routed by the raw top Via), drop everything else.
    async fn on_rejected(&self, rejected: Rejected, source: Source) {
        let Rejected { error, headers } = rejected;
        let (Some(status), Some(headers)) = (error.status(), headers) else {
            tracing::debug!(reason = %error, remote = %source.remote, "unparseable message dropped");
            return;
        };
        tracing::debug!(%status, reason = %error, remote = %source.remote, "rejected request");
        let reason = format!("{} ({})", response::reason_phrase(status), error.reason);
        self.reply_from_headers(&headers, &source, status, &reason)
            .await;
    }

    /// Answers statelessly a request known only by its raw headers, routed by its raw
    /// top Via (RFC 3261 §18.2.2).
    async fn reply_from_headers(
        &self,
        headers: &Headers,
        source: &Source,
        status: u16,
        reason: &str,
    ) {
        let top = headers
            .values(&HeaderName::Via)
            .first()
            .and_then(|v| Via::parse(v).ok());
        let target = response_target(top.as_ref(), source);
        let resp = response::from_headers(headers, status, reason, Some(&self.tag));
        self.send(target, resp.to_bytes()).await;
    }

    pub(crate) async fn send_all(&self, outputs: Vec<Output<Target>>) {
        self.wire.dispatch(outputs).await;
    }

    async fn send(&self, target: Target, data: Bytes) {
        self.wire.send(target, data).await;
    }
}

/// RFC 3261 §18.2.1 and RFC 3581: record the source address in `received` when the
/// sent-by differs, and fill in `rport` when the client asked for it.
fn stamp_via(req: &mut Request, source: &Source) -> Result<(), String> {
    let via = req.top_via().map_err(|e| e.reason.into_owned())?;
    let ip = source.remote.ip();
    let sent_by_is_source = matches!(&via.host, herald_sip::Host::Ip(h) if *h == ip);
    let wants_rport = via.rport().is_some();
    if sent_by_is_source && !wants_rport {
        return Ok(());
    }
    let mut via = via.into_owned();
    via.params
        .set("received", Some(herald_sip::digits::ip_string(ip).into()));
    if wants_rport {
        let mut port = String::with_capacity(5);
        herald_sip::digits::push_decimal_str(&mut port, source.remote.port());
        via.params.set("rport", Some(port.into()));
    }
    req.set_top_via(via);
    Ok(())
}
