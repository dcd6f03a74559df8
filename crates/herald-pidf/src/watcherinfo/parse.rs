//! Reading `application/watcherinfo+xml` (RFC 3858 §4): strict about the watcherinfo
//! namespace, tolerant of extension elements from other namespaces (the schema allows
//! them).

use super::{DocState, Watcher, WatcherEvent, WatcherInfoDoc, WatcherList, WatcherStatus};
use crate::error::{PidfError, shown};
use crate::limits::Limits;
use crate::namespaces::WATCHERINFO;
use herald_xml::Element;

/// Parses and validates a watcher information document.
pub fn parse_watcherinfo(body: &[u8], limits: &Limits) -> Result<WatcherInfoDoc, PidfError> {
    let root = herald_xml::parse(body, &limits.xml())?;
    if !root.is(WATCHERINFO, "watcherinfo") {
        return Err(PidfError::invalid("root element is not <watcherinfo>"));
    }
    let version = number(&root, "version")?
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| PidfError::invalid("watcherinfo version missing or too large"))?;
    let state = required(&root, "state")?
        .parse::<DocState>()
        .map_err(|()| PidfError::invalid("watcherinfo state must be full or partial"))?;
    let mut lists = Vec::new();
    for child in &root.children {
        if child.is(WATCHERINFO, "watcher-list") {
            lists.push(watcher_list(child)?);
        } else if child.ns.as_deref() == Some(WATCHERINFO) {
            return Err(unexpected(child, "watcherinfo"));
        }
    }
    Ok(WatcherInfoDoc {
        version,
        state,
        lists,
    })
}

fn watcher_list(element: &Element) -> Result<WatcherList, PidfError> {
    let mut list = WatcherList::new(
        required(element, "resource")?,
        required(element, "package")?,
    );
    for child in &element.children {
        if child.is(WATCHERINFO, "watcher") {
            list.watchers.push(watcher(child)?);
        } else if child.ns.as_deref() == Some(WATCHERINFO) {
            return Err(unexpected(child, "watcher-list"));
        }
    }
    Ok(list)
}

fn watcher(element: &Element) -> Result<Watcher, PidfError> {
    let status = required(element, "status")?
        .parse::<WatcherStatus>()
        .map_err(|()| PidfError::invalid("bad watcher status"))?;
    let event = required(element, "event")?
        .parse::<WatcherEvent>()
        .map_err(|()| PidfError::invalid("bad watcher event"))?;
    let uri = element.trimmed_text();
    if uri.is_empty() {
        return Err(PidfError::invalid("watcher without URI"));
    }
    Ok(Watcher {
        id: required(element, "id")?,
        status,
        event,
        uri: uri.to_owned(),
        display_name: element.attr("display-name").map(str::to_owned),
        expiration: number(element, "expiration")?,
        duration_subscribed: number(element, "duration-subscribed")?,
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

/// An optional unsigned attribute (digits only).
fn number(element: &Element, name: &str) -> Result<Option<u64>, PidfError> {
    let Some(text) = element.attr(name).map(str::trim) else {
        return Ok(None);
    };
    if !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && let Ok(value) = text.parse()
    {
        return Ok(Some(value));
    }
    Err(PidfError::invalid(format!(
        "bad {name} on <{}>",
        element.label()
    )))
}

fn unexpected(element: &Element, parent: &str) -> PidfError {
    PidfError::invalid(format!(
        "unexpected <{}> in <{parent}>",
        shown(&element.name)
    ))
}
