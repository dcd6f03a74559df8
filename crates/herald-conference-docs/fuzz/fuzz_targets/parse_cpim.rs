//! Any bytes: `cpim::parse` never panics; the content of an accepted message is the
//! end of the input, and wrapping its sender, date, type and content again gives a
//! message that parses to the same content, type and sender.
#![no_main]
use herald_conference_docs::{Limits, cpim};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = cpim::parse(data, &Limits::default()) else {
        return;
    };
    assert!(data.ends_with(&message.body));
    let from_uri = message.from_uri().unwrap_or("sip:nobody@invalid");
    let display = message.from_display_name();
    let to = message
        .to
        .first()
        .map_or("sip:conf@invalid", String::as_str);
    let datetime = message.datetime.as_deref().unwrap_or_default();
    let wrapped = cpim::wrap(
        display.as_deref(),
        from_uri,
        to,
        datetime,
        &message.content_type,
        &message.body,
    );
    let roomy = Limits {
        max_bytes: usize::MAX,
        ..Limits::default()
    };
    let again = cpim::parse(&wrapped, &roomy).unwrap_or_else(|e| {
        panic!(
            "wrapped message refused: {e}\n{}",
            String::from_utf8_lossy(&wrapped)
        )
    });
    assert_eq!(again.body, message.body);
    let plain = |s: &str| !s.is_empty() && !s.chars().any(char::is_control);
    if plain(&message.content_type) {
        assert_eq!(again.content_type, message.content_type);
    }
    let uri_safe = |s: &str| !s.chars().any(|c| c.is_control() || " <>\"".contains(c));
    if uri_safe(from_uri) {
        assert_eq!(again.from_uri(), Some(from_uri));
    }
    if let Some(name) = display.filter(|n| !n.chars().any(char::is_control) && n.trim() == n) {
        assert_eq!(again.from_display_name(), Some(name));
    }
});
