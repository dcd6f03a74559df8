//! Inputs the fuzz targets (`fuzz/`) found, each checked for the property its target
//! asserts.

use herald_conference_docs::{Limits, cpim};

/// parse_cpim: a folded Content-Type whose continuation line is blank kept a trailing
/// space (and one whose first line is empty a leading space), which a second parse of
/// the re-wrapped message trimmed away.
#[test]
fn cpim_folding_adds_no_space_at_either_end() {
    for (input, content_type) in [
        (
            &b"From:?<sip:a@d>\n\nContent-Type: text/plain;\n "[..],
            "text/plain;",
        ),
        (
            b"From: <sip:a@d>\n\nContent-Type:\n text/plain\n\nx",
            "text/plain",
        ),
    ] {
        check_cpim_rewrap(input, content_type);
    }
}

fn check_cpim_rewrap(input: &[u8], content_type: &str) {
    let message = cpim::parse(input, &Limits::default()).unwrap();
    assert_eq!(message.content_type, content_type);
    let wrapped = cpim::wrap(
        None,
        "sip:a@d",
        "sip:c@d",
        "",
        &message.content_type,
        &message.body,
    );
    let again = cpim::parse(&wrapped, &Limits::default()).unwrap();
    assert_eq!(again.content_type, message.content_type);
}
