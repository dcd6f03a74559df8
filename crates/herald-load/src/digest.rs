//! The client side of SIP digest authentication: reading a `WWW-Authenticate` challenge
//! and answering it with `Authorization` credentials (RFC 3261 §22.4, RFC 7616 §3.4),
//! reusing one nonce with an increasing nonce count (qop=auth).
//!
//! The digest itself comes from `herald-auth` (the server's own computation), so a
//! credential this module builds is exactly what the server verifies.

use herald_auth::{Algorithm, Credentials, expected_response, ha1};

/// One Digest challenge the client can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed back when present.
    pub opaque: Option<String>,
    /// `algorithm` (MD5 when absent).
    pub algorithm: Algorithm,
    /// Whether `qop` offers `auth` (otherwise the legacy RFC 2069 form is used).
    pub qop_auth: bool,
    /// `stale=true`: the previous nonce expired, the password was right.
    pub stale: bool,
}

/// Why a challenge value cannot be answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChallengeError {
    /// Another scheme than Digest.
    NotDigest,
    /// The parameter list breaks the grammar, or realm/nonce is missing.
    Malformed(&'static str),
    /// An algorithm this client does not implement (e.g. SHA-512-256).
    UnsupportedAlgorithm(String),
}

impl std::fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChallengeError::NotDigest => write!(f, "not a Digest challenge"),
            ChallengeError::Malformed(why) => write!(f, "malformed challenge: {why}"),
            ChallengeError::UnsupportedAlgorithm(alg) => write!(f, "unsupported algorithm {alg}"),
        }
    }
}

/// Parses one `WWW-Authenticate` / `Proxy-Authenticate` value holding one challenge.
pub fn parse_challenge(value: &str) -> Result<Challenge, ChallengeError> {
    let value = value.trim_start();
    let scheme_end = value
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(ChallengeError::NotDigest);
    }
    let mut realm = None;
    let mut nonce = None;
    let mut opaque = None;
    let mut algorithm = Algorithm::Md5;
    let mut qop_auth = false;
    let mut stale = false;
    for (name, value) in parse_auth_params(rest).map_err(ChallengeError::Malformed)? {
        match name.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value),
            "nonce" => nonce = Some(value),
            "opaque" => opaque = Some(value),
            "algorithm" => {
                algorithm = Algorithm::parse(&value)
                    .ok_or(ChallengeError::UnsupportedAlgorithm(value.clone()))?;
            }
            "qop" => {
                qop_auth = value
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"));
            }
            "stale" => stale = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    Ok(Challenge {
        realm: realm.ok_or(ChallengeError::Malformed("no realm"))?,
        nonce: nonce.ok_or(ChallengeError::Malformed("no nonce"))?,
        opaque,
        algorithm,
        qop_auth,
        stale,
    })
}

/// The first challenge among `values` (header lines in order) that this client can
/// answer: the server lists its preferred algorithm first.
pub fn pick_challenge<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    values.into_iter().find_map(|v| parse_challenge(v).ok())
}

/// `name=value` pairs separated by commas; values are tokens or quoted strings (the
/// quotes removed and `\x` escapes resolved).
fn parse_auth_params(list: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut out = Vec::new();
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return Ok(out);
        }
        let eq = rest.find('=').ok_or("parameter without `=`")?;
        let (name, after) = rest.split_at(eq);
        let name = name.trim();
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace() || c == ',') {
            return Err("bad parameter name");
        }
        let after = after.get(1..).unwrap_or_default().trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            unquote(quoted)?
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let (token, remainder) = after.split_at(end);
            (token.trim().to_owned(), remainder)
        };
        let remainder = remainder.trim_start();
        if !(remainder.is_empty() || remainder.starts_with(',')) {
            return Err("junk after a parameter value");
        }
        out.push((name.to_owned(), value));
        rest = remainder;
    }
}

/// Reads a quoted string whose opening quote was consumed; returns the value and what
/// follows the closing quote.
fn unquote(text: &str) -> Result<(String, &str), &'static str> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, text.get(at + 1..).unwrap_or_default())),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            other => value.push(other),
        }
    }
    Err("unterminated quoted string")
}

/// One user's digest state: the challenge being answered and its nonce count.
#[derive(Clone, Debug)]
pub struct DigestSession {
    username: String,
    challenge: Option<Challenge>,
    ha1: String,
    nonce_count: u32,
}

impl DigestSession {
    /// A session for `username` (the user part of the account) with no challenge yet.
    pub fn new(username: String) -> Self {
        DigestSession {
            username,
            challenge: None,
            ha1: String::new(),
            nonce_count: 0,
        }
    }

    /// Takes a new challenge (from a 401): its nonce starts a new count.
    pub fn accept(&mut self, challenge: Challenge, password: &str) {
        let same_key = self.challenge.as_ref().is_some_and(|old| {
            old.realm == challenge.realm && old.algorithm == challenge.algorithm
        });
        if !same_key {
            self.ha1 = ha1(
                challenge.algorithm,
                &self.username,
                &challenge.realm,
                password,
            );
        }
        self.challenge = Some(challenge);
        self.nonce_count = 0;
    }

    /// The `Authorization` value for the next request (`method` to `uri`), using the
    /// next nonce count; `None` before any challenge. Requests must reach the server in
    /// the order their credentials were made.
    pub fn authorization(&mut self, method: &str, uri: &str, cnonce: &str) -> Option<String> {
        let challenge = self.challenge.as_ref()?;
        self.nonce_count = self.nonce_count.wrapping_add(1);
        let mut credentials = Credentials {
            username: self.username.clone(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_owned(),
            response: String::new(),
            algorithm: challenge.algorithm,
            cnonce: None,
            qop: None,
            nc: None,
            opaque: challenge.opaque.clone(),
            userhash: false,
        };
        if challenge.qop_auth {
            credentials.cnonce = Some(cnonce.to_owned());
            credentials.qop = Some("auth".to_owned());
            credentials.nc = Some(self.nonce_count);
        }
        credentials.response = expected_response(&credentials, &self.ha1, method);
        Some(render(&credentials))
    }
}

fn render(c: &Credentials) -> String {
    let mut out = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
        quote_escape(&c.username),
        quote_escape(&c.realm),
        quote_escape(&c.nonce),
        quote_escape(&c.uri),
        c.response,
        c.algorithm.as_str()
    );
    if let (Some(qop), Some(nc), Some(cnonce)) = (&c.qop, c.nc, &c.cnonce) {
        out.push_str(&format!(
            ", qop={qop}, nc={nc:08x}, cnonce=\"{}\"",
            quote_escape(cnonce)
        ));
    }
    if let Some(opaque) = &c.opaque {
        out.push_str(&format!(", opaque=\"{}\"", quote_escape(opaque)));
    }
    out
}

/// The inside of a quoted-string: a server's realm or nonce may hold `"` or `\`.
fn quote_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_auth::{parse_credentials, verify_response};

    const MD5_CHALLENGE: &str =
        r#"Digest realm="bench.test", nonce="abc123", opaque="op", qop="auth", algorithm=MD5"#;

    #[test]
    fn reads_herald_style_challenge() {
        let c = parse_challenge(MD5_CHALLENGE).expect("challenge");
        assert_eq!(
            c,
            Challenge {
                realm: "bench.test".into(),
                nonce: "abc123".into(),
                opaque: Some("op".into()),
                algorithm: Algorithm::Md5,
                qop_auth: true,
                stale: false,
            }
        );
    }

    #[test]
    fn reads_stale_quoted_escapes_and_qop_lists() {
        let c = parse_challenge(
            r#"digest  REALM="a \"b\" c",nonce=n1 , qop="auth-int, auth", stale=TRUE, algorithm="SHA-256""#,
        )
        .expect("challenge");
        assert_eq!(c.realm, "a \"b\" c");
        assert_eq!(c.nonce, "n1");
        assert!(c.qop_auth);
        assert!(c.stale);
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.opaque, None);
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        assert_eq!(
            parse_challenge(r#"Basic realm="x""#),
            Err(ChallengeError::NotDigest)
        );
        assert_eq!(
            parse_challenge(r#"Digest nonce="n""#),
            Err(ChallengeError::Malformed("no realm"))
        );
        assert_eq!(
            parse_challenge(r#"Digest realm="r", nonce="n"#),
            Err(ChallengeError::Malformed("unterminated quoted string"))
        );
        assert_eq!(
            parse_challenge(r#"Digest realm="r" junk, nonce="n""#),
            Err(ChallengeError::Malformed("junk after a parameter value"))
        );
        assert!(matches!(
            parse_challenge(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#),
            Err(ChallengeError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn picks_the_first_answerable_challenge() {
        let sha = r#"Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth""#;
        let odd = r#"Digest realm="r", nonce="n0", algorithm=SHA-512-256"#;
        let picked = pick_challenge([odd, MD5_CHALLENGE, sha]).expect("one usable");
        assert_eq!(picked.nonce, "abc123");
        assert_eq!(pick_challenge([odd]), None);
    }

    #[test]
    fn credentials_verify_on_the_server_side_with_increasing_nc() {
        for challenge in [
            MD5_CHALLENGE,
            r#"Digest realm="bench.test", nonce="xyz", qop="auth", algorithm=SHA-256"#,
        ] {
            let challenge = parse_challenge(challenge).expect("challenge");
            let alg = challenge.algorithm;
            let mut session = DigestSession::new("u00001".into());
            assert_eq!(session.authorization("PUBLISH", "sip:x", "c"), None);
            session.accept(challenge, "pw");
            let server_ha1 = ha1(alg, "u00001", "bench.test", "pw");
            for expected_nc in 1..=3u32 {
                let value = session
                    .authorization("PUBLISH", "sip:u00001@bench.test", "cn")
                    .expect("credentials");
                let creds = parse_credentials(&value).expect("server parses it");
                assert_eq!(creds.nc, Some(expected_nc));
                assert_eq!(creds.username, "u00001");
                assert_eq!(creds.algorithm, alg);
                assert!(verify_response(&creds, &server_ha1, "PUBLISH"));
                assert!(!verify_response(&creds, &server_ha1, "SUBSCRIBE"));
                let wrong = ha1(alg, "u00001", "bench.test", "other");
                assert!(!verify_response(&creds, &wrong, "PUBLISH"));
            }
        }
    }

    #[test]
    fn a_new_nonce_restarts_the_count() {
        let mut session = DigestSession::new("u1".into());
        session.accept(parse_challenge(MD5_CHALLENGE).expect("c"), "pw");
        session.authorization("SUBSCRIBE", "sip:a", "c");
        session.authorization("SUBSCRIBE", "sip:a", "c");
        let fresh =
            parse_challenge(r#"Digest realm="bench.test", nonce="new", qop="auth", stale=true"#)
                .expect("c");
        session.accept(fresh, "pw");
        let creds = parse_credentials(
            &session
                .authorization("SUBSCRIBE", "sip:a", "c")
                .expect("credentials"),
        )
        .expect("parses");
        assert_eq!(creds.nonce, "new");
        assert_eq!(creds.nc, Some(1));
    }

    #[test]
    fn quoted_values_survive_the_round_trip() {
        let mut session = DigestSession::new("u1".into());
        let challenge = parse_challenge(r#"Digest realm="a \"b\" \\c", nonce="n", qop=auth"#)
            .expect("challenge");
        assert_eq!(challenge.realm, r#"a "b" \c"#);
        session.accept(challenge, "pw");
        let creds = parse_credentials(&session.authorization("PUBLISH", "sip:a", "c").expect("v"))
            .expect("parses");
        assert_eq!(creds.realm, r#"a "b" \c"#);
        assert!(verify_response(
            &creds,
            &ha1(Algorithm::Md5, "u1", r#"a "b" \c"#, "pw"),
            "PUBLISH"
        ));
    }

    #[test]
    fn legacy_challenge_without_qop() {
        let mut session = DigestSession::new("u1".into());
        session.accept(
            parse_challenge(r#"Digest realm="r", nonce="n""#).expect("c"),
            "pw",
        );
        let creds = parse_credentials(&session.authorization("PUBLISH", "sip:a", "c").expect("v"))
            .expect("parses");
        assert_eq!(creds.qop, None);
        assert_eq!(creds.nc, None);
        assert!(verify_response(
            &creds,
            &ha1(Algorithm::Md5, "u1", "r", "pw"),
            "PUBLISH"
        ));
    }
}
