//! The bodies of NOTIFYs: one user's presence for a watcher, a watcher-info document,
//! and the multipart/related document of a resource list.
use crate::notify::Body;
use bytes::Bytes;
use herald_pidf::multipart::{Boundary, ResourcePart, build_rlmi_notify, random_content_id};
use herald_pidf::rlmi::{Instance, Name, Resource, RlmiList};
use herald_pidf::watcherinfo::{DocState, WatcherInfoDoc};
use herald_pidf::{AccessLevel, Aggregate, render};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

pub const PIDF: &str = "application/pidf+xml";

/// A stable hash of a document, to skip NOTIFYs that would repeat the last one.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// `sip:` + AOR.
pub fn sip_uri(aor: &str) -> String {
    format!("sip:{aor}")
}

pub fn presence(aggregate: &Aggregate, aor: &str, level: AccessLevel) -> Body {
    Body {
        content_type: PIDF.to_owned(),
        bytes: Bytes::from(render(aggregate, &sip_uri(aor), level)),
    }
}

/// A rendered presence document and its [`hash`].
#[derive(Clone, Debug)]
pub struct Rendered {
    pub body: Body,
    pub hash: u64,
}

/// One user's presence document as each access level sees it, for one aggregate:
/// rendered when a watcher at that level first needs it and shared by the others, so a
/// change watched by many is rendered (and hashed) once per level, not once per
/// watcher. A new aggregate gets new views.
#[derive(Debug, Default)]
pub struct Views {
    levels: [OnceLock<Rendered>; AccessLevel::ALL.len()],
}

impl Views {
    /// The document of `aggregate` (the one these views belong to) for `level`.
    pub fn presence(&self, aggregate: &Aggregate, aor: &str, level: AccessLevel) -> Rendered {
        let rendered = || {
            let body = presence(aggregate, aor, level);
            let hash = hash(&body.bytes);
            Rendered { body, hash }
        };
        let slot = AccessLevel::ALL
            .iter()
            .position(|l| *l == level)
            .and_then(|i| self.levels.get(i));
        match slot {
            Some(cell) => cell.get_or_init(rendered).clone(),
            None => rendered(),
        }
    }
}

pub fn watcherinfo(doc: &WatcherInfoDoc) -> Body {
    Body {
        content_type: herald_pidf::watcherinfo::CONTENT_TYPE.to_owned(),
        bytes: Bytes::from(doc.to_xml()),
    }
}

/// One resource of a list NOTIFY, with what is needed to render it.
pub struct ListItem {
    pub aor: String,
    pub name: Option<String>,
    pub instance: String,
    /// None: not one of our users (the instance is terminated, `noresource`).
    pub level: Option<AccessLevel>,
    pub aggregate: Arc<Aggregate>,
}

/// The rendered state of one resource (None for a terminated one) and its hash.
pub struct RenderedItem {
    pub item: ListItem,
    pub pidf: Option<Vec<u8>>,
    pub hash: u64,
}

pub fn render_item(item: ListItem) -> RenderedItem {
    let pidf = item
        .level
        .map(|level| render(&item.aggregate, &sip_uri(&item.aor), level).into_bytes());
    let hash = pidf.as_deref().map_or(0, hash);
    RenderedItem { item, pidf, hash }
}

/// The multipart/related body of a list NOTIFY carrying `items`.
pub fn list(
    list_uri: &str,
    domain: &str,
    version: u32,
    full_state: bool,
    items: &[RenderedItem],
) -> Result<Body, herald_pidf::PidfError> {
    let mut rlmi = RlmiList::new(list_uri, version, full_state);
    let mut parts = Vec::with_capacity(items.len());
    for r in items {
        let mut resource = Resource::new(sip_uri(&r.item.aor));
        if let Some(name) = &r.item.name {
            resource = resource.with_name(Name::new(name.clone()));
        }
        let instance = match &r.pidf {
            Some(doc) => {
                let cid = random_content_id(domain);
                parts.push(ResourcePart::pidf(cid.clone(), doc.clone()));
                Instance::active(r.item.instance.clone(), cid)
            }
            None => Instance::terminated(r.item.instance.clone(), "noresource"),
        };
        rlmi = rlmi.with_resource(resource.with_instance(instance));
    }
    let root = random_content_id(domain);
    let built = build_rlmi_notify(&rlmi, &root, &parts, &Boundary::random())?;
    Ok(Body {
        content_type: built.content_type,
        bytes: Bytes::from(built.body),
    })
}

/// An empty full watcher-info document for `owner` (the watchers are added by the
/// caller, who knows the subscriptions).
pub fn winfo_doc(owner: &str, version: u32) -> WatcherInfoDoc {
    WatcherInfoDoc::new(sip_uri(owner), "presence", version, DocState::Full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_render_once_per_level_and_share_the_bytes() {
        let aggregate = Aggregate::offline();
        let views = Views::default();
        let first = views.presence(&aggregate, "alice@example.com", AccessLevel::Public);
        let again = views.presence(&aggregate, "alice@example.com", AccessLevel::Public);
        // The same allocation: the second watcher got the first one's document.
        assert_eq!(first.body.bytes.as_ptr(), again.body.bytes.as_ptr());
        assert_eq!(first.hash, again.hash);
        assert_eq!(first.hash, hash(&first.body.bytes));
        let direct = presence(&aggregate, "alice@example.com", AccessLevel::Public);
        assert_eq!(first.body.bytes, direct.bytes);
        assert_eq!(first.body.content_type, PIDF);

        let other_level = views.presence(&aggregate, "alice@example.com", AccessLevel::Workgroup);
        assert_ne!(other_level.body.bytes.as_ptr(), first.body.bytes.as_ptr());
        let fresh = Views::default().presence(&aggregate, "alice@example.com", AccessLevel::Public);
        assert_ne!(fresh.body.bytes.as_ptr(), first.body.bytes.as_ptr());
        assert_eq!(fresh.body.bytes, first.body.bytes);
    }
}
