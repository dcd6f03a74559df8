//! Making the copy of a request that goes to one target (RFC 3261 §16.6): new
//! Request-URI, Max-Forwards decremented, our Record-Route and Via on top.
use herald_sip::{HeaderName, Request, SipStr, Uri, digits};
use herald_transport::Transport;

/// Max-Forwards for requests that arrive without one, and for those we originate.
pub const DEFAULT_MAX_FORWARDS: u32 = 70;

/// The copy of `base` for one branch.
pub fn branch_request(
    base: &Request,
    uri: Option<&Uri>,
    via: String,
    record_route: &[String],
) -> Request {
    let mut req = base.clone();
    if let Some(uri) = uri {
        req.uri = uri.clone();
    }
    let hops = base
        .max_forwards()
        .map(|m| m.saturating_sub(1))
        .unwrap_or(DEFAULT_MAX_FORWARDS);
    let mut hops_text = String::with_capacity(3);
    digits::push_decimal_str(&mut hops_text, hops);
    req.headers.set(HeaderName::MaxForwards, hops_text);
    // Inserted before any existing values (§16.6 item 4); the last one pushed ends
    // up on top, nearest the next hop.
    for rr in record_route {
        req.headers
            .push_front(HeaderName::RecordRoute, SipStr::from(rr.clone()));
    }
    req.headers.push_front(HeaderName::Via, via);
    req
}

/// Our Via for a request sent over `transport` from `sent_by`.
pub fn via(transport: Transport, sent_by: &str, branch: &str) -> String {
    let transport = transport.as_str();
    let mut via = String::with_capacity(
        "SIP/2.0/".len() + transport.len() + sent_by.len() + branch.len() + 20,
    );
    for piece in [
        "SIP/2.0/", transport, " ", sent_by, ";branch=", branch, ";rport",
    ] {
        via.push_str(piece);
    }
    via
}

/// A Record-Route URI naming us at `sent_by` for `transport`, with the flow token.
pub fn record_route(transport: Transport, sent_by: &str, token: &str) -> String {
    let t = transport.as_str().to_ascii_lowercase();
    format!(
        "<sip:{sent_by};transport={t};lr;{}={token}>",
        crate::flow_token::PARAM
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::{Message, message::ParseLimits};

    fn parse(text: &str) -> Request {
        match Message::parse(text.as_bytes().to_vec().into(), &ParseLimits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_branch_copy_has_our_via_on_top_and_one_hop_less() {
        let base = parse(
            "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKa\r\n\
             Record-Route: <sip:other.example.net;lr>\r\nMax-Forwards: 10\r\nFrom: <sip:alice@example.com>;tag=1\r\n\
             To: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        );
        let contact = Uri::parse_str("sip:bob@192.0.2.1:5070;transport=tcp").unwrap();
        let rr = vec![
            record_route(Transport::Tcp, "127.0.0.1:5060", "aa"),
            record_route(Transport::Udp, "127.0.0.1:5060", "aa"),
        ];
        let out = branch_request(
            &base,
            Some(&contact),
            via(Transport::Udp, "127.0.0.1:5060", "z9hG4bKx"),
            &rr,
        );
        let text = String::from_utf8(out.to_bytes().to_vec()).unwrap();
        assert!(
            text.starts_with("INVITE sip:bob@192.0.2.1:5070;transport=tcp SIP/2.0\r\n"),
            "{text}"
        );
        assert_eq!(out.max_forwards(), Some(9));
        let vias = out.vias().unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].branch(), Some("z9hG4bKx"));
        let rrs = out.headers.values(&HeaderName::RecordRoute);
        assert_eq!(rrs.len(), 3);
        assert!(rrs[0].contains("transport=udp"), "{rrs:?}");
        assert!(rrs[1].contains("transport=tcp"));
        assert_eq!(rrs[2].as_str(), "<sip:other.example.net;lr>");
    }

    #[test]
    fn a_request_without_max_forwards_gets_the_default() {
        let base = parse(
            "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\r\n\
             From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let out = branch_request(
            &base,
            None,
            via(Transport::Udp, "127.0.0.1:5060", "z9hG4bKx"),
            &[],
        );
        assert_eq!(out.max_forwards(), Some(DEFAULT_MAX_FORWARDS));
    }
}
