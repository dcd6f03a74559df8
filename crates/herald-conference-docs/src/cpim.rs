//! `message/cpim` (RFC 3862): the wrapper a conference focus puts around every message
//! it fans out, so that each participant sees who said it (the From of an in-dialog
//! MESSAGE is the focus's, fixed by the dialog).
//!
//! A CPIM body is a block of message headers (`From`, `To`, `DateTime`, ...), a blank
//! line, the MIME headers of the encapsulated content (`Content-Type`, ...), a blank
//! line, and the content.

use crate::error::{DocError, shown};
use crate::limits::{Limits, check_size};

pub use crate::datetime::{now_datetime, rfc3339_utc};

/// The MIME type of CPIM messages.
pub const CONTENT_TYPE: &str = "message/cpim";

/// A parsed CPIM message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpim {
    /// The first `From` header's value as written (header parameters removed), e.g.
    /// `"Alice" <sip:alice@d>`.
    pub from: Option<String>,
    /// Every `To` header's value, in order.
    pub to: Vec<String>,
    /// The first `DateTime` header's value.
    pub datetime: Option<String>,
    /// The first `Subject` header's value (its `;lang=` parameter removed).
    pub subject: Option<String>,
    /// Every other message header (`cc`, `NS`, `Require`, prefixed extension headers, a
    /// second `From`, `DateTime` or `Subject`), in order, with its value as written
    /// (parameters included).
    pub other_headers: Vec<(String, String)>,
    /// The encapsulated content's `Content-Type` as written; `text/plain` when the
    /// content has no such header. Other MIME headers (`Content-ID`, ...) are not kept.
    pub content_type: String,
    /// The encapsulated content, byte for byte.
    pub body: Vec<u8>,
}

impl Cpim {
    /// The URI inside the `<>` of the `From` header.
    pub fn from_uri(&self) -> Option<&str> {
        let from = self.from.as_deref()?;
        let start = from.rfind('<')?;
        let rest = from.get(start + 1..)?;
        rest.find('>').and_then(|end| rest.get(..end))
    }

    /// The display name of the `From` header: unquoted and unescaped when quoted, as
    /// written otherwise; `None` when there is none.
    pub fn from_display_name(&self) -> Option<String> {
        let from = self.from.as_deref()?;
        let name = from.get(..from.rfind('<')?)?.trim();
        let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) => unquote(quoted),
            None => name.to_owned(),
        };
        (!name.is_empty()).then_some(name)
    }
}

/// A CPIM message from `from_uri` (with `from_display` as its quoted display name,
/// left out when `None` or empty) to `to_uri`, sent at `datetime` (see
/// [`now_datetime`]), carrying `body` of type `content_type`:
///
/// ```text
/// From: "Alice" <sip:alice@d>
/// To: <sip:conf-1@d>
/// DateTime: 2026-11-21T10:11:12.345Z
///
/// Content-Type: text/plain;charset=utf-8
///
/// hello
/// ```
///
/// Every line ends with CRLF. A header cannot be broken out of: control characters in
/// the display name, date or type become spaces, and characters a URI cannot hold
/// unescaped (controls, space, `<`, `>`, `"`) are %-escaped. An empty `datetime` or
/// `content_type` leaves that header out.
pub fn wrap(
    from_display: Option<&str>,
    from_uri: &str,
    to_uri: &str,
    datetime: &str,
    content_type: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = String::with_capacity(128 + from_uri.len() + to_uri.len());
    out.push_str("From: ");
    if let Some(name) = from_display.filter(|n| !n.is_empty()) {
        push_quoted(name, &mut out);
        out.push(' ');
    }
    push_uri(from_uri, &mut out);
    out.push_str("\r\nTo: ");
    push_uri(to_uri, &mut out);
    out.push_str("\r\n");
    if !datetime.is_empty() {
        out.push_str("DateTime: ");
        push_value(datetime, &mut out);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    if !content_type.is_empty() {
        out.push_str("Content-Type: ");
        push_value(content_type, &mut out);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads a CPIM message. Lines may end with CRLF or LF alone. The content's MIME
/// header block is recognised by a first line that is a `Content-*` header or empty;
/// anything else after the message headers is the content itself (a sender that left
/// the MIME headers out). The message headers may be followed directly by the end of
/// the input (no content).
///
/// Refused: input over `limits.max_bytes`, more than `limits.max_elements` headers, a
/// header line without a colon or with a bad name, a header that is not UTF-8.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Cpim, DocError> {
    check_size(bytes, limits)?;
    let mut cpim = Cpim {
        from: None,
        to: Vec::new(),
        datetime: None,
        subject: None,
        other_headers: Vec::new(),
        content_type: String::new(),
        body: Vec::new(),
    };
    let mut lines = Lines { rest: bytes };
    let mut header_count = 0usize;
    let mut count_header = || {
        header_count += 1;
        if header_count > limits.max_elements {
            Err(DocError::too_complex(format!(
                "more than {} headers",
                limits.max_elements
            )))
        } else {
            Ok(())
        }
    };
    while let Some(line) = lines.next_line() {
        if line.is_empty() {
            break;
        }
        count_header()?;
        let (name, value) = header(line)?;
        cpim.add_message_header(name, value);
    }

    let mut content_type = None;
    let starts_mime = lines
        .peek_line()
        .is_some_and(|line| line.is_empty() || is_content_header(line));
    if starts_mime {
        let mut mime_headers: Vec<(String, String)> = Vec::new();
        while let Some(line) = lines.next_line() {
            if line.is_empty() {
                break;
            }
            // MIME headers (RFC 2822) may be folded onto lines starting with whitespace.
            if let (Some(b' ' | b'\t'), Some((_, value))) = (line.first(), mime_headers.last_mut())
            {
                let continuation = utf8(line)?.trim_matches([' ', '\t']);
                if !continuation.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(continuation);
                }
                continue;
            }
            count_header()?;
            let (name, value) = header(line)?;
            mime_headers.push((name.to_owned(), value.to_owned()));
        }
        content_type = mime_headers
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("Content-Type"))
            .map(|(_, value)| value);
    }
    cpim.content_type = content_type.unwrap_or_else(|| "text/plain".to_owned());
    cpim.body = lines.rest.to_vec();
    Ok(cpim)
}

impl Cpim {
    fn add_message_header(&mut self, name: &str, value: &str) {
        let first = |slot: &Option<String>| slot.is_none();
        if name.eq_ignore_ascii_case("From") && first(&self.from) {
            self.from = Some(without_params(value).to_owned());
        } else if name.eq_ignore_ascii_case("To") {
            self.to.push(without_params(value).to_owned());
        } else if name.eq_ignore_ascii_case("DateTime") && first(&self.datetime) {
            self.datetime = Some(without_params(value).to_owned());
        } else if name.eq_ignore_ascii_case("Subject") && first(&self.subject) {
            self.subject = Some(without_params(value).to_owned());
        } else {
            self.other_headers.push((name.to_owned(), value.to_owned()));
        }
    }
}

/// Splits input into lines ending with LF (a CR before it is dropped); the rest
/// after the last line end is left in `rest`.
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    fn peek_line(&self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.rest.len());
        let line = self.rest.get(..end)?;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    fn next_line(&mut self) -> Option<&'a [u8]> {
        let line = self.peek_line()?;
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.rest.len(), |lf| lf + 1);
        self.rest = self.rest.get(end..).unwrap_or_default();
        Some(line)
    }
}

fn utf8(line: &[u8]) -> Result<&str, DocError> {
    std::str::from_utf8(line).map_err(|_| DocError::malformed("CPIM header is not UTF-8"))
}

/// `Name: value` (value trimmed of surrounding whitespace).
fn header(line: &[u8]) -> Result<(&str, &str), DocError> {
    let line = utf8(line)?;
    let (name, value) = line.split_once(':').ok_or_else(|| {
        DocError::malformed(format!("CPIM header line without a colon: {}", shown(line)))
    })?;
    if name.is_empty() || !name.bytes().all(is_name_byte) {
        return Err(DocError::malformed(format!(
            "bad CPIM header name {}",
            shown(name)
        )));
    }
    Ok((name, value.trim_matches([' ', '\t'])))
}

/// The characters of RFC 3862 header names (`Name` and the `.` of a prefixed name).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

fn is_content_header(line: &[u8]) -> bool {
    let prefix = b"content-";
    line.len() > prefix.len()
        && line
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        && line.contains(&b':')
}

/// The value after any leading `;param=value` header parameters (RFC 3862 §3.2:
/// `Subject:;lang=fr beau temps`).
fn without_params(value: &str) -> &str {
    if !value.starts_with(';') {
        return value;
    }
    match value.find([' ', '\t']) {
        Some(space) => value.get(space..).unwrap_or_default().trim_start(),
        None => "",
    }
}

fn push_quoted(name: &str, out: &mut String) {
    out.push('"');
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn unquote(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

fn push_uri(uri: &str, out: &mut String) {
    out.push('<');
    for c in uri.chars() {
        if c.is_control() || matches!(c, ' ' | '<' | '>' | '"') {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out.push('>');
}

fn push_value(value: &str, out: &mut String) {
    out.extend(value.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Cpim {
        parse(text.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn wraps_with_crlf_and_a_quoted_display_name() {
        let out = wrap(
            Some("Alice \"A\" Smith\\"),
            "sip:alice@d",
            "sip:conf-1@d",
            "2026-11-21T10:11:12.345Z",
            "text/plain;charset=utf-8",
            b"hello\nthere",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From: \"Alice \\\"A\\\" Smith\\\\\" <sip:alice@d>\r\n\
             To: <sip:conf-1@d>\r\n\
             DateTime: 2026-11-21T10:11:12.345Z\r\n\
             \r\n\
             Content-Type: text/plain;charset=utf-8\r\n\
             \r\n\
             hello\nthere"
        );
        let anonymous = wrap(None, "sip:alice@d", "sip:c@d", "", "text/plain", b"x");
        assert!(anonymous.starts_with(b"From: <sip:alice@d>\r\nTo: <sip:c@d>\r\n\r\n"));
    }

    #[test]
    fn wrapped_messages_parse_back() {
        let out = wrap(
            Some("Ålice \"the\" \\ one"),
            "sip:alice@d",
            "sip:conf-1@d",
            "2026-11-21T10:11:12.345Z",
            "text/plain;charset=utf-8",
            b"\r\nbody with\r\n\r\nblank lines\r\n",
        );
        let cpim = parse(&out, &Limits::default()).unwrap();
        assert_eq!(cpim.from_uri(), Some("sip:alice@d"));
        assert_eq!(
            cpim.from_display_name().as_deref(),
            Some("Ålice \"the\" \\ one")
        );
        assert_eq!(cpim.to, ["<sip:conf-1@d>"]);
        assert_eq!(cpim.datetime.as_deref(), Some("2026-11-21T10:11:12.345Z"));
        assert_eq!(cpim.content_type, "text/plain;charset=utf-8");
        assert_eq!(cpim.body, b"\r\nbody with\r\n\r\nblank lines\r\n");
        assert!(cpim.other_headers.is_empty());
    }

    #[test]
    fn header_injection_is_impossible() {
        let out = wrap(
            Some("Mallory\r\nTo: <sip:victim@d>"),
            "sip:m@d>\r\nX: y",
            "sip:c@d",
            "now\r\n\r\nContent-Type: text/html",
            "text/plain\r\nX-Evil: 1",
            b"hi",
        );
        let cpim = parse(&out, &Limits::default()).unwrap();
        assert_eq!(cpim.to, ["<sip:c@d>"]);
        assert!(cpim.other_headers.is_empty(), "{:?}", cpim.other_headers);
        assert_eq!(cpim.from_uri(), Some("sip:m@d%3E%0D%0AX:%20y"));
        assert_eq!(cpim.content_type, "text/plain  X-Evil: 1");
        assert_eq!(cpim.body, b"hi");
    }

    #[test]
    fn reads_the_rfc_3862_example() {
        let cpim = parsed(
            "From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
             To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
             DateTime: 2000-12-13T13:40:00-08:00\r\n\
             Subject: the weather will be fine today\r\n\
             Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n\
             NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
             Require: MyFeatures.VitalMessageOption\r\n\
             MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
             MyFeatures.WackyMessageOption: Use-silly-font\r\n\
             \r\n\
             Content-type: text/xml; charset=utf-8\r\n\
             Content-ID: <1234567890@foo.com>\r\n\
             \r\n\
             <body>\r\n\
             Here is the text of my message.\r\n\
             </body>\r\n",
        );
        assert_eq!(
            cpim.from.as_deref(),
            Some("MR SANDERS <im:piglet@100akerwood.com>")
        );
        assert_eq!(cpim.from_uri(), Some("im:piglet@100akerwood.com"));
        assert_eq!(cpim.from_display_name().as_deref(), Some("MR SANDERS"));
        assert_eq!(cpim.to, ["Depressed Donkey <im:eeyore@100akerwood.com>"]);
        assert_eq!(cpim.datetime.as_deref(), Some("2000-12-13T13:40:00-08:00"));
        assert_eq!(
            cpim.subject.as_deref(),
            Some("the weather will be fine today")
        );
        let others: Vec<(&str, &str)> = cpim
            .other_headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            others,
            [
                ("Subject", ";lang=fr beau temps prevu pour aujourd'hui"),
                ("NS", "MyFeatures <mid:MessageFeatures@id.foo.com>"),
                ("Require", "MyFeatures.VitalMessageOption"),
                ("MyFeatures.VitalMessageOption", "Confirmation-requested"),
                ("MyFeatures.WackyMessageOption", "Use-silly-font"),
            ]
        );
        assert_eq!(cpim.content_type, "text/xml; charset=utf-8");
        assert_eq!(
            cpim.body,
            b"<body>\r\nHere is the text of my message.\r\n</body>\r\n"
        );
    }

    #[test]
    fn accepts_lf_line_ends_missing_mime_headers_and_no_content() {
        let cpim = parsed("From: <sip:a@d>\nTo: <sip:b@d>\n\nContent-Type: text/plain\n\nhi\n");
        assert_eq!(cpim.to, ["<sip:b@d>"]);
        assert_eq!(cpim.content_type, "text/plain");
        assert_eq!(cpim.body, b"hi\n");

        let bare = parsed("From: <sip:a@d>\r\n\r\nNote: meet at 5\r\n");
        assert_eq!(bare.content_type, "text/plain");
        assert_eq!(bare.body, b"Note: meet at 5\r\n");

        let empty_mime = parsed("From: <sip:a@d>\r\n\r\n\r\nContent-Type: is text\r\n");
        assert_eq!(empty_mime.content_type, "text/plain");
        assert_eq!(empty_mime.body, b"Content-Type: is text\r\n");

        let headers_only = parsed("From: <sip:a@d>\r\nTo: <sip:b@d>");
        assert_eq!(headers_only.to, ["<sip:b@d>"]);
        assert!(headers_only.body.is_empty());

        let folded = parsed("From: <sip:a@d>\n\nContent-Type: text/plain;\n charset=utf-8\n\nx");
        assert_eq!(folded.content_type, "text/plain; charset=utf-8");
        assert_eq!(folded.body, b"x");
    }

    #[test]
    fn refuses_bad_headers_and_oversized_input() {
        for bad in [
            "hello world\r\n\r\n",
            "From <sip:a@d>\r\n\r\nx",
            ": no name\r\n\r\n",
            "Bad Name: x\r\n\r\n",
            " From: <sip:a@d>\r\n\r\n",
            "From: <sip:a@d>\r\n\r\nContent-Type: text/plain\r\nnot a header\r\n\r\nx",
        ] {
            let err = parse(bad.as_bytes(), &Limits::default()).expect_err(bad);
            assert!(matches!(err, DocError::Malformed(_)), "{bad}: {err}");
        }
        assert!(parse(b"From: \xff\r\n\r\n", &Limits::default()).is_err());
        let limits = Limits {
            max_bytes: 20,
            ..Limits::default()
        };
        assert_eq!(
            parse(&[b'a'; 21], &limits).unwrap_err(),
            DocError::TooLarge { max: 20 }
        );
        let few = Limits {
            max_elements: 2,
            ..Limits::default()
        };
        let err = parse(b"A: 1\r\nB: 2\r\nC: 3\r\n\r\n", &few).unwrap_err();
        assert!(matches!(err, DocError::TooComplex(_)), "{err}");
    }
}
