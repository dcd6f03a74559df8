//! A small owned, namespace-resolved XML element tree built with quick-xml under
//! [`Limits`]. The conference-info reader walks this tree, so the limits are enforced
//! in one place and the walker never sees prefixes, entities or a DTD.
//!
//! Refused whatever the document: non-UTF-8 input, a DTD (no entity expansion, ever),
//! undeclared prefixes, mismatched or unclosed tags, duplicate attributes, text or a
//! second element outside the root, characters XML 1.0 does not allow, and anything
//! over the limits.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::error::{DocError, shown};
use crate::limits::{Limits, check_size};

/// One element: expanded name, attributes, child elements and the character data
/// directly inside it (text nodes and CDATA sections concatenated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// Namespace URI; `None` when the name is in no namespace.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    pub text: String,
}

/// One attribute (namespace declarations are not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

impl Element {
    /// The value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The character data without XML whitespace at either end.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim_matches(is_xml_space)
    }
}

/// XML's whitespace (the S production).
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Whether XML 1.0 allows `c` in a document (the Char production).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Parses `body` into its root element under `limits`.
pub(crate) fn parse_document(body: &[u8], limits: &Limits) -> Result<Element, DocError> {
    check_size(body, limits)?;
    let text = std::str::from_utf8(body).map_err(|_| DocError::malformed("not UTF-8"))?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    TreeBuilder {
        limits,
        open: Vec::new(),
        root: None,
        elements: 0,
    }
    .build(text)
}

struct TreeBuilder<'l> {
    limits: &'l Limits,
    /// The elements whose end tag has not been seen yet, outermost first.
    open: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl TreeBuilder<'_> {
    fn build(mut self, text: &str) -> Result<Element, DocError> {
        let mut reader = NsReader::from_str(text);
        reader.config_mut().check_end_names = true;
        reader.config_mut().check_comments = true;
        let mut first_event = true;
        loop {
            let (resolved, event) = reader.read_resolved_event().map_err(|e| xml_error(&e))?;
            let element_ns = owned_namespace(resolved);
            let was_first = std::mem::replace(&mut first_event, false);
            match event {
                Event::Start(start) => {
                    let element = self.element(&reader, element_ns, &start)?;
                    self.open.push(element);
                }
                Event::Empty(start) => {
                    let element = self.element(&reader, element_ns, &start)?;
                    self.close(element);
                }
                Event::End(_) => {
                    let element = self
                        .open
                        .pop()
                        .ok_or_else(|| DocError::malformed("unexpected end tag"))?;
                    self.close(element);
                }
                Event::Text(t) => {
                    let unescaped = t.unescape().map_err(|e| xml_error(&e))?;
                    self.text(&unescaped)?;
                }
                Event::CData(c) => {
                    let raw = std::str::from_utf8(&c)
                        .map_err(|_| DocError::malformed("CDATA is not UTF-8"))?;
                    self.text(raw)?;
                }
                Event::Decl(decl) => {
                    if !was_first {
                        return Err(DocError::malformed("XML declaration not at the start"));
                    }
                    if let Some(encoding) = decl.encoding() {
                        let encoding =
                            encoding.map_err(|_| DocError::malformed("bad XML declaration"))?;
                        if !encoding.eq_ignore_ascii_case(b"utf-8") {
                            return Err(DocError::malformed("only UTF-8 documents are accepted"));
                        }
                    }
                }
                Event::DocType(_) => return Err(DocError::malformed("DTDs are not accepted")),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if !self.open.is_empty() {
            return Err(DocError::malformed("document ends inside an element"));
        }
        self.root
            .ok_or_else(|| DocError::malformed("no root element"))
    }

    fn element(
        &mut self,
        reader: &NsReader<&[u8]>,
        element_ns: Result<Option<String>, ()>,
        start: &BytesStart<'_>,
    ) -> Result<Element, DocError> {
        if self.root.is_some() {
            return Err(DocError::malformed("content after the root element"));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(DocError::too_complex(format!(
                "more than {} elements",
                self.limits.max_elements
            )));
        }
        if self.open.len() >= self.limits.max_depth {
            return Err(DocError::too_complex(format!(
                "nested deeper than {}",
                self.limits.max_depth
            )));
        }
        let qname = utf8(start.name().into_inner())?;
        check_name(qname)?;
        let name = utf8(start.local_name().into_inner())?;
        let ns = element_ns.map_err(|()| undeclared(qname))?;
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| DocError::malformed(format!("bad attribute: {e}")))?;
            let key = utf8(attr.key.into_inner())?;
            check_name(key)?;
            let value = attr.unescape_value().map_err(|e| xml_error(&e))?;
            check_chars(&value)?;
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

    fn close(&mut self, element: Element) {
        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), DocError> {
        check_chars(text)?;
        match self.open.last_mut() {
            Some(parent) => {
                parent.text.push_str(text);
                Ok(())
            }
            None if text.chars().all(is_xml_space) => Ok(()),
            None => Err(DocError::malformed("text outside the root element")),
        }
    }
}

/// A resolved namespace as an owned URI; `Err` for an undeclared prefix.
fn owned_namespace(resolved: ResolveResult<'_>) -> Result<Option<String>, ()> {
    match resolved {
        ResolveResult::Unbound => Ok(None),
        // The document is UTF-8, so the lossy conversion never loses anything.
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.into_inner()).into_owned())),
        ResolveResult::Unknown(_) => Err(()),
    }
}

fn undeclared(qname: &str) -> DocError {
    DocError::malformed(format!("undeclared prefix in {}", shown(qname)))
}

fn utf8(bytes: &[u8]) -> Result<&str, DocError> {
    std::str::from_utf8(bytes).map_err(|_| DocError::malformed("XML name is not UTF-8"))
}

/// A (possibly prefixed) XML name: at most one colon, each side a plausible NCName.
/// The exact XML name classes are not checked; this stops garbage like `<1>` or `<a:>`.
fn check_name(qname: &str) -> Result<(), DocError> {
    let mut parts = qname.split(':');
    let ok = match (parts.next(), parts.next(), parts.next()) {
        (Some(local), None, None) => is_ncname(local),
        (Some(prefix), Some(local), None) => is_ncname(prefix) && is_ncname(local),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(DocError::malformed(format!(
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
    let name_char = |c: char| !c.is_ascii() && is_xml_char(c);
    (first.is_ascii_alphabetic() || first == '_' || name_char(first))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') || name_char(c))
}

fn check_chars(text: &str) -> Result<(), DocError> {
    if text.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(DocError::malformed("character not allowed in XML"))
    }
}

fn xml_error(e: &quick_xml::Error) -> DocError {
    DocError::malformed(format!("not well-formed XML: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Element, DocError> {
        parse_document(text.as_bytes(), &Limits::default())
    }

    #[test]
    fn resolves_prefixed_and_default_namespaces() {
        let root = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<a xmlns="urn:one" xmlns:t="urn:two" x="1" t:y="2"><t:b>hi &amp; <![CDATA[<bye>]]>&#65;</t:b><c/></a>"#,
        )
        .unwrap();
        assert_eq!(
            (root.ns.as_deref(), root.name.as_str()),
            (Some("urn:one"), "a")
        );
        assert_eq!(root.attr("x"), Some("1"));
        assert_eq!(
            root.attr("y"),
            None,
            "a namespaced attribute is not unqualified"
        );
        assert_eq!(root.children.len(), 2);
        assert_eq!(root.children[0].ns.as_deref(), Some("urn:two"));
        assert_eq!(root.children[0].text, "hi & <bye>A");
        assert_eq!(root.children[1].ns.as_deref(), Some("urn:one"));
    }

    #[test]
    fn refuses_what_is_not_well_formed() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>trailing",
            "<p:a/>",
            "<a x='1' x='2'/>",
            "<a>&unknown;</a>",
            "<a>&#0;</a>",
            "<a>\u{1}</a>",
            "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
            "<a/><?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
            "<1a/>",
            "</a>",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(matches!(err, DocError::Malformed(_)), "{bad}: {err}");
        }
        let err = parse_document(b"<a>\xff</a>", &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), "not UTF-8");
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_bytes: 100,
            max_depth: 3,
            max_elements: 4,
        };
        let refused = |doc: &str| parse_document(doc.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            refused(&format!("<a>{}</a>", " ".repeat(100))),
            DocError::TooLarge { max: 100 }
        );
        assert!(matches!(
            refused("<a><b><c><d/></c></b></a>"),
            DocError::TooComplex(_)
        ));
        assert!(matches!(
            refused("<a><b/><b/><b/><b/></a>"),
            DocError::TooComplex(_)
        ));
        assert!(parse_document(b"<a><b><c/></b><b/></a>", &limits).is_ok());
    }
}
