//! One message as the tag's row: the columns of Adobe ColdFusion and Lucee
//! together, as `message-row` in `wit/types.wit` documents them.
//!
//! mail-parser decodes headers (RFC 2047 in any charset it knows), body
//! texts (transfer encodings and charsets) and attachment names (RFC 2231);
//! attachments are decoded as they are written ([`TransferEncoding`]). Hard
//! messages never fail: a missing or broken field gives an empty or absent
//! value, and the row comes back with everything else.

use std::borrow::Cow;

use imap_codec::imap_types::flag::{Flag, FlagFetch};
use mail_parser::{Address, Encoding, HeaderName, Message, MessagePart, MimeHeaders, PartType};

use crate::actions::fetch::{Depth, Fetched};
use crate::bindings::cfimap::imap::types::MessageRow;
use crate::error::{Error, Result};
use crate::message::attachments::{self, Provisional, Saver, SpilledFile};
use crate::message::elision;
use crate::message::encoded_words;
use crate::message::parsers::{decoding_parser, header_parser, parser};
use crate::message::spill::{Hole, Spilled};
use crate::message::transfer_encoding::{Decoded, TransferEncoding, strict_quoted_printable};

/// Builds the row of a fetched message.
/// getAll with `attachmentpath` passes the action's `saver`.
pub fn build(
    mut fetched: Fetched<'_>,
    depth: Depth,
    mut saver: Option<&mut Saver>,
) -> Result<MessageRow> {
    if let Some(mut spilled) = fetched.spilled.take() {
        // Taken apart as it arrived: its row from the skeleton when every
        // hole is the inside of an attachment, else the message made whole
        // again and read as any other.
        let skeleton = fetched.bytes.take().unwrap_or_default();
        if let Some(row) = spilled_row(&fetched, &skeleton, &mut spilled, saver.as_deref_mut())? {
            return Ok(row);
        }
        let raw = spilled.materialize(&skeleton).map_err(|e| {
            Error::invalid(
                "attachmentpath",
                format!("cannot read back a large message's lines written there: {e}"),
            )
        })?;
        fetched.bytes = Some(Cow::Owned(raw));
    }
    let bytes = fetched.bytes.take().unwrap_or_default();
    let header_block = header_block(&bytes);
    let mut row = start_row(&fetched, header_block, bytes.len());
    // The skeleton the message is parsed as (`elision`): it may borrow
    // from it.
    let mut skeleton = Vec::new();
    let parsed = match depth {
        Depth::Headers => elision::parse_header(header_parser(), &bytes, &mut skeleton),
        Depth::Whole => elision::parse(parser(), &bytes, &mut skeleton),
    };
    let Some(mut message) = parsed else {
        return Ok(row);
    };
    if depth == Depth::Whole && has_encoded_message(&message) {
        // A message/rfc822 part in base64 or quoted-printable (RFC 2046
        // §5.2.1 forbids it, some mailers do it) reads as garbage without
        // its transfer encoding, and can swallow the parts after it: such a
        // message is parsed again with every body decoded.
        match decoding_parser().parse(&bytes[..]) {
            Some(decoded) => message = decoded,
            None => return Ok(row),
        }
    }
    // Recovering from a broken MIME structure, mail-parser can give a
    // message nested in it as the whole: its first part starts past the
    // message's own header. The header columns then come from a parse with
    // getHeaderOnly's parser, which reads no MIME structure.
    let own_header = message
        .parts
        .first()
        .is_none_or(|root| root.offset_header != 0)
        .then(|| header_parser().parse(&bytes[..]))
        .flatten();
    let headers = own_header.as_ref().unwrap_or(&message);
    fill_header_columns(&mut row, headers);
    if depth == Depth::Whole {
        row.lines = Some(body_lines(&bytes, header_block.len()));
        fill_bodies(&mut row, &message, saver, Vec::new())?;
    }
    Ok(row)
}

/// The row of a message taken apart as it arrived (`message::spill`), read
/// from its skeleton, when each hole lies inside a base64 attachment of its
/// own, right after the part's first line, and the part's last lines
/// decode: the hole's file is then the attachment but those lines, and is
/// taken from the store to be completed and published as its file. `None`,
/// every file left in the store, when that cannot be shown (the parse of
/// the skeleton might not be the message's, or a hole is in a text, a
/// forwarded message, or an attachment otherwise encoded).
fn spilled_row(
    fetched: &Fetched<'_>,
    skeleton: &[u8],
    spilled: &mut Spilled<Provisional>,
    saver: Option<&mut Saver>,
) -> Result<Option<MessageRow>> {
    if spilled.failed || spilled.holes.is_empty() || skeleton.len() != spilled.skeleton_len {
        return Ok(None);
    }
    let mut cut = Vec::new();
    let Some(message) = elision::parse(parser(), skeleton, &mut cut) else {
        return Ok(None);
    };
    if !elision::lines_left_out_safely(&message, spilled.holes.iter().map(|h| h.at))
        || has_encoded_message(&message)
    {
        return Ok(None);
    }
    // Every hole is checked before any file is taken: a message that fails
    // at its last hole is made whole again from all of them.
    let mut parts: Vec<(usize, Vec<u8>)> = Vec::with_capacity(spilled.holes.len());
    for hole in &spilled.holes {
        let found = message.parts.iter().enumerate().find(|(_, p)| {
            p.offset_body as usize == hole.first.start && hole.at < p.offset_end as usize
        });
        let Some((index, part)) = found else {
            return Ok(None);
        };
        if !matches!(part.body, PartType::Binary(_) | PartType::InlineBinary(_))
            || part.encoding != Encoding::None
            || TransferEncoding::of(part, skeleton) != TransferEncoding::Base64
            || part.is_content_type("message", "delivery-status")
            || parts.iter().any(|(p, _)| *p == index)
        {
            return Ok(None);
        }
        let mut tail = Vec::new();
        let lines = skeleton
            .get(hole.at..part.offset_end as usize)
            .unwrap_or_default();
        if !matches!(
            TransferEncoding::Base64.decode_into(lines, &mut tail),
            Ok(Decoded::Complete)
        ) {
            return Ok(None);
        }
        parts.push((index, tail));
    }
    let mut files = Vec::with_capacity(parts.len());
    for ((part, tail), hole) in parts.into_iter().zip(&spilled.holes) {
        // Each hole has a file of its own, there until taken here.
        let Some(file) = spilled.store.take(hole.file) else {
            return Err(Error::invalid(
                "attachmentpath",
                "a file written as its message arrived is gone",
            ));
        };
        files.push(SpilledFile { part, file, tail });
    }
    let header_block = header_block(skeleton);
    let mut row = start_row(fetched, header_block, spilled.len);
    fill_header_columns(&mut row, &message);
    let left_out: usize = spilled.holes.iter().map(Hole::lines).sum();
    let lines = body_lines(skeleton, header_block.len())
        .saturating_add(u32::try_from(left_out).unwrap_or(u32::MAX));
    row.lines = Some(lines);
    fill_bodies(&mut row, &message, saver, files)?;
    Ok(Some(row))
}

/// A row with the columns that come from the FETCH itself (number, UID,
/// size, dates, flags) and the header block; `len` is the message's length,
/// the size when the server gave none.
fn start_row(fetched: &Fetched<'_>, header_block: &[u8], len: usize) -> MessageRow {
    let mut row = empty(fetched.uid);
    row.messagenumber = fetched.seq;
    row.size = fetched.size.map_or(len as u64, u64::from);
    row.rxddate = fetched.internal_date.clone();
    row.lines = fetched.lines;
    row.header = raw_text(header_block);
    for flag in fetched.flags.iter().flatten() {
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
    row
}

/// The columns a row takes from the message's header: SUBJECT, FROM, TO,
/// CC, REPLYTO, MESSAGEID, DATE and SENTDATE.
fn fill_header_columns(row: &mut MessageRow, message: &Message<'_>) {
    // A subject split into encoded-words inside a character is decoded as
    // one (`encoded_words`); any other is mail-parser's.
    row.subject = message
        .header_raw(HeaderName::Subject)
        .and_then(encoded_words::decode_joined)
        .or_else(|| message.subject().map(str::to_owned));
    row.from = address_header(message, HeaderName::From);
    row.to = address_header(message, HeaderName::To);
    row.cc = address_header(message, HeaderName::Cc);
    row.replyto = match message.reply_to() {
        Some(_) => address_header(message, HeaderName::ReplyTo),
        None => row.from.clone(),
    };
    row.messageid = message
        .header_raw("Message-ID")
        .map(single_spaced)
        .unwrap_or_default();
    row.date = sent_date(message);
    row.sentdate = row.date.clone();
}

/// `value` trimmed, each run of white space inside it (a fold) one space.
fn single_spaced(value: &str) -> String {
    let value = value.trim();
    // Nearly every Message-ID is one word: copied, without a list of words.
    if !value.contains(char::is_whitespace) {
        return value.to_owned();
    }
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `message`, parsed without transfer decoding, holds an encoded
/// message/rfc822 (or message/global) part, at any depth. Judged by the
/// part's headers: read raw, such a part may not even parse as a message
/// (as the last part, mail-parser keeps it as text).
fn has_encoded_message(message: &Message<'_>) -> bool {
    let raw = message.raw_message.as_ref();
    message.parts.iter().any(|part| {
        let forwarded = matches!(part.body, PartType::Message(_))
            || part.is_content_type("message", "rfc822")
            || part.is_content_type("message", "global");
        (forwarded && TransferEncoding::of(part, raw) != TransferEncoding::Identity)
            || matches!(&part.body, PartType::Message(nested) if has_encoded_message(nested))
    })
}

/// A row that only says why its message could not be read.
/// `seq` (or `uid`) is 0 when the server never said which number (or UID)
/// the message had.
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
fn fill_bodies(
    row: &mut MessageRow,
    message: &Message<'_>,
    saver: Option<&mut Saver>,
    mut spilled: Vec<SpilledFile>,
) -> Result<()> {
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
    row.textbody = text_id.and_then(|id| body_text(message, id));
    row.htmlbody = html_id.and_then(|id| body_text(message, id));
    if let Some(part) = message
        .parts
        .iter()
        .find(|p| p.is_content_type("message", "delivery-status"))
    {
        let status = attachments::Content::of(message, part).decoded();
        row.deliverystatus = Some(String::from_utf8_lossy(&status).into_owned());
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
    if let Some(saver) = saver {
        row.attachmentfiles = saver.save(&found, &mut spilled)?;
    }
    Ok(())
}

/// The text of the body part `id`, transfer and charset decoded.
fn body_text(message: &Message<'_>, id: u32) -> Option<String> {
    let part = message.part(id)?;
    let (PartType::Text(text) | PartType::Html(text)) = &part.body else {
        return None;
    };
    let raw = message.raw_message.as_ref();
    let encoding = TransferEncoding::of(part, raw);
    if part.encoding != Encoding::None || encoding == TransferEncoding::Identity {
        return Some(text.to_string());
    }
    if encoding == TransferEncoding::QuotedPrintable
        && let Some(decoded) = strict_quoted_printable_text(part, raw)
    {
        return Some(decoded);
    }
    Some(body_text_alone(part, raw).unwrap_or_else(|| text.to_string()))
}

/// The text of a quoted-printable body part in the strict form
/// ([`strict_quoted_printable`]), decoded as [`body_text_alone`] decodes
/// it, but without mail-parser's byte loop over the body; `None` for any
/// other part.
///
/// Only the part's header is parsed again, as the part on its own would
/// be: that parse says whether mail-parser reads the part on its own as a
/// quoted-printable text (by its Content-Type and Content-Transfer-Encoding
/// as mail-parser reads them) and in which charset ([`elision::text_of`]).
///
/// Public for the fuzz target `rows`, which holds it to [`body_text_alone`].
pub fn strict_quoted_printable_text(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let header = raw.get(part.offset_header as usize..part.offset_body as usize)?;
    let alone = decoding_parser().parse(header)?;
    let root = alone.parts.first()?;
    let text = matches!(root.body, PartType::Text(_) | PartType::Html(_));
    if !text || root.encoding != Encoding::QuotedPrintable {
        return None;
    }
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    let decoded = strict_quoted_printable(body)?;
    Some(elision::text_of(root, &decoded).into_owned())
}

/// The text of a transfer-encoded body part, as mail-parser decodes it:
/// the structure was parsed without transfer decoding (see `parser`), and
/// the part on its own, headers and body, parses as a message of one part
/// and is decoded as such. (Decoding in place, mail-parser drops the
/// blanks ending the body before its boundary, and loses bytes to a soft
/// break right before it; on its own, neither.) `None` when the part on
/// its own is not a text (the caller keeps the text as it came).
///
/// Public for the fuzz target `rows`, as [`strict_quoted_printable_text`].
pub fn body_text_alone(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let alone = raw.get(part.offset_header as usize..part.offset_end as usize);
    let decoded = alone.and_then(|alone| decoding_parser().parse(alone));
    match decoded
        .as_ref()
        .and_then(|m| m.parts.first())
        .map(|p| &p.body)
    {
        Some(PartType::Text(decoded) | PartType::Html(decoded)) => Some(decoded.to_string()),
        _ => None,
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
    (date.is_valid() && real_day).then(|| rfc3339(date))
}

/// A date `is_valid` accepted, as mail-parser's `to_rfc3339` writes it,
/// digit by digit: every field then has two digits (four for the year),
/// and `format!` here was a fiftieth of getHeaderOnly.
fn rfc3339(date: &mail_parser::DateTime) -> String {
    fn two(out: &mut String, n: u8) {
        out.push(char::from(b'0' + n / 10 % 10));
        out.push(char::from(b'0' + n % 10));
    }
    let mut out = String::with_capacity("2025-03-04T10:00:00+01:00".len());
    two(&mut out, (date.year / 100 % 100) as u8);
    two(&mut out, (date.year % 100) as u8);
    for (separator, field) in [
        ('-', date.month),
        ('-', date.day),
        ('T', date.hour),
        (':', date.minute),
        (':', date.second),
    ] {
        out.push(separator);
        two(&mut out, field);
    }
    if date.tz_hour == 0 && date.tz_minute == 0 {
        out.push('Z');
    } else {
        out.push(if date.tz_before_gmt { '-' } else { '+' });
        two(&mut out, date.tz_hour);
        out.push(':');
        two(&mut out, date.tz_minute);
    }
    out
}

/// The addresses of header `name`: mail-parser's, unless a display name is
/// made of encoded-words split inside a character; then the header is
/// parsed again with each run of words rewritten as one
/// ([`encoded_words::rejoined`]).
fn address_header(message: &Message<'_>, name: HeaderName<'static>) -> String {
    let rewritten = message
        .header_raw(name.clone())
        .and_then(encoded_words::rejoined)
        .map(|value| format!("{}: {value}\r\n\r\n", name.as_str()));
    if let Some(text) = rewritten
        && let Some(reparsed) = parser().parse_headers(text.as_bytes())
        && let Some(address) = reparsed.header(name.clone()).and_then(|v| v.as_address())
    {
        return addresses(Some(address));
    }
    addresses(message.header(name).and_then(|v| v.as_address()))
}

/// Addresses as `Name <addr>` joined by `, `; groups as `Name: a, b;`.
/// Written into one string: a row has up to four address columns, and
/// formatting each address into its own string was a twentieth of
/// getHeaderOnly.
fn addresses(address: Option<&Address<'_>>) -> String {
    let mut out = String::new();
    match address {
        None => {}
        Some(Address::List(list)) => push_list(&mut out, list),
        Some(Address::Group(groups)) => {
            for (i, group) in groups.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match &group.name {
                    Some(name) => {
                        push_display_name(&mut out, name);
                        out.push(':');
                        if !group.addresses.is_empty() {
                            out.push(' ');
                            push_list(&mut out, &group.addresses);
                        }
                        out.push(';');
                    }
                    None => push_list(&mut out, &group.addresses),
                }
            }
        }
    }
    out
}

/// `list` joined by `, `.
fn push_list(out: &mut String, list: &[mail_parser::Addr<'_>]) {
    for (i, addr) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match (&addr.name, &addr.address) {
            (Some(name), Some(address)) if !name.trim().is_empty() => {
                push_display_name(out, name);
                out.push_str(" <");
                out.push_str(address);
                out.push('>');
            }
            (_, Some(address)) => out.push_str(address),
            (Some(name), None) => push_display_name(out, name),
            (None, None) => {}
        }
    }
}

/// A display name, quoted when it holds characters that would split or
/// confuse an address list.
fn push_display_name(out: &mut String, name: &str) {
    let name = name.trim();
    let special = |b: u8| matches!(b, b',' | b';' | b'<' | b'>' | b'"' | b'@' | b':');
    if !name.bytes().any(special) {
        out.push_str(name);
        return;
    }
    out.push('"');
    for c in name.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The header block: everything before the first empty line.
fn header_block(bytes: &[u8]) -> &[u8] {
    let empty_line = |rest: &[u8]| rest.starts_with(b"\n") || rest.starts_with(b"\r\n");
    if empty_line(bytes) {
        return &[];
    }
    // A line at a time through memchr: the header is most of what
    // getHeaderOnly reads, and a byte loop here was a twentieth of it.
    for newline in memchr::memchr_iter(b'\n', bytes) {
        if empty_line(&bytes[newline + 1..]) {
            return &bytes[..=newline];
        }
    }
    bytes
}

/// Header bytes as text: UTF-8 when they are, else Latin-1 byte for byte
/// (raw 8-bit headers are common and must not fail the row). The check
/// takes 16 bytes at a time (`simdutf8`): every row's HEADER passes here,
/// and the standard library's check was 2% of getAll's instructions.
fn raw_text(bytes: &[u8]) -> String {
    match simdutf8::basic::from_utf8(bytes) {
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
    use mail_parser::MessageParser;

    use super::*;

    fn parse(raw: &str) -> Message<'_> {
        MessageParser::default().parse(raw.as_bytes()).unwrap()
    }

    /// Messages whose bodies need their transfer encodings undone, in the
    /// shapes that matter: encoded texts in other charsets, alternatives,
    /// attachments in every encoding, a broken one, a bounce, and an
    /// encoded forwarded message with a part after it.
    const ENCODED: &[&str] = &[
        "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\nS/Zsbg0KSGFsbG8=\r\n",
        "Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+Y2Fmw6k8L3A+\r\n--a--\r\n",
        "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--m\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\nLjQK\r\n--m\r\nContent-Type: image/png\r\nContent-ID: <i@x>\r\nContent-Transfer-Encoding: BASE64\r\n\r\niVBORw0KGgo=\r\n--m\r\nContent-Type: text/csv; charset=ISO-8859-1; name=l.csv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nM=FCller\r\n--m\r\nContent-Type: application/octet-stream; name=broken.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nthis is *not* base64\r\n--m--\r\n",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\nU3RhdHVzOiA1LjEuMQ==\r\n--r--\r\n",
        "Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--f\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaW5uZXINCg0KaGVsbG8NCg==\r\n--f\r\nContent-Type: application/zip; name=after.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--f--\r\n",
        "Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--f\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaW5uZXINCg0KaGVsbG8NCg==\r\n--f--\r\nepilogue\r\n",
    ];

    /// What a row shows of a message's bodies and attachments.
    fn bodies(message: &Message<'_>) -> (MessageRow, Vec<(String, Vec<u8>)>) {
        let mut row = empty(1);
        fill_bodies(&mut row, message, None, Vec::new()).unwrap();
        let text_id = message.text_body.first().copied();
        let html_id = message.html_body.first().copied();
        let files = attachments::collect(message, &[text_id, html_id])
            .into_iter()
            .map(|a| (a.name, a.content.decoded()))
            .collect();
        (row, files)
    }

    #[test]
    fn bodies_decoded_late_match_bodies_decoded_by_the_parser() {
        for raw in ENCODED {
            let lean = parser().parse(raw.as_bytes()).unwrap();
            let lean = if has_encoded_message(&lean) {
                decoding_parser().parse(raw.as_bytes()).unwrap()
            } else {
                lean
            };
            let decoded = decoding_parser().parse(raw.as_bytes()).unwrap();
            let (lean_row, lean_files) = bodies(&lean);
            let (row, files) = bodies(&decoded);
            assert_eq!(lean_row.body, row.body, "{raw}");
            assert_eq!(lean_row.textbody, row.textbody, "{raw}");
            assert_eq!(lean_row.htmlbody, row.htmlbody, "{raw}");
            assert_eq!(lean_row.deliverystatus, row.deliverystatus, "{raw}");
            assert_eq!(lean_row.attachments, row.attachments, "{raw}");
            assert_eq!(lean_row.cids, row.cids, "{raw}");
            assert_eq!(lean_files, files, "{raw}");
        }
    }

    #[test]
    fn encoded_bodies_read_as_their_text() {
        let row = |raw: &str| bodies(&parser().parse(raw.as_bytes()).unwrap());
        let (plain, _) = row(ENCODED[0]);
        assert_eq!(plain.textbody.as_deref(), Some("Köln\r\nHallo"));
        let (alternative, _) = row(ENCODED[1]);
        assert_eq!(alternative.textbody.as_deref(), Some("café au lait"));
        assert_eq!(alternative.htmlbody.as_deref(), Some("<p>café</p>"));
        let (mixed, files) = row(ENCODED[2]);
        assert_eq!(
            mixed.attachments,
            ["a.pdf", "image1.png", "l.csv", "broken.bin"]
        );
        assert_eq!(files[0].1, b"%PDF-1.4\n");
        assert_eq!(files[1].1, b"\x89PNG\r\n\x1a\n");
        assert_eq!(files[2].1, b"M\xfcller");
        assert_eq!(files[3].1, b"this is *not* base64", "kept as it came");
        assert_eq!(mixed.cids, [("image1.png".to_owned(), "i@x".to_owned())]);
        let (bounce, _) = row(ENCODED[3]);
        assert_eq!(bounce.deliverystatus.as_deref(), Some("Status: 5.1.1"));
        let forwarded = parser().parse(ENCODED[4].as_bytes()).unwrap();
        assert!(has_encoded_message(&forwarded));
        let (_, files) = bodies(&decoding_parser().parse(ENCODED[4].as_bytes()).unwrap());
        let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["part2.eml", "after.zip"]);
        assert_eq!(files[0].1, b"Subject: inner\r\n\r\nhello\r\n");
        assert_eq!(files[1].1, b"PK\x03\x04");
        // The encoded forward as the last part does not parse as a message
        // without decoding: the headers still say what it is.
        let last = parser().parse(ENCODED[5].as_bytes()).unwrap();
        assert!(has_encoded_message(&last));
        let (_, files) = bodies(&decoding_parser().parse(ENCODED[5].as_bytes()).unwrap());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].1, b"Subject: inner\r\n\r\nhello\r\n");
    }

    #[test]
    fn strict_quoted_printable_texts_decode_as_their_parts_alone_do() {
        // (message, whether its text is in the strict form, its text)
        let cases = [
            (
                "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe  \r\naus K=F6ln=\r\n!\r\n",
                true,
                "Grüße\r\naus Köln!\r\n",
            ),
            (
                "Content-Transfer-Encoding: Quoted-Printable\r\n\r\nno Content-Type: text=2C in UTF-8 caf=C3=A9",
                true,
                "no Content-Type: text, in UTF-8 café",
            ),
            (
                "Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p class=3D\"x\">=E2=9C=93 invalid =FF</p>\r\n--a--\r\n",
                true,
                "<p class=\"x\">✓ invalid \u{fffd}</p>",
            ),
            (
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nnot hex =4G, a=20\r\n",
                false,
                "not hex =4G, a \r\n",
            ),
            (
                // A form feed before the token: cfimap's reading of the
                // header takes it for quoted-printable, mail-parser's does
                // not, and the text is mail-parser's, as it came.
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: \x0cquoted-printable\r\n\r\ncaf=C3=A9",
                false,
                "caf=C3=A9",
            ),
        ];
        for (raw, strict, text) in cases {
            let message = parser().parse(raw.as_bytes()).unwrap();
            let id = message.text_body.first().or(message.html_body.first());
            let part = message.part(*id.unwrap()).unwrap();
            let alone = body_text_alone(part, raw.as_bytes());
            let fast = strict_quoted_printable_text(part, raw.as_bytes());
            assert_eq!(fast.is_some(), strict, "{raw}");
            if strict {
                assert_eq!(fast, alone, "{raw}");
            }
            let (row, _) = bodies(&message);
            assert_eq!(row.body.as_deref(), Some(text), "{raw}");
        }
    }

    #[test]
    fn a_nested_header_never_stands_in_for_the_messages_own() {
        // Broken nested messages: mail-parser's parse gives the inner one,
        // with its To, as the whole message (found by the fuzz target).
        let raw = b"Content-Type:multipart;boundary==_b\n\n--=_bContent-Type:message/rfc822\n\n\
                    To:u\nContent-Type:message/rfc822\n\n\n\
                    --=_bContent-Type:message/rfc822\n\n\n--=_b--";
        let parsed = parser().parse(raw).expect("parses");
        assert_ne!(
            parsed.parts[0].offset_header, 0,
            "mail-parser still does this"
        );
        let fetched = Fetched {
            seq: 1,
            uid: 1,
            flags: None,
            size: None,
            internal_date: None,
            bytes: Some(raw[..].into()),
            lines: None,
            spilled: None,
        };
        let whole = build(fetched, Depth::Whole, None).unwrap();
        assert_eq!(whole.to, "");
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
        let m = parse(
            "From: \"A \\\"B\\\" \\\\ C, D\" <a@example.com>, , <b@example.com>\r\n\
             To: Team: x@example.com, \"Y, Z\" <y@example.com>;, Solo: ;\r\n\r\nbody",
        );
        assert_eq!(
            addresses(m.from()),
            r#""A \"B\" \\ C, D" <a@example.com>, b@example.com"#
        );
        assert_eq!(
            addresses(m.to()),
            r#"Team: x@example.com, "Y, Z" <y@example.com>;, Solo:;"#
        );
    }

    #[test]
    fn impossible_dates_are_absent() {
        let m = parse("Date: Mon, 31 Feb 2025 10:00:00 +0000\r\n\r\nx");
        assert_eq!(sent_date(&m), None);
        let m = parse("Date: Tue, 4 Mar 2025 10:00:00 +0100\r\n\r\nx");
        assert_eq!(sent_date(&m).as_deref(), Some("2025-03-04T10:00:00+01:00"));
    }

    #[test]
    fn sent_dates_are_written_as_mail_parser_writes_them() {
        for date in [
            "Tue, 4 Mar 2025 10:00:00 +0100",
            "Sat, 1 Jan 1900 00:00:00 +0000",
            "Fri, 31 Dec 2999 23:59:59 -0930",
            "Mon, 9 Jun 2025 07:05:09 -0000",
            "Thu, 29 Feb 2024 12:30:45 +1345",
        ] {
            let raw = format!("Date: {date}\r\n\r\nx");
            let m = parse(&raw);
            let parsed = m.date().expect("a date");
            assert_eq!(sent_date(&m), Some(parsed.to_rfc3339()), "{date}");
        }
    }

    #[test]
    fn a_message_id_is_trimmed_and_its_folds_made_single_spaces() {
        assert_eq!(single_spaced(" <1.a@example.org>\r\n"), "<1.a@example.org>");
        assert_eq!(
            single_spaced(" <1.a@\r\n\texample.org>  <2@x>\r\n"),
            "<1.a@ example.org> <2@x>"
        );
        assert_eq!(single_spaced(" \r\n"), "");
    }

    #[test]
    fn header_block_and_lines() {
        let raw = b"A: 1\r\nB: 2\r\n\r\nline1\r\nline2";
        assert_eq!(header_block(raw), b"A: 1\r\nB: 2\r\n");
        assert_eq!(header_block(b"A: 1\n\nx"), b"A: 1\n");
        assert_eq!(header_block(b"\r\nx"), b"");
        assert_eq!(header_block(b"A: 1\r\n"), b"A: 1\r\n", "no body at all");
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
