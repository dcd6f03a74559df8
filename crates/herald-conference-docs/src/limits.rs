//! Bounds on what a parser will accept, so that a hostile body costs at most a known
//! amount of memory and time. Every parser of this crate takes a [`Limits`].

/// Size and shape limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input in bytes.
    pub max_bytes: usize,
    /// Deepest XML element nesting (the root is depth 1).
    pub max_depth: usize,
    /// Most XML elements in one document (which also bounds the users and endpoints of
    /// a conference-info document), most headers in a CPIM message, most `m=` lines in
    /// an SDP body.
    pub max_elements: usize,
}

impl Default for Limits {
    /// 64 KiB (a SIP message body over TCP is rarely larger), depth 32, 10 000 elements.
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024,
            max_depth: 32,
            max_elements: 10_000,
        }
    }
}

impl Limits {
    /// The bounds of the XML layer. This crate has never bounded attributes or text on
    /// their own: `max_bytes` bounds them already.
    pub(crate) fn xml(&self) -> herald_xml::Limits {
        herald_xml::Limits {
            max_bytes: self.max_bytes,
            max_depth: self.max_depth,
            max_elements: self.max_elements,
            max_attributes: usize::MAX,
            max_text_bytes: usize::MAX,
        }
    }
}

/// Refuses `input` when it is larger than `limits` allow.
pub(crate) fn check_size(input: &[u8], limits: &Limits) -> Result<(), crate::DocError> {
    if input.len() > limits.max_bytes {
        return Err(crate::DocError::TooLarge {
            max: limits.max_bytes,
        });
    }
    Ok(())
}
