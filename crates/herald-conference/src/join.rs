//! Joining: an INVITE to `conf-factory` makes a conference whose first participant is
//! the caller; an INVITE to `conf-<id>` joins one. The focus accepts any offer and
//! carries no media: every offered stream is answered with port 0, so plain SIP
//! clients that can only offer audio join for IM just as well. Our 2xx names the
//! conference in its Contact (`;isfocus`, RFC 4579) and record-routes through us, so
//! the participant's requests in the dialog come back here.
use crate::conference::{Conference, Participant, RosterChange};
use crate::id::{ConfId, FocusTarget};
use crate::outbox::{Outbox, OutboxSetup};
use crate::service::{ALLOW, ConferenceService, Role, now_ms};
use herald_conference_docs::conference_info::{DisconnectionMethod, JoiningMethod};
use herald_conference_docs::{cpim, sdp};
use herald_dialog::Dialog;
use herald_proxy::{Hop, Upstream};
use herald_registrar::ChallengeKind;
use herald_sip::{HeaderName, SipStr};
use parking_lot::Mutex;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a participant has to ACK our 2xx before it is dropped (64·T1).
pub(crate) const ACK_WAIT: Duration = Duration::from_secs(32);

/// A participant about to be added.
pub(crate) struct Joining {
    pub aor: String,
    pub display: Option<String>,
    pub dialog: Dialog,
    pub hop: Hop,
    pub cpim: bool,
    pub joining: JoiningMethod,
    pub referred_by: Option<String>,
    pub confirmed: bool,
}

/// Our SDP for a request's body: the answer rejecting every offered stream, or our
/// own offer when it had none. `Err` carries the reason of a 488.
pub(crate) fn session_body(
    req_body: &[u8],
    content_type: Option<&str>,
    local: IpAddr,
) -> Result<String, String> {
    let session = rand::random::<u32>() as u64;
    let is_sdp = content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(sdp::CONTENT_TYPE))
    });
    if req_body.is_empty() {
        return Ok(sdp::inactive_offer(local, session));
    }
    if !is_sdp {
        return Err("the focus takes application/sdp only".into());
    }
    let offer = sdp::parse_offer(req_body, &Default::default()).map_err(|e| e.to_string())?;
    Ok(sdp::focus_answer(&offer, local, session))
}

/// Whether a request or response says its sender takes `message/cpim` (Accept, or
/// the SDP's `accept-types`).
pub(crate) fn takes_cpim(headers: &herald_sip::Headers, body: &[u8]) -> bool {
    let in_accept = headers
        .get_all(&HeaderName::Accept)
        .any(|v| contains_ignore_case(v.as_str(), cpim::CONTENT_TYPE));
    in_accept
        || std::str::from_utf8(body).is_ok_and(|b| {
            b.lines().any(|l| {
                l.trim_start().starts_with("a=accept-types:")
                    && contains_ignore_case(l, cpim::CONTENT_TYPE)
            })
        })
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// The local address for our SDP (the one the request arrived on).
fn local_ip(up: &Upstream) -> IpAddr {
    let ip = up.source.local.ip();
    if ip.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        ip
    }
}

impl ConferenceService {
    /// Our Contact in a conference's dialogs.
    pub(crate) fn focus_contact(uri: &str) -> SipStr {
        SipStr::from(format!("<{uri}>;isfocus"))
    }

    /// A Record-Route naming this server toward `hop`, so the peer's requests in the
    /// dialog come back to us whatever the conference URI's host resolves to.
    pub(crate) fn record_route(&self, hop: &Hop) -> String {
        format!(
            "<sip:{};transport={};lr>",
            self.proxy.sent_by(hop.transport, hop.remote),
            hop.transport.as_str().to_ascii_lowercase()
        )
    }

    pub(crate) async fn invite(self: &Arc<Self>, up: Upstream, target: FocusTarget, domain: &str) {
        if let FocusTarget::Conference(id) = target
            && !self.state.lock().conferences.contains_key(&id)
        {
            return self
                .reply(&up, 404, Some("Not Found (no such conference)"))
                .await;
        }
        let Some(aor) = self.authenticate(&up, ChallengeKind::Proxy).await else {
            return;
        };
        let answer = match session_body(&up.request.body, up.request.content_type(), local_ip(&up))
        {
            Ok(a) => a,
            Err(reason) => {
                let reason = format!("Not Acceptable Here ({reason})");
                return self.reply(&up, 488, Some(&reason)).await;
            }
        };
        let Some(dialog) = self.new_dialog(&up).await else {
            return;
        };
        let to = dialog.local_header();
        let id = match target {
            FocusTarget::Conference(id) => id,
            _ => match self.create(&up, &aor, domain).await {
                Some(id) => id,
                None => return,
            },
        };
        let display = up.request.from().ok().and_then(|f| f.display.clone());
        let joining = Joining {
            aor: aor.clone(),
            display,
            dialog,
            hop: Hop::from_source(&up.source),
            cpim: takes_cpim(&up.request.headers, &up.request.body),
            joining: if matches!(target, FocusTarget::Factory) {
                JoiningMethod::FocusOwner
            } else {
                JoiningMethod::DialedIn
            },
            referred_by: None,
            // Over TCP/TLS our 2xx cannot be lost; over UDP we resend it until the ACK.
            confirmed: false,
        };
        let hop = joining.hop;
        let (conf_uri, pid) = match self.admit(id, joining) {
            Ok(admitted) => admitted,
            Err((status, reason)) => return self.reply(&up, status, Some(reason)).await,
        };
        let mut resp = self.response(&up.request, 200, None);
        resp.headers.set(HeaderName::To, to);
        resp.headers
            .push(HeaderName::RecordRoute, self.record_route(&hop));
        resp.headers
            .push(HeaderName::Contact, Self::focus_contact(&conf_uri));
        resp.headers.push(HeaderName::Allow, ALLOW);
        resp.headers
            .push(HeaderName::AllowEvents, crate::service::EVENT_PACKAGE);
        resp.headers
            .push(HeaderName::ContentType, sdp::CONTENT_TYPE);
        resp.body = answer.into_bytes().into();
        self.proxy.wire().respond(&up.key, &resp).await;
        if !hop.transport.is_reliable() {
            self.resend_until_acked(up, resp, id, pid);
        }
    }

    /// A new conference made by `aor` (allowed by their policy): its id, or `None`
    /// when the INVITE was answered.
    async fn create(&self, up: &Upstream, aor: &str, domain: &str) -> Option<ConfId> {
        match self.store.effective_policy(aor).await {
            Ok(policy) if policy.create_conferences => {}
            Ok(_) => {
                self.reply(
                    up,
                    403,
                    Some("Forbidden (not allowed to create conferences)"),
                )
                .await;
                return None;
            }
            Err(e) => {
                tracing::warn!(%aor, error = %e, "policy unavailable: conference not created");
                self.reply(up, 500, Some("Server Internal Error (policy unavailable)"))
                    .await;
                return None;
            }
        }
        let id = ConfId::random();
        let conference = Conference::new(id, domain, aor);
        let uri = conference.uri.clone();
        self.state.lock().conferences.insert(id, conference);
        tracing::info!(conference = %uri, creator = %aor, "conference created");
        if let Err(e) = self
            .store
            .conference_started(crate::conference::address(&uri), aor, now_ms())
            .await
        {
            tracing::warn!(conference = %uri, error = %e, "cannot write the monitoring record");
        }
        Some(id)
    }

    /// Adds a participant to conference `id` when allowed and there is room: the
    /// conference URI and the participant's id, or the status and reason to answer.
    pub(crate) fn admit(
        self: &Arc<Self>,
        id: ConfId,
        j: Joining,
    ) -> Result<(String, u64), (u16, &'static str)> {
        let pid = self.next_id();
        let mut state = self.state.lock();
        let Some(c) = state.conferences.get_mut(&id) else {
            return Err((404, "Not Found (the conference ended)"));
        };
        if c.ended {
            return Err((404, "Not Found (the conference ended)"));
        }
        if !self.may_join(c, &j.aor) {
            return Err((403, "Forbidden (not invited to this conference)"));
        }
        if c.participants.len() >= self.config.max_participants {
            return Err((486, "Busy Here (the conference is full)"));
        }
        let key = j.dialog.id();
        let dialog = Arc::new(Mutex::new(j.dialog));
        let weak = Arc::downgrade(self);
        let outbox = Outbox::start(OutboxSetup {
            proxy: self.proxy.clone(),
            dialog: dialog.clone(),
            hop: j.hop,
            contact: Self::focus_contact(&c.uri),
            user_agent: self.product.clone(),
            capacity: self.config.participant_queue,
            on_failure: Box::new(move || {
                if let Some(me) = weak.upgrade() {
                    me.leave(id, pid, DisconnectionMethod::Failed, false);
                }
            }),
        });
        c.archived |= self.archiver.applies_to(&j.aor);
        c.invited.insert(j.aor.clone());
        c.last_activity = Instant::now();
        c.participants.push(Participant {
            id: pid,
            aor: j.aor.clone(),
            display: j.display,
            dialog,
            hop: j.hop,
            outbox,
            cpim: j.cpim,
            joined_at: cpim::now_datetime(),
            joining: j.joining,
            referred_by: j.referred_by,
            confirmed: j.confirmed,
            since: Instant::now(),
        });
        let uri = c.uri.clone();
        let dropped = c.notify_roster(&RosterChange::Joined { aor: j.aor.clone() }, |s| {
            crate::service::remaining(s.expires_at)
        });
        state.dialogs.insert(key, (id, Role::Participant(pid)));
        crate::service::forget_roster_keys(&mut state, id, &dropped);
        drop(state);
        tracing::debug!(conference = %uri, aor = %j.aor, "participant joined");
        let (store, uri2, aor) = (self.store.clone(), uri.clone(), j.aor);
        tokio::spawn(async move {
            if let Err(e) = store
                .conference_joined(crate::conference::address(&uri2), &aor, now_ms())
                .await
            {
                tracing::warn!(conference = %uri2, error = %e, "cannot record a participant");
            }
        });
        Ok((uri, pid))
    }

    /// Over UDP our 2xx is resent (T1 doubling to T2) until the ACK arrives (RFC 3261
    /// §13.3.1.4); the housekeeping drops a participant that never ACKs.
    fn resend_until_acked(
        self: &Arc<Self>,
        up: Upstream,
        resp: herald_sip::Response,
        id: ConfId,
        pid: u64,
    ) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(500);
            let until = Instant::now() + ACK_WAIT;
            while Instant::now() < until {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(4));
                // Confirmed, or gone (left, dropped, conference ended): stop.
                let confirmed = me
                    .state
                    .lock()
                    .conferences
                    .get(&id)
                    .and_then(|c| c.participant(pid))
                    .is_none_or(|p| p.confirmed);
                if confirmed {
                    return;
                }
                me.proxy.wire().respond(&up.key, &resp).await;
            }
        });
    }

    /// A re-INVITE or UPDATE in a participant's dialog (a session refresh, a new
    /// offer): the same answer again, no media; a new Contact is the new target.
    pub(crate) async fn refresh_session(&self, up: Upstream, conf: ConfId, p: u64) {
        let body = if up.request.body.is_empty() && up.request.method == herald_sip::Method::Update
        {
            None
        } else {
            match session_body(&up.request.body, up.request.content_type(), local_ip(&up)) {
                Ok(b) => Some(b),
                Err(reason) => {
                    let reason = format!("Not Acceptable Here ({reason})");
                    return self.reply(&up, 488, Some(&reason)).await;
                }
            }
        };
        let uri = {
            let state = self.state.lock();
            state.conferences.get(&conf).map(|c| {
                if let Some(part) = c.participant(p) {
                    part.dialog.lock().refresh_target(&up.request);
                }
                c.uri.clone()
            })
        };
        let Some(uri) = uri else {
            return self.reply(&up, 481, None).await;
        };
        let mut resp = self.response(&up.request, 200, None);
        resp.headers
            .push(HeaderName::Contact, Self::focus_contact(&uri));
        if let Some(b) = body {
            resp.headers
                .push(HeaderName::ContentType, sdp::CONTENT_TYPE);
            resp.body = b.into_bytes().into();
        }
        self.proxy.wire().respond(&up.key, &resp).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::message::ParseLimits;
    use herald_sip::{Message, Request};

    fn invite(extra: &str, body: &str) -> Request {
        let raw = format!(
            "INVITE sip:conf-factory@d.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
             From: <sip:a@d.test>;tag=1\r\nTo: <sip:conf-factory@d.test>\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:a@10.0.0.1>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match Message::parse(raw.into(), &ParseLimits::default()) {
            Ok(Message::Request(r)) => r,
            _ => panic!("test INVITE does not parse"),
        }
    }

    const AUDIO: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 0 8\r\nm=message 5000 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\n";

    #[test]
    fn every_offered_stream_is_refused_with_port_zero() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let answer = session_body(AUDIO.as_bytes(), Some("application/sdp"), ip).expect("answer");
        assert!(
            answer.contains("m=audio 9 RTP/AVP 0\r\na=inactive"),
            "{answer}"
        );
        assert!(answer.contains("m=message 0 TCP/MSRP *"), "{answer}");
        let offer = session_body(b"", None, ip).expect("offer");
        assert!(
            offer.contains("m=audio 9 RTP/AVP 0\r\na=inactive"),
            "{offer}"
        );
        assert!(session_body(b"hello", Some("text/plain"), ip).is_err());
        assert!(session_body(b"garbage", Some("application/sdp"), ip).is_err());
    }

    #[test]
    fn cpim_is_taken_when_accept_or_the_sdp_says_so() {
        let takes = |r: Request| takes_cpim(&r.headers, &r.body);
        assert!(!takes(invite("", "")));
        assert!(takes(invite(
            "Accept: application/sdp, Message/CPIM\r\n",
            ""
        )));
        assert!(takes(invite("Content-Type: application/sdp\r\n", AUDIO)));
        let plain = AUDIO.replace("message/cpim ", "");
        assert!(!takes(invite("Content-Type: application/sdp\r\n", &plain)));
    }
}
