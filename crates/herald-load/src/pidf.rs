//! The two PIDF facts the presence benchmark needs: the availability number a NOTIFY
//! carries, and a PUBLISH body stating one.
//!
//! Herald carries the exact number in an element `availability` of the namespace
//! [`AVAILABILITY_NS`] inside the person; Kamailio (presence_xml) relays the document
//! of a presentity's one publication, so the element the PUBLISH carried comes back
//! as it was. The prefix is the server's choice, so the element is found by namespace:
//! any prefix declared for that namespace anywhere in the document (or a default
//! namespace declaration) qualifies. Scoping of the declarations is not followed: a
//! load generator needs to read these documents, not to validate XML.

/// Herald's namespace for the availability number.
pub const AVAILABILITY_NS: &str = "urn:herald:params:xml:ns:pidf:availability";

/// The availability number in a PIDF document, if it has one.
pub fn availability(body: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(body).ok()?;
    let prefixes = prefixes_bound_to(text, AVAILABILITY_NS);
    if prefixes.is_empty() {
        return None;
    }
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let tag_text = rest.get(open + 1..).unwrap_or_default();
        let name_end = tag_text
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(tag_text.len());
        let name = tag_text.get(..name_end).unwrap_or_default();
        let (prefix, local) = name.rsplit_once(':').unwrap_or(("", name));
        let close = tag_text.find('>')?;
        let after_tag = tag_text.get(close + 1..).unwrap_or_default();
        let self_closing = tag_text.get(..close).is_some_and(|t| t.ends_with('/'));
        if local == "availability" && !self_closing && prefixes.contains(&prefix) {
            let content_end = after_tag.find('<').unwrap_or(after_tag.len());
            return after_tag.get(..content_end)?.trim().parse().ok();
        }
        rest = after_tag;
    }
    None
}

/// Prefixes declared for `namespace` (`xmlns:p="ns"`), `""` for `xmlns="ns"`.
fn prefixes_bound_to<'a>(text: &'a str, namespace: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("xmlns") {
        let after = rest.get(at + "xmlns".len()..).unwrap_or_default();
        rest = after;
        let (prefix, after_name) = match after.strip_prefix(':') {
            Some(named) => {
                let end = named
                    .find(|c: char| c == '=' || c.is_ascii_whitespace())
                    .unwrap_or(named.len());
                (named.get(..end).unwrap_or_default(), named.get(end..))
            }
            None => ("", Some(after)),
        };
        let Some(value) = after_name
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('='))
            .map(str::trim_start)
        else {
            continue;
        };
        let Some(quote) = value.chars().next().filter(|q| *q == '"' || *q == '\'') else {
            continue;
        };
        let inner = value.get(1..).unwrap_or_default();
        if let Some(end) = inner.find(quote)
            && inner.get(..end) == Some(namespace)
        {
            found.push(prefix);
        }
    }
    found
}

/// A PUBLISH body for `entity` (a sip URI) stating `availability`.
pub fn publish_body(entity: &str, availability: u32) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
         xmlns:ha=\"{AVAILABILITY_NS}\" entity=\"{entity}\">\r\n\
         <tuple id=\"t1\"><status><basic>open</basic></status></tuple>\r\n\
         <dm:person id=\"p1\"><ha:availability>{availability}</ha:availability></dm:person>\r\n\
         </presence>\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_publishes() {
        for n in [0, 3500, 6512, 15599, 18000] {
            assert_eq!(
                availability(publish_body("sip:u1@bench.test", n).as_bytes()),
                Some(n)
            );
        }
    }

    #[test]
    fn reads_the_document_kamailio_relays() {
        // A NOTIFY body from Kamailio 5.6 (presence + presence_xml) after one PUBLISH
        // of `publish_body`: the published document, XML declaration rewritten.
        let relayed = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence \
            xmlns=\"urn:ietf:params:xml:ns:pidf\" \
            xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
            xmlns:ha=\"urn:herald:params:xml:ns:pidf:availability\" \
            entity=\"sip:u00006@bench.test\">\n<tuple id=\"t1\"><status><basic>open</basic>\
            </status></tuple>\n<dm:person id=\"p1\"><ha:availability>3500</ha:availability>\
            </dm:person>\n</presence>\n";
        assert_eq!(availability(relayed.as_bytes()), Some(3500));
    }

    #[test]
    fn any_prefix_bound_to_the_namespace() {
        let doc = format!(
            r#"<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x = '{AVAILABILITY_NS}' entity="sip:a@b">
            <tuple id="t"><status><basic>open</basic></status></tuple>
            <person xmlns="urn:ietf:params:xml:ns:pidf:data-model"><x:availability> 6500 </x:availability></person></presence>"#
        );
        assert_eq!(availability(doc.as_bytes()), Some(6500));
    }

    #[test]
    fn default_namespace_on_the_element() {
        let doc = format!(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><person><availability xmlns="{AVAILABILITY_NS}">9000</availability></person></presence>"#
        );
        assert_eq!(availability(doc.as_bytes()), Some(9000));
    }

    #[test]
    fn ignores_same_local_name_in_other_namespaces() {
        let doc = format!(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:o="urn:other" xmlns:ha="{AVAILABILITY_NS}">
            <o:availability>1</o:availability><ha:availability/><ha:availability>15500</ha:availability></presence>"#
        );
        assert_eq!(availability(doc.as_bytes()), Some(15500));
        let unbound =
            r#"<presence xmlns:o="urn:other"><o:availability>1</o:availability></presence>"#;
        assert_eq!(availability(unbound.as_bytes()), None);
    }

    #[test]
    fn bad_documents_give_none() {
        let ns = AVAILABILITY_NS;
        for doc in [
            String::new(),
            "not xml at all".into(),
            format!(r#"<p xmlns:ha="{ns}"><ha:availability>lots</ha:availability></p>"#),
            format!(r#"<p xmlns:ha="{ns}"><ha:availability>-5</ha:availability></p>"#),
            format!(r#"<p xmlns:ha="{ns}"><ha:availability"#),
            format!(r#"<p xmlns:ha="{ns}"><ha:availability>99999999999</ha:availability></p>"#),
            format!(r#"<p xmlns:ha="{ns}"#),
        ] {
            assert_eq!(availability(doc.as_bytes()), None, "{doc}");
        }
        assert_eq!(availability(&[0xff, 0xfe, b'<']), None);
    }
}
