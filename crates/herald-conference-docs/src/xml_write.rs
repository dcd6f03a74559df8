//! Writing XML: escaping and a tiny element writer. Everything this crate emits goes
//! through here, so hostile text (a display name of `</display-text><x>`, an `&`, a
//! control character) can never change the structure of a document.

use crate::xml_tree::is_xml_char;

/// Appends `text` escaped for element content. Characters XML cannot carry at all
/// (most C0 controls) become U+FFFD; CR is written as a reference so that a reader's
/// line-end normalisation cannot turn it into LF.
fn escape_text(text: &str, out: &mut String) {
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

/// Appends `value` escaped for a double-quoted attribute. Tab, CR and LF are written as
/// references because attribute-value normalisation would turn them into spaces.
fn escape_attr(value: &str, out: &mut String) {
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

/// Builds a document into a `String`, indenting one space per level. Element and
/// attribute names are always constants of this crate; only values and text are escaped.
pub(crate) struct XmlWriter {
    out: String,
    depth: usize,
}

impl XmlWriter {
    /// A writer that has written the XML declaration.
    pub fn new() -> Self {
        let mut out = String::with_capacity(1024);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        XmlWriter { out, depth: 0 }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        for _ in 0..self.depth {
            self.out.push(' ');
        }
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

    /// `<name attrs>` on its own line; children follow, one level deeper.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// `</name>` closing the innermost [`XmlWriter::open`].
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push(' ');
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str("/>\n");
    }

    /// `<name>text</name>`.
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.tag(name, &[]);
        self.out.push('>');
        escape_text(text, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// The document written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut w = XmlWriter::new();
        w.open("a", &[("x", "\"<&>\t\n\r\u{1}")]);
        w.text_element("b", "</b><c>&\r\u{0}é");
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
