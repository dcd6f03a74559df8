//! Reading any RFC 4575 document into a [`ConferenceInfo`] (see
//! [`ConferenceInfo::parse`] for what is tolerated and what is refused).

use super::{
    ConferenceInfo, DisconnectionMethod, ElementState, Endpoint, EndpointStatus, JoiningMethod,
    NAMESPACE, User,
};
use crate::error::{DocError, shown};
use crate::limits::Limits;
use herald_xml::Element;

pub(super) fn parse(xml: &[u8], limits: &Limits) -> Result<ConferenceInfo, DocError> {
    let root = herald_xml::parse(xml, &limits.xml())?;
    if !is_ours(&root, "conference-info") {
        let namespace = root
            .ns
            .as_deref()
            .map(|ns| format!(" in {}", shown(ns)))
            .unwrap_or_default();
        return Err(DocError::malformed(format!(
            "not a conference-info document (root {}{namespace})",
            shown(&root.name)
        )));
    }
    let entity = required_attr(&root, "entity", "conference-info")?;
    let version = root
        .attr("version")
        .ok_or_else(|| DocError::malformed("conference-info without version"))?;
    let version = number(version, "version")?;
    let mut info = ConferenceInfo {
        entity,
        version,
        state: state(&root)?,
        subject: None,
        max_user_count: None,
        user_count: None,
        active: None,
        users: Vec::new(),
    };
    if let Some(description) = child(&root, "conference-description") {
        info.subject = child(description, "subject").map(|e| e.text.clone());
        info.max_user_count = child(description, "maximum-user-count")
            .map(|e| number(e.trimmed_text(), "maximum-user-count"))
            .transpose()?;
    }
    if let Some(conference_state) = child(&root, "conference-state") {
        info.user_count = child(conference_state, "user-count")
            .map(|e| number(e.trimmed_text(), "user-count"))
            .transpose()?;
        info.active = child(conference_state, "active")
            .map(|e| boolean(e.trimmed_text(), "active"))
            .transpose()?;
    }
    if let Some(users) = child(&root, "users") {
        info.users = children(users, "user")
            .map(read_user)
            .collect::<Result<_, _>>()?;
    }
    Ok(info)
}

fn read_user(user: &Element) -> Result<User, DocError> {
    Ok(User {
        entity: required_attr(user, "entity", "user")?,
        state: state(user)?,
        display_text: child(user, "display-text").map(|e| e.text.clone()),
        roles: child(user, "roles")
            .map(|roles| children(roles, "entry").map(|e| e.text.clone()).collect())
            .unwrap_or_default(),
        endpoints: children(user, "endpoint")
            .map(read_endpoint)
            .collect::<Result<_, _>>()?,
    })
}

fn read_endpoint(endpoint: &Element) -> Result<Endpoint, DocError> {
    let token = |name: &str| child(endpoint, name).map(Element::trimmed_text);
    let nested = |outer: &str, inner: &str| {
        child(endpoint, outer)
            .and_then(|e| child(e, inner))
            .map(|e| e.trimmed_text().to_owned())
    };
    Ok(Endpoint {
        entity: required_attr(endpoint, "entity", "endpoint")?,
        state: state(endpoint)?,
        display_text: child(endpoint, "display-text").map(|e| e.text.clone()),
        status: token("status").and_then(EndpointStatus::from_token),
        joining_method: token("joining-method").and_then(JoiningMethod::from_token),
        joining_when: nested("joining-info", "when"),
        disconnection_method: token("disconnection-method")
            .and_then(DisconnectionMethod::from_token),
        disconnection_when: nested("disconnection-info", "when"),
        referred_by: nested("referred", "by"),
    })
}

/// Whether `element` is the RFC 4575 element `name`. Elements in no namespace count
/// too: some generators forget the `xmlns`.
fn is_ours(element: &Element, name: &str) -> bool {
    element.name == name && element.ns.as_deref().is_none_or(|ns| ns == NAMESPACE)
}

fn children<'e>(parent: &'e Element, name: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
    parent.children.iter().filter(move |c| is_ours(c, name))
}

fn child<'e>(parent: &'e Element, name: &str) -> Option<&'e Element> {
    parent.children.iter().find(|c| is_ours(c, name))
}

fn required_attr(element: &Element, name: &str, what: &str) -> Result<String, DocError> {
    element
        .attr(name)
        .map(str::to_owned)
        .ok_or_else(|| DocError::malformed(format!("{what} without {name}")))
}

fn state(element: &Element) -> Result<ElementState, DocError> {
    match element.attr("state") {
        None => Ok(ElementState::Full),
        Some(value) => ElementState::from_token(value.trim()).ok_or_else(|| {
            DocError::malformed(format!(
                "bad state {} on {}",
                shown(value),
                shown(&element.name)
            ))
        }),
    }
}

fn number(text: &str, what: &str) -> Result<u32, DocError> {
    text.trim()
        .parse()
        .map_err(|_| DocError::malformed(format!("bad {what} {}", shown(text))))
}

/// `xs:boolean`.
fn boolean(text: &str, what: &str) -> Result<bool, DocError> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(DocError::malformed(format!("bad {what} {}", shown(text)))),
    }
}
