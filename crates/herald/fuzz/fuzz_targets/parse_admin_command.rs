//! Any bytes as one line on the admin socket: decoding an `AdminCommand` never panics,
//! and a decoded command encodes to one JSON line that decodes to the same command
//! (the CLI and the server must agree on every command they exchange).
#![no_main]
use herald::admin::AdminCommand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(command) = serde_json::from_slice::<AdminCommand>(data) else {
        return;
    };
    let line = serde_json::to_string(&command).expect("a command encodes");
    assert!(!line.contains('\n'), "one line: {line}");
    let again = serde_json::from_str::<AdminCommand>(&line)
        .unwrap_or_else(|e| panic!("{line} does not decode: {e}"));
    assert_eq!(again, command, "{line}");
});
