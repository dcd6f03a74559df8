//! Content-Type values (RFC 2045 §5.1): `type/subtype *(; name=value)`, values as tokens
//! or quoted strings. Type, subtype and parameter names are case-insensitive and are
//! kept lower-cased; parameter values are kept as written (unquoted).

use crate::error::PidfError;

/// A parsed media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// `multipart`, `application`, ... (lower case).
    pub kind: String,
    /// `related`, `pidf+xml`, ... (lower case).
    pub subtype: String,
    /// Parameters in order: lower-case name, unquoted value.
    pub params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses a Content-Type header value.
    pub fn parse(text: &str) -> Result<MediaType, PidfError> {
        let bad = || PidfError::malformed("bad Content-Type");
        let mut rest = text.trim_matches(is_space);
        let (kind, after) = take_token(rest).ok_or_else(bad)?;
        rest = after.strip_prefix('/').ok_or_else(bad)?;
        let (subtype, after) = take_token(rest).ok_or_else(bad)?;
        rest = after.trim_start_matches(is_space);
        let mut params = Vec::new();
        while let Some(after_semicolon) = rest.strip_prefix(';') {
            rest = after_semicolon.trim_start_matches(is_space);
            if rest.is_empty() {
                break; // a trailing ';' is common and harmless
            }
            let (name, after) = take_token(rest).ok_or_else(bad)?;
            rest = after
                .trim_start_matches(is_space)
                .strip_prefix('=')
                .ok_or_else(bad)?;
            rest = rest.trim_start_matches(is_space);
            let (value, after) = if rest.starts_with('"') {
                take_quoted(rest)
            } else {
                take_token(rest)
            }
            .ok_or_else(bad)?;
            params.push((name.to_ascii_lowercase(), value));
            rest = after.trim_start_matches(is_space);
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(MediaType {
            kind: kind.to_ascii_lowercase(),
            subtype: subtype.to_ascii_lowercase(),
            params,
        })
    }

    /// `type/subtype`, lower case.
    pub fn essence(&self) -> String {
        format!("{}/{}", self.kind, self.subtype)
    }

    /// Whether this is `essence` (compared case-insensitively).
    pub fn is(&self, essence: &str) -> bool {
        essence.split_once('/').is_some_and(|(kind, subtype)| {
            self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
        })
    }

    /// The value of parameter `name` (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Linear whitespace, folding line breaks included (a header value may be handed over
/// still folded).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// RFC 2045 token characters: printable ASCII except space and tspecials.
fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c)
}

fn take_token(text: &str) -> Option<(String, &str)> {
    let end = text.find(|c| !is_token_char(c)).unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_owned(), &text[end..]))
}

/// A quoted string starting at `text`: its unescaped content and the rest.
fn take_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            '\r' | '\n' => return None,
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rlmi_multipart_type() {
        let m = MediaType::parse(
            "Multipart/Related ;type=\"application/rlmi+xml\"; start = \"<nXYxAE@pres.example.com>\";boundary=\"50UBfW7LSCVLtggUPe5z\"",
        )
        .unwrap();
        assert!(m.is("multipart/related"));
        assert_eq!(m.essence(), "multipart/related");
        assert_eq!(m.param("TYPE"), Some("application/rlmi+xml"));
        assert_eq!(m.param("start"), Some("<nXYxAE@pres.example.com>"));
        assert_eq!(m.param("boundary"), Some("50UBfW7LSCVLtggUPe5z"));
        assert_eq!(m.param("charset"), None);
    }

    #[test]
    fn tokens_escapes_and_trailing_semicolon() {
        let m = MediaType::parse("application/pidf+xml;charset=UTF-8;x=\"a\\\"b\";").unwrap();
        assert_eq!(m.param("charset"), Some("UTF-8"));
        assert_eq!(m.param("x"), Some("a\"b"));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "text",
            "/plain",
            "text/",
            "text/plain;",
            "a/b;c",
            "a/b;c=",
            "a/b;c=\"open",
            "a/b x",
            "a/b;=v",
            "a/b;c=\"x\ny\"",
        ] {
            let ok = bad == "text/plain;";
            assert_eq!(MediaType::parse(bad).is_ok(), ok, "{bad:?}");
        }
    }
}
