//! The generic checks every request passes before a service sees it, in the order of
//! RFC 3261 §8.2 (method, headers, content), each with a response that says why.
use herald_sip::{HeaderName, Method, Request, Scheme};

/// Extensions (option tags) we implement. Anything else in Require/Proxy-Require gets
/// 420 Bad Extension listing it (RFC 3261 §8.2.2.3, RFC 4475 §3.3.5).
pub const SUPPORTED_EXTENSIONS: &[&str] = &["path", "outbound", "gruu", "eventlist"];

/// Methods the server answers itself.
pub const ALLOWED_METHODS: &[Method] = &[
    Method::Register,
    Method::Options,
    Method::Publish,
    Method::Subscribe,
    Method::Ack,
    Method::Cancel,
];

/// Methods that start something with one of our users, carried to their endpoints.
pub const PROXIED_METHODS: &[Method] = &[Method::Message, Method::Invite];

/// Body types we understand (Accept header of 415 responses).
pub const ACCEPTED_TYPES: &[&str] = &[
    "application/sdp",
    "text/plain",
    "message/cpim",
    "application/im-iscomposing+xml",
    "application/pidf+xml",
    "application/watcherinfo+xml",
    "application/simple-filter+xml",
    "application/rlmi+xml",
    "multipart/mixed",
    "multipart/related",
    "multipart/alternative",
];

/// Everything we handle, answered here or carried (including what follows an IM
/// session's route set: BYE, INFO, UPDATE... are forwarded whatever they are).
pub fn allow_header() -> String {
    ALLOWED_METHODS
        .iter()
        .chain(PROXIED_METHODS)
        .chain(&[Method::Bye, Method::Info])
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failed check: the status, its reason phrase and any header that explains it.
#[derive(Debug, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(HeaderName, String)>,
}

impl Reject {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        Reject {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }
    fn with(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    /// 405 with the methods we do allow (RFC 3261 §8.2.1).
    pub fn method_not_allowed() -> Self {
        Reject::new(405, "Method Not Allowed").with(HeaderName::Allow, allow_header())
    }
}

/// The checks of a request the server answers itself (a UAS): §8.2.1 (methods),
/// §8.2.2 (Request-URI scheme, Require), §8.2.3 (content), and Max-Forwards (§16.3)
/// for a request naming a user.
pub fn check(req: &Request) -> Result<(), Reject> {
    check_common(req)?;
    check_extensions(req, &[HeaderName::Require, HeaderName::ProxyRequire])?;
    check_content(req)?;
    // A request naming a user would be routed onward by a proxy; with no hops left it
    // stops here (RFC 4475 §3.3.11).
    if req.max_forwards() == Some(0) && req.uri.user.is_some() && req.method != Method::Register {
        return Err(Reject::new(483, "Too Many Hops"));
    }
    if !ALLOWED_METHODS.contains(&req.method) {
        return Err(Reject::method_not_allowed());
    }
    Ok(())
}

/// The checks of a request to the conference focus: like [`check`], except that the
/// focus judges the methods and bodies it takes itself (it answers 405 and 415 with its
/// own Allow and Accept).
pub fn check_focus(req: &Request) -> Result<(), Reject> {
    check_common(req)?;
    check_extensions(req, &[HeaderName::Require, HeaderName::ProxyRequire])?;
    if req.max_forwards() == Some(0) {
        return Err(Reject::new(483, "Too Many Hops"));
    }
    Ok(())
}

/// The checks of a request we carry onward (§16.3): the body and Require are for the
/// far end to judge; Proxy-Require and Max-Forwards are ours.
pub fn check_proxied(req: &Request) -> Result<(), Reject> {
    check_common(req)?;
    check_extensions(req, &[HeaderName::ProxyRequire])?;
    if req.max_forwards() == Some(0) {
        return Err(Reject::new(483, "Too Many Hops"));
    }
    Ok(())
}

fn check_common(req: &Request) -> Result<(), Reject> {
    if let Method::Other(_) = &req.method {
        return Err(Reject::new(501, "Not Implemented").with(HeaderName::Allow, allow_header()));
    }
    if !matches!(req.uri.scheme, Scheme::Sip | Scheme::Sips) {
        return Err(Reject::new(416, "Unsupported URI Scheme"));
    }
    Ok(())
}

fn check_extensions(req: &Request, headers: &[HeaderName]) -> Result<(), Reject> {
    let mut unsupported: Vec<String> = Vec::new();
    for name in headers {
        for tag in req.headers.values(name) {
            let tag = tag.trim();
            if !tag.is_empty()
                && !SUPPORTED_EXTENSIONS
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(tag))
                && !unsupported.iter().any(|u| u.eq_ignore_ascii_case(tag))
            {
                unsupported.push(tag.to_owned());
            }
        }
    }
    if !unsupported.is_empty() && req.method != Method::Ack && req.method != Method::Cancel {
        return Err(
            Reject::new(420, "Bad Extension").with(HeaderName::Unsupported, unsupported.join(", "))
        );
    }
    Ok(())
}

fn check_content(req: &Request) -> Result<(), Reject> {
    if !req.body.is_empty() {
        let ctype = req.content_type().unwrap_or("application/octet-stream");
        let base = ctype.split(';').next().unwrap_or("").trim();
        if !ACCEPTED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(base)) {
            return Err(Reject::new(415, "Unsupported Media Type")
                .with(HeaderName::Accept, ACCEPTED_TYPES.join(", ")));
        }
    }
    if req.method == Method::Invite && req.headers.count(&HeaderName::Accept) > 0 {
        let accepts_sdp = req.headers.values(&HeaderName::Accept).iter().any(|a| {
            let base = a
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            base == "application/sdp" || base == "application/*" || base == "*/*"
        });
        if !accepts_sdp {
            return Err(
                Reject::new(406, "Not Acceptable").with(HeaderName::Accept, "application/sdp")
            );
        }
    }
    Ok(())
}
