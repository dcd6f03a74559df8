//! Any bytes: `sipfrag::parse_status` never panics, and an accepted status line
//! written back with `status_line` reads the same.
#![no_main]
use herald_conference_docs::sipfrag::{parse_status, status_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, reason)) = parse_status(data) else {
        return;
    };
    assert!((100..=699).contains(&status));
    let line = status_line(status, &reason);
    let expected = if reason.chars().any(char::is_control) {
        reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_owned()
    } else {
        reason
    };
    assert_eq!(
        parse_status(line.as_bytes()),
        Some((status, expected)),
        "{line}"
    );
});
