//! The REGISTER handler: RFC 3261 §10.3 processing, in its order, with RFC 5626
//! instance identifiers and flows.
use crate::authn::{AuthOutcome, Authenticator, ChallengeKind};
use crate::domains::ServedDomains;
use crate::location::{Binding, BindingKey, Change, LocationService};
use herald_sip::{ContactValue, HeaderName, NameAddr, Request, Response, Scheme, SipStr, response};
use herald_transport::Source;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RegistrarConfig {
    /// Shortest registration accepted; shorter non-zero requests get 423 with Min-Expires.
    pub min_expires: u32,
    /// Longer requests are shortened to this.
    pub max_expires: u32,
    /// Used when neither the Contact nor the request says.
    pub default_expires: u32,
    /// Most bindings one user may hold (devices); more get 403.
    pub max_bindings_per_user: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 7200,
            default_expires: 3600,
            max_bindings_per_user: 32,
        }
    }
}

pub struct Registrar {
    config: RegistrarConfig,
    domains: ServedDomains,
    location: Arc<dyn LocationService>,
    auth: Arc<Authenticator>,
    tag: String,
}

/// What a REGISTER did.
#[derive(Debug)]
pub struct Registered {
    /// The answer to send.
    pub response: Response,
    /// Whether a binding was added, removed or now comes from elsewhere: the user's
    /// endpoints, as presence aggregates them, changed. A plain refresh leaves them.
    pub endpoints_changed: bool,
}

/// Reply with a status and an explanatory reason phrase.
fn reply(req: &Request, status: u16, reason: &str, tag: &str) -> Response {
    response::from_request(req, status, Some(reason), Some(tag))
}

impl Registrar {
    pub fn new(
        config: RegistrarConfig,
        domains: ServedDomains,
        location: Arc<dyn LocationService>,
        auth: Arc<Authenticator>,
    ) -> Self {
        let tag = format!("{:016x}", rand::random::<u64>());
        Registrar {
            config,
            domains,
            location,
            auth,
            tag,
        }
    }

    /// Handles one REGISTER (already past the transaction layer and the generic request
    /// checks: scheme, Require, Max-Forwards).
    pub async fn handle(&self, req: &Request, source: &Source) -> Registered {
        let mut endpoints_changed = false;
        let response = self.answer(req, source, &mut endpoints_changed).await;
        Registered {
            response,
            endpoints_changed,
        }
    }

    /// The answer to a REGISTER; sets `endpoints_changed` when it added, removed or
    /// moved a binding.
    async fn answer(
        &self,
        req: &Request,
        source: &Source,
        endpoints_changed: &mut bool,
    ) -> Response {
        let tag = self.tag.as_str();
        // §10.3 step 1: are we the registrar for the Request-URI's domain?
        let Some(domain) = self.domains.resolve(&req.uri.host).map(str::to_owned) else {
            return reply(req, 404, "Domain Not Served Here", tag);
        };
        // Step 3 (before auth, so that junk is rejected cheaply): the To must be a SIP AOR
        // (RFC 4475 §3.3.4).
        let to = match req.to() {
            Ok(to) => to,
            Err(e) => return reply(req, 400, &format!("Bad To: {e}"), tag),
        };
        if !matches!(to.uri.scheme, Scheme::Sip | Scheme::Sips) {
            return reply(req, 400, "To Must Be A SIP Or SIPS URI", tag);
        }
        let Some(aor) = self.domains.local_aor(&to.uri) else {
            return reply(req, 404, "Not Found", tag);
        };
        // Contacts are checked before authentication too: a malformed REGISTER is 400
        // whoever sends it.
        let contacts = match req.contacts() {
            Ok(c) => c,
            Err(e) => return reply(req, 400, &format!("Bad Contact: {e}"), tag),
        };
        if let ContactValue::Addrs(addrs) = &*contacts {
            for c in addrs {
                if !matches!(c.uri.scheme, Scheme::Sip | Scheme::Sips) {
                    return reply(req, 400, "Contact Must Be A SIP Or SIPS URI", tag);
                }
            }
        }
        // Step 2/4: authenticate; the authenticated identity must own the AOR.
        let user = match self
            .auth
            .authenticate(req, ChallengeKind::Www, &domain, source.remote.ip())
            .await
        {
            AuthOutcome::Authenticated(u) => u,
            AuthOutcome::Challenge(ch) => {
                let mut resp = response::from_request(req, ch.status, None, Some(tag));
                for v in ch.values {
                    resp.headers.push(ch.header.clone(), v);
                }
                return resp;
            }
            AuthOutcome::Forbidden => return reply(req, 403, "Forbidden", tag),
            AuthOutcome::RateLimited(over) => {
                let mut resp = reply(req, 503, over.method.reason(), tag);
                resp.headers
                    .push(HeaderName::RetryAfter, over.retry_after_secs().to_string());
                return resp;
            }
            AuthOutcome::Unavailable { retry_after_secs } => {
                let mut resp = reply(req, 503, crate::authn::DIRECTORY_UNAVAILABLE, tag);
                resp.headers
                    .push(HeaderName::RetryAfter, retry_after_secs.to_string());
                return resp;
            }
        };
        if user.aor != aor {
            return reply(req, 403, "Not Allowed To Register This Address", tag);
        }
        let call_id = req.call_id().unwrap_or_default().to_owned();
        let cseq = match req.cseq() {
            Ok(c) => c.seq,
            Err(e) => return reply(req, 400, &format!("Bad CSeq: {e}"), tag),
        };
        let header_expires = req.expires();
        let now = Instant::now();

        // Step 6/7: build the changes.
        let changes = match &*contacts {
            ContactValue::Star => {
                if header_expires != Some(0) {
                    return reply(req, 400, "Contact * Requires Expires: 0", tag);
                }
                if req.headers.values(&HeaderName::Contact).len() != 1 {
                    return reply(req, 400, "Contact * Must Be Alone", tag);
                }
                // §10.3 step 6: a wildcard from an older Call-ID/CSeq than a binding's is
                // stale; removal applies only to bindings it is newer than.
                let existing = self.location.lookup(&aor).await;
                if existing
                    .iter()
                    .any(|b| b.call_id == call_id && b.cseq >= cseq)
                {
                    return reply(req, 500, "Out Of Order Request", tag);
                }
                *endpoints_changed = !existing.is_empty();
                vec![Change::RemoveAll]
            }
            ContactValue::Addrs(addrs) if addrs.is_empty() => Vec::new(),
            ContactValue::Addrs(addrs) => {
                let existing = self.location.lookup(&aor).await;
                let mut changes = Vec::with_capacity(addrs.len());
                for contact in addrs {
                    let expires = contact
                        .params
                        .value("expires")
                        .and_then(|v| v.parse::<u32>().ok())
                        .or(header_expires)
                        .unwrap_or(self.config.default_expires);
                    if expires != 0 && expires < self.config.min_expires {
                        let mut resp = reply(req, 423, "Interval Too Brief", tag);
                        resp.headers
                            .push(HeaderName::MinExpires, self.config.min_expires.to_string());
                        return resp;
                    }
                    let expires = expires.min(self.config.max_expires);
                    let key = binding_key(contact);
                    let old = existing.iter().find(|b| b.key == key);
                    if let Some(old) = old
                        && old.call_id == call_id
                        && old.cseq >= cseq
                    {
                        return reply(req, 500, "Out Of Order Request", tag);
                    }
                    // A refresh from where the binding was made changes no endpoint
                    // (presence need not look again).
                    *endpoints_changed |= match old {
                        Some(old) => expires == 0 || old.source != *source,
                        None => expires != 0,
                    };
                    if expires == 0 {
                        changes.push(Change::Remove(key));
                    } else {
                        changes.push(Change::Upsert(Box::new(Binding {
                            key,
                            contact: match old {
                                // A refresh: the binding's own copy is already detached.
                                Some(old) if old.contact == *contact => old.contact.clone(),
                                _ => detached(contact),
                            },
                            call_id: call_id.clone(),
                            cseq,
                            expires_at: now + Duration::from_secs(u64::from(expires)),
                            source: *source,
                            user_agent: req
                                .headers
                                .get(&HeaderName::UserAgent)
                                .map(|s| s.to_string()),
                        })));
                    }
                }
                let added = changes
                    .iter()
                    .filter(|c| matches!(c, Change::Upsert(b) if !existing.iter().any(|o| o.key == b.key)))
                    .count();
                if existing.len() + added > self.config.max_bindings_per_user {
                    let mut resp = reply(req, 403, "Too Many Registered Devices", tag);
                    resp.headers.push(
                        HeaderName::Warning,
                        format!(
                            "399 herald \"at most {} devices per user\"",
                            self.config.max_bindings_per_user
                        ),
                    );
                    return resp;
                }
                changes
            }
        };
        let bindings = if changes.is_empty() {
            self.location.lookup(&aor).await
        } else {
            self.location.apply(&aor, changes).await
        };
        // Step 8: 200 OK listing every current binding with its remaining time.
        let mut resp = response::from_request(req, 200, None, Some(tag));
        for b in &bindings {
            let mut contact = b.contact.clone();
            contact
                .params
                .set("expires", Some(b.remaining(now).to_string().into()));
            let mut out = Vec::with_capacity(96);
            contact.write_to(&mut out);
            resp.headers.push(
                HeaderName::Contact,
                String::from_utf8_lossy(&out).into_owned(),
            );
        }
        resp.headers.push(HeaderName::Date, httpdate_now());
        resp
    }
}

/// A binding outlives its REGISTER by hours: copy the contact out of the receive
/// buffer, which zero-copy parsing would otherwise keep alive whole with it.
fn detached(contact: &NameAddr) -> NameAddr {
    let text = SipStr::from(contact.to_string());
    NameAddr::parse(&text).unwrap_or_else(|_| contact.clone())
}

/// RFC 5626 §4.2: a `+sip.instance` (with `reg-id`) identifies the device; otherwise the
/// contact URI does.
fn binding_key(contact: &NameAddr) -> BindingKey {
    if let Some(instance) = contact
        .params
        .get("+sip.instance")
        .and_then(|p| p.unquoted())
    {
        let reg_id = contact.params.value("reg-id").and_then(|v| v.parse().ok());
        return BindingKey::Instance {
            instance: instance.into_owned(),
            reg_id,
        };
    }
    BindingKey::Contact(contact.uri.to_string())
}

/// RFC 1123 date for the Date header of a REGISTER response (RFC 3261 §20.17),
/// formatted once per second per thread: every answer carries one.
fn httpdate_now() -> SipStr {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, SipStr)>> = const { std::cell::RefCell::new(None) };
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    LAST.with_borrow_mut(|last| match last {
        Some((at, text)) if *at == secs => text.clone(),
        _ => {
            let text = SipStr::from(format_http_date(secs));
            *last = Some((secs, text.clone()));
            text
        }
    })
}

fn format_http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm), valid for all dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(month - 1) as usize],
        year,
        h,
        m,
        s
    )
}

#[cfg(test)]
mod tests {
    use super::format_http_date;

    #[test]
    fn http_date() {
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_http_date(1_795_000_000),
            "Wed, 18 Nov 2026 11:06:40 GMT"
        );
        assert_eq!(
            format_http_date(951_782_400),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }
}
