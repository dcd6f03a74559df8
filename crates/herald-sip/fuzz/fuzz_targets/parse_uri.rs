//! Any text: URI parsing never panics; a parsed URI is equivalent to itself and to
//! its own serialisation.
#![no_main]
use herald_sip::{NameAddr, SipStr, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = SipStr::from_utf8(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    if let Ok(uri) = Uri::parse(&text) {
        assert!(uri.equivalent(&uri));
        let _ = (uri.aor(), uri.user_unescaped(), uri.transport_param());
        let written = uri.to_string();
        let reparsed = Uri::parse_str(&written).unwrap_or_else(|e| panic!("{written}: {e}"));
        assert!(uri.equivalent(&reparsed), "{text} -> {written}");
    }
    if let Ok(addr) = NameAddr::parse(&text) {
        let written = addr.to_string();
        let reparsed = NameAddr::parse(&SipStr::from(written.clone()))
            .unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(addr.display, reparsed.display);
        assert!(addr.uri.equivalent(&reparsed.uri));
        assert_eq!(addr.params, reparsed.params);
    }
});
