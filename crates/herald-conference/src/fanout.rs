//! A participant's MESSAGE goes to every other participant, in its dialog with the
//! focus. The From of a request in a dialog is the dialog's (the conference), so the
//! sender is named twice over: a `P-Asserted-Identity` header on every copy, and a
//! `message/cpim` wrapper (RFC 3862) whose From is the sender for participants that
//! said they take CPIM. Typing indications (RFC 3994) fan out the same way. Each
//! participant's copies wait in its own bounded queue: one that falls behind is
//! dropped from the conference, never the others held up.
use crate::id::ConfId;
use crate::outbox::{OutItem, Reserve};
use crate::service::ConferenceService;
use bytes::Bytes;
use herald_conference_docs::conference_info::DisconnectionMethod;
use herald_conference_docs::cpim;
use herald_im::archive::ImRecord;
use herald_proxy::Upstream;
use herald_sip::{HeaderName, Method, SipStr};
use herald_store::ImMode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// `application/im-iscomposing+xml`.
const IS_COMPOSING: &str = "application/im-iscomposing+xml";
/// What participants may send besides text/*.
const ACCEPTED: &str = "text/plain, text/html, message/cpim, application/im-iscomposing+xml";

fn header_p_asserted_identity() -> HeaderName {
    HeaderName::Other(SipStr::from_static("P-Asserted-Identity"))
}

/// `"Display" <sip:aor>` or `<sip:aor>`.
fn identity(display: Option<&str>, aor: &str) -> String {
    match display {
        Some(name) => {
            let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\" <sip:{aor}>")
        }
        None => format!("<sip:{aor}>"),
    }
}

impl ConferenceService {
    pub(crate) async fn message(self: &Arc<Self>, up: Upstream, conf: ConfId, sender: u64) {
        let req = &up.request;
        let Some(media) = req.media_type().map(str::to_ascii_lowercase) else {
            return self
                .reply(&up, 400, Some("Bad Request (no Content-Type)"))
                .await;
        };
        if req.body.len() > self.config.max_body_bytes {
            return self.reply(&up, 413, None).await;
        }
        // A CPIM message from the sender is unwrapped: only its content is theirs to
        // choose; who sent it is ours to say.
        let (content_type, body): (SipStr, Bytes) = if media == cpim::CONTENT_TYPE {
            match cpim::parse(&req.body, &Default::default()) {
                Ok(m) => (SipStr::from(m.content_type), Bytes::from(m.body)),
                Err(e) => {
                    let reason = format!("Bad Request (CPIM: {e})");
                    return self.reply(&up, 400, Some(&reason)).await;
                }
            }
        } else if media.starts_with("text/") || media == IS_COMPOSING {
            let ct = req
                .content_type()
                .map(|c| SipStr::from(c.to_owned()))
                .unwrap_or_else(|| SipStr::from_static("text/plain"));
            (ct, req.body.clone())
        } else {
            let mut resp = self.response(req, 415, None);
            resp.headers.push(HeaderName::Accept, ACCEPTED);
            return self.proxy.wire().respond(&up.key, &resp).await;
        };
        if body.is_empty() {
            return self
                .reply(&up, 400, Some("Bad Request (empty message)"))
                .await;
        }
        let typing = content_type
            .as_str()
            .split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(IS_COMPOSING));

        // Room for a copy in every other participant's queue is reserved first, so a
        // message goes to everyone or to no one. A full queue is the participant's
        // fault only when it stopped answering; otherwise the server is behind and the
        // sender is asked to come back (503), which slows senders down to what the
        // server can carry instead of dropping participants who keep up.
        let reserved = {
            let state = self.state.lock();
            state.conferences.get(&conf).and_then(|c| {
                let me = c.participant(sender)?;
                let mut room = Vec::with_capacity(c.participants.len());
                let (mut stalled, mut behind) = (Vec::new(), false);
                for p in c.participants.iter().filter(|p| p.id != sender) {
                    match p.outbox.reserve() {
                        Reserve::Room(permit) => room.push((permit, p.cpim)),
                        Reserve::Full if p.outbox.stalled(self.config.stall_timeout) => {
                            stalled.push(p.id)
                        }
                        Reserve::Full => behind = true,
                        Reserve::Closed => {}
                    }
                }
                Some(Reserved {
                    aor: me.aor.clone(),
                    display: me.display.clone(),
                    conf_uri: c.uri.clone(),
                    archived: c.archived,
                    room,
                    stalled,
                    behind,
                })
            })
        };
        let Some(r) = reserved else {
            return self.reply(&up, 481, None).await;
        };
        for p in &r.stalled {
            tracing::info!(conference = %r.conf_uri, "participant stopped keeping up: dropped");
            self.dropped_slow.fetch_add(1, Ordering::Relaxed);
            self.leave(conf, *p, DisconnectionMethod::Booted, true);
        }
        if r.behind {
            drop(r.room);
            self.deferred.fetch_add(1, Ordering::Relaxed);
            let mut resp = self.response(req, 503, Some("Service Unavailable (conference busy)"));
            resp.headers.push(HeaderName::RetryAfter, "1");
            return self.proxy.wire().respond(&up.key, &resp).await;
        }
        let (aor, display, conf_uri) = (&r.aor, r.display.as_deref(), &r.conf_uri);
        if r.archived && !typing {
            let record = ImRecord {
                sender: aor,
                recipient: crate::conference::address(conf_uri),
                call_id: req.call_id().unwrap_or_default(),
                mode: ImMode::Conference,
                content_type: content_type.as_str(),
                body: &body,
            };
            if self.archiver.write(record).await.is_err() {
                return self
                    .reply(
                        &up,
                        500,
                        Some("Server Internal Error (archive unavailable)"),
                    )
                    .await;
            }
        }

        let who = SipStr::from(identity(display, aor));
        let mut plain = OutItem::new(Method::Message);
        plain
            .headers
            .push((header_p_asserted_identity(), who.clone()));
        plain.body = Some((content_type.clone(), body.clone()));
        let mut wrapped = OutItem::new(Method::Message);
        wrapped.headers.push((header_p_asserted_identity(), who));
        wrapped.body = Some((
            SipStr::from_static(cpim::CONTENT_TYPE),
            Bytes::from(cpim::wrap(
                display,
                &format!("sip:{aor}"),
                conf_uri,
                &cpim::now_datetime(),
                content_type.as_str(),
                &body,
            )),
        ));
        let copies = r.room.len() as u64;
        for (permit, cpim) in r.room {
            permit.send(if cpim { wrapped.clone() } else { plain.clone() });
        }
        if !typing {
            let mut state = self.state.lock();
            if let Some(c) = state.conferences.get_mut(&conf) {
                c.messages += 1;
                c.last_activity = Instant::now();
            }
            drop(state);
            self.messages.fetch_add(1, Ordering::Relaxed);
        }
        self.fanned_out.fetch_add(copies, Ordering::Relaxed);
        self.reply(&up, 200, None).await;
    }
}

/// What the fan-out of one message found and reserved.
struct Reserved {
    aor: String,
    display: Option<String>,
    conf_uri: String,
    archived: bool,
    /// Room in each recipient's queue, and whether it takes CPIM.
    room: Vec<(tokio::sync::mpsc::OwnedPermit<OutItem>, bool)>,
    /// Recipients whose queue is full and who stopped answering.
    stalled: Vec<u64>,
    /// Some recipient's queue is full while it keeps answering: the server is behind.
    behind: bool,
}

#[cfg(test)]
mod tests {
    use super::identity;

    #[test]
    fn the_sender_is_named_with_a_quoted_display_name() {
        assert_eq!(identity(None, "a@d"), "<sip:a@d>");
        assert_eq!(identity(Some("Alice"), "a@d"), "\"Alice\" <sip:a@d>");
        assert_eq!(
            identity(Some("Al \"the\" \\ one"), "a@d"),
            "\"Al \\\"the\\\" \\\\ one\" <sip:a@d>"
        );
    }
}
