//! The domains this server is authoritative for, and the host names that are aliases
//! of the primary one (its own IP addresses, `localhost`): `sip:alice@127.0.0.1` and
//! `sip:alice@herald.test` are the same address-of-record on a demo server.
use herald_sip::{Host, Scheme, Uri};
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct ServedDomains {
    /// Lower-case; the first is the primary domain.
    domains: Vec<String>,
    /// Lower-case hosts that mean the primary domain.
    aliases: Vec<String>,
    /// The domains and aliases that are IP addresses, with the domain each means: an
    /// IP host is matched by value, without writing it out as text per request.
    ips: Vec<(IpAddr, usize)>,
}

impl ServedDomains {
    /// `domains` must not be empty; the first is primary.
    pub fn new(domains: Vec<String>, aliases: Vec<String>) -> Self {
        let lower = |v: Vec<String>| -> Vec<String> {
            v.into_iter().map(|d| d.to_ascii_lowercase()).collect()
        };
        let (domains, aliases) = (lower(domains), lower(aliases));
        let ip = |name: &String| {
            let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']'));
            bare.unwrap_or(name).parse::<IpAddr>().ok()
        };
        let ips = domains
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((ip(d)?, i)))
            .chain(aliases.iter().filter_map(|a| Some((ip(a)?, 0))))
            .collect();
        ServedDomains {
            domains,
            aliases,
            ips,
        }
    }
    pub fn primary(&self) -> &str {
        self.domains
            .first()
            .map(String::as_str)
            .unwrap_or("localhost")
    }
    /// The served domain `host` names, if any.
    pub fn resolve(&self, host: &Host) -> Option<&str> {
        match host {
            Host::Domain(d) => {
                let name = d.as_str().trim_end_matches('.');
                if let Some(d) = self.domains.iter().find(|d| d.eq_ignore_ascii_case(name)) {
                    return Some(d);
                }
                self.aliases
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(name))
                    .then(|| self.primary())
            }
            Host::Ip(ip) => {
                let (_, i) = self.ips.iter().find(|(known, _)| known == ip)?;
                self.domains.get(*i).map(String::as_str)
            }
        }
    }
    /// `user@domain` for a sip/sips URI with a user part in one of our domains.
    pub fn local_aor(&self, uri: &Uri) -> Option<String> {
        if !matches!(uri.scheme, Scheme::Sip | Scheme::Sips) {
            return None;
        }
        let domain = self.resolve(&uri.host)?;
        let user = uri.user_unescaped()?;
        let user = std::str::from_utf8(&user).ok()?;
        if user.is_empty() {
            return None;
        }
        let mut aor = String::with_capacity(user.len() + 1 + domain.len());
        aor.push_str(user);
        aor.push('@');
        aor.push_str(domain);
        Some(aor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> ServedDomains {
        ServedDomains::new(
            vec!["Herald.Test".into()],
            vec!["127.0.0.1".into(), "localhost".into()],
        )
    }

    #[test]
    fn aliases_map_to_primary() {
        let d = served();
        assert_eq!(
            d.local_aor(&Uri::parse_str("sip:alice@127.0.0.1:5060").unwrap())
                .as_deref(),
            Some("alice@herald.test")
        );
        assert_eq!(
            d.local_aor(&Uri::parse_str("sip:alice@HERALD.test").unwrap())
                .as_deref(),
            Some("alice@herald.test")
        );
        assert_eq!(
            d.local_aor(&Uri::parse_str("sips:al%69ce@herald.test").unwrap())
                .as_deref(),
            Some("alice@herald.test")
        );
    }

    #[test]
    fn foreign_and_userless_are_not_local() {
        let d = served();
        assert_eq!(
            d.local_aor(&Uri::parse_str("sip:alice@example.org").unwrap()),
            None
        );
        assert_eq!(
            d.local_aor(&Uri::parse_str("sip:herald.test").unwrap()),
            None
        );
        assert_eq!(d.local_aor(&Uri::parse_str("tel:+15551234").unwrap()), None);
    }

    #[test]
    fn ip_hosts_match_by_value() {
        let d = ServedDomains::new(
            vec!["herald.test".into(), "10.0.0.5".into()],
            vec!["::1".into(), "[2001:db8::2]".into(), "127.0.0.1".into()],
        );
        let aor = |u: &str| d.local_aor(&Uri::parse_str(u).expect("uri"));
        assert_eq!(aor("sip:bob@[::1]").as_deref(), Some("bob@herald.test"));
        assert_eq!(
            aor("sip:bob@[2001:DB8:0::2]:5061").as_deref(),
            Some("bob@herald.test")
        );
        assert_eq!(aor("sip:bob@10.0.0.5").as_deref(), Some("bob@10.0.0.5"));
        assert_eq!(aor("sip:bob@10.0.0.6"), None);
        assert_eq!(
            aor("sip:bob@HERALD.TEST.").as_deref(),
            Some("bob@herald.test")
        );
        assert_eq!(aor("sip:bob@herald.test.example"), None);
    }
}
