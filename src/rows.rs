//! One message as the tag's row (CFIMAP.md §3; DESIGN §3 "Result columns").
//!
//! mail-parser decodes headers (RFC 2047 in any charset it knows), bodies
//! (transfer encodings and charsets) and attachment names (RFC 2231). Hard
//! messages never fail: a missing or broken field gives an empty or absent
//! value, and the row comes back with everything else.

use std::borrow::Cow;
use std::sync::OnceLock;

use imap_codec::imap_types::flag::{Flag, FlagFetch};
use mail_parser::{Address, HeaderName, Message, MessageParser, MimeHeaders, PartType};

use crate::attachments;
use crate::bindings::cfimap::imap::types::{MessageRow, ReadOptions};
use crate::error::Result;
use crate::fetch::{Depth, Fetched};

/// Builds the row of a fetched message.
pub fn build(fetched: Fetched<'_>, depth: Depth, options: &ReadOptions) -> Result<MessageRow> {
    let bytes = fetched.bytes.unwrap_or_default();
    let header_block = header_block(&bytes);
    let mut row = empty(fetched.uid);
    row.messagenumber = fetched.seq;
    row.size = fetched.size.map_or(bytes.len() as u64, u64::from);
    row.rxddate = fetched.internal_date;
    row.lines = fetched.lines;
    row.header = raw_text(header_block);
    for flag in &fetched.flags {
        match flag {
            FlagFetch::Recent => row.recent = true,
            FlagFetch::Flag(Flag::Answered) => row.answered = true,
            FlagFetch::Flag(Flag::Deleted) => row.deleted = true,
            FlagFetch::Flag(Flag::Draft) => row.draft = true,
            FlagFetch::Flag(Flag::Flagged) => row.flagged = true,
            FlagFetch::Flag(Flag::Seen) => row.seen = true,
            FlagFetch::Flag(Flag::Keyword(k)) => row.user.push(k.inner().to_owned()),
            FlagFetch::Flag(Flag::Extension(_)) => {}
        }
    }
    let parsed = parser().parse(&bytes[..]);
    let Some(message) = parsed else {
        return Ok(row);
    };
    row.subject = message.subject().map(str::to_owned);
    row.from = addresses(message.from());
    row.to = addresses(message.to());
    row.cc = addresses(message.cc());
    row.replyto = match message.reply_to() {
        Some(reply_to) => addresses(Some(reply_to)),
        None => row.from.clone(),
    };
    row.messageid = message
        .header_raw("Message-ID")
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    row.date = sent_date(&message);
    row.sentdate = row.date.clone();
    if depth == Depth::Whole {
        row.lines = Some(body_lines(&bytes, header_block.len()));
        fill_bodies(&mut row, &message, options)?;
    }
    Ok(row)
}

/// The parser, told to decode only the headers a row shows and those MIME
/// needs. Every other header (Received, DKIM-Signature, ...) is skipped
/// unparsed: they are most of a typical header block, and parsing Received
/// lines alone took a third of getHeaderOnly's time. `header_raw` still finds
/// skipped headers, by offset.
fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .header_address(HeaderName::To)
            .header_address(HeaderName::Cc)
            .header_address(HeaderName::ReplyTo)
            .header_date(HeaderName::Date)
            .default_header_ignore()
    })
}

/// A row that only says why its message could not be read.
/// `seq` is 0 when the server never said which number the message had.
pub fn failed(seq: u32, uid: u32, error: &str) -> MessageRow {
    let mut row = empty(uid);
    row.messagenumber = seq;
    row.error = Some(error.to_owned());
    row
}

fn empty(uid: u32) -> MessageRow {
    MessageRow {
        messagenumber: 0,
        uid,
        subject: None,
        from: String::new(),
        to: String::new(),
        cc: String::new(),
        replyto: String::new(),
        messageid: String::new(),
        date: None,
        sentdate: None,
        rxddate: None,
        size: 0,
        lines: None,
        header: String::new(),
        answered: false,
        deleted: false,
        draft: false,
        flagged: false,
        recent: false,
        seen: false,
        user: Vec::new(),
        body: None,
        textbody: None,
        htmlbody: None,
        attachments: Vec::new(),
        attachmentfiles: Vec::new(),
        cids: Vec::new(),
        deliverystatus: None,
        error: None,
    }
}

/// BODY, TEXTBODY, HTMLBODY, DELIVERYSTATUS and the attachments.
fn fill_bodies(row: &mut MessageRow, message: &Message<'_>, options: &ReadOptions) -> Result<()> {
    let text_id = message.text_body.iter().copied().find(|&id| {
        message
            .part(id)
            .is_some_and(|p| matches!(p.body, PartType::Text(_)) && is_plain(p))
    });
    let html_id = message.html_body.iter().copied().find(|&id| {
        message
            .part(id)
            .is_some_and(|p| matches!(p.body, PartType::Html(_)))
    });
    row.textbody = text_id.and_then(|id| message.body_text_part(id));
    row.htmlbody = html_id.and_then(|id| message.body_html_part(id));
    for part in &message.parts {
        if part.is_content_type("message", "delivery-status") {
            row.deliverystatus = Some(String::from_utf8_lossy(part.contents()).into_owned());
            break;
        }
    }
    // BODY is the first chosen text in MIME order (the tag's "first text
    // part found"); a bounce without one shows its delivery status.
    row.body = match (text_id, html_id) {
        (Some(t), Some(h)) if h < t => row.htmlbody.clone(),
        (Some(_), _) => row.textbody.clone(),
        (None, Some(_)) => row.htmlbody.clone(),
        (None, None) => row.deliverystatus.clone().or(Some(String::new())),
    };
    let chosen = [text_id, html_id];
    let found = attachments::collect(message, &chosen);
    row.attachments = found.iter().map(|a| a.name.clone()).collect();
    row.cids = found
        .iter()
        .filter_map(|a| a.content_id.clone().map(|cid| (a.name.clone(), cid)))
        .collect();
    if let Some(dir) = &options.attachmentpath {
        row.attachmentfiles = attachments::save(dir, &found, options.generateuniquefilenames)?;
    }
    Ok(())
}

trait BodyPart {
    fn body_text_part(&self, id: u32) -> Option<String>;
    fn body_html_part(&self, id: u32) -> Option<String>;
}

impl BodyPart for Message<'_> {
    fn body_text_part(&self, id: u32) -> Option<String> {
        match &self.part(id)?.body {
            PartType::Text(text) => Some(text.to_string()),
            _ => None,
        }
    }

    fn body_html_part(&self, id: u32) -> Option<String> {
        match &self.part(id)?.body {
            PartType::Html(html) => Some(html.to_string()),
            _ => None,
        }
    }
}

fn is_plain(part: &mail_parser::MessagePart<'_>) -> bool {
    match part.content_type() {
        None => true,
        Some(ct) => {
            ct.ctype().eq_ignore_ascii_case("text")
                && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
        }
    }
}

/// The Date header as RFC 3339; absent when missing or impossible.
fn sent_date(message: &Message<'_>) -> Option<String> {
    let date = message.date()?;
    let real_day = chrono::NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .is_some();
    (date.is_valid() && real_day).then(|| date.to_rfc3339())
}

/// Addresses as `Name <addr>` joined by `, `; groups as `Name: a, b;`.
fn addresses(address: Option<&Address<'_>>) -> String {
    let Some(address) = address else {
        return String::new();
    };
    match address {
        Address::List(list) => list.iter().map(one_address).collect::<Vec<_>>().join(", "),
        Address::Group(groups) => groups
            .iter()
            .map(|g| {
                let members = g.addresses.iter().map(one_address).collect::<Vec<_>>();
                match &g.name {
                    Some(name) if members.is_empty() => format!("{}:;", display_name(name)),
                    Some(name) => format!("{}: {};", display_name(name), members.join(", ")),
                    None => members.join(", "),
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn one_address(addr: &mail_parser::Addr<'_>) -> String {
    match (&addr.name, &addr.address) {
        (Some(name), Some(address)) if !name.trim().is_empty() => {
            format!("{} <{address}>", display_name(name))
        }
        (_, Some(address)) => address.to_string(),
        (Some(name), None) => display_name(name).into_owned(),
        (None, None) => String::new(),
    }
}

/// A display name, quoted when it holds characters that would split or
/// confuse an address list.
fn display_name(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    if name.contains([',', ';', '<', '>', '"', '@', ':']) {
        Cow::Owned(format!(
            "\"{}\"",
            name.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    } else {
        Cow::Borrowed(name)
    }
}

/// The header block: everything before the first empty line.
fn header_block(bytes: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < bytes.len() {
        let end = bytes[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| i + p + 1);
        let line = &bytes[i..end];
        if line == b"\r\n" || line == b"\n" {
            return &bytes[..i];
        }
        i = end;
    }
    bytes
}

/// Header bytes as text: UTF-8 when they are, else Latin-1 byte for byte
/// (raw 8-bit headers are common and must not fail the row).
fn raw_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Number of lines in the body (after the header block and its blank line):
/// its line ends, as IMAP servers count `body-fld-lines` (RFC 3501 §7.4.2),
/// so that getAll and getHeaderOnly agree. A last line without its CRLF is
/// not a complete line (RFC 5322 §2.1) and is not counted.
fn body_lines(bytes: &[u8], header_len: usize) -> u32 {
    let body = bytes.get(header_len..).unwrap_or_default();
    let body = body
        .strip_prefix(b"\r\n")
        .or_else(|| body.strip_prefix(b"\n"))
        .unwrap_or(body);
    // memchr counts a word at a time; a byte loop was a tenth of getAll.
    let newlines = memchr::memchr_iter(b'\n', body).count();
    u32::try_from(newlines).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Message<'_> {
        MessageParser::default().parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn addresses_keep_quoted_commas_together() {
        let m = parse(
            "From: \"Doe, John\" <john@example.com>\r\nTo: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>, \
             b@example.com\r\nCc: undisclosed-recipients:;\r\n\r\nbody",
        );
        assert_eq!(addresses(m.from()), "\"Doe, John\" <john@example.com>");
        assert_eq!(addresses(m.to()), "Jürgen <j@example.de>, b@example.com");
        assert_eq!(addresses(m.cc()), "undisclosed-recipients:;");
    }

    #[test]
    fn impossible_dates_are_absent() {
        let m = parse("Date: Mon, 31 Feb 2025 10:00:00 +0000\r\n\r\nx");
        assert_eq!(sent_date(&m), None);
        let m = parse("Date: Tue, 4 Mar 2025 10:00:00 +0100\r\n\r\nx");
        assert_eq!(sent_date(&m).as_deref(), Some("2025-03-04T10:00:00+01:00"));
    }

    #[test]
    fn header_block_and_lines() {
        let raw = b"A: 1\r\nB: 2\r\n\r\nline1\r\nline2";
        assert_eq!(header_block(raw), b"A: 1\r\nB: 2\r\n");
        assert_eq!(
            body_lines(raw, 12),
            1,
            "the unterminated last line is not counted"
        );
        assert_eq!(body_lines(b"A: 1\r\n\r\nl1\r\nl2\r\n", 6), 2);
        assert_eq!(body_lines(b"A: 1\r\n\r\n", 6), 0);
        assert_eq!(raw_text(b"X: caf\xe9"), "X: café");
    }
}
