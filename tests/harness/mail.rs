//! Small RFC 5322 / MIME messages for seeding mailboxes.
//!
//! ```
//! use cfimap_tests::mail::Message;
//! let bytes = Message::new("Grüße aus Köln", "Hallo!\n")
//!     .from("Anna <anna@example.org>")
//!     .attach("report.pdf", "application/pdf", b"%PDF-1.4 ...".to_vec())
//!     .to_bytes();
//! assert!(bytes.starts_with(b"From: Anna <anna@example.org>\r\n"));
//! ```
//!
//! Non-ASCII subjects become RFC 2047 encoded words, non-ASCII bodies base64, non-ASCII file
//! names RFC 2231 parameters (and an encoded-word `name=` for old readers). Lines end in CRLF.

use crate::unique;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 in lines of 76 characters, each ending in CRLF.
pub fn base64_lines(data: &[u8]) -> String {
    let encoded = base64(data);
    let mut out = String::new();
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

/// `text` as is when ASCII, else an RFC 2047 `=?UTF-8?B?...?=` encoded word.
pub fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64(text.as_bytes()))
    }
}

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// A file attached to a [`Message`].
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name (may be non-ASCII).
    pub filename: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Contents.
    pub data: Vec<u8>,
    /// `Some(cid)` for an inline part with `Content-ID: <cid>`.
    pub content_id: Option<String>,
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct Message {
    /// `From:`.
    pub from: String,
    /// `To:`.
    pub to: String,
    /// `Subject:` (Unicode; encoded when needed).
    pub subject: String,
    /// `Date:` (RFC 5322 form).
    pub date: String,
    /// `Message-ID:` without angle brackets.
    pub message_id: String,
    /// The text/plain body.
    pub text: String,
    /// An optional text/html alternative.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

impl Message {
    /// A text message with default addresses and date.
    pub fn new(subject: &str, text: &str) -> Message {
        Message {
            from: "Test Sender <sender@example.org>".into(),
            to: "Test Recipient <recipient@example.org>".into(),
            subject: subject.into(),
            date: "Mon, 15 Jan 2024 10:30:00 +0100".into(),
            message_id: format!("{}@cfimap.test", unique::token(16)),
            text: text.into(),
            html: None,
            attachments: Vec::new(),
        }
    }

    /// Sets `From:`.
    pub fn from(mut self, from: &str) -> Message {
        self.from = from.into();
        self
    }

    /// Sets `To:`.
    pub fn to(mut self, to: &str) -> Message {
        self.to = to.into();
        self
    }

    /// Sets `Date:`.
    pub fn date(mut self, date: &str) -> Message {
        self.date = date.into();
        self
    }

    /// Adds an HTML alternative.
    pub fn html(mut self, html: &str) -> Message {
        self.html = Some(html.into());
        self
    }

    /// Adds an attachment.
    pub fn attach(mut self, filename: &str, content_type: &str, data: Vec<u8>) -> Message {
        self.attachments.push(Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            data,
            content_id: None,
        });
        self
    }

    /// Adds an inline part with a Content-ID (e.g. an image referenced by the HTML).
    pub fn inline(
        mut self,
        filename: &str,
        content_type: &str,
        data: Vec<u8>,
        cid: &str,
    ) -> Message {
        self.attachments.push(Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            data,
            content_id: Some(cid.into()),
        });
        self
    }

    /// The message as bytes, CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = String::new();
        m.push_str(&format!("From: {}\r\n", self.from));
        m.push_str(&format!("To: {}\r\n", self.to));
        m.push_str(&format!("Subject: {}\r\n", encode_word(&self.subject)));
        m.push_str(&format!("Date: {}\r\n", self.date));
        m.push_str(&format!("Message-ID: <{}>\r\n", self.message_id));
        m.push_str("MIME-Version: 1.0\r\n");
        let body = self.body_part();
        if self.attachments.is_empty() {
            m.push_str(&body);
            return m.into_bytes();
        }
        let boundary = format!("=_mixed_{}", unique::token(12));
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
        ));
        m.push_str("This is a multi-part message in MIME format.\r\n");
        m.push_str(&format!("--{boundary}\r\n{body}"));
        for a in &self.attachments {
            m.push_str(&format!("--{boundary}\r\n"));
            m.push_str(&attachment_part(a));
        }
        m.push_str(&format!("--{boundary}--\r\n"));
        m.into_bytes()
    }

    /// Headers + body of the text (or text+html alternative) part.
    fn body_part(&self) -> String {
        let text = text_part("text/plain", &self.text);
        match &self.html {
            None => text,
            Some(html) => {
                let boundary = format!("=_alt_{}", unique::token(12));
                format!(
                    "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n{text}--{boundary}\r\n{}--{boundary}--\r\n",
                    text_part("text/html", html)
                )
            }
        }
    }
}

fn text_part(mime: &str, text: &str) -> String {
    let text = crlf(text);
    if text.is_ascii() {
        format!(
            "Content-Type: {mime}; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{text}\r\n"
        )
    } else {
        format!(
            "Content-Type: {mime}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(text.as_bytes())
        )
    }
}

fn attachment_part(a: &Attachment) -> String {
    let (name_param, filename_param) = if a.filename.is_ascii() {
        (
            format!("name=\"{}\"", a.filename),
            format!("filename=\"{}\"", a.filename),
        )
    } else {
        let pct: String = a
            .filename
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        (
            format!("name=\"{}\"", encode_word(&a.filename)),
            format!("filename*=UTF-8''{pct}"),
        )
    };
    let mut p = format!(
        "Content-Type: {}; {name_param}\r\nContent-Transfer-Encoding: base64\r\n",
        a.content_type
    );
    match &a.content_id {
        Some(cid) => p.push_str(&format!(
            "Content-ID: <{cid}>\r\nContent-Disposition: inline; {filename_param}\r\n"
        )),
        None => p.push_str(&format!(
            "Content-Disposition: attachment; {filename_param}\r\n"
        )),
    }
    p.push_str("\r\n");
    p.push_str(&base64_lines(&a.data));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(encode_word("Grüße"), "=?UTF-8?B?R3LDvMOfZQ==?=");
    }

    #[test]
    fn multipart() {
        let m = Message::new("x", "body")
            .attach("a.txt", "text/plain", b"hi".to_vec())
            .to_bytes();
        let s = String::from_utf8(m).unwrap();
        assert!(s.contains("Content-Disposition: attachment; filename=\"a.txt\"\r\n"));
        assert!(s.trim_end().ends_with("--"));
        assert!(!s.replace("\r\n", "").contains('\n'));
    }
}
