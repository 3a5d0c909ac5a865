//! Attachments: which MIME parts count, what they are called, and writing
//! them safely into `attachmentpath` (DESIGN §3).
//!
//! Every leaf part is an attachment except the text/plain and text/html
//! parts chosen as TEXTBODY and HTMLBODY; a forwarded message/rfc822 is one
//! `.eml`. The component writes the files itself through the directory the
//! host granted (a `wasi:filesystem` preopen at the same path), so nothing
//! can land outside it; names are sanitised on top of that.

use std::io;
use std::path::Path;

use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use crate::error::{Error, Result};
use crate::transfer_encoding::{Decoded, TransferEncoding};

/// Longest file name written, in bytes (most file systems allow 255).
const MAX_NAME_BYTES: usize = 200;

/// One attachment of a message.
#[derive(Debug)]
pub struct Attachment<'a> {
    /// Its decoded name, or a generated one.
    pub name: String,
    /// Content-ID without angle brackets.
    pub content_id: Option<String>,
    /// What the file gets.
    pub content: Content<'a>,
}

/// A part's content as it sits in the message, with the transfer encoding
/// still to undo. Decoding waits until the bytes are wanted: a getAll
/// without `attachmentpath` never decodes an attachment, and a written one
/// is decoded a chunk at a time.
#[derive(Debug)]
pub struct Content<'a> {
    /// The body bytes.
    pub body: &'a [u8],
    /// How they are encoded.
    pub encoding: TransferEncoding,
}

impl<'a> Content<'a> {
    /// The content of `part`, a part of `message`. A message/rfc822 part is
    /// the forwarded message whole; a text part keeps its own charset, as
    /// the file should.
    pub fn of(message: &'a Message<'a>, part: &'a MessagePart<'a>) -> Self {
        let raw = message.raw_message.as_ref();
        let own_body = || {
            raw.get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)
                .unwrap_or_default()
        };
        let (body, encoding) = match &part.body {
            PartType::Message(nested) => (nested.raw_message(), TransferEncoding::Identity),
            // mail-parser decoded it already (a message that needed it, see
            // `rows::build`).
            PartType::Binary(bytes) | PartType::InlineBinary(bytes)
                if part.encoding != Encoding::None =>
            {
                (bytes.as_ref(), TransferEncoding::Identity)
            }
            // Still encoded, as the structure was read (`rows::parser`).
            _ => (own_body(), TransferEncoding::of(part, raw)),
        };
        Self { body, encoding }
    }

    /// The decoded bytes, in memory.
    pub fn decoded(&self) -> Vec<u8> {
        self.encoding.decode(self.body)
    }

    /// Writes the decoded bytes into `path`, created or truncated. A body
    /// its encoding cannot decode is written as it came.
    fn write_to(&self, path: &Path) -> io::Result<()> {
        let mut file = ChunkedWriter(std::fs::File::create(path)?);
        match self.encoding.decode_into(self.body, &mut file)? {
            Decoded::Complete => Ok(()),
            Decoded::Malformed => {
                let mut file = ChunkedWriter(std::fs::File::create(path)?);
                io::Write::write_all(&mut file, self.body)
            }
        }
    }
}

/// The attachments of `message`, in MIME order; `chosen` are the body parts.
pub fn collect<'a>(message: &'a Message<'a>, chosen: &[Option<u32>]) -> Vec<Attachment<'a>> {
    let mut out = Vec::new();
    let mut images = 0;
    for (index, part) in message.parts.iter().enumerate() {
        let id = u32::try_from(index).unwrap_or(u32::MAX);
        if chosen.contains(&Some(id)) {
            continue;
        }
        match &part.body {
            PartType::Multipart(_) => continue,
            // The root of a message without any body text is no attachment
            // unless it says so.
            PartType::Text(text) | PartType::Html(text)
                if index == 0 && part.attachment_name().is_none() && text.trim().is_empty() =>
            {
                continue;
            }
            _ => {}
        }
        let (kind, subtype) = content_type(part);
        let name = match part
            .attachment_name()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(name) => name.to_owned(),
            None if kind == "image" => {
                images += 1;
                format!("image{images}.{}", extension(&kind, &subtype))
            }
            None => format!("part{index}.{}", extension(&kind, &subtype)),
        };
        out.push(Attachment {
            name,
            content_id: part
                .content_id()
                .map(|cid| {
                    cid.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned()
                })
                .filter(|cid| !cid.is_empty()),
            content: Content::of(message, part),
        });
    }
    out
}

/// Writes the attachments into `dir` and returns their paths, in order.
/// Without `unique` an existing file is overwritten (as the tag does); with
/// it, `name1.ext`, `name2.ext`, … are tried.
pub fn save(dir: &str, attachments: &[Attachment<'_>], unique: bool) -> Result<Vec<String>> {
    let dir = Path::new(dir);
    let mut paths = Vec::with_capacity(attachments.len());
    for attachment in attachments {
        let name = sanitize(&attachment.name, paths.len() + 1);
        let mut path = dir.join(&name);
        if unique {
            let (stem, ext) = split_extension(&name);
            let mut n = 1;
            while path.exists() {
                path = dir.join(format!("{stem}{n}{ext}"));
                n += 1;
            }
        }
        attachment.content.write_to(&path).map_err(|e| {
            Error::invalid(
                "attachmentpath",
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
        paths.push(path.to_string_lossy().into_owned());
    }
    Ok(paths)
}

/// Bytes handed to the host per write. A write crosses into the host as one
/// list, which the host copies whole: a 10 MB attachment written at once
/// made a 10 MB copy beside the guest's own.
const WRITE_CHUNK: usize = 256 * 1024;

/// A file written at most [`WRITE_CHUNK`] bytes per call.
struct ChunkedWriter(std::fs::File);

impl io::Write for ChunkedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(&bytes[..bytes.len().min(WRITE_CHUNK)])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A file name that stays inside its directory: the last path component,
/// without control characters or characters file systems reject, without
/// leading or trailing dots and spaces, and of bounded length. A name that
/// sanitises to nothing becomes `attachment<n>`.
pub fn sanitize(name: &str, n: usize) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '_') {
        return format!("attachment{n}");
    }
    if trimmed.len() <= MAX_NAME_BYTES {
        return trimmed.to_owned();
    }
    let (stem, ext) = split_extension(trimmed);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(cut.min(stem.len())) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut.min(stem.len())])
}

/// `("name", ".ext")`; no extension for dotfiles or names without a dot.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

fn content_type(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or_default().to_ascii_lowercase(),
        ),
        None => ("text".into(), "plain".into()),
    }
}

/// A file extension that fits the content type.
fn extension(kind: &str, subtype: &str) -> &'static str {
    match (kind, subtype) {
        ("text", "calendar") => "ics",
        ("text", "html") => "html",
        ("text", "csv") => "csv",
        ("text", "vcard") | ("text", "x-vcard") => "vcf",
        ("text", _) => "txt",
        ("image", "jpeg") | ("image", "jpg") | ("image", "pjpeg") => "jpg",
        ("image", "png") => "png",
        ("image", "gif") => "gif",
        ("image", "webp") => "webp",
        ("image", "svg+xml") => "svg",
        ("image", "bmp") => "bmp",
        ("image", "tiff") => "tif",
        ("message", "rfc822") | ("message", "global") => "eml",
        ("message", _) => "txt",
        ("application", "pdf") => "pdf",
        ("application", "zip") => "zip",
        ("application", "json") => "json",
        ("application", "xml") => "xml",
        ("application", "ics") => "ics",
        ("audio", "mpeg") => "mp3",
        ("video", "mp4") => "mp4",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_stays_inside() {
        assert_eq!(sanitize("../../x", 1), "x");
        assert_eq!(sanitize("/etc/passwd", 1), "passwd");
        assert_eq!(sanitize("C:\\evil\\run.exe", 1), "run.exe");
        assert_eq!(sanitize("..", 2), "attachment2");
        assert_eq!(sanitize("a\0b\r\n.txt", 1), "a_b__.txt");
        assert_eq!(sanitize("  .hidden ", 1), "hidden");
        assert_eq!(sanitize("", 3), "attachment3");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "ä".repeat(300));
        let s = sanitize(&long, 1);
        assert!(s.len() <= MAX_NAME_BYTES, "{}", s.len());
        assert!(s.ends_with(".pdf"));
    }

    #[test]
    fn text_attachments_keep_their_bytes() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/csv; charset=ISO-8859-1\r\nContent-Disposition: attachment; filename=l.csv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nM=FCller;K=F6ln\r\n--b\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Disposition: attachment; filename=raw.txt\r\n\r\nK\xf6ln\r\n--b--\r\n";
        let m = mail_parser::MessageParser::default()
            .parse(&raw[..])
            .unwrap();
        let text = m.text_body.first().copied();
        let found = collect(&m, &[text]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].content.decoded(), b"M\xfcller;K\xf6ln");
        assert_eq!(found[1].content.decoded(), b"K\xf6ln");
    }

    #[test]
    fn generated_names_fit_the_type() {
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n--b\r\nContent-Type: image/png\r\nContent-ID: <img1@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";
        let m = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        let text = m.text_body.first().copied();
        let found = collect(&m, &[text]);
        let names: Vec<_> = found.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["part2.ics", "image1.png"]);
        assert_eq!(found[1].content_id.as_deref(), Some("img1@x"));
        assert_eq!(found[1].content.decoded(), b"\x89PNG\r\n\x1a\n");
    }
}
