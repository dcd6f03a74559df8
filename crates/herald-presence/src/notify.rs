//! The NOTIFY request of a subscription (RFC 6665 §4.2.2): built from the dialog,
//! with the subscription state and a body.
use crate::subscriptions::Dialog;
use herald_sip::{HeaderName, Method, Request, Uri};

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

/// A body and its Content-Type.
#[derive(Clone, Debug)]
pub struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
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
    let d = parts.dialog;
    let uri = Uri::parse_str(&d.remote_target).ok()?;
    let mut req = Request::new(Method::Notify, uri);
    let h = &mut req.headers;
    for route in &d.route_set {
        h.push(HeaderName::Route, route.clone());
    }
    h.push(
        HeaderName::From,
        format!("<{}>;tag={}", d.local_uri, d.local_tag),
    );
    h.push(HeaderName::To, d.remote.clone());
    h.push(HeaderName::CallId, d.call_id.clone());
    h.push(HeaderName::CSeq, format!("{} NOTIFY", parts.cseq));
    h.push(HeaderName::Contact, format!("<{}>", parts.contact));
    h.push(HeaderName::Event, parts.event);
    h.push(HeaderName::SubscriptionState, parts.state.header_value());
    if parts.eventlist {
        h.push(HeaderName::Require, "eventlist");
    }
    h.push(HeaderName::UserAgent, parts.user_agent.to_owned());
    if let Some(body) = parts.body {
        h.push(HeaderName::ContentType, body.content_type);
        req.body = body.bytes.into();
    }
    Some(req)
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
                bytes: b"<presence/>".to_vec(),
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
}
