//! The owned element tree that [`crate::parse`] builds: names are expanded (namespace
//! URI plus local name), so readers never deal with prefixes.

use crate::chars::is_xml_space;
use crate::error::shown;

/// The namespace of the `xml:` prefix (`xml:lang`), bound in every document.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// One element: its expanded name, attributes, child elements and the character data
/// directly inside it (all text nodes and CDATA sections concatenated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI; `None` when the name is in no namespace.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes other than namespace declarations, in document order.
    pub attrs: Vec<Attr>,
    /// Child elements, in document order.
    pub children: Vec<Element>,
    /// Character data directly inside this element, entities and character
    /// references replaced.
    pub text: String,
}

/// One attribute (namespace declarations are not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URI; `None` for an unprefixed attribute.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// The value, entities and character references replaced.
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
        self.attr_ns(XML_NAMESPACE, "lang")
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }

    /// The character data with XML whitespace trimmed from both ends.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim_matches(is_xml_space)
    }

    /// The local name shortened by [`shown`], to name this element in a reason.
    pub fn label(&self) -> String {
        shown(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(ns: Option<&str>, name: &str, attrs: &[(Option<&str>, &str, &str)]) -> Element {
        Element {
            ns: ns.map(str::to_owned),
            name: name.to_owned(),
            attrs: attrs
                .iter()
                .map(|(ns, name, value)| Attr {
                    ns: ns.map(str::to_owned),
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
            children: Vec::new(),
            text: String::new(),
        }
    }

    #[test]
    fn names_and_attributes_match_by_namespace() {
        let e = element(
            Some("urn:a"),
            "note",
            &[
                (None, "id", "1"),
                (Some("urn:b"), "id", "2"),
                (Some(XML_NAMESPACE), "lang", " en "),
            ],
        );
        assert!(e.is("urn:a", "note"));
        assert!(!e.is("urn:b", "note"));
        assert!(!element(None, "note", &[]).is("", "note"));
        assert_eq!(e.attr("id"), Some("1"));
        assert_eq!(e.attr_ns("urn:b", "id"), Some("2"));
        assert_eq!(e.attr("lang"), None);
        assert_eq!(e.lang(), Some("en"));
        let blank = element(None, "n", &[(Some(XML_NAMESPACE), "lang", " ")]);
        assert_eq!(blank.lang(), None);
    }

    #[test]
    fn trimmed_text_and_label() {
        let mut e = element(None, &"n".repeat(40), &[]);
        e.text = "\r\n\t x y \n".to_owned();
        assert_eq!(e.trimmed_text(), "x y");
        assert_eq!(e.label(), format!("{}...", "n".repeat(32)));
    }
}
