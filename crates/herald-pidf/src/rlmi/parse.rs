//! Reading `application/rlmi+xml` (RFC 4662 §5): strict about the RLMI namespace,
//! tolerant of extension elements from other namespaces.

use super::{Instance, InstanceState, Name, Resource, RlmiList};
use crate::error::{PidfError, shown};
use crate::limits::Limits;
use crate::namespaces::RLMI;
use herald_xml::Element;

/// Parses and validates an RLMI document.
pub fn parse_rlmi(body: &[u8], limits: &Limits) -> Result<RlmiList, PidfError> {
    let root = herald_xml::parse(body, &limits.xml())?;
    if !root.is(RLMI, "list") {
        return Err(PidfError::invalid("root element is not RLMI <list>"));
    }
    let version = required(&root, "version")?;
    let version = (version.bytes().all(|b| b.is_ascii_digit()))
        .then(|| version.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| PidfError::invalid("bad list version"))?;
    let full_state = match required(&root, "fullState")?.as_str() {
        "true" | "1" => true,
        "false" | "0" => false,
        _ => return Err(PidfError::invalid("bad list fullState")),
    };
    let mut list = RlmiList::new(required(&root, "uri")?, version, full_state);
    for child in &root.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(RLMI), "name") => list.names.extend(name(child)),
            (Some(RLMI), "resource") => list.resources.push(resource(child)?),
            (Some(RLMI), _) => return Err(unexpected(child, "list")),
            _ => {}
        }
    }
    Ok(list)
}

fn resource(element: &Element) -> Result<Resource, PidfError> {
    let mut resource = Resource::new(required(element, "uri")?);
    for child in &element.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(RLMI), "name") => resource.names.extend(name(child)),
            (Some(RLMI), "instance") => resource.instances.push(instance(child)?),
            (Some(RLMI), _) => return Err(unexpected(child, "resource")),
            _ => {}
        }
    }
    Ok(resource)
}

fn instance(element: &Element) -> Result<Instance, PidfError> {
    let state = required(element, "state")?
        .parse::<InstanceState>()
        .map_err(|()| PidfError::invalid("instance state must be active, pending or terminated"))?;
    let optional = |name: &str| {
        element
            .attr(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(Instance {
        id: required(element, "id")?,
        state,
        reason: optional("reason"),
        cid: optional("cid"),
    })
}

fn name(element: &Element) -> Option<Name> {
    let text = element.trimmed_text();
    (!text.is_empty()).then(|| Name {
        text: text.to_owned(),
        lang: element.lang().map(str::to_owned),
    })
}

fn required(element: &Element, name: &str) -> Result<String, PidfError> {
    match element.attr(name).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(PidfError::invalid(format!(
            "<{}> without {name}",
            element.label()
        ))),
    }
}

fn unexpected(element: &Element, parent: &str) -> PidfError {
    PidfError::invalid(format!(
        "unexpected <{}> in <{parent}>",
        shown(&element.name)
    ))
}
