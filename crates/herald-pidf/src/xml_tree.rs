//! A small owned, namespace-resolved XML element tree, built with quick-xml under
//! [`Limits`]. Every document parser of this crate (PIDF, watcherinfo, RLMI) reads the
//! body into this tree first and then walks it: the limits are enforced in one place,
//! and the walkers never see prefixes, entities or a DTD.
//!
//! What is refused here, whatever the document type: non-UTF-8 input, a DTD (no entity
//! expansion, ever), undeclared prefixes, mismatched or unclosed tags, duplicate
//! attributes, text or a second element outside the root, characters that XML 1.0
//! does not allow, and anything over the limits.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::error::{PidfError, shown};
use crate::limits::Limits;
use crate::namespaces;

/// One element: its expanded name, attributes, child elements and the character data
/// directly inside it (all text nodes and CDATA sections concatenated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// Namespace URI; `None` when the name is in no namespace.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    pub text: String,
}

/// One attribute other than a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

impl Element {
    /// Whether this element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// The value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The value of the attribute `{ns}name`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// `xml:lang`, if present and not empty.
    pub fn lang(&self) -> Option<&str> {
        self.attr_ns(namespaces::XML, "lang")
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }

    /// The character data with XML whitespace trimmed from both ends.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim_matches(is_xml_space)
    }

    /// `prefix:name`-like label for reasons: the local name, shortened.
    pub fn label(&self) -> String {
        shown(&self.name)
    }
}

/// XML's whitespace (S production): space, tab, CR, LF.
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Whether `c` is a character XML 1.0 allows in a document (the Char production).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Parses `body` into its root element under `limits`.
pub(crate) fn parse_document(body: &[u8], limits: &Limits) -> Result<Element, PidfError> {
    if body.len() > limits.max_bytes {
        return Err(PidfError::new(
            crate::ErrorKind::TooLarge,
            format!("document larger than {} bytes", limits.max_bytes),
        ));
    }
    let text =
        std::str::from_utf8(body).map_err(|_| PidfError::malformed("document is not UTF-8"))?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    TreeBuilder::new(limits).build(text)
}

struct TreeBuilder<'l> {
    limits: &'l Limits,
    open: Vec<Element>,
    root: Option<Element>,
    elements: usize,
    seen_any: bool,
}

impl<'l> TreeBuilder<'l> {
    fn new(limits: &'l Limits) -> Self {
        TreeBuilder {
            limits,
            open: Vec::new(),
            root: None,
            elements: 0,
            seen_any: false,
        }
    }

    fn build(mut self, text: &str) -> Result<Element, PidfError> {
        let mut reader = NsReader::from_str(text);
        reader.config_mut().check_end_names = true;
        reader.config_mut().check_comments = true;
        loop {
            let (resolved, event) = reader.read_resolved_event().map_err(|e| xml_error(&e))?;
            // The resolution borrows the reader; own it so attributes can be resolved.
            let element_ns = owned_namespace(resolved);
            // Only the very first thing in a document may be the XML declaration.
            let first = !self.seen_any;
            self.seen_any = true;
            match event {
                Event::Start(start) => {
                    let element = self.element(&reader, element_ns, &start)?;
                    self.open.push(element);
                }
                Event::Empty(start) => {
                    let element = self.element(&reader, element_ns, &start)?;
                    self.close(element)?;
                }
                Event::End(_) => {
                    let element = self
                        .open
                        .pop()
                        .ok_or_else(|| PidfError::malformed("unexpected end tag"))?;
                    self.close(element)?;
                }
                Event::Text(t) => {
                    let unescaped = t.unescape().map_err(|e| xml_error(&e))?;
                    self.text(&unescaped)?;
                }
                Event::CData(c) => {
                    let raw = std::str::from_utf8(&c)
                        .map_err(|_| PidfError::malformed("CDATA is not UTF-8"))?;
                    self.text(raw)?;
                }
                Event::Decl(decl) => {
                    if !first {
                        return Err(PidfError::malformed("XML declaration not at the start"));
                    }
                    if let Some(encoding) = decl.encoding() {
                        let encoding =
                            encoding.map_err(|_| PidfError::malformed("bad XML declaration"))?;
                        if !encoding.eq_ignore_ascii_case(b"utf-8") {
                            return Err(PidfError::malformed("only UTF-8 documents are accepted"));
                        }
                    }
                }
                Event::DocType(_) => return Err(PidfError::malformed("DTDs are not accepted")),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if !self.open.is_empty() {
            return Err(PidfError::malformed("document ends inside an element"));
        }
        self.root
            .ok_or_else(|| PidfError::malformed("no root element"))
    }

    fn element(
        &mut self,
        reader: &NsReader<&[u8]>,
        element_ns: Result<Option<String>, ()>,
        start: &BytesStart<'_>,
    ) -> Result<Element, PidfError> {
        if self.root.is_some() {
            return Err(PidfError::malformed("content after the root element"));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(PidfError::too_complex(format!(
                "more than {} elements",
                self.limits.max_elements
            )));
        }
        if self.open.len() + 1 > self.limits.max_depth {
            return Err(PidfError::too_complex(format!(
                "nested deeper than {}",
                self.limits.max_depth
            )));
        }
        let qname = utf8(start.name().into_inner())?;
        let name = utf8(start.local_name().into_inner())?;
        check_name(qname)?;
        let ns = element_ns.map_err(|()| undeclared(qname))?;

        let mut attrs = Vec::new();
        let mut count = 0usize;
        for attr in start.attributes() {
            let attr = attr.map_err(|e| PidfError::malformed(format!("bad attribute: {e}")))?;
            count += 1;
            if count > self.limits.max_attributes {
                return Err(PidfError::too_complex(format!(
                    "more than {} attributes on <{}>",
                    self.limits.max_attributes,
                    shown(name)
                )));
            }
            let key = utf8(attr.key.into_inner())?;
            check_name(key)?;
            let value = attr.unescape_value().map_err(|e| xml_error(&e))?;
            check_chars(&value)?;
            if value.len() > self.limits.max_text_bytes {
                return Err(PidfError::too_complex(format!(
                    "attribute {} too long",
                    shown(key)
                )));
            }
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let (attr_resolved, local) = reader.resolve_attribute(attr.key);
            let attr_ns = owned_namespace(attr_resolved).map_err(|()| undeclared(key))?;
            attrs.push(Attr {
                ns: attr_ns,
                name: utf8(local.into_inner())?.to_owned(),
                value: value.into_owned(),
            });
        }
        Ok(Element {
            ns,
            name: name.to_owned(),
            attrs,
            children: Vec::new(),
            text: String::new(),
        })
    }

    fn close(&mut self, element: Element) -> Result<(), PidfError> {
        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), PidfError> {
        check_chars(text)?;
        match self.open.last_mut() {
            Some(parent) => {
                if parent.text.len() + text.len() > self.limits.max_text_bytes {
                    return Err(PidfError::too_complex(format!(
                        "text in <{}> too long",
                        parent.label()
                    )));
                }
                parent.text.push_str(text);
                Ok(())
            }
            None if text.chars().all(is_xml_space) => Ok(()),
            None => Err(PidfError::malformed("text outside the root element")),
        }
    }
}

/// A resolved namespace as an owned URI; `Err` for an undeclared prefix. Namespace
/// names come from the (UTF-8) document, so lossy conversion never actually loses.
fn owned_namespace(resolved: ResolveResult<'_>) -> Result<Option<String>, ()> {
    match resolved {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.into_inner()).into_owned())),
        ResolveResult::Unknown(_) => Err(()),
    }
}

fn undeclared(qname: &str) -> PidfError {
    PidfError::malformed(format!("undeclared prefix in {}", shown(qname)))
}

fn utf8(bytes: &[u8]) -> Result<&str, PidfError> {
    std::str::from_utf8(bytes).map_err(|_| PidfError::malformed("name is not UTF-8"))
}

/// A (possibly prefixed) XML name: at most one colon, each side a plausible NCName.
/// Exact XML name classes are not checked; this stops garbage like `<1>` or `<a:>`.
fn check_name(qname: &str) -> Result<(), PidfError> {
    let mut parts = qname.split(':');
    let ok = match (parts.next(), parts.next(), parts.next()) {
        (Some(local), None, None) => is_ncname(local),
        (Some(prefix), Some(local), None) => is_ncname(prefix) && is_ncname(local),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(PidfError::malformed(format!(
            "bad XML name {}",
            shown(qname)
        )))
    }
}

fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_alphabetic() || first == '_' || !first.is_ascii() && is_xml_char(first))
        && chars.all(|c| {
            c.is_alphanumeric() || matches!(c, '-' | '.' | '_') || !c.is_ascii() && is_xml_char(c)
        })
}

fn check_chars(text: &str) -> Result<(), PidfError> {
    if text.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(PidfError::malformed("character not allowed in XML"))
    }
}

fn xml_error(e: &quick_xml::Error) -> PidfError {
    PidfError::malformed(format!("not well-formed XML: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn parse(text: &str) -> Result<Element, PidfError> {
        parse_document(text.as_bytes(), &Limits::DOCUMENT)
    }

    #[test]
    fn resolves_namespaces_of_elements_and_attributes() {
        let root = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<a xmlns="urn:one" xmlns:t="urn:two" x="1" t:y="2"><t:b xml:lang="en">hi &amp; bye</t:b><c/></a>"#,
        )
        .unwrap();
        assert!(root.is("urn:one", "a"));
        assert_eq!(root.attr("x"), Some("1"));
        assert_eq!(root.attr("y"), None);
        assert_eq!(root.attr_ns("urn:two", "y"), Some("2"));
        assert_eq!(root.children.len(), 2);
        assert!(root.children[0].is("urn:two", "b"));
        assert_eq!(root.children[0].text, "hi & bye");
        assert_eq!(root.children[0].lang(), Some("en"));
        assert!(root.children[1].is("urn:one", "c"));
    }

    #[test]
    fn cdata_and_char_refs_become_text() {
        let root = parse("<a>x<![CDATA[<y>]]>&#65;&#x42;</a>").unwrap();
        assert_eq!(root.text, "x<y>AB");
    }

    #[test]
    fn refuses_what_is_not_well_formed() {
        for bad in [
            "",
            "   ",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>trailing",
            "text<a/>",
            "<p:a/>",
            "<a x='1' x='2'/>",
            "<a>&unknown;</a>",
            "<a>&#0;</a>",
            "<a>&#1;</a>",
            "<a>\u{1}</a>",
            "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
            "<a/><?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
            "<1a/>",
            "<a:b:c xmlns:a='urn:x'/>",
            "</a>",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::Malformed, "{bad}: {err}");
        }
        let err = parse_document(b"<a>\xff</a>", &Limits::DOCUMENT).unwrap_err();
        assert_eq!(err.reason(), "document is not UTF-8");
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_bytes: 100,
            max_depth: 3,
            max_elements: 4,
            max_attributes: 2,
            max_text_bytes: 5,
            max_parts: 1,
        };
        let check = |doc: &str, kind: ErrorKind| {
            let err = parse_document(doc.as_bytes(), &limits).expect_err(doc);
            assert_eq!(err.kind(), kind, "{doc}: {err}");
        };
        check(&format!("<a>{}</a>", " ".repeat(100)), ErrorKind::TooLarge);
        check("<a><b><c><d/></c></b></a>", ErrorKind::TooComplex);
        check("<a><b/><b/><b/><b/></a>", ErrorKind::TooComplex);
        check("<a x='1' y='2' z='3'/>", ErrorKind::TooComplex);
        check("<a>123456</a>", ErrorKind::TooComplex);
        check("<a>123<!---->456</a>", ErrorKind::TooComplex);
        check("<a x='123456'/>", ErrorKind::TooComplex);
        assert!(parse_document(b"<a><b><c/></b><b/></a>", &limits).is_ok());
    }

    #[test]
    fn accepts_bom_comments_and_processing_instructions() {
        let root = parse(
            "\u{FEFF}<?xml version='1.0'?><!-- c --><?pi x?><a><!-- inner -->t</a><!-- after -->\n",
        )
        .unwrap();
        assert_eq!(root.text, "t");
    }
}
