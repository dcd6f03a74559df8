//! Reading a document into an [`Element`] tree with quick-xml, under [`Limits`]. The
//! limits are checked as events arrive, so a hostile document is refused before it
//! costs more than they allow.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::chars::{is_xml_char, is_xml_space};
use crate::element::{Attr, Element};
use crate::error::{XmlError, shown};
use crate::limits::Limits;

/// Parses `body` into its root element under `limits`. A leading byte order mark is
/// skipped; comments and processing instructions are dropped.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if body.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            max: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
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
    fn build(mut self, text: &str) -> Result<Element, XmlError> {
        let mut reader = NsReader::from_str(text);
        reader.config_mut().check_end_names = true;
        reader.config_mut().check_comments = true;
        let mut first_event = true;
        loop {
            let (resolved, event) = reader.read_resolved_event().map_err(|e| xml_error(&e))?;
            // The resolution borrows the reader; own it so attributes can be resolved.
            let element_ns = owned_namespace(resolved);
            // Only the very first thing in a document may be the XML declaration.
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
                        .ok_or_else(|| XmlError::malformed("unexpected end tag"))?;
                    self.close(element);
                }
                Event::Text(t) => {
                    let unescaped = t.unescape().map_err(|e| xml_error(&e))?;
                    self.text(&unescaped)?;
                }
                Event::CData(c) => {
                    let raw = std::str::from_utf8(&c)
                        .map_err(|_| XmlError::malformed("CDATA is not UTF-8"))?;
                    self.text(raw)?;
                }
                Event::Decl(decl) => {
                    if !was_first {
                        return Err(XmlError::malformed("XML declaration not at the start"));
                    }
                    if let Some(encoding) = decl.encoding() {
                        let encoding =
                            encoding.map_err(|_| XmlError::malformed("bad XML declaration"))?;
                        if !encoding.eq_ignore_ascii_case(b"utf-8") {
                            return Err(XmlError::malformed("only UTF-8 documents are accepted"));
                        }
                    }
                }
                Event::DocType(_) => return Err(XmlError::malformed("DTDs are not accepted")),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if !self.open.is_empty() {
            return Err(XmlError::malformed("document ends inside an element"));
        }
        self.root
            .ok_or_else(|| XmlError::malformed("no root element"))
    }

    fn element(
        &mut self,
        reader: &NsReader<&[u8]>,
        element_ns: Result<Option<String>, ()>,
        start: &BytesStart<'_>,
    ) -> Result<Element, XmlError> {
        if self.root.is_some() {
            return Err(XmlError::malformed("content after the root element"));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::too_complex(format!(
                "more than {} elements",
                self.limits.max_elements
            )));
        }
        if self.open.len() >= self.limits.max_depth {
            return Err(XmlError::too_complex(format!(
                "nested deeper than {}",
                self.limits.max_depth
            )));
        }
        let qname = utf8(start.name().into_inner())?;
        let name = utf8(start.local_name().into_inner())?;
        check_name(qname)?;
        let ns = element_ns.map_err(|()| undeclared(qname))?;

        let mut attrs = Vec::new();
        for (count, attr) in start.attributes().enumerate() {
            let attr = attr.map_err(|e| XmlError::malformed(format!("bad attribute: {e}")))?;
            if count >= self.limits.max_attributes {
                return Err(XmlError::too_complex(format!(
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
                return Err(XmlError::too_complex(format!(
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

    fn close(&mut self, element: Element) {
        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), XmlError> {
        check_chars(text)?;
        match self.open.last_mut() {
            Some(parent) => {
                if parent.text.len().saturating_add(text.len()) > self.limits.max_text_bytes {
                    return Err(XmlError::too_complex(format!(
                        "text in <{}> too long",
                        parent.label()
                    )));
                }
                parent.text.push_str(text);
                Ok(())
            }
            None if text.chars().all(is_xml_space) => Ok(()),
            None => Err(XmlError::malformed("text outside the root element")),
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

fn undeclared(qname: &str) -> XmlError {
    XmlError::malformed(format!("undeclared prefix in {}", shown(qname)))
}

/// Names are slices of the (already UTF-8) document cut at ASCII delimiters, so this
/// never fails in practice; it keeps the parser free of panics all the same.
fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|_| XmlError::malformed("XML name is not UTF-8"))
}

/// A (possibly prefixed) XML name: at most one colon, each side a plausible NCName.
/// The exact XML name classes are not checked; this stops garbage like `<1>` or `<a:>`.
fn check_name(qname: &str) -> Result<(), XmlError> {
    let mut parts = qname.split(':');
    let ok = match (parts.next(), parts.next(), parts.next()) {
        (Some(local), None, None) => is_ncname(local),
        (Some(prefix), Some(local), None) => is_ncname(prefix) && is_ncname(local),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(XmlError::malformed(format!(
            "bad XML name {}",
            shown(qname)
        )))
    }
}

/// ASCII letters, digits, `-`, `.`, `_` (not leading digit, `-` or `.`), and any
/// non-ASCII character XML allows.
fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let name_char = |c: char| !c.is_ascii() && is_xml_char(c);
    (first.is_ascii_alphabetic() || first == '_' || name_char(first))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') || name_char(c))
}

fn check_chars(text: &str) -> Result<(), XmlError> {
    if text.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(XmlError::malformed("character not allowed in XML"))
    }
}

fn xml_error(e: &quick_xml::Error) -> XmlError {
    XmlError::malformed(format!("not well-formed XML: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENEROUS: Limits = Limits {
        max_bytes: 65_535,
        max_depth: 24,
        max_elements: 2_000,
        max_attributes: 32,
        max_text_bytes: 8_192,
    };

    fn parse_str(text: &str) -> Result<Element, XmlError> {
        parse(text.as_bytes(), &GENEROUS)
    }

    #[test]
    fn resolves_namespaces_of_elements_and_attributes() {
        let root = parse_str(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<a xmlns="urn:one" xmlns:t="urn:two" x="1" t:y="2"><t:b xml:lang="en">hi &amp; bye</t:b><c/></a>"#,
        )
        .unwrap();
        assert!(root.is("urn:one", "a"));
        assert_eq!(root.attr("x"), Some("1"));
        assert_eq!(
            root.attr("y"),
            None,
            "a namespaced attribute is not unqualified"
        );
        assert_eq!(root.attr_ns("urn:two", "y"), Some("2"));
        assert_eq!(root.attrs.len(), 2, "namespace declarations are not kept");
        assert_eq!(root.children.len(), 2);
        assert!(root.children[0].is("urn:two", "b"));
        assert_eq!(root.children[0].text, "hi & bye");
        assert_eq!(root.children[0].lang(), Some("en"));
        assert!(root.children[1].is("urn:one", "c"));
        let plain = parse_str("<a x='1'/>").unwrap();
        assert_eq!((plain.ns, plain.name.as_str()), (None, "a"));
    }

    #[test]
    fn cdata_and_char_refs_become_text() {
        let root = parse_str("<a>x<![CDATA[<y>]]>&#65;&#x42;</a>").unwrap();
        assert_eq!(root.text, "x<y>AB");
        let root = parse_str("<p:a xmlns:p='urn:p'>hi &amp; <![CDATA[<bye>]]>&#65;</p:a>").unwrap();
        assert_eq!(root.text, "hi & <bye>A");
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
            "<a x='\u{1}'/>",
            "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
            "<a/><?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
            "<1a/>",
            "<a:b:c xmlns:a='urn:x'/>",
            "</a>",
        ] {
            let err = parse_str(bad).expect_err(bad);
            assert!(matches!(err, XmlError::Malformed(_)), "{bad}: {err}");
        }
        assert_eq!(parse(b"<a>\xff</a>", &GENEROUS), Err(XmlError::NotUtf8));
    }

    #[test]
    fn reasons_say_what_was_refused() {
        let reason = |doc: &str| parse_str(doc).unwrap_err().to_string();
        assert_eq!(reason("<!DOCTYPE a><a/>"), "DTDs are not accepted");
        assert_eq!(reason("<p:a/>"), "undeclared prefix in p:a");
        assert_eq!(reason("<a p:x='1'/>"), "undeclared prefix in p:x");
        assert_eq!(reason("<1a/>"), "bad XML name 1a");
        assert_eq!(reason("<a>"), "document ends inside an element");
        assert_eq!(reason(""), "no root element");
        assert_eq!(reason("<a/><b/>"), "content after the root element");
        assert_eq!(reason("<a/>x"), "text outside the root element");
        assert_eq!(reason("<a>\u{1}</a>"), "character not allowed in XML");
        assert_eq!(
            reason("<?xml version='1.0' encoding='latin1'?><a/>"),
            "only UTF-8 documents are accepted"
        );
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_bytes: 100,
            max_depth: 3,
            max_elements: 4,
            max_attributes: 2,
            max_text_bytes: 5,
        };
        let refused = |doc: &str| parse(doc.as_bytes(), &limits).expect_err(doc);
        assert_eq!(
            refused(&format!("<a>{}</a>", " ".repeat(100))),
            XmlError::TooLarge { max: 100 }
        );
        for (doc, reason) in [
            ("<a><b><c><d/></c></b></a>", "nested deeper than 3"),
            ("<a><b/><b/><b/><b/></a>", "more than 4 elements"),
            ("<a x='1' y='2' z='3'/>", "more than 2 attributes on <a>"),
            ("<a>123456</a>", "text in <a> too long"),
            ("<a>123<!---->456</a>", "text in <a> too long"),
            ("<a x='123456'/>", "attribute x too long"),
        ] {
            assert_eq!(
                refused(doc),
                XmlError::TooComplex(reason.to_owned()),
                "{doc}"
            );
        }
        assert!(parse(b"<a x='1' y='2'><b><c/></b><b>12345</b></a>", &limits).is_ok());
    }

    #[test]
    fn usize_max_switches_a_limit_off() {
        let limits = Limits {
            max_attributes: usize::MAX,
            max_text_bytes: usize::MAX,
            ..GENEROUS
        };
        let many = format!(
            "<a {}>{}</a>",
            (0..40)
                .map(|i| format!("x{i}='1'"))
                .collect::<Vec<_>>()
                .join(" "),
            "t".repeat(10_000)
        );
        let root = parse(many.as_bytes(), &limits).unwrap();
        assert_eq!(root.attrs.len(), 40);
        assert_eq!(root.text.len(), 10_000);
    }

    #[test]
    fn accepts_bom_comments_and_processing_instructions() {
        let root = parse_str(
            "\u{FEFF}<?xml version='1.0'?><!-- c --><?pi x?><a><!-- inner -->t</a><!-- after -->\n",
        )
        .unwrap();
        assert_eq!(root.text, "t");
    }
}
