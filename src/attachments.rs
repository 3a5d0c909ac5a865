//! Attachments: which MIME parts count, what they are called, and writing
//! them safely into `attachmentpath` (DESIGN §3).
//!
//! Every leaf part is an attachment except the text/plain and text/html
//! parts chosen as TEXTBODY and HTMLBODY; a forwarded message/rfc822 is one
//! `.eml`. The component writes the files itself through the directory the
//! host granted (a `wasi:filesystem` preopen at the same path), so nothing
//! can land outside it; names are sanitised on top of that.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use crate::error::{Error, Result};

/// Longest file name written, in bytes (most file systems allow 255).
const MAX_NAME_BYTES: usize = 200;

/// One attachment of a message.
#[derive(Debug)]
pub struct Attachment<'a> {
    /// Its decoded name, or a generated one.
    pub name: String,
    /// Content-ID without angle brackets.
    pub content_id: Option<String>,
    /// The decoded bytes.
    pub bytes: Cow<'a, [u8]>,
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
        let bytes: Cow<'a, [u8]> = match &part.body {
            PartType::Multipart(_) => continue,
            PartType::Message(nested) => Cow::Borrowed(nested.raw_message()),
            PartType::Text(text) | PartType::Html(text) => {
                // The root of a message without any body text is no
                // attachment unless it says so.
                if index == 0 && part.attachment_name().is_none() && text.trim().is_empty() {
                    continue;
                }
                // The file gets the part's own bytes, in its own charset:
                // only the transfer encoding is undone.
                match transfer_decoded(message, part) {
                    Some(bytes) => Cow::Owned(bytes),
                    None => Cow::Borrowed(text.as_bytes()),
                }
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                Cow::Borrowed(bytes.as_ref())
            }
        };
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
            bytes,
        });
    }
    out
}

/// A text part's body with its transfer encoding undone and its charset
/// left alone; `None` when the raw bytes cannot be located or decoded.
fn transfer_decoded(message: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let raw = message
        .raw_message()
        .get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)?;
    match part.encoding {
        Encoding::None => Some(raw.to_vec()),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
        Encoding::Base64 => base64_decode(raw),
    }
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
        write_file(&path, &attachment.bytes).map_err(|e| {
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

/// Creates (or truncates) `path` and writes `bytes` into it a chunk at a time.
fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        file.write_all(chunk)?;
    }
    Ok(())
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
        assert_eq!(&found[0].bytes[..], b"M\xfcller;K\xf6ln");
        assert_eq!(&found[1].bytes[..], b"K\xf6ln");
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
        assert_eq!(&found[1].bytes[..], b"\x89PNG\r\n\x1a\n");
    }
}
