//! Any bytes: `ConferenceInfo::parse` never panics; an accepted document, written back
//! out, parses to the same document.
#![no_main]
use herald_conference_docs::{ConferenceInfo, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(info) = ConferenceInfo::parse(data, &Limits::default()) else {
        return;
    };
    let written = info.to_xml();
    // Escaping can make the written document larger than the input was.
    let roomy = Limits {
        max_bytes: usize::MAX,
        ..Limits::default()
    };
    let back = ConferenceInfo::parse(written.as_bytes(), &roomy)
        .unwrap_or_else(|e| panic!("written document refused: {e}\n{written}"));
    assert_eq!(back, info, "{written}");
});
