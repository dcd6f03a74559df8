//! The domains this server is authoritative for, and the host names that are aliases
//! of the primary one (its own IP addresses, `localhost`): `sip:alice@127.0.0.1` and
//! `sip:alice@herald.test` are the same address-of-record on a demo server.
use herald_sip::{Host, Scheme, Uri};

#[derive(Clone, Debug)]
pub struct ServedDomains {
    /// Lower-case; the first is the primary domain.
    domains: Vec<String>,
    /// Lower-case hosts that mean the primary domain.
    aliases: Vec<String>,
}

impl ServedDomains {
    /// `domains` must not be empty; the first is primary.
    pub fn new(domains: Vec<String>, aliases: Vec<String>) -> Self {
        let lower = |v: Vec<String>| v.into_iter().map(|d| d.to_ascii_lowercase()).collect();
        ServedDomains {
            domains: lower(domains),
            aliases: lower(aliases),
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
        let name = match host {
            Host::Domain(d) => d.as_str().trim_end_matches('.').to_ascii_lowercase(),
            Host::Ip(ip) => ip.to_string(),
        };
        if let Some(d) = self.domains.iter().find(|d| **d == name) {
            return Some(d);
        }
        if self.aliases.contains(&name) {
            Some(self.primary())
        } else {
            None
        }
    }
    /// `user@domain` for a sip/sips URI with a user part in one of our domains.
    pub fn local_aor(&self, uri: &Uri) -> Option<String> {
        if !matches!(uri.scheme, Scheme::Sip | Scheme::Sips) {
            return None;
        }
        let domain = self.resolve(&uri.host)?;
        let user = uri.user_unescaped()?;
        let user = String::from_utf8(user).ok()?;
        if user.is_empty() {
            return None;
        }
        Some(format!("{user}@{domain}"))
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
}
