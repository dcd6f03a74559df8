//! The state a user agent keeps for one dialog (RFC 3261 §12) and the requests it
//! sends within it. Herald is a user agent when it is the conference focus and when it
//! notifies watchers: it answers a request that makes a dialog ([`Dialog::as_uas`]), or
//! gets a 2xx to a request of its own ([`Dialog::as_uac`]), and then sends requests in
//! that dialog ([`Dialog::request`]). No I/O: where a request goes is up to the caller.
use herald_sip::{HeaderName, Method, NameAddr, Request, Response, SipStr, Uri};

/// Why a message cannot make a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogError(pub &'static str);

impl std::fmt::Display for DialogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DialogError {}

/// One dialog, seen from our side.
#[derive(Clone, Debug)]
pub struct Dialog {
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// Our address (From of our requests), as written, without the tag.
    pub local: String,
    /// The peer's tag.
    pub remote_tag: String,
    /// The peer's address (To of our requests), as written, tag included.
    pub remote: String,
    /// The peer's Contact: the Request-URI of our requests.
    pub remote_target: String,
    /// Route set, in the order our requests carry it.
    pub route_set: Vec<String>,
    /// The CSeq of our last request.
    pub local_cseq: u32,
    /// The CSeq of the peer's last request (`None` before the first).
    pub remote_cseq: Option<u32>,
}

/// What the CSeq of a request from the peer says (§12.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteCseq {
    /// Higher than the last one: a new request.
    New,
    /// Not higher: out of order (answer 500).
    OutOfOrder,
}

fn contact_uri(headers: &herald_sip::Headers) -> Result<String, DialogError> {
    let value = headers
        .get(&HeaderName::Contact)
        .ok_or(DialogError("no Contact"))?;
    let contact = NameAddr::parse(value).map_err(|_| DialogError("unparseable Contact"))?;
    Ok(contact.uri.to_string())
}

/// The header value without its `tag` parameter (our From is written tag-less and
/// the tag appended when a request is built).
fn without_tag(addr: &NameAddr) -> String {
    let mut a = addr.clone();
    a.params.remove("tag");
    let mut out = Vec::with_capacity(64);
    a.write_to(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

impl Dialog {
    /// The dialog made by our 2xx to `req` (§12.1.1), with `local_tag` as the To tag
    /// of that 2xx.
    pub fn as_uas(req: &Request, local_tag: &str) -> Result<Dialog, DialogError> {
        let call_id = req.call_id().ok_or(DialogError("no Call-ID"))?;
        let from = req.from().map_err(|_| DialogError("unparseable From"))?;
        let to = req.to().map_err(|_| DialogError("unparseable To"))?;
        let remote_tag = from.tag().ok_or(DialogError("no From tag"))?.to_owned();
        let cseq = req.cseq().map_err(|_| DialogError("unparseable CSeq"))?;
        let mut remote = Vec::with_capacity(64);
        from.write_to(&mut remote);
        Ok(Dialog {
            call_id: call_id.to_owned(),
            local_tag: local_tag.to_owned(),
            local: without_tag(&to),
            remote_tag,
            remote: String::from_utf8_lossy(&remote).into_owned(),
            remote_target: contact_uri(&req.headers)?,
            route_set: req
                .headers
                .values(&HeaderName::RecordRoute)
                .iter()
                .map(|v| v.as_str().to_owned())
                .collect(),
            local_cseq: 0,
            remote_cseq: Some(cseq.seq),
        })
    }

    /// The dialog made by the 2xx `resp` to our request `req` (§12.1.2).
    pub fn as_uac(req: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        let call_id = req.call_id().ok_or(DialogError("no Call-ID"))?;
        let from = req.from().map_err(|_| DialogError("unparseable From"))?;
        let to = resp.to().map_err(|_| DialogError("unparseable To"))?;
        let local_tag = from.tag().ok_or(DialogError("no From tag"))?.to_owned();
        let remote_tag = to.tag().ok_or(DialogError("no To tag"))?.to_owned();
        let cseq = req.cseq().map_err(|_| DialogError("unparseable CSeq"))?;
        let mut remote = Vec::with_capacity(64);
        to.write_to(&mut remote);
        let mut route_set: Vec<String> = resp
            .headers
            .values(&HeaderName::RecordRoute)
            .iter()
            .map(|v| v.as_str().to_owned())
            .collect();
        route_set.reverse();
        Ok(Dialog {
            call_id: call_id.to_owned(),
            local_tag,
            local: without_tag(&from),
            remote_tag,
            remote: String::from_utf8_lossy(&remote).into_owned(),
            remote_target: contact_uri(&resp.headers)?,
            route_set,
            local_cseq: cseq.seq,
            remote_cseq: None,
        })
    }

    /// How our side finds the dialog: its Call-ID and our tag (the To tag of the
    /// peer's requests).
    pub fn id(&self) -> (String, String) {
        (self.call_id.clone(), self.local_tag.clone())
    }

    /// Our address with our tag: the From of our requests, the To of our answers.
    pub fn local_header(&self) -> String {
        format!("{};tag={}", self.local, self.local_tag)
    }

    /// Checks and records the CSeq of a request from the peer.
    pub fn remote_request(&mut self, cseq: u32) -> RemoteCseq {
        match self.remote_cseq {
            Some(last) if cseq <= last => RemoteCseq::OutOfOrder,
            _ => {
                self.remote_cseq = Some(cseq);
                RemoteCseq::New
            }
        }
    }

    /// A target refresh (re-INVITE, UPDATE, in-dialog SUBSCRIBE) carried a new Contact.
    pub fn refresh_target(&mut self, req: &Request) {
        if let Ok(uri) = contact_uri(&req.headers) {
            self.remote_target = uri;
        }
    }

    /// The next request of ours in this dialog: Request-URI, Route, From, To, Call-ID
    /// and a CSeq one above the last. No Via, Max-Forwards or Contact: the sender adds
    /// those. `None` when the peer's Contact is not a URI we can send to.
    pub fn request(&mut self, method: Method) -> Option<Request> {
        let uri = Uri::parse_str(&self.remote_target).ok()?;
        self.local_cseq = self.local_cseq.wrapping_add(1).max(1);
        Some(self.build(method.clone(), uri, self.local_cseq, method))
    }

    /// The ACK for the 2xx to our INVITE with CSeq `invite_cseq` (§13.2.2.4).
    pub fn ack(&self, invite_cseq: u32) -> Option<Request> {
        let uri = Uri::parse_str(&self.remote_target).ok()?;
        Some(self.build(Method::Ack, uri, invite_cseq, Method::Ack))
    }

    fn build(&self, method: Method, uri: Uri, cseq: u32, cseq_method: Method) -> Request {
        let mut req = Request::new(method, uri);
        let h = &mut req.headers;
        for route in &self.route_set {
            h.push(HeaderName::Route, SipStr::from(route.clone()));
        }
        h.push(HeaderName::From, self.local_header());
        h.push(HeaderName::To, self.remote.clone());
        h.push(HeaderName::CallId, self.call_id.clone());
        h.push(HeaderName::CSeq, format!("{cseq} {}", cseq_method.as_str()));
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::Message;
    use herald_sip::message::ParseLimits;

    fn parse(raw: &str) -> Message {
        match Message::parse(bytes::Bytes::from(raw.to_owned()), &ParseLimits::default()) {
            Ok(m) => m,
            Err(e) => panic!("test message does not parse: {:?}", e.error),
        }
    }

    fn request(raw: &str) -> Request {
        match parse(raw) {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
    }

    fn response(raw: &str) -> Response {
        match parse(raw) {
            Message::Response(r) => r,
            Message::Request(_) => panic!("not a response"),
        }
    }

    const INVITE: &str = "INVITE sip:conf-factory@d.test SIP/2.0\r\n\
        Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKa\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\" <sip:alice@d.test>;tag=a1\r\n\
        To: <sip:conf-factory@d.test>\r\n\
        Call-ID: c1@host\r\n\
        CSeq: 7 INVITE\r\n\
        Record-Route: <sip:p1.d.test;lr>\r\n\
        Record-Route: <sip:p2.d.test;lr>\r\n\
        Contact: <sip:alice@10.0.0.1:5060;transport=tcp>;+sip.instance=\"x\"\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn a_uas_dialog_mirrors_the_request() {
        let req = request(INVITE);
        let mut d = Dialog::as_uas(&req, "f1").expect("dialog");
        assert_eq!(d.call_id, "c1@host");
        assert_eq!(d.remote_tag, "a1");
        assert_eq!(d.local, "<sip:conf-factory@d.test>");
        assert_eq!(d.remote_target, "sip:alice@10.0.0.1:5060;transport=tcp");
        assert_eq!(d.local_header(), "<sip:conf-factory@d.test>;tag=f1");
        assert_eq!(d.id(), ("c1@host".to_owned(), "f1".to_owned()));
        assert_eq!(
            d.route_set,
            vec!["<sip:p1.d.test;lr>", "<sip:p2.d.test;lr>"]
        );
        let m = d.request(Method::Message).expect("request");
        let text = String::from_utf8_lossy(&m.to_bytes()).into_owned();
        assert!(text.starts_with("MESSAGE sip:alice@10.0.0.1:5060;transport=tcp SIP/2.0\r\n"));
        assert!(
            text.contains("From: <sip:conf-factory@d.test>;tag=f1\r\n"),
            "{text}"
        );
        assert!(
            text.contains("To: \"Alice\" <sip:alice@d.test>;tag=a1\r\n"),
            "{text}"
        );
        assert!(text.contains("CSeq: 1 MESSAGE\r\n"), "{text}");
        assert!(text.find("p1.d.test") < text.find("p2.d.test"));
        let n = d.request(Method::Bye).expect("request");
        assert_eq!(n.cseq().map(|c| c.seq).ok(), Some(2));
    }

    #[test]
    fn remote_cseq_must_go_up() {
        let mut d = Dialog::as_uas(&request(INVITE), "f1").expect("dialog");
        assert_eq!(d.remote_request(7), RemoteCseq::OutOfOrder);
        assert_eq!(d.remote_request(8), RemoteCseq::New);
        assert_eq!(d.remote_request(8), RemoteCseq::OutOfOrder);
        assert_eq!(d.remote_request(100), RemoteCseq::New);
    }

    #[test]
    fn a_uac_dialog_takes_the_response() {
        let invite = request(
            "INVITE sip:bob@d.test SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb\r\n\
             From: <sip:conf-1@d.test>;tag=f9\r\n\
             To: <sip:bob@d.test>\r\n\
             Call-ID: c2\r\n\
             CSeq: 1 INVITE\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let ok = response(
            "SIP/2.0 200 OK\r\n\
             Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb\r\n\
             From: <sip:conf-1@d.test>;tag=f9\r\n\
             To: <sip:bob@d.test>;tag=b7\r\n\
             Call-ID: c2\r\n\
             CSeq: 1 INVITE\r\n\
             Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n\
             Contact: <sip:bob@10.0.0.2:5070>\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let mut d = Dialog::as_uac(&invite, &ok).expect("dialog");
        assert_eq!((d.local_tag.as_str(), d.remote_tag.as_str()), ("f9", "b7"));
        assert_eq!(d.route_set, vec!["<sip:p2;lr>", "<sip:p1;lr>"]);
        let ack = d.ack(1).expect("ack");
        assert_eq!(ack.cseq().map(|c| c.seq).ok(), Some(1));
        assert_eq!(ack.uri.to_string(), "sip:bob@10.0.0.2:5070");
        let bye = d.request(Method::Bye).expect("bye");
        assert_eq!(bye.cseq().map(|c| c.seq).ok(), Some(2));
    }

    #[test]
    fn no_contact_no_dialog() {
        let raw = INVITE.replace(
            "Contact: <sip:alice@10.0.0.1:5060;transport=tcp>;+sip.instance=\"x\"\r\n",
            "",
        );
        assert_eq!(
            Dialog::as_uas(&request(&raw), "t").err(),
            Some(DialogError("no Contact"))
        );
        let raw = INVITE.replace(";tag=a1", "");
        assert_eq!(
            Dialog::as_uas(&request(&raw), "t").err(),
            Some(DialogError("no From tag"))
        );
    }
}
