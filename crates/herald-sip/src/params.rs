//! Generic `;name[=value]` parameter lists (URI params, Via params, header params).
use crate::text::SipStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: SipStr,
    /// `None` for a flag parameter (`;lr`); value kept as written (quotes kept for
    /// quoted-string values; use [`Param::unquoted`] to read it).
    pub value: Option<SipStr>,
}
impl Param {
    /// The value with surrounding quotes and backslash escapes removed.
    pub fn unquoted(&self) -> Option<std::borrow::Cow<'_, str>> { todo!() }
}

/// Ordered list; names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<Param>);
impl Params {
    pub fn get(&self, name: &str) -> Option<&Param> { todo!() }
    /// The value of `name` (None if absent or a flag).
    pub fn value(&self, name: &str) -> Option<&str> { todo!() }
    pub fn contains(&self, name: &str) -> bool { todo!() }
    /// Sets (replacing an existing one) or appends.
    pub fn set(&mut self, name: impl Into<SipStr>, value: Option<SipStr>) { todo!() }
    pub fn remove(&mut self, name: &str) { todo!() }
    /// Writes `;name=value...`.
    pub fn write_to(&self, out: &mut Vec<u8>) { todo!() }
}
