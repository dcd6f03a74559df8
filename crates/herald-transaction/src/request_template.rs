//! The parts of an INVITE we sent that its ACK (RFC 3261 §17.1.1.3) and CANCEL (§9.1)
//! must repeat, and building those two requests.
use herald_sip::{
    HeaderName, Message, Method, ParseError, Request, Response, SipStr, Uri, message::ParseLimits,
};

/// Read from the INVITE as it went on the wire, so every field is a slice of the bytes
/// the client transaction keeps for retransmission anyway, and ACK/CANCEL repeat exactly
/// what the peer saw.
#[derive(Debug)]
pub(crate) struct RequestTemplate {
    uri: Uri,
    /// The top Via, whose branch the ACK and CANCEL reuse.
    via: SipStr,
    /// Route header lines, in order (§12.2.1.1 pre-loaded routes must be repeated).
    routes: Vec<SipStr>,
    from: SipStr,
    to: SipStr,
    call_id: SipStr,
    seq: u32,
}

impl RequestTemplate {
    /// `wire` is the serialised INVITE.
    pub fn from_wire(wire: &bytes::Bytes) -> Result<RequestTemplate, ParseError> {
        // Our own message: the limits for untrusted input do not apply.
        let limits = ParseLimits {
            max_message_size: usize::MAX,
            max_headers: usize::MAX,
            max_vias: usize::MAX,
        };
        let request = match Message::parse(wire.clone(), &limits) {
            Ok(Message::Request(request)) => request,
            Ok(Message::Response(_)) => return Err(ParseError::bad("expected a request")),
            Err(rejected) => return Err(rejected.error),
        };
        let header = |name: HeaderName| -> Result<SipStr, ParseError> {
            request
                .headers
                .get(&name)
                .cloned()
                .ok_or_else(|| ParseError::bad(format!("missing {}", name.as_str())))
        };
        let via = request
            .headers
            .values(&HeaderName::Via)
            .into_iter()
            .next()
            .ok_or_else(|| ParseError::bad("missing Via"))?;
        Ok(RequestTemplate {
            via,
            routes: request
                .headers
                .get_all(&HeaderName::Route)
                .cloned()
                .collect(),
            from: header(HeaderName::From)?,
            to: header(HeaderName::To)?,
            call_id: header(HeaderName::CallId)?,
            seq: request.cseq()?.seq,
            uri: request.uri,
        })
    }

    /// The ACK for a non-2xx final response: To (with the tag) from the response.
    pub fn ack(&self, response: &Response) -> Request {
        let to = response.headers.get(&HeaderName::To).unwrap_or(&self.to);
        self.build(Method::Ack, to)
    }

    /// The CANCEL of the INVITE.
    pub fn cancel(&self) -> Request {
        self.build(Method::Cancel, &self.to)
    }

    fn build(&self, method: Method, to: &SipStr) -> Request {
        let cseq = format!("{} {}", self.seq, method.as_str());
        let mut request = Request::new(method, self.uri.clone());
        request.headers.push(HeaderName::Via, self.via.clone());
        request
            .headers
            .push(HeaderName::MaxForwards, SipStr::from_static("70"));
        for route in &self.routes {
            request.headers.push(HeaderName::Route, route.clone());
        }
        request.headers.push(HeaderName::From, self.from.clone());
        request.headers.push(HeaderName::To, to.clone());
        request
            .headers
            .push(HeaderName::CallId, self.call_id.clone());
        request.headers.push(HeaderName::CSeq, cseq);
        request
    }
}
