//! Parsing Authorization values as real SIP clients and the RFC 4475 torture tests send them.

use herald_auth::{Algorithm, CredentialsError, parse_credentials};

const MD5_RESPONSE: &str = "bbd5f1e4b7a0a2d9c25c7e7e9ef1e1a3";

#[test]
fn rfc4475_regaut01_unknown_scheme_is_not_digest() {
    assert_eq!(
        parse_credentials("NoOneKnowsThisScheme opaque-data=here"),
        Err(CredentialsError::NotDigest)
    );
}

#[test]
fn typical_sip_phone_register() {
    let value = format!(
        "Digest username=\"1001\",realm=\"pbx.example.com\",nonce=\"5f2a\",uri=\"sip:pbx.example.com;transport=tls\",\
         response=\"{MD5_RESPONSE}\",algorithm=MD5,cnonce=\"a1b2\",qop=auth,nc=00000001"
    );
    let c = parse_credentials(&value).expect("parses");
    assert_eq!(c.username, "1001");
    assert_eq!(c.uri, "sip:pbx.example.com;transport=tls");
    assert_eq!(c.nc, Some(1));
}

#[test]
fn uri_with_commas_quotes_and_escapes() {
    let value = format!(
        r#"Digest uri="sip:a,b@example.com;x=\"y\"", username="o'\"brien\\", realm="r", nonce="n", response="{MD5_RESPONSE}""#
    );
    let c = parse_credentials(&value).expect("parses");
    assert_eq!(c.uri, "sip:a,b@example.com;x=\"y\"");
    assert_eq!(c.username, "o'\"brien\\");
}

#[test]
fn utf8_username() {
    let value = format!(
        r#"Digest username="Jürgen 東京", realm="r", nonce="n", uri="u", response="{MD5_RESPONSE}""#
    );
    assert_eq!(
        parse_credentials(&value).expect("parses").username,
        "Jürgen 東京"
    );
}

#[test]
fn sha256_with_tabs_and_odd_spacing() {
    let response = "a".repeat(64);
    let value = format!(
        "\tDigest\t username = \"u\" ,realm=\"r\"\t,\tnonce= \"n\",uri =\"u\",response=\"{response}\",algorithm = sha-256 "
    );
    let c = parse_credentials(&value).expect("parses");
    assert_eq!(c.algorithm, Algorithm::Sha256);
    assert_eq!(c.response, response);
}

#[test]
fn empty_quoted_values_are_kept_empty() {
    let value = format!(
        r#"Digest username="", realm="", nonce="", uri="", response="{MD5_RESPONSE}", opaque="""#
    );
    let c = parse_credentials(&value).expect("parses");
    assert_eq!((c.username.as_str(), c.opaque.as_deref()), ("", Some("")));
}

#[test]
fn garbage_gives_errors_not_panics() {
    let inputs = [
        "",
        "Digest",
        "Digest ",
        "Digest \"",
        "Digest username=\"\\",
        "Digest username=\"a\"\"b\"",
        "Digest ===",
        "Digest username=\"a\" realm=\"b\"",
        "Digest \u{feff}username=\"a\"",
        "Digest username=\u{7f}",
        "\u{0}",
        "Digest,",
        "é",
    ];
    for input in inputs {
        let result = parse_credentials(input);
        assert!(
            matches!(result, Err(CredentialsError::Malformed(_))),
            "{input:?} -> {result:?}"
        );
    }
}

#[test]
fn error_messages_name_the_problem() {
    let err = parse_credentials("Digest username=\"a\"").expect_err("incomplete");
    assert_eq!(err.to_string(), "malformed credentials: missing realm");
    assert_eq!(
        CredentialsError::NotDigest.to_string(),
        "not a Digest credential"
    );
    assert_eq!(
        CredentialsError::UnsupportedAlgorithm.to_string(),
        "unsupported algorithm"
    );
}
