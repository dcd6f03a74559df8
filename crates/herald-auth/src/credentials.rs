//! `Authorization` / `Proxy-Authorization` Digest credentials (RFC 3261 §22.4 and §25.1,
//! RFC 7616 §3.4, RFC 8760).

use std::borrow::Cow;

use crate::Algorithm;
use crate::auth_params::{AuthParams, split_scheme};

/// More parameters than any real client sends; the bound keeps duplicate detection cheap.
const MAX_PARAMS: usize = 64;

/// A parsed `Authorization` / `Proxy-Authorization` header value.
///
/// Quoted values are stored unquoted and unescaped (RFC 7616 `unq()`), which is the form
/// that enters the digest computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// `username`; with `userhash` it is `H(username ":" realm)` rather than the name.
    pub username: String,
    /// `realm` the client answered for.
    pub realm: String,
    /// The server nonce the client echoes.
    pub nonce: String,
    /// `uri` (the digest-uri); the caller checks it against the Request-URI.
    pub uri: String,
    /// `response` as sent (hex; case is not normalised).
    pub response: String,
    /// `algorithm`, MD5 when absent.
    pub algorithm: Algorithm,
    /// `cnonce`; always present when `qop` is.
    pub cnonce: Option<String>,
    /// `qop` as sent; only `auth` (any case) is accepted by the parser.
    pub qop: Option<String>,
    /// `nc` (nonce-count); always present when `qop` is.
    pub nc: Option<u32>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
    /// `userhash=true` (RFC 7616 §3.4.4).
    pub userhash: bool,
}

/// Why a header value is not usable Digest credentials.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    /// Another scheme (Basic, NTLM, an unknown one): challenge as if no credentials were sent.
    #[error("not a Digest credential")]
    NotDigest,
    /// Digest credentials that break the grammar or omit a required parameter.
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    /// Digest credentials naming an algorithm the server does not offer.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
}

/// Parses `Digest username="..", realm="..", ...`.
///
/// Accepts quoted-strings with escapes, tokens, LWS, parameters in any order and either
/// quoted or bare values for every parameter (clients disagree on which to quote). Unknown
/// parameters are ignored; any parameter given twice is rejected (RFC 7235 §2.1). A
/// non-Digest scheme gives [`CredentialsError::NotDigest`] (RFC 4475 §3.1.2.1, regaut01:
/// the server then challenges as if no credentials were present).
///
/// Stricter than a bare grammar check where the digest would otherwise silently fail:
/// `qop` must be `auth` and come with `cnonce` and `nc`; `nc` must be 8 lower-case hex
/// digits (the value is re-formatted that way for hashing); `response` must be hex of the
/// algorithm's digest length.
pub fn parse_credentials(value: &str) -> Result<Credentials, CredentialsError> {
    let (scheme, list) = split_scheme(value).map_err(CredentialsError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(CredentialsError::NotDigest);
    }

    let raw = RawDigestParams::collect(list)?;
    let algorithm = match raw.algorithm {
        None => Algorithm::Md5,
        Some(name) => Algorithm::parse(&name).ok_or(CredentialsError::UnsupportedAlgorithm)?,
    };

    let username = required(raw.username, "missing username")?;
    let realm = required(raw.realm, "missing realm")?;
    let nonce = required(raw.nonce, "missing nonce")?;
    let uri = required(raw.uri, "missing uri")?;
    let response = required(raw.response, "missing response")?;
    if response.len() != algorithm.hex_len() || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(
            "response is not a hex digest of the algorithm's length",
        ));
    }

    let qop = raw.qop.map(Cow::into_owned);
    let cnonce = raw.cnonce.map(Cow::into_owned);
    let nc = raw.nc.as_deref().map(parse_nonce_count).transpose()?;
    match &qop {
        Some(qop) if !qop.eq_ignore_ascii_case("auth") => return Err(malformed("unsupported qop")),
        Some(_) if cnonce.is_none() => return Err(malformed("qop without cnonce")),
        Some(_) if nc.is_none() => return Err(malformed("qop without nc")),
        None if cnonce.is_some() || nc.is_some() => {
            return Err(malformed("cnonce or nc without qop"));
        }
        _ => {}
    }

    let userhash = match raw.userhash.as_deref() {
        None => false,
        Some(flag) if flag.eq_ignore_ascii_case("true") => true,
        Some(flag) if flag.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(malformed("userhash is neither true nor false")),
    };

    Ok(Credentials {
        username,
        realm,
        nonce,
        uri,
        response,
        algorithm,
        cnonce,
        qop,
        nc,
        opaque: raw.opaque.map(Cow::into_owned),
        userhash,
    })
}

/// The parameters a Digest response may carry, before validation.
#[derive(Default)]
struct RawDigestParams<'a> {
    username: Option<Cow<'a, str>>,
    realm: Option<Cow<'a, str>>,
    nonce: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    response: Option<Cow<'a, str>>,
    algorithm: Option<Cow<'a, str>>,
    cnonce: Option<Cow<'a, str>>,
    qop: Option<Cow<'a, str>>,
    nc: Option<Cow<'a, str>>,
    opaque: Option<Cow<'a, str>>,
    userhash: Option<Cow<'a, str>>,
}

impl<'a> RawDigestParams<'a> {
    fn collect(list: &'a str) -> Result<Self, CredentialsError> {
        let mut raw = RawDigestParams::default();
        let mut unknown_names: Vec<&str> = Vec::new();
        for (count, param) in AuthParams::new(list).enumerate() {
            if count >= MAX_PARAMS {
                return Err(malformed("too many parameters"));
            }
            let param = param.map_err(CredentialsError::Malformed)?;
            match raw.slot(param.name) {
                Some(slot) if slot.is_some() => return Err(malformed("duplicate parameter")),
                Some(slot) => *slot = Some(param.value),
                None => {
                    if unknown_names
                        .iter()
                        .any(|seen| seen.eq_ignore_ascii_case(param.name))
                    {
                        return Err(malformed("duplicate parameter"));
                    }
                    unknown_names.push(param.name);
                }
            }
        }
        Ok(raw)
    }

    /// Where a known parameter goes; names are case-insensitive (RFC 7235 §2.1).
    fn slot(&mut self, name: &str) -> Option<&mut Option<Cow<'a, str>>> {
        let slots: [(&str, &mut Option<Cow<'a, str>>); 11] = [
            ("username", &mut self.username),
            ("realm", &mut self.realm),
            ("nonce", &mut self.nonce),
            ("uri", &mut self.uri),
            ("response", &mut self.response),
            ("algorithm", &mut self.algorithm),
            ("cnonce", &mut self.cnonce),
            ("qop", &mut self.qop),
            ("nc", &mut self.nc),
            ("opaque", &mut self.opaque),
            ("userhash", &mut self.userhash),
        ];
        slots
            .into_iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, slot)| slot)
    }
}

/// `nc-value = 8LHEX` (RFC 3261 §25.1). Lower case only, because the digest is computed
/// over the value re-formatted as `{:08x}`.
fn parse_nonce_count(value: &str) -> Result<u32, CredentialsError> {
    let is_lhex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if value.len() != 8 || !value.bytes().all(is_lhex) {
        return Err(malformed("nc is not 8 lower-case hex digits"));
    }
    u32::from_str_radix(value, 16).map_err(|_| malformed("nc is not 8 lower-case hex digits"))
}

fn required(
    value: Option<Cow<'_, str>>,
    missing: &'static str,
) -> Result<String, CredentialsError> {
    value
        .map(Cow::into_owned)
        .ok_or(CredentialsError::Malformed(missing))
}

fn malformed(reason: &'static str) -> CredentialsError {
    CredentialsError::Malformed(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5_RESPONSE: &str = "8ca523f5e9506fed4657c9700eebdbec";

    fn with_params(params: &str) -> String {
        format!(
            r#"Digest username="bob", realm="example.com", nonce="n1", uri="sip:example.com", response="{MD5_RESPONSE}"{params}"#
        )
    }

    #[test]
    fn minimal_legacy_credentials() {
        let c = parse_credentials(&with_params("")).expect("valid credentials");
        assert_eq!(
            c,
            Credentials {
                username: "bob".into(),
                realm: "example.com".into(),
                nonce: "n1".into(),
                uri: "sip:example.com".into(),
                response: MD5_RESPONSE.into(),
                algorithm: Algorithm::Md5,
                cnonce: None,
                qop: None,
                nc: None,
                opaque: None,
                userhash: false,
            }
        );
    }

    #[test]
    fn all_known_parameters() {
        let c = parse_credentials(&with_params(
            r#", algorithm=md5, cnonce="c\"n", qop=auth, nc=0000001f, opaque="op", userhash=TRUE"#,
        ))
        .expect("valid credentials");
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert_eq!(c.cnonce.as_deref(), Some("c\"n"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc, Some(0x1f));
        assert_eq!(c.opaque.as_deref(), Some("op"));
        assert!(c.userhash);
    }

    #[test]
    fn scheme_and_names_are_case_insensitive_and_values_may_be_quoted() {
        let c = parse_credentials(&format!(
            r#"dIgEsT USERNAME="bob", Realm="r", NONCE="n", Uri="u", Response="{MD5_RESPONSE}", QOP="auth", NC="00000002", CNonce=abc, Algorithm="MD5""#
        ))
        .expect("valid credentials");
        assert_eq!(c.username, "bob");
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc, Some(2));
        assert_eq!(c.cnonce.as_deref(), Some("abc"));
    }

    #[test]
    fn non_digest_schemes() {
        for value in [
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "NoOneKnowsThisScheme opaque-data=here",
            "NTLM qop=\"auth\", realm=\"SIP Communications Service\"",
            "Digestive username=\"bob\"",
            "Bearer",
        ] {
            assert_eq!(
                parse_credentials(value),
                Err(CredentialsError::NotDigest),
                "{value:?}"
            );
        }
    }

    #[test]
    fn unsupported_algorithms() {
        for alg in ["MD5-sess", "SHA-512-256", "\"SHA-256-sess\"", "foo"] {
            assert_eq!(
                parse_credentials(&with_params(&format!(", algorithm={alg}"))),
                Err(CredentialsError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn missing_required_parameters() {
        let full = [
            "username=\"bob\"",
            "realm=\"r\"",
            "nonce=\"n\"",
            "uri=\"u\"",
            &format!("response=\"{MD5_RESPONSE}\""),
        ];
        let reasons = [
            "missing username",
            "missing realm",
            "missing nonce",
            "missing uri",
            "missing response",
        ];
        for (skip, reason) in reasons.iter().enumerate() {
            let kept: Vec<&str> = full
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != skip)
                .map(|(_, param)| *param)
                .collect();
            let value = format!("Digest {}", kept.join(", "));
            assert_eq!(
                parse_credentials(&value),
                Err(CredentialsError::Malformed(reason)),
                "{value}"
            );
        }
        assert_eq!(
            parse_credentials("Digest"),
            Err(CredentialsError::Malformed("missing username"))
        );
    }

    #[test]
    fn duplicates_are_rejected_including_unknown_ones() {
        for extra in [", realm=\"again\"", ", REALM=r", ", foo=1, Foo=2"] {
            assert_eq!(
                parse_credentials(&with_params(extra)),
                Err(CredentialsError::Malformed("duplicate parameter")),
                "{extra}"
            );
        }
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let c = parse_credentials(&with_params(r#", targetname="x", foo=bar, crand="1,2""#))
            .expect("valid credentials");
        assert_eq!(c.username, "bob");
    }

    #[test]
    fn qop_rules() {
        let cases: &[(&str, &str)] = &[
            (
                ", qop=auth-int, nc=00000001, cnonce=\"c\"",
                "unsupported qop",
            ),
            (", qop=auth, nc=00000001", "qop without cnonce"),
            (", qop=auth, cnonce=\"c\"", "qop without nc"),
            (", nc=00000001", "cnonce or nc without qop"),
            (", cnonce=\"c\"", "cnonce or nc without qop"),
        ];
        for (extra, reason) in cases {
            assert_eq!(
                parse_credentials(&with_params(extra)),
                Err(CredentialsError::Malformed(reason)),
                "{extra}"
            );
        }
    }

    #[test]
    fn nonce_count_must_be_eight_lower_hex_digits() {
        for nc in [
            "1",
            "0000001",
            "000000001",
            "0000000A",
            "+0000001",
            "0000000g",
            "\"\"",
        ] {
            assert_eq!(
                parse_credentials(&with_params(&format!(", qop=auth, cnonce=c, nc={nc}"))),
                Err(CredentialsError::Malformed(
                    "nc is not 8 lower-case hex digits"
                )),
                "{nc}"
            );
        }
        let c =
            parse_credentials(&with_params(", qop=auth, cnonce=c, nc=ffffffff")).expect("valid");
        assert_eq!(c.nc, Some(u32::MAX));
    }

    #[test]
    fn response_must_match_the_algorithm_length() {
        let sha_len_response = "a".repeat(64);
        for (response, alg) in [
            ("abc", "MD5"),
            ("", "MD5"),
            (MD5_RESPONSE, "SHA-256"),
            (sha_len_response.as_str(), "MD5"),
            ("8ca523f5e9506fed4657c9700eebdbeZ", "MD5"),
        ] {
            let value = format!(
                r#"Digest username="u", realm="r", nonce="n", uri="x", response="{response}", algorithm={alg}"#
            );
            assert_eq!(
                parse_credentials(&value),
                Err(CredentialsError::Malformed(
                    "response is not a hex digest of the algorithm's length"
                )),
                "{response} {alg}"
            );
        }
    }

    #[test]
    fn userhash_must_be_boolean() {
        assert_eq!(
            parse_credentials(&with_params(", userhash=yes")),
            Err(CredentialsError::Malformed(
                "userhash is neither true nor false"
            ))
        );
        assert!(
            !parse_credentials(&with_params(", userhash=\"false\""))
                .expect("valid")
                .userhash
        );
    }

    #[test]
    fn too_many_parameters() {
        let extra: String = (0..MAX_PARAMS).map(|i| format!(", p{i}=1")).collect();
        assert_eq!(
            parse_credentials(&with_params(&extra)),
            Err(CredentialsError::Malformed("too many parameters"))
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for value in [
            "",
            "   ",
            "\"",
            "Digest ,,,",
            "Digest username",
            "Digest username=\"bob",
            "Digest =",
            "Digest\u{0}",
        ] {
            assert!(
                matches!(
                    parse_credentials(value),
                    Err(CredentialsError::Malformed(_))
                ),
                "{value:?} -> {:?}",
                parse_credentials(value)
            );
        }
    }
}
