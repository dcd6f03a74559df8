//! Writing XML: escaping and a tiny element writer. Everything this crate emits goes
//! through here, so hostile text (a note of `</note><x>`, an `&`, a control character)
//! can never change the structure of a document.

use crate::xml_tree::is_xml_char;

/// Appends `text` escaped for element content. Characters XML cannot carry at all
/// (most C0 controls) become U+FFFD; CR is written as a reference so that a reader's
/// line-end normalisation cannot turn it into LF.
pub(crate) fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Appends `value` escaped for a double-quoted attribute. Tab, CR and LF are written
/// as references because attribute-value normalisation would turn them into spaces.
pub(crate) fn escape_attr(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Builds a document into a `String`. Element and attribute names are always
/// constants of this crate (or names that were validated on input); only values and
/// text are escaped.
pub(crate) struct XmlWriter {
    out: String,
}

/// The declaration every document of this crate starts with.
pub(crate) const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

impl XmlWriter {
    /// A writer that has written the XML declaration.
    pub fn new() -> Self {
        let mut out = String::with_capacity(512);
        out.push_str(DECLARATION);
        XmlWriter { out }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_attr(value, &mut self.out);
            self.out.push('"');
        }
    }

    /// `<name attrs>`.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push('>');
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str("/>");
    }

    /// `<name attrs>text</name>`.
    pub fn text_element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        escape_text(text, &mut self.out);
        self.close(name);
    }

    /// A line break between elements, for readers of logs and traces.
    pub fn newline(&mut self) {
        self.out.push('\n');
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::xml_tree::parse_document;

    #[test]
    fn hostile_text_and_attributes_survive_a_round_trip() {
        let hostile = "</note><x>&amp; \"quoted\" 'single' \r\n\ttab ]]> é";
        let mut w = XmlWriter::new();
        w.open("a", &[("v", hostile)]);
        w.text_element("b", &[], hostile);
        w.close("a");
        let doc = w.finish();
        let root = parse_document(doc.as_bytes(), &Limits::DOCUMENT).unwrap();
        assert_eq!(root.attr("v"), Some(hostile));
        assert_eq!(root.children.len(), 1);
        assert_eq!(root.children[0].text, hostile);
    }

    #[test]
    fn characters_xml_cannot_carry_become_replacement_characters() {
        let mut out = String::new();
        escape_text("a\u{0}b\u{1b}c\u{FFFE}", &mut out);
        assert_eq!(out, "a\u{FFFD}b\u{FFFD}c\u{FFFD}");
        let mut out = String::new();
        escape_attr("\u{8}", &mut out);
        assert_eq!(out, "\u{FFFD}");
    }
}
