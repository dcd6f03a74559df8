//! The typed headers the parser already built while validating a message, kept with it
//! so that the accessors (`Request::from`, `to`, `top_via`, `contacts`) do not parse
//! them again. A registrar or proxy reads From, To, the top Via and Contact several
//! times per request; parsing each once halves the parser's share of a request.
//!
//! Headers are a public, mutable list, so every kept value remembers the exact header
//! line it came from (the same bytes of the same buffer, which it keeps alive) and is
//! used only while the message still holds that line. A line that was replaced or
//! edited is parsed afresh.
use crate::{
    header::{HeaderName, Headers},
    name_addr::{ContactValue, NameAddr},
    text::SipStr,
    via::Via,
};
use std::{fmt, sync::Arc};

/// A value parsed from one header line.
#[derive(Clone, Debug)]
pub(crate) struct Kept<T> {
    line: SipStr,
    value: T,
}

impl<T> Kept<T> {
    pub(crate) fn new(line: &SipStr, value: T) -> Kept<T> {
        Kept {
            line: line.clone(),
            value,
        }
    }

    /// The value, if `line` is still the line it was parsed from.
    fn for_line(&self, line: &SipStr) -> Option<&T> {
        self.line.same_slice(line).then_some(&self.value)
    }
}

/// What the parser kept of a message. Shared (`Arc`) so that cloning a message, as a
/// proxy does for each branch, costs a reference count rather than the parsed values.
#[derive(Clone, Default)]
pub(crate) struct Parsed(Option<Arc<ParsedHeaders>>);

#[derive(Clone, Debug, Default)]
pub(crate) struct ParsedHeaders {
    pub(crate) from: Option<Kept<NameAddr>>,
    pub(crate) to: Option<Kept<NameAddr>>,
    pub(crate) top_via: Option<Kept<Via>>,
    /// The Contact lines in order, and their values.
    pub(crate) contacts: Option<(Vec<SipStr>, ContactValue)>,
}

impl Parsed {
    pub(crate) fn new(headers: ParsedHeaders) -> Parsed {
        Parsed(Some(Arc::new(headers)))
    }

    /// Keeps `via` as the value of the new top Via line.
    pub(crate) fn set_top_via(&mut self, via: Kept<Via>) {
        let headers = self.0.get_or_insert_with(Default::default);
        Arc::make_mut(headers).top_via = Some(via);
    }

    fn headers(&self) -> Option<&ParsedHeaders> {
        self.0.as_deref()
    }

    pub(crate) fn from(&self, line: &SipStr) -> Option<&NameAddr> {
        self.headers()?.from.as_ref()?.for_line(line)
    }

    pub(crate) fn to(&self, line: &SipStr) -> Option<&NameAddr> {
        self.headers()?.to.as_ref()?.for_line(line)
    }

    pub(crate) fn top_via(&self, line: &SipStr) -> Option<&Via> {
        self.headers()?.top_via.as_ref()?.for_line(line)
    }

    /// The Contact values, if `headers` still has exactly the Contact lines parsed.
    pub(crate) fn contacts(&self, headers: &Headers) -> Option<&ContactValue> {
        let (lines, value) = self.headers()?.contacts.as_ref()?;
        let mut current = headers.get_all(&HeaderName::Contact);
        for line in lines {
            if !current.next().is_some_and(|now| now.same_slice(line)) {
                return None;
            }
        }
        current.next().is_none().then_some(value)
    }
}

/// Derived from the headers, which are compared: two messages with equal headers are
/// equal whatever either kept.
impl PartialEq for Parsed {
    fn eq(&self, _: &Parsed) -> bool {
        true
    }
}
impl Eq for Parsed {}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "kept" } else { "none" })
    }
}

#[cfg(test)]
mod tests {
    use crate::{ContactValue, HeaderName, Message, Request, message::ParseLimits, via::Via};
    use bytes::Bytes;
    use std::borrow::Cow;

    fn request() -> Request {
        let text = "REGISTER sip:example.com SIP/2.0\r\n\
            Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP 192.0.2.9\r\n\
            From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n\
            To: <sip:alice@example.com>\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n\
            Contact: <sip:alice@192.0.2.1:5060>;expires=60\r\nContent-Length: 0\r\n\r\n";
        match Message::parse(Bytes::from_static(text.as_bytes()), &ParseLimits::default()) {
            Ok(Message::Request(request)) => request,
            other => panic!("test request did not parse: {other:?}"),
        }
    }

    #[test]
    fn accessors_reuse_what_the_parser_built() {
        let req = request();
        assert!(matches!(req.from(), Ok(Cow::Borrowed(_))));
        assert!(matches!(req.to(), Ok(Cow::Borrowed(_))));
        assert!(matches!(req.top_via(), Ok(Cow::Borrowed(_))));
        assert!(matches!(req.contacts(), Ok(Cow::Borrowed(_))));
        assert_eq!(req.from().unwrap().tag(), Some("a1"));
        assert_eq!(req.top_via().unwrap().branch(), Some("z9hG4bK1"));
    }

    #[test]
    fn an_edited_header_is_parsed_afresh() {
        let mut req = request();
        req.headers
            .set(HeaderName::To, "<sip:bob@example.com>;tag=b2");
        let to = req.to().unwrap();
        assert!(matches!(to, Cow::Owned(_)));
        assert_eq!(to.uri.user.as_deref(), Some("bob"));
        assert_eq!(to.tag(), Some("b2"));

        req.headers
            .push(HeaderName::Contact, "<sip:alice@192.0.2.7>");
        let ContactValue::Addrs(addrs) = req.contacts().unwrap().into_owned() else {
            panic!("contacts");
        };
        assert_eq!(addrs.len(), 2);
        req.headers.remove(&HeaderName::Contact);
        assert_eq!(*req.contacts().unwrap(), ContactValue::Addrs(vec![]));

        // The second Via entry becomes the top one.
        req.headers.remove_first_value(&HeaderName::Via);
        assert_eq!(req.top_via().unwrap().transport.as_str(), "TCP");
    }

    #[test]
    fn a_stamped_top_via_is_kept_and_written() {
        let mut req = request();
        let mut via: Via = req.top_via().unwrap().into_owned();
        via.params.set("rport", Some("40000".into()));
        via.params.set("received", Some("198.51.100.1".into()));
        req.set_top_via(via.clone());
        assert!(matches!(req.top_via(), Ok(Cow::Borrowed(_))));
        assert_eq!(*req.top_via().unwrap(), via);
        let vias = req.vias().unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0], via);
        assert_eq!(vias[1].transport.as_str(), "TCP");
        let written = String::from_utf8(req.to_bytes().to_vec()).unwrap();
        assert!(written.contains("received=198.51.100.1"), "{written}");
        // A clone shares what was kept.
        assert!(matches!(req.clone().top_via(), Ok(Cow::Borrowed(_))));
    }
}
