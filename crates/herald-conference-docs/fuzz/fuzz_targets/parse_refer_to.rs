//! Any text: `parse_refer_to` never panics; an accepted target is a sip/sips URI
//! without headers, and `<target>` alone reads back as the same target, and with its
//! Replaces (and Require) embedded again reads back the same Replaces.
#![no_main]
use herald_conference_docs::parse_refer_to;
use herald_sip::Scheme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(refer_to) = parse_refer_to(text) else {
        return;
    };
    assert!(matches!(refer_to.target.scheme, Scheme::Sip | Scheme::Sips));
    assert!(refer_to.target.headers.is_none());
    let target = refer_to.target.to_string();
    let again = parse_refer_to(&format!("<{target}>"))
        .unwrap_or_else(|e| panic!("target {target} refused: {e}"));
    assert_eq!(again.target, refer_to.target);
    if let Some(replaces) = &refer_to.replaces {
        let escaped: String = replaces
            .header_value()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let value = format!("<{target}?Require=replaces&Replaces={escaped}>");
        let again = parse_refer_to(&value).unwrap_or_else(|e| panic!("{value} refused: {e}"));
        assert_eq!(again.replaces.as_ref(), Some(replaces), "{value}");
        assert_eq!(again.require, ["replaces"]);
    }
});
