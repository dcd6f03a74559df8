//! PUBLISH (RFC 3903): a user's endpoint tells the server its presence.
use crate::documents::PIDF;
use crate::event::{Event, Package};
use crate::publications::{Endpoint, PublishOp, UnknownEtag};
use crate::service::PresenceService;
use herald_pidf::{Limits, parse_pidf};
use herald_proxy::{Hop, Upstream};
use herald_sip::{ContactValue, HeaderName, Request, response};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `+sip.instance` of the request's Contact, if it has one.
pub(crate) fn instance_of(req: &Request) -> Option<String> {
    match &*req.contacts().ok()? {
        ContactValue::Addrs(addrs) => addrs.first().and_then(|a| {
            a.params
                .get("+sip.instance")
                .and_then(|p| p.unquoted().map(|v| v.into_owned()))
        }),
        ContactValue::Star => None,
    }
}

impl PresenceService {
    /// Answers a PUBLISH.
    pub(crate) async fn publish(self: &Arc<Self>, up: Upstream) {
        let req = &up.request;
        if !matches!(Event::of(req), Some(e) if e.package == Package::Presence) {
            return self
                .bad_event(&up, Some("Bad Event (PUBLISH is for presence)"), "presence")
                .await;
        }
        let Some(presentity) = self.domains.local_aor(&req.uri) else {
            return self
                .reply(&up, 403, Some("Forbidden (not a user of this server)"), &[])
                .await;
        };
        let Some(user) = self.authenticate(&up).await else {
            return;
        };
        let req = &up.request;
        if presentity != user {
            return self
                .reply(
                    &up,
                    403,
                    Some("Forbidden (only your own presence can be published)"),
                    &[],
                )
                .await;
        }
        let if_match = req
            .headers
            .get(&HeaderName::SipIfMatch)
            .map(|v| v.trim().to_owned());
        let doc = if req.body.is_empty() {
            None
        } else {
            if !req
                .media_type()
                .is_some_and(|m| m.eq_ignore_ascii_case(PIDF))
            {
                return self
                    .reply(&up, 415, None, &[(HeaderName::Accept, PIDF.to_owned())])
                    .await;
            }
            if req.body.len() > self.config.max_document_bytes {
                return self
                    .reply(
                        &up,
                        413,
                        Some("Request Entity Too Large (presence document over the limit)"),
                        &[],
                    )
                    .await;
            }
            let limits = Limits {
                max_bytes: self.config.max_document_bytes,
                ..Limits::DOCUMENT
            };
            match parse_pidf(&req.body, &limits) {
                Ok(doc) => Some(doc),
                Err(e) => {
                    let reason = format!("Bad Request ({})", e.reason());
                    return self.reply(&up, 400, Some(&reason), &[]).await;
                }
            }
        };
        let Some(granted) = self.granted_expiry(&up, &self.config.publish_expires).await else {
            return;
        };
        let op = match (if_match, doc, granted) {
            (None, None, _) => {
                return self
                    .reply(
                        &up,
                        400,
                        Some("Bad Request (a new publication needs a body)"),
                        &[],
                    )
                    .await;
            }
            (None, Some(_), 0) => {
                return self
                    .reply(
                        &up,
                        400,
                        Some("Bad Request (Expires: 0 needs SIP-If-Match)"),
                        &[],
                    )
                    .await;
            }
            (None, Some(doc), _) => PublishOp::Initial(doc),
            (Some(etag), _, 0) => PublishOp::Remove { etag },
            (Some(etag), None, _) => PublishOp::Refresh { etag },
            (Some(etag), Some(doc), _) => PublishOp::Modify { etag, doc },
        };
        let refresh_only = matches!(op, PublishOp::Refresh { .. });
        let endpoint = Endpoint {
            hop: Hop::from_source(&up.source),
            instance: instance_of(req),
        };
        let applied = self.state.lock().pubs.apply(
            &user,
            endpoint,
            op,
            Duration::from_secs(u64::from(granted)),
            Instant::now(),
        );
        match applied {
            Err(UnknownEtag) => {
                self.reply(&up, 412, None, &[]).await;
            }
            Ok(etag) => {
                let mut resp = response::from_request(req, 200, None, Some(&self.tag));
                if let Some(etag) = etag {
                    resp.headers.push(HeaderName::SipETag, etag);
                }
                resp.headers.push(HeaderName::Expires, granted.to_string());
                self.respond(&up, resp).await;
                if !refresh_only {
                    self.endpoints_changed(&user);
                }
            }
        }
    }
}
