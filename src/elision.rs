//! Parsing a message with large attachments without mail-parser reading
//! every byte of them.
//!
//! mail-parser finds where a MIME part ends by reading its body a byte at a
//! time for `--boundary` (`MessageStream::mime_part`). For an attachment of
//! 10 MB that loop was a quarter of getAll, only to learn where the part
//! ends. Here the message is parsed as a *skeleton* instead: each long
//! stretch of whole lines inside such a body is left out, the much shorter
//! skeleton is parsed, and the result is mapped back onto the message (every
//! offset after a cut moved by the bytes left out, the cut parts' bodies
//! taken from the message). The result equals mail-parser's parse of the
//! whole message (the fuzz target `rows` checks exactly that), and where
//! that cannot be shown for a skeleton the whole message is parsed instead.
//!
//! Why leaving lines out cannot change the parse, given what [`parse_with`]
//! checks on the skeleton's parse:
//!
//! - A cut is a run of whole lines (a line end before it, its last byte a
//!   line end) with no `-` in it, found with `memchr` ([`cuts`]). It starts
//!   after the first blank line of its dash-free stretch and one more line,
//!   and keeps the stretch's last line: for an attachment, the header and
//!   the body's first and last lines stay.
//! - In the skeleton's parse, every cut lies strictly inside the body of a
//!   leaf part that mail-parser kept as bytes (`Binary` or `InlineBinary`),
//!   without an encoding problem (its closing boundary was found). Up to the
//!   cut the two inputs are the same bytes, so the parser got there the
//!   same way. Inside such a body it only looks for `--` followed by the
//!   boundary and remembers the last line end (the part ends before it):
//!   the lines left out hold no `-`, and a boundary match cannot straddle a
//!   cut's edge, since both are line ends and no boundary holds a line end
//!   (checked too). So it finds the same closing boundary, after a line
//!   end that was kept, and goes on over the same bytes.
//! - mail-parser also looks ahead: at the start of a multipart it searches
//!   the rest of the message for the first boundary, past any cut, and a
//!   multipart whose boundary it does not find is read as text. That search
//!   finds the same match in both inputs for the same reasons (no `-` left
//!   out, no line end in the boundary, and the bytes right after a cut's
//!   edge are kept text, not `-`). So the line-end check covers the
//!   boundary of every Content-Type of every part, whatever the part was
//!   read as: a boundary with a line end (RFC 2231 can encode one) could
//!   match across a cut in the whole message and not in the skeleton.
//! - The parser must read every part's body with `mime_part`, as a parser
//!   that ignores Content-Transfer-Encoding does (`rows::parser`): a
//!   decoding parser reads base64 with a different loop.

use std::borrow::Cow;
use std::ops::Range;

use mail_parser::{HeaderName, Message, MessageParser, MessagePart, PartType};

/// The shortest dash-free stretch worth cutting: below it, building a
/// skeleton costs more than the byte loop it spares.
pub const MIN_STRETCH: usize = 64 * 1024;

/// `parser.parse(raw)`, through a skeleton when `raw` has dash-free
/// stretches of [`MIN_STRETCH`] bytes; `skeleton` holds it (a buffer the
/// caller keeps, so that the message may borrow from it).
///
/// `parser` must ignore Content-Transfer-Encoding (see the module docs).
pub fn parse<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
) -> Option<Message<'x>> {
    parse_with(parser, raw, skeleton, MIN_STRETCH)
}

/// [`parse`] with a threshold of its own: the fuzz target `rows` cuts
/// small messages too, to compare both parses on every shape. `parser`
/// must ignore Content-Transfer-Encoding, as [`parse`]'s.
pub fn parse_with<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
    min_stretch: usize,
) -> Option<Message<'x>> {
    match through_skeleton(parser, raw, skeleton, min_stretch) {
        Some(message) => Some(message),
        None => parser.parse(raw),
    }
}

/// The parse of `raw` through a skeleton; `None` when there is nothing to
/// cut, or the skeleton's parse does not show that the cuts were safe.
fn through_skeleton<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
    min_stretch: usize,
) -> Option<Message<'x>> {
    // Offsets are u32 in mail-parser; a message past 4 GiB is not cut.
    u32::try_from(raw.len()).ok()?;
    let cuts = cuts(raw, min_stretch);
    if cuts.is_empty() {
        return None;
    }
    skeleton.clear();
    let mut kept = 0;
    // Where each cut sits in the skeleton, and how long it is.
    let mut at = Vec::with_capacity(cuts.len());
    for cut in &cuts {
        skeleton.extend_from_slice(&raw[kept..cut.start]);
        at.push(Cut {
            at: skeleton.len() as u32,
            len: (cut.end - cut.start) as u32,
        });
        kept = cut.end;
    }
    skeleton.extend_from_slice(&raw[kept..]);
    let skeleton: &'x [u8] = skeleton;
    let mut message = parser.parse(skeleton)?;
    let safe = at.iter().all(|c| inside_a_kept_body(&message, c.at))
        && !boundaries_have_line_ends(&message);
    if !safe {
        return None;
    }
    restore(&mut message, raw, &at);
    Some(message)
}

/// Lines left out of a skeleton: where, and how many bytes.
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// Offset in the skeleton where the bytes were.
    at: u32,
    /// How many.
    len: u32,
}

/// The runs of whole lines to leave out of `raw` (see the module docs).
fn cuts(raw: &[u8], min_stretch: usize) -> Vec<Range<usize>> {
    let mut cuts = Vec::new();
    let mut from = 0;
    for dash in memchr::memchr_iter(b'-', raw).chain([raw.len()]) {
        if dash - from >= min_stretch
            && let Some(inner) = inner_lines(&raw[from..dash])
            && inner.len() >= min_stretch / 2
        {
            cuts.push(from + inner.start..from + inner.end);
        }
        from = dash + 1;
    }
    cuts
}

/// Within a dash-free stretch: from the start of the second line after its
/// first blank line, to the end of the line before its last line that is
/// not blank. The body's last line with text is kept, so that the part
/// still ends after the cut (a body's last lines are often empty).
fn inner_lines(stretch: &[u8]) -> Option<Range<usize>> {
    let blank = [&b"\n\r\n"[..], b"\n\n"]
        .into_iter()
        .filter_map(|end| memchr::memmem::find(stretch, end).map(|at| at + end.len()))
        .min()?;
    let start = blank + memchr::memchr(b'\n', &stretch[blank..])? + 1;
    // Back from the stretch's last line end, over blank lines, to the line
    // end before the last line with text.
    let mut end = memchr::memrchr(b'\n', stretch)?;
    loop {
        let before = memchr::memrchr(b'\n', &stretch[..end])?;
        let line = &stretch[before + 1..end];
        end = before;
        if !line.trim_ascii().is_empty() {
            break;
        }
    }
    let end = end + 1;
    (start < end).then_some(start..end)
}

/// Every part of `message`, nested messages' parts included.
fn each_part<'m, 'x>(
    message: &'m Message<'x>,
    f: &mut impl FnMut(&'m MessagePart<'x>) -> bool,
) -> bool {
    message.parts.iter().any(|part| {
        f(part) || matches!(&part.body, PartType::Message(nested) if each_part(nested, f))
    })
}

/// Whether `at` lies strictly inside the body of a part kept as bytes,
/// whose closing boundary was found.
fn inside_a_kept_body(message: &Message<'_>, at: u32) -> bool {
    each_part(message, &mut |part| {
        matches!(part.body, PartType::Binary(_) | PartType::InlineBinary(_))
            && !part.is_encoding_problem
            && part.offset_body < at
            && at < part.offset_end
    })
}

/// Whether some part has a Content-Type whose boundary holds a line end
/// (then a boundary match could straddle a cut's edge). Every part and
/// every Content-Type field counts, whatever the part was read as: one the
/// skeleton read as text may be a multipart in the whole message.
fn boundaries_have_line_ends(message: &Message<'_>) -> bool {
    each_part(message, &mut |part| {
        part.headers.iter().any(|header| {
            header.name == HeaderName::ContentType
                && header
                    .value
                    .as_content_type()
                    .and_then(|ct| ct.attribute("boundary"))
                    .is_some_and(|b| b.contains(['\n', '\r']))
        })
    })
}

/// Maps the skeleton's parse onto `raw`: offsets after each cut move by
/// the cut's length, every message's bytes are `raw`, and the cut parts'
/// bodies are their bytes in `raw`.
fn restore<'x>(message: &mut Message<'x>, raw: &'x [u8], cuts: &[Cut]) {
    let moved = |offset: u32| -> u32 {
        offset
            + cuts
                .iter()
                .take_while(|c| c.at < offset)
                .map(|c| c.len)
                .sum::<u32>()
    };
    message.raw_message = Cow::Borrowed(raw);
    for part in &mut message.parts {
        let was_cut = cuts
            .iter()
            .any(|c| part.offset_body < c.at && c.at < part.offset_end);
        part.offset_header = moved(part.offset_header);
        part.offset_body = moved(part.offset_body);
        part.offset_end = moved(part.offset_end);
        for header in &mut part.headers {
            header.offset_field = moved(header.offset_field);
            header.offset_start = moved(header.offset_start);
            header.offset_end = moved(header.offset_end);
        }
        let body = raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default();
        match &mut part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if was_cut => {
                *bytes = Cow::Borrowed(body);
            }
            PartType::Message(nested) => restore(nested, raw, cuts),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A multipart/mixed message: a text, then base64 attachments of
    /// `lines` lines each.
    fn with_attachments(count: usize, lines: usize) -> Vec<u8> {
        let mut m = String::from(
            "From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\npreamble\r\n\
             --=_b\r\nContent-Type: text/plain\r\n\r\nsee the files\r\n",
        );
        for n in 0..count {
            m.push_str(&format!(
                "--=_b\r\nContent-Type: application/octet-stream; name=\"f{n}.bin\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\
                 Content-Disposition: attachment; filename=\"f{n}.bin\"\r\n\r\n"
            ));
            for l in 0..lines {
                m.push_str(&format!("{:0>76}\r\n", format!("QUJD{n}x{l}")));
            }
            // Some mailers end a body with an empty line.
            if n % 2 == 1 {
                m.push_str("\r\n");
            }
        }
        m.push_str("--=_b--\r\nepilogue\r\n");
        m.into_bytes()
    }

    fn parser() -> MessageParser {
        MessageParser::new()
            .with_mime_headers()
            .ignore_header(mail_parser::HeaderName::ContentTransferEncoding)
    }

    #[test]
    fn a_cut_parse_equals_the_whole_parse() {
        let raw = with_attachments(3, 40);
        let cuts = cuts(&raw, 1024);
        assert_eq!(cuts.len(), 3, "one cut per attachment");
        for cut in &cuts {
            assert!(!raw[cut.clone()].contains(&b'-'));
            assert_eq!(raw[cut.start - 1], b'\n');
            assert_eq!(raw[cut.end - 1], b'\n');
        }
        let parser = parser();
        let mut skeleton = Vec::new();
        let left_out: usize = cuts.iter().map(|c| c.len()).sum();
        assert!(left_out > raw.len() / 2, "most of the message is left out");
        let cut = through_skeleton(&parser, &raw, &mut skeleton, 1024).expect("cut");
        assert_eq!(Some(cut), parser.parse(&raw));
    }

    #[test]
    fn a_cut_in_a_text_body_falls_back_to_the_whole_parse() {
        // A long text with a paragraph break: the stretch's blank line is
        // in the body, so the cut lands in a Text part, not kept as bytes.
        let mut raw = b"Subject: long\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        for l in 0..200 {
            raw.extend_from_slice(format!("line {l} of a long letter\r\n").as_bytes());
            if l == 3 {
                raw.extend_from_slice(b"\r\n");
            }
        }
        assert!(!cuts(&raw, 1024).is_empty());
        let parser = parser();
        let mut skeleton = Vec::new();
        assert!(through_skeleton(&parser, &raw, &mut skeleton, 1024).is_none());
        let mut skeleton = Vec::new();
        assert_eq!(
            parse_with(&parser, &raw, &mut skeleton, 1024),
            parser.parse(&raw)
        );
    }

    #[test]
    fn a_forwarded_message_with_attachments_is_cut_and_restored() {
        // A message/rfc822 part holding attachments, then one more
        // attachment: offsets inside and after the nested message move.
        let inner = String::from_utf8(with_attachments(1, 40)).expect("ASCII");
        let outer = String::from_utf8(with_attachments(1, 40)).expect("ASCII");
        let (head, tail) = outer.split_at(
            outer
                .find("--=_b\r\nContent-Type: application")
                .expect("a part"),
        );
        let raw = format!(
            "{head}--=_b\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n{tail}",
            inner.replace("=_b", "=_inner")
        );
        let raw = raw.as_bytes();
        assert_eq!(cuts(raw, 1024).len(), 2);
        let parser = parser();
        let mut skeleton = Vec::new();
        let cut = through_skeleton(&parser, raw, &mut skeleton, 1024).expect("cut");
        assert!(
            cut.parts
                .iter()
                .any(|p| matches!(p.body, PartType::Message(_)))
        );
        assert_eq!(Some(cut), parser.parse(raw));
    }

    #[test]
    fn a_boundary_with_a_line_end_anywhere_falls_back_to_the_whole_parse() {
        // An inner multipart whose RFC 2231 boundary holds line ends: in the
        // whole message its first boundary is found across the cut, in the
        // skeleton it is not (and the part reads as text there).
        let mut raw = String::from(
            "Content-Type: multipart/mixed; boundary=\"P\"\n\n--P\n\
             Content-Type: multipart/mixed; boundary*=us-ascii''%0A%0AL2%0AA\n\nx\n\
             --P\nContent-Type: application/octet-stream\n\nxx--\n\nL2\n",
        );
        for _ in 0..40 {
            raw.push_str(&"A".repeat(76));
            raw.push('\n');
        }
        raw.push_str("LAST\n--P--\n");
        let raw = raw.as_bytes();
        assert!(!cuts(raw, 1024).is_empty());
        let parser = parser();
        let mut skeleton = Vec::new();
        assert!(through_skeleton(&parser, raw, &mut skeleton, 1024).is_none());
        let mut skeleton = Vec::new();
        assert_eq!(
            parse_with(&parser, raw, &mut skeleton, 1024),
            parser.parse(raw)
        );
    }

    #[test]
    fn small_messages_are_not_cut() {
        let raw = with_attachments(2, 10);
        assert!(cuts(&raw, MIN_STRETCH).is_empty());
    }
}
