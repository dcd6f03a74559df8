//! Why [`crate::parse`] refused a document.
//!
//! Reasons are short and may quote a piece of the input (a name, shortened by
//! [`shown`]); they are not cleaned here. A caller that puts one into a SIP reason
//! phrase or a log line cleans it to printable ASCII first, as the document crates'
//! own error types do.

use std::fmt;

/// A refused document. Each document crate maps this into its own error type, with
/// its own wording where the two differ ([`XmlError::TooLarge`], [`XmlError::NotUtf8`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// Larger than [`crate::Limits::max_bytes`].
    TooLarge {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The document is not UTF-8.
    NotUtf8,
    /// Over a structural limit (depth, element count, attributes, text size): the
    /// document may be well-formed but the parser refuses to spend memory on it.
    TooComplex(String),
    /// Not well-formed XML, or something refused on principle (a DTD, an encoding
    /// other than UTF-8).
    Malformed(String),
}

impl XmlError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        XmlError::Malformed(reason.into())
    }

    pub(crate) fn too_complex(reason: impl Into<String>) -> Self {
        XmlError::TooComplex(reason.into())
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::TooLarge { max } => write!(f, "document larger than {max} bytes"),
            XmlError::NotUtf8 => f.write_str("document is not UTF-8"),
            XmlError::TooComplex(reason) | XmlError::Malformed(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for XmlError {}

/// A piece of input quoted inside a reason: at most 32 characters, then `...`.
pub fn shown(text: &str) -> String {
    const MAX: usize = 32;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_truncates_long_input() {
        assert_eq!(shown("abc"), "abc");
        assert_eq!(shown(&"é".repeat(32)), "é".repeat(32));
        assert_eq!(shown(&"a".repeat(40)), format!("{}...", "a".repeat(32)));
    }

    #[test]
    fn display_is_the_reason() {
        assert_eq!(
            XmlError::TooLarge { max: 10 }.to_string(),
            "document larger than 10 bytes"
        );
        assert_eq!(XmlError::NotUtf8.to_string(), "document is not UTF-8");
        assert_eq!(XmlError::malformed("bad").to_string(), "bad");
        assert_eq!(XmlError::too_complex("deep").to_string(), "deep");
    }
}
