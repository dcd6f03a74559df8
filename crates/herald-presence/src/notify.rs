//! The NOTIFY request of a subscription (RFC 6665 §4.2.2): built from the dialog,
//! with the subscription state and a body.
use crate::subscriptions::Dialog;
use bytes::Bytes;
use herald_sip::{HeaderName, Method, Request, SipStr, Uri};

/// `Subscription-State` of a NOTIFY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubState {
    Active { expires: u32 },
    Terminated { reason: &'static str },
}

impl SubState {
    pub fn header_value(self) -> String {
        match self {
            SubState::Active { expires } => format!("active;expires={expires}"),
            SubState::Terminated { reason } => format!("terminated;reason={reason}"),
        }
    }
}

/// A body and its Content-Type. The bytes are shared: one rendered document goes out
/// in the NOTIFY of every watcher with the same view of it.
#[derive(Clone, Debug)]
pub struct Body {
    pub content_type: String,
    pub bytes: Bytes,
}

/// Everything a NOTIFY needs beyond the dialog.
pub struct NotifyParts<'a> {
    pub dialog: &'a Dialog,
    pub cseq: u32,
    pub event: String,
    pub state: SubState,
    /// Our Contact (`sip:user@host:port;transport=x`).
    pub contact: String,
    pub user_agent: &'a str,
    /// `Require: eventlist` for resource-list NOTIFYs (RFC 4662 §5.2).
    pub eventlist: bool,
    pub body: Option<Body>,
}

/// The NOTIFY; `None` when the watcher's Contact is not a URI we can send to.
pub fn build(parts: NotifyParts<'_>) -> Option<Request> {
    let template = Template::new(
        parts.dialog,
        &parts.contact,
        parts.event,
        parts.user_agent,
        parts.eventlist,
    )?;
    Some(template.notify(parts.cseq, parts.state, parts.body))
}

/// What every NOTIFY of a subscription repeats (Request-URI, Route, From, To, Call-ID,
/// Contact, Event, User-Agent), written straight from the dialog (which is then not
/// cloned for the NOTIFY), with room for every header reserved at once; the body is
/// shared, not copied.
#[derive(Debug)]
pub struct Template {
    uri: Uri,
    routes: Vec<SipStr>,
    from: SipStr,
    to: SipStr,
    call_id: SipStr,
    contact: SipStr,
    event: SipStr,
    user_agent: SipStr,
    eventlist: bool,
}

/// Headers of a NOTIFY beyond the routes: From, To, Call-ID, CSeq, Contact, Event,
/// Subscription-State, Require, User-Agent, Content-Type.
const NOTIFY_HEADERS: usize = 10;

impl Template {
    /// The template of `dialog`'s NOTIFYs with our Contact `contact`; `None` when the
    /// watcher's Contact is not a URI we can send to.
    pub fn new(
        dialog: &Dialog,
        contact: &str,
        event: String,
        user_agent: &str,
        eventlist: bool,
    ) -> Option<Template> {
        Some(Template {
            uri: Uri::parse_str(&dialog.remote_target).ok()?,
            routes: dialog.route_set.iter().cloned().map(SipStr::from).collect(),
            from: format!("<{}>;tag={}", dialog.local_uri, dialog.local_tag).into(),
            to: dialog.remote.clone().into(),
            call_id: dialog.call_id.clone().into(),
            contact: format!("<{contact}>").into(),
            event: event.into(),
            user_agent: user_agent.to_owned().into(),
            eventlist,
        })
    }

    /// The NOTIFY numbered `cseq` saying `state`, with `body`.
    pub fn notify(&self, cseq: u32, state: SubState, body: Option<Body>) -> Request {
        let mut req = Request::new(Method::Notify, self.uri.clone());
        let h = &mut req.headers;
        h.0.reserve(self.routes.len() + NOTIFY_HEADERS);
        for route in &self.routes {
            h.push(HeaderName::Route, route.clone());
        }
        h.push(HeaderName::From, self.from.clone());
        h.push(HeaderName::To, self.to.clone());
        h.push(HeaderName::CallId, self.call_id.clone());
        h.push(HeaderName::CSeq, format!("{cseq} NOTIFY"));
        h.push(HeaderName::Contact, self.contact.clone());
        h.push(HeaderName::Event, self.event.clone());
        h.push(HeaderName::SubscriptionState, state.header_value());
        if self.eventlist {
            h.push(HeaderName::Require, "eventlist");
        }
        h.push(HeaderName::UserAgent, self.user_agent.clone());
        if let Some(body) = body {
            h.push(HeaderName::ContentType, body.content_type);
            req.body = body.bytes;
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notify_mirrors_the_subscribe_dialog() {
        let dialog = Dialog {
            call_id: "c1".into(),
            local_tag: "ours".into(),
            local_uri: "sip:bob@example.com".into(),
            contact_user: "bob".into(),
            remote: "\"Alice\" <sip:alice@example.com>;tag=theirs".into(),
            remote_target: "sip:alice@10.0.0.1:5070;transport=tcp".into(),
            route_set: vec!["<sip:edge.example.com;lr>".into()],
            cseq: 0,
            remote_cseq: 1,
        };
        let req = build(NotifyParts {
            dialog: &dialog,
            cseq: 3,
            event: "presence;id=9".into(),
            state: SubState::Active { expires: 599 },
            contact: "sip:bob@10.0.0.2:5060;transport=tcp".into(),
            user_agent: "Herald",
            eventlist: false,
            body: Some(Body {
                content_type: "application/pidf+xml".into(),
                bytes: Bytes::from_static(b"<presence/>"),
            }),
        })
        .unwrap();
        let text = String::from_utf8(req.to_bytes().to_vec()).unwrap();
        assert!(text.starts_with("NOTIFY sip:alice@10.0.0.1:5070;transport=tcp SIP/2.0\r\n"));
        for line in [
            "Route: <sip:edge.example.com;lr>",
            "From: <sip:bob@example.com>;tag=ours",
            "To: \"Alice\" <sip:alice@example.com>;tag=theirs",
            "CSeq: 3 NOTIFY",
            "Event: presence;id=9",
            "Subscription-State: active;expires=599",
            "Content-Type: application/pidf+xml",
            "Content-Length: 11",
        ] {
            assert!(
                text.contains(&format!("{line}\r\n")),
                "{line} missing in {text}"
            );
        }
        assert!(text.ends_with("\r\n\r\n<presence/>"));
    }

    #[test]
    fn a_template_writes_every_notify_of_the_dialog() {
        let dialog = Dialog {
            call_id: "c2".into(),
            local_tag: "ours".into(),
            local_uri: "sip:bob@example.com".into(),
            contact_user: "bob".into(),
            remote: "<sip:alice@example.com>;tag=theirs".into(),
            remote_target: "sip:alice@10.0.0.1:5070;transport=tcp".into(),
            route_set: vec![],
            cseq: 0,
            remote_cseq: 1,
        };
        let template = Template::new(
            &dialog,
            "sip:bob@10.0.0.2:5060;transport=tcp",
            "presence".into(),
            "Herald",
            true,
        )
        .unwrap();
        let body = Body {
            content_type: "multipart/related".into(),
            bytes: Bytes::from_static(b"doc"),
        };
        let first = template.notify(4, SubState::Active { expires: 60 }, Some(body.clone()));
        let last = template.notify(5, SubState::Terminated { reason: "timeout" }, None);
        // The body goes out as it is, not copied.
        assert_eq!(first.body.as_ptr(), body.bytes.as_ptr());
        let first = String::from_utf8(first.to_bytes().to_vec()).unwrap();
        let last = String::from_utf8(last.to_bytes().to_vec()).unwrap();
        for line in [
            "From: <sip:bob@example.com>;tag=ours",
            "To: <sip:alice@example.com>;tag=theirs",
            "Call-ID: c2",
            "Contact: <sip:bob@10.0.0.2:5060;transport=tcp>",
            "Require: eventlist",
        ] {
            assert!(
                first.contains(&format!("{line}\r\n")),
                "{line} missing in {first}"
            );
            assert!(
                last.contains(&format!("{line}\r\n")),
                "{line} missing in {last}"
            );
        }
        assert!(first.contains("CSeq: 4 NOTIFY\r\n"));
        assert!(first.contains("Subscription-State: active;expires=60\r\n"));
        assert!(last.contains("CSeq: 5 NOTIFY\r\n"));
        assert!(last.contains("Subscription-State: terminated;reason=timeout\r\n"));
        assert!(last.contains("Content-Length: 0\r\n"));
        assert!(!last.contains("Route:"));
        let unreachable = Dialog {
            remote_target: "not a uri".into(),
            ..dialog
        };
        assert!(Template::new(&unreachable, "sip:x@y", "presence".into(), "H", false).is_none());
    }
}
