//! Bounds on what [`crate::parse`] accepts, so that a hostile document costs at most a
//! known amount of memory and time.

/// Size and shape limits applied while parsing. A document crate builds one from its
/// own limits; `usize::MAX` switches a bound off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting (the root is depth 1).
    pub max_depth: usize,
    /// Most elements in one document.
    pub max_elements: usize,
    /// Most attributes on one element (namespace declarations included).
    pub max_attributes: usize,
    /// Most bytes of one attribute value, and of the character data directly inside
    /// one element.
    pub max_text_bytes: usize,
}
