//! Resource list meta-information (`application/rlmi+xml`, RFC 4662 §5): the root part
//! of a resource-list NOTIFY, naming the list and, for each resource, the instance
//! (back-end subscription) whose state is carried in another body part (`cid`).

mod parse;

use std::fmt;
use std::str::FromStr;

use crate::namespaces::RLMI;
use herald_xml::XmlWriter;

pub use parse::parse_rlmi;

/// The media type of these documents.
pub const CONTENT_TYPE: &str = "application/rlmi+xml";

/// A name in some language (`<name xml:lang="en">Buddies</name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The name (trimmed, never empty).
    pub text: String,
    /// `xml:lang`.
    pub lang: Option<String>,
}

impl Name {
    /// A name without a language tag.
    pub fn new(text: impl Into<String>) -> Self {
        Name {
            text: text.into(),
            lang: None,
        }
    }
}

/// The state of one instance (RFC 4662 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceState {
    /// The back-end subscription is active; its state is in the part named by `cid`.
    Active,
    /// Waiting for authorisation.
    Pending,
    /// Ended (see `reason`).
    Terminated,
}

impl InstanceState {
    /// The RFC 4662 text.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Active => "active",
            InstanceState::Pending => "pending",
            InstanceState::Terminated => "terminated",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceState {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(InstanceState::Active),
            "pending" => Ok(InstanceState::Pending),
            "terminated" => Ok(InstanceState::Terminated),
            _ => Err(()),
        }
    }
}

/// One instance of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Stable identifier of the instance within the list subscription.
    pub id: String,
    /// Its state.
    pub state: InstanceState,
    /// Why it is terminated (`rejected`, `noresource`, ...), when it is.
    pub reason: Option<String>,
    /// Content-ID (without angle brackets) of the body part with its state.
    pub cid: Option<String>,
}

impl Instance {
    /// An active instance whose state travels in the part `cid`.
    pub fn active(id: impl Into<String>, cid: impl Into<String>) -> Self {
        Instance {
            id: id.into(),
            state: InstanceState::Active,
            reason: None,
            cid: Some(cid.into()),
        }
    }

    /// A pending instance (no state to carry).
    pub fn pending(id: impl Into<String>) -> Self {
        Instance {
            id: id.into(),
            state: InstanceState::Pending,
            reason: None,
            cid: None,
        }
    }

    /// A terminated instance and why.
    pub fn terminated(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Instance {
            id: id.into(),
            state: InstanceState::Terminated,
            reason: Some(reason.into()),
            cid: None,
        }
    }
}

/// One resource of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The resource's URI.
    pub uri: String,
    /// Its names (child `<name>` elements).
    pub names: Vec<Name>,
    /// Its instances (usually one).
    pub instances: Vec<Instance>,
}

impl Resource {
    /// A resource with no name and no instance.
    pub fn new(uri: impl Into<String>) -> Self {
        Resource {
            uri: uri.into(),
            names: Vec::new(),
            instances: Vec::new(),
        }
    }

    /// With a name.
    pub fn with_name(mut self, name: Name) -> Self {
        self.names.push(name);
        self
    }

    /// With an instance.
    pub fn with_instance(mut self, instance: Instance) -> Self {
        self.instances.push(instance);
        self
    }
}

/// An RLMI document: the `<list>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RlmiList {
    /// The list's URI (what was subscribed to).
    pub uri: String,
    /// Incremented for each NOTIFY of the list subscription (starting at 0).
    pub version: u32,
    /// Whether every resource is listed (`true`) or only those that changed.
    pub full_state: bool,
    /// The list's names.
    pub names: Vec<Name>,
    /// Its resources.
    pub resources: Vec<Resource>,
}

impl RlmiList {
    /// An empty list document.
    pub fn new(uri: impl Into<String>, version: u32, full_state: bool) -> Self {
        RlmiList {
            uri: uri.into(),
            version,
            full_state,
            names: Vec::new(),
            resources: Vec::new(),
        }
    }

    /// With a name.
    pub fn with_name(mut self, name: Name) -> Self {
        self.names.push(name);
        self
    }

    /// With a resource.
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Every `cid` the instances refer to, in document order.
    pub fn cids(&self) -> impl Iterator<Item = &str> {
        self.resources
            .iter()
            .flat_map(|r| &r.instances)
            .filter_map(|i| i.cid.as_deref())
    }

    /// The `application/rlmi+xml` body.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        let version = self.version.to_string();
        let full_state = if self.full_state { "true" } else { "false" };
        w.open(
            "list",
            &[
                ("xmlns", RLMI),
                ("uri", &self.uri),
                ("version", &version),
                ("fullState", full_state),
            ],
        );
        w.newline();
        for name in &self.names {
            write_name(&mut w, name);
            w.newline();
        }
        for resource in &self.resources {
            w.open("resource", &[("uri", &resource.uri)]);
            for name in &resource.names {
                write_name(&mut w, name);
            }
            for instance in &resource.instances {
                let mut attrs = vec![
                    ("id", instance.id.as_str()),
                    ("state", instance.state.as_str()),
                ];
                if let Some(reason) = &instance.reason {
                    attrs.push(("reason", reason));
                }
                if let Some(cid) = &instance.cid {
                    attrs.push(("cid", cid));
                }
                w.empty("instance", &attrs);
            }
            w.close("resource");
            w.newline();
        }
        w.close("list");
        w.finish()
    }
}

fn write_name(w: &mut XmlWriter, name: &Name) {
    match &name.lang {
        Some(lang) => w.text_element("name", &[("xml:lang", lang)], &name.text),
        None => w.text_element("name", &[], &name.text),
    }
}
