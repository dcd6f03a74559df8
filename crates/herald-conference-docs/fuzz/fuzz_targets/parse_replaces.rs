//! Any text: `Replaces::parse` never panics, and an accepted value written back with
//! `header_value` parses to the same.
#![no_main]
use herald_conference_docs::Replaces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(replaces) = Replaces::parse(text) else {
        return;
    };
    let value = replaces.header_value();
    assert_eq!(Replaces::parse(&value).as_ref(), Ok(&replaces), "{value}");
});
