//! Inviting someone (RFC 3515, as RFC 4579 §5.5 uses it): a participant sends REFER
//! in its dialog with the focus, `Refer-To` naming a user of ours; the focus answers
//! 202, INVITEs every endpoint of that user (first to answer joins), and reports
//! progress in NOTIFYs with a `message/sipfrag` body in the same dialog.
//!
//! Escalating a two-party session uses the same request: the participant who adds a
//! third person first makes a conference, then REFERs the focus to the other party
//! with `Replaces` (RFC 3891) naming their two-party dialog — what an attended
//! transfer sends. The focus's INVITE carries that Replaces, so the other party's
//! client swaps the two-party session for the conference without asking, and ends
//! the old dialog itself.
use crate::conference::SubState;
use crate::id::ConfId;
use crate::join::{Joining, session_body, takes_cpim};
use crate::outbox::OutItem;
use crate::service::{ALLOW, ConferenceService};
use herald_conference_docs::conference_info::JoiningMethod;
use herald_conference_docs::refer::parse_refer_to;
use herald_conference_docs::{sdp, sipfrag};
use herald_dialog::Dialog;
use herald_proxy::{InviteTarget, Invited, MakeAck, Upstream};
use herald_sip::{HeaderName, Method, Request, Response, SipStr, Uri, response};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long an invited user's devices ring before the focus gives up.
const RING_FOR: Duration = Duration::from_secs(60);
/// The implicit subscription of a REFER lasts until the final NOTIFY; this is what we
/// say while it runs.
const REFER_EXPIRES: u32 = 60;

fn header(name: &str) -> HeaderName {
    HeaderName::Other(SipStr::from(name.to_owned()))
}

/// A progress NOTIFY of the REFER: the sipfrag of a response status.
fn refer_notify(status: u16, last: bool) -> OutItem {
    let mut item = OutItem::new(Method::Notify);
    item.headers
        .push((HeaderName::Event, SipStr::from_static("refer")));
    let state = if last {
        SubState::Terminated {
            reason: "noresource",
        }
    } else {
        SubState::Active {
            expires: REFER_EXPIRES,
        }
    };
    item.headers.push((
        HeaderName::SubscriptionState,
        SipStr::from(state.header_value()),
    ));
    item.body = Some((
        SipStr::from_static(sipfrag::CONTENT_TYPE),
        sipfrag::status_line(status, response::reason_phrase(status)).into(),
    ));
    item
}

impl ConferenceService {
    pub(crate) async fn refer(self: &Arc<Self>, up: Upstream, conf: ConfId, referrer: u64) {
        let Some(value) = up.request.headers.get(&HeaderName::ReferTo).cloned() else {
            return self
                .reply(&up, 400, Some("Bad Request (no Refer-To)"))
                .await;
        };
        let refer_to = match parse_refer_to(value.as_str()) {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("Bad Request (Refer-To: {e})");
                return self.reply(&up, 400, Some(&reason)).await;
            }
        };
        if refer_to
            .target
            .params
            .value("method")
            .is_some_and(|m| !m.eq_ignore_ascii_case("INVITE"))
        {
            return self
                .reply(&up, 403, Some("Forbidden (the focus only invites)"))
                .await;
        }
        let Some(invitee) = self.domains.local_aor(&refer_to.target) else {
            return self
                .reply(
                    &up,
                    403,
                    Some("Forbidden (only users of this server can be invited)"),
                )
                .await;
        };
        let found = {
            let mut state = self.state.lock();
            state.conferences.get_mut(&conf).and_then(|c| {
                let referrer = c.participant(referrer).map(|p| p.aor.clone())?;
                c.invited.insert(invitee.clone());
                Some((c.uri.clone(), referrer))
            })
        };
        let Some((conf_uri, referrer_aor)) = found else {
            return self.reply(&up, 481, None).await;
        };
        self.reply(&up, 202, None).await;
        self.push_to(conf, referrer, refer_notify(100, false));
        tracing::info!(conference = %conf_uri, by = %referrer_aor, %invitee, "inviting");

        let me = self.clone();
        let local = up.source.local.ip();
        tokio::spawn(async move {
            let status = me
                .invite_user(conf, &conf_uri, &invitee, &referrer_aor, &refer_to, local)
                .await;
            me.push_to(conf, referrer, refer_notify(status, true));
        });
    }

    /// Queues `item` for participant `p` (if still there).
    fn push_to(&self, conf: ConfId, p: u64, item: OutItem) {
        let state = self.state.lock();
        if let Some(part) = state.conferences.get(&conf).and_then(|c| c.participant(p)) {
            part.outbox.push(item);
        }
    }

    /// INVITEs `invitee` into the conference; the final status for the sipfrag.
    async fn invite_user(
        self: &Arc<Self>,
        conf: ConfId,
        conf_uri: &str,
        invitee: &str,
        referrer: &str,
        refer_to: &herald_conference_docs::refer::ReferTo,
        local: IpAddr,
    ) -> u16 {
        {
            let state = self.state.lock();
            match state.conferences.get(&conf) {
                Some(c) if c.participants.len() >= self.config.max_participants => return 486,
                Some(_) => {}
                None => return 487,
            }
        }
        let bindings = self.location.lookup(invitee).await;
        if bindings.is_empty() {
            return 480;
        }
        let targets: Vec<InviteTarget> = bindings
            .iter()
            .map(|b| InviteTarget {
                uri: b.uri().clone(),
                hop: herald_proxy::Hop::from_source(&b.source),
            })
            .collect();
        let Ok(to_uri) = Uri::parse_str(&format!("sip:{invitee}")) else {
            return 400;
        };
        let mut invite = Request::new(Method::Invite, to_uri);
        let tag = format!("{:016x}", rand::random::<u64>());
        let h = &mut invite.headers;
        h.push(
            HeaderName::From,
            format!("\"Conference\" <{conf_uri}>;tag={tag}"),
        );
        h.push(HeaderName::To, format!("<sip:{invitee}>"));
        h.push(
            HeaderName::CallId,
            format!("{:032x}@herald", rand::random::<u128>()),
        );
        h.push(HeaderName::CSeq, "1 INVITE");
        h.push(HeaderName::Contact, Self::focus_contact(conf_uri));
        h.push(HeaderName::ReferredBy, format!("<sip:{referrer}>"));
        if let Some(replaces) = &refer_to.replaces {
            h.push(header("Replaces"), replaces.header_value());
        }
        if !refer_to.require.is_empty() {
            h.push(HeaderName::Require, refer_to.require.join(", "));
        }
        h.push(HeaderName::Allow, ALLOW);
        h.push(HeaderName::UserAgent, self.product.clone());
        // One Record-Route per transport in use would be exact; the hop of the first
        // target is where every binding of one user normally is.
        if let Some(first) = targets.first() {
            let rr = self.record_route(&first.hop);
            invite.headers.push(HeaderName::RecordRoute, rr);
        }
        let make_ack: MakeAck = Arc::new(move |req: &Request, resp: &Response| {
            let dialog = Dialog::as_uac(req, resp).ok()?;
            let mut ack = dialog.ack(1)?;
            if !resp.body.is_empty()
                && let Ok(answer) = session_body(
                    &resp.body,
                    resp.headers
                        .get(&HeaderName::ContentType)
                        .map(|v| v.as_str()),
                    local,
                )
            {
                ack.headers.push(HeaderName::ContentType, sdp::CONTENT_TYPE);
                ack.body = answer.into_bytes().into();
            }
            Some(ack)
        });
        let answered = match self
            .proxy
            .invite_any(invite, targets, RING_FOR, make_ack)
            .await
        {
            Invited::Answered(a) => a,
            Invited::Declined(status) => return status,
        };
        let Ok(mut dialog) = Dialog::as_uac(&answered.request, &answered.response) else {
            return 500;
        };
        // The only Record-Route is ours: we send straight to the endpoint.
        dialog.route_set.clear();
        let display = answered.response.to().ok().and_then(|t| t.display.clone());
        let cpim = takes_cpim(&answered.response.headers, &answered.response.body);
        // Kept to end the dialog should the conference no longer take the invitee.
        let mut spare = dialog.clone();
        let joining = Joining {
            aor: invitee.to_owned(),
            display,
            dialog,
            hop: answered.hop,
            cpim,
            joining: JoiningMethod::DialedOut,
            referred_by: Some(format!("sip:{referrer}")),
            confirmed: true,
        };
        match self.admit(conf, joining) {
            Ok(_) => 200,
            Err((status, reason)) => {
                tracing::debug!(%invitee, status, reason, "invitee answered but was not admitted");
                if let Some(bye) = spare.request(Method::Bye) {
                    let _ = self.proxy.send_to_hop(bye, &answered.hop).await;
                }
                status
            }
        }
    }
}
