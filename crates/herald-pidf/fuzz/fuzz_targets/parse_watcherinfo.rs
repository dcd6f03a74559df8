//! Any bytes: `parse_watcherinfo` never panics; an accepted document, written back
//! out, parses to the same document.
#![no_main]
use herald_pidf::Limits;
use herald_pidf::watcherinfo::parse_watcherinfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse_watcherinfo(data, &Limits::DOCUMENT) else {
        return;
    };
    let written = doc.to_xml();
    let back = parse_watcherinfo(written.as_bytes(), &Limits::DOCUMENT)
        .unwrap_or_else(|e| panic!("written document refused: {e}\n{written}"));
    assert_eq!(back, doc, "{written}");
});
