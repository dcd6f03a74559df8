//! The SIP messages this tool writes: out-of-dialog requests (SUBSCRIBE, PUBLISH,
//! INVITE), the ACK of an INVITE's failure answer, and the 200 that answers every
//! request the server sends (NOTIFY, a conference's MESSAGE).

use std::fmt::Write as _;
use std::net::SocketAddr;

use bytes::Bytes;
use herald_sip::{HeaderName, Method, Request, Response};

/// An out-of-dialog request from a user to a URI over this tool's TCP connection.
#[derive(Debug)]
pub struct OutRequest<'a> {
    /// Method name.
    pub method: &'a str,
    /// Request-URI (also the To URI).
    pub uri: &'a str,
    /// From URI.
    pub from: &'a str,
    /// From tag.
    pub from_tag: &'a str,
    /// Call-ID.
    pub call_id: &'a str,
    /// CSeq number.
    pub cseq: u32,
    /// Via branch (without the magic cookie).
    pub branch: &'a str,
    /// The local address of the connection (Via sent-by).
    pub local: SocketAddr,
    /// Further header lines, in order.
    pub headers: &'a [(&'a str, &'a str)],
    /// Content type and body, if any.
    pub body: Option<(&'a str, &'a [u8])>,
}

impl OutRequest<'_> {
    /// The request on the wire.
    pub fn to_bytes(&self) -> Bytes {
        let body = self.body.map(|(_, b)| b).unwrap_or_default();
        let mut text = String::with_capacity(512 + body.len());
        // Writing into a String cannot fail.
        let _ = write!(
            text,
            "{method} {uri} SIP/2.0\r\n\
             Via: SIP/2.0/TCP {local};branch=z9hG4bK{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{from}>;tag={from_tag}\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n",
            method = self.method,
            uri = self.uri,
            local = self.local,
            branch = self.branch,
            from = self.from,
            from_tag = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        for (name, value) in self.headers {
            let _ = write!(text, "{name}: {value}\r\n");
        }
        if let Some((content_type, _)) = self.body {
            let _ = write!(text, "Content-Type: {content_type}\r\n");
        }
        let _ = write!(text, "Content-Length: {}\r\n\r\n", body.len());
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(body);
        Bytes::from(bytes)
    }
}

/// The ACK of a final non-2xx answer to `invite` (RFC 3261 §17.1.1.3): same
/// Request-URI, top Via, From, Call-ID and CSeq number as the INVITE, the answer's To
/// (with its tag), the INVITE's Route. `None` when `invite` lacks what it needs.
pub fn ack_for_failure(invite: &Request, answer: &Response) -> Option<Bytes> {
    let cseq = invite.cseq().ok()?;
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &mut ack.headers;
    h.push(
        HeaderName::Via,
        invite.headers.get(&HeaderName::Via)?.clone(),
    );
    h.push(HeaderName::MaxForwards, "70");
    for route in invite.headers.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, route.clone());
    }
    h.push(
        HeaderName::From,
        invite.headers.get(&HeaderName::From)?.clone(),
    );
    h.push(HeaderName::To, answer.headers.get(&HeaderName::To)?.clone());
    h.push(
        HeaderName::CallId,
        invite.headers.get(&HeaderName::CallId)?.clone(),
    );
    h.push(HeaderName::CSeq, format!("{} ACK", cseq.seq));
    Some(ack.to_bytes())
}

/// `200 OK` to an in-dialog request (a NOTIFY): Via, From, To, Call-ID and CSeq copied.
pub fn ok_to(request: &Request) -> Bytes {
    herald_sip::response::from_request(request, 200, None, None).to_bytes()
}

/// A random token for tags, branches and Call-IDs.
pub fn token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::{Message, message::ParseLimits};

    fn parse(bytes: Bytes) -> Message {
        Message::parse(bytes, &ParseLimits::default()).expect("parses")
    }

    #[test]
    fn requests_parse_with_their_headers_and_body() {
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let body = b"<presence/>";
        let request = OutRequest {
            method: "PUBLISH",
            uri: "sip:u00001@bench.test",
            from: "sip:u00001@bench.test",
            from_tag: "ft",
            call_id: "cid-1",
            cseq: 2,
            branch: "abc",
            local,
            headers: &[("Event", "presence"), ("SIP-If-Match", "e1")],
            body: Some(("application/pidf+xml", body)),
        };
        let Message::Request(r) = parse(request.to_bytes()) else {
            panic!("not a request")
        };
        assert_eq!(r.method, Method::Publish);
        assert_eq!(r.uri.to_string(), "sip:u00001@bench.test");
        assert_eq!(r.call_id(), Some("cid-1"));
        assert_eq!(r.cseq().expect("cseq").seq, 2);
        assert_eq!(r.top_via().expect("via").branch(), Some("z9hG4bKabc"));
        assert_eq!(r.from().expect("from").tag(), Some("ft"));
        assert_eq!(r.to().expect("to").tag(), None);
        assert_eq!(
            r.headers.get(&HeaderName::SipIfMatch).map(|v| v.as_str()),
            Some("e1")
        );
        assert_eq!(r.media_type(), Some("application/pidf+xml"));
        assert_eq!(&r.body[..], body);
    }

    #[test]
    fn failure_answers_to_an_invite_are_acked_in_its_transaction() {
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let invite = OutRequest {
            method: "INVITE",
            uri: "sip:conf-factory@bench.test",
            from: "sip:u00001@bench.test",
            from_tag: "ft",
            call_id: "1.cid",
            cseq: 1,
            branch: "b1",
            local,
            headers: &[("Contact", "<sip:u00001@127.0.0.1:40000;transport=tcp>")],
            body: Some(("application/sdp", b"v=0\r\n")),
        };
        let Message::Request(invite) = parse(invite.to_bytes()) else {
            panic!("not a request")
        };
        let answer = Bytes::from(
            "SIP/2.0 407 Proxy Authentication Required\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKb1;rport=40000;received=127.0.0.1\r\n\
             From: <sip:u00001@bench.test>;tag=ft\r\nTo: <sip:conf-factory@bench.test>;tag=srv\r\n\
             Call-ID: 1.cid\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        );
        let Message::Response(answer) = parse(answer) else {
            panic!("not a response")
        };
        let Message::Request(ack) = parse(ack_for_failure(&invite, &answer).expect("ack")) else {
            panic!("not a request")
        };
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri.to_string(), "sip:conf-factory@bench.test");
        assert_eq!(ack.top_via().expect("via").branch(), Some("z9hG4bKb1"));
        assert_eq!(ack.to().expect("to").tag(), Some("srv"));
        assert_eq!(ack.from().expect("from").tag(), Some("ft"));
        assert_eq!(ack.call_id(), Some("1.cid"));
        let cseq = ack.cseq().expect("cseq");
        assert_eq!((cseq.seq, cseq.method), (1, Method::Ack));
        assert!(ack.body.is_empty());
    }

    #[test]
    fn notify_answer_copies_the_dialog_and_transaction_headers() {
        let notify = "NOTIFY sip:u00002@127.0.0.1:40000;transport=tcp SIP/2.0\r\n\
            Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bKs1\r\n\
            Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKs0\r\n\
            Max-Forwards: 70\r\n\
            From: <sip:u00001@bench.test>;tag=srv\r\n\
            To: <sip:u00002@bench.test>;tag=mine\r\n\
            Call-ID: c9\r\nCSeq: 4 NOTIFY\r\nEvent: presence\r\n\
            Subscription-State: active;expires=3599\r\nContent-Length: 0\r\n\r\n";
        let Message::Request(r) = parse(Bytes::from(notify)) else {
            panic!("not a request")
        };
        let Message::Response(answer) = parse(ok_to(&r)) else {
            panic!("not a response")
        };
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers.count(&HeaderName::Via), 2);
        assert_eq!(answer.from().expect("from").tag(), Some("srv"));
        assert_eq!(answer.to().expect("to").tag(), Some("mine"));
        assert_eq!(
            answer.headers.get(&HeaderName::CallId).map(|v| v.as_str()),
            Some("c9")
        );
        assert_eq!(answer.cseq().expect("cseq").seq, 4);
        assert!(answer.body.is_empty());
    }
}
