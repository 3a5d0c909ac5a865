//! Parsing a message without mail-parser reading every byte of it: not the
//! lines inside attachments and body texts, not the header fields no row
//! reads.
//!
//! mail-parser finds where a MIME part ends by reading its body a byte at a
//! time for `--boundary` (`MessageStream::mime_part`). For an attachment of
//! 10 MB that loop was a quarter of getAll, only to learn where the part
//! ends; and it makes each text part's text with `String::from_utf8_lossy`,
//! also a byte at a time. In getAll's typical mail of a few KB, the body
//! texts are most of the bytes, and the two loops over them took 8% of its
//! CPU. Here the message is parsed as a *skeleton* instead:
//! each stretch of whole lines inside such a body is left out, the much
//! shorter skeleton is parsed, and the result is mapped back onto the
//! message (every offset after a cut moved by the bytes left out, the cut
//! parts' bodies taken from the message, a text part's text made from them
//! as mail-parser makes it, see [`text_of`]). In a message up to 64 KiB a
//! dash-free stretch of 512 bytes is cut (when its inner lines are half
//! that), in a larger one only a stretch of 64 KiB: a small message's
//! skeleton is built for its header fields anyway, and a large one is
//! copied only for its attachments. The result equals mail-parser's parse
//! of the whole message (less the header fields below; the fuzz target
//! `rows` checks exactly that), and where that cannot be shown for a
//! skeleton the whole message is parsed instead.
//!
//! Why leaving lines out cannot change the parse, given what [`parse_with`]
//! checks on the skeleton's parse:
//!
//! - A cut is a run of whole lines (a line end before it, its last byte a
//!   line end) with no `-` in it, found with `memchr` ([`cuts`]). It starts
//!   after the first blank line of its dash-free stretch and one more line,
//!   and keeps the stretch's last line: for an attachment, the header and
//!   the body's first and last lines stay.
//! - In the skeleton's parse, the first part is the message's own (it
//!   starts at 0: recovering from a broken structure, mail-parser can give
//!   a nested message as the whole, and then the parts around it are not
//!   there to check), and every cut lies strictly inside the body of a leaf
//!   part that mail-parser kept as bytes or text (`Binary`, `InlineBinary`,
//!   `Text`, `Html`), without an encoding problem (its closing boundary was
//!   found), and inside no part with one. Up to the cut the two inputs are
//!   the same bytes, but for the header fields left out, which change
//!   nothing else in the parse (below), so the parser got there the same
//!   way. Inside such a body it only looks for `--` followed by the
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
//!   that ignores Content-Transfer-Encoding does (`parsers::parser`): a
//!   decoding parser reads base64 with a different loop. A body is then
//!   the bytes from the part's `offset_body` to its `offset_end`, and a
//!   text part's text is made from them alone, by its charset.
//!
//! The message's own header fields that no row reads (Received,
//! DKIM-Signature and the like: most of a typical header block) are left
//! out of the skeleton of a message up to 64 KiB ([`header_fields`]), and
//! out of getHeaderOnly's header block ([`parse_header`]), whose row has no
//! parts and so reads no MIME field either. mail-parser reads each of them
//! a byte at a time only to skip it: about two of getAll's hundred
//! milliseconds, and a thirtieth of getHeaderOnly's CPU; leaving out the
//! MIME fields as well took another 5% off getHeaderOnly's instructions
//! (callgrind). Such a parse equals the whole parse less those fields (the
//! fuzz target `rows` checks that, for both parsers), and why:
//!
//! - Fields are left out only from a header block that is strictly well
//!   formed: every line ends with CRLF, with no other CR in it, and is
//!   either a field (a name of visible ASCII, then `:`) or the fold of one
//!   (it starts with a space or tab); an empty line ends the block. A field
//!   is then its line and the folds after it, and mail-parser walks the
//!   block the same way: it reads a name up to `:`, and a field it does not
//!   decode up to a line end not followed by a blank. (So the parser must
//!   leave every field a row does not read undecoded, as `parsers::parser`
//!   does: a decoded one could read on past its end as below, unchecked.)
//! - Each field that is kept must have been read from its own bytes alone.
//!   mail-parser's value parsers end a field at a line end not followed by
//!   a blank, the same rule, but one can read on past it (the date parser
//!   takes the two bytes after a zone letter as an obsolete zone, even a
//!   CRLF). So the skeleton's parse is checked: its fields must be exactly
//!   the kept ones, each ending where its last line does
//!   ([`read_fields_parsed_alone`]). A parser that stops there decided so
//!   on the byte after the field, which is the start of a field (or the
//!   empty line) in both inputs: not a blank. That no value parser looks
//!   further ahead and comes back is true of mail-parser 0.11 as read (the
//!   lock file pins it), and the fuzz target would show it otherwise.
//! - A row reads From, To, Cc, Reply-To, Subject, Date and Message-ID
//!   ([`is_column`]); getAll's reads the MIME fields (`Content-*`,
//!   MIME-Version) as well ([`is_read`]). Those are kept. The header column
//!   is the raw header block, taken from the message.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use memchr::memmem::Finder;

/// The shortest dash-free stretch worth cutting from a message larger than
/// [`FIELDS_MAX`]: below it, building a skeleton costs more than the byte
/// loop it spares.
pub const MIN_STRETCH: usize = 64 * 1024;

/// The shortest dash-free stretch cut from a message up to [`FIELDS_MAX`],
/// whose skeleton is built anyway for its header fields: a text body of a
/// few lines is worth leaving out.
const SMALL_STRETCH: usize = 512;

/// The longest message whose unread header fields are left out. Leaving
/// them out copies the message; for a large one that costs more than
/// skipping its header, and a large message keeps its header whole, so
/// that a header the check refuses never costs it its line cuts.
const FIELDS_MAX: usize = 64 * 1024;

/// `parser.parse(raw)`, through a skeleton when `raw` has dash-free
/// stretches of [`MIN_STRETCH`] bytes ([`SMALL_STRETCH`] in a message up to
/// [`FIELDS_MAX`]) or header fields no row reads;
/// `skeleton` holds it (a buffer the caller keeps, so that the message may
/// borrow from it). The header fields left out are missing from the result,
/// unless the whole message was parsed after all: a caller relies on
/// neither.
///
/// `parser` must ignore Content-Transfer-Encoding and leave undecoded every
/// header field a row does not read (see the module docs), as
/// `parsers::parser` does.
pub fn parse<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
) -> Option<Message<'x>> {
    let min_stretch = if raw.len() <= FIELDS_MAX {
        SMALL_STRETCH
    } else {
        MIN_STRETCH
    };
    parse_with(parser, raw, skeleton, min_stretch)
}

/// `parser.parse(raw)` with only the header fields a header row does not
/// read left out (see [`parse`]): getHeaderOnly's, whose bytes are a
/// header block. Its row has no parts, so the MIME fields go too
/// ([`is_column`]). `parser` must leave all those fields undecoded, as
/// `parsers::header_parser` does.
pub fn parse_header<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
) -> Option<Message<'x>> {
    parse_keeping(parser, raw, skeleton, usize::MAX, is_column)
}

/// [`parse`] with a threshold of its own for body lines: the fuzz target
/// `rows` cuts small messages too, to compare both parses on every shape.
/// `parser` is bound as [`parse`]'s.
pub fn parse_with<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
    min_stretch: usize,
) -> Option<Message<'x>> {
    parse_keeping(parser, raw, skeleton, min_stretch, is_read)
}

/// The parse through a skeleton that keeps the header fields `kept`
/// names, else the whole message's.
fn parse_keeping<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
    min_stretch: usize,
    kept: impl Fn(&[u8]) -> bool,
) -> Option<Message<'x>> {
    match through_skeleton(parser, raw, skeleton, min_stretch, kept) {
        Some(message) => Some(message),
        None => parser.parse(raw),
    }
}

/// The parse of `raw` through a skeleton that keeps the header fields
/// `kept` names; `None` when there is nothing to cut, or the skeleton's
/// parse does not show that the cuts were safe.
fn through_skeleton<'x>(
    parser: &MessageParser,
    raw: &'x [u8],
    skeleton: &'x mut Vec<u8>,
    min_stretch: usize,
    kept: impl Fn(&[u8]) -> bool,
) -> Option<Message<'x>> {
    // Offsets are u32 in mail-parser; a message past 4 GiB is not cut.
    u32::try_from(raw.len()).ok()?;
    let lines = if raw.len() < min_stretch {
        Vec::new()
    } else {
        cuts(raw, min_stretch)
    };
    // Header fields go from a small message only (see `FIELDS_MAX`).
    let header = (raw.len() <= FIELDS_MAX)
        .then(|| header_fields(raw, kept))
        .flatten()
        .filter(|h| !h.unread.is_empty());
    let fields = header.as_ref().map_or(&[][..], |h| &h.unread[..]);
    if fields.is_empty() && lines.is_empty() {
        return None;
    }
    skeleton.clear();
    let left_out: usize = fields.iter().chain(&lines).map(Range::len).sum();
    skeleton.reserve_exact(raw.len() - left_out);
    let mut kept = 0;
    // Where each cut sits in the skeleton, and how long it is.
    let mut at = Vec::with_capacity(fields.len() + lines.len());
    for cut in fields.iter().chain(&lines) {
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
    let safe = header
        .as_ref()
        .is_none_or(|h| read_fields_parsed_alone(&message, h))
        && lines_left_out_safely(&message, at[fields.len()..].iter().map(|c| c.at as usize));
    if !safe {
        return None;
    }
    restore(&mut message, raw, &at);
    Some(message)
}

/// Whether `message`, the parse of a skeleton, is the parse of the whole
/// message too, given that runs of lines were left out of it at `cuts`
/// (offsets in the skeleton). The argument of the module docs asks of each
/// run only this much, which [`cuts`] gives and so do the runs left out as
/// a message arrives (`message::spill`): whole lines (a line end before
/// it, its last byte a line end), no `-` in it, after a blank line and one
/// more line, and a kept byte after it that is not `-`. The rest is checked
/// here on the parse.
pub fn lines_left_out_safely(message: &Message<'_>, cuts: impl IntoIterator<Item = usize>) -> bool {
    // The first part is the message's own, not a nested message mail-parser
    // recovered as the whole.
    message.parts.first().is_some_and(|r| r.offset_header == 0)
        && cuts.into_iter().all(|at| {
            u32::try_from(at).is_ok_and(|at| {
                inside_a_kept_body(message, at) && !inside_a_broken_part(message, at)
            })
        })
        && !boundaries_have_line_ends(message)
}

/// Bytes left out of a skeleton (header fields, or lines of an attachment
/// or a text): where, and how many.
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// Offset in the skeleton where the bytes were.
    at: u32,
    /// How many.
    len: u32,
}

/// The fields of a message's own header block, by whether the parse
/// keeps them (the `kept` of [`header_fields`]: what getAll's row reads,
/// or getHeaderOnly's).
#[derive(Debug)]
struct HeaderFields {
    /// The fields left out, as runs of bytes (adjacent ones merged), in
    /// order.
    unread: Vec<Range<usize>>,
    /// The fields kept, each with its folds and its last CRLF.
    read: Vec<Range<usize>>,
}

impl HeaderFields {
    fn push(&mut self, (range, read): (Range<usize>, bool)) {
        if read {
            self.read.push(range);
        } else {
            match self.unread.last_mut() {
                Some(last) if last.end == range.start => last.end = range.end,
                _ => self.unread.push(range),
            }
        }
    }
}

/// The fields of `raw`'s header block, read when `kept` names them; none
/// when the block is not strictly well formed (see the module docs).
fn header_fields(raw: &[u8], kept: impl Fn(&[u8]) -> bool) -> Option<HeaderFields> {
    let mut fields = HeaderFields {
        unread: Vec::new(),
        read: Vec::new(),
    };
    // The field being read: where, and whether it is kept.
    let mut field: Option<(Range<usize>, bool)> = None;
    let mut at = 0;
    // The block is its lines, each with its CRLF, up to the empty line,
    // which the walk finds itself: searching for it first read the whole
    // block twice. (A message that starts with one has no header: then
    // `field` is still `None`.)
    for (lines, end) in memchr::memchr_iter(b'\n', raw).map(|lf| lf + 1).enumerate() {
        let line = raw[at..end].strip_suffix(b"\r\n")?;
        if line.is_empty() {
            fields.push(field?);
            // Every LF ends a CRLF; as many CRs means no CR stands alone.
            let block = &raw[..at];
            return (memchr::memchr_iter(b'\r', block).count() == lines).then_some(fields);
        }
        if let Some(b' ' | b'\t') = line.first() {
            // A fold: part of the field before it.
            field.as_mut()?.0.end = end;
        } else {
            let name = &line[..memchr::memchr(b':', line)?];
            if name.is_empty() || !name.iter().all(u8::is_ascii_graphic) {
                return None;
            }
            if let Some(done) = field.replace((at..end, kept(name))) {
                fields.push(done);
            }
        }
        at = end;
    }
    // No empty line: no header block to trust.
    None
}

/// Whether the skeleton's parse read each field a row reads from its own
/// bytes: its header list is those fields, each ending where its last line
/// does. A value parser that reads on past its field (mail-parser's date
/// parser can, after an obsolete zone at a line's end) would have read a
/// field of the whole message that the skeleton left out.
fn read_fields_parsed_alone(message: &Message<'_>, fields: &HeaderFields) -> bool {
    let Some(root) = message.parts.first() else {
        return false;
    };
    // Each read field's place in the skeleton: moved back by the unread
    // runs before it.
    let mut unread = fields.unread.iter().peekable();
    let mut left_out = 0;
    root.headers.len() == fields.read.len()
        && root
            .headers
            .iter()
            .zip(&fields.read)
            .all(|(header, field)| {
                while let Some(run) = unread.next_if(|run| run.start < field.start) {
                    left_out += run.len();
                }
                header.offset_field as usize == field.start - left_out
                    && header.offset_end as usize == field.end - left_out
            })
}

/// Whether getAll's row reads the header field `name`: the columns' fields
/// ([`is_column`]) and the MIME ones, which shape the parse. Public for the
/// fuzz target `rows`, which compares a skeleton's parse with the whole
/// parse less the others.
pub fn is_read(name: &[u8]) -> bool {
    is_column(name)
        || name.eq_ignore_ascii_case(b"MIME-Version")
        || name
            .get(..b"Content-".len())
            .is_some_and(|p| p.eq_ignore_ascii_case(b"Content-"))
}

/// Whether the header field `name` gives a column: From, To, Cc,
/// Reply-To, Subject, Date, Message-ID. What getHeaderOnly's row reads.
/// Public for the fuzz target `rows`.
pub fn is_column(name: &[u8]) -> bool {
    let columns: &[&[u8]] = match name.len() {
        2 => &[b"To", b"Cc"],
        4 => &[b"From", b"Date"],
        7 => &[b"Subject"],
        8 => &[b"Reply-To"],
        10 => &[b"Message-ID"],
        _ => &[],
    };
    columns.iter().any(|c| name.eq_ignore_ascii_case(c))
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
    // The first blank line ends in CRLF or LF. The LF one is looked for
    // only before the first CRLF one: in CRLF mail there is none, and
    // looking on would read the whole stretch (an attachment's megabytes).
    // The searchers are built once: a stretch of a small message is a few
    // hundred bytes, and building one cost about as much as searching it.
    static CRLF_BLANK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\r\n"));
    static LF_BLANK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\n"));
    let crlf = CRLF_BLANK.find(stretch);
    let before_crlf = crlf.map_or(stretch, |at| &stretch[..=at]);
    let blank = match LF_BLANK.find(before_crlf) {
        Some(at) => at + 2,
        None => crlf? + 3,
    };
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

/// Whether `at` lies strictly inside the body of a leaf part (kept as
/// bytes or text), whose closing boundary was found.
fn inside_a_kept_body(message: &Message<'_>, at: u32) -> bool {
    each_part(message, &mut |part| {
        matches!(
            part.body,
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Text(_) | PartType::Html(_)
        ) && !part.is_encoding_problem
            && part.offset_body < at
            && at < part.offset_end
    })
}

/// The text mail-parser makes of a text part's body (its bytes as they
/// lie, or transfer-decoded): in the charset of the part's Content-Type
/// where mail-parser has a decoder for it, else as UTF-8, each invalid
/// sequence a U+FFFD. `simdutf8` checks the UTF-8 16 bytes at a time;
/// `String::from_utf8_lossy`, which mail-parser calls, goes a byte at a
/// time, and did so over every text body of getAll. Public for
/// `actions::rows::strict_quoted_printable_text`, which decodes texts on
/// its own.
pub fn text_of<'b>(part: &MessagePart<'_>, body: &'b [u8]) -> Cow<'b, str> {
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|charset| charset_decoder(charset.as_bytes()));
    match charset {
        Some(decode) => Cow::Owned(decode(body)),
        None => match simdutf8::basic::from_utf8(body) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(body),
        },
    }
}

/// Whether `at` lies inside a part with an encoding problem: mail-parser
/// makes such a part's text otherwise (without its charset, less the
/// boundary), and [`restore`] would not.
fn inside_a_broken_part(message: &Message<'_>, at: u32) -> bool {
    each_part(message, &mut |part| {
        part.is_encoding_problem && part.offset_body < at && at < part.offset_end
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
/// bodies are their bytes in `raw` ([`text_of`] for a text part).
fn restore<'x>(message: &mut Message<'x>, raw: &'x [u8], cuts: &[Cut]) {
    // An offset where a cut was is the end of the field before a left-out
    // field, or the start of the message (a part offset: the first field
    // left out), and stays; or the start of a field after one, and moves.
    let moved_by = |offset: u32, start: bool| -> u32 {
        offset
            + cuts
                .iter()
                .take_while(|c| c.at < offset || start && c.at == offset)
                .map(|c| c.len)
                .sum::<u32>()
    };
    let moved = |offset: u32| moved_by(offset, false);
    message.raw_message = Cow::Borrowed(raw);
    for part in &mut message.parts {
        let was_cut = cuts
            .iter()
            .any(|c| part.offset_body < c.at && c.at < part.offset_end);
        part.offset_header = moved(part.offset_header);
        part.offset_body = moved(part.offset_body);
        part.offset_end = moved(part.offset_end);
        for header in &mut part.headers {
            header.offset_field = moved_by(header.offset_field, true);
            header.offset_start = moved_by(header.offset_start, true);
            header.offset_end = moved(header.offset_end);
        }
        let body = raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default();
        // A cut text, made again from the message.
        let restored = (was_cut && matches!(part.body, PartType::Text(_) | PartType::Html(_)))
            .then(|| text_of(part, body));
        match &mut part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if was_cut => {
                *bytes = Cow::Borrowed(body);
            }
            PartType::Text(text) | PartType::Html(text) => {
                if let Some(restored) = restored {
                    *text = restored;
                }
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
        let cut = through_skeleton(&parser, &raw, &mut skeleton, 1024, is_read).expect("cut");
        assert_eq!(Some(cut), parser.parse(&raw));
    }

    #[test]
    fn a_cut_in_a_text_body_is_restored_with_its_text() {
        // Long texts with a paragraph break, whose stretches' blank lines
        // are in the bodies: the cuts land in text parts, whose texts are
        // made again from the message, in their charsets. Valid UTF-8, bytes
        // that are not (each a U+FFFD), Latin-1, and an HTML alternative.
        let body = |charset: &str, word: &[u8]| {
            let mut body = format!("Content-Type: {charset}\r\n\r\n").into_bytes();
            for l in 0..100 {
                body.extend_from_slice(format!("line {l} of a long ").as_bytes());
                body.extend_from_slice(word);
                body.extend_from_slice(b"\r\n");
                if l == 3 {
                    body.extend_from_slice(b"\r\n");
                }
            }
            body
        };
        let mut alternative =
            b"Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n".to_vec();
        alternative.extend(body("text/plain; charset=utf-8", "Grüße".as_bytes()));
        alternative.extend_from_slice(b"--a\r\n");
        alternative.extend(body("text/html", b"<b>caf\xc3\xa9</b>"));
        alternative.extend_from_slice(b"--a--\r\n");
        let parser = parser();
        for raw in [
            [
                &b"Subject: long\r\n"[..],
                &body("text/plain", "Grüße".as_bytes()),
            ]
            .concat(),
            body("text/plain; charset=utf-8", b"caf\xe9, not UTF8"),
            body("text/plain; charset=ISO-8859-1", b"caf\xe9 in Latin1"),
            alternative,
        ] {
            let cuts = cuts(&raw, 1024);
            assert!(!cuts.is_empty());
            let left_out: usize = cuts.iter().map(Range::len).sum();
            assert!(left_out > raw.len() / 2, "the texts are left out");
            let mut skeleton = Vec::new();
            let cut = through_skeleton(&parser, &raw, &mut skeleton, 1024, is_read).expect("cut");
            let whole = parser.parse(&raw).expect("parses");
            let texts = |m: &Message<'_>| -> Vec<String> {
                m.parts
                    .iter()
                    .filter_map(|p| match &p.body {
                        PartType::Text(t) | PartType::Html(t) => Some(t.to_string()),
                        _ => None,
                    })
                    .collect()
            };
            assert!(texts(&whole).iter().all(|t| t.lines().count() > 50));
            assert_eq!(texts(&cut), texts(&whole));
            assert_eq!(cut, whole);
        }
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
        let cut = through_skeleton(&parser, raw, &mut skeleton, 1024, is_read).expect("cut");
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
        assert!(through_skeleton(&parser, raw, &mut skeleton, 1024, is_read).is_none());
        let mut skeleton = Vec::new();
        assert_eq!(
            parse_with(&parser, raw, &mut skeleton, 1024),
            parser.parse(raw)
        );
    }

    /// The runs of header fields of `raw` that rows do not read.
    fn unread(raw: &[u8]) -> Vec<Range<usize>> {
        header_fields(raw, is_read).map_or_else(Vec::new, |h| h.unread)
    }

    /// `message` less the fields of its own header that rows do not read.
    fn read_fields_only(mut message: Message<'_>) -> Message<'_> {
        if let Some(root) = message.parts.first_mut() {
            root.headers.retain(|h| is_read(h.name.as_str().as_bytes()));
        }
        message
    }

    /// `message` less the fields of its own header that give no column.
    fn columns_only(mut message: Message<'_>) -> Message<'_> {
        if let Some(root) = message.parts.first_mut() {
            root.headers
                .retain(|h| is_column(h.name.as_str().as_bytes()));
        }
        message
    }

    /// A signed, relayed message: the fields rows do not read around and
    /// between those they do, folded and not.
    const RELAYED: &str = "Received: from mx1.example.net (mx1.example.net [192.0.2.1])\r\n\
        \tby mail.example.com with ESMTPS id 4Q1\r\n\
        \tfor <bob@example.com>; Thu, 6 Mar 2025 12:00:00 +0000\r\n\
        Received: from mx0.example.net\r\n\tby mx1.example.net; Thu, 6 Mar 2025 11:59:59 +0000\r\n\
        DKIM-Signature: v=1; a=rsa-sha256; d=example.org;\r\n\tb=QUJDREVG\r\n\t QUJD\r\n\
        From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n\
        X-Mailer: Mutt\r\n\
        To: bob@example.com, \"Doe, Jane\" <jane@example.com>\r\n\
        Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\
        Message-ID: <1@example.org>\r\n\
        Date: Thu, 6 Mar 2025 12:00:00 +0000\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\
        List-Id: <list.example.org>\r\n\
        \r\n\
        --=_b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n\
        --=_b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--=_b--\r\n";

    #[test]
    fn header_fields_no_row_reads_are_left_out_and_the_rest_parses_alike() {
        let raw = RELAYED.as_bytes();
        let left_out: Vec<&str> = unread(raw)
            .into_iter()
            .map(|r| std::str::from_utf8(&raw[r]).expect("ASCII"))
            .collect();
        assert_eq!(left_out.len(), 3, "{left_out:?}");
        // The two Received fields and the signature: one run.
        assert!(left_out[0].starts_with("Received: from mx1"));
        assert!(left_out[0].contains("+0000\r\nReceived: from mx0"));
        assert!(left_out[0].ends_with("\tb=QUJDREVG\r\n\t QUJD\r\n"));
        assert_eq!(left_out[1], "X-Mailer: Mutt\r\n");
        assert_eq!(left_out[2], "List-Id: <list.example.org>\r\n");

        // The parser rows read with.
        let parser = crate::message::parsers::parser();
        let mut skeleton = Vec::new();
        let cut = through_skeleton(parser, raw, &mut skeleton, MIN_STRETCH, is_read).expect("cut");
        let whole = parser.parse(raw).expect("parses");
        assert_eq!(whole.parts[0].headers.len(), cut.parts[0].headers.len() + 5);
        assert_eq!(cut.header_raw("Message-ID"), Some(" <1@example.org>\r\n"));
        assert_eq!(cut.header_raw("From"), whole.header_raw("From"));
        assert_eq!(cut.subject(), Some("Grüße"));
        assert_eq!(cut.body_text(0).as_deref(), Some("Hallo"));
        assert_eq!(cut, read_fields_only(whole));

        // getHeaderOnly's parser, on the header block alone: its row reads
        // no MIME fields, so MIME-Version and Content-Type go too.
        let parser = crate::message::parsers::header_parser();
        let block = &raw[..memchr::memmem::find(raw, b"\r\n\r\n").expect("a header") + 4];
        let mut skeleton = Vec::new();
        let cut = parse_header(parser, block, &mut skeleton).expect("parses");
        let whole = parser.parse(block).expect("parses");
        assert_eq!(whole.parts[0].headers.len(), cut.parts[0].headers.len() + 7);
        assert!(
            cut.parts[0]
                .headers
                .iter()
                .all(|h| is_column(h.name.as_str().as_bytes())),
            "{:?}",
            cut.parts[0].headers
        );
        assert_eq!(cut.subject(), Some("Grüße"));
        assert_eq!(cut.header_raw("Message-ID"), Some(" <1@example.org>\r\n"));
        assert_eq!(cut, columns_only(whole));
    }

    #[test]
    fn a_left_out_first_or_last_field_keeps_every_offset() {
        // The first field left out: the message still starts at 0; the last
        // one: the body starts where it did.
        let raw = b"Return-Path: <a@example.org>\r\nSubject: hi\r\nX-Spam: no\r\n\r\nbody\r\n";
        assert_eq!(unread(raw), [0..30, 43..55]);
        // The parser rows read with.
        let parser = crate::message::parsers::parser();
        let mut skeleton = Vec::new();
        let cut = through_skeleton(parser, raw, &mut skeleton, MIN_STRETCH, is_read).expect("cut");
        assert_eq!(cut.parts[0].offset_header, 0);
        assert_eq!(cut.header_raw("Subject"), Some(" hi\r\n"));
        assert_eq!(cut, read_fields_only(parser.parse(raw).expect("parses")));
    }

    #[test]
    fn a_header_block_not_strictly_well_formed_is_not_cut() {
        // The parser rows read with.
        let parser = crate::message::parsers::parser();
        for raw in [
            // Bare LF line ends, all or one.
            &b"Received: x\nSubject: hi\n\nbody\n"[..],
            b"Received: x\nSubject: hi\r\n\r\nbody\r\n",
            // No header at all, and fields in the body.
            b"\r\nReceived: x\r\nSubject: hi\r\n\r\nbody\r\n",
            // A CR alone inside a field.
            b"Received: x\ry\r\nSubject: hi\r\n\r\nbody\r\n",
            // A blank before the colon, no colon, a fold first.
            b"Received : x\r\nSubject: hi\r\n\r\nbody\r\n",
            b"Received x\r\nSubject: hi\r\n\r\nbody\r\n",
            b" Received: x\r\nSubject: hi\r\n\r\nbody\r\n",
            // No empty line: a header only.
            b"Received: x\r\nSubject: hi\r\n",
            // An empty name, a name not ASCII, an LF alone inside.
            b":x\r\nReceived: x\r\nSubject: hi\r\n\r\nbody\r\n",
            b"X-Gr\xc3\xbc\xc3\x9fe: x\r\nSubject: hi\r\n\r\nbody\r\n",
            b"Received: x\n\nSubject: hi\r\n\r\nbody\r\n",
        ] {
            let shown = String::from_utf8_lossy(raw);
            assert!(header_fields(raw, is_read).is_none(), "{shown:?}");
            // Nothing else to cut either: the whole message is parsed.
            let mut skeleton = Vec::new();
            assert!(
                through_skeleton(parser, raw, &mut skeleton, MIN_STRETCH, is_read).is_none(),
                "{shown:?}"
            );
        }
    }

    #[test]
    fn a_field_read_past_its_end_falls_back_to_the_whole_parse() {
        // mail-parser's date parser takes two bytes after a zone letter as
        // an obsolete zone, here the CRLF, and reads on into the next line:
        // in the skeleton that is the Subject, in the message the X-Spam
        // field. Control bytes inside fields are no reason not to cut.
        let parser = crate::message::parsers::parser();
        let raw = b"Date: Thu, 6 Mar 2025 12:00:00 E\r\nX-Spam: no\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(unread(raw), vec![34..46]);
        let mut skeleton = Vec::new();
        assert!(through_skeleton(parser, raw, &mut skeleton, MIN_STRETCH, is_read).is_none());
        let mut skeleton = Vec::new();
        assert_eq!(
            parse_with(parser, raw, &mut skeleton, MIN_STRETCH),
            parser.parse(raw)
        );
        // Read on through the empty line: as many fields, one ending late.
        let raw = b"Date: Thu, 6 Mar 2025 12:00:00 E\r\nX-Spam: no\r\n\r\nbody\r\n";
        let mut skeleton = Vec::new();
        assert!(through_skeleton(parser, raw, &mut skeleton, MIN_STRETCH, is_read).is_none());
        for raw in [
            &b"X-Spam: n\0o\r\nSubject: h\x7fi\x01\r\n\r\nbody\r\n"[..],
            b"X-Spam: no\r\nSubject: hi\r\n\r\nbody\r\n",
        ] {
            let mut skeleton = Vec::new();
            let cut =
                through_skeleton(parser, raw, &mut skeleton, MIN_STRETCH, is_read).expect("cut");
            assert_eq!(cut, read_fields_only(parser.parse(raw).expect("parses")));
        }
    }

    #[test]
    fn a_large_message_keeps_its_header_whole() {
        let mut raw = b"Received: from mx\r\n\tby mail\r\nX-Mailer: Mutt\r\n".to_vec();
        raw.extend_from_slice(&with_attachments(2, 500));
        assert!(raw.len() > FIELDS_MAX);
        assert_eq!(unread(&raw), vec![0..45]);
        assert_eq!(cuts(&raw, 1024).len(), 2);
        // The parser rows read with.
        let parser = crate::message::parsers::parser();
        let mut skeleton = Vec::new();
        let cut = through_skeleton(parser, &raw, &mut skeleton, 1024, is_read).expect("cut");
        assert!(cut.header_raw("Received").is_some());
        assert_eq!(Some(cut), parser.parse(&raw));
    }

    #[test]
    fn a_small_message_loses_its_unread_fields_and_its_text_lines_together() {
        let mut raw = b"Received: from mx\r\n\tby mail\r\nSubject: both\r\nX-Mailer: Mutt\r\n\
                        Content-Type: text/plain; charset=utf-8\r\n\r\nfirst line\r\n"
            .to_vec();
        for l in 0..40 {
            raw.extend_from_slice(format!("line {l} of a text worth leaving out\r\n").as_bytes());
        }
        raw.extend_from_slice(b"last line\r\n");
        assert!(raw.len() <= FIELDS_MAX);
        // The parser rows read with, and the thresholds `parse` picks.
        let parser = crate::message::parsers::parser();
        let mut skeleton = Vec::new();
        let cut = parse(parser, &raw, &mut skeleton).expect("parses");
        assert_eq!(cut.body_text(0).expect("a text").lines().count(), 42);
        assert_eq!(cut, read_fields_only(parser.parse(&raw).expect("parses")));
        assert!(skeleton.len() < raw.len() / 3, "both were left out");
    }

    #[test]
    fn a_short_text_is_left_to_the_parser() {
        let short = format!("Subject: short\r\n\r\n{}", "a line of text\r\n".repeat(20));
        assert!(cuts(short.as_bytes(), SMALL_STRETCH).is_empty());
        assert!(!cuts(short.as_bytes(), SMALL_STRETCH / 4).is_empty());
    }
}
