//! The one error type of this crate: what kind of problem a document has, and a short
//! human reason that a server can put straight into a SIP reason phrase (`400 Bad
//! presence document: <reason>`).

use std::fmt;

use herald_xml::XmlError;

/// Why a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Larger than [`crate::Limits::max_bytes`].
    TooLarge,
    /// Over one of the structural limits (depth, element count, attributes, text size,
    /// parts): the document may be valid but we refuse to spend memory on it.
    TooComplex,
    /// Not well-formed XML, not UTF-8, or a malformed multipart body.
    Malformed,
    /// Well-formed, but not a valid document of the expected type.
    Invalid,
    /// Carries an extension marked `mustUnderstand` that Herald does not implement
    /// (RFC 3863 §4.1.5).
    Unsupported,
}

/// A refused document: a kind and a short reason.
///
/// The reason is printable ASCII without line breaks and at most
/// [`PidfError::MAX_REASON_LEN`] bytes, so it is safe in a SIP reason phrase or a log
/// line whatever the input contained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidfError {
    kind: ErrorKind,
    reason: String,
}

impl PidfError {
    /// Longest reason this type ever carries.
    pub const MAX_REASON_LEN: usize = 120;

    /// An error of `kind`; `reason` is cleaned to printable ASCII and shortened.
    pub fn new(kind: ErrorKind, reason: impl AsRef<str>) -> Self {
        let mut clean = String::with_capacity(reason.as_ref().len().min(Self::MAX_REASON_LEN));
        for c in reason.as_ref().chars() {
            if clean.len() >= Self::MAX_REASON_LEN {
                break;
            }
            clean.push(if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            });
        }
        PidfError {
            kind,
            reason: clean,
        }
    }

    pub(crate) fn malformed(reason: impl AsRef<str>) -> Self {
        Self::new(ErrorKind::Malformed, reason)
    }

    pub(crate) fn invalid(reason: impl AsRef<str>) -> Self {
        Self::new(ErrorKind::Invalid, reason)
    }

    pub(crate) fn too_complex(reason: impl AsRef<str>) -> Self {
        Self::new(ErrorKind::TooComplex, reason)
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The short human reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for PidfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for PidfError {}

/// The XML layer's refusals keep their reasons; only the two whose wording is the
/// caller's choice are spelt out here, as they always were in this crate.
impl From<XmlError> for PidfError {
    fn from(e: XmlError) -> Self {
        match e {
            XmlError::TooLarge { max } => PidfError::new(
                ErrorKind::TooLarge,
                format!("document larger than {max} bytes"),
            ),
            XmlError::NotUtf8 => PidfError::malformed("document is not UTF-8"),
            XmlError::TooComplex(reason) => PidfError::too_complex(reason),
            XmlError::Malformed(reason) => PidfError::malformed(reason),
        }
    }
}

/// A name taken from the input, shortened for use inside a reason (the same shortening
/// as the XML layer's reasons use).
pub(crate) use herald_xml::shown;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_is_single_line_printable_ascii_and_bounded() {
        let e = PidfError::invalid(format!("bad <{}>\r\nInjected: yes\u{7f}é", "x".repeat(500)));
        assert!(e.reason().len() <= PidfError::MAX_REASON_LEN);
        assert!(e.reason().bytes().all(|b| (0x20..0x7f).contains(&b)));
        assert!(e.reason().starts_with("bad <xxx"));
        let short = PidfError::invalid("line\r\nbreak é");
        assert_eq!(short.reason(), "line??break ?");
        assert_eq!(short.kind(), ErrorKind::Invalid);
        assert_eq!(short.to_string(), "line??break ?");
    }

    #[test]
    fn xml_refusals_keep_this_crates_reasons() {
        let limits = crate::Limits {
            max_bytes: 10,
            ..crate::Limits::DOCUMENT
        };
        let refused = |body: &[u8]| crate::parse_pidf(body, &limits).unwrap_err();
        let e = refused(b"<presence/>");
        assert_eq!(
            (e.kind(), e.reason()),
            (ErrorKind::TooLarge, "document larger than 10 bytes")
        );
        let e = refused(b"<a>\xff</a>");
        assert_eq!(
            (e.kind(), e.reason()),
            (ErrorKind::Malformed, "document is not UTF-8")
        );
        let e = refused(b"<p:a/>");
        assert_eq!(
            (e.kind(), e.reason()),
            (ErrorKind::Malformed, "undeclared prefix in p:a")
        );
        let e = PidfError::from(XmlError::TooComplex("nested deeper than 3".to_owned()));
        assert_eq!(
            (e.kind(), e.reason()),
            (ErrorKind::TooComplex, "nested deeper than 3")
        );
    }

    #[test]
    fn shown_truncates_long_names() {
        assert_eq!(shown("abc"), "abc");
        assert_eq!(shown(&"a".repeat(40)), format!("{}...", "a".repeat(32)));
    }
}
