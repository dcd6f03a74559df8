//! Via header entries.
use crate::{
    chars::{is_token_char, is_wsp, parse_digits, trim_wsp},
    error::ParseError,
    params::{Params, parse_header_params},
    text::SipStr,
    uri::{Host, parse_host_port},
};
use std::fmt;

/// The RFC 3261 branch magic cookie.
pub const BRANCH_MAGIC: &str = "z9hG4bK";

/// One Via entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// `SIP/2.0` protocol name/version as written (without any LWS around the `/`).
    pub protocol: SipStr,
    /// Transport token upper-cased as written (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, or any
    /// unknown token: RFC 4475 §3.1.1.10 says they are legal).
    pub transport: SipStr,
    /// Host of sent-by.
    pub host: Host,
    /// Port of sent-by, if written.
    pub port: Option<u16>,
    /// Via parameters in order.
    pub params: Params,
}

/// A byte cursor over one Via value.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_wsp(&mut self) -> usize {
        let start = self.pos;
        while self
            .text
            .as_bytes()
            .get(self.pos)
            .is_some_and(|&b| is_wsp(b))
        {
            self.pos += 1;
        }
        self.pos - start
    }
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.text.as_bytes().get(self.pos).is_some_and(|&b| pred(b)) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }
    fn token(&mut self, what: &'static str) -> Result<&'a str, ParseError> {
        let token = self.take_while(is_token_char);
        if token.is_empty() {
            return Err(ParseError::bad(format!("Via: missing {what}")));
        }
        Ok(token)
    }
    /// `SLASH = SWS "/" SWS` (RFC 4475 §3.1.1.1 puts LWS there).
    fn slash(&mut self) -> Result<(), ParseError> {
        self.skip_wsp();
        if self.text.as_bytes().get(self.pos) != Some(&b'/') {
            return Err(ParseError::bad("Via: malformed sent-protocol"));
        }
        self.pos += 1;
        self.skip_wsp();
        Ok(())
    }
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }
}

impl Via {
    /// Parses a single Via value (one element of `Headers::values(&HeaderName::Via)`).
    pub fn parse(s: &SipStr) -> Result<Via, ParseError> {
        Via::parse_in(s, s.as_str())
    }

    /// Parses `text`, a slice of `s`, sharing `s`'s buffer.
    pub(crate) fn parse_in(s: &SipStr, text: &str) -> Result<Via, ParseError> {
        let text = trim_wsp(text);
        let mut cursor = Cursor { text, pos: 0 };
        let name = cursor.token("protocol name")?;
        cursor.slash()?;
        let version = cursor.token("protocol version")?;
        cursor.slash()?;
        let transport = cursor.token("transport")?;
        if cursor.skip_wsp() == 0 {
            return Err(ParseError::bad("Via: missing sent-by"));
        }
        let sent_by = cursor.take_while(|b| !is_wsp(b) && b != b';');
        let (host, port) = parse_host_port(s, sent_by)
            .map_err(|e| ParseError::bad(format!("Via: {}", e.reason)))?;
        let params = parse_header_params(s, cursor.rest())
            .map_err(|e| ParseError::bad(format!("Via: {}", e.reason)))?;
        // Shared when written without LWS around the `/` (nearly always), else rebuilt.
        let protocol = match text.get(..name.len() + 1 + version.len()) {
            Some(written) if !written.contains([' ', '\t']) => s.slice_ref(written),
            _ => SipStr::from(format!("{name}/{version}")),
        };
        let transport = if transport.bytes().any(|b| b.is_ascii_lowercase()) {
            SipStr::from(transport.to_ascii_uppercase())
        } else {
            s.slice_ref(transport)
        };
        let via = Via {
            protocol,
            transport,
            host,
            port,
            params,
        };
        via.check_params()?;
        Ok(via)
    }

    /// Range checks on the parameters whose accessors return numbers.
    fn check_params(&self) -> Result<(), ParseError> {
        if let Some(rport) = self.params.value("rport")
            && parse_digits(rport)
                .and_then(|p| u16::try_from(p).ok())
                .is_none()
        {
            return Err(ParseError::bad(format!("Via: invalid rport `{rport}`")));
        }
        if let Some(ttl) = self.params.value("ttl")
            && parse_digits(ttl)
                .and_then(|t| u8::try_from(t).ok())
                .is_none()
        {
            return Err(ParseError::bad(format!("Via: invalid ttl `{ttl}`")));
        }
        if self.params.get("branch").is_some_and(|b| b.value.is_none()) {
            return Err(ParseError::bad("Via: branch without a value"));
        }
        Ok(())
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// True when the branch starts with the RFC 3261 magic cookie and has something
    /// after it: a branch that is only the cookie (RFC 4475 §3.2.1) cannot be unique,
    /// so such a request is matched the RFC 2543 way.
    pub fn rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > BRANCH_MAGIC.len() && b.starts_with(BRANCH_MAGIC))
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// `Some(None)` for a bare `;rport`, `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        let param = self.params.get("rport")?;
        Some(param.value.as_ref().and_then(|v| v.parse::<u16>().ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.value("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|t| t.parse().ok())
    }

    /// Writes the value in canonical form (`SIP/2.0/UDP host:port;params`).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.protocol.as_bytes());
        out.push(b'/');
        out.extend_from_slice(self.transport.as_bytes());
        out.push(b' ');
        self.host.write_to(out);
        if let Some(port) = self.port {
            out.push(b':');
            crate::digits::push_decimal(out, port);
        }
        self.params.write_to(out);
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}
