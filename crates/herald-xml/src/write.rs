//! Writing XML: escaping and a tiny element writer. Element and attribute names are
//! the caller's constants (or names validated on input); only attribute values and
//! text are escaped, so hostile text (a note of `</note><x>`, an `&`, a control
//! character) can never change the structure of a document.

use crate::chars::is_xml_char;

/// The declaration every document written by [`XmlWriter`] starts with.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Appends `text` escaped for element content. Characters XML cannot carry at all
/// (most C0 controls) become U+FFFD; CR is written as a reference so that a reader's
/// line-end normalisation cannot turn it into LF.
pub fn escape_text(text: &str, out: &mut String) {
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
pub fn escape_attr(value: &str, out: &mut String) {
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

/// Builds a document into a `String`, starting with [`DECLARATION`].
///
/// Two layouts: [`XmlWriter::new`] writes elements back to back and leaves line
/// breaks to the caller ([`XmlWriter::newline`]); [`XmlWriter::indented`] puts every
/// tag on its own line, one space deeper per level.
pub struct XmlWriter {
    out: String,
    indented: bool,
    depth: usize,
}

impl XmlWriter {
    /// A compact writer that has written the XML declaration.
    pub fn new() -> Self {
        Self::with_layout(false)
    }

    /// An indenting writer that has written the XML declaration.
    pub fn indented() -> Self {
        Self::with_layout(true)
    }

    fn with_layout(indented: bool) -> Self {
        let mut out = String::with_capacity(1024);
        out.push_str(DECLARATION);
        XmlWriter {
            out,
            indented,
            depth: 0,
        }
    }

    fn indent(&mut self) {
        if self.indented {
            for _ in 0..self.depth {
                self.out.push(' ');
            }
        }
    }

    fn end_line(&mut self) {
        if self.indented {
            self.out.push('\n');
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
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

    fn end_tag(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self.end_line();
    }

    /// `<name attrs>`; what follows is its content (indented: one level deeper).
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push('>');
        self.end_line();
        self.depth += 1;
    }

    /// `</name>` closing the innermost [`XmlWriter::open`].
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.end_tag(name);
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str("/>");
        self.end_line();
    }

    /// `<name attrs>text</name>`, text escaped.
    pub fn text_element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.tag(name, attrs);
        self.out.push('>');
        escape_text(text, &mut self.out);
        self.end_tag(name);
    }

    /// A line break between elements, for readers of logs and traces.
    pub fn newline(&mut self) {
        self.out.push('\n');
    }

    /// The finished document, ending with a line break.
    pub fn finish(mut self) -> String {
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse};

    const LIMITS: Limits = Limits {
        max_bytes: 65_535,
        max_depth: 24,
        max_elements: 2_000,
        max_attributes: 32,
        max_text_bytes: 8_192,
    };

    #[test]
    fn hostile_text_and_attributes_survive_a_round_trip() {
        let hostile = "</note><x>&amp; \"quoted\" 'single' \r\n\ttab ]]> é";
        for mut w in [XmlWriter::new(), XmlWriter::indented()] {
            w.open("a", &[("v", hostile)]);
            w.text_element("b", &[("w", hostile)], hostile);
            w.close("a");
            let doc = w.finish();
            let root = parse(doc.as_bytes(), &LIMITS).unwrap();
            assert_eq!(root.attr("v"), Some(hostile));
            assert_eq!(root.children.len(), 1);
            assert_eq!(root.children[0].attr("w"), Some(hostile));
            assert_eq!(root.children[0].text, hostile);
        }
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

    #[test]
    fn compact_layout_leaves_line_breaks_to_the_caller() {
        let mut w = XmlWriter::new();
        w.open("a", &[("x", "1")]);
        w.newline();
        w.text_element("b", &[], "t");
        w.empty("c", &[]);
        w.close("a");
        assert_eq!(
            w.finish(),
            format!("{DECLARATION}<a x=\"1\">\n<b>t</b><c/></a>\n")
        );
    }

    #[test]
    fn indented_layout_escapes_text_and_attributes() {
        let mut w = XmlWriter::indented();
        w.open("a", &[("x", "\"<&>\t\n\r\u{1}")]);
        w.text_element("b", &[], "</b><c>&\r\u{0}é");
        w.empty("d", &[]);
        w.close("a");
        let out = w.finish();
        assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(
            out.contains(r#"<a x="&quot;&lt;&amp;&gt;&#9;&#10;&#13;�">"#),
            "{out}"
        );
        assert!(
            out.contains(" <b>&lt;/b&gt;&lt;c&gt;&amp;&#13;�é</b>\n"),
            "{out}"
        );
        assert!(out.ends_with(" <d/>\n</a>\n"), "{out}");
    }
}
