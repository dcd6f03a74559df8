//! The character classes of XML 1.0 that both reading and writing need.

/// XML's whitespace (the S production): space, tab, CR, LF.
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Whether XML 1.0 allows `c` in a document (the Char production).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_xml_1_0() {
        assert!(" \t\r\n".chars().all(is_xml_space));
        assert!(!is_xml_space('\u{A0}'));
        assert!("a\t\n\ré\u{10000}".chars().all(is_xml_char));
        assert!(!"\u{0}\u{1}\u{1b}\u{FFFE}\u{FFFF}".chars().any(is_xml_char));
    }
}
