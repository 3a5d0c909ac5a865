//! Attachments: which MIME parts count, what they are called, and writing
//! them into `attachmentpath` through the host's `attachments` sink.
//!
//! Every leaf part is an attachment except the text/plain and text/html
//! parts chosen as TEXTBODY and HTMLBODY; a forwarded message/rfc822 is one
//! `.eml`. The component never touches a file system: it picks each file's
//! name (sanitised, unique within the action) and streams the decoded bytes
//! to the host, which decides where the directory is, creates the file
//! exclusively and never follows a symbolic link (see `wit/attachments.wit`).

use std::collections::HashSet;
use std::io;

use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use crate::bindings::cfimap::imap::attachments::{self as sink, SinkError};
use crate::error::{Error, Result};
use crate::message::parameters;
use crate::message::transfer_encoding::{Decoded, TransferEncoding};

/// Longest file name written, in bytes (most file systems allow 255).
const MAX_NAME_BYTES: usize = 200;

/// One attachment of a message.
#[derive(Debug)]
pub struct Attachment<'a> {
    /// Its part: the index in the message's parts.
    pub part: usize,
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
            // `actions::rows::build`).
            PartType::Binary(bytes) | PartType::InlineBinary(bytes)
                if part.encoding != Encoding::None =>
            {
                (bytes.as_ref(), TransferEncoding::Identity)
            }
            // Still encoded, as the structure was read (`parsers::parser`).
            _ => (own_body(), TransferEncoding::of(part, raw)),
        };
        Self { body, encoding }
    }

    /// The decoded bytes, in memory.
    pub fn decoded(&self) -> Vec<u8> {
        self.encoding.decode(self.body)
    }

    /// Writes the decoded bytes into `file`. A body its encoding cannot
    /// decode is not written: [`Written::Malformed`] says to write it raw.
    fn write_decoded(&self, file: &mut SinkWriter) -> io::Result<Written> {
        Ok(match self.encoding.decode_into(self.body, file)? {
            Decoded::Complete => Written::Complete,
            Decoded::Malformed => Written::Malformed,
        })
    }
}

/// How a decoding write ended.
enum Written {
    Complete,
    Malformed,
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
        let declared =
            extended_name(message, part).or_else(|| part.attachment_name().map(str::to_owned));
        let name = match declared.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => name.to_owned(),
            None if kind == "image" => {
                images += 1;
                format!("image{images}.{}", extension(&kind, &subtype))
            }
            None => format!("part{index}.{}", extension(&kind, &subtype)),
        };
        out.push(Attachment {
            part: index,
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

/// The part's file name when its header writes it in RFC 2231's extended
/// syntax (`filename*=…`, continuations): decoded whole, as
/// [`parameters`] explains. `None` leaves the name to mail-parser.
fn extended_name(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let raw = message.raw_message.as_ref();
    let header = raw.get(part.raw_header_offset() as usize..part.raw_body_offset() as usize)?;
    if memchr::memmem::find(header, b"*=").is_none()
        && memchr::memmem::find(header, b"*0").is_none()
    {
        return None;
    }
    [
        ("content-disposition", "filename"),
        ("content-type", "name"),
    ]
    .into_iter()
    .find_map(|(field, parameter)| {
        parameters::extended(&parameters::header_value(header, field)?, parameter)
    })
}

/// How many names are tried for one attachment before giving up.
const MAX_CANDIDATES: usize = 10_000;

/// The attachment files of one action: the directory, whether existing
/// files are kept (`generateuniquefilenames`), and the names already
/// written, so that two attachments of the action never share a file.
#[derive(Debug)]
pub struct Saver {
    dir: String,
    unique: bool,
    /// Names written by this action, lower-cased: on a case-insensitive
    /// file system `A.pdf` would replace `a.pdf`.
    taken: HashSet<String>,
}

impl Saver {
    /// A saver for `attachmentpath` = `dir`.
    pub fn new(dir: String, unique: bool) -> Result<Self> {
        if dir.trim().is_empty() || dir.contains('\0') {
            return Err(Error::invalid("attachmentpath", "is empty or contains NUL"));
        }
        Ok(Self {
            dir,
            unique,
            taken: HashSet::new(),
        })
    }

    /// Writes the attachments and returns the paths the host reports, in
    /// order. The first name tried is the sanitised name; after that
    /// `name1.ext`, `name2.ext`, … A name this action has written is never
    /// tried again. Without `generateuniquefilenames` a name replaces a file
    /// that existed before the action (as the tag does); with it, such a
    /// file is kept and the next name tried.
    ///
    /// An attachment whose part is among `spilled` was written as it
    /// arrived: its file is completed and published instead.
    pub fn save(
        &mut self,
        attachments: &[Attachment<'_>],
        spilled: &mut Vec<SpilledFile>,
    ) -> Result<Vec<String>> {
        let mut paths = Vec::with_capacity(attachments.len());
        for attachment in attachments {
            let name = sanitize(&attachment.name, paths.len() + 1);
            let path = match spilled.iter().position(|f| f.part == attachment.part) {
                Some(at) => self.publish(&name, spilled.swap_remove(at))?,
                None => self.save_one(&name, &attachment.content)?,
            };
            paths.push(path);
        }
        Ok(paths)
    }

    /// Each name [`Saver::save_one`] would try for `name`, in order, until
    /// `attempt` says it was written (`Some`) or fails.
    fn each_candidate(
        &mut self,
        name: &str,
        mut attempt: impl FnMut(&Self, &str, bool) -> Result<Option<String>>,
    ) -> Result<String> {
        let (stem, ext) = split_extension(name);
        for n in 0..MAX_CANDIDATES {
            let candidate = if n == 0 {
                name.to_owned()
            } else {
                fit(stem, &format!("{n}{ext}"))
            };
            if self.taken.contains(&candidate.to_lowercase()) {
                continue;
            }
            // Without `generateuniquefilenames` every name may replace a
            // file from before the action, so that the same action run
            // twice writes the same files.
            let replace = !self.unique;
            let Some(path) = attempt(self, &candidate, replace)? else {
                continue;
            };
            self.taken.insert(candidate.to_lowercase());
            return Ok(path);
        }
        Err(Error::invalid(
            "attachmentpath",
            format!(
                "{}: no free file name for {name:?} after {MAX_CANDIDATES} tries",
                self.dir
            ),
        ))
    }

    /// Completes a file written as its message arrived (its tail, the
    /// part's last lines, decoded) and publishes it as `name`, or the next
    /// name free.
    fn publish(&mut self, name: &str, spilled: SpilledFile) -> Result<String> {
        let SpilledFile { file, tail, .. } = spilled;
        let mut writer = SinkWriter(file);
        io::Write::write_all(&mut writer, &tail).map_err(|e| self.failed(name, &e))?;
        let file = writer.0;
        self.each_candidate(name, |saver, candidate, replace| {
            match file.rename(candidate, replace) {
                Ok(()) => {}
                Err(SinkError::Exists) if !replace => return Ok(None),
                Err(e) => return Err(saver.refused(candidate, e)),
            }
            match file.finish() {
                Ok(path) => Ok(Some(path)),
                Err(SinkError::Exists) if !replace => Ok(None),
                Err(e) => Err(saver.refused(candidate, e)),
            }
        })
    }

    fn save_one(&mut self, name: &str, content: &Content<'_>) -> Result<String> {
        self.each_candidate(name, |saver, candidate, replace| {
            saver.write(candidate, replace, content)
        })
    }

    /// Writes `content` as `name`; `None` when the name exists and may not
    /// be replaced (found at `create` or at `finish`).
    fn write(&self, name: &str, replace: bool, content: &Content<'_>) -> Result<Option<String>> {
        let Some(mut file) = self.create(name, replace)? else {
            return Ok(None);
        };
        let written = content
            .write_decoded(&mut file)
            .map_err(|e| self.failed(name, &e))?;
        if let Written::Malformed = written {
            // Dropping the file discards what was written; the same name is
            // started again and gets the bytes as they came.
            drop(file);
            let Some(mut raw) = self.create(name, replace)? else {
                return Ok(None);
            };
            io::Write::write_all(&mut raw, content.body).map_err(|e| self.failed(name, &e))?;
            file = raw;
        }
        match file.0.finish() {
            Ok(path) => Ok(Some(path)),
            // Without replacing, the name is claimed only at `finish`: taken
            // meanwhile, the next name is tried.
            Err(SinkError::Exists) if !replace => Ok(None),
            Err(e) => Err(self.refused(name, e)),
        }
    }

    fn create(&self, name: &str, replace: bool) -> Result<Option<SinkWriter>> {
        match sink::create(&self.dir, name, replace) {
            Ok(file) => Ok(Some(SinkWriter(file))),
            Err(SinkError::Exists) if !replace => Ok(None),
            Err(e) => Err(self.refused(name, e)),
        }
    }

    fn failed(&self, name: &str, e: &io::Error) -> Error {
        Error::invalid(
            "attachmentpath",
            format!("cannot write {name:?} in {}: {e}", self.dir),
        )
    }

    /// The action's error for a refusal of the host's sink.
    fn refused(&self, name: &str, e: SinkError) -> Error {
        match e {
            SinkError::Denied(why) => {
                Error::DeniedByPolicy(format!("attachmentpath {}: {why}", self.dir))
            }
            SinkError::InvalidName(why) => Error::invalid(
                "attachmentpath",
                format!("the host refused the file name {name:?}: {why}"),
            ),
            SinkError::Exists => Error::invalid(
                "attachmentpath",
                format!("{name:?} exists in {} and could not be replaced", self.dir),
            ),
            SinkError::Io(why) => Error::invalid("attachmentpath", format!("cannot write: {why}")),
        }
    }
}

/// `stem` followed by `tail`, the stem shortened so that the whole stays
/// within [`MAX_NAME_BYTES`].
fn fit(stem: &str, tail: &str) -> String {
    let mut cut = MAX_NAME_BYTES.saturating_sub(tail.len()).min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{tail}", &stem[..cut])
}

/// A file of an attachment written as its message arrived
/// (`message::spill`), waiting for its last lines and its name.
#[derive(Debug)]
pub struct SpilledFile {
    /// The attachment's part: the index in the message's parts.
    pub part: usize,
    /// The file, holding the part's content but its tail.
    pub file: sink::File,
    /// The rest of the content: the part's last lines, decoded.
    pub tail: Vec<u8>,
}

/// The name a spilled file has until it is renamed: never published, since
/// every such file is renamed before `finish` or dropped.
const PROVISIONAL_NAME: &str = "cfimap-arriving.part";

/// Files of `attachmentpath` started before their parts are known to be
/// attachments: the store of a [`Spill`](crate::message::spill::Spill).
#[derive(Debug)]
pub struct Provisional {
    dir: String,
    files: Vec<Option<SinkWriter>>,
}

impl Provisional {
    /// Files to be started in `dir`, the action's `attachmentpath`.
    pub fn new(dir: String) -> Self {
        Self {
            dir,
            files: Vec::new(),
        }
    }

    /// Takes file `file` out of the store, to be completed.
    pub fn take(&mut self, file: usize) -> Option<sink::File> {
        self.files
            .get_mut(file)
            .and_then(Option::take)
            .map(|writer| writer.0)
    }

    fn file(&mut self, file: usize) -> io::Result<&mut SinkWriter> {
        self.files
            .get_mut(file)
            .and_then(Option::as_mut)
            .ok_or_else(|| io::Error::other("the spilled file is gone"))
    }
}

impl crate::message::spill::Store for Provisional {
    fn begin(&mut self) -> io::Result<usize> {
        // Replacing: nothing is checked at the provisional name, which is
        // never published.
        let file = sink::create(&self.dir, PROVISIONAL_NAME, true)
            .map_err(|e| io::Error::other(sink_text(&e)))?;
        self.files.push(Some(SinkWriter(file)));
        Ok(self.files.len() - 1)
    }

    fn write(&mut self, file: usize, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(self.file(file)?, bytes)
    }

    fn read(&mut self, file: usize, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let file = &self.file(file)?.0;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let want = u32::try_from((len - out.len()).min(WRITE_CHUNK)).unwrap_or(u32::MAX);
            let bytes = file
                .read(offset + out.len() as u64, want)
                .map_err(|e| io::Error::other(sink_text(&e)))?;
            if bytes.is_empty() {
                break;
            }
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }
}

/// Bytes handed to the host per write. A write crosses into the host as one
/// list, which the host copies whole: a 10 MB attachment written at once
/// made a 10 MB copy beside the guest's own.
const WRITE_CHUNK: usize = 256 * 1024;

/// A sink file written at most [`WRITE_CHUNK`] bytes per call.
#[derive(Debug)]
struct SinkWriter(sink::File);

impl io::Write for SinkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = bytes.len().min(WRITE_CHUNK);
        self.0
            .write(&bytes[..n])
            .map_err(|e| io::Error::other(sink_text(&e)))?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The host's words for a sink error.
fn sink_text(e: &SinkError) -> String {
    match e {
        SinkError::Denied(s) | SinkError::InvalidName(s) | SinkError::Io(s) => s.clone(),
        SinkError::Exists => "the file exists".into(),
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
            c if c.is_control() || is_bidi_control(c) => '_',
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
    // Cut short, the stem may end in a dot or a blank again (with no
    // extension after it, the name would).
    let stem =
        stem[..cut.min(stem.len())].trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    format!("{stem}{ext}")
}

/// Characters that reorder the text around them (Unicode bidirectional
/// controls): in a file name they make `invoice\u{202e}fdp.exe` show as
/// `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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
        assert_eq!(sanitize("invoice\u{202e}fdp.exe", 1), "invoice_fdp.exe");
    }

    #[test]
    fn numbered_names_stay_within_the_length_limit() {
        assert_eq!(fit("report", "1.pdf"), "report1.pdf");
        let stem = "é".repeat(150);
        let name = fit(&stem, "12.pdf");
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert!(name.ends_with("é12.pdf"), "{name}");
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
    fn continued_names_that_split_a_character_are_decoded_whole() {
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;\r\n filename*0*=utf-8''Rechnung%20%E2%82;\r\n filename*1*=%AC%2012.pdf\r\n\r\n%PDF\r\n--b\r\nContent-Type: text/plain; name*0*=iso-8859-1''M%FC; name*1=ller.txt\r\n\r\nx\r\n--b--\r\n";
        let m = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        let text = m.text_body.first().copied();
        let names: Vec<String> = collect(&m, &[text]).into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["Rechnung € 12.pdf", "Müller.txt"]);
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
