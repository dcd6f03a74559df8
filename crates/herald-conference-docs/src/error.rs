//! The one error type of this crate. Its `Display` is a short human reason that a
//! server can put straight into a SIP reason phrase (`400 Bad conference-info: <reason>`)
//! or a log line, whatever the input contained.

use herald_xml::XmlError;

/// Why a document or header value was refused.
///
/// Every reason this crate builds is printable ASCII without line breaks and at most
/// [`DocError::MAX_REASON_LEN`] bytes (see [`DocError::malformed`]), so hostile input
/// cannot inject a header through it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// The input is larger than [`crate::Limits::max_bytes`].
    #[error("body larger than {max} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        max: usize,
    },
    /// Over a structural limit (depth, element or header count): the input may be valid
    /// but we refuse to spend memory on it.
    #[error("{0}")]
    TooComplex(String),
    /// Not well-formed, or not a valid document of the expected type.
    #[error("{0}")]
    Malformed(String),
    /// A URI whose scheme we cannot use (a Refer-To target that is not sip or sips).
    #[error("unsupported scheme {0}")]
    UnsupportedScheme(String),
}

impl DocError {
    /// Longest reason (or scheme) this crate puts in an error.
    pub const MAX_REASON_LEN: usize = 120;

    /// A [`DocError::Malformed`] whose reason is cleaned to printable ASCII and shortened.
    pub fn malformed(reason: impl AsRef<str>) -> Self {
        DocError::Malformed(clean(reason.as_ref()))
    }

    /// A [`DocError::TooComplex`] whose reason is cleaned to printable ASCII and shortened.
    pub fn too_complex(reason: impl AsRef<str>) -> Self {
        DocError::TooComplex(clean(reason.as_ref()))
    }

    /// A [`DocError::UnsupportedScheme`] naming `scheme` (cleaned and shortened).
    pub fn unsupported_scheme(scheme: impl AsRef<str>) -> Self {
        DocError::UnsupportedScheme(clean(scheme.as_ref()))
    }
}

/// `reason` as printable ASCII (anything else becomes `?`), at most
/// [`DocError::MAX_REASON_LEN`] bytes.
fn clean(reason: &str) -> String {
    reason
        .chars()
        .take(DocError::MAX_REASON_LEN)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The XML layer's refusals keep their reasons (cleaned like every other); only the
/// two whose wording is the caller's choice are spelt out here, as they always were in
/// this crate.
impl From<XmlError> for DocError {
    fn from(e: XmlError) -> Self {
        match e {
            XmlError::TooLarge { max } => DocError::TooLarge { max },
            XmlError::NotUtf8 => DocError::malformed("not UTF-8"),
            XmlError::TooComplex(reason) => DocError::too_complex(reason),
            XmlError::Malformed(reason) => DocError::malformed(reason),
        }
    }
}

/// A piece of input quoted inside a reason: at most 32 characters, then `...` (the
/// same shortening as the XML layer's reasons use).
pub(crate) use herald_xml::shown;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_single_line_printable_ascii_and_bounded() {
        let e = DocError::malformed(format!("bad <{}>\r\nInjected: yes\u{7f}é", "x".repeat(500)));
        let text = e.to_string();
        assert!(text.len() <= DocError::MAX_REASON_LEN);
        assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)));
        assert!(text.starts_with("bad <xxx"));
        assert_eq!(DocError::too_complex("a\r\nb é").to_string(), "a??b ?");
        assert_eq!(
            DocError::unsupported_scheme("tel").to_string(),
            "unsupported scheme tel"
        );
        assert_eq!(
            DocError::TooLarge { max: 10 }.to_string(),
            "body larger than 10 bytes"
        );
    }

    #[test]
    fn xml_refusals_keep_this_crates_reasons() {
        let limits = crate::Limits {
            max_bytes: 10,
            ..crate::Limits::default()
        };
        let refused = |body: &[u8]| crate::ConferenceInfo::parse(body, &limits).unwrap_err();
        assert_eq!(refused(b"<conference/>"), DocError::TooLarge { max: 10 });
        assert_eq!(
            refused(b"<a>\xff</a>"),
            DocError::Malformed("not UTF-8".to_owned())
        );
        assert_eq!(
            refused(b"<p:a/>"),
            DocError::Malformed("undeclared prefix in p:a".to_owned())
        );
        assert_eq!(
            DocError::from(XmlError::TooComplex("nested deeper than 3\r\n".to_owned())),
            DocError::TooComplex("nested deeper than 3??".to_owned())
        );
    }

    #[test]
    fn shown_truncates_long_input() {
        assert_eq!(shown("abc"), "abc");
        assert_eq!(shown(&"a".repeat(40)), format!("{}...", "a".repeat(32)));
    }
}
