//! Any bytes, the first line being the Content-Type value and the rest the body:
//! multipart and resource-list NOTIFY parsing never panic, parts never hold more
//! bytes than the body, and an accepted NOTIFY rebuilt from its own parts parses back
//! to the same list and part bodies.
#![no_main]
use herald_pidf::Limits;
use herald_pidf::multipart::{
    Boundary, ResourcePart, build_rlmi_notify, parse_multipart_related, parse_rlmi_notify,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (head, body) = data.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let Ok(content_type) = std::str::from_utf8(head) else {
        return;
    };
    if let Ok(multipart) = parse_multipart_related(content_type, body, &Limits::DOCUMENT) {
        let total: usize = multipart.parts.iter().map(|p| p.body.len()).sum();
        assert!(total <= body.len());
        let _ = multipart.root();
    }
    let Ok(notify) = parse_rlmi_notify(content_type, body, &Limits::DOCUMENT) else {
        return;
    };
    let parts: Vec<ResourcePart> = notify
        .parts
        .iter()
        .filter_map(|p| {
            let cid = p.content_id.clone()?;
            Some(ResourcePart {
                cid,
                content_type: p.content_type.clone()?,
                body: p.body.clone(),
            })
        })
        .collect();
    let boundary = Boundary::random();
    if let Ok(rebuilt) = build_rlmi_notify(&notify.list, "root@fuzz.invalid", &parts, &boundary) {
        let again = parse_rlmi_notify(&rebuilt.content_type, &rebuilt.body, &Limits::LISTS)
            .unwrap_or_else(|e| panic!("rebuilt body refused: {e}"));
        assert_eq!(again.list, notify.list);
        let bodies = |n: &herald_pidf::multipart::RlmiNotify| {
            n.parts.iter().map(|p| p.body.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            bodies(&again),
            parts.iter().map(|p| p.body.clone()).collect::<Vec<_>>()
        );
    }
});
