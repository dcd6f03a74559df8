//! Loop detection (RFC 3261 §16.3 item 4, §16.6 item 8): the branch of every request we
//! forward carries a hash of the fields that identify the request as it reached us. If
//! a request comes back with one of our Vias whose hash equals the request's hash now,
//! it went round in a circle (a spiral changes the Request-URI or Route, and so the
//! hash, and is legitimate).
use herald_sip::{HeaderName, Request, via::BRANCH_MAGIC};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Follows the magic cookie in branches we make, before the hash.
const MARK: &str = "hx";
/// How every branch we make begins (a branch is a token: no escapes can hide it).
const OUR_BRANCH_PREFIX: &str = "z9hG4bKhx";
const HASH_HEX: usize = 16;

pub struct LoopDetector {
    /// Keeps our hashes from colliding with another server's that uses the same scheme.
    salt: [u8; 16],
}

impl LoopDetector {
    pub fn new() -> Self {
        LoopDetector {
            salt: rand::random(),
        }
    }

    /// The hash of the loop-relevant fields of `req` as received.
    pub fn hash(&self, req: &Request) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        let mut field = |v: &[u8]| {
            h.update((v.len() as u64).to_be_bytes());
            h.update(v);
        };
        let mut uri = Vec::with_capacity(64);
        req.uri.write_to(&mut uri);
        field(&uri);
        // From and To as the parser kept them: parsing them again cost more than the hash.
        let from = req.from().ok();
        let to = req.to().ok();
        field(
            from.as_ref()
                .and_then(|a| a.tag())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(
            to.as_ref()
                .and_then(|a| a.tag())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(req.call_id().unwrap_or_default().as_bytes());
        let mut seq = itoa::Buffer::new();
        field(
            req.cseq()
                .map(|c| seq.format(c.seq))
                .unwrap_or_default()
                .as_bytes(),
        );
        for name in [
            HeaderName::ProxyRequire,
            HeaderName::ProxyAuthorization,
            HeaderName::Route,
        ] {
            for v in req.headers.get_all(&name) {
                field(v.as_bytes());
            }
        }
        let digest = h.finalize();
        hex::encode(digest.get(..HASH_HEX / 2).unwrap_or_default())
    }

    /// A fresh branch for a request forwarded with loop hash `hash`.
    pub fn branch(&self, hash: &str) -> String {
        let r: u64 = rand::random();
        let mut random = [0u8; 16];
        // Cannot fail: 8 bytes take exactly 16 hex digits.
        let _ = hex::encode_to_slice(r.to_be_bytes(), &mut random);
        let mut branch =
            String::with_capacity(BRANCH_MAGIC.len() + MARK.len() + hash.len() + random.len());
        branch.push_str(BRANCH_MAGIC);
        branch.push_str(MARK);
        branch.push_str(hash);
        branch.push_str(std::str::from_utf8(&random).unwrap_or_default());
        branch
    }

    /// Whether one of the request's Vias is ours with the request's current hash.
    pub fn is_loop(&self, req: &Request) -> bool {
        // Nearly every request has none of our branches: found without parsing a Via.
        static OURS: LazyLock<memchr::memmem::Finder<'static>> =
            LazyLock::new(|| memchr::memmem::Finder::new(OUR_BRANCH_PREFIX.as_bytes()));
        let ours = &*OURS;
        if !req
            .headers
            .get_all(&HeaderName::Via)
            .any(|line| ours.find(line.as_bytes()).is_some())
        {
            return false;
        }
        let Ok(vias) = req.vias() else {
            return false;
        };
        let mut hash = None;
        for via in &vias {
            let Some(branch) = via.branch() else { continue };
            let Some(rest) = branch
                .strip_prefix(BRANCH_MAGIC)
                .and_then(|b| b.strip_prefix(MARK))
            else {
                continue;
            };
            let Some(theirs) = rest.get(..HASH_HEX) else {
                continue;
            };
            let ours = hash.get_or_insert_with(|| self.hash(req));
            if theirs.eq_ignore_ascii_case(ours) {
                return true;
            }
        }
        false
    }
}

impl Default for LoopDetector {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_sip::{Message, message::ParseLimits};

    #[test]
    fn the_quick_test_looks_for_our_branches() {
        assert_eq!(OUR_BRANCH_PREFIX, format!("{BRANCH_MAGIC}{MARK}"));
    }

    fn request(uri: &str, vias: &[String]) -> Request {
        let mut text = format!("MESSAGE {uri} SIP/2.0\r\n");
        for v in vias {
            text.push_str(&format!("Via: {v}\r\n"));
        }
        text.push_str(
            "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n\
             Call-ID: c1\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        );
        match Message::parse(text.into_bytes().into(), &ParseLimits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_carrying_our_branch_for_itself_is_a_loop() {
        let d = LoopDetector::new();
        let first = request(
            "sip:bob@example.com",
            &["SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa".into()],
        );
        let hash = d.hash(&first);
        let ours = d.branch(&hash);
        let random = ours
            .strip_prefix(OUR_BRANCH_PREFIX)
            .and_then(|rest| rest.strip_prefix(hash.as_str()))
            .expect("prefix and hash");
        assert_eq!(random.len(), 16);
        assert!(random.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(d.branch(&hash), ours);
        let back = request(
            "sip:bob@example.com",
            &[
                format!("SIP/2.0/UDP 10.0.0.9;branch={ours}"),
                "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa".into(),
            ],
        );
        assert!(d.is_loop(&back));
        assert!(!d.is_loop(&first));
    }

    #[test]
    fn a_spiral_with_another_request_uri_is_not_a_loop() {
        let d = LoopDetector::new();
        let first = request(
            "sip:bob@example.com",
            &["SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa".into()],
        );
        let ours = d.branch(&d.hash(&first));
        let spiral = request(
            "sip:bob@10.0.0.5:5070",
            &[format!("SIP/2.0/UDP 10.0.0.9;branch={ours}")],
        );
        assert!(!d.is_loop(&spiral));
        // Another server's hash scheme (another salt) never matches ours.
        assert!(!LoopDetector::new().is_loop(&request(
            "sip:bob@example.com",
            &[format!("SIP/2.0/UDP 10.0.0.9;branch={ours}")]
        )));
    }
}
