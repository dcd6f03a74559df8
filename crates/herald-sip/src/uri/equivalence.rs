//! RFC 3261 §19.1.4 URI comparison (and RFC 3966 §4 for tel): escapes, case rules,
//! and which parameters must match.
use super::Uri;
use crate::{
    escape::normalize,
    params::{Param, Params},
    text::SipStr,
};

/// Case-insensitive comparison of escape-normalised text (parameter names/values).
fn same_normalized_ci(a: &str, b: &str) -> bool {
    normalize(a).eq_ignore_ascii_case(&normalize(b))
}

fn param_value_matches(a: Option<&SipStr>, b: Option<&SipStr>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_normalized_ci(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Parameters keyed by their escape-normalised, lower-cased name (`%6C%72` is `lr`),
/// first occurrence only, sorted: lookups cost a binary search, so a URI with
/// thousands of parameters cannot make a comparison quadratic.
fn index(params: &Params) -> Vec<(Vec<u8>, &Param)> {
    let mut list: Vec<(Vec<u8>, &Param)> = params
        .iter()
        .map(|p| (normalize(&p.name).to_ascii_lowercase(), p))
        .collect();
    // Stable, so the first occurrence of a name stays first and survives `dedup_by`.
    list.sort_by(|x, y| x.0.cmp(&y.0));
    list.dedup_by(|later, earlier| later.0 == earlier.0);
    list
}

fn lookup<'a>(index: &[(Vec<u8>, &'a Param)], name: &[u8]) -> Option<&'a Param> {
    let at = index
        .binary_search_by(|(n, _)| n.as_slice().cmp(name))
        .ok()?;
    index.get(at).map(|(_, p)| *p)
}

/// Parameters that must match when present in either URI (RFC 3261 §19.1.4).
const STRICT_PARAMS: [&str; 5] = ["transport", "user", "ttl", "method", "maddr"];

pub(super) fn sip(a: &Uri, b: &Uri) -> bool {
    let text_eq = |x: Option<&SipStr>, y: Option<&SipStr>| match (x, y) {
        (Some(x), Some(y)) => normalize(x) == normalize(y),
        (None, None) => true,
        _ => false,
    };
    if !text_eq(a.user.as_ref(), b.user.as_ref())
        || !text_eq(a.password.as_ref(), b.password.as_ref())
        || !a.host.matches(&b.host)
        || a.port != b.port
    {
        return false;
    }
    let (index_a, index_b) = (index(&a.params), index(&b.params));
    for name in STRICT_PARAMS {
        match (
            lookup(&index_a, name.as_bytes()),
            lookup(&index_b, name.as_bytes()),
        ) {
            (None, None) => {}
            (Some(pa), Some(pb)) if param_value_matches(pa.value.as_ref(), pb.value.as_ref()) => {}
            _ => return false,
        }
    }
    // Any other parameter is compared only when both URIs carry it.
    let all_shared_match = index_a.iter().all(|(name, pa)| {
        lookup(&index_b, name)
            .is_none_or(|pb| param_value_matches(pa.value.as_ref(), pb.value.as_ref()))
    });
    all_shared_match && headers_equivalent(a.headers.as_ref(), b.headers.as_ref())
}

/// URI headers are never ignored; they compare as an unordered set of
/// `name=value` with case-insensitive names.
fn headers_equivalent(a: Option<&SipStr>, b: Option<&SipStr>) -> bool {
    let components = |h: Option<&SipStr>| {
        let mut list: Vec<(Vec<u8>, Vec<u8>)> = h
            .map(|h| h.as_str())
            .unwrap_or_default()
            .split('&')
            .filter(|c| !c.is_empty())
            .map(|c| {
                let (name, value) = c.split_once('=').unwrap_or((c, ""));
                (
                    normalize(name).to_ascii_lowercase(),
                    normalize(value).into_owned(),
                )
            })
            .collect();
        list.sort();
        list
    };
    components(a) == components(b)
}

pub(super) fn tel(a: &Uri, b: &Uri) -> bool {
    // Visual separators do not count (RFC 3966 §4); parameters compare as an
    // unordered collection, duplicates included.
    let digits = |u: &Uri| -> Vec<u8> {
        u.user
            .as_ref()
            .map(|n| {
                n.bytes()
                    .filter(|b| !matches!(b, b'-' | b'.' | b'(' | b')'))
                    .map(|b| b.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default()
    };
    let params = |u: &Uri| {
        let mut list: Vec<(Vec<u8>, Option<Vec<u8>>)> = u
            .params
            .iter()
            .map(|p| {
                (
                    normalize(&p.name).to_ascii_lowercase(),
                    p.value.as_ref().map(|v| normalize(v).to_ascii_lowercase()),
                )
            })
            .collect();
        list.sort();
        list
    };
    digits(a) == digits(b) && params(a) == params(b)
}
