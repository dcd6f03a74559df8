//! A participant's MESSAGE goes to every other participant, in its dialog with the
//! focus. The From of a request in a dialog is the dialog's (the conference), so the
//! sender is named twice over: a `P-Asserted-Identity` header on every copy, and a
//! `message/cpim` wrapper (RFC 3862) whose From is the sender for participants that
//! said they take CPIM. Typing indications (RFC 3994) fan out the same way. Each
//! participant's copies wait in its own bounded queue: one that falls behind is
//! dropped from the conference, never the others held up.
use crate::id::ConfId;
use crate::outbox::{OutItem, Push};
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

        let found = {
            let state = self.state.lock();
            state.conferences.get(&conf).and_then(|c| {
                c.participant(sender)
                    .map(|p| (p.aor.clone(), p.display.clone(), c.uri.clone(), c.archived))
            })
        };
        let Some((aor, display, conf_uri, archived)) = found else {
            return self.reply(&up, 481, None).await;
        };
        if archived && !typing {
            let record = ImRecord {
                sender: &aor,
                recipient: crate::conference::address(&conf_uri),
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

        let who = SipStr::from(identity(display.as_deref(), &aor));
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
                display.as_deref(),
                &format!("sip:{aor}"),
                &conf_uri,
                &cpim::now_datetime(),
                content_type.as_str(),
                &body,
            )),
        ));

        let mut too_slow = Vec::new();
        let mut copies = 0u64;
        let present = {
            let mut state = self.state.lock();
            match state.conferences.get_mut(&conf) {
                None => false,
                Some(c) => {
                    for p in c.participants.iter().filter(|p| p.id != sender) {
                        let item = if p.cpim {
                            wrapped.clone()
                        } else {
                            plain.clone()
                        };
                        match p.outbox.push(item) {
                            Push::Queued => copies += 1,
                            Push::Full => too_slow.push(p.id),
                            Push::Closed => {}
                        }
                    }
                    if !typing {
                        c.messages += 1;
                        c.last_activity = Instant::now();
                    }
                    true
                }
            }
        };
        if !present {
            return self.reply(&up, 481, None).await;
        }
        if !typing {
            self.messages.fetch_add(1, Ordering::Relaxed);
        }
        self.fanned_out.fetch_add(copies, Ordering::Relaxed);
        self.reply(&up, 200, None).await;
        for p in too_slow {
            tracing::info!(conference = %conf_uri, "participant too slow: dropped");
            self.dropped_slow.fetch_add(1, Ordering::Relaxed);
            self.leave(conf, p, DisconnectionMethod::Booted, true);
        }
    }
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
