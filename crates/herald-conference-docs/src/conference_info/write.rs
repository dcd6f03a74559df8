//! Writing a [`ConferenceInfo`] in the element order of the RFC 4575 schema.

use super::{ConferenceInfo, ElementState, Endpoint, NAMESPACE, User};
use herald_xml::XmlWriter;

pub(super) fn to_xml(info: &ConferenceInfo) -> String {
    let mut w = XmlWriter::indented();
    let version = info.version.to_string();
    w.open(
        "conference-info",
        &[
            ("xmlns", NAMESPACE),
            ("entity", &info.entity),
            ("state", info.state.as_str()),
            ("version", &version),
        ],
    );
    // The sections default to `full`; in a partial document they must say otherwise.
    let section_attrs: &[(&str, &str)] = match info.state {
        ElementState::Partial => &[("state", "partial")],
        ElementState::Full | ElementState::Deleted => &[],
    };
    if info.subject.is_some() || info.max_user_count.is_some() {
        w.open("conference-description", section_attrs);
        if let Some(subject) = &info.subject {
            w.text_element("subject", &[], subject);
        }
        if let Some(max) = info.max_user_count {
            w.text_element("maximum-user-count", &[], &max.to_string());
        }
        w.close("conference-description");
    }
    if info.user_count.is_some() || info.active.is_some() {
        w.open("conference-state", section_attrs);
        if let Some(count) = info.user_count {
            w.text_element("user-count", &[], &count.to_string());
        }
        if let Some(active) = info.active {
            w.text_element("active", &[], if active { "true" } else { "false" });
        }
        w.close("conference-state");
    }
    if !info.users.is_empty() {
        w.open("users", section_attrs);
        for user in &info.users {
            write_user(&mut w, user);
        }
        w.close("users");
    }
    w.close("conference-info");
    w.finish()
}

fn write_user(w: &mut XmlWriter, user: &User) {
    let attrs = [
        ("entity", user.entity.as_str()),
        ("state", user.state.as_str()),
    ];
    if user.display_text.is_none() && user.roles.is_empty() && user.endpoints.is_empty() {
        w.empty("user", &attrs);
        return;
    }
    w.open("user", &attrs);
    if let Some(text) = &user.display_text {
        w.text_element("display-text", &[], text);
    }
    if !user.roles.is_empty() {
        w.open("roles", &[]);
        for role in &user.roles {
            w.text_element("entry", &[], role);
        }
        w.close("roles");
    }
    for endpoint in &user.endpoints {
        write_endpoint(w, endpoint);
    }
    w.close("user");
}

fn write_endpoint(w: &mut XmlWriter, endpoint: &Endpoint) {
    let attrs = [
        ("entity", endpoint.entity.as_str()),
        ("state", endpoint.state.as_str()),
    ];
    let empty = endpoint.display_text.is_none()
        && endpoint.referred_by.is_none()
        && endpoint.status.is_none()
        && endpoint.joining_method.is_none()
        && endpoint.joining_when.is_none()
        && endpoint.disconnection_method.is_none()
        && endpoint.disconnection_when.is_none();
    if empty {
        w.empty("endpoint", &attrs);
        return;
    }
    w.open("endpoint", &attrs);
    if let Some(text) = &endpoint.display_text {
        w.text_element("display-text", &[], text);
    }
    if let Some(by) = &endpoint.referred_by {
        w.open("referred", &[]);
        w.text_element("by", &[], by);
        w.close("referred");
    }
    if let Some(status) = endpoint.status {
        w.text_element("status", &[], status.as_str());
    }
    if let Some(method) = endpoint.joining_method {
        w.text_element("joining-method", &[], method.as_str());
    }
    if let Some(when) = &endpoint.joining_when {
        w.open("joining-info", &[]);
        w.text_element("when", &[], when);
        w.close("joining-info");
    }
    if let Some(method) = endpoint.disconnection_method {
        w.text_element("disconnection-method", &[], method.as_str());
    }
    if let Some(when) = &endpoint.disconnection_when {
        w.open("disconnection-info", &[]);
        w.text_element("when", &[], when);
        w.close("disconnection-info");
    }
    w.close("endpoint");
}
