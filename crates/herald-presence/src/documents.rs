//! The bodies of NOTIFYs: one user's presence for a watcher, a watcher-info document,
//! and the multipart/related document of a resource list.
use crate::notify::Body;
use herald_pidf::multipart::{Boundary, ResourcePart, build_rlmi_notify, random_content_id};
use herald_pidf::rlmi::{Instance, Name, Resource, RlmiList};
use herald_pidf::watcherinfo::{DocState, WatcherInfoDoc};
use herald_pidf::{AccessLevel, Aggregate, render};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

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
        bytes: render(aggregate, &sip_uri(aor), level).into_bytes(),
    }
}

pub fn watcherinfo(doc: &WatcherInfoDoc) -> Body {
    Body {
        content_type: herald_pidf::watcherinfo::CONTENT_TYPE.to_owned(),
        bytes: doc.to_xml().into_bytes(),
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
        bytes: built.body,
    })
}

/// An empty full watcher-info document for `owner` (the watchers are added by the
/// caller, who knows the subscriptions).
pub fn winfo_doc(owner: &str, version: u32) -> WatcherInfoDoc {
    WatcherInfoDoc::new(sip_uri(owner), "presence", version, DocState::Full)
}
