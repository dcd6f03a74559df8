//! The `Event` header (RFC 6665 §8.2.1): which package a SUBSCRIBE or PUBLISH is for.
use herald_sip::{HeaderName, Request};

/// The event packages Herald serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Package {
    /// RFC 3856.
    Presence,
    /// RFC 3857: who watches a user's presence.
    PresenceWinfo,
}

/// `Allow-Events` of our responses.
pub const ALLOW_EVENTS: &str = "presence, presence.winfo";

impl Package {
    pub fn as_str(self) -> &'static str {
        match self {
            Package::Presence => "presence",
            Package::PresenceWinfo => "presence.winfo",
        }
    }
}

/// A parsed Event header: the package and its `id` parameter (echoed in NOTIFYs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub package: Package,
    pub id: Option<String>,
}

impl Event {
    /// The request's Event, or `None` when it is missing, repeated or names a package
    /// we do not serve (the caller answers 489 Bad Event).
    pub fn of(req: &Request) -> Option<Event> {
        let mut values = req.headers.get_all(&HeaderName::Event);
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Event::parse(value)
    }

    pub fn parse(value: &str) -> Option<Event> {
        let mut parts = value.split(';');
        let package = parts.next()?.trim();
        let package = if package.eq_ignore_ascii_case("presence") {
            Package::Presence
        } else if package.eq_ignore_ascii_case("presence.winfo") {
            Package::PresenceWinfo
        } else {
            return None;
        };
        let id = parts.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("id")
                .then(|| value.trim().to_owned())
        });
        Some(Event { package, id })
    }

    /// The header value for our NOTIFYs.
    pub fn header_value(&self) -> String {
        match &self.id {
            Some(id) => format!("{};id={id}", self.package.as_str()),
            None => self.package.as_str().to_owned(),
        }
    }
}

/// Whether the request lists `tag` in a header such as Supported or Require.
pub fn lists_option(req: &Request, header: &HeaderName, tag: &str) -> bool {
    req.headers
        .get_all(header)
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(tag))
}

/// Whether the request accepts `media` (no Accept header: the package default, so yes).
/// `*/*` and `type/*` count.
pub fn accepts(req: &Request, media: &str) -> bool {
    let mut any = false;
    let (top, _) = media.split_once('/').unwrap_or((media, ""));
    for value in req.headers.get_all(&HeaderName::Accept) {
        for item in value.split(',') {
            any = true;
            let item = item.split(';').next().unwrap_or_default().trim();
            if item.eq_ignore_ascii_case(media) || item == "*/*" {
                return true;
            }
            if let Some((t, "*")) = item.split_once('/')
                && t.eq_ignore_ascii_case(top)
            {
                return true;
            }
        }
    }
    !any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_ids_are_read_case_insensitively() {
        assert_eq!(
            Event::parse("Presence ; id=42"),
            Some(Event {
                package: Package::Presence,
                id: Some("42".into())
            })
        );
        assert_eq!(
            Event::parse("presence.winfo").map(|e| e.package),
            Some(Package::PresenceWinfo)
        );
        assert_eq!(Event::parse("dialog"), None);
        assert_eq!(Event::parse(""), None);
        assert_eq!(
            Event::parse("presence;id=7").map(|e| e.header_value()),
            Some("presence;id=7".into())
        );
    }
}
