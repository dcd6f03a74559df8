//! The `Replaces` header (RFC 3891): which dialog a new INVITE takes the place of. An
//! attended transfer embeds it in the Refer-To URI, and a focus moving a two-party
//! session into a conference sends it in the INVITE it is referred to make.

use crate::error::{DocError, shown};

/// A parsed `Replaces` value: `call-id;to-tag=..;from-tag=..[;early-only]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// The Call-ID of the dialog to replace.
    pub call_id: String,
    /// The `to-tag` parameter: the tag of the dialog's remote party as seen by whoever
    /// receives the INVITE with Replaces (its local tag).
    pub to_tag: String,
    /// The `from-tag` parameter.
    pub from_tag: String,
    /// The `early-only` flag: replace only a dialog that is not yet confirmed.
    pub early_only: bool,
}

impl Replaces {
    /// Reads a `Replaces` header value. Parameter names are case-insensitive; unknown
    /// parameters are ignored. Refused: an empty or spaced Call-ID, a missing, empty or
    /// repeated `to-tag` or `from-tag`.
    pub fn parse(value: &str) -> Result<Replaces, DocError> {
        let mut parts = value.trim().split(';');
        let call_id = parts.next().unwrap_or_default().trim();
        if call_id.is_empty() || !call_id.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(DocError::malformed(format!(
                "bad Call-ID in Replaces {}",
                shown(call_id)
            )));
        }
        let mut to_tag = None;
        let mut from_tag = None;
        let mut early_only = false;
        for param in parts {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (param.trim(), None),
            };
            let slot = if name.eq_ignore_ascii_case("to-tag") {
                &mut to_tag
            } else if name.eq_ignore_ascii_case("from-tag") {
                &mut from_tag
            } else {
                early_only |= name.eq_ignore_ascii_case("early-only");
                continue;
            };
            let tag = value.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()));
            let Some(tag) = tag else {
                return Err(DocError::malformed(format!(
                    "bad {} in Replaces",
                    shown(name)
                )));
            };
            if slot.replace(tag.to_owned()).is_some() {
                return Err(DocError::malformed(format!(
                    "{} twice in Replaces",
                    shown(name)
                )));
            }
        }
        Ok(Replaces {
            call_id: call_id.to_owned(),
            to_tag: to_tag.ok_or_else(|| DocError::malformed("Replaces without to-tag"))?,
            from_tag: from_tag.ok_or_else(|| DocError::malformed("Replaces without from-tag"))?,
            early_only,
        })
    }

    /// The header value: `call-id;to-tag=..;from-tag=..` and `;early-only` when set.
    pub fn header_value(&self) -> String {
        let early = if self.early_only { ";early-only" } else { "" };
        format!(
            "{};to-tag={};from-tag={}{early}",
            self.call_id, self.to_tag, self.from_tag
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc_3891_examples() {
        let r = Replaces::parse("425928@bobster.example.org;to-tag=7743;from-tag=6472").unwrap();
        assert_eq!(
            r,
            Replaces {
                call_id: "425928@bobster.example.org".into(),
                to_tag: "7743".into(),
                from_tag: "6472".into(),
                early_only: false,
            }
        );
        let early = Replaces::parse(
            " 98732@sip.example.com ; FROM-TAG = r33th4x0r ; To-Tag=ff87ff ; early-only ",
        )
        .unwrap();
        assert_eq!(early.call_id, "98732@sip.example.com");
        assert_eq!(early.from_tag, "r33th4x0r");
        assert_eq!(early.to_tag, "ff87ff");
        assert!(early.early_only);
        assert_eq!(
            early.header_value(),
            "98732@sip.example.com;to-tag=ff87ff;from-tag=r33th4x0r;early-only"
        );
        assert_eq!(Replaces::parse(&early.header_value()).unwrap(), early);
        let extra = Replaces::parse("a;x=1;to-tag=1;from-tag=2;flag").unwrap();
        assert_eq!((extra.to_tag.as_str(), extra.early_only), ("1", false));
    }

    #[test]
    fn refuses_incomplete_values() {
        for bad in [
            "",
            ";to-tag=1;from-tag=2",
            "a b;to-tag=1;from-tag=2",
            "abc;to-tag=1",
            "abc;from-tag=2",
            "abc;to-tag=;from-tag=2",
            "abc;to-tag;from-tag=2",
            "abc;to-tag=1;to-tag=3;from-tag=2",
        ] {
            assert!(
                matches!(Replaces::parse(bad), Err(DocError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
