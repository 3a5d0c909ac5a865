//! The read tests' corpus: raw RFC 5322 messages written byte by byte, with the values the
//! product must decode from them.
//!
//! Everything here is generated in memory. Encoded words and charset bytes are spelled out by
//! hand (e.g. KOI8-R "Привет" = F0 D2 C9 D7 C5 D4), so a test never trusts an encoder it shares
//! with the product. Lines end in CRLF unless a case is about something else.

use std::sync::OnceLock;

use cfimap_tests::mail::base64;
pub use cfimap_tests::mail::base64_lines;
use serde_json::{Map, Value};

/// `text` with every `\n` turned into CRLF, as bytes.
pub fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// Concatenates byte pieces.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Deterministic pseudo-random bytes (xorshift64*), for binary attachments.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The header block of a raw message: everything before the first empty line (the CRLF of the
/// last header line included).
pub fn header_block(raw: &[u8]) -> &[u8] {
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &raw[..i + 2],
        None => raw,
    }
}

// ---- header columns --------------------------------------------------------------------------

/// The message whose every header column is checked.
pub fn full_headers(message_id: &str) -> Vec<u8> {
    crlf(&format!(
        "From: \"Doe, Jane\" <jane@example.org>\n\
         To: Bob <bob@example.com>, carol@example.com\n\
         Cc: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <j@example.de>\n\
         Reply-To: Replies <replies@example.org>\n\
         Subject: A folded\n subject line\n\
         Date: Tue, 4 Mar 2025 10:00:00 +0100\n\
         Message-ID: <{message_id}>\n\
         X-Custom: kept as is\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         line one\n\
         line two\n"
    ))
}

/// A message without Reply-To (REPLYTO falls back to FROM).
pub fn without_reply_to(subject: &str) -> Vec<u8> {
    crlf(&format!(
        "From: Solo Sender <solo@example.org>\n\
         To: bob@example.com\n\
         Subject: {subject}\n\
         Date: Wed, 5 Mar 2025 08:15:00 +0000\n\
         Message-ID: <{subject}@cfimap.test>\n\
         \n\
         body of {subject}\n"
    ))
}

/// A minimal text message.
pub fn simple(subject: &str) -> Vec<u8> {
    crlf(&format!(
        "From: sender@example.org\n\
         To: rcpt@example.org\n\
         Subject: {subject}\n\
         Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
         Message-ID: <{subject}@cfimap.test>\n\
         \n\
         text of {subject}\n"
    ))
}

// ---- charsets --------------------------------------------------------------------------------

/// An RFC 2047 case: an encoded word for a subject and a display name, and its meaning.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// What the case is about.
    pub label: &'static str,
    /// The encoded-word text as it goes into the header (ASCII only).
    pub word: String,
    /// The decoded text.
    pub expected: &'static str,
}

fn q(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b' ' => "_".to_string(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("={b:02X}"),
        })
        .collect()
}

/// One encoded word per charset the issue names, B and Q encodings both used.
pub fn encoded_words() -> Vec<Encoded> {
    let sjis: &[u8] = &[0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA];
    let jis: &[u8] = &[
        0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C, 0x38, 0x6C, 0x1B, 0x28, 0x42,
    ];
    let koi8: &[u8] = &[0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4];
    let latin1: &[u8] = b"Caf\xE9 Z\xFCrich";
    let latin9: &[u8] = b"\xBCuvre \xE0 10 \xA4";
    let cp1252: &[u8] = b"\x93Smart\x94 \x96 \x80";
    vec![
        Encoded {
            label: "UTF-8 (B)",
            word: format!("=?UTF-8?B?{}?=", base64("Grüße ✓ 日本".as_bytes())),
            expected: "Grüße ✓ 日本",
        },
        Encoded {
            label: "UTF-8 (Q, lower-case charset)",
            word: format!("=?utf-8?q?{}?=", q("Ölkännchen".as_bytes())),
            expected: "Ölkännchen",
        },
        Encoded {
            label: "ISO-8859-1",
            word: format!("=?ISO-8859-1?Q?{}?=", q(latin1)),
            expected: "Café Zürich",
        },
        Encoded {
            label: "ISO-8859-15",
            word: format!("=?ISO-8859-15?Q?{}?=", q(latin9)),
            expected: "Œuvre à 10 €",
        },
        Encoded {
            label: "windows-1252",
            word: format!("=?windows-1252?Q?{}?=", q(cp1252)),
            expected: "“Smart” – €",
        },
        Encoded {
            label: "Shift_JIS",
            word: format!("=?Shift_JIS?B?{}?=", base64(sjis)),
            expected: "日本語",
        },
        Encoded {
            label: "ISO-2022-JP",
            word: format!("=?ISO-2022-JP?B?{}?=", base64(jis)),
            expected: "日本語",
        },
        Encoded {
            label: "KOI8-R",
            word: format!("=?KOI8-R?B?{}?=", base64(koi8)),
            expected: "Привет",
        },
        Encoded {
            label: "two adjacent encoded words (the space between them is dropped)",
            word: format!(
                "=?UTF-8?Q?{}?= =?ISO-8859-1?Q?{}?=",
                q("Grüße".as_bytes()),
                q(b" aus K\xF6ln")
            ),
            expected: "Grüße aus Köln",
        },
    ]
}

/// A message whose Subject and From display name are `word`.
pub fn encoded_message(word: &str, n: usize) -> Vec<u8> {
    crlf(&format!(
        "From: {word} <sender{n}@example.org>\n\
         To: rcpt@example.org\n\
         Subject: {word}\n\
         Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
         Message-ID: <charset-{n}@cfimap.test>\n\
         \n\
         x\n"
    ))
}

// ---- addresses -------------------------------------------------------------------------------

/// Address lists with commas inside display names, a group, and `undisclosed-recipients:;`.
pub fn address_lists() -> Vec<u8> {
    crlf(
        "From: =?UTF-8?Q?M=C3=BCller=2C_Hans?= <hans@example.de>\n\
         To: \"Doe, John\" <john@example.com>, =?UTF-8?B?U21pdGgsIEFubmE=?= <anna@example.com>,\n plain@example.net\n\
         Cc: undisclosed-recipients:;\n\
         Subject: addresses\n\
         Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
         Message-ID: <addresses@cfimap.test>\n\
         \n\
         x\n",
    )
}

/// A group with members in To.
pub fn address_group() -> Vec<u8> {
    crlf(
        "From: Team Lead <lead@example.com>\n\
         To: Team: a@example.com, \"B, Bee\" <b@example.com>;\n\
         Subject: group\n\
         Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
         Message-ID: <group@cfimap.test>\n\
         \n\
         x\n",
    )
}

// ---- dates -----------------------------------------------------------------------------------

/// Date header values and the UTC instant each means (`None`: the column must be null).
pub fn date_cases() -> Vec<(&'static str, Option<&'static str>)> {
    vec![
        (
            "Tue, 4 Mar 2025 10:00:00 +0100",
            Some("2025-03-04T09:00:00Z"),
        ),
        ("4 Mar 2025 10:00:00 -0500", Some("2025-03-04T15:00:00Z")),
        ("Tue, 04 Mar 2025 10:00 +0000", Some("2025-03-04T10:00:00Z")),
        ("Tue, 4 Mar 2025 10:00:00 GMT", Some("2025-03-04T10:00:00Z")),
        ("Tue, 4 Mar 2025 10:00:00 EST", Some("2025-03-04T15:00:00Z")),
        (
            "Sat, 29 Feb 2024 23:59:59 +0000",
            Some("2024-02-29T23:59:59Z"),
        ),
        ("Mon, 31 Feb 2025 10:00:00 +0000", None),
        ("Fri, 29 Feb 2025 10:00:00 +0000", None),
        ("Tue, 4 Mar 2025 25:61:00 +0000", None),
        ("not a date at all", None),
    ]
}

/// A message with `Date: <date>` (or none when `date` is `None`).
pub fn dated(date: Option<&str>, n: usize) -> Vec<u8> {
    let date = date.map(|d| format!("Date: {d}\n")).unwrap_or_default();
    crlf(&format!(
        "From: sender@example.org\n\
         To: rcpt@example.org\n\
         Subject: date case {n}\n\
         {date}Message-ID: <date-{n}@cfimap.test>\n\
         \n\
         x\n"
    ))
}

// ---- bodies ----------------------------------------------------------------------------------

/// A body case: the message and what TEXTBODY, HTMLBODY and BODY must be (`None`: null or
/// empty).
#[derive(Debug, Clone)]
pub struct Bodies {
    /// What the case is about (also the subject).
    pub label: &'static str,
    /// The raw message.
    pub raw: Vec<u8>,
    /// TEXTBODY.
    pub text: Option<&'static str>,
    /// HTMLBODY.
    pub html: Option<&'static str>,
    /// BODY.
    pub body: &'static str,
    /// ATTACHMENTS.
    pub attachments: &'static [&'static str],
}

fn head(subject: &str, content_type: &str) -> String {
    format!(
        "From: sender@example.org\n\
         To: rcpt@example.org\n\
         Subject: {subject}\n\
         Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
         Message-ID: <{}@cfimap.test>\n\
         MIME-Version: 1.0\n\
         Content-Type: {content_type}\n",
        subject.replace(' ', "-")
    )
}

/// Text and HTML in transfer encodings and charsets.
pub fn body_cases() -> Vec<Bodies> {
    let html_utf8 = "<p>Grüße aus <b>Köln</b></p>";
    let mut cases = Vec::new();

    cases.push(Bodies {
        label: "alternative qp latin1 and base64 utf8",
        raw: crlf(&format!(
            "{}\n--alt\n\
             Content-Type: text/plain; charset=ISO-8859-1\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             Gr=FC=DFe aus K=F6ln, ein sehr langer Satz, der umgebrochen wird =\n\
             und weitergeht.\n\
             --alt\n\
             Content-Type: text/html; charset=UTF-8\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             {}--alt--\n",
            head(
                "alternative qp latin1 and base64 utf8",
                "multipart/alternative; boundary=\"alt\""
            ),
            base64_lines(html_utf8.as_bytes())
        )),
        text: Some("Grüße aus Köln, ein sehr langer Satz, der umgebrochen wird und weitergeht."),
        html: Some(html_utf8),
        body: "Grüße aus Köln, ein sehr langer Satz, der umgebrochen wird und weitergeht.",
        attachments: &[],
    });

    cases.push(Bodies {
        label: "html only windows-1252 qp",
        raw: crlf(&format!(
            "{}Content-Transfer-Encoding: quoted-printable\n\
             \n\
             <p>=93quoted=94 =96 =805</p>\n",
            head(
                "html only windows-1252 qp",
                "text/html; charset=windows-1252"
            )
        )),
        text: None,
        html: Some("<p>“quoted” – €5</p>"),
        body: "<p>“quoted” – €5</p>",
        attachments: &[],
    });

    // Shift_JIS in 8 bits: 日本語 = 93 FA 96 7B 8C EA.
    let mut sjis = crlf(&format!(
        "{}Content-Transfer-Encoding: 8bit\n\n",
        head("shift_jis 8bit", "text/plain; charset=Shift_JIS")
    ));
    sjis.extend_from_slice(b"\x93\xFA\x96\x7B\x8C\xEA text\r\n");
    cases.push(Bodies {
        label: "shift_jis 8bit",
        raw: sjis,
        text: Some("日本語 text"),
        html: None,
        body: "日本語 text",
        attachments: &[],
    });

    cases.push(Bodies {
        label: "iso-2022-jp 7bit",
        raw: cat(&[
            &crlf(&format!(
                "{}Content-Transfer-Encoding: 7bit\n\n",
                head("iso-2022-jp 7bit", "text/plain; charset=ISO-2022-JP")
            )),
            b"\x1B$BF|K\\8l\x1B(B\r\n",
        ]),
        text: Some("日本語"),
        html: None,
        body: "日本語",
        attachments: &[],
    });

    cases.push(Bodies {
        label: "koi8-r base64",
        raw: crlf(&format!(
            "{}Content-Transfer-Encoding: base64\n\n{}",
            head("koi8-r base64", "text/plain; charset=KOI8-R"),
            base64_lines(&[0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4, b'!', b'\r', b'\n'])
        )),
        text: Some("Привет!"),
        html: None,
        body: "Привет!",
        attachments: &[],
    });

    cases.push(Bodies {
        label: "mixed text then a text attachment",
        raw: crlf(&format!(
            "{}\n--mix\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n\
             the real body\n\
             --mix\n\
             Content-Type: text/plain; charset=us-ascii; name=\"notes.txt\"\n\
             Content-Disposition: attachment; filename=\"notes.txt\"\n\
             \n\
             not the body\n\
             --mix--\n",
            head(
                "mixed text then a text attachment",
                "multipart/mixed; boundary=\"mix\""
            )
        )),
        text: Some("the real body"),
        html: None,
        body: "the real body",
        attachments: &["notes.txt"],
    });

    cases
}

// ---- attachment names ------------------------------------------------------------------------

/// A PNG signature plus a few bytes (the product does not look inside).
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01";
/// A GIF header.
pub const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!";

/// One message with an attachment in every naming form; see [`attachment_names_expected`].
pub fn attachment_names() -> Vec<u8> {
    let mut m = crlf(&format!(
        "{}\n--names\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         names\n\
         --names\n\
         Content-Type: application/pdf\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment;\n filename*0*=UTF-8''%E6%97%A5%E6%9C%AC;\n filename*1*=%E8%AA%9E%20report.pdf\n\
         \n\
         {}--names\n\
         Content-Type: text/plain; charset=us-ascii\n\
         Content-Disposition: attachment; filename*0=\"long-name-\";\n filename*1=\"part-two.txt\"\n\
         \n\
         continued name\n\
         --names\n\
         Content-Type: application/vnd.ms-excel; name=\"=?UTF-8?B?w5xiZXJzaWNodC54bHM=?=\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment; filename=\"=?ISO-8859-1?Q?=DCbersicht.xls?=\"\n\
         \n\
         {}--names\n",
        head("attachment names", "multipart/mixed; boundary=\"names\""),
        base64_lines(b"%PDF-1.4 fake"),
        base64_lines(b"xls bytes"),
    ));
    m.extend_from_slice(&crlf(&format!(
        "Content-Type: image/png\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         {}--names\n\
         Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\
         \n\
         BEGIN:VCALENDAR\n\
         VERSION:2.0\n\
         END:VCALENDAR\n\
         --names\n\
         Content-Type: image/png; name=\"logo.png\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-ID: <logo@cfimap.test>\n\
         Content-Disposition: inline; filename=\"logo.png\"\n\
         \n\
         {}--names\n\
         Content-Type: image/gif\n\
         Content-Transfer-Encoding: base64\n\
         Content-ID: <spacer.gif@cfimap.test>\n\
         Content-Disposition: inline\n\
         \n\
         {}--names--\n",
        base64_lines(PNG),
        base64_lines(PNG),
        base64_lines(GIF),
    )));
    m
}

/// The names [`attachment_names`] must give, in MIME order, as regular expressions.
pub fn attachment_names_expected() -> Vec<&'static str> {
    vec![
        r"^日本語 report\.pdf$",
        r"^long-name-part-two\.txt$",
        r"^Übersicht\.xls$",
        r"^image\d+\.png$",
        r"^part\d+\.ics$",
        r"^logo\.png$",
        r"^image\d+\.gif$",
    ]
}

/// One message whose attachment names are RFC 2231 continuations that split characters, in
/// several charsets, with language tags and unencoded segments; see
/// [`split_character_names_expected`].
pub fn split_character_names() -> Vec<u8> {
    crlf(&format!(
        "{}\n--split\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         split names\n\
         --split\n\
         Content-Type: application/pdf\n\
         Content-Disposition: attachment;\n filename*0*=utf-8''%E2%82;\n filename*1*=%AC-Rechnung.pdf\n\
         \n\
         euro\n\
         --split\n\
         Content-Type: text/plain\n\
         Content-Disposition: attachment; filename*0*=ISO-8859-1'de'M%FC;\n filename*1*=ller%20%C4; filename*2=\"rger.txt\"\n\
         \n\
         latin-1\n\
         --split\n\
         Content-Type: text/plain; name*0*=shift_jis''%93%FA%96; name*1*=%7B.txt\n\
         \n\
         shift_jis\n\
         --split\n\
         Content-Type: application/octet-stream\n\
         Content-Disposition: attachment; filename*2*=%AA%9E.txt;\n filename*0*=UTF-8''%E6%97; filename*1*=%A5%E6%9C%AC%E8\n\
         \n\
         out of order\n\
         --split--\n",
        head("split names", "multipart/mixed; boundary=\"split\""),
    ))
}

/// The names [`split_character_names`] must give, in MIME order.
pub fn split_character_names_expected() -> Vec<&'static str> {
    vec![
        "€-Rechnung.pdf",
        "Müller Ärger.txt",
        "日本.txt",
        "日本語.txt",
    ]
}

// ---- forwarded message and bounce ------------------------------------------------------------

/// The message forwarded inside [`forwarded`] (ends without a final CRLF: the one before the
/// boundary belongs to the boundary).
pub fn inner_message() -> Vec<u8> {
    crlf(&format!(
        "From: Inner Sender <inner@example.org>\n\
         To: someone@example.org\n\
         Subject: Inner subject\n\
         Date: Mon, 3 Mar 2025 09:00:00 +0000\n\
         Message-ID: <inner@cfimap.test>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"inner\"\n\
         \n\
         --inner\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         inner secret text\n\
         --inner\n\
         Content-Type: application/pdf; name=\"inner.pdf\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment; filename=\"inner.pdf\"\n\
         \n\
         {}--inner--",
        base64_lines(b"%PDF inner")
    ))
}

/// A message forwarding [`inner_message`] as a message/rfc822 part.
pub fn forwarded() -> Vec<u8> {
    forwarding("forwarded", &inner_message())
}

/// A message of `subject` forwarding `inner` as a message/rfc822 part, after a short text.
fn forwarding(subject: &str, inner: &[u8]) -> Vec<u8> {
    cat(&[
        &crlf(&format!(
            "{}\n--fwd\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n\
             See the forwarded message.\n\
             --fwd\n\
             Content-Type: message/rfc822\n\
             Content-Disposition: inline\n\
             \n",
            head(subject, "multipart/mixed; boundary=\"fwd\"")
        )),
        inner,
        b"\r\n--fwd--\r\n",
    ])
}

/// The delivery-status part of [`bounce`].
pub const DELIVERY_STATUS: &str = "Reporting-MTA: dns; mx.example.org\r\n\
    Arrival-Date: Thu, 6 Mar 2025 12:00:00 +0000\r\n\
    \r\n\
    Final-Recipient: rfc822; nobody@example.com\r\n\
    Action: failed\r\n\
    Status: 5.1.1\r\n\
    Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n";

/// A DSN bounce: multipart/report with message/delivery-status.
pub fn bounce() -> Vec<u8> {
    cat(&[
        &crlf(&format!(
            "{}\n--rep\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n\
             Your message could not be delivered.\n\
             --rep\n\
             Content-Type: message/delivery-status\n\
             \n",
            head(
                "bounce",
                "multipart/report; report-type=delivery-status; boundary=\"rep\""
            )
        )),
        DELIVERY_STATUS.as_bytes(),
        &crlf(
            "\n--rep\n\
             Content-Type: text/rfc822-headers\n\
             \n\
             From: sender@example.org\n\
             To: nobody@example.com\n\
             Subject: lost\n\
             --rep--\n",
        ),
    ])
}

// ---- saving ----------------------------------------------------------------------------------

/// A file attached by [`with_files`]: name, content type, transfer encoding and decoded bytes.
#[derive(Debug, Clone)]
pub struct File {
    /// The `filename` parameter as written in the header (quoted string content).
    pub header_name: String,
    /// Content-Type value.
    pub content_type: &'static str,
    /// `base64` or `quoted-printable`.
    pub encoding: &'static str,
    /// The bytes after transfer decoding.
    pub bytes: Vec<u8>,
    /// The encoded body as it goes into the message (`None`: base64 of `bytes`).
    pub encoded: Option<String>,
}

impl File {
    /// A base64 attachment.
    pub fn base64(name: &str, content_type: &'static str, bytes: Vec<u8>) -> File {
        File {
            header_name: name.into(),
            content_type,
            encoding: "base64",
            bytes,
            encoded: None,
        }
    }
}

/// A message with a short text body and `files` as attachments (`Content-Disposition:
/// attachment; filename="<header_name>"`, or the raw parameter when the name starts with `*`).
pub fn with_files(subject: &str, files: &[File]) -> Vec<u8> {
    let mut m = crlf(&format!(
        "{}\n--files\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         files attached\n",
        head(subject, "multipart/mixed; boundary=\"files\"")
    ));
    for f in files {
        let param = match f.header_name.strip_prefix('*') {
            Some(raw) => raw.to_string(),
            None => format!("filename=\"{}\"", f.header_name),
        };
        let body = match &f.encoded {
            Some(e) => e.clone(),
            None => base64_lines(&f.bytes),
        };
        m.extend_from_slice(
            format!(
                "--files\r\nContent-Type: {}\r\nContent-Transfer-Encoding: {}\r\nContent-Disposition: attachment; {param}\r\n\r\n{body}",
                f.content_type, f.encoding
            )
            .as_bytes(),
        );
    }
    m.extend_from_slice(b"--files--\r\n");
    m
}

/// The attachments of the saving tests: binary, UTF-8 text in quoted-printable, Latin-1 CSV
/// (saved as sent, not converted), and a JPEG.
pub fn files_to_save() -> Vec<File> {
    let mut all_bytes: Vec<u8> = (0..=255u8).collect::<Vec<u8>>().repeat(40);
    all_bytes.extend_from_slice(b"\r\n\n\r\0");
    vec![
        File::base64("binary.bin", "application/octet-stream", all_bytes),
        File {
            header_name: "note.txt".into(),
            content_type: "text/plain; charset=utf-8",
            encoding: "quoted-printable",
            // The CRLF before the next boundary belongs to the boundary.
            bytes: "Grüße, a long line that is soft-broken here and continues.\r\nline 2"
                .as_bytes()
                .to_vec(),
            encoded: Some(
                "Gr=C3=BC=C3=9Fe, a long line that is soft-broken here =\r\nand continues.\r\nline 2\r\n"
                    .into(),
            ),
        },
        File {
            header_name: "latin1.csv".into(),
            content_type: "text/csv; charset=ISO-8859-1",
            encoding: "quoted-printable",
            bytes: b"name;city\r\nM\xFCller;K\xF6ln".to_vec(),
            encoded: Some("name;city\r\nM=FCller;K=F6ln\r\n".into()),
        },
        File::base64("photo.jpg", "image/jpeg", noise(70_000, 7)),
    ]
}

// ---- hard messages ---------------------------------------------------------------------------

/// A malformed message and what its row must still show.
#[derive(Debug, Clone)]
pub struct Hard {
    /// What is wrong with it.
    pub label: &'static str,
    /// The raw message.
    pub raw: Vec<u8>,
    /// Column → text the column must contain (checked on getAll rows; header columns also on
    /// getHeaderOnly rows).
    pub contains: Vec<(&'static str, &'static str)>,
    /// The ATTACHMENTS getAll must give, exactly (`None`: not checked).
    pub attachments: Option<Vec<&'static str>>,
    /// Columns that must be null.
    pub null: Vec<&'static str>,
}

impl Hard {
    /// What is wrong with `row`, the row of `action` (`getHeaderOnly` or `getAll`) for this
    /// message: an ERROR, a column not containing its text, a column that should be null.
    pub fn failures(&self, action: &str, row: &Map<String, Value>) -> Vec<String> {
        let mut failures = Vec::new();
        let label = self.label;
        if let Some(e) = row.get("ERROR").filter(|v| !v.is_null()) {
            failures.push(format!("{label} ({action}): ERROR {e}"));
        }
        let get_all = action == "getAll";
        for (column, needle) in &self.contains {
            if !get_all && matches!(*column, "BODY" | "TEXTBODY" | "HTMLBODY") {
                continue;
            }
            let got = row.get(*column).and_then(Value::as_str).unwrap_or_default();
            if !got.contains(needle) {
                failures.push(format!(
                    "{label} ({action}): {column} = {got:?}, should contain {needle:?}"
                ));
            }
        }
        if let (true, Some(want)) = (get_all, &self.attachments) {
            let got: Vec<&str> = match row.get("ATTACHMENTS") {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if got != *want {
                failures.push(format!(
                    "{label} ({action}): ATTACHMENTS = {got:?}, should be {want:?}"
                ));
            }
        }
        for column in &self.null {
            if !row.get(*column).is_none_or(Value::is_null) {
                failures.push(format!(
                    "{label} ({action}): {column} = {}, should be null",
                    row[*column]
                ));
            }
        }
        failures
    }
}

/// Every malformed case of the issue, and a few more.
pub fn hard_messages() -> Vec<Hard> {
    let mut v = Vec::new();
    v.push(Hard {
        label: "missing closing boundary",
        raw: crlf(&format!(
            "{}\n--open\n\
             Content-Type: text/plain\n\
             \n\
             text before the attachment\n\
             --open\n\
             Content-Type: text/plain; name=\"a.txt\"\n\
             Content-Disposition: attachment; filename=\"a.txt\"\n\
             \n\
             never closed\n",
            head(
                "missing closing boundary",
                "multipart/mixed; boundary=\"open\""
            )
        )),
        contains: vec![
            ("SUBJECT", "missing closing boundary"),
            ("TEXTBODY", "text before the attachment"),
            ("BODY", "text before the attachment"),
        ],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "impossible date",
        raw: crlf(
            "From: a@example.org\n\
             Subject: impossible date\n\
             Date: Mon, 31 Feb 2025 10:00:00 +0000\n\
             \n\
             body\n",
        ),
        contains: vec![("SUBJECT", "impossible date"), ("TEXTBODY", "body")],
        attachments: None,
        null: vec!["DATE", "SENTDATE"],
    });
    v.push(Hard {
        label: "broken encoded words",
        raw: crlf(
            "From: =?UTF-8?B?!!!notbase64?= <broken@example.org>\n\
             Subject: =?UTF-8?Q?unterminated tail =?NOCHARSET?= =?UTF-8?X?bad?= end\n\
             Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
             \n\
             body\n",
        ),
        contains: vec![
            ("SUBJECT", "tail"),
            ("SUBJECT", "end"),
            ("FROM", "broken@example.org"),
            ("TEXTBODY", "body"),
        ],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "bogus charset",
        raw: crlf(
            "From: a@example.org\n\
             Subject: =?x-bogus-charset?Q?bogus_charset?=\n\
             Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
             MIME-Version: 1.0\n\
             Content-Type: text/plain; charset=x-no-such-charset\n\
             \n\
             plain ascii text\n",
        ),
        contains: vec![("SUBJECT", "bogus"), ("TEXTBODY", "plain ascii text")],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "bogus transfer encoding",
        raw: crlf(
            "From: a@example.org\n\
             Subject: bogus transfer encoding\n\
             Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
             MIME-Version: 1.0\n\
             Content-Type: text/plain; charset=us-ascii\n\
             Content-Transfer-Encoding: x-uuencode-ish\n\
             \n\
             text as it is\n",
        ),
        contains: vec![
            ("SUBJECT", "bogus transfer encoding"),
            ("TEXTBODY", "text as it is"),
        ],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "unbalanced quote in From",
        raw: crlf(
            "From: \"Unbalanced <u@example.org>\n\
             To: \"Also, open <o@example.org>, ok@example.org\n\
             Subject: unbalanced quote\n\
             Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
             \n\
             body\n",
        ),
        contains: vec![
            ("SUBJECT", "unbalanced quote"),
            ("FROM", "u@example.org"),
            ("TEXTBODY", "body"),
        ],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "multipart without a boundary parameter",
        raw: crlf(&format!(
            "{}\n--x\n\
             Content-Type: text/plain\n\
             \n\
             where is my boundary\n\
             --x--\n",
            head("multipart without boundary", "multipart/mixed")
        )),
        contains: vec![("SUBJECT", "multipart without boundary")],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "invalid base64 and a garbage header line",
        raw: crlf(&format!(
            "{}this line is no header\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             aGVsbG8g!!!d29y*bGQ=\n",
            head("invalid base64", "text/plain; charset=us-ascii")
        )),
        contains: vec![("SUBJECT", "invalid base64")],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "header only, no body",
        raw: crlf(
            "From: a@example.org\n\
             Subject: header only\n\
             Date: Thu, 6 Mar 2025 12:00:00 +0000\n",
        ),
        contains: vec![("SUBJECT", "header only")],
        attachments: None,
        null: vec![],
    });
    v
}

/// The hard cases whose header carries raw 8-bit bytes (RFC 6532 UTF-8, or Latin-1 as old
/// mailers wrote it), and a part whose quoted file name is raw UTF-8: a server may refuse them
/// on `APPEND` (see `cfimap_tests::refusals`).
pub fn hard_8bit_header_messages() -> Vec<Hard> {
    let mut v = Vec::new();
    v.push(Hard {
        label: "raw 8-bit UTF-8 headers",
        raw: crlf(
            "From: Jürgen Größe <j@example.de>\n\
             Subject: Grüße raw ✓\n\
             Date: Thu, 6 Mar 2025 12:00:00 +0000\n\
             \n\
             body\n",
        ),
        contains: vec![
            ("SUBJECT", "Grüße raw ✓"),
            ("FROM", "Jürgen Größe <j@example.de>"),
            ("HEADER", "Subject: Grüße raw ✓"),
        ],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "raw 8-bit Latin-1 header",
        raw: cat(&[
            b"From: a@example.org\r\nSubject: Latin-1 Gr\xFC\xDFe\r\n",
            b"Date: Thu, 6 Mar 2025 12:00:00 +0000\r\n\r\nbody\r\n",
        ]),
        contains: vec![("SUBJECT", "Latin-1 Gr"), ("TEXTBODY", "body")],
        attachments: None,
        null: vec![],
    });
    v.push(Hard {
        label: "raw UTF-8 in a quoted file name",
        raw: crlf(&format!(
            "{}\n--raw\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n\
             see the file\n\
             --raw\n\
             Content-Type: text/plain; charset=utf-8\n\
             Content-Disposition: attachment; filename=\"Grüße.txt\"\n\
             \n\
             raw utf-8 name\n\
             --raw--\n",
            head("raw file name", "multipart/mixed; boundary=\"raw\"")
        )),
        contains: vec![("SUBJECT", "raw file name"), ("TEXTBODY", "see the file")],
        attachments: Some(vec!["Grüße.txt"]),
        null: vec![],
    });
    v
}

// ---- large messages read as they arrive -------------------------------------------------------

/// A message of more than a MiB with long runs of base64 lines: one of the shapes a getAll that
/// saves attachments takes apart as it arrives, and the files its row must save, in order.
#[derive(Debug, Clone)]
pub struct Arriving {
    /// What the case is about.
    pub what: &'static str,
    /// The message.
    pub raw: Vec<u8>,
    /// The bytes of each attachment file, in order.
    pub files: Vec<Vec<u8>>,
}

/// `data` in base64 lines of `width` symbols, each ending in CRLF.
fn base64_width(data: &[u8], width: usize) -> String {
    let encoded = base64(data);
    let mut out = String::new();
    for line in encoded.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

/// The large shapes: attachments the row saves from their files as they arrived, and the
/// shapes that must be read from the message made whole again (a base64 text, a forwarded
/// message, a broken run, a message cut short).
pub fn arriving() -> Vec<Arriving> {
    let pdf = noise(1_500_000, 11);
    let png = noise(1_200_000, 12);
    let mut cases = Vec::new();

    let two = [
        File::base64("a.pdf", "application/pdf", pdf.clone()),
        File {
            header_name: "b.png".into(),
            content_type: "image/png",
            encoding: "base64",
            bytes: png.clone(),
            encoded: Some(base64_width(&png, 64)),
        },
    ];
    cases.push(Arriving {
        what: "two large attachments, lines of 76 and of 64",
        raw: with_files("two widths", &two),
        files: vec![pdf.clone(), png.clone()],
    });

    let mut related = crlf(&format!(
        "{}\n--rel\n\
         Content-Type: text/html; charset=us-ascii\n\
         \n\
         <p>see <img src=\"cid:pic@cfimap.test\"></p>\n\
         --rel\n\
         Content-Type: image/png\n\
         Content-Transfer-Encoding: base64\n\
         Content-ID: <pic@cfimap.test>\n\
         Content-Disposition: inline\n\
         \n",
        head("related", "multipart/related; boundary=\"rel\"")
    ));
    related.extend_from_slice(base64_lines(&png).as_bytes());
    related.extend_from_slice(b"--rel--\r\n");
    cases.push(Arriving {
        what: "a large inline image with a Content-ID",
        raw: related,
        files: vec![png.clone()],
    });

    let mut text = String::new();
    let mut n = 0;
    while text.len() < 1_400_000 {
        text.push_str(&format!("line {n:07} of a text sent in base64\r\n"));
        n += 1;
    }
    let mut base64_text = crlf(&format!(
        "{}Content-Transfer-Encoding: base64\n\n",
        head("base64 text", "text/plain; charset=us-ascii")
    ));
    base64_text.extend_from_slice(base64_lines(text.as_bytes()).as_bytes());
    cases.push(Arriving {
        what: "a large text body in base64",
        raw: base64_text,
        files: Vec::new(),
    });

    let inner = with_files(
        "inner big",
        &[File::base64("inner.pdf", "application/pdf", pdf.clone())],
    );
    let forwarded = forwarding("forwarded big", &inner);
    cases.push(Arriving {
        what: "a forwarded message holding a large attachment",
        raw: forwarded,
        files: vec![inner],
    });

    // A part read from the skeleton, then one that is not: the message is made whole again
    // from both files.
    let mut then_text = with_files(
        "attachment then text",
        &[File::base64("first.pdf", "application/pdf", pdf.clone())],
    );
    then_text.truncate(then_text.len() - b"--files--\r\n".len());
    then_text.extend_from_slice(
        b"--files\r\nContent-Type: text/plain; charset=us-ascii\r\n\
          Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n\r\n",
    );
    then_text.extend_from_slice(base64_lines(text.as_bytes()).as_bytes());
    then_text.extend_from_slice(b"--files--\r\n");
    cases.push(Arriving {
        what: "a large attachment, then a large base64 text attached",
        raw: then_text,
        files: vec![pdf.clone(), text.as_bytes().to_vec()],
    });

    // One byte outside the alphabet, deep in the run: the part is not base64, and is saved
    // as it stands (its last line break belongs to the boundary).
    let mut broken = base64_lines(&pdf).into_bytes();
    broken[78 * 10_000 + 30] = b'*';
    let broken = String::from_utf8(broken).unwrap_or_default();
    let as_it_stands = broken.as_bytes()[..broken.len() - 2].to_vec();
    cases.push(Arriving {
        what: "a stray byte deep in a large attachment",
        raw: with_files(
            "stray byte",
            &[File {
                header_name: "stray.bin".into(),
                content_type: "application/octet-stream",
                encoding: "base64",
                bytes: Vec::new(),
                encoded: Some(broken),
            }],
        ),
        files: vec![as_it_stands],
    });

    // Cut after 20,000 whole lines: no closing boundary, no end.
    let mut cut = with_files(
        "cut short",
        &[File::base64(
            "cut.bin",
            "application/octet-stream",
            pdf.clone(),
        )],
    );
    let body = cut
        .windows(4)
        .rposition(|w| w == b"\r\n\r\n")
        .map_or(0, |at| at + 4);
    cut.truncate(body + 78 * 20_000);
    cases.push(Arriving {
        what: "a message cut short inside a large attachment",
        raw: cut,
        files: vec![pdf[..57 * 20_000].to_vec()],
    });
    cases
}

// ---- the big one -----------------------------------------------------------------------------

/// A 15 MB message with a 10 MB attachment, built once: `(message, attachment bytes)`.
pub fn big() -> &'static (Vec<u8>, Vec<u8>) {
    static BIG: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    BIG.get_or_init(|| {
        let data = noise(10 * 1024 * 1024, 0x5EED);
        let mut filler = String::with_capacity(1_400_000);
        let mut n = 0;
        while filler.len() < 1_350_000 {
            filler.push_str(&format!(
                "filler line {n:07} of the big message's text body\r\n"
            ));
            n += 1;
        }
        let mut m = crlf(&format!(
            "{}\n--big\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n",
            head("big message", "multipart/mixed; boundary=\"big\"")
        ));
        m.extend_from_slice(filler.as_bytes());
        m.extend_from_slice(
            b"--big\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n\
              Content-Transfer-Encoding: base64\r\n\
              Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n",
        );
        m.extend_from_slice(base64_lines(&data).as_bytes());
        m.extend_from_slice(b"--big--\r\n");
        (m, data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_well_formed() {
        assert!(big().0.len() > 15_000_000, "{}", big().0.len());
        assert_eq!(big().1.len(), 10 * 1024 * 1024);
        for h in hard_messages()
            .into_iter()
            .chain(hard_8bit_header_messages())
        {
            assert!(!h.raw.is_empty(), "{}", h.label);
        }
        assert_eq!(
            header_block(b"A: 1\r\nB: 2\r\n\r\nbody"),
            b"A: 1\r\nB: 2\r\n"
        );
    }
}
