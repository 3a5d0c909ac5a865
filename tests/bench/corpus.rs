//! The bench's mail: deterministic messages written straight into a Maildir.
//!
//! Appending 12,000 messages over IMAP takes longer than the bench itself;
//! Maildir files written into the user's home are indexed by Dovecot on the
//! first (warm-up) read instead. The messages look like real mail: several
//! `Received` lines, a DKIM signature, encoded display names and subjects,
//! plain and multipart/alternative bodies, attachments.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// How much mail to make.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Messages of the header folder (a).
    pub typical: usize,
    /// Messages of the getAll folder (b), the big one included.
    pub with_attachments: usize,
    /// Bytes of the big message's attachment.
    pub big_attachment: usize,
}

impl Sizes {
    /// The corpus: 10,000 typical messages; 2,000 of about 25 MB in
    /// all with one of 15 MB.
    pub const FULL: Sizes = Sizes {
        typical: 10_000,
        with_attachments: 2_000,
        big_attachment: 10 * 1024 * 1024 + 512 * 1024,
    };
    /// A corpus small enough for every `make test`.
    pub const SMOKE: Sizes = Sizes {
        typical: 40,
        with_attachments: 12,
        big_attachment: 700 * 1024,
    };
}

/// What was written into a folder.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Number of messages.
    pub messages: usize,
    /// Bytes of all messages.
    pub bytes: u64,
    /// Bytes of the largest message.
    pub largest: u64,
    /// Number of attachments (files getAll saves).
    pub attachments: usize,
}

/// A small deterministic generator (xorshift64*), so every run sees the same mail.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "meeting",
    "invoice",
    "project",
    "quarterly",
    "report",
    "schedule",
    "review",
    "budget",
    "please",
    "attached",
    "thanks",
    "regards",
    "update",
    "deadline",
    "customer",
    "release",
    "the",
    "and",
    "for",
    "with",
    "this",
    "that",
    "from",
    "will",
    "about",
    "next",
    "week",
    "Grüße",
    "café",
    "naïve",
    "déjà",
    "Zürich",
    "résumé",
    "straße",
];

const NAMES: &[&str] = &[
    "Alice Martin",
    "Bob Stone",
    "Carol Diaz",
    "\"Doe, Jane\"",
    "Erik Larsen",
    "Fatima Zahra",
];

const ENCODED_NAMES: &[&str] = &[
    "=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=",
    "=?ISO-8859-1?Q?Ren=E9_Fran=E7ois?=",
    "=?UTF-8?Q?Bj=C3=B6rk_Gu=C3=B0mundsd=C3=B3ttir?=",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    (0..words)
        .map(|_| rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text of about `bytes` bytes in lines of about 70 characters.
fn text(rng: &mut Rng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 80);
    while out.len() < bytes {
        out.push_str(&sentence(rng, 10));
        out.push_str(".\r\n");
    }
    out
}

fn base64_lines(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 4);
    for (i, chunk) in data.chunks(3).enumerate() {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out
}

/// RFC 2047 Q encoding of `s` (UTF-8).
fn q_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => out.push(char::from(b)),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out
}

fn address(rng: &mut Rng, n: usize) -> String {
    let local = format!("user{}", rng.below(5000));
    let name = if n.is_multiple_of(4) {
        rng.pick(ENCODED_NAMES).to_owned()
    } else {
        rng.pick(NAMES).to_owned()
    };
    format!(
        "{name} <{local}@example.{}>",
        rng.pick(&["org", "com", "de"])
    )
}

/// The header block of message `n`, without the MIME headers.
fn header(rng: &mut Rng, n: usize) -> String {
    let mut h = String::with_capacity(2048);
    for hop in 0..rng.between(3, 5) {
        h.push_str(&format!(
            "Received: from mx{hop}.example.net (mx{hop}.example.net [192.0.2.{}])\r\n\
             \tby mail.example.com (Postfix) with ESMTPS id 4Q{n:06}X{hop}\r\n\
             \tfor <bob@example.com>; Thu, 6 Mar 2025 12:{:02}:{:02} +0000\r\n",
            rng.below(250),
            rng.below(60),
            rng.below(60)
        ));
    }
    let signature: String = (0..344)
        .map(|_| char::from(b'A' + rng.below(26) as u8))
        .collect();
    h.push_str(&format!(
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s2025;\r\n\
         \th=from:to:cc:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
         \tb={}\r\n\t{}\r\n",
        &signature[..172],
        &signature[172..]
    ));
    h.push_str(&format!("From: {}\r\n", address(rng, n)));
    let to: Vec<String> = (0..rng.between(1, 3))
        .map(|k| address(rng, n + k + 1))
        .collect();
    h.push_str(&format!("To: {}\r\n", to.join(", ")));
    if n.is_multiple_of(3) {
        h.push_str(&format!("Cc: {}\r\n", address(rng, n + 7)));
    }
    let subject = sentence(rng, 6);
    if n.is_multiple_of(5) {
        h.push_str(&format!(
            "Subject: =?UTF-8?Q?{}?= {n}\r\n",
            q_encode(&subject)
        ));
    } else {
        h.push_str(&format!("Subject: {subject} {n}\r\n"));
    }
    h.push_str(&format!(
        "Date: {}, {} Mar 2025 {:02}:{:02}:{:02} +0{}00\r\n",
        rng.pick(&["Mon", "Tue", "Wed", "Thu", "Fri"]),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(9)
    ));
    h.push_str(&format!(
        "Message-ID: <{n}.{}@example.org>\r\n",
        rng.next() % 1_000_000
    ));
    if n % 4 == 1 {
        h.push_str("List-Id: Team discussion <team.lists.example.org>\r\n");
    }
    h.push_str("MIME-Version: 1.0\r\n");
    h
}

/// A typical message of 3–10 KB: plain text, or text with a quoted-printable HTML alternative.
fn typical(rng: &mut Rng, n: usize) -> Vec<u8> {
    let head = header(rng, n);
    let target = rng
        .between(3 * 1024, 10 * 1024)
        .saturating_sub(head.len() + 200);
    let mut m = head;
    if n.is_multiple_of(3) {
        let body = text(rng, target / 2);
        let html = format!(
            "<html><body><p>{}</p></body></html>\r\n",
            body.replace("\r\n", "</p>=\r\n<p>")
        );
        m.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"alt{n}\"\r\n\r\n\
             --alt{n}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\
             --alt{n}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{html}\
             --alt{n}--\r\n"
        ));
    } else {
        m.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        m.push_str(&text(rng, target));
    }
    m.into_bytes()
}

/// A message with one base64 attachment of `bytes` pseudo-random bytes.
fn with_attachment(rng: &mut Rng, n: usize, bytes: usize) -> Vec<u8> {
    let mut m = header(rng, n);
    let data: Vec<u8> = (0..bytes).map(|_| rng.next() as u8).collect();
    let disposition = if n.is_multiple_of(7) {
        // RFC 2231, with a charset and a continuation.
        format!(
            "attachment;\r\n filename*0*=UTF-8''Bericht%20%C3%BCber%20;\r\n filename*1*=Q{n}.pdf"
        )
    } else {
        format!("attachment; filename=\"report-{n}.pdf\"")
    };
    m.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"mix{n}\"\r\n\r\n\
         --mix{n}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\
         --mix{n}\r\nContent-Type: application/pdf\r\nContent-Disposition: {disposition}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--mix{n}--\r\n",
        text(rng, 1200),
        base64_lines(&data)
    ));
    m.into_bytes()
}

/// The mail of folder (a): typical messages.
pub fn headers_folder(sizes: Sizes) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5EED_0001);
    (0..sizes.typical).map(|n| typical(&mut rng, n)).collect()
}

/// The mail of folder (b): typical messages, every tenth with an attachment
/// of 10–30 KB, and the big one in the middle.
pub fn attachments_folder(sizes: Sizes) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5EED_0002);
    let big = sizes.with_attachments / 2;
    (0..sizes.with_attachments)
        .map(|n| {
            if n == big {
                with_attachment(&mut rng, n, sizes.big_attachment)
            } else if n % 10 == 3 {
                let bytes = rng.between(10 * 1024, 30 * 1024);
                with_attachment(&mut rng, n, bytes)
            } else {
                let size = rng.between(2 * 1024, 4 * 1024);
                let mut m = header(&mut rng, n);
                m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
                m.push_str(&text(&mut rng, size));
                m.into_bytes()
            }
        })
        .collect()
}

/// The uid and gid Dovecot's mail processes run as (the harness maps every
/// user to `nobody:nogroup`).
fn mail_owner() -> io::Result<(u32, u32)> {
    let name = CString::new("nobody").map_err(io::Error::other)?;
    // SAFETY: getpwnam returns a pointer to static storage or null; it is read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(io::Error::other("no user nobody"));
    }
    // SAFETY: checked non-null above.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn chown(path: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::chown(c.as_ptr(), uid, gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes `messages` as the Maildir folder `name` of the user whose home is
/// `home` (layout `fs`: `~/Maildir/<name>/{cur,new,tmp}`).
pub fn write_folder(home: &Path, name: &str, messages: &[Vec<u8>]) -> io::Result<Written> {
    let owner = mail_owner()?;
    let maildir = home.join("Maildir");
    let folder = maildir.join(name);
    let mut made: Vec<PathBuf> = Vec::new();
    for dir in [maildir.clone(), folder.clone()] {
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            made.push(dir);
        }
    }
    for sub in ["cur", "new", "tmp"] {
        let dir = folder.join(sub);
        fs::create_dir_all(&dir)?;
        made.push(dir);
    }
    for dir in made {
        chown(&dir, owner)?;
    }
    let mut written = Written::default();
    for (n, message) in messages.iter().enumerate() {
        let flags = match n % 5 {
            0 | 1 => "S",
            2 => "FS",
            _ => "",
        };
        let file = folder.join("cur").join(format!(
            "{}.M{n}P1.bench,S={}:2,{flags}",
            1_741_262_400 + n,
            message.len()
        ));
        fs::write(&file, message)?;
        chown(&file, owner)?;
        written.messages += 1;
        written.bytes += message.len() as u64;
        written.largest = written.largest.max(message.len() as u64);
        written.attachments += usize::from(
            message
                .windows(b"Content-Disposition: attachment".len())
                .any(|w| w == b"Content-Disposition: attachment"),
        );
    }
    Ok(written)
}
