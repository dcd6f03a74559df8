//! Bounds on what a parser will accept, so that a hostile document costs at most a
//! known amount of memory and time. Every parser of this crate takes a [`Limits`].

/// Size and shape limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document (or multipart body) in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting (the root is depth 1).
    pub max_depth: usize,
    /// Most elements in one XML document.
    pub max_elements: usize,
    /// Most attributes on one element (namespace declarations included).
    pub max_attributes: usize,
    /// Most bytes of character data directly inside one element.
    pub max_text_bytes: usize,
    /// Most body parts in one multipart body.
    pub max_parts: usize,
}

impl Limits {
    /// Limits for one presence document (a PUBLISH or NOTIFY body): a SIP message is at
    /// most 64 KiB here, and real PIDF documents have a few dozen elements.
    pub const DOCUMENT: Limits = Limits {
        max_bytes: 65_535,
        max_depth: 24,
        max_elements: 2_000,
        max_attributes: 32,
        max_text_bytes: 8_192,
        max_parts: 64,
    };

    /// Limits for resource-list NOTIFY bodies and watcher lists, which hold one entry
    /// (and, for RLMI, one body part) per contact: sized for the policy maximum of
    /// 1000 contacts with room to spare.
    pub const LISTS: Limits = Limits {
        max_bytes: 8 * 1024 * 1024,
        max_depth: 24,
        max_elements: 50_000,
        max_attributes: 32,
        max_text_bytes: 8_192,
        max_parts: 2_048,
    };
}

impl Limits {
    /// The bounds of the XML layer; `max_parts` is this crate's own (multipart).
    pub(crate) fn xml(&self) -> herald_xml::Limits {
        herald_xml::Limits {
            max_bytes: self.max_bytes,
            max_depth: self.max_depth,
            max_elements: self.max_elements,
            max_attributes: self.max_attributes,
            max_text_bytes: self.max_text_bytes,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DOCUMENT
    }
}
