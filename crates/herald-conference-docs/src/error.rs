//! The one error type of this crate. Its `Display` is a short human reason that a
//! server can put straight into a SIP reason phrase (`400 Bad conference-info: <reason>`)
//! or a log line, whatever the input contained.

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

/// A piece of input quoted inside a reason: at most 32 characters, then `...`.
pub(crate) fn shown(text: &str) -> String {
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
    fn shown_truncates_long_input() {
        assert_eq!(shown("abc"), "abc");
        assert_eq!(shown(&"a".repeat(40)), format!("{}...", "a".repeat(32)));
    }
}
