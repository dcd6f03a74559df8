//! Any bytes: `parse_pidf` never panics. An accepted publication, aggregated and
//! rendered at every access level, gives documents that parse back to the same state.
#![no_main]
use herald_pidf::{AccessLevel, EndpointState, Limits, aggregate, parse_pidf, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(publication) = parse_pidf(data, &Limits::DOCUMENT) else {
        return;
    };
    let _ = (
        publication.availability(),
        publication.personal_notes(),
        publication.basic(),
    );
    let state = aggregate(&[EndpointState {
        publication: Some(&publication),
        published_at: 1,
    }]);
    // One endpoint: its own number, except that every Offline number aggregates to
    // 18000.
    let own = publication
        .availability()
        .min(herald_pidf::Availability::OFFLINE);
    assert_eq!(state.availability, own);
    let entity = "sip:fuzz@example.com";
    for level in AccessLevel::ALL {
        let document = render(&state, entity, level);
        let back = parse_pidf(document.as_bytes(), &Limits::DOCUMENT)
            .unwrap_or_else(|e| panic!("rendered document refused: {e}\n{document}"));
        let expected = if level == AccessLevel::Blocked {
            herald_pidf::Availability::OFFLINE
        } else {
            state.availability
        };
        assert_eq!(back.availability(), expected, "{document}");
        if level == AccessLevel::Workgroup {
            let again = aggregate(&[EndpointState {
                publication: Some(&back),
                published_at: 1,
            }]);
            assert_eq!(again.availability, state.availability);
            assert_eq!(again.card, state.card, "{document}");
            assert_eq!(again.identity, state.identity, "{document}");
            assert_eq!(again.place_types, state.place_types, "{document}");
            assert_eq!(again.time_offset, state.time_offset, "{document}");
            assert_eq!(again.out_of_office, state.out_of_office, "{document}");
            if !state.notes.is_empty() {
                assert_eq!(again.notes, state.notes, "{document}");
            }
            assert_eq!(again.devices.len(), state.devices.len(), "{document}");
        }
    }
});
