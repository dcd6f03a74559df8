//! Digest computation checked against published examples: RFC 7616 §3.9.1 (SHA-256 and
//! MD5) and RFC 2617 §3.5, plus the legacy no-qop form against a value computed with an
//! independent implementation (Python's hashlib).

use herald_auth::{
    Algorithm, Credentials, expected_response, ha1, parse_credentials, verify_response,
};

const RFC7616_USER: &str = "Mufasa";
const RFC7616_PASSWORD: &str = "Circle of Life";
const RFC7616_REALM: &str = "http-auth@example.org";
const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC7616_SHA256_RESPONSE: &str =
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";
const RFC7616_MD5_RESPONSE: &str = "8ca523f5e9506fed4657c9700eebdbec";

/// The Authorization header of RFC 7616 §3.9.1, unfolded as a SIP stack hands it over.
fn rfc7616_header(alg: &str, response: &str) -> String {
    format!(
        "Digest username=\"{RFC7616_USER}\", realm=\"{RFC7616_REALM}\", uri=\"/dir/index.html\", \
         algorithm={alg}, nonce=\"{RFC7616_NONCE}\", nc=00000001, cnonce=\"{RFC7616_CNONCE}\", \
         qop=auth, response=\"{response}\", opaque=\"{RFC7616_OPAQUE}\""
    )
}

fn parsed(value: &str) -> Credentials {
    match parse_credentials(value) {
        Ok(credentials) => credentials,
        Err(err) => panic!("{value:?} did not parse: {err}"),
    }
}

#[test]
fn rfc7616_sha256_example() {
    let c = parsed(&rfc7616_header("SHA-256", RFC7616_SHA256_RESPONSE));
    assert_eq!(c.algorithm, Algorithm::Sha256);
    assert_eq!(c.opaque.as_deref(), Some(RFC7616_OPAQUE));
    let ha1 = ha1(
        Algorithm::Sha256,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    assert_eq!(ha1.len(), 64);
    assert_eq!(expected_response(&c, &ha1, "GET"), RFC7616_SHA256_RESPONSE);
    assert!(verify_response(&c, &ha1, "GET"));
}

#[test]
fn rfc7616_md5_example() {
    let c = parsed(&rfc7616_header("MD5", RFC7616_MD5_RESPONSE));
    assert_eq!(c.algorithm, Algorithm::Md5);
    let ha1 = ha1(
        Algorithm::Md5,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    assert_eq!(expected_response(&c, &ha1, "GET"), RFC7616_MD5_RESPONSE);
    assert!(verify_response(&c, &ha1, "GET"));
}

#[test]
fn rfc2617_example_with_folded_header() {
    let value = "Digest username=\"Mufasa\",\r\n                 realm=\"testrealm@host.com\",\r\n \
                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n uri=\"/dir/index.html\",\r\n \
                 qop=auth,\r\n nc=00000001,\r\n cnonce=\"0a4f113b\",\r\n \
                 response=\"6629fae49393a05397450978507c4ef1\",\r\n \
                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    let c = parsed(value);
    assert_eq!(c.algorithm, Algorithm::Md5, "absent algorithm means MD5");
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    assert!(verify_response(&c, &ha1, "GET"));
}

#[test]
fn legacy_form_without_qop() {
    let value = "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
                 response=\"670fd8c2df070c60b045671b8b24ff02\"";
    let c = parsed(value);
    assert_eq!(
        (c.qop.as_deref(), c.nc, c.cnonce.as_deref()),
        (None, None, None)
    );
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    assert!(verify_response(&c, &ha1, "GET"));
}

#[test]
fn legacy_sha256_sip_register() {
    let value = "Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:example.com\", \
                 algorithm=SHA-256, \
                 response=\"82b3e138443a7681f294631313aaea674aaeb4c45060213cc017a9a85578be0e\"";
    let c = parsed(value);
    let ha1 = ha1(Algorithm::Sha256, "alice", "example.com", "secret");
    assert!(verify_response(&c, &ha1, "REGISTER"));
    assert!(!verify_response(&c, &ha1, "INVITE"));
}

#[test]
fn wrong_inputs_do_not_verify() {
    let c = parsed(&rfc7616_header("SHA-256", RFC7616_SHA256_RESPONSE));
    let good = ha1(
        Algorithm::Sha256,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    assert!(!verify_response(
        &c,
        &ha1(
            Algorithm::Sha256,
            RFC7616_USER,
            RFC7616_REALM,
            "Circle Of Life"
        ),
        "GET"
    ));
    assert!(!verify_response(&c, &good, "POST"));
    let other_uri = Credentials {
        uri: "/dir/other.html".into(),
        ..c.clone()
    };
    assert!(!verify_response(&other_uri, &good, "GET"));
    let other_nc = Credentials {
        nc: Some(2),
        ..c.clone()
    };
    assert!(!verify_response(&other_nc, &good, "GET"));
    let other_cnonce = Credentials {
        cnonce: Some("x".into()),
        ..c.clone()
    };
    assert!(!verify_response(&other_cnonce, &good, "GET"));
    let other_nonce = Credentials {
        nonce: "x".into(),
        ..c.clone()
    };
    assert!(!verify_response(&other_nonce, &good, "GET"));
}

#[test]
fn response_hex_case_is_ignored() {
    let c = parsed(&rfc7616_header(
        "MD5",
        &RFC7616_MD5_RESPONSE.to_ascii_uppercase(),
    ));
    let ha1 = ha1(
        Algorithm::Md5,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    assert!(verify_response(&c, &ha1, "GET"));
}

#[test]
fn a_response_with_extra_digits_is_refused() {
    let ha1 = ha1(
        Algorithm::Sha256,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    let good = parsed(&rfc7616_header("SHA-256", RFC7616_SHA256_RESPONSE));
    assert!(verify_response(&good, &ha1, "GET"));
    for extra in ["0", "00", &"0".repeat(200)] {
        let longer = Credentials {
            response: format!("{RFC7616_SHA256_RESPONSE}{extra}"),
            ..good.clone()
        };
        assert!(!verify_response(&longer, &ha1, "GET"), "{extra:?}");
    }
    let shorter = Credentials {
        response: RFC7616_SHA256_RESPONSE[1..].to_owned(),
        ..good.clone()
    };
    assert!(!verify_response(&shorter, &ha1, "GET"));
}

#[test]
fn ha1_of_another_algorithm_or_not_hex_is_refused() {
    let c = parsed(&rfc7616_header("SHA-256", RFC7616_SHA256_RESPONSE));
    let md5_ha1 = ha1(
        Algorithm::Md5,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    assert!(!verify_response(&c, &md5_ha1, "GET"));
    let good = ha1(
        Algorithm::Sha256,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    assert!(!verify_response(&c, &good.to_ascii_uppercase(), "GET"));
    assert!(!verify_response(&c, "", "GET"));
}

#[test]
fn hand_built_credentials_that_cannot_be_checked_honestly_are_refused() {
    let c = parsed(&rfc7616_header("MD5", RFC7616_MD5_RESPONSE));
    let ha1 = ha1(
        Algorithm::Md5,
        RFC7616_USER,
        RFC7616_REALM,
        RFC7616_PASSWORD,
    );
    let auth_int = Credentials {
        qop: Some("auth-int".into()),
        ..c.clone()
    };
    let response = expected_response(&auth_int, &ha1, "GET");
    assert!(!verify_response(
        &Credentials {
            response,
            ..auth_int
        },
        &ha1,
        "GET"
    ));

    let no_nc = Credentials {
        nc: None,
        ..c.clone()
    };
    let response = expected_response(&no_nc, &ha1, "GET");
    assert!(!verify_response(
        &Credentials { response, ..no_nc },
        &ha1,
        "GET"
    ));
}
