//! Fuzz target `rows`: a message as the tag's row
//! (`cfimap::actions::rows`), with what it is made of, from
//! `cfimap::message`: RFC 2047 encoded-words (`encoded_words`), RFC 2231
//! parameters (`parameters`), transfer encodings (`transfer_encoding`),
//! attachments and their file names (`attachments`).
//!
//! The input is the message, as the server's `BODY[]` literal holds it.
//!
//! Checked, beyond "no panic" and "terminates" (libFuzzer's `-timeout`):
//!
//! - `rows::build` gives a row for any bytes, for getHeaderOnly and getAll,
//!   with the fetched numbers and flags, the size of the bytes, and no
//!   body or attachment for getHeaderOnly; both give the same header
//!   columns (they parse with different parsers);
//! - every attachment's name sanitises to a file name that stays in its
//!   directory (no separator, no control or bidirectional character, no
//!   dot or blank at either end, at most 200 bytes, never `.` or `..`);
//! - the attachments found with bodies left encoded (as `rows::build`
//!   reads a message) decode to the bytes mail-parser decodes itself when
//!   it reads the same message with bodies decoded, part for part, where
//!   the body is valid in its encoding;
//! - each transfer decoding written into a writer gives what the in-memory
//!   decoding gives, a body that does not decode is kept as it came, a
//!   valid base64 body decodes as mail-parser's base64 decoder has it, and
//!   a strict quoted-printable body as mail-parser's own loop has it;
//! - a quoted-printable body text decoded without parsing its part again
//!   is the text the part parsed on its own gives;
//! - a message parsed through a skeleton, with runs of lines inside
//!   attachments and texts and the header fields no row reads left out
//!   (`cfimap::message::elision`), parses exactly as the whole message
//!   does, less those fields; and so does a header block without those fields, with
//!   getHeaderOnly's parser;
//! - the input as a header value, a header block and a subject goes
//!   through the RFC 2231 and RFC 2047 decoders.

#![no_main]

use std::borrow::Cow;

use cfimap::actions::fetch::{Depth, Fetched};
use cfimap::actions::rows;
use cfimap::bindings::cfimap::imap::types::MessageRow;
use cfimap::message::attachments;
use cfimap::message::elision;
use cfimap::message::encoded_words;
use cfimap::message::parameters;
use cfimap::message::parsers;
use cfimap::message::transfer_encoding::{self, Decoded, TransferEncoding};
use imap_codec::imap_types::flag::{Flag, FlagFetch};
use libfuzzer_sys::fuzz_target;
use mail_parser::{MimeHeaders, PartType};

/// The longest file name `attachments::sanitize` makes (its private
/// `MAX_NAME_BYTES`).
const MAX_NAME_BYTES: usize = 200;

fuzz_target!(|data: &[u8]| {
    let headers = check_row(data, Depth::Headers);
    let whole = check_row(data, Depth::Whole);
    assert_eq!(
        header_columns(&headers),
        header_columns(&whole),
        "getHeaderOnly and getAll disagree"
    );
    check_attachments(data);
    check_elision(data);
    check_body_texts(data);
    for encoding in [
        TransferEncoding::Identity,
        TransferEncoding::Base64,
        TransferEncoding::QuotedPrintable,
    ] {
        check_transfer_decoding(encoding, data);
    }
    let text = String::from_utf8_lossy(data);
    let _ = encoded_words::decode_joined(&text);
    let _ = parameters::extended(&text, "filename");
    if let Some(value) = parameters::header_value(data, "content-type") {
        let _ = parameters::extended(&value, "name");
    }
    check_sanitized(&text, 1);
});

/// A message parsed through a skeleton (`cfimap::message::elision`, with
/// stretches of a few dozen bytes cut so that small inputs are cut too) is
/// exactly mail-parser's parse of the whole message — every part, offset,
/// header and body — but for the header fields no row reads, which the
/// skeleton leaves out of its own header. The same for getHeaderOnly's
/// parse, which also leaves out the MIME fields, since its row reads none.
fn check_elision(data: &[u8]) {
    let mut skeleton = Vec::new();
    let cut = elision::parse_with(parsers::parser(), data, &mut skeleton, 48);
    check_cut(cut, parsers::parser().parse(data), elision::is_read);
    // getHeaderOnly's: the header fields only, with its own parser.
    let mut skeleton = Vec::new();
    let cut = elision::parse_header(parsers::header_parser(), data, &mut skeleton);
    check_cut(
        cut,
        parsers::header_parser().parse(data),
        elision::is_column,
    );
}

/// `cut` is `whole`, or `whole` less the fields of its own header that
/// `kept` does not name.
fn check_cut(
    cut: Option<mail_parser::Message<'_>>,
    whole: Option<mail_parser::Message<'_>>,
    kept: fn(&[u8]) -> bool,
) {
    let read = |header: &mail_parser::Header<'_>| kept(header.name.as_str().as_bytes());
    // A parse that kept an unread field is the whole one; else it is the
    // whole one less those fields.
    let kept_unread = cut
        .as_ref()
        .and_then(|m| m.parts.first())
        .is_some_and(|root| root.headers.iter().any(|h| !read(h)));
    if kept_unread {
        assert_eq!(cut, whole, "the skeleton's parse differs");
    } else {
        let read_only = whole.map(|mut message| {
            if let Some(root) = message.parts.first_mut() {
                root.headers.retain(read);
            }
            message
        });
        assert_eq!(cut, read_only, "the skeleton's parse differs");
    }
}

/// The columns getHeaderOnly and getAll both take from the header.
fn header_columns(row: &MessageRow) -> [Option<&str>; 9] {
    [
        row.subject.as_deref(),
        Some(&row.from),
        Some(&row.to),
        Some(&row.cc),
        Some(&row.replyto),
        Some(&row.messageid),
        row.date.as_deref(),
        row.sentdate.as_deref(),
        Some(&row.header),
    ]
}

/// `data` as the row of a fetched message, for getHeaderOnly or getAll.
fn check_row(data: &[u8], depth: Depth) -> MessageRow {
    let fetched = Fetched {
        seq: 7,
        uid: 4711,
        flags: Some(vec![
            FlagFetch::Recent,
            FlagFetch::Flag(Flag::Seen),
            FlagFetch::Flag(Flag::Keyword("$Label1".try_into().unwrap())),
        ]),
        size: None,
        internal_date: None,
        bytes: Some(Cow::Borrowed(data)),
        lines: None,
        spilled: None,
    };
    // Only writing attachments can fail, and there is no `attachmentpath`.
    let row = rows::build(fetched, depth, None).unwrap();
    assert_eq!((row.messagenumber, row.uid), (7, 4711));
    assert!(row.recent && row.seen && !row.deleted);
    assert_eq!(row.user, ["$Label1"]);
    assert_eq!(row.size, data.len() as u64);
    assert!(
        row.header.len() <= 2 * data.len(),
        "a header out of nowhere"
    );
    if depth == Depth::Headers {
        assert!(row.body.is_none() && row.attachments.is_empty());
    }
    assert!(
        row.cids
            .iter()
            .all(|(name, _)| row.attachments.contains(name))
    );
    for (n, name) in row.attachments.iter().enumerate() {
        check_sanitized(name, n + 1);
    }
    row
}

/// What `attachments::sanitize` promises of a file name.
fn check_sanitized(name: &str, n: usize) {
    let file = attachments::sanitize(name, n);
    assert!(!file.is_empty() && file != "." && file != "..", "{file:?}");
    assert!(file.len() <= MAX_NAME_BYTES, "{file:?} is too long");
    let dot_or_blank = |c: char| c == '.' || c.is_whitespace();
    assert!(
        !file.starts_with(dot_or_blank) && !file.ends_with(dot_or_blank),
        "{file:?} starts or ends with a dot or space"
    );
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    assert!(!file.contains(bad), "{file:?} holds a forbidden character");
}

/// Attachments decoded late (by cfimap, as it writes them) against the same
/// attachments decoded by mail-parser while parsing, when both readings see
/// the same parts.
fn check_attachments(data: &[u8]) {
    let (lean, decoding) = (parsers::parser(), parsers::decoding_parser());
    let (Some(lean), Some(decoded)) = (lean.parse(data), decoding.parse(data)) else {
        return;
    };
    // A forwarded message in a transfer encoding is read differently on
    // purpose (rows::build then parses with bodies decoded), and a part
    // mail-parser could not decode is kept raw as text, another structure.
    let forwarded = |m: &mail_parser::Message<'_>| {
        m.parts.iter().any(|p| {
            matches!(p.body, PartType::Message(_))
                || p.content_type()
                    .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("message"))
        })
    };
    if lean.parts.len() != decoded.parts.len()
        || forwarded(&lean)
        || forwarded(&decoded)
        || decoded.parts.iter().any(|p| p.is_encoding_problem)
    {
        return;
    }
    let chosen = [None, None];
    let late = attachments::collect(&lean, &chosen);
    let early = attachments::collect(&decoded, &chosen);
    if late.len() != early.len() {
        return;
    }
    for (late, early) in late.iter().zip(&early) {
        assert_eq!(late.name, early.name);
        assert_eq!(late.content_id, early.content_id);
        // What a broken body decodes to is a matter of taste (a lone base64
        // symbol at the end: mail-parser writes a byte of its 6 bits, cfimap
        // nothing): compared only for bodies valid in their encoding.
        if !well_formed(late.content.encoding, late.content.body) {
            continue;
        }
        let mut expected = early.content.decoded();
        // The blanks ending a quoted-printable body's last line: cfimap
        // drops them as RFC 2045 rule 3 says; mail-parser drops them only
        // when a line break follows in the message (the one before the next
        // boundary), and keeps them at the message's end or before a
        // boundary that (wrongly) starts mid-line. Only those literal blanks
        // may differ.
        let body = late.content.body;
        let padding = body
            .iter()
            .rev()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if late.content.encoding == TransferEncoding::QuotedPrintable && padding > 0 {
            // What follows the body in the message (it is a slice of it: the
            // lean parser decodes none); outside it, as at the message's end.
            let rest = (body.as_ptr_range().end as usize)
                .checked_sub(data.as_ptr() as usize)
                .and_then(|after| data.get(after..))
                .unwrap_or_default();
            let line_break_follows = rest.starts_with(b"\n") || rest.starts_with(b"\r\n");
            if !line_break_follows && expected.ends_with(&body[body.len() - padding..]) {
                expected.truncate(expected.len() - padding);
            }
        }
        assert_eq!(
            late.content.decoded(),
            expected,
            "{:?} decodes otherwise than mail-parser decodes it",
            late.name
        );
    }
}

/// Whether `body` is valid in `encoding` as RFC 2045 writes it: base64 of
/// whole quanta with padding only at the end (white space anywhere), or
/// quoted-printable text (CR only in CRLF; raw 8-bit bytes allowed, as
/// mailers send them) with every `=` escaping two hex digits or a line
/// break.
fn well_formed(encoding: TransferEncoding, body: &[u8]) -> bool {
    match encoding {
        TransferEncoding::Identity => true,
        TransferEncoding::Base64 => strict_base64(body).is_some(),
        // Line ends all CRLF or all bare LF (a message stored the Unix
        // way): with both in one body, which a lone LF is — a line end to
        // be written as CRLF, as mail-parser writes it, or a byte kept as
        // it came, as cfimap keeps it — is a matter of taste again.
        TransferEncoding::QuotedPrintable if mixed_line_ends(body) => false,
        TransferEncoding::QuotedPrintable => body.iter().enumerate().all(|(i, &b)| {
            let text = matches!(b, b'\t' | b'\n' | b' '..=b'~' | 0x80..=0xff)
                || (b == b'\r' && body.get(i + 1) == Some(&b'\n'));
            text && (b != b'='
                || body[i + 1..].starts_with(b"\r\n")
                || body[i + 1..].starts_with(b"\n")
                || body
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)))
        }),
    }
}

/// Whether `body` has both CRLF and bare LF line ends.
fn mixed_line_ends(body: &[u8]) -> bool {
    let mut crlf = false;
    let mut lf = false;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\n' {
            if i > 0 && body[i - 1] == b'\r' {
                crlf = true;
            } else {
                lf = true;
            }
        }
    }
    crlf && lf
}

/// The symbols of a strictly valid base64 body, white space removed.
fn strict_base64(body: &[u8]) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let data = symbols
        .strip_suffix(b"==")
        .or_else(|| symbols.strip_suffix(b"="))
        .unwrap_or(&symbols);
    let valid = symbols.len().is_multiple_of(4)
        && data
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    valid.then_some(symbols)
}

/// `body` undone from `encoding`, in memory and into a writer.
fn check_transfer_decoding(encoding: TransferEncoding, body: &[u8]) {
    let in_memory = encoding.decode(body);
    let mut written = Vec::new();
    match encoding.decode_into(body, &mut written).unwrap() {
        Decoded::Complete => assert_eq!(written, in_memory),
        Decoded::Malformed => assert_eq!(in_memory, body, "a broken body is not kept"),
    }
    if encoding == TransferEncoding::Identity {
        assert_eq!(in_memory, body);
    }
    // A valid base64 body, however its lines and blanks fall, decodes to
    // what an independent decoder (mail-parser's) makes of its symbols.
    if encoding == TransferEncoding::Base64
        && let Some(symbols) = strict_base64(body)
    {
        let reference = mail_parser::decoders::base64::base64_decode(&symbols);
        assert_eq!(Some(in_memory), reference, "base64 decodes otherwise");
    }
    // A body text in strict quoted-printable decodes as mail-parser's own
    // loop decodes a body that is all of its input.
    if encoding == TransferEncoding::QuotedPrintable
        && let Some(strict) = transfer_encoding::strict_quoted_printable(body)
    {
        let (end, reference) =
            mail_parser::parsers::MessageStream::new(body).decode_quoted_printable_mime(b"");
        assert_eq!(end, body.len());
        assert_eq!(
            strict,
            reference.as_ref(),
            "quoted-printable decodes otherwise"
        );
    }
}

/// Each quoted-printable body text that `rows` decodes without parsing
/// its part again is the text the part's own parse gives.
fn check_body_texts(data: &[u8]) {
    let Some(message) = parsers::parser().parse(data) else {
        return;
    };
    let raw = message.raw_message.as_ref();
    for part in &message.parts {
        let (PartType::Text(text) | PartType::Html(text)) = &part.body else {
            continue;
        };
        if TransferEncoding::of(part, raw) != TransferEncoding::QuotedPrintable {
            continue;
        }
        if let Some(fast) = rows::strict_quoted_printable_text(part, raw) {
            let alone = rows::body_text_alone(part, raw).unwrap_or_else(|| text.to_string());
            assert_eq!(fast, alone, "a body text decodes otherwise than on its own");
        }
    }
}
