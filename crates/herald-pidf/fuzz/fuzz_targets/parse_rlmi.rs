//! Any bytes: `parse_rlmi` never panics; an accepted document, written back out,
//! parses to the same document.
#![no_main]
use herald_pidf::Limits;
use herald_pidf::rlmi::parse_rlmi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = parse_rlmi(data, &Limits::DOCUMENT) else {
        return;
    };
    let written = list.to_xml();
    let back = parse_rlmi(written.as_bytes(), &Limits::DOCUMENT)
        .unwrap_or_else(|e| panic!("written document refused: {e}\n{written}"));
    assert_eq!(back, list, "{written}");
});
