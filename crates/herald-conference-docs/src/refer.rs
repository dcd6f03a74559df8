//! The `Refer-To` header of a REFER (RFC 3515): the URI the focus is asked to send an
//! INVITE to, and the headers embedded in that URI (`?Replaces=...&Require=replaces`
//! for an attended transfer, RFC 3891 §7).

use herald_sip::{NameAddr, Scheme, SipStr, Uri};

use crate::error::{DocError, shown};

pub use crate::replaces::Replaces;

/// A parsed `Refer-To` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTo {
    /// The sip or sips URI to send the INVITE to, without its `?headers` part.
    pub target: Uri,
    /// The display name, unquoted.
    pub display_name: Option<String>,
    /// An embedded `Replaces` header.
    pub replaces: Option<Replaces>,
    /// The option tags of embedded `Require` headers, in order.
    pub require: Vec<String>,
    /// Every other embedded header (name and value %-decoded), in order.
    pub other_headers: Vec<(String, String)>,
}

/// Reads the value of a `Refer-To` header: a name-addr (`"Bob" <sip:bob@d?h=v>`) or
/// an addr-spec (which cannot carry embedded headers, RFC 3261 §20). Embedded header
/// names and values are %-decoded (RFC 3261 §19.1.1) and names compared
/// case-insensitively. A header value with unescaped `@`, `;` or `=` (as some clients
/// send a Replaces) is accepted too.
///
/// Refused: a value that is not an address ([`DocError::Malformed`]), a target that is
/// not sip or sips ([`DocError::UnsupportedScheme`]), a bad embedded `Replaces`, two
/// `Replaces`, an embedded header that is not UTF-8 once decoded.
pub fn parse_refer_to(value: &str) -> Result<ReferTo, DocError> {
    let value = value.trim();
    let (address, headers) = match NameAddr::parse(&SipStr::from(value.to_owned())) {
        Ok(mut address) => {
            let headers = address.uri.headers.take().map(|h| h.as_str().to_owned());
            (address, headers)
        }
        Err(strict) => with_raw_headers(value)
            .ok_or_else(|| DocError::malformed(format!("bad Refer-To: {strict}")))?,
    };
    if !matches!(address.uri.scheme, Scheme::Sip | Scheme::Sips) {
        return Err(DocError::unsupported_scheme(address.uri.scheme.as_str()));
    }
    // Re-parsed from its text so that no trace of the headers is left in the URI.
    let target = Uri::parse_str(&address.uri.to_string())
        .map_err(|e| DocError::malformed(format!("bad Refer-To target: {e}")))?;
    let mut refer_to = ReferTo {
        target,
        display_name: address.display,
        replaces: None,
        require: Vec::new(),
        other_headers: Vec::new(),
    };
    for header in headers.as_deref().unwrap_or_default().split('&') {
        if header.is_empty() {
            continue;
        }
        let (name, value) = header.split_once('=').unwrap_or((header, ""));
        let name = percent_decode(name)?;
        let value = percent_decode(value)?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("Replaces") {
            if refer_to.replaces.is_some() {
                return Err(DocError::malformed("two Replaces in Refer-To"));
            }
            refer_to.replaces = Some(Replaces::parse(&value)?);
        } else if name.eq_ignore_ascii_case("Require") {
            refer_to.require.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|tag| !tag.is_empty())
                    .map(str::to_owned),
            );
        } else if !name.is_empty() {
            refer_to.other_headers.push((name.to_owned(), value));
        }
    }
    Ok(refer_to)
}

/// For a value whose URI the strict parser refused: the address with the URI cut at
/// its first `?`, and the raw text after it. `None` when that does not parse either.
fn with_raw_headers(value: &str) -> Option<(NameAddr, Option<String>)> {
    let close = value.rfind('>')?;
    let open = value.get(..close)?.rfind('<')?;
    let uri = value.get(open + 1..close)?;
    let (base, headers) = uri.split_once('?')?;
    let rebuilt = format!("{}{base}{}", value.get(..=open)?, value.get(close..)?);
    let address = NameAddr::parse(&SipStr::from(rebuilt)).ok()?;
    Some((address, Some(headers.to_owned())))
}

/// `%XX` escapes decoded; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(text: &str) -> Result<String, DocError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex(hi).zip(hex(lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| DocError::malformed(format!("embedded header is not UTF-8: {}", shown(text))))
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_attended_transfer_as_pjsip_sends_it() {
        let r = parse_refer_to(
            "<sip:bob@d.test?Require=replaces&Replaces=abc%40host%3Bto-tag%3D123%3Bfrom-tag%3D456>",
        )
        .unwrap();
        assert_eq!(r.target, Uri::parse_str("sip:bob@d.test").unwrap());
        assert_eq!(r.target.to_string(), "sip:bob@d.test");
        assert_eq!(r.display_name, None);
        assert_eq!(r.require, ["replaces"]);
        assert_eq!(
            r.replaces,
            Some(Replaces {
                call_id: "abc@host".into(),
                to_tag: "123".into(),
                from_tag: "456".into(),
                early_only: false,
            })
        );
        assert!(r.other_headers.is_empty());
    }

    #[test]
    fn reads_plain_targets_with_display_names_and_params() {
        let r = parse_refer_to("\"Carol \\\"C\\\"\" <sips:carol@d.test:5061;transport=tls>;x=1")
            .unwrap();
        assert_eq!(r.display_name.as_deref(), Some("Carol \"C\""));
        assert_eq!(r.target.to_string(), "sips:carol@d.test:5061;transport=tls");
        assert_eq!(r.replaces, None);
        let bare = parse_refer_to(" sip:dave@d.test ").unwrap();
        assert_eq!(bare.target.to_string(), "sip:dave@d.test");
        let token = parse_refer_to("Erin <sip:erin@d.test>").unwrap();
        assert_eq!(token.display_name.as_deref(), Some("Erin"));
    }

    #[test]
    fn decodes_other_headers_case_insensitively() {
        let r = parse_refer_to(
            "<sip:bob@d.test?require=replaces,%20norefersub&REPLACES=x%3bto-tag%3d1%3bfrom-tag%3d2%3Bearly-only&Subject=Hi%20there&X%2DEmpty=&flag>",
        )
        .unwrap();
        assert_eq!(r.require, ["replaces", "norefersub"]);
        assert_eq!(r.replaces.as_ref().map(|r| r.early_only), Some(true));
        assert_eq!(
            r.other_headers,
            [
                ("Subject".to_owned(), "Hi there".to_owned()),
                ("X-Empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn tolerates_an_unescaped_replaces() {
        let r = parse_refer_to(
            "Bob <sip:bob@d.test;transport=tcp?Replaces=abc@host;to-tag=1;from-tag=2&Require=replaces>",
        )
        .unwrap();
        assert_eq!(r.target.to_string(), "sip:bob@d.test;transport=tcp");
        assert_eq!(r.display_name.as_deref(), Some("Bob"));
        assert_eq!(r.replaces.map(|r| r.call_id), Some("abc@host".to_owned()));
        assert_eq!(r.require, ["replaces"]);
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        assert_eq!(
            parse_refer_to("<tel:+15551234>").unwrap_err(),
            DocError::UnsupportedScheme("tel".into())
        );
        assert_eq!(
            parse_refer_to("<https://example.com/x>")
                .unwrap_err()
                .to_string(),
            "unsupported scheme https"
        );
        for bad in [
            "",
            "<>",
            "not an address",
            "<sip:bob@d.test?Replaces=only-a-call-id>",
            "<sip:bob@d.test?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>",
            "<sip:bob@d.test?X=%FF>",
        ] {
            assert!(
                matches!(parse_refer_to(bad), Err(DocError::Malformed(_))),
                "{bad}: {:?}",
                parse_refer_to(bad)
            );
        }
    }

    #[test]
    fn percent_decoding_keeps_stray_percent_signs() {
        assert_eq!(percent_decode("a%41%4a%2").unwrap(), "aAJ%2");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
        assert!(percent_decode("%C3").is_err());
    }
}
