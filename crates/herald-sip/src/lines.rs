//! Splitting a header section into logical header lines (RFC 3261 §7.3.1): each line
//! ends in CRLF, a line starting with SP/HT continues the previous one. Works on raw
//! bytes (no UTF-8 needed) so that stream framing can use it too.
use crate::{chars::is_wsp, error::ParseError};
use std::ops::Range;

/// One logical header line, as byte ranges into the section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawHeader {
    /// The name, without the whitespace before the colon.
    pub name: Range<usize>,
    /// The value with leading LWS (even across a fold) and trailing SP/HT trimmed.
    pub value: Range<usize>,
    /// The value still spans several physical lines and needs unfolding.
    pub folded: bool,
}

/// Iterates over the logical lines of `section[pos..]`, which must end right after the
/// CRLF of its last header line (the empty line that ends the headers excluded).
/// A malformed line yields an error and the iteration goes on with the next one, so a
/// caller can still collect the well-formed lines of a bad request.
pub(crate) struct RawHeaders<'a> {
    section: &'a [u8],
    pos: usize,
}

impl<'a> RawHeaders<'a> {
    pub(crate) fn new(section: &'a [u8], pos: usize) -> Self {
        RawHeaders { section, pos }
    }

    /// End of the physical line starting at `from`: the index of its CR, and the
    /// index just past its LF.
    fn line_end(&self, from: usize) -> Option<(usize, usize)> {
        let lf = from + memchr::memchr(b'\n', self.section.get(from..)?)?;
        (lf > from && self.section.get(lf - 1) == Some(&b'\r')).then_some((lf - 1, lf + 1))
    }
}

impl Iterator for RawHeaders<'_> {
    type Item = Result<RawHeader, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let section = self.section;
        let start = self.pos;
        if start >= section.len() {
            return None;
        }
        let Some((first_cr, mut next)) = self.line_end(start) else {
            // Nothing sensible follows a line without CRLF: stop here.
            self.pos = section.len();
            return Some(Err(ParseError::bad("header line not terminated by CRLF")));
        };
        let mut block_end = first_cr;
        while section.get(next).is_some_and(|&b| is_wsp(b)) {
            match self.line_end(next) {
                Some((cr, after)) => {
                    block_end = cr;
                    next = after;
                }
                None => {
                    self.pos = section.len();
                    return Some(Err(ParseError::bad(
                        "folded header line not terminated by CRLF",
                    )));
                }
            }
        }
        self.pos = next;
        let block = section.get(start..block_end).unwrap_or_default();
        // A CR that is not part of a CRLF would let a relayed message be read
        // differently by the next hop. Only folded lines hold a CR at all, so the
        // common line costs one search.
        let has_cr = memchr::memchr(b'\r', block).is_some();
        if has_cr && memchr::memchr_iter(b'\r', block).any(|i| block.get(i + 1) != Some(&b'\n')) {
            return Some(Err(ParseError::bad("bare CR in a header line")));
        }
        if block.first().is_some_and(|&b| is_wsp(b)) {
            return Some(Err(ParseError::bad(
                "header section starts with whitespace",
            )));
        }
        let first_line = section.get(start..first_cr).unwrap_or_default();
        let Some(colon) = memchr::memchr(b':', first_line) else {
            return Some(Err(ParseError::bad("header line without a colon")));
        };
        let mut name_end = start + colon;
        while name_end > start && section.get(name_end - 1).is_some_and(|&b| is_wsp(b)) {
            name_end -= 1;
        }
        let mut value_start = start + colon + 1;
        while value_start < block_end
            && section
                .get(value_start)
                .is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            value_start += 1;
        }
        // A continuation line holding only whitespace leaves a fold at the end: trim
        // it like the leading one, or the unfolded value would end in a space.
        let mut value_end = block_end;
        while value_end > value_start
            && section
                .get(value_end - 1)
                .is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            value_end -= 1;
        }
        let folded = has_cr
            && memchr::memchr(
                b'\r',
                section.get(value_start..value_end).unwrap_or_default(),
            )
            .is_some();
        Some(Ok(RawHeader {
            name: start..name_end,
            value: value_start..value_end,
            folded,
        }))
    }
}

/// Replaces each fold (`*WSP CRLF 1*WSP`) by a single SP.
pub(crate) fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, piece) in value.split("\r\n").enumerate() {
        if i > 0 {
            let kept = out.trim_end_matches([' ', '\t']).len();
            out.truncate(kept);
            out.push(' ');
            out.push_str(piece.trim_start_matches([' ', '\t']));
        } else {
            out.push_str(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(section: &[u8]) -> Vec<Result<(String, String, bool), ParseError>> {
        RawHeaders::new(section, 0)
            .map(|r| {
                r.map(|h| {
                    let text = |r: Range<usize>| String::from_utf8_lossy(&section[r]).into_owned();
                    (text(h.name), text(h.value), h.folded)
                })
            })
            .collect()
    }

    #[test]
    fn splits_and_trims() {
        let lines = split(b"To :\r\n sip:a@b ;tag=1\r\nX:  y z  \r\nEmpty:\r\n");
        assert_eq!(
            lines,
            vec![
                Ok(("To".into(), "sip:a@b ;tag=1".into(), false)),
                Ok(("X".into(), "y z".into(), false)),
                Ok(("Empty".into(), "".into(), false)),
            ]
        );
    }

    #[test]
    fn folded_lines_are_flagged_and_unfolded() {
        let lines = split(b"N: a\r\n continued \r\n\t more\r\nM: b\r\n");
        let first = lines[0].as_ref().unwrap();
        assert_eq!(first.1, "a\r\n continued \r\n\t more");
        assert!(first.2);
        assert_eq!(unfold(&first.1), "a continued more");
        assert_eq!(lines[1].as_ref().unwrap().1, "b");
    }

    #[test]
    fn errors_do_not_stop_the_split() {
        let lines = split(b"no colon\r\nbad\rcr: x\r\nGood: y\r\n");
        assert!(lines[0].is_err());
        assert!(lines[1].is_err());
        assert_eq!(lines[2].as_ref().unwrap().0, "Good");
        assert!(split(b"X: y\n").iter().all(|r| r.is_err()));
        assert!(split(b" X: y\r\n")[0].is_err());
    }
}
